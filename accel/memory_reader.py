"""Stream consecutive words out of a synchronous memory read port, at one word per cycle."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from accel.checks import require_int

# Words in flight: one being read from the memory plus the queue that absorbs backpressure.
QUEUE_DEPTH = 3


class MemoryStreamReader(wiring.Component):
    """Reads ``count`` words from address ``base`` on (``start`` while ``busy`` is low) through
    a synchronous read port (``addr``, ``en``, ``data`` one cycle later) and sends them on
    ``words``; ``busy`` until the last word has been sent.

    Latency: the first word is valid 2 cycles after ``start`` (the read, then the queue).
    Throughput: one word per cycle while ``words.ready`` is high. Holds ``QUEUE_DEPTH`` words of
    ``width`` bits in registers.
    """

    def __init__(self, *, width: int, depth: int) -> None:
        require_int(self, "Width", width, 1)
        require_int(self, "Depth", depth, 1)
        self._width, self._depth = width, depth
        super().__init__({
            "start": In(1), "base": In(range(depth)), "count": In(range(depth + 1)),
            "busy": Out(1),
            "addr": Out(range(depth)), "en": Out(1), "data": In(unsigned(width)),
            "words": Out(stream.Signature(unsigned(width))),
        })

    @property
    def queue_bits(self) -> int:
        """Register bits of the queue."""
        return QUEUE_DEPTH * self._width

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.queue = queue = SyncFIFO(width=self._width, depth=QUEUE_DEPTH)
        address = Signal(range(self._depth + 1))
        to_issue = Signal(range(self._depth + 1))
        to_send = Signal(range(self._depth + 1))
        in_flight = Signal()
        issue = (to_issue != 0) & (queue.level + in_flight < QUEUE_DEPTH)
        m.d.comb += [
            self.addr.eq(address), self.en.eq(issue),
            queue.w_data.eq(self.data), queue.w_en.eq(in_flight),
            self.words.valid.eq(queue.r_rdy), self.words.payload.eq(queue.r_data),
            queue.r_en.eq(self.words.ready),
            self.busy.eq(to_send != 0),
        ]
        m.d.sync += in_flight.eq(issue)
        with m.If(self.start & (to_send == 0)):
            m.d.sync += [address.eq(self.base), to_issue.eq(self.count),
                         to_send.eq(self.count)]
        with m.Else():
            with m.If(issue):
                m.d.sync += [address.eq(address + 1), to_issue.eq(to_issue - 1)]
            with m.If(self.words.valid & self.words.ready):
                m.d.sync += to_send.eq(to_send - 1)
        return m


class PaddedTileReader(wiring.Component):
    """Streams a band of a feature map with its zero padding, one position per cycle, out of a
    tile memory that holds the band's in-bounds rows (row-major, ``width`` pixels each).

    ``start`` (while ``busy`` is low) takes ``first_row`` (the band's first padded row in map
    coordinates, negative above the map), ``rows`` (padded rows to send), ``height`` and
    ``width`` (the map's) and ``padding``: positions (y, x) for y in first_row ..
    first_row + rows - 1 and x in -padding .. width + padding - 1 leave in raster order, zero
    outside the map, else the tile memory's word (y - max(0, first_row)) * width + x.

    Latency: the first position is valid 3 cycles after ``start``, as
    :class:`MemoryStreamReader`. Throughput: one position per cycle.
    """

    def __init__(self, *, width: int, depth: int, max_rows: int, max_width: int,
                 max_padding: int) -> None:
        require_int(self, "Width", width, 1)
        require_int(self, "Depth", depth, 1)
        require_int(self, "Maximum rows", max_rows, 1)
        require_int(self, "Maximum width", max_width, 1)
        require_int(self, "Maximum padding", max_padding, 0)
        self._width, self._depth = width, depth
        self._max_rows, self._max_width, self._max_padding = max_rows, max_width, max_padding
        row_range = range(-max_padding, 4096)
        super().__init__({
            "start": In(1), "first_row": In(signed(max(row_range.start.bit_length(),
                                                       row_range.stop.bit_length()) + 1)),
            "rows": In(range(max_rows + 1)), "height": In(range(4096)),
            "width": In(range(max_width + 1)), "padding": In(range(max_padding + 1)),
            "busy": Out(1),
            "addr": Out(range(depth)), "en": Out(1), "data": In(unsigned(width)),
            "words": Out(stream.Signature(unsigned(width))),
        })

    @property
    def queue_bits(self) -> int:
        return QUEUE_DEPTH * self._width

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.queue = queue = SyncFIFO(width=self._width, depth=QUEUE_DEPTH)
        row = Signal.like(self.first_row)          # map row of the next position
        column = Signal(signed(len(self.width) + len(self.padding) + 2))
        last_row = Signal.like(self.first_row)
        height = Signal.like(self.height)
        width = Signal.like(self.width)
        padding = Signal.like(self.padding)
        address = Signal(range(self._depth + 1))
        to_issue = Signal(range(self._max_rows * (self._max_width + 2 * self._max_padding)
                                + 1))
        to_send = Signal.like(to_issue)
        in_flight = Signal()
        in_flight_real = Signal()
        inside = (row >= 0) & (row < height) & (column >= 0) & (column < width)
        issue = (to_issue != 0) & (queue.level + in_flight < QUEUE_DEPTH)
        m.d.comb += [
            self.addr.eq(address), self.en.eq(issue & inside),
            queue.w_data.eq(Mux(in_flight_real, self.data, 0)), queue.w_en.eq(in_flight),
            self.words.valid.eq(queue.r_rdy), self.words.payload.eq(queue.r_data),
            queue.r_en.eq(self.words.ready),
            self.busy.eq(to_send != 0),
        ]
        m.d.sync += [in_flight.eq(issue), in_flight_real.eq(issue & inside)]
        padded_width = self.width + 2 * self.padding
        with m.If(self.start & (to_send == 0)):
            m.d.sync += [row.eq(self.first_row), column.eq(-self.padding),
                         last_row.eq(self.first_row + self.rows - 1), height.eq(self.height),
                         width.eq(self.width), padding.eq(self.padding), address.eq(0),
                         to_issue.eq(self.rows * padded_width),
                         to_send.eq(self.rows * padded_width)]
        with m.Else():
            with m.If(issue):
                m.d.sync += to_issue.eq(to_issue - 1)
                with m.If(inside):
                    m.d.sync += address.eq(address + 1)
                with m.If(column == width + padding - 1):
                    m.d.sync += [column.eq(-padding), row.eq(row + 1)]
                with m.Else():
                    m.d.sync += column.eq(column + 1)
            with m.If(self.words.valid & self.words.ready):
                m.d.sync += to_send.eq(to_send - 1)
        return m
