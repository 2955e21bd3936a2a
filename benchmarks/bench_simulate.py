"""Wall time of `simulate` with the cycle-level engine: MobileNetV2-224 and ResNet-18.

Prints seconds per network and the slowest layers; nothing is asserted.
"""

from __future__ import annotations

import time
from pathlib import Path

from sim.dataflow import SimulationOptions, build_schedule
from sim.hardware import load_hardware
from sim.pipeline import run_pipeline
from sim.workload.zoo import mobilenet_v2, resnet18

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    hardware = load_hardware(ROOT / "configs" / "hardware" / "jetson_nano.yaml")
    for network in (mobilenet_v2(), resnet18()):
        for dataflow in ("layerwise", "full"):
            options = SimulationOptions(dataflow, tile=16)
            start = time.perf_counter()
            tiles = build_schedule(network, hardware, options)
            planned = time.perf_counter()
            result = run_pipeline(tiles, hardware)
            done = time.perf_counter()
            requests = sum(len(t.loads) + len(t.stores) for t in tiles)
            print(f"{network.name:14s} {dataflow:9s} schedule {planned - start:6.2f} s, "
                  f"engine {done - planned:6.2f} s, {len(tiles):5d} tiles, "
                  f"{requests:7d} DRAM requests, {result.cycles:,} cycles")
            per_layer = []
            for info in network.infos:
                layer_tiles = [t for t in tiles if t.layer == info.name]
                began = time.perf_counter()
                run_pipeline(layer_tiles, hardware)
                per_layer.append((time.perf_counter() - began, info.name))
            slowest = ", ".join(f"{name} {seconds * 1e3:.0f} ms"
                                for seconds, name in sorted(per_layer, reverse=True)[:3])
            print(f"{'':24s} slowest layers alone: {slowest}")


if __name__ == "__main__":
    main()
