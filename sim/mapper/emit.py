"""A layer mapping's tiles, and whether they fit the declared buffers.

``input`` order is the planner's own tile emission (:func:`plan_layer_tiles`), ``output``
(input channels blocked) is :func:`sim.techniques.channel_blocks.emit_k_blocked`, ``weight``
with input channels blocked (partial sums spilled) is
:func:`sim.techniques.channel_blocks.emit_spilled`; the plain ``weight`` order is emitted
here: for each filter block, its weights are loaded once and held while every output tile
loads its input window, computes and stores its channel slice.
"""

from __future__ import annotations

import dataclasses
from math import ceil

from sim.capacity import Budget
from sim.hardware import HardwareSpec, PeArraySpec
from sim.mapper.grid import Grid, make_grid
from sim.mapper.layer_mapping import LayerMapping
from sim.mapping import tile_compute
from sim.schedule import DramLayout, Footprint, Tile
from sim.techniques.channel_blocks import (
    blockable,
    emit_k_blocked,
    emit_spilled,
    k_blocked_sizes,
    spilled_sizes,
)
from sim.techniques.layer_tiles import (
    Residency,
    by_buffer,
    is_channelwise,
    layer_geometry,
    make_tile,
    plan_layer_tiles,
    sizes_for_pixels,
    tile_windows,
    window_transfers,
)
from sim.techniques.receptive import Region, gathers
from sim.workload.network import LayerInfo


def canonical(info: LayerInfo, mapping: LayerMapping) -> LayerMapping:
    """The same mapping with the choices that change nothing for this layer normalized: one
    filter block has no loop order; channel slices (depthwise, pooling, element-wise) run the
    same in either order and take no halo reuse; a layer without weights has one order;
    ``gather`` is off where the kernel is no smaller than the stride (nothing to skip) and
    with spilled partial sums (dense windows), and a gathered window takes no halo reuse."""
    changes: dict = {}
    if mapping.gather and not gathers(info):
        changes["gather"] = False
    elif mapping.gather and mapping.halo_reuse:
        changes["halo_reuse"] = False
    most = (info.output_shape.channels if is_channelwise(info)
            else layer_geometry(info, 1).filters) or 1
    blocks = min(max(1, mapping.filter_blocks), most)
    if ceil(most / ceil(most / blocks)) != mapping.filter_blocks:  # no empty blocks
        changes["filter_blocks"] = blocks = ceil(most / ceil(most / blocks))
    if mapping.spills:
        if mapping.halo_reuse:
            changes["halo_reuse"] = False  # channel slices: no halo columns kept
        if mapping.gather:
            changes["gather"] = False  # spilled partial sums take dense windows
    elif mapping.stationary == "weight" and (blocks == 1 or is_channelwise(info)):
        changes["stationary"] = "input"
    if is_channelwise(info) and blocks > 1 and mapping.halo_reuse:
        changes["halo_reuse"] = False
    return dataclasses.replace(mapping, **changes) if changes else mapping


def valid(info: LayerInfo, mapping: LayerMapping) -> str | None:
    """Why ``mapping`` cannot run this layer (None when it can): block counts beyond what the
    layer has, input-channel blocks on a layer that does not reduce over channels, a gathered
    window on a layer whose kernel is no smaller than its stride."""
    problem = gather_problem(info, mapping)
    if problem:
        return problem
    geometry = layer_geometry(info, 1)
    most = (info.output_shape.channels if is_channelwise(info) else geometry.filters) or 1
    if not 1 <= mapping.filter_blocks <= most:
        return f"filter_blocks must be 1..{most} for layer {info.name!r}"
    if mapping.stationary == "output":
        if not blockable(info):
            return f"layer {info.name!r} does not reduce over input channels (stationary: output)"
        if mapping.input_channel_blocks < 2:
            return "stationary: output needs input_channel_blocks >= 2"
    elif mapping.spills:
        if not blockable(info):
            return (f"layer {info.name!r} does not reduce over input channels "
                    "(input_channel_blocks > 1)")
        if mapping.gather:
            return ("gather: true is not built with spilled partial sums (stationary: weight "
                    "with input_channel_blocks > 1); allowed: false")
    elif mapping.input_channel_blocks != 1:
        return "input_channel_blocks > 1 needs stationary: output or weight"
    if mapping.tile_rows < 1 or mapping.tile_cols < 1:
        return "tile rows and columns must be at least 1"
    return None


