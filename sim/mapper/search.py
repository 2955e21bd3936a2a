"""The best mapping of one layer, under its buffers and the feature maps kept beside it.

The space (:func:`layer_space`): tile grids (every tile height ``ceil(H / n)`` and width
``ceil(W / n)``, cut ``fixed`` from the corner or ``even``), the three loop orders at the buffer
level (input-, weight-, output-stationary, the last with input channels blocked and partial sums
kept on chip at accumulator width), weight-stationary with input channels blocked and partial
sums spilled to DRAM (:data:`SPILLED`, where the plain ``weight`` order does not fit the same
grid and filter blocks), and per grid and order the two smallest filter-block counts that fit
(more blocks only cut requests smaller and fetch inputs again), each with the smallest
input-channel block count that fits; the counts tried are the doubling ones and those whose
blocks fill the array's filter lanes (:func:`lane_counts`), and besides them the fewest filter
and input-channel blocks that fit at all (found by bisection between the counts tried). Halo
columns are always reused where the order allows (a narrower request never touches more bursts).
On a layer whose kernel is smaller than its stride every order is tried with gathered windows
too (only the pixels a tile reads, :mod:`sim.mapper.layer_mapping`): they can touch more bursts
than the dense rows, so the bus bytes decide. A layer with at most :data:`EXHAUSTIVE_CANDIDATES`
mappings is searched over all of them instead: every tile height and width, every filter- and
input-channel block count. Tiles only grow with their width, and so does what they need on chip,
so per tile height and order the widths are tried from the narrowest up and the first where
nothing fits ends the row.

Every candidate that fits the declared buffers (:func:`sim.mapper.emit.overflow`) gets a floor
under its bus bytes: the bytes it asks for (:func:`requested_floor`, summed axis by axis).
Candidates are then visited in order of that floor and costed exactly
(:func:`sim.mapper.traffic.layer_traffic`) until no floor left can beat the best, so the
search returns the optimum of its space for ``dram_bytes``. For ``energy``, ``latency`` and
``edp`` the few best by a closed-form estimate, and the few with the fewest compute cycles, are
run through the cycle-level engine (:func:`sim.pipeline.run_pipeline`, layer alone) and the
best measured one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.capacity import Budget
from sim.config import ConfigError
from sim.dtypes import DType
from sim.energy import layer_energy_pj
from sim.hardware import HardwareSpec
from sim.mapper.emit import canonical, emit, tile_demand
from sim.mapper.grid import Grid, GridMaker, whole_map
from sim.mapper.layer_mapping import LayerMapping
from sim.mapper.traffic import Traffic, layer_traffic
from sim.mapping import tile_compute
from sim.pipeline import run_pipeline
from sim.schedule import DramLayout, Tile
from sim.techniques.channel_blocks import blockable, reduction, slice_count
from sim.techniques.layer_tiles import Residency, is_channelwise, layer_geometry
from sim.techniques.layerwise import block_counts
from sim.techniques.receptive import gathers
from sim.workload.network import LayerInfo

OBJECTIVES = ("dram_bytes", "energy", "latency", "edp")
SPILLED = "spilled"  # the search's name for ``weight`` with input channels blocked
ENGINE_CANDIDATES = 4  # per ranking, candidates run through the engine (energy, latency, edp)


class SearchMemo:
    """What a layer's search computes that depends only on the layer, the mapping and which of
    the layer's own inputs and output are resident, not on how many resident bytes sit beside
    it: the resident bytes a tile fits beside (by what its demand depends on), each mapping's
    floor and exact traffic. ``auto`` searches a layer once per feature-map room; these carry
    over."""

    def __init__(self) -> None:
        self.traffic: dict[tuple, Traffic] = {}
        self.room: dict[tuple, int | None] = {}
        self.floor: dict[tuple, int] = {}
        self.segments: dict[tuple, object] = {}  # fused runs' best, by what they depend on

    @staticmethod
    def layer_key(info: LayerInfo, residency: Residency) -> tuple:
        return (info.name, residency.buffer,
                frozenset(n for n in (*info.inputs, info.name) if n in residency.on_chip))


@dataclass(frozen=True)
class Choice:
    """A layer's chosen mapping and its exact traffic (its tiles: :func:`emit`)."""

    mapping: LayerMapping
    traffic: Traffic


