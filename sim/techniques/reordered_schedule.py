"""Schedules of reordered bottlenecks (seed 001, Sec. 3.3) that fit the declared buffers.

A reordered inverted-residual block runs expansion channels in chunks of ``c`` (seed 001's
"one channel at a time" is ``c = 1``): for each chunk, the expansion computes ``c`` channels
over the block input, the depthwise filters them, and the projection adds their contribution
to an accumulator of the whole output at the accumulator's width (int32 for int8). The block
output is cut into row bands when the whole map does not fit: each band needs the input rows
of its receptive field (the expansion recomputes the halo rows of neighbouring bands; those
MACs are counted).

What a band keeps on chip, all of it counted against the buffers:

- for the whole band (``shared``): the block input window (unless the input is resident), the
  accumulator (output pixels x output channels x accumulator bytes), and one chunk's expansion
  and depthwise slices;
- per chunk (``held``, double-buffered: the next chunk's weights load while this one computes):
  the chunk's weights of all three layers;
- the block output tile at the data type's width until it is stored.

The expansion and depthwise outputs never exist whole and never reach DRAM. Each layer's chunk of
weights is one contiguous DRAM request, loaded by that layer's tile: the weights of a reordered
block are laid out offline in chunk order (they are static; the projection's are stored
input-channel-major), so no slice needs strided access.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.capacity import Budget, largest_fitting
from sim.dtypes import DType
from sim.hardware import HardwareSpec, PeArraySpec
from sim.mapping import running_sums, tile_compute
from sim.schedule import DramLayout, Footprint, Tile, Transfer, transfer_bursts
from sim.techniques.buffering import plan_residency
from sim.techniques.layer_tiles import Residency, by_buffer, make_tile, with_partial_sums
from sim.techniques.receptive import Region, input_window
from sim.techniques.reorder import Bottleneck, find_bottlenecks
from sim.workload.network import LayerInfo, Network

MAX_BANDS = 64


@dataclass(frozen=True)
class ReorderPlan:
    """Row bands of the block output and the expansion channels per chunk."""

    block: Bottleneck
    bands: tuple[Region, ...]
    chunk: int
    traffic_bytes: int

    @property
    def chunks(self) -> int:
        return ceil(self.block.expand.output_shape.channels / self.chunk)


@dataclass(frozen=True)
class BandSizes:
    """On-chip bytes of one band: shared by its chunks, per chunk, and its output tile."""

    window: int
    accumulator: int
    slices: int
    chunk_weights: int
    output: int


def _bands(block: Bottleneck, count: int) -> list[Region]:
    shape = block.project.output_shape
    edges = [shape.height * i // count for i in range(count + 1)]
    return [Region(edges[i], edges[i + 1], 0, shape.width)
            for i in range(count) if edges[i + 1] > edges[i]]


def _windows(block: Bottleneck, band: Region) -> tuple[Region, Region]:
    """(expansion output region, block input region) that a band of the output needs."""
    expanded = input_window(block.depthwise, band).region
    return expanded, input_window(block.expand, expanded).region


def _weights_per_channel(block: Bottleneck, dtype: DType) -> float:
    """Weight bytes of the three layers per expansion channel (filters and batch norm)."""
    channels = block.expand.output_shape.channels
    params = block.expand.params + block.depthwise.params + block.project.params
    return params * dtype.bytes / channels


def band_pixels(block: Bottleneck, bands: list[Region]) -> tuple[int, int, int, int]:
    """The most (input window, expansion slice + output, output, expansion slice) pixels of
    any of ``bands``."""
    windows = [_windows(block, band) for band in bands]
    return (max(source.pixels for _, source in windows),
            max(expanded.pixels + band.pixels
                for (expanded, _), band in zip(windows, bands, strict=True)),
            max(band.pixels for band in bands),
            max(expanded.pixels for expanded, _ in windows))


def band_sizes(block: Bottleneck, pixels: tuple[int, int, int, int], chunk: int, dtype: DType,
               input_resident: bool, output_resident: bool, pe: PeArraySpec) -> BandSizes:
    """On-chip bytes of a band with ``pixels`` (from :func:`band_pixels`) and ``chunk``
    expansion channels per chunk. The accumulator holds the band's output sums and, while the
    expansion or the depthwise layer computes a chunk, the running sums ``pe`` keeps between
    its reduction folds (:func:`sim.mapping.running_sums`) at accumulator width."""
    source, sliced, band, expanded = pixels
    out_channels = block.project.output_shape.channels
    in_channels = block.expand.input_shapes[0].channels
    window = 0 if input_resident else source * in_channels * dtype.bytes
    kernel = block.depthwise.layer.geometry(block.depthwise.input_shapes[0].channels).kernel
    waiting = max(running_sums(pe, expanded, in_channels, chunk),
                  running_sums(pe, band, kernel[0] * kernel[1], 1))
    accumulator = (band * out_channels + waiting) * dtype.accumulator_bits // 8
    slices = chunk * sliced * dtype.bytes
    chunk_weights = ceil(chunk * _weights_per_channel(block, dtype))
    output = 0 if output_resident else band * out_channels * dtype.bytes
    return BandSizes(window, accumulator, slices, chunk_weights, output)


def _fits(budget: Budget, sizes: BandSizes, resident_bytes: int) -> bool:
    return budget.fits({"weight": sizes.chunk_weights, "ofmap": sizes.output},
                       {"ifmap": sizes.window + sizes.slices, "ofmap": sizes.accumulator},
                       resident_bytes)


def plan_reorder(block: Bottleneck, hardware: HardwareSpec, dtype: DType,
                 residency: Residency, memo: dict | None = None) -> ReorderPlan | None:
    """The plan of least DRAM traffic (then fewest tiles) that fits, or None.

    For each band count (1 up to the output height, at most ``MAX_BANDS``) the largest chunk
    that fits is taken: a larger chunk only saves tiles, never traffic. ``memo`` (one per
    network, hardware and dtype) keeps plans under what they depend on.
    """
    input_resident = block.source in residency.on_chip
    output_resident = block.output in residency.on_chip
    resident = residency.bytes_across(block.expand.index, block.infos[-1].index)
    if memo is None:
        return _plan_reorder(block, hardware, dtype, input_resident, output_resident, resident)
    key = ("reorder plan", block.name, input_resident, output_resident, resident)
    if key not in memo:
        memo[key] = _plan_reorder(block, hardware, dtype, input_resident, output_resident,
                                  resident)
    return memo[key]


def _plan_reorder(block: Bottleneck, hardware: HardwareSpec, dtype: DType,
                  input_resident: bool, output_resident: bool, resident: int
                  ) -> ReorderPlan | None:
    budget = Budget.of(hardware)
    channels = block.expand.output_shape.channels
    height = block.project.output_shape.height
    weight_bytes = ceil(channels * _weights_per_channel(block, dtype))
    in_shape = block.expand.input_shapes[0]
    best: ReorderPlan | None = None
    for count in sorted({ceil(height / ceil(height / n)) for n in range(1, height + 1)}):
        if count > MAX_BANDS:
            break
        bands = _bands(block, count)
        chunk = _largest_chunk(budget, block, band_pixels(block, bands), dtype, input_resident,
                               output_resident,
                               resident, channels)
        if chunk is None:
            continue
        inputs = 0 if input_resident else sum(
            _windows(block, band)[1].pixels for band in bands) * in_shape.channels * dtype.bytes
        outputs = 0 if output_resident else block.project.output_shape.elements * dtype.bytes
        plan = ReorderPlan(block, tuple(bands), chunk, inputs + weight_bytes * len(bands)
                           + outputs)
        if best is None or (plan.traffic_bytes, len(bands) * plan.chunks) < (
                best.traffic_bytes, len(best.bands) * best.chunks):
            best = plan
    return best


def reorder_tolerance(block: Bottleneck, hardware: HardwareSpec, dtype: DType, limit: int,
                      memo: dict | None = None) -> int:
    """The most resident bytes (up to ``limit``) beside which the block still runs reordered
    in its smallest form (the most bands, one channel per chunk), its input counted in the
    working set. ``memo`` as for :func:`plan_reorder`."""
    if memo is None:
        return _reorder_tolerance(block, hardware, dtype, limit)
    key = ("reorder tolerance", block.name, limit)
    if key not in memo:
        memo[key] = _reorder_tolerance(block, hardware, dtype, limit)
    return memo[key]


def _reorder_tolerance(block: Bottleneck, hardware: HardwareSpec, dtype: DType, limit: int
                       ) -> int:
    budget = Budget.of(hardware)
    height = block.project.output_shape.height
    bands = _bands(block, min(height, MAX_BANDS))
    sizes = band_sizes(block, band_pixels(block, bands), 1, dtype, False, False,
                       hardware.pe_array)
    return largest_fitting(0, limit, lambda resident: _fits(budget, sizes, resident)) or 0


def _largest_chunk(budget: Budget, block: Bottleneck, pixels: tuple[int, int, int, int],
                   dtype: DType,
                   input_resident: bool, output_resident: bool, resident: int, channels: int
                   ) -> int | None:
    """The most expansion channels per chunk that fit (bisection: fit shrinks with size)."""
    def fits(chunk: int) -> bool:
        return _fits(budget, band_sizes(block, pixels, chunk, dtype, input_resident,
                                        output_resident, budget.pe_array), resident)

    return largest_fitting(1, channels, fits)


def reordered_tiles(plan: ReorderPlan, hardware: HardwareSpec, layout: DramLayout,
                    dtype: DType, residency: Residency) -> list[Tile]:
    """The tiles of a reordered block: per band, per chunk, one tile each for the expansion,
    the depthwise and the projection, then the residual add of the band."""
    block = plan.block
    buffers = hardware.buffers
    in_buffer, weight_buffer, out_buffer = (buffers.name_for(op)
                                            for op in ("ifmap", "weight", "ofmap"))
    input_resident = block.source in residency.on_chip
    output_resident = block.output in residency.on_chip
    channels = block.expand.output_shape.channels
    in_channels = block.expand.input_shapes[0].channels
    out_channels = block.project.output_shape.channels
    kernel = block.depthwise.layer.geometry(channels).weight_elements // channels
    per_channel = _weights_per_channel(block, dtype)
    accumulator_bytes = dtype.accumulator_bits // 8
    tiles: list[Tile] = []
    for band_index, band in enumerate(plan.bands):
        expanded, source = _windows(block, band)
        sizes = band_sizes(block, band_pixels(block, [band]), plan.chunk, dtype, input_resident,
                           output_resident, hardware.pe_array)
        band_key = f"{block.name} band {band_index}"
        shared = by_buffer((in_buffer, sizes.window + sizes.slices),
                           (out_buffer, sizes.accumulator))
        for chunk_index in range(plan.chunks):
            first = chunk_index * plan.chunk
            count = min(plan.chunk, channels - first)
            loads: list[Transfer] = []
            if chunk_index == 0 and not input_resident:
                loads += layout.region_transfers(block.source, source, "ifmap")
            loads += _chunk_weights(layout, block.expand, first, count, channels)
            held = by_buffer((weight_buffer, ceil(count * per_channel)))
            last_chunk = chunk_index == plan.chunks - 1

            chunk_footprint = Footprint(held=held, group=f"{band_key} chunk {chunk_index}",
                                        shared=shared, shared_by=band_key)
            expand = tile_compute(hardware.pe_array, expanded.pixels, in_channels, count)
            tiles.append(_with_resident(make_tile(
                block.expand, loads, [], expand, expanded.pixels, count, dtype.bytes,
                accumulator_bytes, hardware, chunk_footprint), residency, block.expand))
            depthwise = tile_compute(hardware.pe_array, band.pixels, kernel, 1, count)
            tiles.append(make_tile(
                block.depthwise, _chunk_weights(layout, block.depthwise, first, count, channels),
                [], depthwise, band.pixels, count, dtype.bytes, accumulator_bytes, hardware,
                chunk_footprint))
            project = tile_compute(hardware.pe_array, band.pixels, count, out_channels)
            done_here = last_chunk and block.add is None
            stores = (layout.region_transfers(block.project.name, band, "ofmap", write=True)
                      if done_here and not output_resident else [])
            tile = make_tile(block.project,
                             _chunk_weights(layout, block.project, first, count, channels),
                             stores, project, band.pixels, out_channels,
                             dtype.bytes, accumulator_bytes, hardware,
                             chunk_footprint._replace(produced=by_buffer(
                                 (out_buffer, sizes.output if done_here else 0))))
            # The running sum lives in the accumulator at the accumulator's width.
            tiles.append(_with_resident(with_partial_sums(
                tile, band.pixels * out_channels, dtype.bytes, accumulator_bytes,
                first=chunk_index == 0), residency,
                block.project))
        if block.add is not None:
            stores = ([] if output_resident else
                      layout.region_transfers(block.add.name, band, "ofmap", write=True))
            add = make_tile(block.add, [], stores, None, band.pixels, out_channels, dtype.bytes,
                            accumulator_bytes, hardware,
                            Footprint(produced=by_buffer((out_buffer, sizes.output)),
                                      shared=shared, shared_by=band_key))
            tiles.append(_with_resident(add, residency, block.add))
    return tiles


def reordered_bus_bytes(plan: ReorderPlan, layout: DramLayout, residency: Residency,
                        burst_bytes: int) -> int:
    """The bytes :func:`reordered_tiles` puts on the DRAM bus (whole bursts), counted without
    making the tiles: per band its input window (unless resident) and its stored output
    (unless resident), and every chunk's weights of the three layers again for each band."""
    block = plan.block
    channels = block.expand.output_shape.channels
    chunk_bursts = 0
    for chunk_index in range(plan.chunks):
        first = chunk_index * plan.chunk
        count = min(plan.chunk, channels - first)
        for info in (block.expand, block.depthwise, block.project):
            chunk_bursts += sum(transfer_bursts(transfer, burst_bytes) for transfer in
                                _chunk_weights(layout, info, first, count, channels))
    bursts = len(plan.bands) * chunk_bursts
    stored = (block.project if block.add is None else block.add).name
    for band in plan.bands:
        if block.source not in residency.on_chip:
            bursts += layout.region_cost(block.source, _windows(block, band)[1], burst_bytes)[0]
        if block.output not in residency.on_chip:
            bursts += layout.region_cost(stored, band, burst_bytes)[0]
    return burst_bytes * bursts


