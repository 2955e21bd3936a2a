"""A layer mapping's DRAM traffic in closed form, per operand, without emitting its tiles.

For every candidate mapping the search needs the bytes each operand asks for, the bytes that
move on the bus (whole bursts: a request touching part of a burst moves all of it) and the
number of requests. They follow from the tile grid, the receptive field along each axis and the
tensors' NHWC layout:

- a window spanning whole map rows is one request; otherwise one request per map row; a channel
  slice is one request per pixel; a gathered window (``gather``) is one request per run of read
  pixels in each read row (:meth:`DramLayout.gathered_requests`);
- a request at byte address ``a`` of ``s`` bytes moves ``ceil((a + s) / b) - floor(a / b)``
  bursts of ``b`` bytes. Rows of a map start ``row_bytes`` apart and pixels ``pixel_bytes``
  apart, so the burst count of consecutive pixels repeats with period
  ``b / gcd(pixel_bytes, b)``: the layout's own costs (:meth:`DramLayout.region_cost`,
  :meth:`DramLayout.channel_cost`, :func:`sim.schedule.strided_bursts`) sum one period.

:func:`layer_traffic` is exact: it equals what the emitted tiles move (a property test compares
them on random layers and mappings). :func:`requested_floor` is the cheap part (asked-for bytes,
separable over rows and columns) that orders and prunes the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from math import ceil

from sim.mapper.grid import Grid, Span, make_grid
from sim.mapper.layer_mapping import LayerMapping
from sim.schedule import OPERANDS, DramLayout, psum_name, row_groups, strided_bursts
from sim.techniques.channel_blocks import filter_passes, k_slices, reduction, weight_slice
from sim.techniques.layer_tiles import Residency, is_channelwise, layer_geometry
from sim.techniques.receptive import GatheredWindow, Region, Run
from sim.workload.layers import FullyConnected
from sim.workload.network import LayerInfo


@dataclass
class Traffic:
    """DRAM bytes asked for and moved (whole bursts) per operand, and the request count."""

    requested: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPERANDS, 0))
    bus: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OPERANDS, 0))
    requests: int = 0

    @property
    def bus_bytes(self) -> int:
        return sum(self.bus.values())

    @property
    def requested_bytes(self) -> int:
        return sum(self.requested.values())


class Moves:
    """Adds requests to a :class:`Traffic`, the way :class:`DramLayout` would cut them."""

    def __init__(self, layout: DramLayout, burst: int) -> None:
        self.layout = layout
        self.burst = burst
        self.traffic = Traffic()

    def _add(self, operand: str, requested: int, bus_bursts: int, requests: int) -> None:
        self.traffic.requested[operand] += requested
        self.traffic.bus[operand] += bus_bursts * self.burst
        self.traffic.requests += requests

    def region(self, tensor: str, rows: Span, cols: Span, operand: str, times: int = 1) -> None:
        """``times`` x the requests of rows x cols of a tensor (all channels)."""
        (row0, height), (col0, width) = rows, cols
        if height * width == 0 or times == 0:
            return
        place = self.layout.place(tensor)
        bursts, requests = self.layout.region_cost(
            tensor, Region(row0, row0 + height, col0, col0 + width), self.burst)
        self._add(operand, times * height * width * place.pixel_bytes, times * bursts,
                  times * requests)

    def grid(self, tensor: str, rows: list[Span], cols: list[Span], operand: str,
             times: int = 1) -> None:
        """``times`` x the requests of every tile rows[i] x cols[j] (all channels). When map
        rows start on burst boundaries, a tile's bursts are its rows times one row's, so the
        sum separates into rows x columns."""
        place = self.layout.place(tensor)
        pixel = place.pixel_bytes
        if place.row_bytes % self.burst or any(c0 == 0 and w == place.width for c0, w in cols):
            for span in rows:
                for other in cols:
                    self.region(tensor, span, other, operand, times)
            return
        heights = sum(h for _, h in rows)
        pixels = sum(w for _, w in cols)
        bursts = sum(strided_bursts(place.base + c0 * pixel, w * pixel, 1, 0, self.burst)
                     for c0, w in cols if w)
        self._add(operand, times * heights * pixels * pixel, times * heights * bursts,
                  times * heights * sum(1 for _, w in cols if w))

    def channels(self, tensor: str, rows: Span, cols: Span, first: int, end: int,
                 operand: str, times: int = 1) -> None:
        """``times`` x channels [first, end) of rows x cols: one request per pixel."""
        (row0, height), (col0, width) = rows, cols
        if height * width == 0 or times == 0:
            return
        place = self.layout.place(tensor)
        channels = place.channels if first == 0 and end >= place.channels else end - first
        bursts, requests = self.layout.channel_cost(
            tensor, Region(row0, row0 + height, col0, col0 + width), first, end, self.burst)
        self._add(operand, times * height * width * channels * place.element_bytes,
                  times * bursts, times * requests)

    def channel_grid(self, tensor: str, rows: list[Span], cols: list[Span], first: int,
                     end: int, operand: str, times: int = 1) -> None:
        """``times`` x channels [first, end) of every tile rows[i] x cols[j]. When a map row
        is a whole number of bursts, a pixel's bursts depend on its column only, so the sum
        separates into rows x columns."""
        place = self.layout.place(tensor)
        if first == 0 and end >= place.channels:
            self.grid(tensor, rows, cols, operand, times)
            return
        pitch = place.pixel_bytes
        if place.row_bytes % self.burst:
            for span in rows:
                for other in cols:
                    self.channels(tensor, span, other, first, end, operand, times)
            return
        base = place.base + first * place.element_bytes
        size = (end - first) * place.element_bytes
        heights = sum(h for _, h in rows)
        pixels = heights * sum(w for _, w in cols)
        bursts = sum(strided_bursts(base + c0 * pitch, size, w, pitch, self.burst)
                     for c0, w in cols if w)
        self._add(operand, times * pixels * size, times * heights * bursts, times * pixels)

    def gathered_grid(self, tensor: str, rows: tuple[tuple[Run, ...], ...],
                      cols: tuple[tuple[Run, ...], ...], first: int, end: int, operand: str,
                      times: int = 1) -> None:
        """``times`` x channels [first, end) of every gathered window rows[i] x cols[j]
        (:meth:`DramLayout.gathered_requests`). When map rows start on burst boundaries and no
        window spans whole map rows, each read row of a window costs the same, so the sum
        separates into read rows x one row's requests per column band."""
        layout = self.layout
        shape = layout.network.tensor_shape(tensor)
        dtype = layout.dtype_bytes
        every_channel = first == 0 and end >= shape.channels
        channels = shape.channels if every_channel else end - first
        pixel = shape.channels * dtype
        whole_rows = ((0, shape.width),)
        if (shape.width * pixel) % self.burst or whole_rows in cols:
            for row_runs in rows:
                for col_runs in cols:
                    window = GatheredWindow(row_runs, col_runs)
                    bursts, requests = layout.gathered_cost(tensor, window, first, end,
                                                            self.burst)
                    self._add(operand, times * window.pixels * channels * dtype,
                              times * bursts, times * requests)
            return
        base = layout.tensor_base(tensor) + (0 if every_channel else first * dtype)
        heights = sum(count for runs in rows for _, count in runs)
        pixels = bursts = requests = 0
        for col_runs in cols:
            window = GatheredWindow(((0, 1),), col_runs)
            pixels += window.width
            for offset, size, count, pitch in row_groups(window, pixel, channels * dtype,
                                                         every_channel):
                bursts += strided_bursts(base + offset, size, count, pitch, self.burst)
                requests += count
        self._add(operand, times * heights * pixels * channels * dtype,
                  times * heights * bursts, times * heights * requests)

    def weights(self, layer: str, first_byte: int, size_bytes: int, times: int = 1) -> None:
        if size_bytes == 0 or times == 0:
            return
        layout = self.layout
        size = layout.weights.scaled(size_bytes, layout.network[layer].params,
                                     layout.dtype_bytes)
        bursts, requests = layout.weight_cost(layer, first_byte, size_bytes, self.burst)
        self._add("weight", times * size, times * bursts, times * requests)

    def flat(self, tensor: str, first: int, size: int, operand: str, times: int = 1) -> None:
        """A contiguous run of a tensor (a fully connected layer's input features)."""
        address = self.layout.tensor_base(tensor) + first
        self._add(operand, times * size, times * strided_bursts(address, size, 1, 0, self.burst),
                  times)