def tile_edges(size: int) -> list[int]:
    """Every distinct ``ceil(size / n)``, largest first (the tile edges worth trying)."""
    return sorted({ceil(size / n) for n in range(1, size + 1)}, reverse=True)


EXHAUSTIVE_CANDIDATES = 20_000  # at most this many mappings: search them all


def exhaustive(info: LayerInfo) -> bool:
    """Is the layer small enough to search every mapping (every tile edge, block count and
    input-channel block count)?"""
    most = _most_blocks(info)
    items = reduction(info)[0] if blockable(info) else 1
    tiles = 1 if whole_map(info) else info.output_shape.height * info.output_shape.width
    # Per grid and filter-block count: input, weight, and every input-channel block count
    # with partial sums on chip (output) or spilled (weight).
    return tiles * 2 * most * (2 + 2 * items) <= EXHAUSTIVE_CANDIDATES


def lane_counts(info: LayerInfo, hardware: HardwareSpec) -> list[int]:
    """Filter-block counts whose blocks fill the PE array's filter lanes (the columns of an
    ``os`` or ``ws`` array, a vector engine's Tout): ceil(M / (j x lanes)) for j = 1, 2, 4, ...
    With ceil(M / lanes) blocks every block is one column fold, so the layer runs as many folds
    as it would unblocked; doubling counts cut blocks a fold and a few filters wide instead."""
    pe = hardware.pe_array
    lanes = pe.vector_outputs if pe.kind == "vector" else (
        pe.cols if pe.dataflow in ("os", "os-overlap", "ws") else None)
    if not lanes or is_channelwise(info):
        return []
    filters = _most_blocks(info)
    counts = []
    width = lanes
    while width < filters:
        counts.append(ceil(filters / width))
        width *= 2
    return counts


def _most_blocks(info: LayerInfo) -> int:
    return (info.output_shape.channels if is_channelwise(info)
            else layer_geometry(info, 1).filters) or 1


def orders(info: LayerInfo) -> tuple[str, ...]:
    if is_channelwise(info) or not layer_geometry(info, 1).filters:
        return ("input",)
    return ("input", "weight", "output", SPILLED) if blockable(info) else ("input", "weight")


def loop_choices(info: LayerInfo) -> list[tuple[str, bool]]:
    """(loop order, gathered windows) pairs of the space: every order with dense windows, and
    with gathered ones too where the kernel is smaller than the stride (:func:`gathers`)."""
    windows = (False, True) if gathers(info) else (False,)
    return [(order, gather) for order in orders(info) for gather in windows
            if not (gather and order == SPILLED)]


def requested_floor(info: LayerInfo, grid: Grid, mapping: LayerMapping, layout: DramLayout,
                    residency: Residency) -> int:
    """The bytes the mapping asks for at least (all its requests, before rounding to bursts);
    exact for the usual layers, never above the exact count (tested)."""
    dtype = layout.dtype_bytes
    geometry = layer_geometry(info, dtype)
    weights = layout.weights.scaled(geometry.weight_bytes, info.params, dtype)
    fetched = 0
    halo = mapping.halo_reuse and mapping.input_channel_blocks == 1 and not (
        is_channelwise(info) and mapping.filter_blocks > 1)
    for position, (source, shape) in enumerate(zip(info.inputs, info.input_shapes,
                                                   strict=True)):
        if source in residency.on_chip:
            continue
        pixels = grid.gathered_pixels if mapping.gather else grid.window_pixels(position, halo)
        fetched += pixels * shape.channels * dtype
    out = 0 if info.name in residency.on_chip else info.output_shape.elements * dtype
    if mapping.spills:
        slices = slice_count(reduction(info)[0], mapping.input_channel_blocks)
        partial_sums = 2 * (slices - 1) * info.output_shape.elements * layout.accumulator_bytes
        return mapping.filter_blocks * fetched + weights + out + partial_sums
    if mapping.stationary == "output":
        return mapping.filter_blocks * fetched + grid.count * weights + out
    if mapping.filter_blocks == 1:
        return fetched + weights + out
    if mapping.stationary == "weight":
        return mapping.filter_blocks * fetched + weights + out
    return fetched + grid.count * weights + out


