"""A cycle-level DRAM model with exact integer timestamps in DRAM clock cycles (tCK).

Controller policy: requests are served in arrival order (arrivals never decrease); a request is
split into runs (:mod:`sim.memory.address`) and each channel serves its runs in order, open-page:
a row stays open until another row of the same bank is needed.

Per run, in one channel:

- Refresh: bank ``b`` is refreshed at ``k * refi + b * refi / banks`` for ``rfc`` cycles (per-bank
  refresh, staggered). A run that would start inside that window waits for its end; a refresh
  closes the bank's row. A refresh that falls during a run is postponed past it (LPDDR4 allows
  postponing refreshes).
- Row miss: precharge no earlier than ``ras`` after the bank's activate and after its last column
  command; activate ``rp`` later, at least ``rrd`` after the channel's previous activate and
  ``faw`` after its fourth-last; the first column command ``rcd`` after the activate. The next
  row's activate can thus overlap another bank's data transfer (bank-level parallelism).
- Column commands every ``ccd``; read data starts ``rl`` after the command, write data ``wl``
  after; a burst holds the data bus ``burst_length / 2`` cycles. Turnarounds: a read command waits
  ``wtr`` after the last write data; write data waits ``rtw`` after the last read data.
- Whole bursts move: a request that does not start or end on a burst boundary transfers the whole
  first and last bursts.

Not modelled: command-bus conflicts, write recovery before precharge, power-down.

Two ways in, with identical results: :meth:`DramModel.access` serves one contiguous request
(the reference), :meth:`DramModel.access_rows` a descriptor of equal requests a fixed pitch
apart (a schedule's strided transfer) as if each were given to ``access`` in turn, without
building a request per row; where consecutive requests hit the row a bank has open, with no
refresh due, their command times follow in closed form.

Long runs of small requests go faster compiled: :class:`sim.memory.compiled.CompiledDram`
serves descriptors with the same rules, request by request, and can take over from this model
mid-run (:meth:`CompiledDram.taking_over`); it is tested equal to :meth:`DramModel.access`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from math import gcd

from sim.hardware import DramEnergySpec, DramSpec
from sim.memory.address import Run, split


@dataclass(frozen=True)
class AccessResult:
    """One request: first column command, last data beat, and what it cost."""

    start_cycle: int
    end_cycle: int
    bursts: int
    row_hits: int
    row_misses: int
    activates: int
    busy_cycles: int


@dataclass
class DramStats:
    """Running totals over all requests."""

    bursts_read: int = 0
    bursts_written: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    row_hits: int = 0
    row_misses: int = 0
    activates: int = 0
    refreshes: int = 0
    busy_cycles: list[int] = field(default_factory=list)
    last_end_cycle: int = 0


@dataclass
class _Bank:
    open_row: int | None = None
    activated_at: int = -(1 << 40)
    next_column: int = 0  # earliest next column command
    refreshes_seen: int = 0


@dataclass
class _Channel:
    banks: list[_Bank]
    bus_free: int = 0
    last_write_end: int = -(1 << 40)
    last_read_end: int = -(1 << 40)
    last_activate: int = -(1 << 40)
    activates: deque = field(default_factory=lambda: deque(maxlen=4))


PAGE_WISE_ROWS = 8  # descriptors of at least this many requests are served page by page


@dataclass(frozen=True)
class _PhaseTable:
    """One period of a descriptor's requests in the channel interleave: request ``i`` is in
    channel ``channel_of[i % period]`` and moves ``bursts_of[i % period]`` bursts;
    ``positions[c]`` lists the phases of channel ``c`` and ``prefix[c]`` their running burst
    sums."""

    period: int
    positions: list[list[int]]
    prefix: list[list[int]]
    channel_of: list[int]
    bursts_of: list[int]
    known: dict = field(default_factory=dict, compare=False)

    def _before(self, channel: int, index: int) -> tuple[int, int]:
        """(requests, bursts) of ``channel`` among requests [0, index)."""
        periods, rest = divmod(index, self.period)
        where = bisect_left(self.positions[channel], rest)
        per_period = len(self.positions[channel])
        prefix = self.prefix[channel]
        return periods * per_period + where, periods * prefix[-1] + prefix[where]

    def count(self, channel: int, first: int, stop: int
              ) -> tuple[int, int, int, int] | None:
        """(first index, requests, bursts, last index) of ``channel``'s requests among
        [first, stop), or None when it has none. The answer moved by a whole number of periods
        is the answer for the range moved by as much, so it is kept per channel, phase of
        ``first`` and length."""
        shift = first - first % self.period
        key = (channel, first - shift, stop - first)
        found = self.known.get(key, False)
        if found is False:
            found = self.known[key] = self._count(channel, first - shift, stop - shift)
        if found is None or shift == 0:
            return found
        return found[0] + shift, found[1], found[2], found[3] + shift

    def _count(self, channel: int, first: int, stop: int
               ) -> tuple[int, int, int, int] | None:
        positions = self.positions[channel]
        if not positions:
            return None
        before, bursts_before = self._before(channel, first)
        upto, bursts_upto = self._before(channel, stop)
        if upto == before:
            return None
        return (self._index(channel, before), upto - before, bursts_upto - bursts_before,
                self._index(channel, upto - 1))

    def _index(self, channel: int, nth: int) -> int:
        """The request index of ``channel``'s ``nth`` request (from 0)."""
        periods, rest = divmod(nth, len(self.positions[channel]))
        return periods * self.period + self.positions[channel][rest]


