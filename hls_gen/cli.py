"""`edgeaccel rtl generate`, `edgeaccel rtl synth` and `edgeaccel rtl predict`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hls_gen.synth import TARGETS, SynthesisError, synthesize

EXIT_TOOL_FAILURE = 1


def add_rtl_commands(commands: argparse._SubParsersAction) -> None:
    rtl = commands.add_parser("rtl", help="generate and synthesize hardware from a hardware "
                                          "YAML or an RTL component spec")
    rtl_commands = rtl.add_subparsers(dest="rtl_command", required=True,
                                      parser_class=type(rtl))
    generate_parser = rtl_commands.add_parser("generate", help="write Verilog and a manifest")
    generate_parser.add_argument("config", metavar="CONFIG.yaml")
    generate_parser.add_argument("--out", required=True, metavar="DIR")
    generate_parser.add_argument("--json", action="store_true", help="print the manifest")
    generate_parser.set_defaults(handler=_generate)

    synth = rtl_commands.add_parser("synth", help="Yosys resource report (LUTs, FFs, DSPs, "
                                                  "BRAMs)")
    synth.add_argument("config", metavar="CONFIG.yaml")
    synth.add_argument("--target", action="append", choices=TARGETS,
                       help="repeat for several; default: generic and xilinx")
    synth.add_argument("--cells", action="store_true", help="also list every cell type")
    synth.add_argument("--json", action="store_true", help="print one JSON document")
    synth.set_defaults(handler=_synth)

    predict = rtl_commands.add_parser(
        "predict", help="the generated layer engine's cycles for each layer of a network (its "
                        "own schedule through the simulator's tile pipeline)")
    predict.add_argument("config", metavar="HARDWARE.yaml")
    predict.add_argument("--network", required=True, metavar="NAME|FILE.yaml")
    predict.add_argument("--json", action="store_true", help="print one JSON document")
    predict.set_defaults(handler=_predict)


def _generate(args: argparse.Namespace) -> None:
    from hls_gen.generate import generate  # Amaranth is loaded only for RTL commands

    record = generate(args.config, args.out)
    if args.json:
        print(json.dumps(record, indent=2))
        return
    out = Path(args.out)
    print(f"{record['module']}: {out / record['verilog']}, {out / 'manifest.json'} "
          f"({len(record['ports'])} ports)")


def _synth(args: argparse.Namespace) -> None:
    from hls_gen.generate import load_target, verilog_text  # Amaranth only for RTL commands

    target = load_target(args.config)[0]
    targets = args.target or ["generic", "xilinx"]
    source = verilog_text(target)
    reports = {}
    for name in dict.fromkeys(targets):
        try:
            reports[name] = synthesize(source, target.module_name, name)
        except SynthesisError as error:
            print(f"error: {args.config}: {name}: {error}", file=sys.stderr)
            raise SystemExit(EXIT_TOOL_FAILURE) from None
        if not args.cells:
            reports[name].pop("cells")
    if args.json:
        print(json.dumps({"module": target.module_name, "targets": reports}, indent=2))
        return
    for name, report in reports.items():
        figures = ", ".join(f"{key} {value}" for key, value in report.items() if key != "cells")
        print(f"{target.module_name} [{name}]: {figures}")


def _predict(args: argparse.Namespace) -> None:
    from hls_gen.predict import predict_network
    from sim.workload.io import resolve_network

    network = resolve_network(args.network)
    layers, pes = predict_network(args.config, network)
    run = [layer for layer in layers if not layer.reason]
    cycles = sum(layer.cycles for layer in run)
    macs = sum(layer.macs for layer in run)
    if args.json:
        print(json.dumps({"network": network.name, "hardware": args.config, "pes": pes,
                          "cycles": cycles, "macs": macs,
                          "pe_utilization": macs / (pes * cycles) if cycles else 0.0,
                          "layers": [layer.to_dict(pes) for layer in layers]}, indent=2))
        return
    print(f"{'layer':16s} {'shape':36s} {'tiles':>28s} {'cycles':>10s} {'MACs':>12s} "
          f"{'PE util':>8s} {'bus bytes':>11s}")
    for layer in layers:
        if layer.reason:
            print(f"{layer.name:16s} {layer.shape:36s} not run: {layer.reason}")
            continue
        tiles = f"{layer.tiles}: {layer.band_rows}-row bands, {layer.block_filters} filters"
        print(f"{layer.name:16s} {layer.shape:36s} {tiles:>28s} {layer.cycles:10,d} "
              f"{layer.macs:12,d} {layer.utilization(pes):8.1%} {layer.bus_bytes:11,d}")
    utilization = macs / (pes * cycles) if cycles else 0.0
    print(f"{'total':16s} {f'{len(run)} of {len(layers)} layers run':36s} {'':>28s} "
          f"{cycles:10,d} {macs:12,d} {utilization:8.1%} "
          f"{sum(layer.bus_bytes for layer in run):11,d}")
