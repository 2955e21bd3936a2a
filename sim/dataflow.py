"""Choosing a dataflow: options and the schedule of tiles they produce.

- ``layerwise``: the baseline (:mod:`sim.techniques.layerwise`).
- ``tiled``: T x T tiles with overlap, halos refetched or reused (:mod:`sim.techniques.tiling`).
- ``buffered``: layer-wise with feature maps kept on chip between layers, in room of B channels
  (at the input resolution) of the ``fmap`` or ``global`` buffer (:mod:`sim.techniques.buffering`).
- ``fused``: consecutive layers run per T x T tile of the group output, intermediates on chip,
  halos recomputed (:mod:`sim.techniques.fusion`).
- ``full``: tiled + buffered + reordered bottlenecks: every inverted-residual block whose
  reordered execution fits, and puts no more bytes on the bus than its layers tiled, runs a chunk
  of expansion channels at a time into an accumulator at accumulator width; its expansion and
  depthwise outputs (and, with a residual add, its projection output) never exist whole and
  never reach DRAM (:mod:`sim.techniques.reordered_schedule`). Other blocks run layer by
  layer.

Every byte a schedule keeps on chip is in a declared buffer (:mod:`sim.capacity`). With
``buffer_channels`` left unset (None) the room for feature maps is chosen: the candidate of
0, 1/4, 1/2 and all of what the buffer can hold (in whole channels) whose schedule puts the
fewest bytes on the DRAM bus.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import ceil
from typing import Any

from sim.collection import collection_paused
from sim.config import ConfigError
from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.mapper.network_mapping import (
    NetworkMapping,
    auto_schedule,
    mapped_schedule,
    mapping_to_dict,
)
from sim.mapper.search import OBJECTIVES
from sim.schedule import DramLayout, Tile
from sim.techniques.buffering import (
    check_request,
    feature_map_request_bytes,
    plan_residency,
    residency_room,
)
from sim.techniques.fusion import fused_schedule
from sim.techniques.layer_tiles import Residency
from sim.techniques.layerwise import PlanCache, layerwise_bus_bytes, layerwise_schedule
from sim.techniques.reordered_schedule import (
    ReorderPlan,
    plan_reorder,
    reorder_residency,
    reordered_bus_bytes,
    reordered_tiles,
)
from sim.techniques.tiling import tiled_layer, tiled_layer_bus_bytes, tiled_schedule
from sim.techniques.weight_storage import WeightStorage, parse_weight_storage
from sim.workload.network import Network

DATAFLOWS = ("layerwise", "tiled", "buffered", "fused", "full", "auto")
FIXED_DATAFLOWS = DATAFLOWS[:-1]
MAPPED = "mapped"  # a mapping given as data (``simulate --mapping``)


@dataclass(frozen=True)
class SimulationOptions:
    """How to run: dataflow, tile edge (output pixels), halo reuse, feature-map room in channels
    (None: chosen), dtype, weight storage; for ``auto`` the objective it minimizes, for
    ``mapped`` the mapping it runs."""

    dataflow: str = "layerwise"
    tile: int = 32
    halo_reuse: bool = True
    buffer_channels: int | None = None
    dtype: DType = DType.INT8
    weights: str = "dense"  # dense, centralized:B or zero-skip:F (sim.techniques.weight_storage)
    objective: str = "dram_bytes"
    mapping: NetworkMapping | None = None

    def __post_init__(self) -> None:
        if self.dataflow not in (*DATAFLOWS, MAPPED):
            raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not "
                             f"{self.dataflow!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")
        if (self.dataflow == MAPPED) != (self.mapping is not None):
            raise ValueError("a mapping runs as dataflow 'mapped', and only a mapping does")
        object.__setattr__(self, "dtype", DType(self.dtype))
        parse_weight_storage(self.weights)

    @property
    def weight_storage(self) -> WeightStorage:
        return parse_weight_storage(self.weights)

    def to_dict(self) -> dict[str, Any]:
        used = {"dataflow": self.dataflow, "dtype": str(self.dtype)}
        if self.weights != "dense":
            used["weights"] = self.weights
        if self.dataflow in ("tiled", "fused", "full"):
            used |= {"tile": self.tile, "halo_reuse": self.halo_reuse}
        if self.dataflow in ("buffered", "full"):
            used["buffer_channels"] = ("auto" if self.buffer_channels is None
                                       else self.buffer_channels)
        if self.dataflow == "auto":
            used["objective"] = self.objective
        if self.mapping is not None:
            used["mapping"] = mapping_to_dict(self.mapping)
        return used


@dataclass(frozen=True)
class Schedule:
    """The tiles of a run and what was chosen to make them: the feature-map room (channels and
    bytes, in ``buffer``) and the blocks that run reordered."""

    tiles: list[Tile]
    buffer_channels: int = 0
    fmap_bytes: int = 0
    fmap_buffer: str = ""
    reordered: tuple[str, ...] = ()
    mapping: NetworkMapping | None = None


def build_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions
                   ) -> list[Tile]:
    return plan_schedule(network, hardware, options).tiles


def check_dram_capacity(network: Network, hardware: HardwareSpec, layout: DramLayout,
                        mapping: NetworkMapping | None) -> None:
    """A :class:`ConfigError` about the hardware when a schedule of ``mapping`` (None: a fixed
    dataflow's) uses more DRAM than the DRAM holds (:meth:`DramLayout.used_bytes`: the
    network's tensors and weights, and the partial-sum scratch of the layers whose mapping
    spills them; only mappings spill)."""
    spilling = [entry.layer for entry in mapping.layers
                if entry.spills] if mapping is not None else []
    need, holds = layout.used_bytes(spilling), hardware.dram.capacity_bytes
    if need > holds:
        scratch = f" and {len(spilling)} layers' partial-sum scratch" if spilling else ""
        raise ConfigError(
            "--hardware", f"{network.name} takes {need:,} B of DRAM (its tensors and "
            f"weights{scratch}, each region rounded up to {layout.align_bytes:,} B), more than "
            f"the {holds:,} B the DRAM holds", field="dram.capacity_bytes",
            allowed=f"at least {need:,}")


def plan_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions
                  ) -> Schedule:
    """The schedule of ``network`` on ``hardware`` under ``options`` (made with the cyclic
    garbage collector paused, :mod:`sim.collection`)."""
    with collection_paused():
        return _plan_schedule(network, hardware, options)


def _plan_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions
                   ) -> Schedule:
    layout = DramLayout(network, options.dtype.bytes, weights=options.weight_storage,
                        accumulator_bytes=options.dtype.accumulator_bits // 8)
    schedule = _dataflow_schedule(network, hardware, options, layout)
    check_dram_capacity(network, hardware, layout, schedule.mapping)
    skipped = options.weight_storage.zero_fraction
    if not skipped:
        return schedule
    # Zero skipping: the PE array skips the MACs of zero weights.
    tiles = [tile._replace(macs=round(tile.macs * (1 - skipped)),
                           compute_cycles=ceil(tile.compute_cycles * (1 - skipped)))
             if tile.macs else tile for tile in schedule.tiles]
    return dataclasses.replace(schedule, tiles=tiles)


def _dataflow_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions,
                       layout: DramLayout) -> Schedule:
    if options.dataflow in ("auto", MAPPED):
        if options.mapping is not None:
            mapped = mapped_schedule(network, hardware, options.mapping, layout, options.dtype)
        else:
            mapped = auto_schedule(network, hardware, layout, options.dtype, options.objective)
        return Schedule(mapped.tiles, 0, mapped.fmap_bytes, mapped.fmap_buffer,
                        mapped.mapping.reordered, mapped.mapping)
    if options.dataflow == "fused":
        return Schedule(fused_schedule(network, hardware, layout, options.tile))
    if options.dataflow == "tiled":
        return Schedule(tiled_schedule(network, hardware, layout, options.tile,
                                       options.halo_reuse))
    if options.dataflow == "layerwise":
        return Schedule(layerwise_schedule(network, hardware, layout))
    dtype_bytes = options.dtype.bytes
    if options.buffer_channels is not None:
        room = check_request(network, hardware, options.buffer_channels, dtype_bytes)
        return _resident_schedule(network, hardware, options, layout,
                                  options.buffer_channels, room, {})
    buffer, size = residency_room(hardware)
    shape = network.input_shape
    most = size // (shape.height * shape.width * dtype_bytes)
    rooms = sorted({0, most // 4, most // 2, most})
    if options.dataflow == "buffered":
        return _best_buffered(network, hardware, layout, rooms, dtype_bytes)
    best: tuple[int, int, int, list, Residency] | None = None
    seen: list[Residency] = []
    for channels in rooms:
        room_bytes = feature_map_request_bytes(network, channels, dtype_bytes)
        try:
            # The blocks that can run reordered do not depend on the room; a room that keeps
            # the same maps on chip as a smaller one has its schedule and cannot win.
            blocks, residency = reorder_residency(network, hardware, options.dtype,
                                                  room_bytes, layout.memo)
            if residency in seen:
                continue
            seen.append(residency)
            moved = _full_bus_bytes(network, hardware, options, layout, blocks, residency)
        except ConfigError:
            if channels == 0:
                raise
            continue
        if best is None or moved < best[0]:
            best = (moved, channels, room_bytes, blocks, residency)
    assert best is not None
    return _full_schedule(network, hardware, options, layout, *best[1:])


def _best_buffered(network: Network, hardware: HardwareSpec, layout: DramLayout,
                   rooms: list[int], dtype_bytes: int) -> Schedule:
    """``buffered`` with the room (in channels, ascending) whose schedule puts the fewest
    bytes on the DRAM bus, the smallest among equals. Each room's bus bytes are counted from
    its layers' chosen plans; only the winner's tiles are made. A room that keeps the same
    maps on chip as a smaller one has its schedule, so it cannot win and is not planned."""
    buffer, _ = residency_room(hardware)
    cache: PlanCache = {}
    seen: list[Residency] = []
    best: tuple[int, int, int, Residency] | None = None
    for channels in rooms:
        room_bytes = feature_map_request_bytes(network, channels, dtype_bytes)
        try:
            residency = plan_residency(network, hardware, room_bytes, dtype_bytes,
                                       layout.accumulator_bytes)
            if residency in seen:
                continue
            seen.append(residency)
            moved = layerwise_bus_bytes(network, hardware, layout, residency, cache)
        except ConfigError:
            if channels == 0:
                raise
            continue
        if best is None or moved < best[0]:
            best = (moved, channels, room_bytes, residency)
    assert best is not None
    _, channels, room_bytes, residency = best
    tiles = layerwise_schedule(network, hardware, layout, residency, cache)
    return Schedule(tiles, channels, room_bytes, buffer or "")


def _resident_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions,
                       layout: DramLayout, channels: int, room_bytes: int, cache: PlanCache
                       ) -> Schedule:
    """``buffered`` or ``full`` with ``room_bytes`` of feature-map room; ``cache`` keeps layer
    plans across calls for the same network, hardware and layout."""
    dtype = options.dtype
    buffer, _ = residency_room(hardware)
    if options.dataflow == "buffered":
        residency = plan_residency(network, hardware, room_bytes, dtype.bytes,
                                   dtype.accumulator_bits // 8)
        tiles = layerwise_schedule(network, hardware, layout, residency, cache)
        return Schedule(tiles, channels, room_bytes, buffer or "")
    blocks, residency = reorder_residency(network, hardware, dtype, room_bytes, layout.memo)
    return _full_schedule(network, hardware, options, layout, channels, room_bytes, blocks,
                          residency)


def _block_choices(network: Network, hardware: HardwareSpec, options: SimulationOptions,
                   layout: DramLayout, blocks: list, residency: Residency
                   ) -> dict[int, tuple[ReorderPlan | None, int]]:
    """Per reorderable block (by its expansion layer's index): its reorder plan, or None
    where its layers run tiled, and the bytes the choice puts on the DRAM bus. A block is
    reordered only where that puts no more on the bus than its layers tiled (tiny buffers cut
    a reordered block into many bands, each streaming the weights again)."""
    burst = hardware.dram.burst_bytes
    chosen: dict[int, tuple[ReorderPlan | None, int]] = {}
    for block in blocks:
        plan = plan_reorder(block, hardware, options.dtype, residency, layout.memo)
        if plan is None:
            continue
        reordered = reordered_bus_bytes(plan, layout, residency, burst)
        tiled = sum(tiled_layer_bus_bytes(info, hardware, layout, options.tile,
                                          options.halo_reuse, residency)
                    for info in block.infos)
        chosen[block.expand.index] = (plan, reordered) if reordered <= tiled else (None, tiled)
    return chosen


def _full_bus_bytes(network: Network, hardware: HardwareSpec, options: SimulationOptions,
                    layout: DramLayout, blocks: list, residency: Residency) -> int:
    """The bytes :func:`_full_schedule` puts on the DRAM bus, counted without making the
    tiles of tiled layers (the same walk over the layers)."""
    chosen = _block_choices(network, hardware, options, layout, blocks, residency)
    blocks_by_index = {block.expand.index: block for block in blocks}
    total = 0
    skip_until = -1
    for info in network.infos:
        if info.index <= skip_until:
            continue
        if info.index in chosen:
            total += chosen[info.index][1]
            skip_until = blocks_by_index[info.index].infos[-1].index
            continue
        total += tiled_layer_bus_bytes(info, hardware, layout, options.tile,
                                       options.halo_reuse, residency)
    return total


def _full_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions,
                   layout: DramLayout, channels: int, room_bytes: int, blocks: list,
                   residency: Residency) -> Schedule:
    """``full`` with ``room_bytes`` of feature-map room: reorder the blocks that fit, keep
    what fits resident (``residency``), tile the rest."""
    buffer, _ = residency_room(hardware)
    chosen: dict[int, tuple[list[Tile], bool]] = {}
    for index, (plan, _) in _block_choices(network, hardware, options, layout, blocks,
                                           residency).items():
        if plan is not None:
            chosen[index] = (reordered_tiles(plan, hardware, layout, options.dtype, residency),
                             True)
            continue
        block = next(block for block in blocks if block.expand.index == index)
        chosen[index] = ([tile for info in block.infos for tile in tiled_layer(
            info, hardware, layout, options.tile, options.halo_reuse, residency)], False)
    tiles: list[Tile] = []
    skip_until = -1
    for info in network.infos:
        if info.index <= skip_until:
            continue
        if info.index in chosen:
            block_tiles = chosen[info.index][0]
            tiles += block_tiles
            skip_until = network[block_tiles[-1].layer].index
            continue
        tiles += tiled_layer(info, hardware, layout, options.tile, options.halo_reuse,
                             residency)
    names = tuple(block.name for block in blocks
                  if chosen.get(block.expand.index, ([], False))[1])
    return Schedule(tiles, channels, room_bytes, buffer or "", names)