def layer_traffic(info: LayerInfo, mapping: LayerMapping, layout: DramLayout,
                  residency: Residency, burst_bytes: int, grid: Grid | None = None) -> Traffic:
    """Exactly the DRAM requests the mapping's tiles make (see :mod:`sim.mapper.emit`);
    ``grid`` is the mapping's grid when the caller has it."""
    if grid is None:
        grid = make_grid(info, mapping.tile_rows, mapping.tile_cols, mapping.split)
    moves = Moves(layout, burst_bytes)
    if mapping.stationary == "output":
        _k_blocked(moves, info, mapping, layout, residency, grid)
    elif mapping.spills:
        _spilled(moves, info, mapping, layout, residency, grid)
    elif mapping.stationary == "weight" and mapping.filter_blocks > 1 \
            and not is_channelwise(info):
        _weight_order(moves, info, mapping, layout, residency, grid)
    else:
        _input_order(moves, info, mapping, layout, residency, grid)
    return moves.traffic


def _windows(grid: Grid, position: int, halo_reuse: bool) -> tuple[list[Span], list[Span]]:
    """Row spans and column spans of the tiles' fetched windows of input ``position``."""
    cols = grid.cols.fetched[position] if halo_reuse else grid.cols.spans[position]
    return list(grid.rows.spans[position]), list(cols)


