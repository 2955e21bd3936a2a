"""Layer fusion: several consecutive layers executed per spatial tile (fused-layer CNNs).

The network is cut where a single tensor crosses from one part to the next. Consecutive spatial
layers between such cuts form a fused group when one output tile's working set fits the buffer:
the group's input window, every intermediate region (exact receptive fields, so halos are
recomputed and their MACs counted) and the group's output tile (twice in a double buffer: the
next tile loads beside it), the running sums of the layer computing (its layers run one after
another; :func:`sim.techniques.layer_tiles.running_sum_bytes`), plus all of the group's
weights, which stay on chip for the whole group. Intermediate tensors never reach DRAM. Groups
are grown greedily from the front; layers that cannot be fused (FC, global pooling, or a single
layer whose tile does not fit) run as in the tiled dataflow.

Each fused tile is emitted as one schedule tile per layer (so per-layer records keep their
MACs, recompute included): the first carries the loads, the last the stores.
"""

from __future__ import annotations

from sim.capacity import Budget
from sim.hardware import HardwareSpec, PeArraySpec
from sim.mapping import tile_compute
from sim.schedule import DramLayout, Footprint, Tile, Transfer
from sim.techniques.layer_tiles import (
    NOTHING_ON_CHIP,
    Residency,
    by_buffer,
    layer_geometry,
    make_tile,
    running_sum_bytes,
)
from sim.techniques.receptive import Region, propagate, spatial_params
from sim.techniques.tiling import square_tiles, tiled_layer
from sim.workload.layers import LayerError
from sim.workload.network import INPUT, LayerInfo, Network


def crossing(network: Network, position: int) -> set[str]:
    """Tensors made before layer ``position`` and read at or after it."""
    made = [INPUT] + [info.name for info in network.infos[:position]]
    return {name for name in made if network.last_use(name) >= position}


def is_spatial(info: LayerInfo) -> bool:
    """Does the layer map output regions to input regions (not FC or global pooling)?"""
    try:
        spatial_params(info)
    except LayerError:
        return False
    return True


def group_tiles(infos: list[LayerInfo], tile: int) -> list[dict[str, Region]]:
    """Per output tile of the group, the region of every tensor the group touches."""
    last = infos[-1]
    return [propagate(infos, last.name, region) for region in square_tiles(last, tile)]


def fused_running_sum_bytes(infos: list[LayerInfo], pixels: dict[str, int], pe: PeArraySpec,
                            dtype_bytes: int, accumulator_bytes: int) -> int:
    """The most running-sum bytes one layer of a fused tile holds while it computes (the
    layers compute one after another); ``pixels``: each layer's output pixels in the tile."""
    return max((running_sum_bytes(info, pe, pixels[info.name], layer_geometry(info, 1).filters,
                                  dtype_bytes, accumulator_bytes)
                for info in infos if info.name in pixels), default=0)


def tile_sizes(network: Network, infos: list[LayerInfo], regions: dict[str, Region],
               dtype_bytes: int, pe: PeArraySpec, accumulator_bytes: int,
               residency: Residency = NOTHING_ON_CHIP) -> tuple[int, int, int]:
    """(input window, intermediates, output tile) bytes of one fused tile; inputs and an
    output kept resident take no tile room. The intermediates include the running sums
    (:func:`fused_running_sum_bytes`)."""
    names = {info.name for info in infos}
    last = infos[-1].name

    def size(name: str) -> int:
        return regions[name].pixels * network.tensor_shape(name).channels * dtype_bytes

    window = sum(size(name) for name in regions
                 if name not in names and name not in residency.on_chip)
    intermediates = sum(size(name) for name in regions if name in names and name != last)
    intermediates += fused_running_sum_bytes(
        infos, {name: region.pixels for name, region in regions.items()}, pe, dtype_bytes,
        accumulator_bytes)
    return window, intermediates, 0 if last in residency.on_chip else size(last)


