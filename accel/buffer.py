"""A ping-pong (double, or ``banks``-deep ring) buffer on ``amaranth.lib.memory.Memory``."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.checks import require_int


class PingPongBuffer(wiring.Component):
    """``banks`` banks (2 = ping-pong) of ``depth`` words of ``width`` bits in one memory: a
    writer fills one bank while a reader reads another, as often and in any order it likes.

    Write side: ``write`` stream of ``{data, last}``. Words fill the write bank from address 0;
    the bank is committed by a word with ``last`` set or by its ``depth``-th word, and the
    writer moves on to the next bank of the ring. ``write.ready`` is low while that bank still
    holds data the reader has not marked done, so unread data is never overwritten.

    Read side: ``read_ready`` is high while the read bank is committed; ``read_size`` is its
    word count. ``read_addr`` selects a word, ``read_data`` shows it one cycle later (a
    synchronous BRAM read). A one-cycle ``read_done`` hands the bank back to the writer and moves
    the reader to the next bank (the swap handshake).

    Latency: a committed bank is readable (``read_ready``) on the cycle after its last word was
    written. Throughput: one word written and one read per cycle.
    """

    def __init__(self, *, depth: int, width: int, banks: int = 2) -> None:
        require_int(self, "Depth", depth, 1)
        require_int(self, "Width", width, 1)
        require_int(self, "Banks", banks, 2)
        self._depth, self._width, self._banks = depth, width, banks
        super().__init__({
            "write": In(stream.Signature(data.StructLayout({
                "data": unsigned(width), "last": unsigned(1)}))),
            "read_ready": Out(1),
            "read_size": Out(range(depth + 1)),
            "read_addr": In(range(depth)),
            "read_data": Out(unsigned(width)),
            "read_done": In(1),
        })

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def width(self) -> int:
        return self._width

    @property
    def banks(self) -> int:
        return self._banks

    def elaborate(self, platform) -> Module:
        m = Module()
        depth, banks = self._depth, self._banks
        m.submodules.memory = memory = Memory(shape=unsigned(self._width), depth=banks * depth,
                                              init=[])
        write_port = memory.write_port()
        read_port = memory.read_port(domain="sync")

        full = Signal(banks)
        sizes = [Signal(range(depth + 1), name=f"size{bank}") for bank in range(banks)]
        write_bank = Signal(range(banks))
        write_count = Signal(range(depth))
        read_bank = Signal(range(banks))

        accept = self.write.valid & self.write.ready
        commit = accept & (self.write.payload.last | (write_count == depth - 1))
        m.d.comb += [
            self.write.ready.eq(~full.bit_select(write_bank, 1)),
            write_port.addr.eq(write_bank * depth + write_count),
            write_port.data.eq(self.write.payload.data),
            write_port.en.eq(accept),
        ]
        with m.If(commit):
            m.d.sync += [write_count.eq(0), write_bank.eq(_next(write_bank, banks))]
            for bank, size in enumerate(sizes):
                with m.If(write_bank == bank):
                    m.d.sync += size.eq(write_count + 1)
        with m.Elif(accept):
            m.d.sync += write_count.eq(write_count + 1)

        read_ready = full.bit_select(read_bank, 1)
        release = self.read_done & read_ready
        m.d.comb += [
            self.read_ready.eq(read_ready),
            read_port.addr.eq(read_bank * depth + self.read_addr),
            self.read_data.eq(read_port.data),
        ]
        with m.Switch(read_bank):
            for bank, size in enumerate(sizes):
                with m.Case(bank):
                    m.d.comb += self.read_size.eq(Mux(read_ready, size, 0))
        with m.If(release):
            m.d.sync += read_bank.eq(_next(read_bank, banks))

        set_full = Signal(banks)
        clear_full = Signal(banks)
        m.d.comb += [
            set_full.eq(Mux(commit, 1 << write_bank, 0)),
            clear_full.eq(Mux(release, 1 << read_bank, 0)),
        ]
        m.d.sync += full.eq((full | set_full) & ~clear_full)
        return m


def _next(bank: Signal, banks: int):
    """The bank after ``bank`` in the ring of ``banks``."""
    return Mux(bank == banks - 1, 0, bank + 1)
