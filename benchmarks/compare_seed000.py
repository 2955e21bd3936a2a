"""Seed 000's memory-access tables next to ours (lightweight CNN and ResNet-18, CIFAR-100).

Prints DRAM traffic (MB = 10^6 bytes) per dataflow, the tile-size and buffer-size ablations,
and energy per inference on the Jetson Nano preset, int8. Seed 000 does not say how it counts
"memory access"; ours is every byte moved between DRAM and the chip.
"""

from __future__ import annotations

from pathlib import Path

from sim.dataflow import SimulationOptions
from sim.hardware import load_hardware
from sim.simulate import simulate
from sim.workload.zoo import lightweight_cnn, resnet18_cifar

ROOT = Path(__file__).resolve().parents[1]
SEED_TABLE_4_1 = {"layerwise": 3.2, "tiled": 1.8, "buffered": 1.5, "full": 1.0}
SEED_RESNET18_MB = 12.4
SEED_TILES = {16: 1.2, 32: 1.0, 64: 1.8}
SEED_BUFFERS = {32: 1.4, 64: 1.0, 128: 0.9}
SEED_ENERGY_MJ = {"lightweight_cnn full": 2.1, "baseline": 6.5}
DEFAULT_TILE = 32
DEFAULT_BUFFER = 64


def run(network, hardware, dataflow: str, tile: int = DEFAULT_TILE,
        buffer_channels: int = DEFAULT_BUFFER) -> tuple[float, float]:
    """(DRAM MB, energy mJ) of one inference."""
    totals = simulate(network, hardware, SimulationOptions(
        dataflow, tile=tile, buffer_channels=buffer_channels))["totals"]
    megabytes = (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / 1e6
    return megabytes, totals["energy_pj"]["total"] / 1e9


def main() -> None:
    hardware = load_hardware(ROOT / "configs" / "hardware" / "jetson_nano.yaml")
    light = lightweight_cnn()
    resnet = resnet18_cifar(num_classes=100)
    print("Table 4.1: memory access (MB), lightweight CNN, int8, jetson_nano")
    print(f"{'dataflow':10s} {'ours MB':>8s} {'seed MB':>8s} {'ours mJ':>8s}")
    for dataflow, published in SEED_TABLE_4_1.items():
        megabytes, millijoules = run(light, hardware, dataflow)
        print(f"{dataflow:10s} {megabytes:8.3f} {published:8.1f} {millijoules:8.4f}")
    for dataflow in ("layerwise", "full"):
        megabytes, millijoules = run(resnet, hardware, dataflow)
        print(f"resnet18_cifar {dataflow:9s} {megabytes:8.3f} MB (seed {SEED_RESNET18_MB} MB, "
              f"baseline) {millijoules:8.4f} mJ")
    print("Table 5.1: tile size (full dataflow)")
    for tile, published in SEED_TILES.items():
        megabytes, _ = run(light, hardware, "full", tile=tile)
        print(f"  {tile:3d}x{tile:<3d} {megabytes:8.3f} MB (seed {published} MB)")
    print("Table 5.2: buffer size in channels (full dataflow)")
    for channels, published in SEED_BUFFERS.items():
        megabytes, _ = run(light, hardware, "full", buffer_channels=channels)
        print(f"  {channels:4d} ch {megabytes:8.3f} MB (seed {published} MB)")
    print(f"seed 000 energy per inference: {SEED_ENERGY_MJ}")


if __name__ == "__main__":
    main()
