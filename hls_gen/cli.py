"""`edgeaccel rtl generate` and `edgeaccel rtl synth`."""

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
