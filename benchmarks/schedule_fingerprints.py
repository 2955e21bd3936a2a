"""Fingerprints of schedules: one SHA-256 per case of every tile the planner makes, in order.

Two checkouts that print the same fingerprint for a case plan the same schedule tile for tile
(loads, stores, MACs, cycles, SRAM bytes, footprints) and choose the same feature-map room,
reordered blocks and mapping: run it on both and compare the outputs (`diff`) to show a
change to the planners moved nothing. The cases: MobileNetV2-224, ResNet-18 and the
lightweight CNN on the three presets under every dataflow and `auto`, MobileNetV2 tiled and
fused with 8 and 16 pixel tiles on Jetson Nano and DianNao, ResNet-18 `auto` on DianNao by
energy and by latency, and MobileNetV2 with zero skipping (65 in all; about 3 minutes).
Nothing is asserted.

    python benchmarks/schedule_fingerprints.py
"""

from __future__ import annotations

import hashlib

from sim.dataflow import DATAFLOWS, SimulationOptions, plan_schedule
from sim.hardware import load_hardware
from sim.presets import hardware_path
from sim.workload.io import resolve_network

NETWORKS = ("mobilenet_v2", "resnet18", "lightweight_cnn")
PRESETS = ("jetson_nano", "diannao", "eyeriss")


def cases() -> list[tuple[str, str, SimulationOptions]]:
    """(network, preset, options) of every case, in the order printed."""
    listed = [(network, preset, SimulationOptions(dataflow)) for network in NETWORKS
              for preset in PRESETS for dataflow in DATAFLOWS]
    for tile in (8, 16):
        for dataflow in ("tiled", "fused"):
            for preset in ("diannao", "jetson_nano"):
                listed.append(("mobilenet_v2", preset,
                               SimulationOptions(dataflow, tile=tile, halo_reuse=tile == 8)))
    for objective in ("energy", "latency"):
        listed.append(("resnet18", "diannao", SimulationOptions("auto", objective=objective)))
    listed.append(("mobilenet_v2", "diannao",
                   SimulationOptions("layerwise", weights="zero-skip:0.5")))
    return listed


def fingerprint(network_name: str, preset: str, options: SimulationOptions) -> str:
    """The SHA-256 of the schedule's tiles (their text, in order) and what was chosen."""
    network = resolve_network(network_name, resolution=None, num_classes=None, width_mult=None)
    schedule = plan_schedule(network, load_hardware(hardware_path(preset)), options)
    digest = hashlib.sha256()
    for tile in schedule.tiles:
        digest.update(repr(tile).encode())
    digest.update(repr((schedule.buffer_channels, schedule.fmap_bytes, schedule.fmap_buffer,
                        schedule.reordered, schedule.mapping)).encode())
    return digest.hexdigest()


def main() -> None:
    for network_name, preset, options in cases():
        used = " ".join(f"{key}={value}" for key, value in options.to_dict().items())
        print(f"{network_name:15s} {preset:12s} {used:60s} "
              f"{fingerprint(network_name, preset, options)}")


if __name__ == "__main__":
    main()
