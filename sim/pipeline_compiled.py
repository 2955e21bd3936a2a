"""The tile pipeline of :func:`sim.pipeline.run_pipeline`, compiled, for schedules of many tiles.

The same events in the same order: a tile's loads are issued once its buffering depth, the
stores it reads and its reservation allow; it computes once its loads are done, the previous
tile has finished and the output half it writes is drained; its stores are issued when it has
computed. DRAM requests are served by the compiled rules of :mod:`sim.memory.compiled`.

The schedule is first laid out as arrays (:class:`_Laid`): per tile its busy cycles, what it
reserves in each buffer when its loads are issued and what it frees when it has computed and
when its stores are done, and its transfers; per reservation, the tile that makes it and the
event that ends it. The compiled loop (:func:`_run`) moves only integers. The result is built
from the arrays afterwards: per-layer counters by layer and operand, and the reservations in
the order the Python pipeline records them (:class:`Occupancy`, read lazily).
``tests/sim/test_pipeline_compiled.py`` checks every result against the Python pipeline.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from itertools import chain
from operator import attrgetter

import numpy as np

from sim.compiled_cache import compiled
from sim.hardware import HardwareSpec
from sim.memory.compiled import _BURST_CYCLES, CompiledDram, _serve_rows
from sim.pipeline import CapacityError, Clock, Occupancy, PipelineResult, Prepared
from sim.schedule import Tile

_LOADED, _COMPUTED, _STORED = 0, 1, 2
# What a reservation holds, in Reservation.what (a resident map's name follows "resident ").
_WHAT = ("loaded", "produced", "held", "shared")
_NUMBERS = attrgetter("address", "size_bytes", "rows", "pitch_bytes", "write")
_OPERAND, _TENSOR = attrgetter("operand"), attrgetter("tensor")


class _Laid:
    """A schedule as arrays (see the module docstring); cycles are accelerator cycles."""

    def __init__(self, tiles: list[Tile], hardware: HardwareSpec, prepared: Prepared) -> None:
        names = list(hardware.buffers.declared())
        slot = {name: index for index, name in enumerate(names)}
        n = len(tiles)
        self.buffer_names = names
        self.layer_names = list(prepared.layers)
        layer_slot = {name: index for index, name in enumerate(self.layer_names)}
        self.what_names = list(_WHAT)
        tile_layer = np.fromiter((layer_slot[tile.layer] for tile in tiles), dtype=np.int64,
                                 count=n)
        footprints = [tile.footprint for tile in tiles]
        # A tile's own bytes, by the few distinct contents its loaded and produced maps have:
        # reserved at load issue; the loaded ones freed at compute end, the produced ones when
        # its stores are done.
        loaded = _Contents([footprint.loaded for footprint in footprints], slot)
        produced = _Contents([footprint.produced for footprint in footprints], slot)
        need = loaded.need[loaded.code] + produced.need[produced.code]
        freed_computed = loaded.freed[loaded.code]
        freed_stored = produced.freed[produced.code]
        # Reservations ended by a tile's compute end and by its stores, tile by tile in the
        # order the Python pipeline releases them: (buffer, bytes, made by, layer, what), with
        # where each tile's rows start. At a compute end: the tile's loaded bytes, then a held
        # level, a shared level and resident maps that end with it.
        every = np.arange(n, dtype=np.int64)
        ended_at_compute = [loaded.rows(every, every, tile_layer, phase=0, what=0)]
        ended_at_store = [produced.rows(every, every, tile_layer, phase=0, what=1)]
        # A held or shared level: reserved with its run's first tile, freed when the run's
        # last tile has computed.
        for phase, (kind, level) in enumerate(zip((2, 3), prepared.levels, strict=True),
                                                start=1):
            contents = _Contents([getattr(footprint, level.kind) for footprint in footprints],
                                 slot)
            first = np.flatnonzero(np.array(level.first, dtype=np.int64) == every)
            ends = np.flatnonzero(np.array(level.endings(), dtype=bool))
            last = ends[np.searchsorted(ends, first)]
            need[first] += contents.need[contents.code[first]]
            freed_computed[last] += contents.freed[contents.code[first]]
            ended_at_compute.append(contents.rows(first, last, tile_layer, phase, what=kind))
        spans = prepared.spans
        for index, tensors in (prepared.first_touch or {}).items():
            for tensor in tensors:
                _, _, buffer, size = spans[tensor]
                need[index, slot[buffer]] += size
        what_slot = {name: index for index, name in enumerate(_WHAT)}
        extra = []
        for index in sorted(prepared.last_touch or {}):
            for tensor in prepared.last_touch[index]:
                first, _, buffer, size = spans[tensor]
                if size > 0:
                    what = f"resident {tensor}"
                    if what not in what_slot:
                        what_slot[what] = len(self.what_names)
                        self.what_names.append(what)
                    freed_computed[index, slot[buffer]] += size
                    extra.append((index, 3, slot[buffer], size, first, int(tile_layer[first]),
                                  what_slot[what]))
        ended_at_compute.append(_int_rows(extra, len(extra), 7))
        loads = np.array([len(tile.loads) for tile in tiles], dtype=np.int64)
        stores = np.array([len(tile.stores) for tile in tiles], dtype=np.int64)
        first_load = np.zeros(n + 1, dtype=np.int64)
        first_load[1:] = np.cumsum(loads + stores)
        first_store = first_load[:-1] + loads
        flat = [transfer for tile in tiles for transfer in (*tile.loads, *tile.stores)]
        numbers = _int_rows(map(_NUMBERS, flat), len(flat), 5)
        self.address, size_bytes, self.rows, self.pitch, self.write = (
            np.ascontiguousarray(column) for column in numbers.T)
        self.size_bytes = size_bytes
        self.row_bytes = np.where(self.rows > 0, size_bytes // np.maximum(self.rows, 1), 0)
        self.operand_names, self.operand = _codes(list(map(_OPERAND, flat)))
        tensor_names, self.tensor = _codes(list(map(_TENSOR, flat)), unnamed="")
        self.tile_layer = tile_layer
        self.transfer_layer = np.repeat(self.tile_layer, loads + stores)
        is_store = np.repeat(np.tile(np.array([False, True]), n),
                             np.column_stack((loads, stores)).ravel())
        self.pending = np.zeros(len(tensor_names), dtype=np.int64)
        np.add.at(self.pending, self.tensor[is_store & (self.tensor >= 0)], 1)
        self.need, self.freed_computed, self.freed_stored = need, freed_computed, freed_stored
        self.first_load, self.first_store = first_load, first_store
        self.ended = (_by_tile(ended_at_compute, n), _by_tile(ended_at_store, n))


class _Contents:
    """Per tile, one of its bytes-per-buffer maps (its ``loaded`` or ``produced`` map) as a
    code into the distinct contents they have (a layer's tiles mostly share a few)."""

    def __init__(self, maps: list[dict[str, int]], slot: dict[str, int]) -> None:
        # Planners share each map among many tiles, so the contents are read once per map
        # object (every map here is held by a tile, so no two alive at once share an id).
        codes: dict[tuple, int] = {}
        code_of: dict[int, int] = {}
        for key, each in dict(zip(map(id, maps), maps, strict=True)).items():
            code_of[key] = codes.setdefault(tuple(each.items()), len(codes))
        distinct = list(codes)
        self.code = np.fromiter(map(code_of.__getitem__, map(id, maps)), dtype=np.int64,
                                count=len(maps))
        width = len(slot)
        # Per content: bytes reserved and freed per buffer, and its freed (buffer, bytes) in
        # the map's order, as the Python pipeline releases them (rows ``start[c]`` on of
        # ``released``).
        self.need = np.zeros((len(distinct), width), dtype=np.int64)
        self.freed = np.zeros((len(distinct), width), dtype=np.int64)
        released: list[tuple[int, int]] = []
        self.start = np.zeros(len(distinct), dtype=np.int64)
        for index, items in enumerate(distinct):
            self.start[index] = len(released)
            for name, size in items:
                self.need[index, slot[name]] += size
                if size > 0:
                    self.freed[index, slot[name]] += size
                    released.append((slot[name], size))
        self.count = np.diff(self.start, append=len(released))
        self.released = _int_rows(released, len(released), 2)

    def rows(self, made: np.ndarray, at: np.ndarray, tile_layer: np.ndarray, phase: int,
             what: int) -> np.ndarray:
        """The freed reservations of tiles ``made``, each placed at the tile in ``at`` that
        ends it: (that tile, ``phase``, buffer, bytes, made by, its layer, ``what``)."""
        code = self.code[made]
        counts = self.count[code]
        which = np.repeat(np.arange(len(made), dtype=np.int64), counts)
        within = np.arange(len(which), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts,
                                                                   counts)
        rows = np.empty((len(which), 7), dtype=np.int64)
        rows[:, 0], rows[:, 1] = at[which], phase
        rows[:, 2:4] = self.released[self.start[code][which] + within]
        rows[:, 4], rows[:, 5], rows[:, 6] = made[which], tile_layer[made[which]], what
        return rows


def _by_tile(pieces: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (tile, phase, then a reservation's five columns) as the reservations in tile
    order, by phase within a tile, in the order given within a phase; and where each of the
    ``n`` tiles' rows start."""
    rows = np.concatenate(pieces)
    order = np.argsort(rows[:, 0] * 4 + rows[:, 1], kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(rows[:, 0], minlength=n))
    return offsets, np.ascontiguousarray(rows[order, 2:])


def _codes(names: list[str], unnamed: str | None = None) -> tuple[list[str], np.ndarray]:
    """The distinct ``names`` in the order they first come, and each name's index among them
    (-1 for ``unnamed``, which is not among them)."""
    distinct = [name for name in dict.fromkeys(names) if name != unnamed]
    code = {name: index for index, name in enumerate(distinct)}
    if unnamed is not None:
        code[unnamed] = -1
    return distinct, np.fromiter(map(code.__getitem__, names), dtype=np.int64, count=len(names))


def _int_rows(rows: Iterable[tuple[int, ...]], count: int, width: int) -> np.ndarray:
    """``count`` rows of ``width`` integers as a (count, width) int64 array (read in one pass,
    not as a nested sequence, which numpy converts element by element far more slowly)."""
    return np.fromiter(chain.from_iterable(rows), dtype=np.int64,
                       count=count * width).reshape(count, width)


@compiled
def _issue(state, first, last, now, numerator, denominator, address, row_bytes, rows, pitch,
           write, bursts, misses, order, issued):
    """Serve transfers ``first`` to ``last - 1`` at accelerator cycle ``now``; returns the
    accelerator cycle the last is done in, and the issue counter after them."""
    done = now
    arrival = -(-now * numerator // denominator)
    for index in range(first, last):
        end = arrival
        if row_bytes[index] > 0 and rows[index] > 0:
            _, end, count, missed = _serve_rows(state, address[index], row_bytes[index],
                                                rows[index], pitch[index], write[index] == 1,
                                                arrival)
            bursts[index] = count
            misses[index] = missed
        done = max(done, -(-end * denominator // numerator))
        order[index] = issued
        issued += 1
    return done, issued


@compiled
def _run(state, numerator, denominator, overlap, ofmap_depth, busy, load_depth, need,
         freed_computed, freed_stored, sizes, used, first_load, first_store, address,
         row_bytes, rows, pitch, write, tensor, pending, issue_time, loads_done,
         compute_start, compute_end, stores_done, bursts, misses, order, log_kind, log_index):
    """The event loop of :func:`sim.pipeline.run_pipeline` on arrays. Fills the per-tile
    times, the per-transfer results and the log of compute and store ends; returns (tiles
    whose loads were issued, tiles started, entries logged)."""
    n = len(busy)
    buffers = len(sizes)
    events = [(0, 0, 0, 0)]
    events.pop()
    sequence = 0
    issued = 0
    logged = 0
    next_load = 0
    next_compute = 0
    now = 0
    while next_compute < n or len(events) > 0:
        progressed = True
        while progressed:
            progressed = False
            if next_load < n:
                ready = True
                depth = load_depth[next_load]
                if next_load >= depth and compute_end[next_load - depth] < 0:
                    ready = False
                if ready:
                    for index in range(first_load[next_load], first_store[next_load]):
                        if tensor[index] >= 0 and pending[tensor[index]] != 0:
                            ready = False
                            break
                if ready and overlap == 0 and next_load > 0 and stores_done[next_load - 1] < 0:
                    ready = False
                if ready:
                    for buffer in range(buffers):
                        if used[buffer] + need[next_load, buffer] > sizes[buffer]:
                            ready = False
                            break
                if ready:
                    for buffer in range(buffers):
                        used[buffer] += need[next_load, buffer]
                    issue_time[next_load] = now
                    done, issued = _issue(state, first_load[next_load], first_store[next_load],
                                          now, numerator, denominator, address, row_bytes,
                                          rows, pitch, write, bursts, misses, order, issued)
                    heapq.heappush(events, (done, sequence, _LOADED, next_load))
                    sequence += 1
                    next_load += 1
                    progressed = True
            if (next_compute < n and loads_done[next_compute] >= 0
                    and (next_compute == 0 or compute_end[next_compute - 1] >= 0)
                    and (next_compute < ofmap_depth
                         or stores_done[next_compute - ofmap_depth] >= 0)):
                start = max(now, loads_done[next_compute])
                compute_start[next_compute] = start
                heapq.heappush(events, (start + busy[next_compute], sequence, _COMPUTED,
                                        next_compute))
                sequence += 1
                compute_end[next_compute] = -2  # in progress
                next_compute += 1
                progressed = True
        if len(events) == 0:
            break
        now, _, kind, index = heapq.heappop(events)
        if kind == _LOADED:
            loads_done[index] = now
            continue
        # A compute end or the end of the stores: free what it ends and log it.
        freed = freed_computed if kind == _COMPUTED else freed_stored
        for buffer in range(buffers):
            used[buffer] -= freed[index, buffer]
        log_kind[logged] = kind
        log_index[logged] = index
        logged += 1
        if kind == _COMPUTED:
            compute_end[index] = now
            done, issued = _issue(state, first_store[index], first_load[index + 1], now,
                                  numerator, denominator, address, row_bytes, rows, pitch,
                                  write, bursts, misses, order, issued)
            heapq.heappush(events, (done, sequence, _STORED, index))
            sequence += 1
        else:
            stores_done[index] = now
            for transfer in range(first_store[index], first_load[index + 1]):
                if tensor[transfer] >= 0:
                    pending[tensor[transfer]] -= 1
    return next_load, next_compute, logged


def load_pipeline_code(hardware: HardwareSpec) -> None:
    """Load the compiled loop into this process (from numba's cache, or compile it) by running
    an empty schedule; later runs start at full speed."""
    empty = np.zeros(0, dtype=np.int64)
    two = np.zeros((0, 1), dtype=np.int64)
    state = CompiledDram(hardware.dram).state
    _run(state, 1, 1, 1, 1, empty, empty, two, two, two, np.zeros(1, dtype=np.int64),
         np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), empty, empty, empty, empty,
         empty, empty, empty, empty, empty, empty, empty, empty, empty, empty, empty, empty,
         empty, empty)


def run_compiled(tiles: list[Tile], hardware: HardwareSpec, prepared: Prepared,
                 overlap: bool) -> PipelineResult:
    """:func:`sim.pipeline.run_pipeline` of ``tiles`` (their counters already added up in
    ``prepared``), with the compiled loop and DRAM rules; the same result."""
    laid = _Laid(tiles, hardware, prepared)
    n = len(tiles)
    clock = Clock(hardware.clock_hz, hardware.dram.clock_hz)
    declared = hardware.buffers.declared()
    sizes = np.array([declared[name].size_bytes for name in laid.buffer_names], dtype=np.int64)
    used = np.zeros(len(sizes), dtype=np.int64)
    times = [np.full(n, -1, dtype=np.int64) for _ in range(5)]
    issue_time, loads_done, compute_start, compute_end, stores_done = times
    count = len(laid.address)
    bursts, misses, order = (np.zeros(count, dtype=np.int64) for _ in range(3))
    log_kind, log_index = np.zeros(2 * n, dtype=np.int64), np.zeros(2 * n, dtype=np.int64)
    dram = CompiledDram(hardware.dram)
    next_load, next_compute, logged = _run(
        dram.state, clock.numerator, clock.denominator, int(overlap), prepared.ofmap_depth,
        np.array(prepared.busy, dtype=np.int64), np.array(prepared.load_depth, dtype=np.int64),
        laid.need, laid.freed_computed, laid.freed_stored, sizes, used, laid.first_load,
        laid.first_store, laid.address, laid.row_bytes, laid.rows, laid.pitch, laid.write,
        laid.tensor, laid.pending, issue_time, loads_done, compute_start, compute_end,
        stores_done, bursts, misses, order, log_kind, log_index)
    over = (np.flatnonzero(used + laid.need[next_load] > sizes)
            if next_load < n and next_compute == next_load else ())
    if len(over):  # else, if anything is left, it waits for a store that never comes
        buffer = int(over[0])
        wanted = int(laid.need[next_load, buffer])
        beside = f" beside {int(used[buffer]):,} B still held" if used[buffer] else ""
        raise CapacityError(
            f"layer {tiles[next_load].layer!r}: a tile needs {wanted:,} B of buffer "
            f"{laid.buffer_names[buffer]!r}{beside}, which has {int(sizes[buffer]):,} B")
    if next_compute < n or (n and stores_done.min() < 0):
        raise AssertionError("the tile pipeline stalled before finishing the schedule")
    layers = prepared.layers
    _add_dram_counters(laid, layers, bursts, misses, order, int(dram.state[_BURST_CYCLES]))
    _add_times(laid, layers, compute_start, compute_end, stores_done)
    occupancy = _occupancy(laid, log_kind[:logged], log_index[:logged], issue_time,
                           compute_end, stores_done)
    return PipelineResult(int(max(compute_end.max(initial=0), stores_done.max(initial=0))),
                          layers, occupancy)


def _add_dram_counters(laid: _Laid, layers: dict, bursts: np.ndarray, misses: np.ndarray,
                       order: np.ndarray, burst_cycles: int) -> None:
    """Add each transfer's bytes, bursts, activates, hits, misses and busy cycles to its
    layer's counters; operands enter each counter in the order the Python pipeline meets them
    (their first transfer issued)."""
    operands = len(laid.operand_names)
    key = (laid.transfer_layer * operands + laid.operand) * 2 + laid.write
    keys, inverse = np.unique(key, return_inverse=True)
    sums = np.zeros((4, len(keys)), dtype=np.int64)
    for row, values in enumerate((laid.size_bytes, bursts, misses, np.ones_like(bursts))):
        np.add.at(sums[row], inverse, values)
    first = np.full(len(keys), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inverse, order)
    for position in np.argsort(first, kind="stable"):
        value = int(keys[position])
        write, rest = value % 2, value // 2
        layer, operand = divmod(rest, operands)
        counters = layers[laid.layer_names[layer]]
        name = laid.operand_names[operand]
        size, burst_count, missed, _ = (int(total) for total in sums[:, position])
        if write:
            counters.dram_write_bytes[name] += size
            counters.dram_bursts_written[name] += burst_count
        else:
            counters.dram_read_bytes[name] += size
            counters.dram_bursts_read[name] += burst_count
        counters.dram_activates[name] += missed
        counters.dram_busy_cycles += burst_count * burst_cycles
        counters.row_hits += burst_count - missed
        counters.row_misses += missed


def _add_times(laid: _Laid, layers: dict, compute_start: np.ndarray, compute_end: np.ndarray,
               stores_done: np.ndarray) -> None:
    """Each layer's first compute start, last compute end and cycles (each tile charged the
    cycles since the previous tile's compute end, the last one until the run ends)."""
    n = len(compute_end)
    if n == 0:
        return
    total = max(int(compute_end.max()), int(stores_done.max()))
    ends = compute_end.copy()
    ends[-1] = total
    charged = np.diff(ends, prepend=0)
    per_layer = np.zeros(len(laid.layer_names), dtype=np.int64)
    np.add.at(per_layer, laid.tile_layer, charged)
    first_tile = np.full(len(laid.layer_names), n, dtype=np.int64)
    np.minimum.at(first_tile, laid.tile_layer, np.arange(n))
    last_tile = np.full(len(laid.layer_names), -1, dtype=np.int64)
    np.maximum.at(last_tile, laid.tile_layer, np.arange(n))
    for index, name in enumerate(laid.layer_names):
        counters = layers[name]
        counters.cycles += int(per_layer[index])
        counters.first_start = int(compute_start[first_tile[index]])
        counters.last_end = int(compute_end[last_tile[index]])


def _occupancy(laid: _Laid, log_kind: np.ndarray, log_index: np.ndarray,
               issue_time: np.ndarray, compute_end: np.ndarray, stores_done: np.ndarray
               ) -> Occupancy:
    """The reservations in the order they ended (the log), each from the load issue of the
    tile that made it to the event that ended it."""
    pieces = []
    for kind, table_of in ((_COMPUTED, laid.ended[0]), (_STORED, laid.ended[1])):
        offsets, table = table_of
        mine = np.flatnonzero(log_kind == kind)
        tiles = log_index[mine]
        counts = offsets[tiles + 1] - offsets[tiles]
        rows = (np.repeat(offsets[tiles] - np.cumsum(counts) + counts, counts)
                + np.arange(counts.sum()))
        ends = (compute_end if kind == _COMPUTED else stores_done)[np.repeat(tiles, counts)]
        position = np.repeat(mine, counts)
        pieces.append((position, table[rows], ends))
    position = np.concatenate([piece[0] for piece in pieces])
    table = np.concatenate([piece[1] for piece in pieces])
    ends = np.concatenate([piece[2] for piece in pieces])
    ordering = np.argsort(position, kind="stable")
    table, ends = table[ordering], ends[ordering]
    return Occupancy(table[:, 0], issue_time[table[:, 2]], ends, table[:, 1], table[:, 3],
                     table[:, 4], laid.buffer_names, laid.layer_names, laid.what_names)