def _k_blocks(info: LayerInfo, every: bool) -> list[int]:
    items = reduction(info)[0]
    return list(range(2, items + 1)) if every else [c for c in block_counts(items) if c > 1]


def layer_space(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                residency: Residency, memo: SearchMemo | None = None
                ) -> list[tuple[int, LayerMapping, Grid]]:
    """(floor, mapping, grid) of every candidate that fits, unsorted (see the module
    docstring). A layer small enough (:func:`exhaustive`) gets every mapping."""
    every = exhaustive(info)
    most = _most_blocks(info)
    counts = list(range(1, most + 1)) if every else sorted(
        {*block_counts(most), *lane_counts(info, hardware)})
    space = []
    maker = GridMaker(info)
    memo = memo or SearchMemo()
    fitting = _Fitting(info, hardware, layout, residency, memo, every, counts)
    # A larger tile never fits where a smaller one does not (its window, weights and output
    # only grow), so per tile height and order the widths are tried from the narrowest up and
    # the first width where nothing fits ends that order.
    for rows, widths, split in _grid_rows(info, every):
        alive = loop_choices(info)
        for cols in widths:
            grid = maker.grid(rows, cols, split)
            for order, gather in list(alive):
                fits, found = fitting.new_mappings(grid, order, gather, rows, cols, split)
                if not fits:
                    alive.remove((order, gather))
                for mapping in found:
                    key = (fitting.layer_key, mapping)
                    if key not in memo.floor:
                        memo.floor[key] = requested_floor(info, grid, mapping, layout,
                                                          residency)
                    space.append((memo.floor[key], mapping, grid))
            if not alive:
                break
    return space


def _grid_rows(info: LayerInfo, every: bool) -> list[tuple[int, list[int], str]]:
    """Per tile height and split, the tile widths to try, narrowest first (both splits cut
    the same tiles where height and width divide evenly, so ``even`` leaves those out)."""
    if whole_map(info):
        return [(info.output_shape.height, [info.output_shape.width], "fixed")]
    height, width = info.output_shape.height, info.output_shape.width
    heights = range(height, 0, -1) if every else tile_edges(height)
    widths = sorted(range(1, width + 1) if every else tile_edges(width))
    result = []
    for rows in heights:
        result.append((rows, widths, "fixed"))
        even = [cols for cols in widths if height % rows or width % cols]
        if even:
            result.append((rows, even, "even"))
    return result


