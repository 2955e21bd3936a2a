"""Receptive-field arithmetic: which part of each input a region of a layer's output needs.

Regions are half-open rectangles of rows and columns of one feature map, in that map's own
coordinates. Clipping to the map leaves the remainder as explicit zero padding, so a layer run
on a region with :func:`input_window` reproduces exactly the rows and columns a whole-map run
would produce there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.workload.layers import (
    Add,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    ConvLayer,
    LayerError,
    LocalResponseNorm,
    Mul,
    PoolLayer,
)
from sim.workload.network import LayerInfo


@dataclass(frozen=True)
class Region:
    """Rows [row0, row1) and columns [col0, col1) of a feature map."""

    row0: int
    row1: int
    col0: int
    col1: int

    @property
    def height(self) -> int:
        return self.row1 - self.row0

    @property
    def width(self) -> int:
        return self.col1 - self.col0

    @property
    def pixels(self) -> int:
        return (self.row1 - self.row0) * (self.col1 - self.col0)

    def union(self, other: Region) -> Region:
        """The bounding box of both regions."""
        return Region(min(self.row0, other.row0), max(self.row1, other.row1),
                      min(self.col0, other.col0), max(self.col1, other.col1))


@dataclass(frozen=True)
class Window:
    """The input rows/columns a layer reads for an output region, and the zero padding around them.

    ``region`` lies inside the input map; ``padding`` is (top, bottom, left, right) in elements.
    """

    region: Region
    padding: tuple[int, int, int, int]


def spatial_params(info: LayerInfo) -> tuple[tuple[int, int], tuple[int, int],
                                            tuple[int, int, int, int], tuple[int, int]]:
    """(kernel, stride, padding, dilation) of a spatial layer; raises for non-spatial layers."""
    layer = info.layer
    if isinstance(layer, ConvLayer):
        geometry = layer.geometry(info.input_shapes[0].channels)
        return geometry.kernel, geometry.stride, geometry.padding, geometry.dilation
    if isinstance(layer, PoolLayer):
        assert layer.stride is not None
        return layer.kernel, layer.stride, layer.padding, (1, 1)
    if isinstance(layer, Add | Mul | Concat | ChannelSlice | ChannelShuffle | LocalResponseNorm):
        # Position by position: each output pixel reads the same pixel of every input.
        return (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)
    raise LayerError(layer.name, "kind",
                     f"{layer.kind} mixes all positions; it cannot run on a spatial region")


def _axis(start: int, stop: int, size: int, kernel: int, stride: int, pad_before: int,
          dilation: int) -> tuple[int, int, int, int]:
    """Input span [lo, hi) clipped to [0, size), with (pad_before, pad_after) outside it."""
    want_lo = start * stride - pad_before
    want_hi = (stop - 1) * stride - pad_before + dilation * (kernel - 1) + 1
    lo, hi = max(0, want_lo), min(size, want_hi)
    return lo, hi, lo - want_lo, want_hi - hi


def input_window(info: LayerInfo, out: Region) -> Window:
    """The part of the layer's (first) input that produces output region ``out``."""
    kernel, stride, padding, dilation = spatial_params(info)
    shape = info.input_shapes[0]
    top, bottom, left, right = padding
    r0, r1, pad_top, pad_bottom = _axis(out.row0, out.row1, shape.height, kernel[0], stride[0],
                                        top, dilation[0])
    c0, c1, pad_left, pad_right = _axis(out.col0, out.col1, shape.width, kernel[1], stride[1],
                                        left, dilation[1])
    return Window(Region(r0, r1, c0, c1), (pad_top, pad_bottom, pad_left, pad_right))


Run = tuple[int, int]  # (first, count) of consecutive positions along one axis


def read_runs(start: int, stop: int, size: int, kernel: int, stride: int, pad_before: int,
              dilation: int) -> tuple[Run, ...]:
    """The input positions along one axis that outputs [start, stop) read (``o * stride +
    k * dilation - pad_before`` for every output ``o`` and kernel tap ``k``, inside
    [0, size)), as runs of consecutive positions in increasing order."""
    read = sorted({o * stride + k * dilation - pad_before for o in range(start, stop)
                   for k in range(kernel)} & set(range(size)))
    runs: list[Run] = []
    for position in read:
        if runs and runs[-1][0] + runs[-1][1] == position:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((position, 1))
    return tuple(runs)


