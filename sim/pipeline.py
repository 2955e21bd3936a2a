"""Runs a schedule of tiles through the buffers and the cycle-level DRAM model.

Event-driven, in accelerator clock cycles (integers); DRAM requests are converted to DRAM clock
cycles exactly (the clock ratio is a fraction) and back, rounding up.

- Loads of tile ``i`` are issued as soon as its buffer half is free (tile ``i - 2`` has finished
  computing when double-buffered, tile ``i - 1`` otherwise) and every tensor it reads has been
  completely stored by its producer.
- Tile ``i`` computes when its loads are done, tile ``i - 1`` has finished computing, and the
  output half it writes has been drained (stores of tile ``i - 2``, or ``i - 1`` when not
  double-buffered).
- Its stores are issued when it finishes computing.

Per layer, ``cycles`` runs from the previous layer's last compute end to this layer's (the last
layer also waits for its stores), so layer cycles add up to the total.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

from sim.hardware import HardwareSpec
from sim.memory.dram import DramModel
from sim.schedule import OPERANDS, Tile, Transfer


@dataclass
class LayerCounters:
    """Everything measured for one layer; bytes, cycles and counts."""

    macs: int = 0
    compute_cycles: int = 0
    cycles: int = 0
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


@dataclass
class PipelineResult:
    cycles: int
    layers: dict[str, LayerCounters]


class _Clock:
    """Exact conversion between accelerator and DRAM clock cycles."""

    def __init__(self, accelerator_hz: float, dram_hz: float) -> None:
        ratio = Fraction(str(dram_hz)) / Fraction(str(accelerator_hz))
        self.numerator, self.denominator = ratio.numerator, ratio.denominator

    def to_dram(self, cycle: int) -> int:
        return -(-cycle * self.numerator // self.denominator)

    def to_accelerator(self, dram_cycle: int) -> int:
        return -(-dram_cycle * self.denominator // self.numerator)


def run_pipeline(tiles: list[Tile], hardware: HardwareSpec, overlap: bool = True
                 ) -> PipelineResult:
    """Simulate ``tiles`` in order; returns total cycles and per-layer counters.

    ``overlap=False`` serializes everything (each tile loads only after the previous tile's
    stores are done): the no-overlap upper bound of the same schedule.
    """
    dram = DramModel(hardware.dram)
    clock = _Clock(hardware.clock_hz, hardware.dram.clock_hz)
    double = any(hardware.buffers.for_operand(op).double_buffered for op in OPERANDS)
    depth = 2 if double and overlap else 1
    layers: dict[str, LayerCounters] = {}
    for tile in tiles:
        counters = layers.setdefault(tile.layer, LayerCounters())
        counters.macs += tile.macs
        counters.compute_cycles += tile.compute_cycles
        counters.sram_read_bytes.update(tile.sram_read_bytes)
        counters.sram_write_bytes.update(tile.sram_write_bytes)

    pending_stores: Counter = Counter(
        t.tensor for tile in tiles for t in tile.stores if t.tensor
    )
    n = len(tiles)
    loads_done = [-1] * n
    compute_end = [-1] * n
    stores_done = [-1] * n
    events: list[tuple[int, int, str, int]] = []
    sequence = 0

    def issue(transfers: tuple[Transfer, ...], now: int, layer: str) -> int:
        counters = layers[layer]
        done = now
        for transfer in transfers:
            result = dram.access(transfer.address, transfer.size_bytes, transfer.write,
                                 clock.to_dram(now))
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

    next_load = 0
    next_compute = 0
    now = 0
    while next_compute < n or events:
        progressed = True
        while progressed:
            progressed = False
            if next_load < n and _load_ready(next_load, depth, compute_end, tiles,
                                             pending_stores) and (
                    overlap or next_load == 0 or stores_done[next_load - 1] >= 0):
                tile = tiles[next_load]
                done = issue(tile.loads, now, tile.layer)
                push(done, "loaded", next_load)
                next_load += 1
                progressed = True
            if (next_compute < n and 0 <= loads_done[next_compute]
                    and (next_compute == 0 or compute_end[next_compute - 1] >= 0)
                    and _drained(next_compute, depth, stores_done)):
                tile = tiles[next_compute]
                start = max(now, loads_done[next_compute])
                push(start + tile.compute_cycles, "computed", next_compute)
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
            push(issue(tile.stores, now, tile.layer), "stored", index)
        else:
            stores_done[index] = now
            for transfer in tiles[index].stores:
                if transfer.tensor:
                    pending_stores[transfer.tensor] -= 1

    if next_compute < n or min(stores_done, default=0) < 0:
        raise AssertionError("the tile pipeline stalled before finishing the schedule")
    total = max([0, *compute_end, *stores_done])
    _layer_spans(tiles, compute_end, total, layers)
    return PipelineResult(total, layers)


def _load_ready(index: int, depth: int, compute_end: list[int], tiles: list[Tile],
                pending_stores: Counter) -> bool:
    if index >= depth and compute_end[index - depth] < 0:
        return False
    return all(pending_stores[t.tensor] == 0 for t in tiles[index].loads if t.tensor)


def _drained(index: int, depth: int, stores_done: list[int]) -> bool:
    return index < depth or stores_done[index - depth] >= 0


def _layer_spans(tiles: list[Tile], compute_end: list[int], total: int,
                 layers: dict[str, LayerCounters]) -> None:
    last_end: dict[str, int] = defaultdict(int)
    order: list[str] = []
    for tile, end in zip(tiles, compute_end, strict=True):
        if tile.layer not in last_end:
            order.append(tile.layer)
        last_end[tile.layer] = max(last_end[tile.layer], end)
    previous = 0
    for position, name in enumerate(order):
        end = total if position == len(order) - 1 else last_end[name]
        layers[name].cycles = end - previous
        previous = end
