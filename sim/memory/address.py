"""Address mapping: channel interleave, then row:bank:column inside a channel.

Byte address ``a`` belongs to channel ``(a // I) % C`` (``I`` = interleave bytes, ``C`` =
channels); inside the channel it is byte ``(a // (I * C)) * I + a % I``. A channel's bytes fill a
page (column), then the same row of the next bank, then the next row:
``page = local // P``, ``bank = page % B``, ``row = page // B``. A contiguous request therefore
covers one contiguous range of every channel, which splits into at most one run per page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.hardware import DramSpec


@dataclass(frozen=True)
class Run:
    """Whole bursts of one request in one row of one bank of one channel."""

    channel: int
    bank: int
    row: int
    first_burst: int  # burst index inside the page
    bursts: int


def channel_range(spec: DramSpec, address: int, size_bytes: int, channel: int
                  ) -> tuple[int, int] | None:
    """The channel-local byte range [lo, hi) of a request in ``channel``, or None."""
    unit, channels = spec.interleave_bytes, spec.channels
    last = address + size_bytes - 1
    first_unit, last_unit = address // unit, last // unit
    start_unit = first_unit + (channel - first_unit) % channels
    end_unit = last_unit - (last_unit - channel) % channels
    if start_unit > last_unit or end_unit < first_unit:
        return None
    lo_byte = address if start_unit == first_unit else start_unit * unit
    hi_byte = last + 1 if end_unit == last_unit else (end_unit + 1) * unit

    def local(byte: int, unit_index: int) -> int:
        return (unit_index // channels) * unit + byte - unit_index * unit

    return local(lo_byte, start_unit), local(hi_byte - 1, end_unit) + 1


def split(spec: DramSpec, address: int, size_bytes: int) -> list[Run]:
    """The runs of a request, channel by channel, in address order within each channel."""
    if size_bytes <= 0:
        return []
    burst, page, unit = spec.burst_bytes, spec.page_bytes, spec.interleave_bytes
    first_unit = address // unit
    if first_unit == (address + size_bytes - 1) // unit:  # one interleave unit: one run
        local = (first_unit // spec.channels) * unit + address - first_unit * unit
        page_index = local // page
        first = (local % page) // burst
        last = ((local + size_bytes - 1) % page) // burst
        return [Run(first_unit % spec.channels, page_index % spec.banks,
                    page_index // spec.banks, first, last - first + 1)]
    runs = []
    for channel in range(spec.channels):
        span = channel_range(spec, address, size_bytes, channel)
        if span is None:
            continue
        lo, hi = span
        start = lo
        while start < hi:
            page_index = start // page
            end = min(hi, (page_index + 1) * page)
            first = (start % page) // burst
            last = ((end - 1) % page) // burst
            runs.append(Run(channel, page_index % spec.banks, page_index // spec.banks, first,
                            last - first + 1))
            start = end
    return runs
