"""Input-channel blocking: a layer whose smallest tile does not fit runs its reduction in blocks.

A convolution or fully connected layer whose input window for one output pixel (or whose one
filter) does not fit the buffers splits its reduction: for each output region and each block of
filters, the input channels are taken ``c`` at a time (a fully connected layer takes ``c``
consecutive input features). Each step loads its slice of the input window and the matching
slice of the block's weights and adds into partial sums kept on chip at accumulator width
(int32 for int8) until the last slice; then the outputs are requantized and stored. The
partial sums never leave the chip; the input window is loaded once per filter block.

Weights of a blocked layer are laid out offline in the order the steps read them (they are
static), so each step's weight slice is one contiguous DRAM request.
"""

from __future__ import annotations

from math import ceil

from sim.capacity import Budget
from sim.hardware import HardwareSpec
from sim.mapping import TileCompute, tile_compute
from sim.schedule import DramLayout, Footprint, Tile, Transfer, psum_name
from sim.techniques.layer_tiles import (
    Residency,
    by_buffer,
    input_region,
    layer_geometry,
    make_tile,
)
from sim.techniques.receptive import Region, gathered_window
from sim.workload.layers import ConvLayer, FullyConnected
from sim.workload.network import LayerInfo


def _counts(total: int) -> list[int]:
    """Block counts 1, 2, 4, ... up to ``total`` (one item per block)."""
    counts = {total}
    count = 1
    while count < total:
        counts.add(count)
        count *= 2
    return sorted(counts)


def blockable(info: LayerInfo) -> bool:
    """Dense convolutions and fully connected layers reduce over input channels."""
    layer = info.layer
    if isinstance(layer, FullyConnected):
        return True
    return isinstance(layer, ConvLayer) and info.gemm[2] == 1


def reduction(info: LayerInfo) -> tuple[int, int]:
    """(items split into blocks, reduction length per item): input channels and kh * kw for a
    convolution, input features and 1 for a fully connected layer."""
    if isinstance(info.layer, FullyConnected):
        return info.input_shapes[0].elements, 1
    channels = info.input_shapes[0].channels
    k, _, groups, _ = info.gemm  # k = kh * kw * channels / groups
    return channels, k * groups // channels


def k_blocked_tiles(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                    candidates: list[list[Region]], residency: Residency) -> list[Tile] | None:
    """The tiles of the first candidate (largest regions first) that fits with some number of
    filter and input-channel blocks, the one of least DRAM traffic; None when none fits."""
    plan = k_blocked_plan(info, hardware, layout, candidates, residency)
    if plan is None:
        return None
    regions, filter_blocks, k_blocks = plan
    return emit_k_blocked(info, hardware, layout, regions, filter_blocks, k_blocks, residency,
                          info.name in residency.on_chip)


def k_blocked_plan(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                   candidates: list[list[Region]], residency: Residency
                   ) -> tuple[list[Region], int, int] | None:
    """(regions, filter blocks, input-channel blocks) that :func:`k_blocked_tiles` emits."""
    if not blockable(info) or info.inputs[0] in residency.on_chip:
        return None
    budget = Budget.of(hardware)
    dtype_bytes = layout.dtype_bytes
    geometry = layer_geometry(info, dtype_bytes)
    items, _ = reduction(info)
    resident = residency.layer_bytes.get(info.name, 0)
    accumulator_bytes = layout.accumulator_bytes
    for regions in candidates:
        window = max(input_region(info, r).pixels for r in regions)
        pixels = max(r.pixels for r in regions)
        best = None
        for filter_blocks in _counts(geometry.filters):
            for k_blocks in _counts(items):
                if k_blocks == 1:
                    continue  # not blocked: the ordinary planners already tried it
                streamed, held = k_blocked_sizes(info, window, pixels, filter_blocks, k_blocks,
                                                 dtype_bytes, accumulator_bytes)
                if budget.overflow(streamed, held, resident) is not None:
                    continue
                inputs = sum(input_region(info, r).pixels for r in regions) \
                    * info.input_shapes[0].channels * dtype_bytes
                if isinstance(info.layer, FullyConnected):
                    inputs = items * dtype_bytes
                traffic = inputs * filter_blocks + geometry.weight_bytes * len(regions)
                if best is None or traffic < best[0]:
                    best = (traffic, filter_blocks, k_blocks)
                break  # more input blocks only make more, smaller requests
        if best is not None:
            return regions, best[1], best[2]
    return None