class DramModel:
    """Serves requests against ``spec``; see the module docstring for the policy."""

    def __init__(self, spec: DramSpec) -> None:
        self.spec = spec
        self.channels = [_Channel([_Bank() for _ in range(spec.banks)])
                         for _ in range(spec.channels)]
        self.stats = DramStats(busy_cycles=[0] * spec.channels)
        self._last_arrival = 0
        self._burst_cycles = spec.burst_length // 2
        self.full_serves = 0  # runs access_rows served by the full rules (what costs time)
        self._tables: dict[tuple[int, int, int], _PhaseTable | None] = {}
        timing = spec.timing
        self._timing = (timing.rcd, timing.rp, timing.ras, timing.rl, timing.wl, timing.ccd,
                        timing.rrd, timing.faw, timing.refi, timing.rfc, timing.wtr, timing.rtw)
        self._refresh_offsets = [bank * timing.refi // spec.banks for bank in range(spec.banks)]
        # The address mapping, and the command gaps of a hit after a hit (see access_rows).
        self._mapping = (spec.interleave_bytes, spec.channels, spec.page_bytes,
                         spec.burst_bytes, spec.banks)
        burst_cycles = self._burst_cycles
        self._gaps = (max(timing.ccd, burst_cycles),
                      max(timing.ccd, burst_cycles - timing.rcd - timing.rp))

    def access(self, address: int, size_bytes: int, write: bool, arrival_cycle: int
               ) -> AccessResult:
        """Serve one contiguous request that arrives at ``arrival_cycle`` (tCK)."""
        if arrival_cycle < self._last_arrival:
            raise ValueError(f"arrivals must not decrease: {arrival_cycle} after "
                             f"{self._last_arrival}")
        self._last_arrival = arrival_cycle
        runs = split(self.spec, address, size_bytes)
        if not runs:
            return AccessResult(arrival_cycle, arrival_cycle, 0, 0, 0, 0, 0)
        start = end = None
        bursts = misses = 0
        for run in runs:
            first, last, missed = self._serve(run, write, arrival_cycle)
            start = first if start is None else min(start, first)
            end = last if end is None else max(end, last)
            bursts += run.bursts
            misses += missed
        return self._account(write, size_bytes, bursts, misses, start, end)

    def access_rows(self, address: int, row_bytes: int, rows: int, pitch_bytes: int,
                    write: bool, arrival_cycle: int) -> AccessResult:
        """Serve ``rows`` requests of ``row_bytes`` at ``address + i * pitch_bytes``, all
        arriving at ``arrival_cycle``, in order: the same as ``rows`` calls of :meth:`access`,
        their results combined (earliest start, latest end, counts added)."""
        if arrival_cycle < self._last_arrival:
            raise ValueError(f"arrivals must not decrease: {arrival_cycle} after "
                             f"{self._last_arrival}")
        self._last_arrival = arrival_cycle
        if row_bytes <= 0 or rows <= 0:
            return AccessResult(arrival_cycle, arrival_cycle, 0, 0, 0, 0, 0)
        if rows >= PAGE_WISE_ROWS and 0 < pitch_bytes:
            table = self._phase_table(address, row_bytes, pitch_bytes)
            if table is not None:
                return self._rows_page_by_page(address, row_bytes, rows, pitch_bytes, write,
                                               arrival_cycle, table)
        timing = self.spec.timing
        unit, channel_count, page, burst, bank_count = self._mapping
        ccd, burst_cycles = timing.ccd, self._burst_cycles
        latency = timing.wl if write else timing.rl
        # A hit in the row the previous request of the channel opened, same direction, no
        # refresh due: the column command follows the last one by ``gap``, and the bank is
        # ready ``ready_gap`` after it (derived in the module docstring's rules).
        gap, ready_gap = self._gaps
        # Per channel, the streak of hits in progress: [bank, row, last command, next refresh].
        streaks: list[list[int] | None] = [None] * channel_count
        busy = [0] * channel_count
        serve = self._serve_one
        start = end = -1
        bursts = misses = 0
        one_channel = channel_count == 1 and pitch_bytes >= 0
        index = 0
        while index < rows:
            row_address = address + index * pitch_bytes
            streak = streaks[0]
            if one_channel and streak is not None:
                # One channel: the rows from here that lie in the page of the streak's row hit
                # it one after another; their command times add up in closed form unless a
                # refresh falls due among them (then they go one by one, below).
                page_index = row_address // page
                if (page_index % bank_count == streak[0] and page_index // bank_count == streak[1]
                        and (row_address + row_bytes - 1) // page == page_index):
                    last = rows - 1 if pitch_bytes == 0 else min(
                        rows - 1, ((page_index + 1) * page - row_bytes - address) // pitch_bytes)
                    count = last - index + 1
                    if count > 1:
                        inside = row_address - page_index * page
                        total = _bursts_of_rows(inside, row_bytes, count, pitch_bytes, burst)
                        last_inside = inside + (count - 1) * pitch_bytes
                        last_bursts = ((last_inside + row_bytes - 1) // burst
                                       - last_inside // burst + 1)
                        before_last = (streak[2] + (count - 1) * gap
                                       + (total - last_bursts - (count - 1)) * ccd)
                        if before_last + ready_gap < streak[3]:
                            streak[2] = before_last + gap + (last_bursts - 1) * ccd
                            busy[0] += total
                            bursts += total
                            beat = streak[2] + latency + burst_cycles
                            if beat > end:
                                end = beat
                            index = last + 1
                            continue
            index += 1
            first_unit = row_address // unit
            last_unit = (row_address + row_bytes - 1) // unit
            if first_unit == last_unit:  # one interleave unit: one run
                local = (first_unit // channel_count) * unit + row_address - first_unit * unit
                page_index = local // page
                first = (local % page) // burst
                runs = [(first_unit % channel_count, page_index % bank_count,
                         page_index // bank_count,
                         ((local + row_bytes - 1) % page) // burst - first + 1)]
            else:  # per channel its contiguous local range, a run per page (as ``split``)
                runs = []
                for channel in range(channel_count):
                    start_unit = first_unit + (channel - first_unit) % channel_count
                    end_unit = last_unit - (last_unit - channel) % channel_count
                    if start_unit > last_unit or end_unit < first_unit:
                        continue
                    low = row_address if start_unit == first_unit else start_unit * unit
                    high = (row_address + row_bytes if end_unit == last_unit
                            else (end_unit + 1) * unit)
                    low = (start_unit // channel_count) * unit + low - start_unit * unit
                    high = (end_unit // channel_count) * unit + high - 1 - end_unit * unit + 1
                    while low < high:
                        page_index = low // page
                        stop = min(high, (page_index + 1) * page)
                        first = (low % page) // burst
                        runs.append((channel, page_index % bank_count, page_index // bank_count,
                                     ((stop - 1) % page) // burst - first + 1))
                        low = stop
            for channel, bank, dram_row, count in runs:
                bursts += count
                streak = streaks[channel]
                if (streak is not None and streak[0] == bank and streak[1] == dram_row
                        and streak[2] + ready_gap < streak[3]):
                    last_command = streak[2] + gap + (count - 1) * ccd
                    streak[2] = last_command
                    busy[channel] += count
                    beat = last_command + latency + burst_cycles
                    if beat > end:
                        end = beat
                    continue
                if streak is not None:
                    self._end_streak(channel, streak, busy, write)
                first_command, last_beat, missed = serve(channel, bank, dram_row, count, write,
                                                         arrival_cycle)
                streaks[channel] = [bank, dram_row, last_beat - latency - burst_cycles,
                                    self._next_refresh(bank, self.channels[channel].banks[bank])]
                if start < 0 or first_command < start:
                    start = first_command
                if last_beat > end:
                    end = last_beat
                misses += missed
        for channel, streak in enumerate(streaks):
            if streak is not None:
                self._end_streak(channel, streak, busy, write)
        return self._account(write, row_bytes * rows, bursts, misses, start, end)

    def channel_state(self, channel: int) -> tuple:
        """What channel ``channel`` carries to the next request: data bus free, last write and
        read data ends, last activate, the last four activates (oldest first), and per bank
        (open row or None, its activate, earliest next column command, refreshes seen)."""
        state = self.channels[channel]
        return (state.bus_free, state.last_write_end, state.last_read_end, state.last_activate,
                list(state.activates),
                [(bank.open_row, bank.activated_at, bank.next_column, bank.refreshes_seen)
                 for bank in state.banks])

    def _account(self, write: bool, size_bytes: int, bursts: int, misses: int, start: int,
                 end: int) -> AccessResult:
        """Add a served access to the running totals (every row miss is an activate) and
        return its result."""
        stats = self.stats
        if write:
            stats.bursts_written += bursts
            stats.bytes_written += size_bytes
        else:
            stats.bursts_read += bursts
            stats.bytes_read += size_bytes
        stats.row_hits += bursts - misses
        stats.row_misses += misses
        stats.activates += misses
        stats.last_end_cycle = max(stats.last_end_cycle, end)
        return AccessResult(start, end, bursts, bursts - misses, misses, misses,
                            bursts * self._burst_cycles)

    def _phase_table(self, address: int, row_bytes: int, pitch_bytes: int
                     ) -> _PhaseTable | None:
        """Where the requests of a descriptor fall inside the channel interleave, over one
        period of their phase; None when some request crosses an interleave unit."""
        unit, channels, _, burst, _ = self._mapping
        cycle = unit * channels
        key = (address % cycle, pitch_bytes % cycle, row_bytes)
        table = self._tables.get(key, False)
        if table is not False:
            return table
        phase, step = key[0], key[1]
        period = cycle // gcd(step, cycle)
        positions: list[list[int]] = [[] for _ in range(channels)]
        prefix: list[list[int]] = [[0] for _ in range(channels)]
        channel_of, bursts_of = [], []
        table: _PhaseTable | None = None
        for j in range(period):
            offset = (phase + j * step) % cycle
            inside = offset % unit
            if inside + row_bytes > unit:
                break
            channel = offset // unit
            bursts = (inside + row_bytes - 1) // burst - inside // burst + 1
            positions[channel].append(j)
            prefix[channel].append(prefix[channel][-1] + bursts)
            channel_of.append(channel)
            bursts_of.append(bursts)
        else:
            table = _PhaseTable(period, positions, prefix, channel_of, bursts_of)
        self._tables[key] = table
        return table

    def _rows_page_by_page(self, address: int, row_bytes: int, rows: int, pitch_bytes: int,
                           write: bool, arrival: int, table: _PhaseTable) -> AccessResult:
        """:meth:`access_rows` for requests that each lie in one interleave unit, a page of
        every channel at a time: the requests of one channel in one page are its first one,
        served by the full rules, then hits in the row it opened whose command times add up
        in closed form (the count of requests and of their bursts is all they need), unless
        a refresh falls due among them, when they are served one by one."""
        timing = self.spec.timing
        _, channels, page, _, banks = self._mapping
        span = page * channels  # one page of every channel: a contiguous range
        ccd, burst_cycles = timing.ccd, self._burst_cycles
        latency = timing.wl if write else timing.rl
        gap, ready_gap = self._gaps
        period = table.period
        serve = self._serve_one
        start = end = -1
        bursts = misses = 0
        index = 0
        while index < rows:
            page_index = (address + index * pitch_bytes) // span
            stop = min(rows, -(-((page_index + 1) * span - address) // pitch_bytes))
            bank_index, dram_row = page_index % banks, page_index // banks
            for channel_index in range(channels):
                found = table.count(channel_index, index, stop)
                if found is None:
                    continue
                first, count, total, last = found
                first_bursts = table.bursts_of[first % period]
                first_command, beat, missed = serve(channel_index, bank_index, dram_row,
                                                    first_bursts, write, arrival)
                if start < 0 or first_command < start:
                    start = first_command
                misses += missed
                bursts += total
                if count > 1:
                    channel = self.channels[channel_index]
                    bank = channel.banks[bank_index]
                    last_bursts = table.bursts_of[last % period]
                    between = count - 2  # hits after the first and before the last
                    last_command = beat - latency - burst_cycles
                    before_last = (last_command + between * gap
                                   + (total - first_bursts - last_bursts - between) * ccd)
                    if before_last + ready_gap < self._next_refresh(bank_index, bank):
                        last_command = before_last + gap + (last_bursts - 1) * ccd
                        beat = last_command + latency + burst_cycles
                        channel.bus_free = beat
                        if write:
                            channel.last_write_end = beat
                        else:
                            channel.last_read_end = beat
                        bank.next_column = last_command + ccd
                        self.stats.busy_cycles[channel_index] += ((total - first_bursts)
                                                                  * burst_cycles)
                    else:  # a refresh falls due among them: the full rules, one by one
                        for other in range(first + 1, last + 1):
                            if table.channel_of[other % period] != channel_index:
                                continue
                            _, beat_one, missed = serve(channel_index, bank_index, dram_row,
                                                        table.bursts_of[other % period], write,
                                                        arrival)
                            misses += missed
                            beat = max(beat, beat_one)
                if beat > end:
                    end = beat
            index = stop
        return self._account(write, row_bytes * rows, bursts, misses, start, end)

    def _next_refresh(self, bank_index: int, bank: _Bank) -> int:
        """The cycle from which a bank whose ready time reaches it gets its next refresh."""
        return self._refresh_offsets[bank_index] + bank.refreshes_seen * self._timing[8]

    def _end_streak(self, channel_index: int, streak: list[int], busy: list[int],
                    write: bool) -> None:
        """Write a streak of hits back into the channel and bank state."""
        timing = self.spec.timing
        channel = self.channels[channel_index]
        last_command = streak[2]
        data_end = last_command + (timing.wl if write else timing.rl) + self._burst_cycles
        channel.bus_free = data_end
        if write:
            channel.last_write_end = data_end
        else:
            channel.last_read_end = data_end
        channel.banks[streak[0]].next_column = last_command + timing.ccd
        self.stats.busy_cycles[channel_index] += busy[channel_index] * self._burst_cycles
        busy[channel_index] = 0

    def _serve_one(self, channel_index: int, bank_index: int, row: int, bursts: int,
                   write: bool, arrival: int) -> tuple[int, int, int]:
        """:meth:`_serve` written out for one run given by its location (the fast path)."""
        self.full_serves += 1
        rcd, rp, ras, rl, wl, ccd, rrd, faw, refi, rfc, wtr, rtw = self._timing
        channel = self.channels[channel_index]
        bank = channel.banks[bank_index]
        latency = wl if write else rl
        ready = bank.next_column
        if arrival > ready:
            ready = arrival
        lead = channel.bus_free - latency - rcd - rp
        if lead > ready:
            ready = lead
        offset = self._refresh_offsets[bank_index]
        if ready >= offset:
            count = (ready - offset) // refi + 1
            if count > bank.refreshes_seen:
                self.stats.refreshes += count - bank.refreshes_seen
                bank.refreshes_seen = count
                bank.open_row = None
                latest = offset + (count - 1) * refi + rfc
                if latest > ready:
                    ready = latest
        missed = 0
        if bank.open_row != row:
            missed = 1
            activate = ready
            if bank.open_row is not None:
                precharge = bank.activated_at + ras
                activate = (ready if ready > precharge else precharge) + rp
            earliest = channel.last_activate + rrd
            if earliest > activate:
                activate = earliest
            activates = channel.activates
            if len(activates) == 4:
                earliest = activates[0] + faw
                if earliest > activate:
                    activate = earliest
            channel.last_activate = activate
            activates.append(activate)
            bank.activated_at = activate
            bank.open_row = row
            ready = activate + rcd
        if write:
            bus_ready = channel.bus_free
            turnaround = channel.last_read_end + rtw
            if turnaround > bus_ready:
                bus_ready = turnaround
            command = bus_ready - latency
            if ready > command:
                command = ready
        else:
            command = channel.bus_free - latency
            if ready > command:
                command = ready
            turnaround = channel.last_write_end + wtr
            if turnaround > command:
                command = turnaround
        last_command = command + (bursts - 1) * ccd
        data_end = last_command + latency + self._burst_cycles
        channel.bus_free = data_end
        if write:
            channel.last_write_end = data_end
        else:
            channel.last_read_end = data_end
        bank.next_column = last_command + ccd
        self.stats.busy_cycles[channel_index] += bursts * self._burst_cycles
        return command, data_end, missed

    def _refresh(self, bank_index: int, bank: _Bank, ready: int) -> int:
        """Apply refreshes due up to ``ready``; returns when the bank can be used."""
        timing = self.spec.timing
        offset = bank_index * timing.refi // self.spec.banks
        if ready < offset:
            return ready
        count = (ready - offset) // timing.refi + 1  # refreshes started by ``ready``
        if count > bank.refreshes_seen:
            self.stats.refreshes += count - bank.refreshes_seen
            bank.refreshes_seen = count
            bank.open_row = None
            latest = offset + (count - 1) * timing.refi
            ready = max(ready, latest + timing.rfc)
        return ready

    def _serve(self, run: Run, write: bool, arrival: int) -> tuple[int, int, int]:
        """Serve one run; returns (first column command, last data beat, row misses)."""
        timing = self.spec.timing
        channel = self.channels[run.channel]
        bank = channel.banks[run.bank]
        latency = timing.wl if write else timing.rl
        # The controller opens a row just early enough to meet the data bus; refreshes due by
        # then apply (a run of an idle bank whose bus is busy starts later than it arrives).
        lead = latency + timing.rcd + timing.rp
        ready = self._refresh(run.bank, bank,
                              max(arrival, bank.next_column, channel.bus_free - lead))
        missed = 0
        if bank.open_row != run.row:
            missed = 1
            activate = ready
            if bank.open_row is not None:
                precharge = max(ready, bank.activated_at + timing.ras)
                activate = precharge + timing.rp
            activate = max(activate, channel.last_activate + timing.rrd)
            if len(channel.activates) == 4:
                activate = max(activate, channel.activates[0] + timing.faw)
            channel.last_activate = activate
            channel.activates.append(activate)
            bank.activated_at = activate
            bank.open_row = run.row
            ready = activate + timing.rcd
        bus_ready = channel.bus_free
        if write:
            bus_ready = max(bus_ready, channel.last_read_end + timing.rtw)
        command = max(ready, bus_ready - latency)
        if not write:
            command = max(command, channel.last_write_end + timing.wtr)
        last_command = command + (run.bursts - 1) * timing.ccd
        data_end = last_command + latency + self._burst_cycles
        channel.bus_free = data_end
        if write:
            channel.last_write_end = data_end
        else:
            channel.last_read_end = data_end
        bank.next_column = last_command + timing.ccd
        self.stats.busy_cycles[run.channel] += run.bursts * self._burst_cycles
        return command, data_end, missed


def _bursts_of_rows(offset: int, size: int, rows: int, pitch: int, burst: int) -> int:
    """Bursts touched by ``rows`` requests of ``size`` bytes, the first at ``offset`` and
    each ``pitch`` after the one before (offsets from a burst boundary): one period of their
    offsets inside a burst, counted once, as often as it recurs."""
    totals = _burst_period(offset % burst, size, pitch % burst, burst)
    period = len(totals) - 1
    return (rows // period) * totals[-1] + totals[rows % period]


@lru_cache(maxsize=4096)
def _burst_period(offset: int, size: int, pitch: int, burst: int) -> tuple[int, ...]:
    """Running totals of the bursts of requests ``0, 1, ...`` of one period."""
    totals = [0]
    for i in range(burst // gcd(pitch, burst)):
        start = offset + i * pitch
        totals.append(totals[-1] + (start + size - 1) // burst - start // burst + 1)
    return tuple(totals)


def energy_pj(stats: DramStats, spec: DramSpec, energy: DramEnergySpec | None = None) -> float:
    """Bits moved (whole bursts) x pJ per bit + activates x pJ per activate/precharge."""
    energy = energy or spec.energy
    bits_per_burst = spec.burst_bytes * 8
    return (stats.bursts_read * bits_per_burst * energy.read_pj_per_bit
            + stats.bursts_written * bits_per_burst * energy.write_pj_per_bit
            + stats.activates * energy.activate_pj)
