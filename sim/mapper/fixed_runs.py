"""The fixed dataflows at their shipped options, counted part by part without their tiles.

``auto`` promises, for objective ``dram_bytes``, that no unit (:mod:`sim.mapper.units`) moves
more bytes under it than under any of these runs: ``layerwise``; ``tiled`` at tile 16 and 32;
``buffered``; ``full`` at tile 16 and 32 (halo reuse on, the feature-map room chosen, as
:mod:`sim.dataflow` chooses it). ``fused`` counts a group's tiles at its last layer, so it is
compared on network totals only and is not here. Each run's bytes are counted per part (a
layer, or a reordered block under its expansion layer) from the planners' address-only costs,
the same walks :mod:`sim.dataflow` makes before it makes the winner's tiles; a test compares
them with the tiles :func:`sim.dataflow.plan_schedule` makes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.config import ConfigError
from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout
from sim.techniques.buffering import feature_map_request_bytes, plan_residency, residency_room
from sim.techniques.layer_tiles import NOTHING_ON_CHIP, Residency
from sim.techniques.layerwise import PlanCache, layer_plans
from sim.techniques.reorder import Bottleneck
from sim.techniques.reordered_schedule import (
    plan_reorder,
    reorder_residency,
    reordered_bus_bytes,
)
from sim.techniques.tiling import tiled_layer_bus_bytes
from sim.workload.network import Network

SHIPPED_TILES = (16, 32)  # tile edges (output pixels) the tiled dataflows are compared at
HALO_REUSE = True  # the shipped default

# Bytes on the bus per part: a layer's name, or a reordered block's expansion layer's name.
PartBytes = dict[str, int]


@dataclass(frozen=True)
class FixedRun:
    """A fixed run's bytes per part, the feature maps it keeps on chip and the blocks it runs
    reordered (by name)."""

    parts: PartBytes
    resident: frozenset[str] = frozenset()
    reordered: frozenset[str] = frozenset()


def fixed_part_bytes(network: Network, hardware: HardwareSpec, layout: DramLayout,
                     dtype: DType) -> dict[str, FixedRun]:
    """Every fixed run that fits this hardware, by label (``layerwise``, ``tiled/16``, ...).
    ``layout`` is the one ``auto`` runs with; its memo is shared."""
    runs: dict[str, FixedRun] = {}
    cache: PlanCache = {}
    try:
        runs["layerwise"] = FixedRun(_layerwise_parts(network, hardware, layout,
                                                      NOTHING_ON_CHIP, cache))
    except ConfigError:
        pass
    for tile in SHIPPED_TILES:
        try:
            runs[f"tiled/{tile}"] = FixedRun({info.name: tiled_layer_bus_bytes(
                info, hardware, layout, tile, HALO_REUSE) for info in network.infos})
        except ConfigError:
            pass
    rooms = _rooms(network, hardware, dtype)

    def buffered_at(room: int) -> FixedRun:
        residency = plan_residency(network, hardware, room, dtype.bytes,
                                   dtype.accumulator_bits // 8)
        return FixedRun(_layerwise_parts(network, hardware, layout, residency, cache),
                        residency.on_chip)

    buffered = _least(rooms, buffered_at)
    if buffered is not None:
        runs["buffered"] = buffered
    for tile in SHIPPED_TILES:
        full = _least(rooms, lambda room, tile=tile: _full_run(
            network, hardware, layout, dtype, tile,
            *reorder_residency(network, hardware, dtype, room, layout.memo)))
        if full is not None:
            runs[f"full/{tile}"] = full
    return runs


def _rooms(network: Network, hardware: HardwareSpec, dtype: DType) -> list[int]:
    """The feature-map rooms (bytes) ``buffered`` and ``full`` choose from, smallest first."""
    _, size = residency_room(hardware)
    shape = network.input_shape
    most = size // (shape.height * shape.width * dtype.bytes)
    return [feature_map_request_bytes(network, channels, dtype.bytes)
            for channels in sorted({0, most // 4, most // 2, most})]


def _least(rooms: list[int], run_at: Callable[[int], FixedRun]) -> FixedRun | None:
    """The run at the room whose total is least (the smallest room among equals), as
    :mod:`sim.dataflow` chooses; None when the smallest room does not fit, and rooms that do
    not fit are passed over."""
    best: FixedRun | None = None
    for room in rooms:
        try:
            run = run_at(room)
        except ConfigError:
            if room == rooms[0]:
                return None
            continue
        if best is None or sum(run.parts.values()) < sum(best.parts.values()):
            best = run
    return best


def _layerwise_parts(network: Network, hardware: HardwareSpec, layout: DramLayout,
                     residency: Residency, cache: PlanCache) -> PartBytes:
    """Per layer, the bytes of its chosen layer-wise plan beside ``residency``."""
    plans = layer_plans(network, hardware, layout, residency, cache)
    return {info.name: plan.bus_bytes for info, plan in zip(network.infos, plans, strict=True)}


def reordered_bytes(plan, hardware: HardwareSpec, layout: DramLayout, residency: Residency
                    ) -> int:
    """The bus bytes of a reordered block's tiles (:func:`reordered_bus_bytes`), kept in the
    layout's memo (plans live in the memo too, so their ids stay unique; a plan's key holds
    whether the block's input and output are resident, all its transfers depend on)."""
    key = ("reordered bytes", id(plan))
    if key not in layout.memo:
        layout.memo[key] = reordered_bus_bytes(plan, layout, residency,
                                               hardware.dram.burst_bytes)
    return layout.memo[key]


def _full_run(network: Network, hardware: HardwareSpec, layout: DramLayout, dtype: DType,
             tile: int, blocks: list[Bottleneck], residency: Residency) -> FixedRun:
    """``full`` at ``tile`` beside ``residency``: a block reordered where that moves no more
    than its layers tiled (its bytes under its expansion layer), every other layer tiled."""
    parts: PartBytes = {}
    reordered: set[str] = set()
    names: set[str] = set()
    for block in blocks:
        plan = plan_reorder(block, hardware, dtype, residency, layout.memo)
        if plan is None:
            continue
        chunked = reordered_bytes(plan, hardware, layout, residency)
        tiled = sum(tiled_layer_bus_bytes(info, hardware, layout, tile, HALO_REUSE, residency)
                    for info in block.infos)
        if chunked <= tiled:
            parts[block.expand.name] = chunked
            reordered |= {info.name for info in block.infos}
            names.add(block.name)
    for info in network.infos:
        if info.name not in reordered:
            parts[info.name] = tiled_layer_bus_bytes(info, hardware, layout, tile, HALO_REUSE,
                                                     residency)
    return FixedRun(parts, residency.on_chip, frozenset(names))
