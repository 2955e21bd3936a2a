"""``edgeaccel weights experiment CONFIG.yaml --out DIR``: run the weight experiments.

Writes ``DIR/weights.csv`` (one row per measurement), ``DIR/summary.json`` and the figures.
With ``--json`` the summary is printed as one JSON document on stdout; otherwise a short table
goes to stdout. A bad config raises :class:`sim.config.ConfigError`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sim.output import text_writer, write_files_atomic

CSV_NAME = "weights.csv"
SUMMARY_NAME = "summary.json"


def add_weights_commands(subparsers: Any) -> None:
    """Add ``weights experiment`` to an argparse sub-parser collection."""
    weights = subparsers.add_parser(
        "weights", help="weight augmentation, centralization and zero skipping on real data")
    commands = weights.add_subparsers(dest="weights_command", required=True,
                                      parser_class=type(weights))
    experiment = commands.add_parser(
        "experiment", help="train small models and measure accuracy vs weight storage")
    experiment.add_argument("config", metavar="CONFIG.yaml",
                            help="experiment YAML, e.g. configs/weights/default.yaml")
    experiment.add_argument("--out", required=True, metavar="DIR",
                            help="folder for weights.csv, summary.json and the figures")
    experiment.add_argument("--no-plots", action="store_true", help="skip the figures")
    experiment.add_argument("--json", action="store_true", help="print one JSON document")
    experiment.set_defaults(handler=run_weights_experiment)


def run_weights_experiment(args: argparse.Namespace) -> None:
    """Handler of ``weights experiment``."""
    # Imported here: training and matplotlib load only when the experiment runs.
    from sim.weights.config import load_experiment
    from sim.weights.experiment import records_csv, run_experiment
    from sim.weights.plots import figure_files

    config = load_experiment(args.config)
    result = run_experiment(config)
    out = Path(args.out)
    figures = [] if args.no_plots else figure_files(result, out)
    # The tables and every figure, all or none.
    write_files_atomic([
        (out / CSV_NAME, text_writer(records_csv(result.records))),
        (out / SUMMARY_NAME, text_writer(json.dumps(result.summary, indent=2) + "\n")),
        *figures])
    print(f"wrote {out / CSV_NAME}, {out / SUMMARY_NAME} and {len(figures)} figures",
          file=sys.stderr)
    if args.json:
        print(json.dumps(result.summary, indent=2))
    else:
        print(summary_table(result.summary))


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summary_table(summary: dict[str, Any]) -> str:
    """One line per model and distribution: baseline, threshold batch size, memory saved."""
    header = (f"{'model':<20} {'dataset':<14} {'weights':>8} {'base %':>7} {'dist':<8} "
              f"{'unitary %':>9} {'layer %':>8} {'thr B':>6} {'acc %':>6} {'saved KB':>9}")
    lines = [header, "-" * len(header)]
    for model in summary["models"]:
        for distribution, data in model["centralization"].items():
            saved = data["threshold_memory_saved_bytes"]
            lines.append(
                f"{model['name']:<20} {model['dataset']:<14} {model['weights']:>8} "
                f"{model['baseline_accuracy_pct']:>7.2f} {distribution:<8} "
                f"{data['unitary_accuracy_pct']:>9.2f} "
                f"{data['layer_wise_accuracy_pct']['all']:>8.2f} "
                f"{_fmt(data['threshold_batch_size'], 'd'):>6} "
                f"{_fmt(data['threshold_accuracy_pct'], '.2f'):>6} "
                f"{_fmt(None if saved is None else saved / 1000, '.1f'):>9}"
            )
    lines.append(f"threshold: largest batch size with accuracy drop <= "
                 f"{summary['tolerance_pct']:g} points (and every smaller one)")
    return "\n".join(lines)
