"""DRAM traffic against its lower bound: MobileNetV2-224 and ResNet-18, int8, every dataflow on
the three presets.

Per run: the network's requested DRAM bytes, the bytes in whole bursts, the network lower bound
(its compulsory traffic: input, weights and output once) and their ratio, the worst layer's
traffic / its own bound (a layer whose tensors stay on chip can be below 1), the peak on-chip
bytes against the buffers' total, and the seconds the run took. A schedule that cannot fit the
preset's buffers is printed with the reason. Nothing is asserted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.config import ConfigError
from sim.dataflow import DATAFLOWS, SimulationOptions
from sim.hardware import load_hardware
from sim.simulate import simulate
from sim.workload.zoo import mobilenet_v2, resnet18

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ("jetson_nano", "diannao", "eyeriss")


def main(presets: tuple[str, ...] = PRESETS) -> None:
    print(f"{'network':13s} {'preset':12s} {'dataflow':10s} {'DRAM MB':>8s} {'bursts MB':>9s} "
          f"{'bound MB':>8s} {'x bound':>7s} {'worst layer':>24s} {'on-chip B':>16s} {'s':>6s}")
    for network in (mobilenet_v2(), resnet18()):
        for preset in presets:
            hardware = load_hardware(ROOT / "configs" / "hardware" / f"{preset}.yaml")
            onchip = sum(b.size_bytes for b in hardware.buffers.declared().values())
            for dataflow in DATAFLOWS:
                start = time.perf_counter()
                try:
                    result = simulate(network, hardware, SimulationOptions(dataflow))
                except ConfigError as error:
                    print(f"{network.name:13s} {preset:12s} {dataflow:10s} does not fit: "
                          f"{error.message}")
                    continue
                seconds = time.perf_counter() - start
                totals = result["totals"]
                worst = max(result["layers"], key=lambda layer: layer["traffic_to_bound"])
                moved = totals["dram_read_bytes"] + totals["dram_write_bytes"]
                worst_text = f"{worst['name']} {worst['traffic_to_bound']:.2f}"
                print(f"{network.name:13s} {preset:12s} {dataflow:10s} {moved / 1e6:8.3f} "
                      f"{totals['dram_burst_bytes'] / 1e6:9.3f} "
                      f"{totals['lower_bound_bytes'] / 1e6:8.3f} "
                      f"{totals['traffic_to_bound']:7.2f} "
                      f"{worst_text:>24s} "
                      f"{totals['peak_onchip_bytes']:>7,}/{onchip:<8,} {seconds:6.1f}",
                      flush=True)


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or PRESETS)