def group_fits(network: Network, infos: list[LayerInfo], hardware: HardwareSpec, tile: int,
               dtype_bytes: int, accumulator_bytes: int,
               residency: Residency = NOTHING_ON_CHIP) -> bool:
    """Does every fused tile fit: its input window in the ifmap buffer, its intermediates and
    output in the ofmap buffer (each twice when double-buffered, the next tile's beside it),
    and the group's weights once, beside the feature maps resident at any of its layers?"""
    budget = Budget.of(hardware)
    weights = sum(info.params for info in infos) * dtype_bytes
    resident = max(residency.layer_bytes.get(info.name, 0) for info in infos)
    for regions in group_tiles(infos, tile):
        window, intermediates, output = tile_sizes(network, infos, regions, dtype_bytes,
                                                   hardware.pe_array, accumulator_bytes,
                                                   residency)
        if not budget.fits({"ifmap": window, "ofmap": intermediates + output},
                           {"weight": weights}, resident):
            return False
    return True


def fusion_groups(network: Network, hardware: HardwareSpec, tile: int, dtype_bytes: int,
                  accumulator_bytes: int) -> list[list[LayerInfo]]:
    """Greedy groups of consecutive layers; a group of one is not fused."""
    cuts = [c for c in range(1, len(network.infos) + 1)
            if crossing(network, c) == {network.infos[c - 1].name}]
    groups: list[list[LayerInfo]] = []
    start = 0
    while start < len(network.infos):
        best = start + 1
        if is_spatial(network.infos[start]) and len(crossing(network, start)) == 1:
            for cut in cuts:
                if cut <= start:
                    continue
                candidate = list(network.infos[start:cut])
                if not all(is_spatial(info) for info in candidate):
                    break
                if not group_fits(network, candidate, hardware, tile, dtype_bytes,
                                  accumulator_bytes):
                    break
                best = cut
        groups.append(list(network.infos[start:best]))
        start = best
    return groups


def fused_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout, tile: int
                   ) -> list[Tile]:
    dtype_bytes = layout.dtype_bytes
    tiles: list[Tile] = []
    for group in fusion_groups(network, hardware, tile, dtype_bytes, layout.accumulator_bytes):
        if len(group) == 1:
            tiles += tiled_layer(group[0], hardware, layout, tile, halo_reuse=False)
            continue
        tiles += fused_group_tiles(group, hardware, layout, tile)
    return tiles


def fused_group_tiles(group: list[LayerInfo], hardware: HardwareSpec, layout: DramLayout,
                      tile: int, residency: Residency = NOTHING_ON_CHIP) -> list[Tile]:
    """The tiles of one fused group at T x T output tiles (fit is checked by
    :func:`group_fits`); inputs kept resident are not loaded, a resident output is not
    stored."""
    dtype_bytes = layout.dtype_bytes
    buffers = hardware.buffers
    in_buffer, weight_buffer, out_buffer = (buffers.name_for(op)
                                            for op in ("ifmap", "weight", "ofmap"))
    names = {info.name for info in group}
    sources = sorted({s for info in group for s in info.inputs
                      if s not in names and s not in residency.on_chip})
    weights = sum(info.params for info in group) * dtype_bytes
    group_name = f"fused {group[0].name}..{group[-1].name}"
    tiles: list[Tile] = []
    for index, regions in enumerate(group_tiles(group, tile)):
        window, intermediates, output = tile_sizes(layout.network, group, regions, dtype_bytes,
                                                   hardware.pe_array, layout.accumulator_bytes,
                                                   residency)
        held = by_buffer((in_buffer, window), (out_buffer, intermediates))
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
            last = position == len(group) - 1
            stores = (layout.region_transfers(info.name, region, "ofmap", write=True)
                      if last and info.name not in residency.on_chip else [])
            footprint = Footprint(
                produced=by_buffer((out_buffer, output)) if last else {},
                held=held, group=f"{group_name} tile {index}",
                shared=by_buffer((weight_buffer, weights)), shared_by=group_name,
                resident=residency.resident(info))
            tiles.append(make_tile(info, loads if position == 0 else [], stores, compute,
                                   region.pixels, info.output_shape.channels, dtype_bytes,
                                   layout.accumulator_bytes, hardware, footprint))
    return tiles