class _Fitting:
    """Which mappings of one layer fit its declared buffers beside the feature maps resident
    with it. A tile's demand depends only on the loop order, the block counts and the pixels
    of its largest window and output, so the room left beside it is kept in the memo under
    those, and a mapping object is made only for the mappings that fit."""

    def __init__(self, info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                 residency: Residency, memo: SearchMemo, every: bool, counts: list[int]
                 ) -> None:
        self.info = info
        self.pe = hardware.pe_array
        self.budget = Budget.of(hardware)
        self.dtype = layout.dtype_bytes
        self.accumulator = layout.accumulator_bytes
        self.residency = residency
        self.memo = memo
        self.every = every
        self.counts = counts  # filter-block counts, fewest first
        self.keep = len(counts) if every else 2  # block counts kept per grid and order
        self.beside = residency.layer_bytes.get(info.name, 0)
        self.layer_key = memo.layer_key(info, residency)
        self.k_counts = _k_blocks(info, every) if blockable(info) else []
        most = _most_blocks(info)
        items = reduction(info)[0] if blockable(info) else 1
        # Every input-channel block count from 2 and filter-block count without empty
        # blocks, fewest first.
        self.dense_k_counts = sorted({ceil(items / ceil(items / k))
                                      for k in range(2, items + 1)})
        self.dense_counts = sorted({ceil(most / ceil(most / blocks))
                                    for blocks in range(1, most + 1)})
        self.seen: set[LayerMapping] = set()
        self._canonical: dict[tuple[str, int, bool], LayerMapping] = {}

    def fits(self, stationary: str, blocks: int, k: int, window: int, pixels: int) -> bool:
        """Does a tile of this loop order and these block counts, whose largest window and
        output have these pixels, fit beside the layer's resident bytes?"""
        key = (self.layer_key, stationary, blocks, k, window, pixels)
        room = self.memo.room.get(key, -1)
        if room == -1:
            needs = tile_demand(self.info, stationary, blocks, k, window, pixels, self.pe,
                                self.dtype, self.accumulator, self.residency)
            room = None if needs is None else self.budget.resident_room(*needs)
            self.memo.room[key] = room
        return room is not None and self.beside <= room

    def canonical(self, order: str, blocks: int, gather: bool) -> LayerMapping:
        """The canonical ``input`` or ``weight`` mapping of these blocks and window kind, at a
        placeholder tile (canonical forms do not depend on the tile)."""
        key = (order, blocks, gather)
        if key not in self._canonical:
            self._canonical[key] = canonical(self.info, LayerMapping(
                self.info.name, 1, 1, "fixed", blocks, order, gather=gather))
        return self._canonical[key]

    def new_mappings(self, grid: Grid, order: str, gather: bool, rows: int, cols: int,
                     split: str) -> tuple[bool, list[LayerMapping]]:
        """Whether any mapping of one grid, order and window kind fits, and the new ones that
        do: the ``keep`` smallest filter-block counts (each with its fewest input-channel
        blocks, or every count when ``every``). A spilled mapping moves at least what the same
        grid and filter blocks move in the ``weight`` order (the same weights and outputs, the
        same windows cut into channel slices, partial sums besides), so a block count where
        that fits takes no spilled one."""
        found: list[LayerMapping] = []
        kept = 0
        below = 0  # the most blocks tried that do not fit, below the first count that does
        first = None
        for blocks in self.counts:
            if kept == self.keep:
                break
            fitting = self._at(grid, order, blocks, gather)
            if fitting is None:
                if first is None:
                    below = blocks
                continue
            kept += 1
            found += fitting
            first = blocks if first is None else first
        if first is not None and not self.every:
            # The fewest filter blocks that fit lie between the counts tried, which can step
            # over them (five blocks where the weight buffer holds a fifth of the filters:
            # inputs fetched five times instead of eight).
            fewest = self._fewest_blocks(grid, order, gather, below, first)
            if fewest != first:
                found += self._at(grid, order, fewest, gather) or []
        fresh = []
        for placed in found:
            mapping = LayerMapping(placed.layer, rows, cols, split, placed.filter_blocks,
                                   placed.stationary, placed.input_channel_blocks,
                                   placed.halo_reuse, placed.gather)
            if mapping not in self.seen:
                self.seen.add(mapping)
                fresh.append(mapping)
        return kept > 0, fresh

    def _at(self, grid: Grid, order: str, blocks: int, gather: bool
            ) -> list[LayerMapping] | None:
        """The mappings of one filter-block count that fit the grid (at a placeholder tile),
        or None when the count does not fit; an empty list for a spilled count where the
        ``weight`` order fits (it moves less)."""
        if order == SPILLED and self._plain(grid, "weight", blocks, False) is not None:
            return []
        if order in ("input", "weight"):
            mapping = self._plain(grid, order, blocks, gather)
            return [mapping] if mapping else None
        return self._blocked(grid, order, blocks, gather) or None

    def _fewest_blocks(self, grid: Grid, order: str, gather: bool, below: int, fitting: int
                       ) -> int:
        """The fewest filter blocks (without empty blocks) above ``below``, which does not
        fit, with which some mapping of the order fits the grid; ``fitting`` fits (bisection:
        fewer blocks only take more room)."""
        counts = [blocks for blocks in self.dense_counts if below < blocks < fitting]
        if not counts:
            return fitting

        def fits(blocks: int) -> bool:
            if order in ("input", "weight"):
                return self._plain(grid, order, blocks, gather) is not None
            stationary = "weight" if order == SPILLED else order
            window = (grid.largest_gathered if gather and order != SPILLED
                      else grid.largest_window)
            return any(self.fits(stationary, blocks, k, window, grid.largest_output)
                       for k in _extremes(order, self.k_counts))

        low, high = 0, len(counts)  # counts[high] stands for ``fitting``
        while low < high:
            middle = (low + high) // 2
            if fits(counts[middle]):
                high = middle
            else:
                low = middle + 1
        return counts[low] if low < len(counts) else fitting

    def _plain(self, grid: Grid, order: str, blocks: int, gather: bool) -> LayerMapping | None:
        """The ``input`` or ``weight`` mapping of these blocks when it fits the grid (at a
        placeholder tile), else None."""
        mapping = self.canonical(order, blocks, gather)
        window = grid.largest_gathered if mapping.gather else grid.largest_window
        fits = self.fits(mapping.stationary, mapping.filter_blocks, 1, window,
                         grid.largest_output)
        return mapping if fits else None

    def _blocked(self, grid: Grid, order: str, blocks: int, gather: bool
                 ) -> list[LayerMapping]:
        """The ``output`` or spilled mappings of these filter blocks that fit the grid (at a
        placeholder tile): the fewest input-channel blocks that fit among the counts tried and
        among all counts, or every count that fits when ``every``. Spilled windows are
        dense."""
        stationary = "weight" if order == SPILLED else order
        gather = gather and order != SPILLED
        window = grid.largest_gathered if gather else grid.largest_window
        pixels = grid.largest_output
        ks = self.k_counts
        if not self.every and not any(self.fits(stationary, blocks, k, window, pixels)
                                      for k in _extremes(order, ks)):
            return []

        def mapping(k: int) -> LayerMapping:
            return LayerMapping(self.info.name, 1, 1, "fixed", blocks, stationary, k, False,
                                gather)

        if self.every:
            return [mapping(k) for k in ks
                    if self.fits(stationary, blocks, k, window, pixels)]
        below = 1  # the most input-channel blocks tried that do not fit
        for k in ks:
            if self.fits(stationary, blocks, k, window, pixels):
                break
            below = k
        else:
            return []
        # The fewest input-channel blocks among those tried that fit, and the fewest of all
        # that fit, which the counts tried can step over (3 where 2 does not fit: spilled, a
        # third fewer partial sums moved than with 4). Above 2 slices a tile only shrinks
        # as the slices grow more, so bisection finds it.
        between = [count for count in self.dense_k_counts if below < count < k]
        low, high = 0, len(between)
        while low < high:
            middle = (low + high) // 2
            if self.fits(stationary, blocks, between[middle], window, pixels):
                high = middle
            else:
                low = middle + 1
        return [mapping(k)] + ([mapping(between[low])] if low < len(between) else [])