def _with_resident(tile: Tile, residency: Residency, info: LayerInfo) -> Tile:
    """The tile with the resident feature maps its layer touches (block input and output)."""
    touched = residency.resident(info)
    if not touched:
        return tile
    return tile._replace(footprint=tile.footprint._replace(resident=touched))


def _chunk_weights(layout: DramLayout, info: LayerInfo, first: int, count: int,
                   channels: int) -> list[Transfer]:
    """The request for expansion channels [first, first + count) of one layer's weights: its
    filters (expansion, depthwise) or its input-channel slice (projection), one contiguous
    range since the block's weights are laid out in chunk order."""
    per_channel = info.params * layout.dtype_bytes // channels
    return layout.weight_transfer(info.name, first * per_channel, count * per_channel)


def reorder_residency(network: Network, hardware: HardwareSpec, dtype: DType, room_bytes: int,
                      memo: dict | None = None) -> tuple[list[Bottleneck], Residency]:
    """The bottleneck blocks that can run reordered, and the feature maps kept on chip within
    ``room_bytes`` around them (their expansion and depthwise outputs, and a projection output
    that feeds an add, never exist whole). ``memo`` as in :func:`plan_reorder`."""
    blocks = [block for block in find_bottlenecks(network)
              if plan_reorder(block, hardware, dtype, Residency(), memo) is not None]
    never = {info.name for block in blocks for info in (block.expand, block.depthwise)}
    never |= {block.project.name for block in blocks if block.add is not None}
    tolerance = {info.name: reorder_tolerance(block, hardware, dtype, room_bytes, memo)
                 for block in blocks for info in block.infos}
    units = [(block.expand.index, block.infos[-1].index) for block in blocks]
    return blocks, plan_residency(network, hardware, room_bytes, dtype.bytes,
                                  dtype.accumulator_bits // 8, never, tolerance,
                                  units)
