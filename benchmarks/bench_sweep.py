"""Design points per second of a MobileNetV2-224 sweep with the cycle-level engine, on 1 and 2
worker processes (a fresh store each time, so every point runs). Nothing is asserted."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sim.sweep.runner import run_sweep
from sim.sweep.spec import load_sweep
from sim.sweep.store import ResultsStore

SWEEP = """name: bench
base: {network: mobilenet_v2, hardware: configs/hardware/jetson_nano.yaml, dataflow: full}
grid:
  dataflow: [buffered, full]
  technique.tile: [16, 32]
  technique.buffer_channels: [32, 64]
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "bench.yaml"
        config.write_text(SWEEP)
        _, points = load_sweep(config)
        for workers in (1, 2):
            store = ResultsStore(Path(folder) / f"workers{workers}")
            start = time.perf_counter()
            ran = run_sweep(points, store, "local", workers=workers)
            seconds = time.perf_counter() - start
            store.close()
            print(f"{workers} worker(s): {ran} MobileNetV2-224 points in {seconds:.1f} s, "
                  f"{ran / seconds:.2f} points/s")


if __name__ == "__main__":
    main()
