"""An output-stationary systolic array of :class:`accel.pe.MacPE`.

PE (i, j) accumulates C[i, j] = sum over k of A[i, k] * B[k, j]. Row i of A enters on the left
of row i, skewed by i cycles; column j of B enters at the top of column j, skewed by j cycles
(:func:`skewed_inputs` builds the streams). ``a``, ``valid`` and ``first`` travel right, ``b``
travels down, one PE per cycle.

Latency: the last product of a K-long tile reaches PE (rows-1, cols-1) at cycle
K + rows + cols - 3 (counting the first input cycle as 0), so all of C is ready after
K + rows + cols - 2 cycles: SCALE-Sim's os fold (``sim.mapping.systolic_cycles`` reports one
fold minus one, the constant offset of 1).
"""

from __future__ import annotations

from amaranth import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.checks import require_int
from accel.pe import MacPE


class SystolicArray(wiring.Component):
    """``rows`` x ``cols`` output-stationary MAC array.

    Ports: ``a_in`` (one operand per row), ``valid_in``/``first_in`` (one per row), ``b_in`` (one
    operand per column); ``acc`` (rows x cols accumulators, row-major).
    """

    def __init__(self, *, rows: int, cols: int, data_width: int = 8, acc_width: int = 32
                 ) -> None:
        require_int(self, "Rows", rows, 1)
        require_int(self, "Columns", cols, 1)
        self._rows, self._cols = rows, cols
        self._data_width, self._acc_width = data_width, acc_width
        super().__init__({
            "a_in": In(signed(data_width)).array(rows),
            "valid_in": In(1).array(rows),
            "first_in": In(1).array(rows),
            "b_in": In(signed(data_width)).array(cols),
            "acc": Out(signed(acc_width)).array(rows * cols),
        })

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def cols(self) -> int:
        return self._cols

    def fold_cycles(self, k: int) -> int:
        """Cycles from the first input to every accumulator holding its K-long sum."""
        return k + self._rows + self._cols - 2

    def elaborate(self, platform) -> Module:
        m = Module()
        pes = [[MacPE(data_width=self._data_width, acc_width=self._acc_width)
                for _ in range(self._cols)] for _ in range(self._rows)]
        for i, row in enumerate(pes):
            for j, pe in enumerate(row):
                m.submodules[f"pe_{i}_{j}"] = pe
                left = pes[i][j - 1] if j else None
                above = pes[i - 1][j] if i else None
                m.d.comb += [
                    pe.a_in.eq(left.a_out if left else self.a_in[i]),
                    pe.valid_in.eq(left.valid_out if left else self.valid_in[i]),
                    pe.first_in.eq(left.first_out if left else self.first_in[i]),
                    pe.b_in.eq(above.b_out if above else self.b_in[j]),
                    self.acc[i * self._cols + j].eq(pe.acc),
                ]
        return m


def skewed_inputs(a, b) -> list[tuple[list[int], list[int], list[int], list[int]]]:
    """Per cycle: (a per row, valid per row, first per row, b per column) for A @ B.

    ``a`` is rows x K, ``b`` is K x cols (nested lists or arrays of ints). Row i is delayed by i
    cycles, column j by j cycles, so A[i, k] meets B[k, j] in PE (i, j) at cycle i + j + k.
    """
    rows, k = len(a), len(a[0])
    cols = len(b[0])
    cycles = k + rows + cols - 2
    stream = []
    for t in range(cycles):
        a_row, valid, first, b_col = [], [], [], []
        for i in range(rows):
            step = t - i
            inside = 0 <= step < k
            a_row.append(int(a[i][step]) if inside else 0)
            valid.append(int(inside))
            first.append(int(step == 0))
        for j in range(cols):
            step = t - j
            b_col.append(int(b[step][j]) if 0 <= step < k else 0)
        stream.append((a_row, valid, first, b_col))
    return stream