def _steps(info: LayerInfo, regions: list[Region], filter_blocks: int, k_blocks: int,
           dtype_bytes: int):
    """Each step of a blocked layer in order: (region index, region, filter block, first
    filter, filters, first item, end item, is the last step of its sums), and the weight
    slice it reads (first byte, bytes): weights are laid out by (filter block, input block),
    so a step's slice is contiguous and the slices add up to the layer's weights exactly."""
    geometry = layer_geometry(info, dtype_bytes)
    items, _ = reduction(info)
    per_block = ceil(items / k_blocks)
    block_filters = ceil(geometry.filters / filter_blocks)
    for index, region in enumerate(regions):
        for block in range(filter_blocks):
            first_filter = block * block_filters
            filters = min(block_filters, geometry.filters - first_filter)
            if filters <= 0:
                continue
            block_low = geometry.weight_bytes * first_filter // geometry.filters
            block_bytes = (geometry.weight_bytes * (first_filter + filters)
                           // geometry.filters - block_low)
            for k in range(k_blocks):
                first = k * per_block
                end = min(items, first + per_block)
                if end <= first:
                    continue
                weights = (block_low + block_bytes * first // items,
                           block_bytes * end // items - block_bytes * first // items)
                last = k == k_blocks - 1 or end == items
                yield (index, region, block, first_filter, filters, first, end, last, k == 0,
                       weights)


def k_blocked_cost(info: LayerInfo, layout: DramLayout, regions: list[Region],
                   filter_blocks: int, k_blocks: int, residency: Residency, burst_bytes: int
                   ) -> tuple[int, int, int]:
    """(bytes on the bus, DRAM requests, tiles) of :func:`emit_k_blocked`, counted from
    addresses without making the tiles.

    The steps are regions x filter blocks x input-channel slices (:func:`_steps`), and each
    cost depends on two of the three: a window slice is read once per filter block, a weight
    slice once per region, a region's block is stored once after its last slice. So each is
    counted once and multiplied (the same sum as step by step, in another order)."""
    dtype_bytes = layout.dtype_bytes
    source = info.inputs[0]
    stored = info.name not in residency.on_chip
    items, _ = reduction(info)
    blocks = filter_passes(info, filter_blocks, dtype_bytes)
    slices = k_slices(items, k_blocks)
    bursts = requests = 0
    # Weight slices: the same for every region.
    more = layout.weight_costs(info.name, (weight_slice(block_low, block_bytes, first, end, items)
                                           for _, _, block_low, block_bytes in blocks
                                           for first, end in slices), burst_bytes)
    bursts += more[0] * len(regions)
    requests += more[1] * len(regions)
    # Input slices: the same for every filter block.
    if isinstance(info.layer, FullyConnected):
        base = layout.tensor_base(source)
        for first, end in slices:
            address = base + first * dtype_bytes
            size = (end - first) * dtype_bytes
            bursts += ((-(-(address + size) // burst_bytes) - address // burst_bytes)
                       * len(regions) * len(blocks))
            requests += len(regions) * len(blocks)
    else:
        for region in regions:
            window = input_region(info, region)
            for first, end in slices:
                more = layout.channel_cost(source, window, first, end, burst_bytes)
                bursts += more[0] * len(blocks)
                requests += more[1] * len(blocks)
    # Stores: each region's block once, after its last slice.
    if stored:
        for region in regions:
            for first_filter, filters, _, _ in blocks:
                channels = ((0, info.output_shape.channels) if filter_blocks == 1
                            else (first_filter, first_filter + filters))
                more = layout.channel_cost(info.name, region, *channels, burst_bytes)
                bursts += more[0]
                requests += more[1]
    return bursts * burst_bytes, requests, len(regions) * len(blocks) * len(slices)


def k_blocked_sizes(info: LayerInfo, window: int, pixels: int, filter_blocks: int,
                    k_blocks: int, dtype_bytes: int, accumulator_bytes: int
                    ) -> tuple[dict[str, int], dict[str, int]]:
    """(streamed, held) bytes per operand of the largest step, for a largest input window of
    ``window`` pixels and output tile of ``pixels``: an input-channel slice of the window and
    of one filter block's weights stream, and so does the output tile the last step
    produces; the block's partial sums are held."""
    geometry = layer_geometry(info, dtype_bytes)
    items, _ = reduction(info)
    if isinstance(info.layer, FullyConnected):
        window = 1
    filters = ceil(geometry.filters / filter_blocks)
    slice_items = ceil(items / k_blocks)
    filter_bytes = geometry.weight_bytes / geometry.filters  # per filter, batch norm included
    # The last step also produces the requantized output tile beside the partial sums.
    streamed = {"ifmap": window * slice_items * dtype_bytes,
                "weight": ceil(filters * filter_bytes * slice_items / items),
                "ofmap": pixels * filters * dtype_bytes}
    return streamed, {"ofmap": pixels * filters * accumulator_bytes}


def emit_k_blocked(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                   regions: list[Region], filter_blocks: int, k_blocks: int,
                   residency: Residency, output_resident: bool, gather: bool = False
                   ) -> list[Tile]:
    """The tiles of ``regions`` x ``filter_blocks`` x ``k_blocks`` input-channel steps, in the
    order of :func:`_steps`; with ``gather`` each step loads only the input pixels its region
    reads (:func:`sim.techniques.receptive.gathered_window`).

    A step's input slice depends on its region and slice only, its weight slice on its filter
    block and slice, its compute on the sizes: each is made once and shared by the tiles that
    use it (transfers are immutable)."""
    dtype_bytes = layout.dtype_bytes
    buffers = hardware.buffers
    in_buffer, weight_buffer, out_buffer = (buffers.name_for(op)
                                            for op in ("ifmap", "weight", "ofmap"))
    items, per_item = reduction(info)
    accumulator_bytes = layout.accumulator_bytes
    resident = residency.resident(info)
    source = info.inputs[0]
    slices = k_slices(items, k_blocks)
    passes = filter_passes(info, filter_blocks, dtype_bytes)
    weights = [[(weight_slice(low, size, first, end, items)[1],
                 layout.weight_transfer(info.name, *weight_slice(low, size, first, end, items)))
                for first, end in slices] for _, _, low, size in passes]
    computes: dict[tuple[int, int, int], TileCompute] = {}
    # The loaded bytes per buffer of each (input slice, weight slice) size, shared by the steps
    # that have them.
    loaded_of: dict[tuple[int, int], dict[str, int]] = {}
    tiles: list[Tile] = []
    for index, region in enumerate(regions):
        inputs = [_input_slice(info, layout, source, region, first, end, gather)
                  for first, end in slices]
        for block, (first_filter, filters, _, _) in enumerate(passes):
            outputs = region.pixels * filters
            group = f"{info.name}#{index}.{block}"
            held = by_buffer((out_buffer, outputs * accumulator_bytes))
            produced = by_buffer((out_buffer, 0 if output_resident else outputs * dtype_bytes))
            for step, (first, end) in enumerate(slices):
                input_loads, window_bytes = inputs[step]
                weight_size, weight_loads = weights[block][step]
                last = step == len(slices) - 1
                key = (region.pixels, (end - first) * per_item, filters)
                compute = computes.get(key)
                if compute is None:
                    compute = computes[key] = tile_compute(hardware.pe_array, *key)
                stores = []
                if last and not output_resident:
                    channels = (0, info.output_shape.channels) if filter_blocks == 1 else (
                        first_filter, first_filter + filters)
                    stores = layout.channel_transfers(info.name, region, *channels, "ofmap",
                                                      write=True)
                loaded = loaded_of.get((window_bytes, weight_size))
                if loaded is None:
                    loaded = loaded_of[window_bytes, weight_size] = by_buffer(
                        (in_buffer, window_bytes), (weight_buffer, weight_size))
                footprint = Footprint(
                    loaded=loaded, produced=produced if last else {}, held=held, group=group,
                    resident=resident)
                tiles.append(make_tile(info, input_loads + weight_loads, stores, compute,
                                       region.pixels, filters, dtype_bytes, accumulator_bytes,
                                       hardware, footprint, partial_sums=(outputs, step == 0)))
    return tiles


def k_slices(items: int, k_blocks: int) -> list[tuple[int, int]]:
    """The non-empty input-channel slices [first, end) of ``k_blocks`` blocks of
    ``ceil(items / k_blocks)`` items, in order."""
    per_block = ceil(items / k_blocks)
    return [(k * per_block, min(items, (k + 1) * per_block)) for k in range(k_blocks)
            if k * per_block < items]


def slice_count(items: int, k_blocks: int) -> int:
    """How many slices :func:`k_slices` gives."""
    return ceil(items / ceil(items / k_blocks))


def filter_passes(info: LayerInfo, filter_blocks: int, dtype_bytes: int
                  ) -> list[tuple[int, int, int, int]]:
    """(first filter, filters, first weight byte, weight bytes) of each non-empty filter block;
    the blocks' weight ranges tile the layer's weights exactly."""
    geometry = layer_geometry(info, dtype_bytes)
    block_filters = ceil(geometry.filters / filter_blocks)
    passes = []
    for block in range(filter_blocks):
        first_filter = block * block_filters
        filters = min(block_filters, geometry.filters - first_filter)
        if filters <= 0:
            continue
        block_low = geometry.weight_bytes * first_filter // geometry.filters
        block_bytes = (geometry.weight_bytes * (first_filter + filters) // geometry.filters
                       - block_low)
        passes.append((first_filter, filters, block_low, block_bytes))
    return passes


def weight_slice(block_low: int, block_bytes: int, first: int, end: int, items: int
                 ) -> tuple[int, int]:
    """(first byte, bytes) of input items [first, end) of one filter block's weights, laid
    out by (filter block, input block) so the slice is contiguous."""
    low = block_bytes * first // items
    return block_low + low, block_bytes * end // items - low


def spilled_sizes(info: LayerInfo, window: int, pixels: int, filter_blocks: int,
                  k_blocks: int, dtype_bytes: int, accumulator_bytes: int
                  ) -> tuple[dict[str, int], dict[str, int]]:
    """(streamed, held) bytes per operand of the largest step of the spilled order, for a
    largest input window of ``window`` pixels and output tile of ``pixels``: a tile streams
    its window's input-channel slice, the partial sums it loads (all but the first slice, at
    accumulator width) and what it stores (partial sums at accumulator width, or the
    requantized outputs after the last slice); one filter block's weight slice is held while
    every tile passes."""
    streamed, _ = k_blocked_sizes(info, window, pixels, filter_blocks, k_blocks, dtype_bytes,
                                  accumulator_bytes)
    held = {"weight": streamed.pop("weight")}
    partial_sums = pixels * ceil(layer_geometry(info, 1).filters / filter_blocks) \
        * accumulator_bytes
    middle = slice_count(reduction(info)[0], k_blocks) >= 3  # loads and stores partial sums
    streamed["ofmap"] = partial_sums + (partial_sums if middle else streamed["ofmap"])
    return streamed, held


def emit_spilled(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                 regions: list[Region], filter_blocks: int, k_blocks: int,
                 residency: Residency) -> list[Tile]:
    """The tiles of the spilled order: filter blocks outside, input-channel slices next,
    ``regions`` inside. A (filter block, slice)'s weights are loaded by its first tile and
    held while every region passes; each tile loads its window's channel slice and, after the
    first slice, its partial sums from the layer's DRAM scratch (:func:`psum_name`), and
    stores its partial sums there, or its outputs after the last slice."""
    dtype_bytes = layout.dtype_bytes
    buffers = hardware.buffers
    in_buffer, weight_buffer, out_buffer = (buffers.name_for(op)
                                            for op in ("ifmap", "weight", "ofmap"))
    items, per_item = reduction(info)
    accumulator_bytes = layout.accumulator_bytes
    resident = residency.resident(info)
    stored = info.name not in residency.on_chip
    source = info.inputs[0]
    scratch = psum_name(info.name)
    whole_filters = filter_blocks == 1
    steps = k_slices(items, k_blocks)
    tiles: list[Tile] = []
    for block, (first_filter, filters, block_low, block_bytes) in enumerate(
            filter_passes(info, filter_blocks, dtype_bytes)):
        channels = (0, info.output_shape.channels) if whole_filters else (
            first_filter, first_filter + filters)
        for step, (first, end) in enumerate(steps):
            weight_first, weight_size = weight_slice(block_low, block_bytes, first, end, items)
            last = step == len(steps) - 1
            for index, region in enumerate(regions):
                loads, window_bytes = _input_slice(info, layout, source, region, first, end)
                if index == 0:
                    loads += layout.weight_transfer(info.name, weight_first, weight_size)
                partial_sums = region.pixels * filters * accumulator_bytes
                if step > 0:
                    loads += layout.channel_transfers(
                        scratch, region, *channels, "ofmap",
                        tag=_psum_tag(scratch, block, step - 1, index))
                if not last:
                    stores = layout.channel_transfers(
                        scratch, region, *channels, "ofmap", write=True,
                        tag=_psum_tag(scratch, block, step, index))
                elif stored:
                    stores = layout.channel_transfers(info.name, region, *channels, "ofmap",
                                                      write=True)
                else:
                    stores = []
                produced = partial_sums if not last else (
                    region.pixels * filters * dtype_bytes if stored else 0)
                footprint = Footprint(
                    loaded=by_buffer((in_buffer, window_bytes),
                                     (out_buffer, partial_sums if step > 0 else 0)),
                    produced=by_buffer((out_buffer, produced)),
                    held=by_buffer((weight_buffer, weight_size)),
                    group=f"{info.name}@{block}.{step}", resident=resident)
                compute = tile_compute(hardware.pe_array, region.pixels, (end - first) * per_item,
                                       filters)
                tiles.append(make_tile(info, loads, stores, compute, region.pixels, filters,
                                       dtype_bytes, accumulator_bytes, hardware, footprint,
                                       partial_sums=(region.pixels * filters, step == 0)))
    return tiles


def _input_slice(info: LayerInfo, layout: DramLayout, source: str, region: Region, first: int,
                 end: int, gather: bool = False) -> tuple[list[Transfer], int]:
    """The loads of input items [first, end) of a region's window, and their bytes (a fully
    connected layer's are ``end - first`` consecutive input features; with ``gather``, only
    the input pixels the region reads, :func:`gathered_window`)."""
    dtype_bytes = layout.dtype_bytes
    if isinstance(info.layer, FullyConnected):
        return ([Transfer("ifmap", layout.tensor_base(source) + first * dtype_bytes,
                          (end - first) * dtype_bytes, tensor=source)],
                (end - first) * dtype_bytes)
    if gather:
        gathered = gathered_window(info, region)
        return (layout.gathered_transfers(source, gathered, first, end, "ifmap"),
                gathered.pixels * (end - first) * dtype_bytes)
    window = input_region(info, region)
    return (layout.channel_transfers(source, window, first, end, "ifmap"),
            window.pixels * (end - first) * dtype_bytes)


def _psum_tag(scratch: str, block: int, step: int, index: int) -> str:
    """What a tile's partial-sum store after ``step`` and the reload of the next step name,
    so the reload waits for that store only."""
    return f"{scratch}@{block}.{step}#{index}"