def _extremes(order: str, ks: list[int]) -> list[int]:
    """Input-channel block counts of one grid and filter-block count such that when none of
    them fits, none of ``ks`` does. With input channels blocked, a tile's window and weight
    slices only shrink as the blocks grow more, so the most blocks fit where any count does; a
    spilled tile of 2 slices streams its outputs at the data type's width instead of a second
    set of partial sums, so the fewest blocks are tried too."""
    if order == "output":
        return ks[-1:]
    return ks[:1] + ks[-1:]  # none when the layer has a single input channel


def _parts(total: int, blocks: int) -> list[int]:
    """Sizes of ``blocks`` blocks of ``ceil(total / blocks)`` (the last ones smaller), empty
    ones left out."""
    per = ceil(total / blocks)
    return [size for b in range(blocks) if (size := min(per, total - b * per)) > 0]


def estimate_cycles(info: LayerInfo, mapping: LayerMapping, grid: Grid,
                    hardware: HardwareSpec) -> int:
    """Compute cycles of all the mapping's tiles (PE array model, :mod:`sim.mapping`)."""
    geometry = layer_geometry(info, 1)
    if not geometry.filters:
        return 0
    blocks = mapping.filter_blocks
    # Each tile runs one GEMM per step: (reduction length, filters, groups).
    if is_channelwise(info) and blocks > 1:
        steps = [(geometry.k, 1, channels)
                 for channels in _parts(info.output_shape.channels, blocks)]
    elif mapping.input_channel_blocks > 1:  # output-stationary or spilled
        items, per_item = reduction(info)
        steps = [(count * per_item, filters, 1) for filters in _parts(geometry.filters, blocks)
                 for count in _parts(items, mapping.input_channel_blocks)]
    else:
        steps = [(geometry.k, filters, geometry.groups)
                 for filters in _parts(geometry.filters, blocks)]
    pe = hardware.pe_array
    return sum(count * sum(tile_compute(pe, pixels, k, filters, groups).cycles
                           for k, filters, groups in steps)
               for pixels, count in grid.tile_classes().items())


