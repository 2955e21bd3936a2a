"""The layer-by-layer baseline: each layer reads its inputs and weights and writes its output.

Per layer the output is cut into row bands and the filters into blocks so the tiles fit the
buffers. When all weights fit beside a band they are loaded once; otherwise every band streams
all weight blocks again (the refetch this loop order implies). Among the band counts that fit,
the one that keeps the DRAM bus busy least is chosen: its traffic, or one burst per request when
its requests are smaller than that (channel slices go pixel by pixel); halos between bands are
refetched. Plans are compared by the bytes they put on the bus: every request moves whole
bursts, so channel slices stored pixel by pixel pay for the bursts they touch. Among equal plans,
the one with the fewest DRAM requests wins, then the one with the most tiles (up to 8), so loads
overlap compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.capacity import Budget
from sim.config import ConfigError
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout, Tile, request_count, schedule_burst_bytes
from sim.techniques.channel_blocks import k_blocked_tiles
from sim.techniques.layer_tiles import (
    NOTHING_ON_CHIP,
    Residency,
    full_region,
    input_region,
    is_channelwise,
    layer_geometry,
    plan_layer_tiles,
    region_bytes,
    sizes_for_pixels,
    tile_fits,
)
from sim.techniques.receptive import Region
from sim.workload.layers import FullyConnected, GlobalAvgPool
from sim.workload.network import LayerInfo, Network

MAX_OVERLAP_TILES = 8


@dataclass(frozen=True)
class LayerPlan:
    regions: tuple[Region, ...]
    filter_blocks: int
    traffic_bytes: int
    bus_floor_bytes: int  # at most what it puts on the bus: each request in whole bursts


def row_bands(info: LayerInfo, count: int) -> list[Region]:
    height, width = info.output_shape.height, info.output_shape.width
    edges = [height * i // count for i in range(count + 1)]
    return [Region(edges[i], edges[i + 1], 0, width)
            for i in range(count) if edges[i + 1] > edges[i]]


def plan_for_regions(info: LayerInfo, budget: Budget, dtype_bytes: int,
                     regions: list[Region], residency: Residency, burst_bytes: int = 1
                     ) -> LayerPlan | None:
    """The fewest filter blocks that make ``regions`` fit beside the layer's resident feature
    maps, with the traffic they imply and a floor under the bus bytes (each request rounded up
    to whole ``burst_bytes``)."""
    geometry = layer_geometry(info, dtype_bytes)
    on_chip = residency.on_chip
    windows = [input_region(info, r) for r in regions]
    sources = [shape for source, shape in zip(info.inputs, info.input_shapes, strict=True)
               if source not in on_chip]
    inputs = sum(w.pixels * shape.channels * dtype_bytes for shape in sources for w in windows)
    out_shape = info.output_shape
    stored = info.name not in on_chip
    stores = (sum(region_bytes(r, out_shape.channels, dtype_bytes) for r in regions)
              if stored else 0)
    largest_in, largest_out = max(w.pixels for w in windows), max(r.pixels for r in regions)
    channelwise = is_channelwise(info)
    max_blocks = (out_shape.channels if channelwise else geometry.filters) or 1
    for blocks in _block_counts(max_blocks):
        sizes = sizes_for_pixels(info, largest_in, largest_out, blocks, dtype_bytes, residency)
        if not tile_fits(budget, info, sizes, blocks, residency):
            continue
        weights = geometry.weight_bytes * (1 if blocks == 1 else len(regions))
        floor = _bus_floor(info, regions, windows, sources, blocks, stored, dtype_bytes,
                           burst_bytes)
        return LayerPlan(tuple(regions), blocks, inputs + weights + stores, floor)
    return None


def _whole(size: int, burst: int) -> int:
    return -(-size // burst) * burst


def _bus_floor(info: LayerInfo, regions: list[Region], windows: list[Region],
               sources: list, blocks: int, stored: bool, dtype_bytes: int, burst: int) -> int:
    """A floor under the bus bytes of a plan: every request it makes moves whole bursts."""
    geometry = layer_geometry(info, dtype_bytes)
    out_shape = info.output_shape
    channelwise = is_channelwise(info) and blocks > 1
    if channelwise:
        per = ceil(out_shape.channels / blocks)
        sliced = [min(per, out_shape.channels - b * per) for b in range(blocks)]
    elif blocks > 1:
        per = ceil(geometry.filters / blocks)
        sliced = [min(per, geometry.filters - b * per) * geometry.groups for b in range(blocks)]
    else:
        sliced = [out_shape.channels]

    def rows(region: Region, width: int, channels: int) -> int:
        if region.col0 == 0 and region.col1 == width:
            return _whole(region.pixels * channels * dtype_bytes, burst)
        return region.height * _whole(region.width * channels * dtype_bytes, burst)

    def pixels(region: Region, channels: list[int]) -> int:
        return region.pixels * sum(_whole(c * dtype_bytes, burst) for c in channels if c > 0)

    total = 0
    for shape in sources:
        for window in windows:
            total += (pixels(window, sliced) if channelwise
                      else rows(window, shape.width, shape.channels))
    if stored:
        for region in regions:
            total += (rows(region, out_shape.width, out_shape.channels) if blocks == 1
                      else pixels(region, sliced))
    if geometry.weight_bytes:
        block_weights = ([geometry.weight_bytes] if blocks == 1 else
                         [c * geometry.filter_bytes for c in sliced])
        repeats = 1 if blocks == 1 else len(regions)
        total += repeats * sum(_whole(w, burst) for w in block_weights if w > 0)
    return total


def _block_counts(max_blocks: int) -> list[int]:
    """Block counts from 1 up to ``max_blocks`` (one filter or channel per block), doubling,
    each one that splits ``max_blocks`` items into that many non-empty blocks."""
    counts = set()
    blocks = 1
    while blocks < max_blocks:
        counts.add(ceil(max_blocks / ceil(max_blocks / blocks)))
        blocks *= 2
    counts.add(max_blocks)
    return sorted(counts)


def choose_plan(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                candidates: list[list[Region]], residency: Residency) -> list[Tile]:
    """The tiles of the plan that keeps the DRAM bus busy least (whole bursts moved).

    Plans are tried in order of a floor under their bus bytes (each request rounded up to
    whole bursts); each is emitted and its bursts counted exactly, until no remaining plan's
    floor can beat the best. Among equal plans, the one with the fewest requests wins, then the
    one with the most tiles (up to 8), so loads overlap compute. A layer that fits no plan
    runs with its input channels blocked (:mod:`sim.techniques.channel_blocks`).
    """
    budget = Budget(hardware)
    burst = hardware.dram.burst_bytes
    plans = [plan for regions in candidates
             if (plan := plan_for_regions(info, budget, layout.dtype_bytes, regions, residency,
                                          burst))]
    if not plans:
        return blocked_or_refused(info, hardware, layout, candidates, residency)
    plans.sort(key=lambda plan: plan.bus_floor_bytes)
    best: tuple[tuple[int, int, int], LayerPlan, list[Tile]] | None = None
    for plan in plans:
        if best is not None and plan.bus_floor_bytes > best[0][0]:
            break
        tiles = plan_layer_tiles(info, hardware, layout, list(plan.regions), plan.filter_blocks,
                                 residency=residency)
        requests = request_count(tiles)
        key = (schedule_burst_bytes(tiles, burst), requests,
               -min(len(tiles), MAX_OVERLAP_TILES))
        if best is None or key < best[0]:
            best = (key, plan, tiles)
    assert best is not None
    return best[2]


def blocked_or_refused(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                       candidates: list[list[Region]], residency: Residency) -> list[Tile]:
    """The layer with its input channels blocked, or an error when even that does not fit."""
    tiles = k_blocked_tiles(info, hardware, layout, candidates, residency)
    if tiles is None:
        raise ConfigError(
            "--hardware", f"layer {info.name!r} does not fit the on-chip buffers even as one "
            "output pixel with one filter and one input channel at a time beside the feature "
            "maps kept on chip", field="buffers",
        )
    return tiles


def band_candidates(info: LayerInfo) -> list[list[Region]]:
    """Row bands of every height, then single rows cut into 2, 4, ... column pieces and
    finally single pixels (for buffers that cannot hold one whole output row)."""
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        return [[full_region(info)]]
    height, width = info.output_shape.height, info.output_shape.width
    heights = sorted({ceil(height / n) for n in range(1, height + 1)}, reverse=True)
    candidates = [row_bands(info, ceil(height / h)) for h in heights]
    counts = [2 ** i for i in range(1, width.bit_length()) if 2 ** i < width] + [width]
    for pieces in counts if width > 1 else []:
        edges = [width * j // pieces for j in range(pieces + 1)]
        candidates.append([Region(r, r + 1, edges[j], edges[j + 1])
                           for r in range(height) for j in range(pieces)
                           if edges[j + 1] > edges[j]])
    return candidates


PlanCache = dict[tuple, list[Tile]]


def layerwise_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout,
                       residency: Residency = NOTHING_ON_CHIP, cache: PlanCache | None = None
                       ) -> list[Tile]:
    """Each layer's best plan. ``cache`` (optional, one per network, hardware and layout)
    keeps the tiles of layers already planned with the same residency around them, so runs
    that differ only in far-away feature maps plan each layer once."""
    tiles: list[Tile] = []
    for info in network.infos:
        key = (info.name, frozenset(n for n in (*info.inputs, info.name)
                                    if n in residency.on_chip),
               residency.layer_bytes.get(info.name, 0), residency.buffer)
        if cache is not None and key in cache:
            tiles += cache[key]
            continue
        planned = choose_plan(info, hardware, layout, band_candidates(info), residency)
        if cache is not None:
            cache[key] = planned
        tiles += planned
    return tiles