@dataclass(frozen=True)
class GatheredWindow:
    """Only the input rows and columns an output region reads: ``rows`` x ``cols`` runs of
    positions of the layer's input map (a stride larger than the kernel skips the others)."""

    rows: tuple[Run, ...]
    cols: tuple[Run, ...]

    @property
    def height(self) -> int:
        return sum(count for _, count in self.rows)

    @property
    def width(self) -> int:
        return sum(count for _, count in self.cols)

    @property
    def pixels(self) -> int:
        return self.height * self.width


def gathers(info: LayerInfo) -> bool:
    """Does some output region of the layer skip input rows or columns inside its window (a
    spatial layer whose kernel is smaller than its stride along some axis)?"""
    try:
        kernel, stride, _, _ = spatial_params(info)
    except LayerError:
        return False
    return len(info.inputs) == 1 and (kernel[0] < stride[0] or kernel[1] < stride[1])


def gathered_window(info: LayerInfo, out: Region) -> GatheredWindow:
    """The rows and columns of the layer's (only) input that output region ``out`` reads."""
    kernel, stride, padding, dilation = spatial_params(info)
    shape = info.input_shapes[0]
    top, _, left, _ = padding
    return GatheredWindow(
        read_runs(out.row0, out.row1, shape.height, kernel[0], stride[0], top, dilation[0]),
        read_runs(out.col0, out.col1, shape.width, kernel[1], stride[1], left, dilation[1]))


def input_windows(info: LayerInfo, regions: list[Region]) -> list[Region]:
    """``input_window(info, out).region`` for every ``out`` of ``regions``, each axis span
    computed once (regions of a plan share their rows and columns)."""
    kernel, stride, padding, dilation = spatial_params(info)
    shape = info.input_shapes[0]
    top, _, left, _ = padding
    rows: dict[tuple[int, int], tuple[int, int]] = {}
    cols: dict[tuple[int, int], tuple[int, int]] = {}
    windows = []
    for out in regions:
        row_key, col_key = (out.row0, out.row1), (out.col0, out.col1)
        row_span = rows.get(row_key)
        if row_span is None:
            row_span = rows[row_key] = _axis(out.row0, out.row1, shape.height, kernel[0],
                                             stride[0], top, dilation[0])[:2]
        col_span = cols.get(col_key)
        if col_span is None:
            col_span = cols[col_key] = _axis(out.col0, out.col1, shape.width, kernel[1],
                                             stride[1], left, dilation[1])[:2]
        windows.append(Region(row_span[0], row_span[1], col_span[0], col_span[1]))
    return windows


def source_region(info: LayerInfo, position: int, out: Region) -> Region:
    """The region of input ``position`` that output region ``out`` needs: the window of
    :func:`input_window`, or the whole 1 x 1 map of a broadcast ``mul`` operand."""
    layer = info.layer
    if isinstance(layer, Mul) and layer.broadcast_inputs(list(info.input_shapes))[position]:
        return Region(0, 1, 0, 1)
    return input_window(info, out).region


def split(height: int, width: int, rows: int, cols: int) -> list[Region]:
    """``rows`` x ``cols`` patches tiling a height x width map, sizes differing by at most one."""
    if rows > height or cols > width:
        raise ValueError(f"cannot split {height}x{width} into {rows}x{cols} non-empty patches")
    row_edges = [height * i // rows for i in range(rows + 1)]
    col_edges = [width * j // cols for j in range(cols + 1)]
    return [
        Region(row_edges[i], row_edges[i + 1], col_edges[j], col_edges[j + 1])
        for i in range(rows) for j in range(cols)
    ]


def propagate(infos, output: str, out_region: Region) -> dict[str, Region]:
    """Regions every tensor read by ``infos`` (consecutive layers ending with ``output``) must
    hold so that ``output`` gets ``out_region``: exact receptive fields, propagated backwards,
    the bounding box where a tensor feeds several layers. Tensors produced before ``infos``
    appear as keys too (the group's inputs)."""
    needed = {output: out_region}
    for info in reversed(infos):
        region = needed.get(info.name)
        if region is None:
            continue  # not needed for this output region (a dead branch)
        for position, source in enumerate(info.inputs):
            window = source_region(info, position, region)
            needed[source] = needed[source].union(window) if source in needed else window
    return needed