def gather_problem(info: LayerInfo, mapping: LayerMapping) -> str | None:
    """Why ``gather`` cannot be on for this layer (None when it can, or is off)."""
    if mapping.gather and not gathers(info):
        return (f"gather: true needs a layer whose kernel is smaller than its stride; layer "
                f"{info.name!r} reads every input row and column of its windows")
    return None


def overflow(info: LayerInfo, mapping: LayerMapping, hardware: HardwareSpec, dtype_bytes: int,
             accumulator_bytes: int, residency: Residency) -> str | None:
    """The name of the first declared buffer the mapping's tiles overfill, or None."""
    grid = make_grid(info, mapping.tile_rows, mapping.tile_cols, mapping.split)
    return overflow_for_grid(info, mapping, grid, hardware, dtype_bytes, accumulator_bytes,
                             residency)


Demand = tuple[dict[str, int], dict[str, int] | None]  # streamed, held once (per operand)


def demand(info: LayerInfo, mapping: LayerMapping, grid: Grid, pe: PeArraySpec,
           dtype_bytes: int, accumulator_bytes: int, residency: Residency) -> Demand | None:
    """What one tile of the mapping takes on chip, per operand: streamed (twice in a
    double buffer) and held once; None when the mapping cannot run beside this residency (its
    input resident while its input channels are blocked)."""
    window = grid.largest_gathered if mapping.gather else grid.largest_window
    return tile_demand(info, mapping.stationary, mapping.filter_blocks,
                       mapping.input_channel_blocks, window, grid.largest_output, pe,
                       dtype_bytes, accumulator_bytes, residency)


def tile_demand(info: LayerInfo, stationary: str, filter_blocks: int, input_channel_blocks: int,
                window: int, pixels: int, pe: PeArraySpec, dtype_bytes: int,
                accumulator_bytes: int, residency: Residency) -> Demand | None:
    """:func:`demand` of a tile whose largest input window has ``window`` pixels and whose
    largest output ``pixels``, in the given loop order and block counts: all a tile's demand
    depends on besides the layer and which of its maps are resident."""
    spills = stationary == "weight" and input_channel_blocks > 1
    if stationary == "output" or spills:
        if info.inputs[0] in residency.on_chip:
            return None
        sizes_of = spilled_sizes if spills else k_blocked_sizes
        return sizes_of(info, window, pixels, filter_blocks, input_channel_blocks, dtype_bytes,
                        accumulator_bytes)
    sizes = sizes_for_pixels(info, window, pixels, filter_blocks, dtype_bytes, residency, pe,
                             accumulator_bytes)
    if filter_blocks <= 1 or stationary == "weight" and not is_channelwise(info):
        return {"ifmap": sizes.window, "ofmap": sizes.output}, {"weight": sizes.weights}
    if is_channelwise(info):
        return {"ifmap": sizes.window, "weight": sizes.weights, "ofmap": sizes.output}, None
    return {"weight": sizes.weights, "ofmap": sizes.output}, {"ifmap": sizes.window}


def overflow_for_grid(info: LayerInfo, mapping: LayerMapping, grid: Grid,
                      hardware: HardwareSpec, dtype_bytes: int, accumulator_bytes: int,
                      residency: Residency) -> str | None:
    """:func:`overflow` for the mapping's already-built ``grid``."""
    needs = demand(info, mapping, grid, hardware.pe_array, dtype_bytes, accumulator_bytes,
                   residency)
    if needs is None:
        return hardware.buffers.name_for("ifmap")
    return Budget.of(hardware).overflow(*needs, residency.layer_bytes.get(info.name, 0))


