"""The units ``auto`` is compared with the fixed dataflows on, and the bytes each moves.

A unit is a layer, or all layers of an inverted-residual block together (running a block
reordered moves traffic between its layers, and a reordered block's tiles are not split by
layer where their bytes are counted), or all layers of a segment ``auto`` fuses together (a
segment and the blocks it overlaps make one unit). Every unit is a union of whole blocks and
whole segments, so bytes counted per part (a layer, a block, a segment) under any one of its
layers sum to the unit's bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sim.mapper.fixed_runs import FixedRun
from sim.mapper.fused_segments import FusedSegment
from sim.schedule import Tile, transfer_bursts
from sim.techniques.reorder import Bottleneck, find_bottlenecks
from sim.workload.network import Network


def bytes_by_layer(tiles: list[Tile], burst_bytes: int) -> dict[str, int]:
    """Bus bytes (whole bursts) of each layer's tiles."""
    moved: dict[str, int] = defaultdict(int)
    for tile in tiles:
        moved[tile.layer] += burst_bytes * sum(transfer_bursts(t, burst_bytes)
                                               for t in (*tile.loads, *tile.stores))
    return moved


def compared_units(network: Network, fused: Iterable[FusedSegment],
                   blocks: list[Bottleneck] | None = None) -> dict[str, list[str]]:
    """Each unit's label and its layers' names, in network order (see the module docstring);
    ``blocks`` are the network's inverted-residual blocks when the caller has them."""
    names = [info.name for info in network.infos]
    unit_of = {name: name for name in names}
    for block in find_bottlenecks(network) if blocks is None else blocks:
        for info in block.infos:
            unit_of[info.name] = block.name
    for segment in fused:
        members = [info.name for info in segment.infos(network)]
        merged = {unit_of[name] for name in members}
        label = f"{segment.first}..{segment.last}"
        for name in names:
            if name in members or unit_of[name] in merged:
                unit_of[name] = label
    units: dict[str, list[str]] = {}
    for name in names:
        units.setdefault(unit_of[name], []).append(name)
    return units


def unit_bytes(units: dict[str, list[str]], per_part: dict[str, int]) -> dict[str, int]:
    """Each unit's bytes: the sum of its layers' entries in ``per_part`` (absent counts 0)."""
    return {unit: sum(per_part.get(name, 0) for name in layers)
            for unit, layers in units.items()}


def fixed_minimum(units: dict[str, list[str]], runs: Iterable[dict[str, int]]
                  ) -> dict[str, int]:
    """Each unit's fewest bytes under any of ``runs`` (bytes per part of each fixed run)."""
    least: dict[str, int] = {}
    for run in runs:
        for unit, moved in unit_bytes(units, run).items():
            least[unit] = min(least.get(unit, moved), moved)
    return least


def units_above(units: dict[str, list[str]], moved: dict[str, int],
                least: dict[str, int]) -> list[str]:
    """The units whose bytes in ``moved`` (per part) exceed ``least`` (per unit), in order."""
    return [unit for unit, value in unit_bytes(units, moved).items()
            if value > least.get(unit, value)]


class FixedMinimum:
    """The fewest bytes any of a set of fixed runs moves on each unit, the units of a candidate
    mapping that move more, and the runs that move less there (the units depend on the
    candidate's fused segments)."""

    def __init__(self, network: Network, runs: dict[str, FixedRun]) -> None:
        self.network = network
        self.runs = runs
        self.blocks = find_bottlenecks(network)
        self._by_fused: dict[tuple, tuple[dict[str, list[str]], dict[str, dict[str, int]],
                                          dict[str, int]]] = {}

    def _units(self, fused: tuple[FusedSegment, ...]
               ) -> tuple[dict[str, list[str]], dict[str, dict[str, int]], dict[str, int]]:
        """The units, each run's bytes per unit and the fewest per unit."""
        if fused not in self._by_fused:
            units = compared_units(self.network, fused, self.blocks)
            per_run = {label: unit_bytes(units, run.parts) for label, run in self.runs.items()}
            self._by_fused[fused] = (units, per_run, fixed_minimum(
                units, (run.parts for run in self.runs.values())))
        return self._by_fused[fused]

    def units_above(self, fused: tuple[FusedSegment, ...], per_part: dict[str, int]
                    ) -> list[str]:
        """The units (with these fused segments) whose bytes in ``per_part`` exceed every
        fixed run's bytes on that unit."""
        units, _, least = self._units(fused)
        return units_above(units, per_part, least)

    def layers_of(self, fused: tuple[FusedSegment, ...], unit: str) -> list[str]:
        """The layers of one unit."""
        return self._units(fused)[0][unit]

    def least_run(self, fused: tuple[FusedSegment, ...], unit: str) -> FixedRun:
        """The run that moves the fewest bytes on ``unit`` (the first such in run order)."""
        _, per_run, least = self._units(fused)
        return next(self.runs[label] for label, moved in per_run.items()
                    if moved[unit] == least[unit])
