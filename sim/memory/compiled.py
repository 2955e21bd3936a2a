"""The DRAM model's rules, compiled: descriptors served request by request, run by run.

:class:`CompiledDram` serves a descriptor (``rows`` requests of ``row_bytes`` a fixed pitch
apart, all arriving at once) exactly as :meth:`sim.memory.dram.DramModel.access` would serve
each of its requests in turn: the same address mapping (:mod:`sim.memory.address`), the same
per-run rules (refresh, precharge and activate, ``rrd`` and ``faw``, column commands, bus
turnarounds), in the same order. Nothing is in closed form; the rules run compiled (numba),
one run at a time, which is what makes the small requests of small buffers cheap. Divisions by
a power of two (the presets' interleave unit, channels, page, burst and banks) are shifts and
masks, and a bank's next refresh is kept as a cycle, so most requests divide nothing. It can take
over from a :class:`sim.memory.dram.DramModel` mid-run (:meth:`CompiledDram.taking_over`).
``tests/sim/memory/test_descriptors.py`` checks every result and the whole engine state
against the per-request Python model on random descriptors and whole networks.

The whole state is one int64 array (cycles are DRAM clock cycles, tCK): the timing and
address parameters, the running totals, then per channel and per bank what the next request
depends on. The compiled code is cached on disk (:mod:`sim.compiled_cache`); the first use in
a process loads it (0.6-1.0 s with importing numba), the first use after a change to any
compiled source compiles it.
"""

from __future__ import annotations

import numpy as np

from sim.compiled_cache import compiled
from sim.hardware import DramSpec
from sim.memory.dram import AccessResult, DramModel, DramStats

# Parameters, fixed by the spec.
(_UNIT, _CHANNELS, _PAGE, _BURST, _BANKS, _RCD, _RP, _RAS, _RL, _WL, _CCD, _RRD, _FAW, _REFI,
 _RFC, _WTR, _RTW, _BURST_CYCLES) = range(18)
# The first five as powers of two (their log2), -1 for one that is not: divisions by them are
# then shifts and masks.
_SHIFTS = 18
# Running totals.
(_REFRESHES, _BURSTS_READ, _BURSTS_WRITTEN, _BYTES_READ, _BYTES_WRITTEN, _MISSES,
 _LAST_END) = range(23, 30)
_CHANNEL_BASE = 30
# Per channel: data bus free, last write data end, last read data end, last activate, how many
# of the last four activates are known, where the next one goes, the last four, busy cycles.
_BUS, _WRITE_END, _READ_END, _ACTIVATE, _KNOWN, _NEXT, _LAST_FOUR, _BUSY = 0, 1, 2, 3, 4, 5, 6, 10
_CHANNEL_SLOTS = 11
# Per bank: open row (-1: none), its activate, earliest next column command, refreshes seen,
# and when the next of them is due (its refresh offset + refreshes seen x refi).
_OPEN_ROW, _ACTIVATED_AT, _NEXT_COLUMN, _REFRESHES_SEEN, _REFRESH_DUE = 0, 1, 2, 3, 4
_BANK_SLOTS = 5
_NEVER = -(1 << 40)


def _log2(value: int) -> int:
    """log2 of ``value`` if it is a power of two, else -1."""
    return value.bit_length() - 1 if value > 0 and value & (value - 1) == 0 else -1


@compiled
def _div(value, divisor, shift):
    """``value // divisor``, as a shift when ``shift`` (its log2) is known."""
    return value >> shift if shift >= 0 else value // divisor


@compiled
def _mod(value, divisor, shift):
    """``value % divisor``, as a mask when ``shift`` (its log2) is known."""
    return value & (divisor - 1) if shift >= 0 else value % divisor


@compiled
def _channel_at(channel):
    """Where channel ``channel``'s slots start in the state."""
    return _CHANNEL_BASE + channel * _CHANNEL_SLOTS


