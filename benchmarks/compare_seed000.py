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
        buffer_channels: int | None = DEFAULT_BUFFER) -> dict:
    """The totals of one inference, with the feature-map room the run used."""
    result = simulate(network, hardware, SimulationOptions(
        dataflow, tile=tile, buffer_channels=buffer_channels))
    return {**result["totals"], "room": result["feature_map_room"]}


def describe(totals: dict) -> str:
    """DRAM MB requested and in whole bursts, traffic / lower bound, peak on-chip bytes and
    energy."""
    moved = (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / 1e6
    return (f"{moved:8.3f} {totals['dram_burst_bytes'] / 1e6:9.3f} "
            f"{totals['traffic_to_bound']:7.2f} {totals['peak_onchip_bytes']:>9,} "
            f"{totals['energy_pj']['total'] / 1e9:8.4f}")


COLUMNS = f"{'ours MB':>8s} {'bursts MB':>9s} {'x bound':>7s} {'on-chip B':>9s} {'ours mJ':>8s}"


def main() -> None:
    hardware = load_hardware(ROOT / "configs" / "hardware" / "jetson_nano.yaml")
    light = lightweight_cnn()
    resnet = resnet18_cifar(num_classes=100)
    print("Table 4.1: memory access (MB), lightweight CNN, int8, jetson_nano (B = 64 channels)")
    print(f"{'dataflow':10s} {'seed MB':>8s} {COLUMNS}")
    for dataflow, published in SEED_TABLE_4_1.items():
        print(f"{dataflow:10s} {published:8.1f} {describe(run(light, hardware, dataflow))}")
    for dataflow in ("buffered", "full"):
        totals = run(light, hardware, dataflow, buffer_channels=None)
        print(f"{dataflow + ' (room chosen: ' + str(totals['room']['channels']) + ' ch)':28s} "
              f"{describe(totals)}")
    for dataflow in ("layerwise", "full"):
        totals = run(resnet, hardware, dataflow, buffer_channels=None)
        print(f"resnet18_cifar {dataflow:9s} (seed {SEED_RESNET18_MB} MB, baseline) "
              f"{describe(totals)}")
    print("Table 5.1: tile size (full dataflow, B = 64)")
    for tile, published in SEED_TILES.items():
        print(f"  {tile:3d}x{tile:<3d} seed {published:4.1f} MB  "
              f"{describe(run(light, hardware, 'full', tile=tile))}")
    print("Table 5.2: buffer size in channels (full dataflow, T = 32)")
    for channels, published in SEED_BUFFERS.items():
        print(f"  {channels:4d} ch seed {published:4.1f} MB  "
              f"{describe(run(light, hardware, 'full', buffer_channels=channels))}")
    print(f"seed 000 energy per inference: {SEED_ENERGY_MJ}")


if __name__ == "__main__":
    main()