def _fetch_whole(moves: Moves, grid: Grid, mapping: LayerMapping, position: int, source: str,
                 times: int = 1) -> None:
    """``times`` x every tile's window of input ``position`` (all channels): gathered, or
    dense with the mapping's halo reuse."""
    if mapping.gather:
        moves.gathered_grid(source, grid.rows.reads, grid.cols.reads, 0,
                            moves.layout.network.tensor_shape(source).channels, "ifmap", times)
    else:
        moves.grid(source, *_windows(grid, position, mapping.halo_reuse), "ifmap", times)


def _out_spans(grid: Grid) -> tuple[list[Span], list[Span]]:
    return ([(a, b - a) for a, b in pairwise(grid.rows.edges)],
            [(a, b - a) for a, b in pairwise(grid.cols.edges)])


def _whole(info: LayerInfo) -> tuple[Span, Span]:
    shape = info.output_shape
    return (0, shape.height), (0, shape.width)


def _input_order(moves: Moves, info: LayerInfo, mapping: LayerMapping, layout: DramLayout,
                 residency: Residency, grid: Grid) -> None:
    geometry = layer_geometry(info, layout.dtype_bytes)
    blocks = mapping.filter_blocks
    out_channels = info.output_shape.channels
    channel_blocks = is_channelwise(info) and blocks > 1
    stored = info.name not in residency.on_chip
    sources = [(p, s) for p, s in enumerate(info.inputs) if s not in residency.on_chip]
    if channel_blocks:
        per_block = ceil(out_channels / blocks)
        for block in range(blocks):
            first = block * per_block
            end = min(out_channels, first + per_block)
            for position, source in sources:
                if mapping.gather:
                    moves.gathered_grid(source, grid.rows.reads, grid.cols.reads, first, end,
                                        "ifmap")
                else:
                    moves.channel_grid(source, *_windows(grid, position, False), first, end,
                                       "ifmap")
            if geometry.filters:
                moves.weights(info.name, first * geometry.filter_bytes,
                              (end - first) * geometry.filter_bytes, times=grid.count)
            if stored:
                moves.channels(info.name, *_whole(info), first, end, "ofmap")
        return
    for position, source in sources:
        _fetch_whole(moves, grid, mapping, position, source)
    block_filters = ceil(geometry.filters / blocks) if geometry.filters else 0
    if blocks <= 1:
        if geometry.weight_bytes:
            moves.weights(info.name, 0, geometry.weight_bytes)
        if stored:
            moves.grid(info.name, *_out_spans(grid), "ofmap")
        return
    for block in range(blocks):
        first_filter = block * block_filters
        filters = max(0, min(block_filters, geometry.filters - first_filter))
        if geometry.weight_bytes:
            moves.weights(info.name, first_filter * geometry.filter_bytes * geometry.groups,
                          filters * geometry.filter_bytes * geometry.groups, times=grid.count)
        if stored:
            first_channel = first_filter * geometry.groups
            moves.channels(info.name, *_whole(info), first_channel,
                           first_channel + filters * geometry.groups, "ofmap")


