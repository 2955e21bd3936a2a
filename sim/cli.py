"""The ``edgeaccel`` command line.

Every command that computes takes ``--json`` and then prints exactly one JSON document on stdout.
Problems with the input print one line ``error: ...`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from hls_gen.cli import add_rtl_commands
from sim import limits as lim
from sim.argtypes import byte_size, float_in, int_in
from sim.config import ConfigError
from sim.dtypes import DType
from sim.importers.cli import add_import_commands
from sim.output import check_output_path, write_text_atomic
from sim.sweep.cli import add_sweep_commands
from sim.weights.cli import add_weights_commands

if TYPE_CHECKING:
    from sim.importers.topology import Topology
    from sim.peak import PeakReport
    from sim.workload.network import Network

# Each command imports what it uses when it runs, so `edgeaccel --help` stays quick.
# The same names as sim.dataflow.DATAFLOWS (a test keeps them equal).
DATAFLOWS = ("layerwise", "tiled", "buffered", "fused", "full", "auto")
# The same names as sim.mapper.search.OBJECTIVES (a test keeps them equal).
OBJECTIVES = ("dram_bytes", "energy", "latency", "edp")

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


_resolution = int_in(1, lim.MAX_RESOLUTION, "an input size in pixels")
_channels = int_in(1, lim.MAX_CHANNELS, "a channel count")
_classes = int_in(1, lim.MAX_FEATURES, "a class count")
_tile = int_in(1, lim.MAX_TILE, "a tile edge in pixels")
_window = int_in(0, lim.MAX_WINDOW, "a size in pixels")
_count = int_in(1, lim.MAX_PATCHES, "a patch count")
_width_mult = float_in(0, lim.MAX_WIDTH_MULT, "a width multiplier")


DTYPE_CHOICES = [str(DType.INT8), str(DType.FP32), str(DType.INT16), str(DType.FP16)]


def _add_network_arguments(parser: argparse.ArgumentParser, flag: bool = False) -> None:
    if flag:
        parser.add_argument("--network", required=True, metavar="NAME|FILE",
                            help="zoo network name or network YAML")
    else:
        parser.add_argument("network", metavar="NAME|FILE",
                            help="zoo network name or network YAML")
    parser.add_argument("--resolution", type=_resolution, help="input height and width (px)")
    parser.add_argument("--num-classes", type=_classes, help="classifier outputs (zoo only)")
    parser.add_argument("--width-mult", type=_width_mult,
                        help="channel width multiplier (mobilenet_v2 only)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edgeaccel", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    network = commands.add_parser("network", help="inspect and export networks")
    network_commands = network.add_subparsers(dest="network_command", required=True,
                                              parser_class=_Parser)
    show = network_commands.add_parser("show", help="per-layer shapes, parameters and MACs")
    _add_network_arguments(show)
    show.add_argument("--json", action="store_true", help="print one JSON document")
    show.set_defaults(handler=_network_show)

    export = network_commands.add_parser("export", help="write a network as YAML")
    _add_network_arguments(export)
    export.add_argument("--out", required=True, help="YAML file to write")
    export.set_defaults(handler=_network_export)

    peak = commands.add_parser("peak-mem", help="peak on-chip memory of an execution plan")
    _add_network_arguments(peak, flag=True)
    peak.add_argument("--dtype", choices=DTYPE_CHOICES, default="int8",
                      help="data type of activations (default int8)")
    peak.add_argument("--no-inplace-depthwise", action="store_true",
                      help="count depthwise layers as input + whole output")
    peak.add_argument("--patches", type=_count, metavar="N",
                      help="run the first layers patch by patch on an N x N grid")
    peak.add_argument("--patch-layers", metavar="L",
                      help="layers in the patch stage: a count or the name of its last layer")
    peak.add_argument("--tunnels", type=_count, metavar="K",
                      help="segment the input into K patches, each through its own tunnel")
    peak.add_argument("--margin", type=_window, default=0, metavar="M",
                      help="patch margin in pixels (with --tunnels)")
    peak.add_argument("--central", action="store_true", help="add the central patch tunnel")
    peak.add_argument("--reorder-bottleneck", action="store_true",
                      help="run inverted-residual blocks one expansion channel at a time")
    peak.add_argument("--budget", type=byte_size, metavar="SIZE",
                      help="memory budget for the plot and table, e.g. 256KB or 256KiB")
    peak.add_argument("--plot", metavar="FILE.png", help="per-layer live memory figure")
    peak.add_argument("--json", action="store_true", help="print one JSON document")
    peak.set_defaults(handler=_peak_mem)

    design = commands.add_parser("tunnel-design",
                                 help="design a patch tunnel under a memory budget")
    design.add_argument("--budget", type=byte_size, required=True, metavar="SIZE",
                        help="memory budget m_b, e.g. 256KB (1000 B) or 256KiB (1024 B)")
    design.add_argument("--resolution", type=_resolution, default=224, help="image size (px)")
    design.add_argument("--channels", type=_channels, default=3, help="image channels")
    design.add_argument("--k", type=_count, default=4, help="patches (a perfect square)")
    design.add_argument("--margin", type=_window, default=18, help="margin m (px)")
    design.add_argument("--dtype", choices=DTYPE_CHOICES, default="int8")
    design.add_argument("--no-central", action="store_true", help="no central patch")
    design.add_argument("--no-reorder", action="store_true",
                        help="hold every layer to Eq. 2 instead of reordering bottlenecks")
    design.add_argument("--num-classes", type=_classes, default=1000)
    design.add_argument("--out", metavar="FILE.yaml", help="write the tunnel as network YAML")
    design.add_argument("--json", action="store_true", help="print one JSON document")
    design.set_defaults(handler=_tunnel_design)

    run = commands.add_parser("simulate", help="cycle-level run of a network on a hardware spec")
    _add_network_arguments(run, flag=True)
    run.add_argument("--hardware", required=True, metavar="NAME|FILE",
                     help="hardware preset (a name in configs/hardware/) or YAML file")
    run.add_argument("--dataflow", choices=DATAFLOWS, default=None,
                     help="a fixed dataflow, or auto: the mapper's best schedule "
                          "(default: layerwise)")
    run.add_argument("--objective", choices=OBJECTIVES, default="dram_bytes",
                     help="what --dataflow auto minimizes (default: dram_bytes)")
    run.add_argument("--mapping", metavar="FILE.yaml",
                     help="run the mapping in this file (written by edgeaccel map)")
    run.add_argument("--tile", type=_tile, default=32,
                     help="tile edge in output pixels (tiled, full; default 32)")
    run.add_argument("--halo", choices=["reuse", "refetch"], default="reuse",
                     help="keep halo columns from the previous tile, or fetch them again")
    run.add_argument("--buffer-channels", type=_channels, default=None,
                     help="room for feature maps kept on chip, in channels at the input "
                          "resolution, taken from the fmap or global buffer (buffered, full; "
                          "default: the room that moves the fewest DRAM bytes)")
    run.add_argument("--dtype", choices=DTYPE_CHOICES, default="int8")
    run.add_argument("--weights", default="dense", metavar="dense|centralized:B|zero-skip:F",
                     help="weight storage: dense, centralized in runs of B (seed 003), or a "
                          "fraction F of zero weights skipped")
    run.add_argument("--per-layer", metavar="FILE.csv", help="write per-layer records as CSV")
    run.add_argument("--json", action="store_true", help="print one JSON document")
    run.set_defaults(handler=_simulate)

    mapper = commands.add_parser("map", help="search the best mapping of a network and write it")
    _add_network_arguments(mapper, flag=True)
    mapper.add_argument("--hardware", required=True, metavar="NAME|FILE",
                        help="hardware preset (a name in configs/hardware/) or YAML file")
    mapper.add_argument("--objective", choices=OBJECTIVES, default="dram_bytes",
                        help="what to minimize (default: dram_bytes)")
    mapper.add_argument("--dtype", choices=DTYPE_CHOICES, default="int8")
    mapper.add_argument("--out", metavar="FILE.yaml", help="write the mapping file")
    mapper.add_argument("--plot", metavar="FILE.png",
                        help="per-layer traffic of the mapping, the fixed dataflows and the bound")
    mapper.add_argument("--json", action="store_true", help="print one JSON document")
    mapper.set_defaults(handler=_map)

    add_weights_commands(commands)
    add_rtl_commands(commands)
    add_import_commands(commands)
    add_sweep_commands(commands)
    return parser


def _resolve(args: argparse.Namespace):
    from sim.workload.io import resolve_network

    return resolve_network(
        args.network, resolution=args.resolution, num_classes=args.num_classes,
        width_mult=args.width_mult,
    )


def _network_show(args: argparse.Namespace) -> None:
    from sim.report import network_summary, network_table

    network = _resolve(args)
    if args.json:
        print(json.dumps(network_summary(network), indent=2))
    else:
        print(network_table(network))


def _network_export(args: argparse.Namespace) -> None:
    from sim.workload.io import dump_network

    network = _resolve(args)
    write_text_atomic(args.out, dump_network(network))
    print(f"wrote {args.out}", file=sys.stderr)


def _stage_layers(network: Network, text: str) -> int:
    from sim.techniques.patches import stage_cuts

    if text.isdigit():
        return int(text)
    names = [info.name for info in network.infos]
    if text not in names:
        raise ConfigError("--patch-layers", f"no layer named {text!r} in {network.name}",
                          allowed=", ".join(network.infos[c - 1].name for c in stage_cuts(network)))
    return names.index(text) + 1


def _peak_report(args: argparse.Namespace, network: Network) -> PeakReport:
    from sim.peak import layerwise_peak
    from sim.techniques.patches import PatchPlanError, patch_peak, plan_patches
    from sim.techniques.reorder import reordered_peak
    from sim.techniques.tunnels import TunnelError, segmented, tunnel_peak

    inplace = not args.no_inplace_depthwise
    if (args.patches is None) != (args.patch_layers is None):
        raise ConfigError("--patches", "--patches and --patch-layers go together")
    if args.patches is not None and (args.tunnels is not None or args.reorder_bottleneck):
        raise ConfigError("--patches", "patch-based execution is modelled on its own; "
                          "drop --tunnels and --reorder-bottleneck")
    if args.tunnels is None and (args.margin or args.central):
        raise ConfigError("--margin", "--margin and --central apply to --tunnels only")
    try:
        if args.patches is not None:
            plan = plan_patches(network, _stage_layers(network, args.patch_layers), args.patches)
            return patch_peak(plan, args.dtype, inplace)
        if args.tunnels is not None:
            design = segmented(network, args.tunnels, args.margin, args.central)
            return tunnel_peak(design, args.dtype, inplace, args.reorder_bottleneck)
    except (PatchPlanError, TunnelError, ValueError) as error:
        flag = "--patches" if args.patches is not None else "--tunnels"
        raise ConfigError(flag, str(error)) from None
    if args.reorder_bottleneck:
        return reordered_peak(network, args.dtype, inplace)
    return layerwise_peak(network, args.dtype, inplace)


def _peak_mem(args: argparse.Namespace) -> None:
    from sim.report import peak_table
    from sim.workload.io import resolve_network

    network = resolve_network(args.network, resolution=args.resolution,
                              num_classes=args.num_classes, width_mult=args.width_mult)
    report = _peak_report(args, network)
    if args.plot:
        from sim.plots import live_memory_figure, save_figure

        save_figure(live_memory_figure(report, args.budget), args.plot)
    if args.json:
        data = report.to_dict()
        if args.budget is not None:
            data["budget_bytes"] = args.budget
            data["fits_budget"] = report.peak_bytes <= args.budget
        print(json.dumps(data, indent=2))
    else:
        print(peak_table(report, args.budget))
        if args.plot:
            print(f"wrote {args.plot}", file=sys.stderr)


TABLE6_MARGINS = (0, 5, 10, 18)


def _tunnel_design(args: argparse.Namespace) -> None:
    from sim.report import margin_table_text, network_summary, network_table, peak_table
    from sim.techniques.tunnel_design import design_tunnel
    from sim.techniques.tunnels import TunnelError, margin_table, tunnel_peak
    from sim.units import kb_kib
    from sim.workload.io import dump_network
    from sim.workload.layers import Shape

    image = Shape(args.resolution, args.resolution, args.channels)
    reorder = not args.no_reorder
    try:
        design = design_tunnel(args.budget, image, args.k, args.margin, args.dtype,
                               central=not args.no_central, reorder=reorder,
                               num_classes=args.num_classes)
    except TunnelError as error:
        raise ConfigError("--budget", str(error)) from None
    report = tunnel_peak(design, args.dtype, reorder=reorder)
    margins = tuple(sorted(set(TABLE6_MARGINS) | {args.margin}))
    dtypes = ("fp32", "int8")
    rows = margin_table(design, margins, dtypes, reorder)
    if args.out:
        write_text_atomic(args.out, dump_network(design.tunnel))
    if args.json:
        print(json.dumps({
            **report.to_dict(), "budget_bytes": args.budget,
            "network": network_summary(design.tunnel), "margin_table": rows,
        }, indent=2))
        return
    print(network_table(design.tunnel))
    print()
    print(peak_table(report, args.budget))
    tunnels = report.details["tunnels"]
    print(f"budget: {kb_kib(args.budget)}; {tunnels['count']} tunnels on "
          f"{'x'.join(map(str, tunnels['patch_shape']))} patches; "
          f"{tunnels['params']:,} params, {tunnels['macs']:,} MACs")
    print()
    print("peak memory vs margin (same tunnel layers; seed 001 Table 6 style)")
    print(margin_table_text(rows, dtypes))


def _topology(args: argparse.Namespace) -> Topology | None:
    from sim.importers.scalesim import read_topology_csv
    from sim.importers.topology import read_topology_yaml

    """A SCALE-Sim CSV or a topology YAML given as ``--network``, else None."""
    if args.network.endswith(".csv"):
        topology = read_topology_csv(args.network)
    else:
        topology = read_topology_yaml(args.network)
    if topology is None:
        return None
    for flag in ("resolution", "num_classes", "width_mult"):
        if getattr(args, flag) is not None:
            raise ConfigError(f"--{flag.replace('_', '-')}",
                              "applies to networks, not to topologies of independent layers")
    return topology


def _map(args: argparse.Namespace) -> None:
    from sim.dataflow import SimulationOptions, check_dram_capacity
    from sim.hardware import load_hardware
    from sim.mapper.mapping_file import mapping_to_yaml
    from sim.mapper.network_mapping import auto_schedule, mapping_to_dict
    from sim.mapper.report import (
        fixed_bytes_by_layer,
        map_figure,
        map_rows,
        map_table,
        map_units,
    )
    from sim.presets import hardware_path
    from sim.schedule import DramLayout
    from sim.workload.io import resolve_network

    network = resolve_network(args.network, resolution=args.resolution,
                              num_classes=args.num_classes, width_mult=args.width_mult)
    hardware_file = hardware_path(args.hardware)
    hardware = load_hardware(hardware_file)
    dtype = DType(args.dtype)
    layout = DramLayout(network, dtype.bytes, accumulator_bytes=dtype.accumulator_bits // 8)
    try:
        schedule = auto_schedule(network, hardware, layout, dtype, args.objective)
        check_dram_capacity(network, hardware, layout, schedule.mapping)
    except ConfigError as error:
        raise ConfigError(hardware_file, error.message, field=error.field,
                          allowed=error.allowed) from None
    options = SimulationOptions("auto", dtype=dtype, objective=args.objective)
    fixed = fixed_bytes_by_layer(network, hardware, options)
    rows = map_rows(network, hardware, schedule.mapping, schedule.tiles, fixed, dtype.bytes,
                    options)
    units = map_units(network, schedule.mapping, schedule.tiles, fixed,
                      hardware.dram.burst_bytes)
    if args.out:
        write_text_atomic(args.out, mapping_to_yaml(schedule.mapping))
    if args.plot:
        from sim.output import write_files_atomic

        title = (f"{network.name} on {hardware.name}, {dtype}: auto ({args.objective}) vs "
                 "fixed dataflows")
        write_files_atomic([(args.plot, lambda path: map_figure(rows, fixed, title, path))])
    if args.json:
        print(json.dumps({"mapping": mapping_to_dict(schedule.mapping), "layers": rows,
                          "units": units}, indent=2))
    else:
        print(map_table(rows, schedule.mapping, fixed, units))


def _simulate(args: argparse.Namespace) -> None:
    from sim.dataflow import MAPPED, SimulationOptions
    from sim.hardware import load_hardware
    from sim.importers.topology import simulate_topology
    from sim.presets import hardware_path
    from sim.report import layers_csv, simulation_table
    from sim.simulate import simulate
    from sim.workload.io import resolve_network

    topology = _topology(args)
    if topology is None:
        network = resolve_network(args.network, resolution=args.resolution,
                                  num_classes=args.num_classes, width_mult=args.width_mult)
    hardware_file = hardware_path(args.hardware)
    hardware = load_hardware(hardware_file)
    mapping = None
    if args.mapping:
        if topology is not None or args.dataflow is not None:
            raise ConfigError("--mapping", "runs a network's mapping file, without --dataflow",
                              allowed="a zoo network or network YAML, no --dataflow")
        from sim.mapper.mapping_file import load_mapping

        mapping = load_mapping(args.mapping, network, hardware, DType(args.dtype))
    dataflow = MAPPED if mapping else (args.dataflow or "layerwise")
    try:
        options = SimulationOptions(dataflow, args.tile, args.halo == "reuse",
                                    args.buffer_channels, DType(args.dtype), args.weights,
                                    args.objective, mapping)
    except ValueError as error:
        raise ConfigError("--weights", str(error)) from None
    if str(options.dtype) not in hardware.energy.mac_pj:
        raise ConfigError(hardware_file, f"no MAC energy for {options.dtype}",
                          field="energy.mac_pj", allowed=", ".join(hardware.energy.mac_pj))
    try:
        if topology is not None:
            result = simulate_topology(topology, hardware, options)
        else:
            result = simulate(network, hardware, options)
    except ConfigError as error:
        if error.path != "--hardware":
            raise
        # Raised about the hardware while simulating: name the file it came from.
        raise ConfigError(hardware_file, error.message, field=error.field,
                          allowed=error.allowed) from None
    if args.per_layer:
        write_text_atomic(args.per_layer, layers_csv(result))
    if args.json:
        print(json.dumps({key: value for key, value in result.items() if key != "config"},
                         indent=2))
    else:
        print(simulation_table(result))


OUTPUT_FILE_FLAGS = ("out", "per_layer", "plot", "csv", "parquet", "hardware_out")


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse unusable output files before any work (a sweep's ``--out`` is a folder)."""
    if args.command in ("sweep", "weights", "rtl"):  # their --out is a folder
        return
    for flag in OUTPUT_FILE_FLAGS:
        value = getattr(args, flag, None)
        if value:
            check_output_path(value)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_outputs(args)
        args.handler(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # output piped into a closed reader, e.g. `| head`
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
