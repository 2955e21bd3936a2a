"""Compute cycles of ``auto`` against SCALE-Sim's fold model, per layer, on SCALE-Sim's own
ResNet-18 and AlexNet topologies with its ``scale.cfg``, ``google.cfg`` and ``eyeriss.cfg``.

SCALE-Sim's files are not part of this repository: pass a checkout of scale-sim-v3 (its
``topologies/conv_nets/`` and ``configs/``). Each topology is imported with ``edgeaccel import
scalesim`` (hardware from the config), every layer runs alone under ``--dataflow auto`` with
objective ``latency`` and with ``dram_bytes``, and its compute cycles are divided by the fold
model of the whole layer on the same array (``sim.mapping.systolic_cycles``, SCALE-Sim's
formula). Every layer above 1.2x is listed with three figures that say why: the fewest compute
cycles of any mapping in the mapper's space that fits the buffers (``fits``), the floor under
every mapping that fits the output buffer (``floor``, :mod:`sim.mapper.cycle_floor`; above
1.2x, the buffers alone keep the layer from the fold model), both over the fold model, and,
under ``latency``, whether the layer is DRAM-bound (its cycles exceed its compute cycles by
more than 5 %: more, smaller tiles then hide loads behind compute, at the price of array
fills). Nothing is asserted.

    python benchmarks/bench_mapper_cycles.py --scalesim PATH/TO/scale-sim-v3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from sim.dataflow import SimulationOptions
from sim.hardware import load_hardware
from sim.importers.topology import read_topology_yaml
from sim.mapper.cycle_floor import ws_cycle_floor
from sim.mapper.search import estimate_cycles, layer_space
from sim.mapping import systolic_cycles
from sim.schedule import DramLayout
from sim.simulate import simulate
from sim.techniques.layer_tiles import Residency, layer_geometry

TOPOLOGIES = ("Resnet18.csv", "alexnet.csv")
CONFIGS = ("scale.cfg", "google.cfg", "eyeriss.cfg")
OBJECTIVE_RUNS = ("latency", "dram_bytes")


def fold_cycles(info, pe) -> int:
    geometry = layer_geometry(info, 1)
    pixels = info.output_shape.height * info.output_shape.width
    return geometry.groups * systolic_cycles(pe.dataflow, pe.rows, pe.cols, pixels, geometry.k,
                                             geometry.filters)


def fewest_cycles(network, hardware) -> int:
    """The fewest compute cycles of any mapping of the network's one layer that fits."""
    info = network.infos[0]
    layout = DramLayout(network, 1, align_bytes=hardware.dram.page_bytes)
    return min(estimate_cycles(info, mapping, grid, hardware)
               for _, mapping, grid in layer_space(info, hardware, layout, Residency()))


def _floor(network, hardware, fold: int) -> str:
    """``, floor R``: the floor under every mapping that fits, over the fold model (int8)."""
    floor = ws_cycle_floor(network.infos[0], hardware, 1, 4)
    return "" if floor is None else f", floor {floor / fold:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scalesim", type=Path, help="scale-sim-v3 checkout")
    args = parser.parse_args()
    if args.scalesim is None:
        print("bench_mapper_cycles: pass --scalesim PATH, a checkout of "
              "github.com/scalesim-project/scale-sim-v3 (its topologies and configs)")
        return
    work = Path(tempfile.mkdtemp())
    print(f"{'topology':12s} {'config':12s} {'objective':10s} {'fold cycles':>12s} "
          f"{'auto cycles':>12s} {'ratio':>6s} {'worst layer':>20s} {'layers > 1.2x'}")
    for topology in TOPOLOGIES:
        for config in CONFIGS:
            topo_yaml, hw_yaml = work / f"{topology}.yaml", work / f"{config}.yaml"
            subprocess.run([sys.executable, "-m", "sim.cli", "import", "scalesim",
                            str(args.scalesim / "topologies" / "conv_nets" / topology),
                            "--out", str(topo_yaml), "--config",
                            str(args.scalesim / "configs" / config), "--hardware-out",
                            str(hw_yaml)], check=True, capture_output=True)
            layers = read_topology_yaml(topo_yaml)
            hardware = load_hardware(hw_yaml)
            for objective in OBJECTIVE_RUNS:
                reference = total = 0
                ratios = []
                for network in layers.networks:
                    info = network.infos[0]
                    result = simulate(network, hardware,
                                      SimulationOptions("auto", objective=objective))
                    cycles = result["totals"]["compute_cycles"]
                    fold = fold_cycles(info, hardware.pe_array)
                    reference += fold
                    total += cycles
                    ratios.append((cycles / fold, info.name, network, fold,
                                   result["totals"]["cycles"] > 1.05 * cycles))
                worst = max(ratios, key=lambda item: item[0])
                above = [f"{name} {ratio:.2f} (fits {fewest_cycles(network, hardware) / fold:.2f}"
                         f"{_floor(network, hardware, fold)}"
                         f"{', DRAM-bound' if bound and objective == 'latency' else ''})"
                         for ratio, name, network, fold, bound in ratios if ratio > 1.2]
                print(f"{topology:12s} {config:12s} {objective:10s} {reference:12,d} "
                      f"{total:12,d} {total / reference:6.2f} {worst[1]:>13s} {worst[0]:6.2f} "
                      f"{len(above)}: {', '.join(above if objective == 'latency' else above[:3])}",
                      flush=True)


if __name__ == "__main__":
    main()
