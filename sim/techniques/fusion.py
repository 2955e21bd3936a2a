"""Layer fusion: several consecutive layers executed per spatial tile (fused-layer CNNs).

The network is cut where a single tensor crosses from one part to the next. Consecutive spatial
layers between such cuts form a fused group when one output tile's working set fits the buffer:
the group's input window, every intermediate region (exact receptive fields, so halos are
recomputed and their MACs counted) and the group's output tile, plus all of the group's weights,
which stay on chip for the whole group. Intermediate tensors never reach DRAM. Groups are grown
greedily from the front; layers that cannot be fused (FC, global pooling, or a single layer
whose tile does not fit) run as in the tiled dataflow.

Each fused tile is emitted as one schedule tile per layer (so per-layer records keep their
MACs, recompute included): the first carries the loads, the last the stores.
"""

from __future__ import annotations

from sim.hardware import HardwareSpec
from sim.mapping import tile_compute
from sim.schedule import DramLayout, Tile, Transfer
from sim.techniques.buffer_fit import fits
from sim.techniques.layer_tiles import NOTHING_ON_CHIP, layer_geometry, make_tile, plan_layer_tiles
from sim.techniques.receptive import Region, propagate, spatial_params
from sim.techniques.tiling import layer_plan, square_tiles
from sim.workload.layers import LayerError
from sim.workload.network import INPUT, LayerInfo, Network


def crossing(network: Network, position: int) -> set[str]:
    """Tensors made before layer ``position`` and read at or after it."""
    made = [INPUT] + [info.name for info in network.infos[:position]]
    return {name for name in made if network.last_use(name) >= position}


def _spatial(info: LayerInfo) -> bool:
    try:
        spatial_params(info)
    except LayerError:
        return False
    return True


def group_tiles(infos: list[LayerInfo], tile: int) -> list[dict[str, Region]]:
    """Per output tile of the group, the region of every tensor the group touches."""
    last = infos[-1]
    return [propagate(infos, last.name, region) for region in square_tiles(last, tile)]


def group_fits(network: Network, infos: list[LayerInfo], hardware: HardwareSpec, tile: int,
               dtype_bytes: int) -> bool:
    weights = sum(info.params for info in infos) * dtype_bytes
    for regions in group_tiles(infos, tile):
        held = sum(region.pixels * network.tensor_shape(name).channels * dtype_bytes
                   for name, region in regions.items())
        if not fits(hardware, held, weights, 0):
            return False
    return True


def fusion_groups(network: Network, hardware: HardwareSpec, tile: int, dtype_bytes: int
                  ) -> list[list[LayerInfo]]:
    """Greedy groups of consecutive layers; a group of one is not fused."""
    cuts = [c for c in range(1, len(network.infos) + 1)
            if crossing(network, c) == {network.infos[c - 1].name}]
    groups: list[list[LayerInfo]] = []
    start = 0
    while start < len(network.infos):
        best = start + 1
        if _spatial(network.infos[start]) and len(crossing(network, start)) == 1:
            for cut in cuts:
                if cut <= start:
                    continue
                candidate = list(network.infos[start:cut])
                if not all(_spatial(info) for info in candidate):
                    break
                if not group_fits(network, candidate, hardware, tile, dtype_bytes):
                    break
                best = cut
        groups.append(list(network.infos[start:best]))
        start = best
    return groups


def fused_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout, tile: int
                   ) -> list[Tile]:
    dtype_bytes = layout.dtype_bytes
    tiles: list[Tile] = []
    for group in fusion_groups(network, hardware, tile, dtype_bytes):
        if len(group) == 1:
            info = group[0]
            plan = layer_plan(info, hardware, dtype_bytes, tile, NOTHING_ON_CHIP)
            tiles += plan_layer_tiles(info, hardware, layout, list(plan.regions),
                                      plan.filter_blocks)
            continue
        tiles += _fused_group(group, hardware, layout, tile)
    return tiles


def _fused_group(group: list[LayerInfo], hardware: HardwareSpec, layout: DramLayout, tile: int
                 ) -> list[Tile]:
    dtype_bytes = layout.dtype_bytes
    names = {info.name for info in group}
    sources = sorted({s for info in group for s in info.inputs if s not in names})
    tiles: list[Tile] = []
    for index, regions in enumerate(group_tiles(group, tile)):
        loads: list[Transfer] = []
        for source in sources:
            loads += layout.region_transfers(source, regions[source], "ifmap")
        if index == 0:
            for info in group:
                loads += layout.weight_transfer(info.name, 0, info.params * dtype_bytes)
        for position, info in enumerate(group):
            region = regions.get(info.name)
            if region is None:
                continue
            geometry = layer_geometry(info, dtype_bytes)
            compute = (tile_compute(hardware.pe_array, region.pixels, geometry.k,
                                    geometry.filters, geometry.groups)
                       if geometry.filters else None)
            stores = (layout.region_transfers(info.name, region, "ofmap", write=True)
                      if position == len(group) - 1 else [])
            tiles.append(make_tile(info, loads if position == 0 else [], stores, compute,
                               region.pixels, info.output_shape.channels, dtype_bytes, hardware))
    return tiles
