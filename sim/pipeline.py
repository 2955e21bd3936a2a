"""Runs a schedule of tiles through the on-chip buffers and the cycle-level DRAM model.

Event-driven, in accelerator clock cycles (integers); DRAM requests are converted to DRAM clock
cycles exactly (the clock ratio is a fraction) and back, rounding up.

- **Capacity.** Every tile reserves its footprint (:class:`sim.schedule.Footprint`) in the
  declared buffers when its loads are issued: its input windows and weight blocks until it has
  finished computing, its output tile until its stores are done, its group's held bytes until
  the group's last tile has computed, and each resident feature map from the first tile that
  touches it to the last. A tile's loads wait until its reservation fits beside what is on chip;
  a tile that cannot fit even alone raises :class:`CapacityError`. Every reservation is recorded
  (:attr:`PipelineResult.occupancy`) and audited by :func:`sim.capacity.audit`.
- **Buffering per operand.** Loads of tile ``i`` into a double-buffered buffer may start once
  tile ``i - 2`` has finished computing; into a single-buffered one, once tile ``i - 1`` has. Tile
  ``i`` computes when its loads are done, tile ``i - 1`` has finished, and the output half it
  writes has been drained (stores of tile ``i - 2``, or ``i - 1`` when the output buffer is
  single-buffered). Loads also wait until every tensor they read has been stored.
- **Buffer bandwidth.** Each buffer serves ``banks x word_bits / 8`` bytes per cycle; a tile is
  busy for ``max(compute cycles, its SRAM bytes in each buffer / that rate)``. The difference is
  counted as ``buffer_stall_cycles``.
- **Attribution.** Each tile is charged the cycles from the previous tile's compute end to its
  own (the last tile also waits for the last store), so every layer's cycles are at least its
  compute cycles and the layers add up to the total; what is neither compute nor buffer stall
  is ``dram_stall_cycles``.

Schedules of many tiles run the same events compiled (:mod:`sim.pipeline_compiled`, chosen by
:func:`run_pipeline`); this loop stays the reference it is tested against.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil
from typing import Protocol

import numpy as np

from sim.collection import collection_paused
from sim.hardware import HardwareSpec
from sim.memory.dram import AccessResult, DramModel
from sim.schedule import Tile, Transfer


class CapacityError(Exception):
    """A schedule that needs more on-chip memory than a declared buffer has."""


@dataclass
class LayerCounters:
    """Everything measured for one layer; bytes, cycles and counts."""

    macs: int = 0
    compute_cycles: int = 0
    cycles: int = 0
    buffer_stall_cycles: int = 0
    dram_read_bytes: Counter = field(default_factory=Counter)
    dram_write_bytes: Counter = field(default_factory=Counter)
    dram_bursts_read: Counter = field(default_factory=Counter)
    dram_bursts_written: Counter = field(default_factory=Counter)
    dram_activates: Counter = field(default_factory=Counter)
    dram_busy_cycles: int = 0
    row_hits: int = 0
    row_misses: int = 0
    sram_read_bytes: Counter = field(default_factory=Counter)
    sram_write_bytes: Counter = field(default_factory=Counter)
    first_start: int = -1  # first compute start (accelerator cycles)
    last_end: int = 0  # last compute end


@dataclass(frozen=True)
class Reservation:
    """``size_bytes`` of ``buffer`` on chip from ``start`` to ``end`` (accelerator cycles)."""

    buffer: str
    start: int
    end: int
    size_bytes: int
    layer: str
    what: str


class Occupancy(Sequence):
    """Reservations as columns, one row each in the order they ended (what the compiled
    pipeline records): buffer, layer and what as indices into the name lists, cycles and
    bytes as arrays. Indexing or iterating gives :class:`Reservation` objects; the audit
    reads the columns."""

    def __init__(self, buffer: np.ndarray, start: np.ndarray, end: np.ndarray,
                 size_bytes: np.ndarray, layer: np.ndarray, what: np.ndarray,
                 buffer_names: list[str], layer_names: list[str], what_names: list[str]
                 ) -> None:
        self.buffer, self.start, self.end = buffer, start, end
        self.size_bytes, self.layer, self.what = size_bytes, layer, what
        self.buffer_names, self.layer_names, self.what_names = (buffer_names, layer_names,
                                                                what_names)

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return Reservation(self.buffer_names[self.buffer[index]], int(self.start[index]),
                           int(self.end[index]), int(self.size_bytes[index]),
                           self.layer_names[self.layer[index]], self.what_names[self.what[index]])

    def __iter__(self) -> Iterator[Reservation]:
        return (self[index] for index in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)


@dataclass
class PipelineResult:
    cycles: int
    layers: dict[str, LayerCounters]
    occupancy: list[Reservation] | Occupancy


class Clock:
    """Exact conversion between accelerator and DRAM clock cycles."""

    def __init__(self, accelerator_hz: float, dram_hz: float) -> None:
        ratio = Fraction(str(dram_hz)) / Fraction(str(accelerator_hz))
        self.numerator, self.denominator = ratio.numerator, ratio.denominator

    def to_dram(self, cycle: int) -> int:
        return -(-cycle * self.numerator // self.denominator)

    def to_accelerator(self, dram_cycle: int) -> int:
        return -(-dram_cycle * self.denominator // self.numerator)


def _busy_counter(hardware: HardwareSpec):
    """:func:`busy_cycles` for one hardware, its buffers looked up once per operand and the
    result kept per distinct (compute cycles, SRAM bytes) of a tile."""
    declared = hardware.buffers.declared()
    name_for = hardware.buffers.name_for
    rates = {}
    known: dict[tuple, int] = {}

    def busy(tile: Tile) -> int:
        key = (tile.compute_cycles, *tile.sram_read_bytes.items(), None,
               *tile.sram_write_bytes.items())
        cycles = known.get(key)
        if cycles is not None:
            return cycles
        per_buffer: dict[str, int] = {}
        for operand, size in (*tile.sram_read_bytes.items(), *tile.sram_write_bytes.items()):
            name = rates.get(operand)
            if name is None:
                name = rates[operand] = name_for(operand)
            per_buffer[name] = per_buffer.get(name, 0) + size
        sram = max((ceil(size / declared[name].bytes_per_cycle)
                    for name, size in per_buffer.items()), default=0)
        cycles = known[key] = max(tile.compute_cycles, sram)
        return cycles

    return busy


class TransferPort(Protocol):
    """How transfers reach DRAM through an accelerator's memory port, when the pipeline is
    given one (``run_pipeline(port=...)``): the generated RTL engine's port moves a beat per
    cycle and adds its register stages (``sim.rtl_schedule.EnginePort``)."""

    def serve(self, transfer: Transfer, now: int, dram: DramModel, clock: Clock
              ) -> tuple[int, AccessResult]:
        """The accelerator cycle ``transfer`` (issued by the pipeline at ``now``) is done in,
        and what the DRAM model did for it."""
        ...


def busy_cycles(tile: Tile, hardware: HardwareSpec) -> int:
    """Cycles the tile keeps the PE array busy: its compute, or longer when a buffer cannot
    serve its SRAM bytes that fast."""
    per_buffer: Counter = Counter()
    for operand, size in (*tile.sram_read_bytes.items(), *tile.sram_write_bytes.items()):
        per_buffer[hardware.buffers.name_for(operand)] += size
    declared = hardware.buffers.declared()
    sram = max((ceil(size / declared[name].bytes_per_cycle) for name, size in per_buffer.items()),
               default=0)
    return max(tile.compute_cycles, sram)


class _Buffers:
    """What is reserved in each declared buffer right now, with the record of reservations."""

    def __init__(self, hardware: HardwareSpec) -> None:
        self.size = {name: spec.size_bytes for name, spec in hardware.buffers.declared().items()}
        self.used = dict.fromkeys(self.size, 0)
        self.open: dict[object, tuple[str, int, int, str, str]] = {}
        self.record: list[Reservation] = []

    def fits(self, need: dict[str, int]) -> bool:
        used, size = self.used, self.size
        for name, wanted in need.items():
            if used[name] + wanted > size[name]:
                return False
        return True

    def reserve(self, key: object, buffer: str, size: int, now: int, layer: str, what: str
                ) -> None:
        if size <= 0:
            return
        self.used[buffer] += size
        self.open[key] = (buffer, now, size, layer, what)

    def release(self, key: object, now: int) -> None:
        entry = self.open.pop(key, None)
        if entry is None:
            return
        buffer, start, size, layer, what = entry
        self.used[buffer] -= size
        self.record.append(Reservation(buffer, start, now, size, layer, what))


class _Level:
    """One level of bytes shared by a run of consecutive tiles with the same key (``held`` by
    ``group``, or ``shared`` by ``shared_by``): reserved with the run's first tile, released
    when its last tile has computed. Tiles with an empty key share nothing."""

    def __init__(self, tiles: list[Tile], kind: str, key: str) -> None:
        self.kind = kind
        self.tiles = tiles
        self.keys = [getattr(tile.footprint, key) for tile in tiles]
        self.first: list[int] = []
        for index, name in enumerate(self.keys):
            starts = not name or index == 0 or self.keys[index - 1] != name
            self.first.append(index if starts else self.first[-1])

    def starts(self, index: int) -> bool:
        return self.first[index] == index

    def ends(self, index: int) -> bool:
        return (index == len(self.keys) - 1 or not self.keys[index]
                or self.keys[index + 1] != self.keys[index])

    def endings(self) -> list[bool]:
        """:meth:`ends` of every tile, in order."""
        afters = [*self.keys[1:], None] if self.keys else []
        return [not name or name != after
                for name, after in zip(self.keys, afters, strict=True)]

    def bytes(self, index: int) -> dict[str, int]:
        return getattr(self.tiles[index].footprint, self.kind)


def _touch_span(tiles: list[Tile]) -> dict[str, tuple[int, int, str, int]]:
    """Resident tensor -> (first tile, last tile, buffer, bytes) of the tiles that touch it."""
    spans: dict[str, tuple[int, int, str, int]] = {}
    for index, tile in enumerate(tiles):
        for tensor, buffer, size in tile.footprint.resident:
            first = spans.get(tensor, (index, index, buffer, size))[0]
            spans[tensor] = (first, index, buffer, size)
    return spans


@dataclass
class Prepared:
    """What both pipelines (this one and :mod:`sim.pipeline_compiled`) know of a schedule before
    its first event: each layer's counters with its MACs, compute and SRAM bytes added up,
    each tile's busy cycles and load buffering depth, the output buffering depth, each resident
    tensor's span of tiles (:func:`_touch_span`), with the tiles that first and last touch each,
    and the held and shared levels."""

    layers: dict[str, LayerCounters]
    busy: list[int]
    load_depth: list[int]
    ofmap_depth: int
    spans: dict[str, tuple[int, int, str, int]]
    first_touch: dict[int, list[str]]
    last_touch: dict[int, list[str]]
    levels: tuple[_Level, _Level]


def _prepare(tiles: list[Tile], hardware: HardwareSpec, overlap: bool) -> Prepared:
    """:class:`Prepared` for ``tiles`` (``overlap=False``: every buffer single-buffered)."""
    buffers = hardware.buffers

    def depth(operand: str) -> int:
        return 2 if overlap and buffers.for_operand(operand).double_buffered else 1

    layers: dict[str, LayerCounters] = {}
    busy = []
    tile_busy = _busy_counter(hardware)
    # Tiles alike in layer, MACs, compute and SRAM bytes (most of a layer's) are added up once
    # per kind, in the order their first tile comes: [how many, busy cycles, a tile].
    kinds: dict[tuple, list] = {}
    for tile in tiles:
        key = (tile.layer, tile.macs, tile.compute_cycles, *tile.sram_read_bytes.items(), None,
               *tile.sram_write_bytes.items())
        kind = kinds.get(key)
        if kind is None:
            kind = kinds[key] = [0, tile_busy(tile), tile]
        kind[0] += 1
        busy.append(kind[1])
    for count, cycles, tile in kinds.values():
        counters = layers.get(tile.layer)
        if counters is None:
            counters = layers[tile.layer] = LayerCounters()
        counters.macs += count * tile.macs
        counters.compute_cycles += count * tile.compute_cycles
        for operand, size in tile.sram_read_bytes.items():
            counters.sram_read_bytes[operand] += count * size
        for operand, size in tile.sram_write_bytes.items():
            counters.sram_write_bytes[operand] += count * size
        counters.buffer_stall_cycles += count * (cycles - tile.compute_cycles)
    depths: dict[str, int] = {}
    load_depth = []
    for tile in tiles:
        least = 2
        for transfer in tile.loads:
            operand = transfer.operand
            value = depths.get(operand)
            if value is None:
                value = depths[operand] = depth(operand)
            least = min(least, value)
        load_depth.append(least)
    spans = _touch_span(tiles)
    first_touch: dict[int, list[str]] = {}
    last_touch: dict[int, list[str]] = {}
    for tensor, (first, last, _, _) in spans.items():
        first_touch.setdefault(first, []).append(tensor)
        last_touch.setdefault(last, []).append(tensor)
    levels = (_Level(tiles, "held", "group"), _Level(tiles, "shared", "shared_by"))
    return Prepared(layers, busy, load_depth, depth("ofmap"), spans, first_touch, last_touch,
                    levels)


# The Python pipeline takes 25-45 us per tile (ResNet-18 and MobileNetV2 on DianNao), the
# compiled one (sim.pipeline_compiled) a few; loading compiled code (numba and its cached code)
# takes 0.6-1.0 s once per process. Schedules of this many tiles or more run compiled whole;
# the presets' MobileNetV2-224 and ResNet-18 schedules have at most 5,489 tiles on Jetson Nano
# and Eyeriss, at least 18,945 on DianNao.
COMPILED_FROM_TILES = 10_000
# The descriptor engine in Python (DramModel.access_rows) takes 2.8-8.8 us per run it serves by
# the full rules (everything it does counted; measured on MobileNetV2 and ResNet-18 runs). In
# a schedule of fewer tiles, the compiled DRAM engine (sim.memory.compiled) takes over from it
# when the full-rule runs projected for the rest of the schedule exceed this (about 1 s in
# Python). Once a run in this process has loaded compiled code, every run is compiled whole.
COMPILED_AFTER_SERVES = 300_000
HANDOVER_FROM = 1024  # descriptors issued before the first projection
_compiled_loaded = False


def run_pipeline(tiles: list[Tile], hardware: HardwareSpec, overlap: bool = True,
                 reference: bool = False, port: TransferPort | None = None,
                 compiled: bool | None = None) -> PipelineResult:
    """Simulate ``tiles`` in order; returns total cycles, per-layer counters and reservations.

    ``overlap=False`` serializes everything (each tile loads only after the previous tile's
    stores are done): the no-overlap upper bound of the same schedule. ``reference=True``
    gives every request of a descriptor one by one to the per-request Python DRAM model
    (:meth:`DramModel.access`) instead of the descriptor whole; results are identical.
    ``compiled``: run the compiled pipeline with the compiled DRAM engine
    (:mod:`sim.pipeline_compiled`, :mod:`sim.memory.compiled`) from the start (True), never
    (False), or (None) when this process has loaded compiled code or the schedule has at least
    ``COMPILED_FROM_TILES`` tiles; otherwise (None) the Python pipeline, whose Python DRAM
    engine hands over to the compiled one once the full-rule runs it has served so far,
    projected over the descriptors left, exceed ``COMPILED_AFTER_SERVES``. Results are
    identical in every case; ``reference`` and ``port`` runs are never compiled.
    ``port``: transfers go through this memory port (:class:`TransferPort`) instead of
    straight to the DRAM model (none: straight, as every ``simulate`` does).
    """
    with collection_paused():  # what the run makes frees itself (sim.collection)
        return _run_pipeline(tiles, hardware, overlap, reference, port, compiled)


def _run_pipeline(tiles: list[Tile], hardware: HardwareSpec, overlap: bool, reference: bool,
                  port: TransferPort | None, compiled: bool | None) -> PipelineResult:
    """:func:`run_pipeline`."""
    if compiled is None:
        compiled = (True if _compiled_loaded or len(tiles) >= COMPILED_FROM_TILES else None)
    prepared = _prepare(tiles, hardware, overlap)
    if compiled and not reference and port is None:
        return _compiled_pipeline(hardware)(tiles, hardware, prepared, overlap)
    dram = DramModel(hardware.dram)
    clock = Clock(hardware.clock_hz, hardware.dram.clock_hz)
    ofmap_depth = prepared.ofmap_depth
    layers = prepared.layers
    busy = prepared.busy
    load_depth = prepared.load_depth
    spans = prepared.spans
    first_touch = prepared.first_touch
    last_touch = prepared.last_touch
    levels = prepared.levels

    needs: dict[int, dict[str, int]] = {}

    def need(index: int) -> dict[str, int]:
        """The bytes per buffer tile ``index`` reserves when its loads are issued (computed
        once: the loop asks again each time it checks whether the tile fits)."""
        total = needs.get(index)
        if total is None:
            total = needs[index] = _need(index)
        return total

    def _need(index: int) -> dict[str, int]:
        footprint = tiles[index].footprint
        total = dict(footprint.loaded)
        parts = [footprint.produced]
        parts += [level.bytes(index) for level in levels if level.starts(index)]
        for part in parts:
            for name, size in part.items():
                total[name] = total.get(name, 0) + size
        for tensor in first_touch.get(index, ()):
            _, _, buffer, size = spans[tensor]
            total[buffer] = total.get(buffer, 0) + size
        return total

    onchip = _Buffers(hardware)
    pending_stores: Counter = Counter(
        t.tensor for tile in tiles for t in tile.stores if t.tensor
    )
    n = len(tiles)
    loads_done = [-1] * n
    compute_end = [-1] * n
    stores_done = [-1] * n
    events: list[tuple[int, int, str, int]] = []
    sequence = 0
    issued = 0
    may_hand_over = compiled is None and not reference and port is None
    descriptors = (sum(len(tile.loads) + len(tile.stores) for tile in tiles)
                   if may_hand_over else 0)

    def issue(transfers: tuple[Transfer, ...], now: int, layer: str) -> int:
        nonlocal dram, issued, may_hand_over
        issued += len(transfers)
        if (may_hand_over and issued >= HANDOVER_FROM
                and dram.full_serves * (descriptors - issued)
                > COMPILED_AFTER_SERVES * issued):
            dram = _compiled(dram)
            may_hand_over = False
        counters = layers[layer]
        done = now
        arrival = clock.to_dram(now)
        for transfer in transfers:
            if port is not None:
                finished, result = port.serve(transfer, now, dram, clock)
                done = max(done, finished)
            else:
                if reference:
                    result = _per_request(dram, transfer, arrival)
                else:
                    result = dram.access_rows(transfer.address, transfer.row_bytes,
                                              transfer.rows, transfer.pitch_bytes,
                                              transfer.write, arrival)
                done = max(done, clock.to_accelerator(result.end_cycle))
            operand = transfer.operand
            if transfer.write:
                counters.dram_write_bytes[operand] += transfer.size_bytes
                counters.dram_bursts_written[operand] += result.bursts
            else:
                counters.dram_read_bytes[operand] += transfer.size_bytes
                counters.dram_bursts_read[operand] += result.bursts
            counters.dram_activates[operand] += result.activates
            counters.dram_busy_cycles += result.busy_cycles
            counters.row_hits += result.row_hits
            counters.row_misses += result.row_misses
        return done

    def push(time: int, kind: str, index: int) -> None:
        nonlocal sequence
        heapq.heappush(events, (time, sequence, kind, index))
        sequence += 1

    def reserve(index: int, now: int) -> None:
        tile = tiles[index]
        footprint = tile.footprint
        for name, size in footprint.loaded.items():
            onchip.reserve(("loaded", index, name), name, size, now, tile.layer, "loaded")
        for name, size in footprint.produced.items():
            onchip.reserve(("produced", index, name), name, size, now, tile.layer, "produced")
        for level in levels:
            if level.starts(index):
                for name, size in level.bytes(index).items():
                    onchip.reserve((level.kind, index, name), name, size, now, tile.layer,
                                   level.kind)
        for tensor in first_touch.get(index, ()):
            _, _, buffer, size = spans[tensor]
            onchip.reserve(("resident", tensor), buffer, size, now, tile.layer,
                           f"resident {tensor}")

    def release_computed(index: int, now: int) -> None:
        for name in tiles[index].footprint.loaded:
            onchip.release(("loaded", index, name), now)
        for level in levels:
            if level.ends(index):
                first = level.first[index]
                for name in level.bytes(first):
                    onchip.release((level.kind, first, name), now)
        for tensor in last_touch.get(index, ()):
            onchip.release(("resident", tensor), now)

    next_load = 0
    next_compute = 0
    now = 0
    while next_compute < n or events:
        progressed = True
        while progressed:
            progressed = False
            if (next_load < n
                    and _load_ready(next_load, load_depth[next_load], compute_end, tiles,
                                    pending_stores)
                    and (overlap or next_load == 0 or stores_done[next_load - 1] >= 0)
                    and onchip.fits(need(next_load))):
                tile = tiles[next_load]
                reserve(next_load, now)
                done = issue(tile.loads, now, tile.layer)
                push(done, "loaded", next_load)
                next_load += 1
                progressed = True
            if (next_compute < n and 0 <= loads_done[next_compute]
                    and (next_compute == 0 or compute_end[next_compute - 1] >= 0)
                    and _drained(next_compute, ofmap_depth, stores_done)):
                tile = tiles[next_compute]
                start = max(now, loads_done[next_compute])
                counters = layers[tile.layer]
                if counters.first_start < 0:
                    counters.first_start = start
                push(start + busy[next_compute], "computed", next_compute)
                compute_end[next_compute] = -2  # in progress
                next_compute += 1
                progressed = True
        if not events:
            break
        now, _, kind, index = heapq.heappop(events)
        if kind == "loaded":
            loads_done[index] = now
        elif kind == "computed":
            compute_end[index] = now
            tile = tiles[index]
            layers[tile.layer].last_end = now
            release_computed(index, now)
            push(issue(tile.stores, now, tile.layer), "stored", index)
        else:
            stores_done[index] = now
            for name in tiles[index].footprint.produced:
                onchip.release(("produced", index, name), now)
            for transfer in tiles[index].stores:
                if transfer.tensor:
                    pending_stores[transfer.tensor] -= 1

    if next_load < n and next_compute == next_load:
        wanted = need(next_load)
        name = next((name for name, size in onchip.size.items()  # in declared order
                     if onchip.used[name] + wanted.get(name, 0) > size), None)
        if name is not None:  # else it waits for a store that never comes
            beside = (f" beside {onchip.used[name]:,} B still held" if onchip.used[name]
                      else "")
            raise CapacityError(
                f"layer {tiles[next_load].layer!r}: a tile needs {wanted[name]:,} B of buffer "
                f"{name!r}{beside}, which has {onchip.size[name]:,} B")
    if next_compute < n or min(stores_done, default=0) < 0:
        raise AssertionError("the tile pipeline stalled before finishing the schedule")
    total = max([0, *compute_end, *stores_done])
    _attribute_cycles(tiles, compute_end, total, layers)
    return PipelineResult(total, layers, onchip.record)


def _compiled_pipeline(hardware: HardwareSpec):
    """:func:`sim.pipeline_compiled.run_compiled`, its code (and the DRAM engine's) loaded
    once per process (imported here: it loads numba, which a run that stays in Python never
    needs)."""
    global _compiled_loaded
    from sim.memory.compiled import load_compiled_code
    from sim.pipeline_compiled import load_pipeline_code, run_compiled

    if not _compiled_loaded:
        load_compiled_code(hardware.dram)
        load_pipeline_code(hardware)
        _compiled_loaded = True
    return run_compiled


def _compiled(model: DramModel):
    """The compiled engine, going on from ``model``, its code loaded (imported here: it loads
    numba, which a run that stays in Python never needs)."""
    global _compiled_loaded
    from sim.memory.compiled import CompiledDram, load_compiled_code

    load_compiled_code(model.spec)
    _compiled_loaded = True
    return CompiledDram.taking_over(model)


def _per_request(dram: DramModel, transfer: Transfer, arrival: int) -> AccessResult:
    """A descriptor served request by request by the reference engine, results combined."""
    results = [dram.access(address, size, transfer.write, arrival)
               for address, size in transfer.requests()]
    if not results:
        return AccessResult(arrival, arrival, 0, 0, 0, 0, 0)
    return AccessResult(min(r.start_cycle for r in results), max(r.end_cycle for r in results),
                        sum(r.bursts for r in results), sum(r.row_hits for r in results),
                        sum(r.row_misses for r in results), sum(r.activates for r in results),
                        sum(r.busy_cycles for r in results))


def _load_ready(index: int, depth: int, compute_end: list[int], tiles: list[Tile],
                pending_stores: Counter) -> bool:
    if index >= depth and compute_end[index - depth] < 0:
        return False
    return all(pending_stores[t.tensor] == 0 for t in tiles[index].loads if t.tensor)


def _drained(index: int, depth: int, stores_done: list[int]) -> bool:
    return index < depth or stores_done[index - depth] >= 0


def _attribute_cycles(tiles: list[Tile], compute_end: list[int], total: int,
                      layers: dict[str, LayerCounters]) -> None:
    """Charge each tile the cycles since the previous tile's compute end (the last tile until
    ``total``), so a layer is never charged less than its compute."""
    previous = 0
    for index, tile in enumerate(tiles):
        end = total if index == len(tiles) - 1 else compute_end[index]
        layers[tile.layer].cycles += end - previous
        previous = end