def resident_room(info: LayerInfo, mapping: LayerMapping, grid: Grid, hardware: HardwareSpec,
                  dtype_bytes: int, accumulator_bytes: int, residency: Residency
                  ) -> int | None:
    """The most resident feature-map bytes the mapping's tiles fit beside (None when they fit
    beside none): it fits exactly where ``residency.layer_bytes`` of the layer is at most
    this."""
    needs = demand(info, mapping, grid, hardware.pe_array, dtype_bytes, accumulator_bytes,
                   residency)
    return None if needs is None else Budget.of(hardware).resident_room(*needs)


def emit(info: LayerInfo, mapping: LayerMapping, hardware: HardwareSpec, layout: DramLayout,
         residency: Residency) -> list[Tile]:
    """The tiles of ``mapping`` in execution order (fit is checked by :func:`overflow`)."""
    regions = mapping.regions(info)
    if mapping.stationary == "output":
        return emit_k_blocked(info, hardware, layout, regions, mapping.filter_blocks,
                              mapping.input_channel_blocks, residency,
                              info.name in residency.on_chip, gather=mapping.gather)
    if mapping.spills:
        return emit_spilled(info, hardware, layout, regions, mapping.filter_blocks,
                            mapping.input_channel_blocks, residency)
    if mapping.stationary == "weight" and mapping.filter_blocks > 1 and not is_channelwise(info):
        return _weight_stationary(info, mapping, hardware, layout, residency, regions)
    return plan_layer_tiles(info, hardware, layout, regions, mapping.filter_blocks,
                            halo_reuse=mapping.halo_reuse, residency=residency,
                            gather=mapping.gather)


def _weight_stationary(info: LayerInfo, mapping: LayerMapping, hardware: HardwareSpec,
                       layout: DramLayout, residency: Residency, regions: list[Region]
                       ) -> list[Tile]:
    dtype_bytes = layout.dtype_bytes
    buffers = hardware.buffers
    in_buffer, weight_buffer, out_buffer = (buffers.name_for(op)
                                            for op in ("ifmap", "weight", "ofmap"))
    geometry = layer_geometry(info, dtype_bytes)
    blocks = mapping.filter_blocks
    block_filters = ceil(geometry.filters / blocks)
    grid = make_grid(info, mapping.tile_rows, mapping.tile_cols, mapping.split)
    window = grid.largest_gathered if mapping.gather else grid.largest_window
    sizes = sizes_for_pixels(info, window, grid.largest_output, mapping.filter_blocks,
                             dtype_bytes, residency, hardware.pe_array, layout.accumulator_bytes)
    resident = residency.resident(info)
    stored = info.name not in residency.on_chip
    tiles: list[Tile] = []
    for block in range(blocks):
        first_filter = block * block_filters
        filters = max(0, min(block_filters, geometry.filters - first_filter))
        if filters == 0:
            continue
        weight_bytes = filters * geometry.filter_bytes * geometry.groups
        for index, (region, windows) in enumerate(tile_windows(
                info, regions, residency, mapping.halo_reuse, mapping.gather)):
            loads = [transfer for source, fetch in windows.items()
                     for transfer in window_transfers(layout, source, fetch)]
            if index == 0:
                loads += layout.weight_transfer(
                    info.name, first_filter * geometry.filter_bytes * geometry.groups,
                    weight_bytes)
            compute = tile_compute(hardware.pe_array, region.pixels, geometry.k, filters,
                                   geometry.groups)
            first_channel = first_filter * geometry.groups
            stores = (layout.channel_transfers(info.name, region, first_channel,
                                               first_channel + filters * geometry.groups,
                                               "ofmap", write=True) if stored else [])
            footprint = Footprint(
                loaded=by_buffer((in_buffer, sizes.window)),
                produced=by_buffer((out_buffer, sizes.output)),
                held=by_buffer((weight_buffer, sizes.weights)), group=f"{info.name}@{block}",
                resident=resident)
            tiles.append(make_tile(info, loads, stores, compute, region.pixels,
                                   info.output_shape.channels, dtype_bytes,
                                   layout.accumulator_bytes, hardware, footprint))
    return tiles
