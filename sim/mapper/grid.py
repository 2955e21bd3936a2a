"""The tile grid of a mapping, axis by axis: where the tiles are cut, which input rows and
columns each needs, and the sums and maxima the search needs without visiting every tile.

A tile's input window is the product of its row band's input rows and its column band's input
columns (receptive fields are separable), so a grid of ``R x C`` tiles is described by ``R + C``
spans per input.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from math import ceil

from sim.techniques.layer_tiles import input_region
from sim.techniques.receptive import Region, Run, gathers, read_runs, spatial_params
from sim.workload.layers import FullyConnected, GlobalAvgPool
from sim.workload.network import LayerInfo

Span = tuple[int, int]  # (first, count) along one axis


def edges(size: int, tile: int, split: str) -> list[int]:
    """Cut positions of a ``size``-long axis into tiles of at most ``tile``."""
    tile = max(1, min(tile, size))
    if split == "even":
        count = ceil(size / tile)
        return [size * i // count for i in range(count + 1)]
    return [*range(0, size, tile), size]


def whole_map(info: LayerInfo) -> bool:
    """Layers that read their whole input for any output (one tile)."""
    return isinstance(info.layer, FullyConnected | GlobalAvgPool)


@dataclass(frozen=True)
class Axis:
    """One axis of a grid: output band edges and, per input position, each band's input span
    and (columns only) the span fetched when the previous band's halo is reused."""

    edges: tuple[int, ...]
    spans: tuple[tuple[Span, ...], ...]
    fetched: tuple[tuple[Span, ...], ...]
    # Per band, the runs of input positions it reads (the only input of a layer that
    # :func:`gathers`; empty for other layers).
    reads: tuple[tuple[Run, ...], ...] = ()

    def read_counts(self) -> list[int]:
        """Input positions each band reads (its gathered window's extent along this axis)."""
        return [sum(count for _, count in runs) for runs in self.reads]

    @property
    def sizes(self) -> list[int]:
        return [b - a for a, b in pairwise(self.edges)]


def _axis(info: LayerInfo, rows: bool, tile: int, split: str) -> Axis:
    height, width = info.output_shape.height, info.output_shape.width
    cuts = (0, height if rows else width) if whole_map(info) else tuple(
        edges(height if rows else width, tile, split))
    spans, fetched = [], []
    for position in range(len(info.inputs)):
        windows = []
        for a, b in pairwise(cuts):
            band = Region(a, b, 0, width) if rows else Region(0, height, a, b)
            window = input_region(info, band, position)
            windows.append((window.row0, window.height) if rows else (window.col0, window.width))
        spans.append(tuple(windows))
        # Halo reuse (columns, within a row band): after the first window, fetch only the
        # columns past the previous one (as sim.techniques.layer_tiles.halo_fetch does).
        cut = [windows[0]]
        for (first, count), (start, size) in pairwise(windows):
            end = first + count
            cut.append((end, start + size - end) if first < start < end else (start, size))
        fetched.append(tuple(cut))
    return Axis(cuts, tuple(spans), tuple(fetched), _reads(info, rows, cuts))


def _reads(info: LayerInfo, rows: bool, cuts: tuple[int, ...]) -> tuple[tuple[Run, ...], ...]:
    """Per band between ``cuts``, the runs of input positions it reads along the axis."""
    if not gathers(info):
        return ()
    kernel, stride, padding, dilation = spatial_params(info)
    axis = 0 if rows else 1
    shape = info.input_shapes[0]
    size = shape.height if rows else shape.width
    pad = padding[0] if rows else padding[2]
    return tuple(read_runs(a, b, size, kernel[axis], stride[axis], pad, dilation[axis])
                 for a, b in pairwise(cuts))


@dataclass(frozen=True)
class Grid:
    """The tiles of one layer's output: ``rows`` bands x ``cols`` bands, row-major."""

    rows: Axis
    cols: Axis

    @cached_property
    def count(self) -> int:
        return (len(self.rows.edges) - 1) * (len(self.cols.edges) - 1)

    @cached_property
    def largest_output(self) -> int:
        return max(self.rows.sizes) * max(self.cols.sizes)

    @cached_property
    def largest_window(self) -> int:
        """Pixels of the largest window of the first input (it sizes the tile)."""
        return max(c for _, c in self.rows.spans[0]) * max(c for _, c in self.cols.spans[0])

    @cached_property
    def largest_gathered(self) -> int:
        """Pixels of the largest gathered window (layers that :func:`gathers` only)."""
        return max(self.rows.read_counts()) * max(self.cols.read_counts())

    @cached_property
    def gathered_pixels(self) -> int:
        """Input pixels all gathered windows hold together."""
        return sum(self.rows.read_counts()) * sum(self.cols.read_counts())

    def window_pixels(self, position: int, halo_reuse: bool) -> int:
        """Input pixels of ``position`` that all tiles fetch."""
        cols = self.cols.fetched[position] if halo_reuse else self.cols.spans[position]
        return sum(c for _, c in self.rows.spans[position]) * sum(c for _, c in cols)

    def tile_classes(self) -> Counter:
        """How many tiles have each output size (pixels)."""
        heights, widths = Counter(self.rows.sizes), Counter(self.cols.sizes)
        classes: Counter = Counter()
        for height, rows in heights.items():
            for width, cols in widths.items():
                classes[height * width] += rows * cols
        return classes


class GridMaker:
    """Grids of one layer, sharing the axes that several grids have in common."""

    def __init__(self, info: LayerInfo) -> None:
        self.info = info
        self._axes: dict[tuple[bool, int, str], Axis] = {}

    def axis(self, rows: bool, tile: int, split: str) -> Axis:
        key = (rows, tile, split)
        if key not in self._axes:
            self._axes[key] = _axis(self.info, rows, tile, split)
        return self._axes[key]

    def grid(self, tile_rows: int, tile_cols: int, split: str) -> Grid:
        return Grid(self.axis(True, tile_rows, split), self.axis(False, tile_cols, split))


def make_grid(info: LayerInfo, tile_rows: int, tile_cols: int, split: str) -> Grid:
    return GridMaker(info).grid(tile_rows, tile_cols, split)