@compiled
def _bank_at(channels, banks, channel, bank):
    """Where bank ``bank`` of channel ``channel``'s slots start in the state (``channels``
    and ``banks`` per channel as the spec gives them)."""
    return _CHANNEL_BASE + channels * _CHANNEL_SLOTS + (channel * banks + bank) * _BANK_SLOTS


@compiled
def _serve(state, channel, bank, row, bursts, write, arrival):
    """One run of ``bursts`` bursts in ``row`` of ``bank`` of ``channel``: the rules of
    :meth:`sim.memory.dram.DramModel._serve`. Returns (first column command, last data beat,
    row misses)."""
    rcd, rp, ccd = state[_RCD], state[_RP], state[_CCD]
    latency = state[_WL] if write else state[_RL]
    c = _channel_at(channel)
    b = _bank_at(state[_CHANNELS], state[_BANKS], channel, bank)
    ready = max(arrival, state[b + _NEXT_COLUMN], state[c + _BUS] - latency - rcd - rp)
    if ready >= state[b + _REFRESH_DUE]:  # ``count`` below exceeds the refreshes seen
        refi = state[_REFI]
        offset = bank * refi // state[_BANKS]
        count = (ready - offset) // refi + 1
        state[_REFRESHES] += count - state[b + _REFRESHES_SEEN]
        state[b + _REFRESHES_SEEN] = count
        state[b + _REFRESH_DUE] = offset + count * refi
        state[b + _OPEN_ROW] = -1
        ready = max(ready, offset + (count - 1) * refi + state[_RFC])
    missed = 0
    if state[b + _OPEN_ROW] != row:
        missed = 1
        activate = ready
        if state[b + _OPEN_ROW] >= 0:
            activate = max(ready, state[b + _ACTIVATED_AT] + state[_RAS]) + rp
        activate = max(activate, state[c + _ACTIVATE] + state[_RRD])
        oldest = c + _LAST_FOUR + state[c + _NEXT]
        if state[c + _KNOWN] == 4:
            activate = max(activate, state[oldest] + state[_FAW])
        state[oldest] = activate
        state[c + _NEXT] = (state[c + _NEXT] + 1) % 4
        state[c + _KNOWN] = min(state[c + _KNOWN] + 1, 4)
        state[c + _ACTIVATE] = activate
        state[b + _ACTIVATED_AT] = activate
        state[b + _OPEN_ROW] = row
        ready = activate + rcd
    if write:
        command = max(ready, max(state[c + _BUS], state[c + _READ_END] + state[_RTW]) - latency)
    else:
        command = max(ready, state[c + _BUS] - latency, state[c + _WRITE_END] + state[_WTR])
    last_command = command + (bursts - 1) * ccd
    data_end = last_command + latency + state[_BURST_CYCLES]
    state[c + _BUS] = data_end
    state[c + (_WRITE_END if write else _READ_END)] = data_end
    state[b + _NEXT_COLUMN] = last_command + ccd
    state[c + _BUSY] += bursts * state[_BURST_CYCLES]
    return command, data_end, missed