def _weight_order(moves: Moves, info: LayerInfo, mapping: LayerMapping, layout: DramLayout,
                  residency: Residency, grid: Grid) -> None:
    geometry = layer_geometry(info, layout.dtype_bytes)
    blocks = mapping.filter_blocks
    block_filters = ceil(geometry.filters / blocks)
    stored = info.name not in residency.on_chip
    passes = sum(1 for b in range(blocks) if b * block_filters < geometry.filters)
    for position, source in enumerate(info.inputs):
        if source in residency.on_chip:
            continue
        _fetch_whole(moves, grid, mapping, position, source, times=passes)
    for block in range(passes):
        first_filter = block * block_filters
        filters = min(block_filters, geometry.filters - first_filter)
        moves.weights(info.name, first_filter * geometry.filter_bytes * geometry.groups,
                      filters * geometry.filter_bytes * geometry.groups)
        if stored:
            first_channel = first_filter * geometry.groups
            moves.channels(info.name, *_whole(info), first_channel,
                           first_channel + filters * geometry.groups, "ofmap")


def _k_blocked(moves: Moves, info: LayerInfo, mapping: LayerMapping, layout: DramLayout,
               residency: Residency, grid: Grid) -> None:
    dtype = layout.dtype_bytes
    geometry = layer_geometry(info, dtype)
    items, _ = reduction(info)
    k_blocks = mapping.input_channel_blocks
    filter_blocks = mapping.filter_blocks
    per_block = ceil(items / k_blocks)
    block_filters = ceil(geometry.filters / filter_blocks)
    source = info.inputs[0]
    stored = info.name not in residency.on_chip
    steps = [(k * per_block, min(items, (k + 1) * per_block)) for k in range(k_blocks)
             if k * per_block < items]
    passes = []
    for block in range(filter_blocks):
        first_filter = block * block_filters
        filters = min(block_filters, geometry.filters - first_filter)
        if filters > 0:
            passes.append((first_filter, filters))
    for first, end in steps:
        if isinstance(info.layer, FullyConnected):
            moves.flat(source, first * dtype, (end - first) * dtype, "ifmap", times=len(passes))
        elif mapping.gather:
            moves.gathered_grid(source, grid.rows.reads, grid.cols.reads, first, end, "ifmap",
                                times=len(passes))
        else:
            moves.channel_grid(source, *_windows(grid, 0, False), first, end, "ifmap",
                               times=len(passes))
    for first_filter, filters in passes:
        block_low = geometry.weight_bytes * first_filter // geometry.filters
        block_bytes = (geometry.weight_bytes * (first_filter + filters)
                       // geometry.filters - block_low)
        for first, end in steps:
            moves.weights(info.name, block_low + block_bytes * first // items,
                          block_bytes * end // items - block_bytes * first // items,
                          times=grid.count)
        if stored and filter_blocks > 1:
            moves.channels(info.name, *_whole(info), first_filter, first_filter + filters,
                           "ofmap")
    if stored and filter_blocks == 1:
        moves.grid(info.name, *_out_spans(grid), "ofmap")


def _spilled(moves: Moves, info: LayerInfo, mapping: LayerMapping, layout: DramLayout,
             residency: Residency, grid: Grid) -> None:
    """Filter blocks outside, input-channel slices next, tiles inside (partial sums spilled):
    every tile's window slice once per filter block, every weight slice once, and per filter
    block the partial sums of every tile written after each slice but the last and read back
    before each slice but the first; a channel slice of the scratch or the output is one
    request per pixel, so its tiles together cost what the whole map's slice costs."""
    dtype = layout.dtype_bytes
    items, _ = reduction(info)
    steps = k_slices(items, mapping.input_channel_blocks)
    passes = filter_passes(info, mapping.filter_blocks, dtype)
    source = info.inputs[0]
    stored = info.name not in residency.on_chip
    scratch = psum_name(info.name)
    spills = 2 * (len(steps) - 1)  # each spilled slice is written once and read once
    for first, end in steps:
        if isinstance(info.layer, FullyConnected):
            moves.flat(source, first * dtype, (end - first) * dtype, "ifmap",
                       times=len(passes) * grid.count)
        else:
            moves.channel_grid(source, *_windows(grid, 0, False), first, end, "ifmap",
                               times=len(passes))
    for first_filter, filters, block_low, block_bytes in passes:
        for first, end in steps:
            moves.weights(info.name, *weight_slice(block_low, block_bytes, first, end, items))
        if mapping.filter_blocks == 1:
            moves.grid(scratch, *_out_spans(grid), "ofmap", times=spills)
            if stored:
                moves.grid(info.name, *_out_spans(grid), "ofmap")
            continue
        moves.channels(scratch, *_whole(info), first_filter, first_filter + filters, "ofmap",
                       times=spills)
        if stored:
            moves.channels(info.name, *_whole(info), first_filter, first_filter + filters,
                           "ofmap")
