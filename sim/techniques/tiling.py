"""Tiling with overlap (seed 000, Sec. 3.1.1): T x T output tiles and their halos.

Each layer's output map is cut into T x T tiles (row-major); each tile loads its input window,
the exact receptive field including the halo it shares with its neighbours. With
``halo_reuse=False`` every tile fetches its whole window (the overlap is fetched twice); with
``halo_reuse=True`` the columns a tile shares with its left neighbour stay on chip and only the
new columns are fetched (rows shared with the tile above are fetched again). Weights stay on chip
for the whole layer when they fit beside a tile; otherwise each tile streams them in blocks.
A layer whose T x T tile does not fit the buffer even with one filter at a time is tiled with
T/2, T/4, ... instead (:func:`layer_tile_size` tells which).
"""

from __future__ import annotations

from sim.capacity import Budget
from sim.config import ConfigError
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout, Tile
from sim.techniques.layer_tiles import (
    NOTHING_ON_CHIP,
    Residency,
    full_region,
    plan_layer_tiles,
)
from sim.techniques.layerwise import LayerPlan, plan_for_regions
from sim.techniques.receptive import Region
from sim.workload.layers import FullyConnected, GlobalAvgPool
from sim.workload.network import LayerInfo, Network


def square_tiles(info: LayerInfo, tile: int) -> list[Region]:
    """T x T tiles of the layer's output, row-major; edge tiles are smaller."""
    height, width = info.output_shape.height, info.output_shape.width
    return [Region(r, min(r + tile, height), c, min(c + tile, width))
            for r in range(0, height, tile) for c in range(0, width, tile)]


def layer_plan(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int, tile: int,
               residency: Residency) -> LayerPlan:
    """The plan for the largest tile edge T, T/2, T/4, ... whose tiles fit the buffers."""
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        candidates = [[full_region(info)]]
    else:
        edges = [tile >> shift for shift in range(tile.bit_length())]
        candidates = [square_tiles(info, edge) for edge in edges]
    budget = Budget(hardware)
    for regions in candidates:
        plan = plan_for_regions(info, budget, dtype_bytes, regions, residency)
        if plan is not None:
            return plan
    raise ConfigError("--hardware", f"layer {info.name!r} does not fit the on-chip buffers even "
                      "as a 1x1 tile with one filter at a time beside the feature maps kept on "
                      "chip", field="buffers")


def layer_tile_size(plan: LayerPlan) -> int:
    """The tile edge a plan uses (its first tile is a full T x T one)."""
    first = plan.regions[0]
    return max(first.height, first.width)


def tiled_layer(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout, tile: int,
                halo_reuse: bool, residency: Residency = NOTHING_ON_CHIP) -> list[Tile]:
    """The tiles of one layer cut into T x T output tiles (smaller where T does not fit)."""
    plan = layer_plan(info, hardware, layout.dtype_bytes, tile, residency)
    return plan_layer_tiles(info, hardware, layout, list(plan.regions), plan.filter_blocks,
                            halo_reuse=halo_reuse, residency=residency)


def tiled_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout, tile: int,
                   halo_reuse: bool, residency: Residency = NOTHING_ON_CHIP) -> list[Tile]:
    tiles: list[Tile] = []
    for info in network.infos:
        tiles += tiled_layer(info, hardware, layout, tile, halo_reuse, residency)
    return tiles