@compiled
def _serve_rows(state, address, row_bytes, rows, pitch, write, arrival):
    """Every request of a descriptor, in order, each split into runs as
    :func:`sim.memory.address.split` splits it. Returns (first column command, last data beat,
    bursts, row misses) and adds them to the running totals."""
    unit, channels, page = state[_UNIT], state[_CHANNELS], state[_PAGE]
    burst, banks = state[_BURST], state[_BANKS]
    unit_shift, channel_shift, page_shift = (state[_SHIFTS], state[_SHIFTS + 1],
                                             state[_SHIFTS + 2])
    burst_shift, bank_shift = state[_SHIFTS + 3], state[_SHIFTS + 4]
    start, end, bursts, misses = -1, -1, 0, 0
    for index in range(rows):
        address_of_row = address + index * pitch
        first_unit = _div(address_of_row, unit, unit_shift)
        last_unit = _div(address_of_row + row_bytes - 1, unit, unit_shift)
        for channel in range(channels):
            if first_unit == last_unit:  # one interleave unit: one run
                if channel != _mod(first_unit, channels, channel_shift):
                    continue
                low = (_div(first_unit, channels, channel_shift) * unit + address_of_row
                       - first_unit * unit)
                high = low + row_bytes
            else:  # the channel's contiguous local range
                start_unit = first_unit + _mod(channel - first_unit, channels, channel_shift)
                end_unit = last_unit - _mod(last_unit - channel, channels, channel_shift)
                if start_unit > last_unit or end_unit < first_unit:
                    continue
                low = address_of_row if start_unit == first_unit else start_unit * unit
                high = (address_of_row + row_bytes if end_unit == last_unit
                        else (end_unit + 1) * unit)
                low = _div(start_unit, channels, channel_shift) * unit + low - start_unit * unit
                high = _div(end_unit, channels, channel_shift) * unit + high - end_unit * unit
            while low < high:  # a run per page
                page_index = _div(low, page, page_shift)
                stop = min(high, (page_index + 1) * page)
                first = _div(_mod(low, page, page_shift), burst, burst_shift)
                count = (_div(_mod(stop - 1, page, page_shift), burst, burst_shift)
                         - first + 1)
                command, beat, missed = _serve(state, channel,
                                               _mod(page_index, banks, bank_shift),
                                               _div(page_index, banks, bank_shift), count,
                                               write, arrival)
                bursts += count
                misses += missed
                if start < 0 or command < start:
                    start = command
                end = max(end, beat)
                low = stop
    if write:
        state[_BURSTS_WRITTEN] += bursts
        state[_BYTES_WRITTEN] += row_bytes * rows
    else:
        state[_BURSTS_READ] += bursts
        state[_BYTES_READ] += row_bytes * rows
    state[_MISSES] += misses
    state[_LAST_END] = max(state[_LAST_END], end)
    return start, end, bursts, misses


def load_compiled_code(spec: DramSpec) -> None:
    """Load the compiled rules into this process (from numba's cache, or compile them) by
    serving one request on a scratch engine; later engines start at full speed."""
    CompiledDram(spec).access_rows(0, 1, 1, 0, False, 0)


