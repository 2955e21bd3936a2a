"""Multiply-accumulate processing elements for output- and weight-stationary systolic arrays."""

from __future__ import annotations

from amaranth import Module, Mux, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.checks import require_int


class MacPE(wiring.Component):
    """Signed ``data_width`` x ``data_width`` -> ``acc_width`` multiply-accumulate.

    Ports (all registered outputs):

    - ``a_in``/``b_in``: operands; ``valid_in``: they are valid this cycle; ``first_in``: this
      product starts a new sum (the accumulator is overwritten instead of added to).
    - ``a_out``, ``valid_out``, ``first_out``: ``a_in``, ``valid_in``, ``first_in`` delayed one
      cycle (to the PE on the right); ``b_out``: ``b_in`` delayed one cycle (to the PE below).
    - ``acc``: the running sum, wrapping at ``acc_width`` bits (two's complement), as a hardware
      accumulator does.

    Latency: one cycle from a valid operand pair to ``acc`` and to the pass-through outputs.
    Throughput: one MAC per cycle.
    """

    def __init__(self, *, data_width: int = 8, acc_width: int = 32) -> None:
        require_int(self, "Data width", data_width, 1)
        require_int(self, "Accumulator width", acc_width, 2 * data_width)
        self._data_width = data_width
        self._acc_width = acc_width
        super().__init__({
            "a_in": In(signed(data_width)), "b_in": In(signed(data_width)),
            "valid_in": In(1), "first_in": In(1),
            "a_out": Out(signed(data_width)), "b_out": Out(signed(data_width)),
            "valid_out": Out(1), "first_out": Out(1),
            "acc": Out(signed(acc_width)),
        })

    @property
    def data_width(self) -> int:
        return self._data_width

    @property
    def acc_width(self) -> int:
        return self._acc_width

    @property
    def latency(self) -> int:
        """Cycles from operands in to ``acc`` updated."""
        return 1

    def elaborate(self, platform) -> Module:
        m = Module()
        product = self.a_in * self.b_in
        with m.If(self.valid_in):
            with m.If(self.first_in):
                m.d.sync += self.acc.eq(product)
            with m.Else():
                m.d.sync += self.acc.eq(self.acc + product)
        m.d.sync += [
            self.a_out.eq(self.a_in), self.b_out.eq(self.b_in),
            self.valid_out.eq(self.valid_in), self.first_out.eq(self.first_in),
        ]
        return m


class WeightStationaryPE(wiring.Component):
    """A MAC PE that keeps one weight and passes partial sums down (weight-stationary).

    Ports:
    - ``load``, ``w_in``: while ``load`` is high the PE takes ``w_in`` as its weight; ``w_out``
      is the weight it holds (to the PE below, so weights shift down a column).
    - ``a_in``/``valid_in``: an activation from the left; ``a_out``/``valid_out`` pass it on to
      the right one cycle later.
    - ``psum_in``: the partial sum from above; ``psum_out`` = ``psum_in + a_in * weight``
      (``psum_in`` alone when ``valid_in`` is low), one cycle later, wrapping at ``acc_width``
      bits.

    Latency: one cycle. Throughput: one MAC per cycle.
    """

    def __init__(self, *, data_width: int = 8, acc_width: int = 32) -> None:
        require_int(self, "Data width", data_width, 1)
        require_int(self, "Accumulator width", acc_width, 2 * data_width)
        self._data_width, self._acc_width = data_width, acc_width
        super().__init__({
            "load": In(1), "w_in": In(signed(data_width)), "w_out": Out(signed(data_width)),
            "a_in": In(signed(data_width)), "valid_in": In(1),
            "a_out": Out(signed(data_width)), "valid_out": Out(1),
            "psum_in": In(signed(acc_width)), "psum_out": Out(signed(acc_width)),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        with m.If(self.load):
            m.d.sync += self.w_out.eq(self.w_in)
        product = self.a_in * self.w_out
        m.d.sync += [
            self.a_out.eq(self.a_in), self.valid_out.eq(self.valid_in),
            self.psum_out.eq(self.psum_in + Mux(self.valid_in, product, 0)),
        ]
        return m
