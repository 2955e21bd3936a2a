"""`edgeaccel sweep`, `edgeaccel results export` and `edgeaccel plot`."""

from __future__ import annotations

import argparse
import csv
import io
import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.argtypes import int_in
from sim.config import ConfigError
from sim.limits import DEFAULT_MAX_POINTS
from sim.output import write_files_atomic

if TYPE_CHECKING:
    from sim.sweep.store import ResultsStore

EXECUTORS = ("local", "inline", "dask")  # sim.sweep.runner.RUNNERS (a test keeps them equal)

MAX_WORKERS = 256
MAX_POINTS_CEILING = 10**7
SUMMARY_KEYS = ("dram_mb", "latency_ms", "energy_mj", "macs", "traffic_to_bound",
                "peak_onchip_bytes", "infeasible")


def add_sweep_commands(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser("sweep", help="run a design-space sweep from YAML")
    sweep.add_argument("config", metavar="CONFIG.yaml")
    sweep.add_argument("--out", required=True, metavar="DIR", help="results folder")
    sweep.add_argument("--workers", type=int_in(1, MAX_WORKERS, "a worker count"), default=2,
                       help="processes (default 2)")
    sweep.add_argument("--executor", choices=EXECUTORS, default="local")
    sweep.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="Dask scheduler address (implies --executor dask)")
    sweep.add_argument("--no-resume", action="store_true",
                       help="run every point again even if the store has it")
    sweep.add_argument("--no-plots", action="store_true", help="skip the figures")
    sweep.add_argument("--max-points", type=int_in(1, MAX_POINTS_CEILING, "a point count"),
                       default=DEFAULT_MAX_POINTS,
                       help=f"refuse sweeps of more points (default {DEFAULT_MAX_POINTS})")
    sweep.add_argument("--json", action="store_true", help="print one JSON document")
    sweep.set_defaults(handler=_sweep)

    results = commands.add_parser("results", help="work with a results folder")
    results_commands = results.add_subparsers(dest="results_command", required=True,
                                              parser_class=type(results))
    export = results_commands.add_parser("export", help="export the store as CSV or Parquet")
    export.add_argument("folder", metavar="DIR")
    export.add_argument("--csv", metavar="FILE", help="summary table: labels and headline "
                        "figures (MB, ms, mJ)")
    export.add_argument("--parquet", metavar="FILE", help="one column per option and metric "
                        "(sim.sweep.frame), via pyarrow")
    export.set_defaults(handler=_export)

    plot = commands.add_parser("plot", help="write the sweep figures of a results folder")
    plot.add_argument("folder", metavar="DIR")
    plot.add_argument("--format", choices=("png", "svg", "pdf"), action="append",
                      dest="formats", help="figure format; repeat for several (default png "
                      "and svg)")
    plot.set_defaults(handler=_plot)


def summary_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per point: its labels, network, hardware, dataflow and headline figures."""
    table = []
    for row in rows:
        result = row["result"]
        if "infeasible" in result:
            table.append({"key": row["key"], **row["labels"], "network": result["network"],
                          "hardware": result["hardware"], "dataflow": result["dataflow"],
                          "dtype": result["dtype"], "infeasible": result["infeasible"]})
            continue
        totals = result["totals"]
        table.append({
            "key": row["key"], **row["labels"], "network": result["network"],
            "hardware": result["hardware"], "dataflow": result["dataflow"],
            "dtype": result["dtype"],
            "dram_mb": (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / 1e6,
            "latency_ms": totals["latency_s"] * 1e3,
            "energy_mj": totals["energy_pj"]["total"] / 1e9,
            "macs": totals["macs"],
            "traffic_to_bound": totals["traffic_to_bound"],
            "peak_onchip_bytes": totals["peak_onchip_bytes"],
        })
    return table


def _open_store(folder: str) -> ResultsStore:
    from sim.sweep.store import ResultsStore

    return ResultsStore(folder, create=False)


def _interrupt(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM: workers are shut down, then the command exits with 130."""
    from sim.sweep.runner import STOP_REQUESTED

    STOP_REQUESTED.set()
    raise KeyboardInterrupt