class CompiledDram:
    """Serves descriptors against ``spec`` with the rules of
    :class:`sim.memory.dram.DramModel`, compiled; results equal the per-request model's."""

    def __init__(self, spec: DramSpec) -> None:
        self.spec = spec
        timing = spec.timing
        channels, banks = spec.channels, spec.banks
        state = np.zeros(_CHANNEL_BASE + channels * _CHANNEL_SLOTS
                         + channels * banks * _BANK_SLOTS, dtype=np.int64)
        state[:_SHIFTS] = (spec.interleave_bytes, channels, spec.page_bytes,
                           spec.burst_bytes, banks, timing.rcd, timing.rp, timing.ras,
                           timing.rl, timing.wl, timing.ccd, timing.rrd, timing.faw,
                           timing.refi, timing.rfc, timing.wtr, timing.rtw,
                           spec.burst_length // 2)
        state[_SHIFTS:_REFRESHES] = [_log2(int(value)) for value in state[:_BANKS + 1]]
        for channel in range(channels):
            base = _channel_at(channel)
            state[base + _WRITE_END] = state[base + _READ_END] = _NEVER
            state[base + _ACTIVATE] = _NEVER
            for bank in range(banks):
                at = _bank_at(channels, banks, channel, bank)
                state[at + _OPEN_ROW] = -1
                state[at + _ACTIVATED_AT] = _NEVER
                state[at + _REFRESH_DUE] = bank * timing.refi // banks
        self.state = state
        self._last_arrival = 0
        self._burst_cycles = spec.burst_length // 2

    @classmethod
    def taking_over(cls, model: DramModel) -> CompiledDram:
        """An engine that goes on from where ``model`` is: the same totals, channel and bank
        state, and last arrival."""
        engine = cls(model.spec)
        state, stats = engine.state, model.stats
        state[_REFRESHES:_CHANNEL_BASE] = (stats.refreshes, stats.bursts_read,
                                           stats.bursts_written, stats.bytes_read,
                                           stats.bytes_written, stats.row_misses,
                                           stats.last_end_cycle)
        if stats.activates != stats.row_misses:
            raise AssertionError("every row miss is an activate")
        channels, banks = model.spec.channels, model.spec.banks
        for index, channel in enumerate(model.channels):
            base = _channel_at(index)
            known = len(channel.activates)
            state[base:base + _LAST_FOUR] = (channel.bus_free, channel.last_write_end,
                                             channel.last_read_end, channel.last_activate,
                                             known, known % 4)
            state[base + _LAST_FOUR:base + _LAST_FOUR + known] = list(channel.activates)
            state[base + _BUSY] = stats.busy_cycles[index]
            for number, bank in enumerate(channel.banks):
                at = _bank_at(channels, banks, index, number)
                state[at:at + _BANK_SLOTS] = (
                    -1 if bank.open_row is None else bank.open_row, bank.activated_at,
                    bank.next_column, bank.refreshes_seen,
                    number * model.spec.timing.refi // banks
                    + bank.refreshes_seen * model.spec.timing.refi)
        engine._last_arrival = model._last_arrival
        return engine

    def access_rows(self, address: int, row_bytes: int, rows: int, pitch_bytes: int,
                    write: bool, arrival_cycle: int) -> AccessResult:
        """Serve ``rows`` requests of ``row_bytes`` at ``address + i * pitch_bytes``, all
        arriving at ``arrival_cycle`` (tCK), in order; their results combined (earliest
        start, latest end, counts added)."""
        if arrival_cycle < self._last_arrival:
            raise ValueError(f"arrivals must not decrease: {arrival_cycle} after "
                             f"{self._last_arrival}")
        self._last_arrival = arrival_cycle
        if row_bytes <= 0 or rows <= 0:
            return AccessResult(arrival_cycle, arrival_cycle, 0, 0, 0, 0, 0)
        start, end, bursts, misses = _serve_rows(self.state, address, row_bytes, rows,
                                                 pitch_bytes, write, arrival_cycle)
        return AccessResult(start, end, bursts, bursts - misses, misses, misses,
                            bursts * self._burst_cycles)

    @property
    def stats(self) -> DramStats:
        """The running totals, as :attr:`sim.memory.dram.DramModel.stats` keeps them."""
        state = [int(value) for value in self.state]
        bursts = state[_BURSTS_READ] + state[_BURSTS_WRITTEN]
        busy = [state[_channel_at(channel) + _BUSY] for channel in range(self.spec.channels)]
        return DramStats(state[_BURSTS_READ], state[_BURSTS_WRITTEN], state[_BYTES_READ],
                         state[_BYTES_WRITTEN], bursts - state[_MISSES], state[_MISSES],
                         state[_MISSES], state[_REFRESHES], busy, state[_LAST_END])

    def channel_state(self, channel: int) -> tuple:
        """What channel ``channel`` carries to the next request, as
        :meth:`sim.memory.dram.DramModel.channel_state` gives it."""
        state = [int(value) for value in self.state]
        base = _channel_at(channel)
        known, following = state[base + _KNOWN], state[base + _NEXT]
        four = state[base + _LAST_FOUR:base + _LAST_FOUR + 4]
        activates = four[:known] if known < 4 else four[following:] + four[:following]
        banks = []
        for bank in range(self.spec.banks):
            at = _bank_at(self.spec.channels, self.spec.banks, channel, bank)
            open_row = state[at + _OPEN_ROW]
            banks.append((None if open_row < 0 else open_row, state[at + _ACTIVATED_AT],
                          state[at + _NEXT_COLUMN], state[at + _REFRESHES_SEEN]))
        return (state[base + _BUS], state[base + _WRITE_END], state[base + _READ_END],
                state[base + _ACTIVATE], activates, banks)
