"""Tiling with overlap (seed 000, Sec. 3.1.1): T x T output tiles and their halos.

Each layer's output map is cut into T x T tiles (row-major); each tile loads its input window,
the exact receptive field including the halo it shares with its neighbours. With
``halo_reuse=False`` every tile fetches its whole window (the overlap is fetched twice); with
``halo_reuse=True`` the columns a tile shares with its left neighbour stay on chip and only the
new columns are fetched (rows shared with the tile above are fetched again). Weights stay on chip
for the whole layer when they fit beside a tile; otherwise each tile streams them in blocks.
A layer whose T x T tile does not fit the buffer even with one filter at a time is tiled with
T/2, T/4, ... instead (:func:`layer_tile_size` tells which), and one whose 1x1 tile does not fit
has its input channels blocked (:mod:`sim.techniques.channel_blocks`).
"""

from __future__ import annotations

from sim.capacity import Budget
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout, Tile, schedule_burst_bytes
from sim.techniques.channel_blocks import k_blocked_cost, k_blocked_plan
from sim.techniques.layer_tiles import (
    NOTHING_ON_CHIP,
    Residency,
    full_region,
    layer_tiles_bus_bytes,
    plan_layer_tiles,
)
from sim.techniques.layerwise import (
    LayerPlan,
    blocked_or_refused,
    plan_for_regions,
    refusal,
)
from sim.techniques.receptive import Region
from sim.workload.layers import FullyConnected, GlobalAvgPool
from sim.workload.network import LayerInfo, Network


def square_tiles(info: LayerInfo, tile: int) -> list[Region]:
    """T x T tiles of the layer's output, row-major; edge tiles are smaller."""
    height, width = info.output_shape.height, info.output_shape.width
    return [Region(r, min(r + tile, height), c, min(c + tile, width))
            for r in range(0, height, tile) for c in range(0, width, tile)]


def tile_candidates(info: LayerInfo, tile: int) -> list[list[Region]]:
    """T x T tiles, then T/2, T/4, ... (one region for FC and global pooling)."""
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        return [[full_region(info)]]
    return [square_tiles(info, tile >> shift) for shift in range(tile.bit_length())]


def layer_plan(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
               accumulator_bytes: int, tile: int, residency: Residency) -> LayerPlan | None:
    """The plan for the largest tile edge T, T/2, T/4, ... whose tiles fit the buffers, or
    None when not even a 1x1 tile with one filter fits."""
    budget = Budget.of(hardware)
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        return plan_for_regions(info, budget, dtype_bytes, accumulator_bytes,
                                [full_region(info)], residency)
    for shift in range(tile.bit_length()):  # made one at a time: the first that fits wins
        plan = plan_for_regions(info, budget, dtype_bytes, accumulator_bytes,
                                square_tiles(info, tile >> shift), residency)
        if plan is not None:
            return plan
    return None


def layer_tile_size(plan: LayerPlan) -> int:
    """The tile edge a plan uses (its first tile is a full T x T one)."""
    first = plan.regions[0]
    return max(first.height, first.width)


def _tiled_key(info: LayerInfo, tile: int, halo_reuse: bool, residency: Residency) -> tuple:
    """What a tiled layer depends on besides the layout: the layer, the tile edge, halo reuse
    and the feature maps on chip around it."""
    return (info.name, tile, halo_reuse,
            frozenset(n for n in (*info.inputs, info.name) if n in residency.on_chip),
            residency.layer_bytes.get(info.name, 0), residency.buffer, residency.resident(info))


def tiled_layer_bus_bytes(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                          tile: int, halo_reuse: bool, residency: Residency = NOTHING_ON_CHIP
                          ) -> int:
    """The bytes :func:`tiled_layer`'s tiles put on the DRAM bus (whole bursts), counted
    without making them (or from them, when they are made already); kept in the layout's
    memo like the tiles."""
    key = _tiled_key(info, tile, halo_reuse, residency)
    burst = hardware.dram.burst_bytes
    moved = layout.memo.get(("tiled layer bus", burst, *key))
    if moved is not None:
        return moved
    tiles = layout.memo.get(("tiled layer", *key))
    if tiles is not None:
        moved = schedule_burst_bytes(tiles, burst)
    else:
        plan = layer_plan(info, hardware, layout.dtype_bytes, layout.accumulator_bytes, tile,
                          residency)
        if plan is None:
            blocked = k_blocked_plan(info, hardware, layout, tile_candidates(info, tile),
                                     residency)
            if blocked is None:
                raise refusal(info)
            regions, filter_blocks, k_blocks = blocked
            moved = k_blocked_cost(info, layout, regions, filter_blocks, k_blocks, residency,
                                   burst)[0]
        else:
            moved = layer_tiles_bus_bytes(info, layout, list(plan.regions), plan.filter_blocks,
                                          halo_reuse, residency, burst)
    layout.memo[("tiled layer bus", burst, *key)] = moved
    return moved


def tiled_layer(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout, tile: int,
                halo_reuse: bool, residency: Residency = NOTHING_ON_CHIP) -> list[Tile]:
    """The tiles of one layer cut into T x T output tiles (smaller where T does not fit, with
    its input channels blocked where not even a 1x1 tile fits). The tiles are kept in the
    layout's memo under what they depend on (the layer, the tile edge, halo reuse and the
    feature maps on chip around it)."""
    key = ("tiled layer", *_tiled_key(info, tile, halo_reuse, residency))
    tiles = layout.memo.get(key)
    if tiles is None:
        plan = layer_plan(info, hardware, layout.dtype_bytes, layout.accumulator_bytes, tile,
                          residency)
        if plan is None:
            tiles = blocked_or_refused(info, hardware, layout, tile_candidates(info, tile),
                                       residency)
        else:
            tiles = plan_layer_tiles(info, hardware, layout, list(plan.regions),
                                     plan.filter_blocks, halo_reuse=halo_reuse,
                                     residency=residency)
        layout.memo[key] = tiles
    return list(tiles)


def tiled_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout, tile: int,
                   halo_reuse: bool, residency: Residency = NOTHING_ON_CHIP) -> list[Tile]:
    tiles: list[Tile] = []
    for info in network.infos:
        tiles += tiled_layer(info, hardware, layout, tile, halo_reuse, residency)
    return tiles