def _measured(tiles: list[Tile], hardware: HardwareSpec, dtype: DType, objective: str
              ) -> float:
    result = run_pipeline(tiles, hardware)
    counters = next(iter(result.layers.values()))
    if objective == "latency":
        return result.cycles
    energy = layer_energy_pj(counters, hardware, dtype)["total"]
    return energy if objective == "energy" else energy * result.cycles


def search_layer(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                 residency: Residency, objective: str = "dram_bytes",
                 dtype: DType = DType.INT8, memo: SearchMemo | None = None) -> Choice | None:
    """The best mapping of the layer for ``objective``; None when nothing in the space fits.
    For ``dram_bytes``, ties go to fewer requests, then fewer compute cycles, then fewer
    tiles. ``memo`` carries work over between searches of the same layer and network."""
    memo = memo or SearchMemo()
    space = layer_space(info, hardware, layout, residency, memo)
    if not space:
        return None
    burst = hardware.dram.burst_bytes
    space.sort(key=lambda item: (item[0], item[1]))
    if objective == "dram_bytes":
        layer_key = memo.layer_key(info, residency)
        best: tuple[tuple, LayerMapping, Traffic] | None = None
        for floor, mapping, grid in space:
            if best is not None and floor > best[0][0]:
                break
            key = (layer_key, mapping)
            if key not in memo.traffic:
                memo.traffic[key] = layer_traffic(info, mapping, layout, residency, burst, grid)
            traffic = memo.traffic[key]
            key = (traffic.bus_bytes, traffic.requests,
                   estimate_cycles(info, mapping, grid, hardware), grid.count, mapping)
            if best is None or key < best[0]:
                best = (key, mapping, traffic)
        assert best is not None
        return Choice(best[1], best[2])
    # Energy, latency, EDP: rank by a closed-form estimate, measure the best few; ties go to
    # fewer compute cycles (a layer bound by DRAM is as fast with a busier array).
    bandwidth = hardware.dram.peak_bytes_per_s / hardware.clock_hz  # bytes per cycle
    scored = []
    for floor, mapping, grid in space:
        cycles = estimate_cycles(info, mapping, grid, hardware)
        scored.append((max(cycles, floor / bandwidth), cycles, floor, mapping))
    if objective == "latency":
        scored.sort(key=lambda item: (item[0], item[1], item[2]))
    elif objective == "energy":
        scored.sort(key=lambda item: (item[2], item[1]))
    else:
        scored.sort(key=lambda item: (item[0] * item[2], item[1]))
    # The estimate cannot see how the engine overlaps loads with compute, so the mappings
    # with the fewest compute cycles are measured too: a compute-bound layer's best is there.
    fewest_cycles = sorted(scored, key=lambda item: (item[1], item[2]))[:ENGINE_CANDIDATES]
    candidates = list(dict.fromkeys(item[3] for item in scored[:ENGINE_CANDIDATES] + fewest_cycles))
    cycles_of = {item[3]: item[1] for item in scored}
    measured = []
    for mapping in candidates:
        cycles = cycles_of[mapping]
        tiles = emit(info, mapping, hardware, layout, residency)
        measured.append((_measured(tiles, hardware, dtype, objective), cycles, mapping, tiles))
    _, _, mapping, _ = min(measured, key=lambda item: item[:3])
    return Choice(mapping, layer_traffic(info, mapping, layout, residency, burst))


def refuse(info: LayerInfo) -> ConfigError:
    return ConfigError(
        "--hardware", f"layer {info.name!r} does not fit the on-chip buffers under any mapping "
        "(not even one output pixel, one filter and one input channel at a time beside the "
        "feature maps kept on chip)", field="buffers")