def _sweep(args: argparse.Namespace) -> None:
    from sim.sweep.runner import STOP_REQUESTED

    main_thread = threading.current_thread() is threading.main_thread()
    STOP_REQUESTED.clear()
    previous = ({stop: signal.signal(stop, _interrupt) for stop in (signal.SIGINT, signal.SIGTERM)}
                if main_thread else {})
    try:
        _run_sweep_command(args)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _run_sweep_command(args: argparse.Namespace) -> None:
    from sim.sweep.runner import PointFailed, check_scheduler, run_sweep
    from sim.sweep.spec import load_sweep
    from sim.sweep.store import ResultsStore

    _, points = load_sweep(args.config, args.max_points)
    executor = "dask" if args.scheduler else args.executor
    if args.scheduler:
        check_scheduler(args.scheduler)
    out = Path(args.out)
    made_folder = not out.exists()
    store = ResultsStore(out)
    try:
        ran = run_sweep(points, store, executor, args.workers, args.scheduler,
                        resume=not args.no_resume, progress=not args.json and sys.stderr.isatty())
    except PointFailed as failed:
        _discard(store, out, made_folder)
        varied = ", ".join(f"{k}={v!r}" for k, v in failed.point.labels.items())
        raise ConfigError(args.config, failed.message,
                          field=f"point ({varied})" if varied else "base") from None
    except BaseException:
        if store.created and not store.finished_keys():
            _discard(store, out, made_folder)  # an interrupted first run: nothing to resume
        else:
            store.close()
        raise
    try:
        keys = {point.key for point in points}
        rows = [row for row in store.rows() if row["key"] in keys]
    finally:
        store.close()
    plots = [] if args.no_plots else _write_plots(rows, out / "plots")
    table = summary_rows(rows)
    if args.json:
        print(json.dumps({"points": len(points), "ran": ran, "results": table,
                          "plots": [str(p) for p in plots]}, indent=2))
        return
    print(_summary_text(table))
    print(f"{ran} of {len(points)} points ran now; results in {args.out}/results.sqlite"
          + (f"; plots in {args.out}/plots" if plots else ""))


def _discard(store: ResultsStore, folder: Path, made_folder: bool) -> None:
    """Remove a store this run created (and its folder, if this run made it and it is empty)."""
    if not store.created:
        store.close()
        return
    store.remove()
    if made_folder:
        try:
            folder.rmdir()
        except OSError:
            pass


def _write_plots(rows: list[dict[str, Any]], folder: Path,
                 formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    from sim.sweep.plots import write_plots  # matplotlib only when plotting

    feasible = [row for row in rows if "infeasible" not in row["result"]]
    return write_plots(feasible, folder, formats) if feasible else []


def _summary_text(table: list[dict[str, Any]]) -> str:
    lines = [f"{'network':16s} {'hardware':12s} {'dataflow':10s} {'varied':34s} "
             f"{'DRAM MB':>9s} {'ms':>8s} {'mJ':>8s}"]
    fixed = {"key", "network", "hardware", "dataflow", "dtype", *SUMMARY_KEYS}
    for row in table:
        varied = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in row.items()
                           if k not in fixed and k not in ("network", "hardware"))
        if "infeasible" in row:
            lines.append(f"{row['network']:16s} {row['hardware']:12s} {row['dataflow']:10s} "
                         f"{varied[:34]:34s} infeasible: {row['infeasible']}")
            continue
        lines.append(f"{row['network']:16s} {row['hardware']:12s} {row['dataflow']:10s} "
                     f"{varied[:34]:34s} {row['dram_mb']:9.3f} {row['latency_ms']:8.3f} "
                     f"{row['energy_mj']:8.4f}")
    return "\n".join(lines)


def _export(args: argparse.Namespace) -> None:
    if not args.csv and not args.parquet:
        raise ConfigError("results export", "nothing to write", allowed="--csv FILE, "
                          "--parquet FILE or both")
    store = _open_store(args.folder)
    try:
        rows = store.rows()
    finally:
        store.close()
    files: list[tuple[str, Callable[[Path], None]]] = []
    if args.csv:
        table = summary_rows(rows)
        fields = list(dict.fromkeys(key for row in table for key in row))
        stream = io.StringIO()
        writer = csv.DictWriter(stream, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        text = stream.getvalue()
        files.append((args.csv, lambda path: path.write_text(text, encoding="utf-8")))
    if args.parquet:
        from sim.sweep.frame import results_frame

        frame = results_frame(rows)
        files.append((args.parquet, lambda path: frame.to_parquet(path, index=False)))
    write_files_atomic(files)
    for path, _ in files:
        print(f"wrote {path} ({len(rows)} points)", file=sys.stderr)


def _plot(args: argparse.Namespace) -> None:
    store = _open_store(args.folder)
    try:
        rows = store.rows()
    finally:
        store.close()
    formats = tuple(dict.fromkeys(args.formats or ("png", "svg")))
    for path in _write_plots(rows, Path(args.folder) / "plots", formats):
        print(path)
