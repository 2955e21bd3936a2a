"""Systolic arrays of MAC PEs: output-stationary (``os``) and weight-stationary (``ws``).

Output-stationary (:class:`accel.pe.MacPE`): PE (i, j) accumulates
C[i, j] = sum over k of A[i, k] * B[k, j]. Row i of A enters on the left of row i, skewed by i
cycles; column j of B enters at the top of column j, skewed by j cycles
(:func:`skewed_inputs` builds the streams). ``a``, ``valid`` and ``first`` travel right, ``b``
travels down, one PE per cycle.

Latency: the last product of a K-long tile reaches PE (rows-1, cols-1) at cycle
K + rows + cols - 3 (counting the first input cycle as 0), so all of C is ready after
K + rows + cols - 2 cycles: SCALE-Sim's os fold (``sim.mapping.systolic_cycles`` reports one
fold minus one, the constant offset of 1).

Weight-stationary (:class:`accel.pe.WeightStationaryPE`): PE (i, j) holds W[i, j] of a
K x M weight tile (K = ``rows``, M = ``cols``). ``load`` shifts ``w_in`` down every column for
``rows`` cycles (W[rows - 1] first, W[0] last). Then row i of the activations (A[p, i] for
pixel p) enters on the left skewed by i cycles, partial sums flow down, and column j leaves at
the bottom as ``psum_out[j]`` = sum over i of A[p, i] * W[i, j], with ``valid_out[j]``, at cycle
p + rows + j after pixel 0 entered row 0. Loading plus P pixels take
2 * rows + cols + P - 2 cycles: SCALE-Sim's ws fold.
"""

from __future__ import annotations

from amaranth import Module, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from accel.checks import require_int
from accel.pe import MacPE, WeightStationaryPE

DATAFLOWS = ("os", "ws")


class SystolicArray(wiring.Component):
    """``rows`` x ``cols`` MAC array, ``dataflow`` ``"os"`` or ``"ws"``.

    ``os`` ports: ``a_in`` (one operand per row), ``valid_in``/``first_in`` (one per row),
    ``b_in`` (one operand per column); ``acc`` (rows x cols accumulators, row-major).
    ``ws`` ports: ``load`` and ``w_in`` (one weight per column), ``a_in``/``valid_in`` (one
    per row), ``psum_out``/``valid_out`` (one per column).
    """

    def __init__(self, *, rows: int, cols: int, dataflow: str = "os", data_width: int = 8,
                 acc_width: int = 32) -> None:
        require_int(self, "Rows", rows, 1)
        require_int(self, "Columns", cols, 1)
        if dataflow not in DATAFLOWS:
            self._MustUse__silence = True
            raise TypeError(f"Dataflow must be one of {', '.join(DATAFLOWS)}, not {dataflow!r}")
        self._rows, self._cols, self._dataflow = rows, cols, dataflow
        self._data_width, self._acc_width = data_width, acc_width
        data, acc = signed(data_width), signed(acc_width)
        if dataflow == "os":
            ports = {"a_in": In(data).array(rows), "valid_in": In(1).array(rows),
                     "first_in": In(1).array(rows), "b_in": In(data).array(cols),
                     "acc": Out(acc).array(rows * cols)}
        else:
            ports = {"load": In(1), "w_in": In(data).array(cols),
                     "a_in": In(data).array(rows), "valid_in": In(1).array(rows),
                     "psum_out": Out(acc).array(cols), "valid_out": Out(1).array(cols)}
        super().__init__(ports)

    @property
    def dataflow(self) -> str:
        return self._dataflow

    @property
    def rows(self) -> int:
        return self._rows

    @property
    def cols(self) -> int:
        return self._cols

    def fold_cycles(self, work: int) -> int:
        """SCALE-Sim's fold: for ``os``, cycles from the first input of a ``work``-long
        reduction to every accumulator holding its sum; for ``ws``, cycles from the first load
        cycle to the last of ``work`` pixels leaving the bottom."""
        if self._dataflow == "os":
            return work + self._rows + self._cols - 2
        return 2 * self._rows + self._cols + work - 2

    def elaborate(self, platform) -> Module:
        if self._dataflow == "ws":
            return self._elaborate_ws()
        m = Module()
        for i, j, pe, left, above in self._mesh(m, MacPE):
            m.d.comb += [
                pe.a_in.eq(left.a_out if left else self.a_in[i]),
                pe.valid_in.eq(left.valid_out if left else self.valid_in[i]),
                pe.first_in.eq(left.first_out if left else self.first_in[i]),
                pe.b_in.eq(above.b_out if above else self.b_in[j]),
                self.acc[i * self._cols + j].eq(pe.acc),
            ]
        return m

    def _elaborate_ws(self) -> Module:
        m = Module()
        for i, j, pe, left, above in self._mesh(m, WeightStationaryPE):
            m.d.comb += [
                pe.load.eq(self.load),
                pe.w_in.eq(above.w_out if above else self.w_in[j]),
                pe.psum_in.eq(above.psum_out if above else 0),
                pe.a_in.eq(left.a_out if left else self.a_in[i]),
                pe.valid_in.eq(left.valid_out if left else self.valid_in[i]),
            ]
            if i == self._rows - 1:
                m.d.comb += [self.psum_out[j].eq(pe.psum_out),
                             self.valid_out[j].eq(pe.valid_out)]
        return m

    def _mesh(self, m: Module, make_pe):
        """Add a ``rows`` x ``cols`` grid of ``make_pe`` PEs to ``m`` as ``pe_i_j``; yield
        (i, j, PE, its left neighbour or None, the PE above or None) in row-major order."""
        pes = [[make_pe(data_width=self._data_width, acc_width=self._acc_width)
                for _ in range(self._cols)] for _ in range(self._rows)]
        for i, row in enumerate(pes):
            for j, pe in enumerate(row):
                m.submodules[f"pe_{i}_{j}"] = pe
                yield i, j, pe, (row[j - 1] if j else None), (pes[i - 1][j] if i else None)


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


def weight_stationary_inputs(a, w) -> list[tuple[int, list[int], list[int], list[int]]]:
    """Per cycle: (load, w per column, a per row, valid per row) for A @ W on a ws array.

    ``a`` is P x K, ``w`` is K x M with K = rows and M = cols. ``rows`` load cycles shift W in
    (last row first); then pixel p enters row i at cycle p + i.
    """
    pixels, k = len(a), len(a[0])
    cols = len(w[0])
    stream = [(1, [int(w[k - 1 - t][j]) for j in range(cols)], [0] * k, [0] * k)
              for t in range(k)]
    for t in range(pixels + k - 1):
        a_row = [int(a[t - i][i]) if 0 <= t - i < pixels else 0 for i in range(k)]
        valid = [int(0 <= t - i < pixels) for i in range(k)]
        stream.append((0, [0] * cols, a_row, valid))
    return stream
