"""The ``edgeaccel`` command line.

Every command that computes takes ``--json`` and then prints exactly one JSON document on stdout.
Problems with the input print one line ``error: ...`` on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn

from sim.config import ConfigError
from sim.output import write_text_atomic
from sim.report import network_summary, network_table
from sim.workload.io import dump_network, resolve_network

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _add_network_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("network", metavar="NAME|FILE", help="zoo network name or network YAML")
    parser.add_argument("--resolution", type=_positive_int, help="input height and width (px)")
    parser.add_argument("--num-classes", type=_positive_int, help="classifier outputs (zoo only)")
    parser.add_argument("--width-mult", type=_positive_float,
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
    return parser


def _resolve(args: argparse.Namespace):
    return resolve_network(
        args.network, resolution=args.resolution, num_classes=args.num_classes,
        width_mult=args.width_mult,
    )


def _network_show(args: argparse.Namespace) -> None:
    network = _resolve(args)
    if args.json:
        print(json.dumps(network_summary(network), indent=2))
    else:
        print(network_table(network))


def _network_export(args: argparse.Namespace) -> None:
    network = _resolve(args)
    write_text_atomic(args.out, dump_network(network))
    print(f"wrote {args.out}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        sys.stderr.close()  # output piped into a closed reader, e.g. `| head`
    return 0


if __name__ == "__main__":
    sys.exit(main())
