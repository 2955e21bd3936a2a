"""`edgeaccel import scalesim` and `edgeaccel import onnx`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.output import write_text_atomic, write_texts_atomic

DEFAULT_DRAM = "jetson_nano"


def add_import_commands(commands: argparse._SubParsersAction) -> None:
    importer = commands.add_parser("import", help="import SCALE-Sim topologies, ONNX models")
    kinds = importer.add_subparsers(dest="import_command", required=True,
                                    parser_class=type(importer))
    scalesim = kinds.add_parser("scalesim", help="a SCALE-Sim topology CSV (and .cfg)")
    scalesim.add_argument("topology", metavar="TOPOLOGY.csv")
    scalesim.add_argument("--out", required=True, metavar="FILE.yaml",
                          help="topology YAML to write")
    scalesim.add_argument("--config", metavar="FILE.cfg", help="SCALE-Sim architecture config")
    scalesim.add_argument("--hardware-out", metavar="FILE.yaml",
                          help="hardware YAML to write from --config")
    scalesim.add_argument("--dram-preset", metavar="NAME|FILE", default=DEFAULT_DRAM,
                          help="hardware preset whose DRAM and MAC energy the import uses "
                               f"(default {DEFAULT_DRAM})")
    scalesim.set_defaults(handler=_import_scalesim)

    onnx = kinds.add_parser("onnx", help="an ONNX model")
    onnx.add_argument("model", metavar="MODEL.onnx")
    onnx.add_argument("--out", required=True, metavar="FILE.yaml", help="network YAML to write")
    onnx.add_argument("--name", help="network name (default: the graph's name)")
    onnx.set_defaults(handler=_import_onnx)


def _import_scalesim(args: argparse.Namespace) -> None:
    from sim.importers.scalesim import (
        hardware_yaml,
        read_config,
        read_table,
        topology_of,
        unmodelled_note,
    )
    from sim.importers.topology import dump_topology
    from sim.presets import hardware_path

    if args.hardware_out and not args.config:
        from sim.config import ConfigError
        raise ConfigError("--hardware-out", "needs --config FILE.cfg to take the hardware from")
    table = read_table(args.topology)
    rows = table.rows
    notes = list(table.notes)
    topology = topology_of(args.topology, rows)
    hardware = None
    if args.config:
        config = read_config(args.config)
        hardware = hardware_yaml(config, hardware_path(args.dram_preset))
        notes += [note for note in (unmodelled_note(args.config, config),) if note]
    differing = [row.name for row in rows if row.scalesim_pixels != row.pixels]
    note = f"Imported from {args.topology}."
    if differing:
        note += (f"\nSCALE-Sim's ceil output size counts more pixels for: "
                 f"{', '.join(differing)}.")
    note += "".join(f"\n{line}" for line in table.notes)
    files: list[tuple[str | Path, str]] = [(args.out, dump_topology(topology, note))]
    if hardware is not None:
        files.append((args.hardware_out or Path(args.out).with_suffix(".hardware.yaml"),
                      hardware))
    write_texts_atomic(files)  # both or neither
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    print(f"{topology.name}: {len(rows)} layers, {topology.total_macs:,} MACs -> {args.out}")


def _import_onnx(args: argparse.Namespace) -> None:
    from sim.importers.onnx_model import import_onnx  # onnx is loaded only when importing
    from sim.workload.io import dump_network

    imported = import_onnx(args.model, name=args.name)
    network = imported.network
    text = dump_network(network)
    _check_loadable(args.model, text)
    write_text_atomic(args.out, text)
    for note in imported.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{network.name}: {len(network.layers)} layers, {network.total_params:,} parameters, "
          f"{network.total_macs:,} MACs -> {args.out}")


def _check_loadable(source: str, text: str) -> None:
    """Refuse to write network YAML that ``load_network`` would refuse (names, paddings)."""
    import yaml
    from pydantic import ValidationError

    from sim.config import ConfigError, validation_error
    from sim.workload.schema import NetworkSpec

    try:
        NetworkSpec.model_validate(yaml.safe_load(text))
    except ValidationError as error:
        problem = validation_error(source, None, NetworkSpec, error)
        raise ConfigError(source, f"imports to a network the YAML loader refuses: "
                          f"{problem.field}: {problem.message}", allowed=problem.allowed) from None
