"""The layer-by-layer baseline: each layer reads its inputs and weights and writes its output.

Per layer the output is cut into row bands and the filters into blocks so the tiles fit the
buffers. When all weights fit beside a band they are loaded once; otherwise every band streams
all weight blocks again (the refetch this loop order implies). Among the band counts that fit,
the one that keeps the DRAM bus busy least is chosen: its traffic, or one burst per request when
its requests are smaller than that (channel slices go pixel by pixel); halos between bands are
refetched. Among equal plans, the one with the fewest DRAM requests wins, then the one with the
most tiles (up to 8), so loads overlap compute.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.config import ConfigError
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout, Tile
from sim.techniques.buffer_fit import fits
from sim.techniques.layer_tiles import (
    NOTHING_ON_CHIP,
    Residency,
    full_region,
    input_region,
    is_channelwise,
    layer_geometry,
    plan_layer_tiles,
    region_bytes,
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
    requests: int  # DRAM requests it makes, about: sliced channels go pixel by pixel


def row_bands(info: LayerInfo, count: int) -> list[Region]:
    height, width = info.output_shape.height, info.output_shape.width
    edges = [height * i // count for i in range(count + 1)]
    return [Region(edges[i], edges[i + 1], 0, width)
            for i in range(count) if edges[i + 1] > edges[i]]


def plan_for_regions(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
                     regions: list[Region], residency: Residency) -> LayerPlan | None:
    """The fewest filter blocks that make ``regions`` fit, with the traffic they imply."""
    geometry = layer_geometry(info, dtype_bytes)
    on_chip = residency.on_chip
    inputs = [
        sum(region_bytes(input_region(info, r), shape.channels, dtype_bytes)
            for source, shape in zip(info.inputs, info.input_shapes, strict=True)
            if source not in on_chip)
        for r in regions
    ]
    outputs = [0 if info.name in on_chip else region_bytes(r, info.output_shape.channels,
                                                           dtype_bytes) for r in regions]
    largest_in, largest_out = max(inputs), max(outputs)
    stores = sum(outputs)
    channelwise = is_channelwise(info)
    max_blocks = (info.output_shape.channels if channelwise else geometry.filters) or 1
    for blocks in _block_counts(max_blocks):
        # With several filter blocks each block's output channels are stored after the block,
        # so only one block's share of the output tile is on chip at a time; depthwise blocks
        # also take only their channels of the input.
        in_tile = ceil(largest_in / blocks) if channelwise else largest_in
        if fits(hardware, in_tile, ceil(geometry.weight_bytes / blocks),
                ceil(largest_out / blocks)):
            weights = geometry.weight_bytes * (1 if blocks == 1 else len(regions))
            requests = (len(regions) if blocks == 1
                        else blocks * sum(region.pixels for region in regions))
            return LayerPlan(tuple(regions), blocks, sum(inputs) + weights + stores, requests)
    return None


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


def choose_plan(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
                candidates: list[list[Region]], residency: Residency) -> LayerPlan:
    plans = [plan for regions in candidates
             if (plan := plan_for_regions(info, hardware, dtype_bytes, regions, residency))]
    if not plans:
        raise ConfigError(
            "--hardware", f"layer {info.name!r} does not fit the on-chip buffers even as one "
            "output row with one filter at a time", field="buffers",
        )
    # Every request occupies the DRAM bus for at least one burst, so a plan of many tiny
    # requests (channel slices stored pixel by pixel) moves more than its bytes.
    burst = hardware.dram.burst_bytes
    least = min(_bus_bytes(plan, burst) for plan in plans)
    cheapest = [plan for plan in plans if _bus_bytes(plan, burst) == least]
    return min(cheapest, key=lambda plan: (
        plan.requests, -min(len(plan.regions) * plan.filter_blocks, MAX_OVERLAP_TILES)))


def _bus_bytes(plan: LayerPlan, burst_bytes: int) -> int:
    """Bytes the plan keeps the DRAM bus busy for, about: its traffic, or one burst per
    request when its requests are smaller than a burst."""
    return max(plan.traffic_bytes, plan.requests * burst_bytes)


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


def layerwise_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout,
                       residency: Residency = NOTHING_ON_CHIP) -> list[Tile]:
    tiles: list[Tile] = []
    for info in network.infos:
        plan = choose_plan(info, hardware, layout.dtype_bytes, band_candidates(info), residency)
        tiles += plan_layer_tiles(info, hardware, layout, list(plan.regions), plan.filter_blocks,
                                  residency=residency)
    return tiles
