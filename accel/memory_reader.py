"""Stream consecutive words out of a synchronous memory read port, at one word per cycle."""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
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
