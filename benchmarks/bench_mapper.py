"""The mapper against the fixed dataflows: MobileNetV2-224, ResNet-18 and the lightweight CNN,
int8, on the three presets, objective ``dram_bytes``.

Per network and preset: the search's CPU seconds (one process, one core), the bytes ``auto``
puts on the DRAM bus, what it puts there with candidates ranked by bus bytes alone, without
comparing units ("bytes only"), the best fixed dataflow's (each at tile 16 and 32 with halo reuse,
the feature-map room chosen), and how many units move more under ``auto`` than under some fixed
dataflow (``fused`` counts a group at its last layer, so it is compared in the totals only;
the units are those of :mod:`sim.mapper.units`). The fixed runs' bytes here are counted from
their own tiles. Where ``auto`` finds no mapping without such a unit it keeps the mapping of
fewest bytes it found, and says which units the best mapping ranked by units first kept above
(a search, not a proof that none exists); the units are also compared with every layer
mapped by the search beside the fixed run's own resident maps and reordered blocks ("same
maps": units that move more there). Last, the worst layer's traffic / its own lower bound, with
the layers above 1.3x. Nothing is asserted.

    python benchmarks/bench_mapper.py [--networks mobilenet_v2,...] [--presets diannao,...]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.bounds import layer_lower_bound_bytes
from sim.dataflow import SimulationOptions
from sim.dtypes import DType
from sim.hardware import load_hardware
from sim.mapper.network_mapping import NetworkMapping, auto_schedule, mapped_schedule
from sim.mapper.report import fixed_schedules
from sim.mapper.search import search_layer
from sim.mapper.units import bytes_by_layer, compared_units, unit_bytes
from sim.schedule import DramLayout
from sim.techniques.buffering import plan_residency, residency_of
from sim.techniques.reorder import find_bottlenecks
from sim.techniques.reordered_schedule import reorder_residency
from sim.techniques.weight_storage import DENSE
from sim.workload.zoo import ZOO

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ("mobilenet_v2", "resnet18", "lightweight_cnn")
PRESETS = ("jetson_nano", "diannao", "eyeriss")


def fixed_runs(network, hardware):
    """(label, bytes by layer, schedule) of every fixed dataflow at its options that fits."""
    return [(label, bytes_by_layer(schedule.tiles, hardware.dram.burst_bytes), schedule)
            for label, schedule in fixed_schedules(network, hardware, SimulationOptions())]


def auto_beside(network, hardware, label, schedule):
    """Bytes by layer of every layer at its best mapping (``dram_bytes``) beside the fixed
    run's own resident maps, with the fixed run's reordered blocks; None when some layer has
    no mapping there."""
    layout = DramLayout(network, 1)
    dataflow = label.split("/")[0]
    if dataflow == "buffered":
        on_chip = plan_residency(network, hardware, schedule.fmap_bytes, 1, 4).on_chip
    elif dataflow == "full":
        on_chip = reorder_residency(network, hardware, DType.INT8, schedule.fmap_bytes,
                                    layout.memo)[1].on_chip
    else:
        on_chip = frozenset()
    blocks = [block for block in find_bottlenecks(network) if block.name in schedule.reordered]
    names = sorted(on_chip, key=lambda name: network[name].index)
    residency = residency_of(network, hardware, names, 1,
                             [(block.expand.index, block.infos[-1].index) for block in blocks])
    skipped = {info.name for block in blocks for info in block.infos}
    layers = []
    for info in network.infos:
        if info.name in skipped:
            continue
        choice = search_layer(info, hardware, layout, residency)
        if choice is None:
            return None
        layers.append(choice.mapping)
    mapping = NetworkMapping(network.name, hardware.name, "int8", "dram_bytes", tuple(names),
                             tuple(schedule.reordered), tuple(layers))
    tiles = mapped_schedule(network, hardware, mapping, layout, DType.INT8).tiles
    return bytes_by_layer(tiles, hardware.dram.burst_bytes)


def worse_units(units, auto, run):
    """The units that move more bytes in ``auto`` than in ``run`` (bytes by layer each)."""
    mine, theirs = unit_bytes(units, auto), unit_bytes(units, run)
    return [unit for unit in units if mine[unit] > theirs[unit]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--presets", default=",".join(PRESETS))
    args = parser.parse_args()
    print(f"{'network':16s} {'preset':12s} {'search s':>8s} {'auto MB':>8s} "
          f"{'bytes only MB':>13s} {'best fixed MB':>13s} {'(which)':12s} "
          f"{'units worse':>12s} {'same maps':>12s} "
          f"{'worst x bound':>13s} {'layers > 1.3x bound'}")
    for name in args.networks.split(","):
        network = ZOO[name].build()
        for preset in args.presets.split(","):
            hardware = load_hardware(ROOT / "configs" / "hardware" / f"{preset}.yaml")
            layout = DramLayout(network, 1)
            start = time.process_time()
            schedule = auto_schedule(network, hardware, layout, DType.INT8)
            seconds = time.process_time() - start
            auto = bytes_by_layer(schedule.tiles, hardware.dram.burst_bytes)
            least = auto_schedule(network, hardware, DramLayout(network, 1), DType.INT8,
                                  dominate=False)
            least_mb = sum(bytes_by_layer(least.tiles, hardware.dram.burst_bytes).values()) / 1e6
            runs = fixed_runs(network, hardware)
            best_label, best, _ = min(runs, key=lambda run: sum(run[1].values()))
            per_layer = [(label, run, fixed) for label, run, fixed in runs
                         if not label.startswith("fused")]
            units = compared_units(network, schedule.mapping.fused)
            worse = sorted({unit for _, run, _ in per_layer
                            for unit in worse_units(units, auto, run)},
                           key=list(units).index)
            beside_worse = set()
            plain_units = compared_units(network, ())
            for label, run, fixed in per_layer:
                beside = auto_beside(network, hardware, label, fixed)
                if beside is None:
                    beside_worse.add(f"{label}: no mapping")
                    continue
                beside_worse |= {f"{label}: {unit}"
                                 for unit in worse_units(plain_units, beside, run)}
            ratios = []
            for info in network.infos:
                bound = layer_lower_bound_bytes(info, hardware, 1, DENSE)
                if bound:
                    ratios.append((auto.get(info.name, 0) / bound, info.name))
            worst = max(ratios)
            above = [layer for ratio, layer in ratios if ratio > 1.3]
            shown = ", ".join(above[:4]) + (f" (+{len(above) - 4})" if len(above) > 4 else "")
            print(f"{name:16s} {preset:12s} {seconds:8.1f} {sum(auto.values()) / 1e6:8.3f} "
                  f"{least_mb:13.3f} {sum(best.values()) / 1e6:13.3f} {best_label:12s} "
                  f"{len(worse):12d} {len(beside_worse):12d} {worst[0]:7.2f} {worst[1]:>5s} "
                  f"{len(above)}: {shown}", flush=True)
            if schedule.units_left_above:
                print(f"{'':30s}no mapping without units above the fixed runs found; the best "
                      f"that ranks them first keeps {', '.join(schedule.units_left_above)}",
                      flush=True)
            if beside_worse:
                print(f"{'':30s}worse beside the same maps: {', '.join(sorted(beside_worse))}",
                      flush=True)
            if worse:
                mine = unit_bytes(units, auto)
                theirs = {label: unit_bytes(units, run) for label, run, _ in per_layer}
                shown = []
                for unit in worse[:6]:
                    label = min(theirs, key=lambda label: theirs[label][unit])
                    shown.append(f"{unit} {mine[unit]:,d} B ({label} {theirs[label][unit]:,d} B)")
                print(f"{'':30s}worse than a fixed dataflow: {', '.join(shown)}"
                      + (f" (+{len(worse) - 6})" if len(worse) > 6 else ""), flush=True)


if __name__ == "__main__":
    main()
