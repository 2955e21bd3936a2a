"""Tiles of one layer: output regions x filter blocks, with the DRAM traffic they imply.

Every dataflow reduces to this for a single layer: the output map is cut into regions (row
bands for the layer-wise baseline, T x T tiles for tiling), the filters into blocks (one block
when all weights stay on chip). For each region, the input window (the exact receptive field,
halo included) is loaded once and kept while every filter block passes; the region's output is
stored at once, or block by block (its channel slice, pixel by pixel) when there are several
filter blocks. With ``halo_reuse`` the columns a region shares with the previous
region of the same row band are not fetched again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from math import ceil

from sim.capacity import Budget
from sim.hardware import HardwareSpec, PeArraySpec
from sim.mapping import TileCompute, running_sums, tile_compute
from sim.schedule import NO_FOOTPRINT, DramLayout, Footprint, Tile, Transfer
from sim.techniques.receptive import (
    GatheredWindow,
    Region,
    gathered_window,
    input_windows,
    source_region,
)
from sim.workload.layers import (
    Add,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    DepthwiseConv2d,
    FullyConnected,
    GlobalAvgPool,
    LocalResponseNorm,
    Mul,
)
from sim.workload.network import LayerInfo


@dataclass(frozen=True)
class Residency:
    """Which feature maps stay on chip between layers, in which buffer, and how much room the
    tiles of each layer must leave them. Resident inputs need no load, outputs no store.

    ``sizes``: bytes of each resident tensor; ``spans``: its (producer, last reader) layer
    indices; ``layer_bytes``: resident bytes the tiles of a layer run beside (every resident
    tensor live at that layer, or anywhere in the reordered block it belongs to). Where the
    next layer's first tile does not fit beside the previous layer's last, the pipeline waits
    for the last to finish instead of overlapping them. ``buffer``: the declared buffer that
    holds them (``fmap`` or ``global``).
    """

    on_chip: frozenset[str] = frozenset()
    sizes: Mapping[str, int] = field(default_factory=dict)
    layer_bytes: Mapping[str, int] = field(default_factory=dict)
    buffer: str = ""
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)

    def bytes_across(self, first: int, last: int) -> int:
        """Bytes of the resident tensors live at any layer index in ``[first, last]`` (each
        lives from its producer to its last reader)."""
        return sum(self.sizes[name] for name, (born, dies) in self.spans.items()
                   if born <= last and dies >= first)

    def resident(self, info: LayerInfo) -> tuple[tuple[str, str, int], ...]:
        """The resident tensors a layer reads or writes, as (tensor, buffer, bytes)."""
        return tuple((name, self.buffer, self.sizes[name])
                     for name in (*info.inputs, info.name) if name in self.on_chip)


NOTHING_ON_CHIP = Residency()


@dataclass(frozen=True)
class LayerGeometry:
    """The GEMM view of a layer: K-long dot products, M filters, in groups; weights in bytes."""

    k: int
    filters: int
    groups: int
    weight_bytes: int

    @property
    def filter_bytes(self) -> int:
        """Bytes of one filter (plus its share of bias/batch-norm parameters)."""
        return self.weight_bytes // max(1, self.filters * self.groups)


def layer_geometry(info: LayerInfo, dtype_bytes: int) -> LayerGeometry:
    k, filters, groups, weighted = info.gemm
    return LayerGeometry(k, filters, groups, info.params * dtype_bytes if weighted else 0)


def input_region(info: LayerInfo, out: Region, position: int = 0) -> Region:
    """The part of input ``position`` that output region ``out`` needs (a concat reads the
    same region of each input; a broadcast mul operand is read whole)."""
    if isinstance(info.layer, Add):
        return out
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        shape = info.input_shapes[0]
        return Region(0, shape.height, 0, shape.width)
    return source_region(info, position, out)


def first_input_regions(info: LayerInfo, regions: list[Region]) -> list[Region]:
    """``input_region(info, out)`` (the first input) for every ``out`` of ``regions``."""
    return input_regions(info, regions, 0)


def input_regions(info: LayerInfo, regions: list[Region], position: int) -> list[Region]:
    """``input_region(info, out, position)`` for every ``out`` of ``regions``."""
    if isinstance(info.layer, Add):
        return list(regions)
    if isinstance(info.layer, FullyConnected | GlobalAvgPool | Mul):
        return [input_region(info, out, position) for out in regions]
    return input_windows(info, regions)


def region_bytes(region: Region, channels: int, dtype_bytes: int) -> int:
    return region.pixels * channels * dtype_bytes


@dataclass(frozen=True)
class BlockSizes:
    """On-chip bytes of one tile of a plan: output regions x filter (or channel) blocks.

    ``window``: the input window (all non-resident inputs, halo included); ``weights``: one
    block's weights; ``output``: one block's output tile (0 when the output stays resident).
    """

    window: int
    weights: int
    output: int


def running_sum_bytes(info: LayerInfo, pe: PeArraySpec, pixels: int, filters: int,
                      dtype_bytes: int, accumulator_bytes: int) -> int:
    """Bytes beyond the output tile's own that ``pixels`` output pixels x ``filters`` filters
    (per group) of the layer take while their running sums wait between the PE array's
    reduction folds (:func:`sim.mapping.running_sums`): the sums overlay their outputs'
    place, each ``accumulator_bytes - dtype_bytes`` wider."""
    geometry = layer_geometry(info, 1)
    if not geometry.filters:
        return 0
    return (running_sums(pe, pixels, geometry.k, filters)
            * max(0, accumulator_bytes - dtype_bytes))


def sizes_for_pixels(info: LayerInfo, in_pixels: int, out_pixels: int, filter_blocks: int,
                     dtype_bytes: int, residency: Residency, pe: PeArraySpec,
                     accumulator_bytes: int) -> BlockSizes:
    """The bytes one tile x one of ``filter_blocks`` blocks keeps on chip, when its input
    window has ``in_pixels`` pixels (in every input) and its output ``out_pixels``; the
    output includes the running sums ``pe`` keeps in the buffer (:func:`running_sum_bytes`),
    also when the output map itself stays resident."""
    geometry = layer_geometry(info, dtype_bytes)
    blocks = max(1, filter_blocks)
    channelwise = is_channelwise(info) and blocks > 1
    out_channels = info.output_shape.channels
    window = 0
    for source, shape in zip(info.inputs, info.input_shapes, strict=True):
        if source not in residency.on_chip:
            channels = ceil(shape.channels / blocks) if channelwise else shape.channels
            window += in_pixels * channels * dtype_bytes
    if blocks == 1:
        weights, channels = geometry.weight_bytes, out_channels
    elif channelwise:
        channels = ceil(out_channels / blocks)
        weights = channels * geometry.filter_bytes if geometry.filters else 0
    else:
        block_filters = ceil(geometry.filters / blocks)
        weights = block_filters * geometry.filter_bytes * geometry.groups
        channels = block_filters * geometry.groups
    output = 0 if info.name in residency.on_chip else out_pixels * channels * dtype_bytes
    per_group = (geometry.filters if blocks == 1 or channelwise
                 else ceil(geometry.filters / blocks))
    output += running_sum_bytes(info, pe, out_pixels, per_group, dtype_bytes, accumulator_bytes)
    return BlockSizes(window, weights, output)


def tile_fits(budget: Budget, info: LayerInfo, sizes: BlockSizes, filter_blocks: int,
              residency: Residency) -> bool:
    """Does a tile of these sizes fit beside the layer's resident feature maps?

    One block: the weights are loaded once and kept for the layer; several filter blocks: the
    input window is kept while the blocks pass; channel blocks stream everything.
    """
    resident = residency.layer_bytes.get(info.name, 0)
    if filter_blocks <= 1:
        return budget.fits({"ifmap": sizes.window, "ofmap": sizes.output},
                           {"weight": sizes.weights}, resident)
    if is_channelwise(info):
        return budget.fits({"ifmap": sizes.window, "weight": sizes.weights,
                            "ofmap": sizes.output}, None, resident)
    return budget.fits({"weight": sizes.weights, "ofmap": sizes.output},
                       {"ifmap": sizes.window}, resident)


def plan_layer_tiles(
    info: LayerInfo, hardware: HardwareSpec, layout: DramLayout, regions: list[Region],
    filter_blocks: int, halo_reuse: bool = False, residency: Residency = NOTHING_ON_CHIP,
    gather: bool = False,
) -> list[Tile]:
    """Tiles for ``regions`` of the output (in order) x ``filter_blocks`` blocks of filters,
    each with its on-chip footprint. With ``gather`` (a layer whose kernel is smaller than its
    stride, :func:`sim.techniques.receptive.gathers`) each tile fetches and holds only the
    input pixels its outputs read (:func:`gathered_window`), without halo reuse."""
    dtype_bytes = layout.dtype_bytes
    buffers = hardware.buffers
    in_buffer, weight_buffer, out_buffer = (buffers.name_for(op)
                                            for op in ("ifmap", "weight", "ofmap"))
    geometry = layer_geometry(info, dtype_bytes)
    out_channels = info.output_shape.channels
    tiles = []
    channel_blocks = is_channelwise(info) and filter_blocks > 1
    resident = residency.resident(info)
    stored = info.name not in residency.on_chip
    # What depends on the block alone (its channels or filters, its weights) or on the sizes
    # alone (a tile's bytes and compute) is made once and shared by the tiles that use it.
    blocks = [_block(info, layout, block, filter_blocks, channel_blocks)
              for block in range(max(1, filter_blocks))]
    sizes_of: dict[tuple[int, int], tuple[BlockSizes, Footprint]] = {}
    computes: dict[tuple[int, int], TileCompute | None] = {}
    # The first input's window sizes the tile.
    wanted_windows = ([gathered_window(info, region) for region in regions] if gather
                      else first_input_regions(info, regions))
    for index, (region, windows) in enumerate(tile_windows(
            info, regions, residency, halo_reuse and not channel_blocks, gather)):
        pixels = region.pixels
        wanted = wanted_windows[index]
        sized = sizes_of.get((wanted.pixels, pixels))
        if sized is None:
            sizes = sizes_for_pixels(info, wanted.pixels, pixels, filter_blocks, dtype_bytes,
                                     residency, hardware.pe_array, layout.accumulator_bytes)
            # Its footprint, shared by its tiles; a filter-blocked tile's is its region's
            # (its group), made below.
            if channel_blocks:
                shared_footprint = Footprint(
                    loaded=by_buffer((in_buffer, sizes.window), (weight_buffer, sizes.weights)),
                    produced=by_buffer((out_buffer, sizes.output)), resident=resident)
            elif filter_blocks <= 1:
                shared_footprint = Footprint(
                    loaded=by_buffer((in_buffer, sizes.window)),
                    produced=by_buffer((out_buffer, sizes.output)),
                    shared=by_buffer((weight_buffer, sizes.weights)), shared_by=info.name,
                    resident=resident)
            else:
                shared_footprint = NO_FOOTPRINT
            sized = sizes_of[wanted.pixels, pixels] = sizes, shared_footprint
        sizes, footprint = sized
        if footprint is NO_FOOTPRINT:  # the region's window stays while its blocks pass
            footprint = Footprint(
                loaded=by_buffer((weight_buffer, sizes.weights)),
                produced=by_buffer((out_buffer, sizes.output)),
                held=by_buffer((in_buffer, sizes.window)), group=f"{info.name}#{index}",
                resident=resident)
        for block, (first, end, weight_loads) in enumerate(blocks):
            compute = computes.get((pixels, block), ())
            if compute == ():
                compute = computes[pixels, block] = _block_compute(
                    info, hardware.pe_array, geometry, pixels, end - first, channel_blocks)
            if channel_blocks:
                # Channel slices: input, weights (depthwise) and output alike.
                loads = [t for source, fetch in windows.items()
                         for t in window_transfers(layout, source, fetch, first, end)]
                loads += weight_loads
                stores = ([] if not stored else layout.channel_transfers(
                    info.name, region, first, end, "ofmap", write=True))
                tiles.append(make_tile(info, loads, stores, compute, pixels, end - first,
                                       dtype_bytes, layout.accumulator_bytes, hardware,
                                       footprint))
                continue
            loads = ([t for source, fetch in windows.items()
                      for t in window_transfers(layout, source, fetch)]
                     if block == 0 else [])
            if filter_blocks > 1 or index == 0:
                loads += weight_loads
            stores = []
            if stored:
                if filter_blocks > 1:  # this block's output channels, pixel by pixel
                    stores = layout.channel_transfers(info.name, region, first, end, "ofmap",
                                                      write=True)
                elif block == 0:
                    stores = layout.region_transfers(info.name, region, "ofmap", write=True)
            tiles.append(make_tile(info, loads, stores, compute, pixels, out_channels,
                                   dtype_bytes, layout.accumulator_bytes, hardware, footprint))
    return tiles


def _block(info: LayerInfo, layout: DramLayout, block: int, filter_blocks: int,
           channel_blocks: bool) -> tuple[int, int, list[Transfer]]:
    """(first, end) output channel of filter (or channel) block ``block`` of ``filter_blocks``
    and the load of its weights (none for a layer without weights)."""
    geometry = layer_geometry(info, layout.dtype_bytes)
    if channel_blocks:
        per_block = ceil(info.output_shape.channels / filter_blocks)
        first = block * per_block
        end = min(info.output_shape.channels, first + per_block)
        weights = (layout.weight_transfer(info.name, first * geometry.filter_bytes,
                                          (end - first) * geometry.filter_bytes)
                   if geometry.filters else [])
        return first, end, weights
    block_filters = ceil(geometry.filters / filter_blocks) if geometry.filters else 0
    first_filter = block * block_filters
    filters = max(0, min(block_filters, geometry.filters - first_filter))
    weights = []
    if geometry.weight_bytes:
        offset = first_filter * geometry.filter_bytes * geometry.groups
        size = (geometry.weight_bytes if filter_blocks == 1
                else filters * geometry.filter_bytes * geometry.groups)
        weights = layout.weight_transfer(info.name, offset, size)
    first_channel = first_filter * geometry.groups
    return first_channel, first_channel + filters * geometry.groups, weights


def _block_compute(info: LayerInfo, pe: PeArraySpec, geometry: LayerGeometry, pixels: int,
                   channels: int, channel_blocks: bool) -> TileCompute | None:
    """The compute of ``pixels`` output pixels x one block of ``channels`` output channels
    (``channels / groups`` filters per group, or a depthwise channel slice); None for a layer
    without filters."""
    if not geometry.filters:
        return None
    if channel_blocks:
        return tile_compute(pe, pixels, geometry.k, 1, channels)
    return tile_compute(pe, pixels, geometry.k, channels // geometry.groups, geometry.groups)


def layer_tiles_bus_bytes(info: LayerInfo, layout: DramLayout, regions: list[Region],
                          filter_blocks: int, halo_reuse: bool, residency: Residency,
                          burst_bytes: int) -> int:
    """The bytes :func:`plan_layer_tiles` puts on the DRAM bus (whole bursts of its loads and
    stores), counted from addresses without making the tiles: the same walk over regions
    and blocks, each transfer replaced by the :class:`DramLayout` cost of it."""
    geometry = layer_geometry(info, layout.dtype_bytes)
    out_channels = info.output_shape.channels
    block_filters = ceil(geometry.filters / filter_blocks) if geometry.filters else 0
    channel_blocks = is_channelwise(info) and filter_blocks > 1
    stored = info.name not in residency.on_chip
    bursts = 0
    for index, (region, windows) in enumerate(fetched_windows(
            info, regions, residency, halo_reuse and not channel_blocks)):
        for block in range(max(1, filter_blocks)):
            if channel_blocks:
                per_block = ceil(out_channels / filter_blocks)
                first = block * per_block
                end = min(out_channels, first + per_block)
                for source, fetch in windows.items():
                    bursts += layout.channel_cost(source, fetch, first, end, burst_bytes)[0]
                if geometry.filters:
                    bursts += layout.weight_cost(info.name, first * geometry.filter_bytes,
                                                 (end - first) * geometry.filter_bytes,
                                                 burst_bytes)[0]
                if stored:
                    bursts += layout.channel_cost(info.name, region, first, end,
                                                  burst_bytes)[0]
                continue
            first_filter = block * block_filters
            filters = max(0, min(block_filters, geometry.filters - first_filter))
            if block == 0:
                for source, fetch in windows.items():
                    bursts += layout.region_cost(source, fetch, burst_bytes)[0]
            if geometry.weight_bytes and (filter_blocks > 1 or index == 0):
                offset = first_filter * geometry.filter_bytes * geometry.groups
                size = (geometry.weight_bytes if filter_blocks == 1
                        else filters * geometry.filter_bytes * geometry.groups)
                bursts += layout.weight_cost(info.name, offset, size, burst_bytes)[0]
            if stored:
                if filter_blocks > 1:
                    first_channel = first_filter * geometry.groups
                    bursts += layout.channel_cost(info.name, region, first_channel,
                                                  first_channel + filters * geometry.groups,
                                                  burst_bytes)[0]
                elif block == 0:
                    bursts += layout.region_cost(info.name, region, burst_bytes)[0]
    return bursts * burst_bytes


def halo_fetch(needed: Region, last: Region | None, halo_reuse: bool) -> Region:
    """The part of window ``needed`` to fetch after window ``last`` of the same input: with
    ``halo_reuse``, the columns past ``last`` when both span the same rows and overlap."""
    if (halo_reuse and last is not None and last.row0 == needed.row0
            and last.row1 == needed.row1 and last.col0 < needed.col0 < last.col1):
        return Region(needed.row0, needed.row1, last.col1, needed.col1)
    return needed


def fetched_windows(info: LayerInfo, regions: list[Region], residency: Residency,
                    halo_reuse: bool) -> Iterator[tuple[Region, dict[str, Region]]]:
    """Per output region in order, the region and the part of each input not kept on chip
    that its tile fetches (:func:`halo_fetch` after the previous region's window)."""
    fetched = [(source, input_regions(info, regions, position))
               for position, source in enumerate(info.inputs)
               if source not in residency.on_chip]
    previous: dict[str, Region] = {}
    for index, region in enumerate(regions):
        windows: dict[str, Region] = {}
        for source, needs in fetched:
            needed = needs[index]
            windows[source] = halo_fetch(needed, previous.get(source), halo_reuse)
            previous[source] = needed
        yield region, windows


def tile_windows(info: LayerInfo, regions: list[Region], residency: Residency,
                 halo_reuse: bool, gather: bool
                 ) -> Iterator[tuple[Region, dict[str, Region | GatheredWindow]]]:
    """:func:`fetched_windows`, or with ``gather`` each region's gathered window of the
    layer's only input (unless it stays on chip)."""
    if not gather:
        yield from fetched_windows(info, regions, residency, halo_reuse)
        return
    source = info.inputs[0]
    for region in regions:
        yield region, ({} if source in residency.on_chip
                       else {source: gathered_window(info, region)})


def window_transfers(layout: DramLayout, tensor: str, window: Region | GatheredWindow,
                     first_channel: int = 0, end_channel: int | None = None
                     ) -> list[Transfer]:
    """The loads of channels [first_channel, end_channel) (all by default) of an input window,
    dense or gathered."""
    if isinstance(window, GatheredWindow):
        end = (layout.network.tensor_shape(tensor).channels if end_channel is None
               else end_channel)
        return layout.gathered_transfers(tensor, window, first_channel, end, "ifmap")
    if end_channel is None:
        return layout.region_transfers(tensor, window, "ifmap")
    return layout.channel_transfers(tensor, window, first_channel, end_channel, "ifmap")


def by_buffer(*entries: tuple[str, int]) -> dict[str, int]:
    """Bytes per buffer name, adding up entries that share a buffer; zeros left out."""
    total: dict[str, int] = {}
    for name, size in entries:
        if size:
            total[name] = total.get(name, 0) + size
    return total


def make_tile(info: LayerInfo, loads: list[Transfer], stores: list[Transfer],
              compute: TileCompute | None, pixels: int, out_channels: int, dtype_bytes: int,
              accumulator_bytes: int, hardware: HardwareSpec,
              footprint: Footprint = NO_FOOTPRINT,
              partial_sums: tuple[int, bool] | None = None) -> Tile:
    """A tile with its SRAM traffic in bytes: DRAM fills and drains plus the PE array's operand
    accesses. Partial sums read back between reduction folds, and the writes they pair with,
    are ``accumulator_bytes`` wide; the final outputs are ``dtype_bytes`` wide.
    ``partial_sums``: (outputs, first) of a step of a blocked reduction, as
    :func:`with_partial_sums` adds them."""
    sram_write = {"ifmap": 0, "weight": 0, "ofmap": 0}
    sram_read = {"ifmap": 0, "weight": 0, "ofmap": 0}
    for transfer in loads:
        sram_write[transfer.operand] += transfer.size_bytes
    for transfer in stores:
        sram_read["ofmap"] += transfer.size_bytes
    if compute is not None:
        macs, cycles = compute.macs, compute.cycles
        sram_read["ifmap"] += compute.ifmap_reads * dtype_bytes
        sram_read["weight"] += compute.weight_reads * dtype_bytes
        # Every partial-sum read pairs with the write of the fold before it; the rest of the
        # writes are final outputs.
        sram_read["ofmap"] += compute.ofmap_reads * accumulator_bytes
        sram_write["ofmap"] += (compute.ofmap_reads * accumulator_bytes
                                + (compute.ofmap_writes - compute.ofmap_reads) * dtype_bytes)
    else:
        # Pooling and additions: read every input element once, write every output element;
        # one element per MAC lane per cycle.
        inputs = _elements_read(info, pixels, out_channels)
        macs = 0
        cycles = ceil(inputs / hardware.pe_array.macs_per_cycle)
        sram_read["ifmap"] += inputs * dtype_bytes
        sram_write["ofmap"] += pixels * out_channels * dtype_bytes
    if partial_sums is not None:
        outputs, first = partial_sums
        _add_partial_sums(sram_read, sram_write, outputs, dtype_bytes, accumulator_bytes, first)
    return Tile(info.name, tuple(loads), tuple(stores), macs, cycles, sram_read, sram_write,
                footprint)


def with_partial_sums(tile: Tile, outputs: int, dtype_bytes: int, accumulator_bytes: int,
                      first: bool) -> Tile:
    """The tile with its ``outputs`` kept as running sums at accumulator width: read back unless
    this is the ``first`` step of the reduction, and written at ``accumulator_bytes`` instead of
    the data type's width."""
    sram_read = dict(tile.sram_read_bytes)
    sram_write = dict(tile.sram_write_bytes)
    _add_partial_sums(sram_read, sram_write, outputs, dtype_bytes, accumulator_bytes, first)
    return Tile(tile.layer, tile.loads, tile.stores, tile.macs, tile.compute_cycles, sram_read,
                sram_write, tile.footprint)


def _add_partial_sums(sram_read: dict[str, int], sram_write: dict[str, int], outputs: int,
                      dtype_bytes: int, accumulator_bytes: int, first: bool) -> None:
    """Add to SRAM bytes read and written what :func:`with_partial_sums` describes."""
    partial = outputs * accumulator_bytes
    sram_read["ofmap"] += 0 if first else partial
    sram_write["ofmap"] += partial - outputs * dtype_bytes


def _elements_read(info: LayerInfo, pixels: int, channels: int) -> int:
    """Input elements a layer without weights reads, all inputs together, for ``pixels``
    output pixels of ``channels``: a concat, slice, shuffle or LRN reads each output element's
    source once, a broadcast mul operand is read once per channel."""
    layer = info.layer
    if isinstance(layer, GlobalAvgPool):
        shape = info.input_shapes[0]
        return shape.height * shape.width * channels
    if isinstance(layer, Concat | ChannelSlice | ChannelShuffle | LocalResponseNorm):
        return pixels * channels
    if isinstance(layer, Mul):
        broadcast = layer.broadcast_inputs(list(info.input_shapes))
        return sum(channels if whole else pixels * channels for whole in broadcast)
    kernel = getattr(layer, "kernel", (1, 1))
    return len(info.inputs) * pixels * channels * kernel[0] * kernel[1]


def is_depthwise(info: LayerInfo) -> bool:
    return isinstance(info.layer, DepthwiseConv2d)


def is_channelwise(info: LayerInfo) -> bool:
    """:attr:`LayerInfo.channelwise` (computed once per layer)."""
    return info.channelwise


def full_region(info: LayerInfo) -> Region:
    """The whole output map of a layer."""
    return Region(0, info.output_shape.height, 0, info.output_shape.width)
