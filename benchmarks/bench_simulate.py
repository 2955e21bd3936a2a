"""CPU time of `simulate`: MobileNetV2-224 and ResNet-18, every dataflow, on every preset.

Each case runs in a fresh process, as a `simulate` command would (no plan is shared between
cases), with the cyclic garbage collector paused from planning to the audit, as `simulate`
pauses it (:mod:`sim.collection`). Printed per case: start-up (the process's CPU seconds to
import the simulator), plan (building the schedule), engine (the tile pipeline, the DRAM
model and the capacity audit, without loading compiled code), core (loading the compiled
pipeline and DRAM engine, importing numba and its cached code, once per process, when the
run is compiled or hands over to the compiled DRAM engine; `-` when it stays in Python), the
DRAM requests served and requests per engine second. Each case runs ``--repeat`` times (3
unless given) and the run with the least plan + engine is printed: on a shared 2-core
machine single runs of the same case vary by up to 60 %. Nothing is asserted.

    python benchmarks/bench_simulate.py [--network NAME] [--hardware NAME] [--dataflow NAME]
                                        [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

START = time.process_time()

NETWORKS = ("mobilenet_v2", "resnet18")
PRESETS = ("jetson_nano", "diannao", "eyeriss")
DATAFLOWS = ("layerwise", "tiled", "buffered", "fused", "full")


def one(network_name: str, preset: str, dataflow: str) -> dict[str, float]:
    """Time one case in this process; start-up is what the process spent before it."""
    import sim.pipeline
    from sim.capacity import audit
    from sim.collection import collection_paused
    from sim.dataflow import SimulationOptions, plan_schedule
    from sim.hardware import load_hardware
    from sim.pipeline import run_pipeline
    from sim.presets import hardware_path
    from sim.workload.io import resolve_network

    network = resolve_network(network_name, resolution=None, num_classes=None, width_mult=None)
    hardware = load_hardware(hardware_path(preset))
    core = []

    def timed(load):
        def loading(argument):
            began = time.process_time()
            loaded = load(argument)
            core.append(time.process_time() - began)
            return loaded
        return loading

    sim.pipeline._compiled = timed(sim.pipeline._compiled)
    sim.pipeline._compiled_pipeline = timed(sim.pipeline._compiled_pipeline)
    started = time.process_time()
    with collection_paused():  # as `simulate` runs them
        schedule = plan_schedule(network, hardware, SimulationOptions(dataflow))
        planned = time.process_time()
        result = run_pipeline(schedule.tiles, hardware)
        spans = {name: (c.first_start, c.last_end) for name, c in result.layers.items()}
        audit(result.occupancy, hardware, spans)
        done = time.process_time()
    requests = sum(t.rows for tile in schedule.tiles for t in (*tile.loads, *tile.stores))
    return {"startup_s": started, "core_s": core[0] if core else None,
            "plan_s": planned - started, "engine_s": done - planned - sum(core),
            "requests": requests,
            "descriptors": sum(len(tile.loads) + len(tile.stores) for tile in schedule.tiles)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=NETWORKS)
    parser.add_argument("--hardware", choices=PRESETS)
    parser.add_argument("--dataflow", choices=DATAFLOWS)
    parser.add_argument("--repeat", type=int, default=3, choices=range(1, 11),
                        metavar="N", help="runs per case, the fastest printed (1..10)")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    print(f"{'network':13s} {'hardware':11s} {'dataflow':9s} {'start-up':>8s} {'plan':>6s} "
          f"{'engine':>6s} {'sim':>6s} {'core':>5s} {'requests':>9s} {'req/s':>10s}"
          "   (CPU seconds)")
    worst = (0.0, "")
    for network in [args.network] if args.network else NETWORKS:
        for preset in [args.hardware] if args.hardware else PRESETS:
            for dataflow in [args.dataflow] if args.dataflow else DATAFLOWS:
                runs = [json.loads(subprocess.run(
                    [sys.executable, __file__, "--one", network, preset, dataflow],
                    capture_output=True, text=True, check=True).stdout)
                    for _ in range(args.repeat)]
                row = min(runs, key=lambda run: run["plan_s"] + run["engine_s"])
                simulation = row["plan_s"] + row["engine_s"]
                rate = row["requests"] / row["engine_s"] if row["engine_s"] else 0.0
                worst = max(worst, (simulation, f"{network} {preset} {dataflow}"))
                core = "-" if row["core_s"] is None else f"{row['core_s']:.2f}"
                print(f"{network:13s} {preset:11s} {dataflow:9s} {row['startup_s']:8.2f} "
                      f"{row['plan_s']:6.2f} {row['engine_s']:6.2f} {simulation:6.2f} "
                      f"{core:>5s} {row['requests']:9,d} {rate:10,.0f}", flush=True)
    print(f"slowest simulation: {worst[1]}, {worst[0]:.2f} s CPU (plan + engine)")


if __name__ == "__main__":
    main()
