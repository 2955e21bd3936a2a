"""Compute cycles and operand SRAM accesses of a convolution tile on the PE array.

A tile is a (grouped) matrix product: ``P`` output pixels x ``M`` filters, each a dot product of
length ``K`` = kh * kw * cin/groups, repeated for ``groups`` groups (a depthwise layer is C groups
of M = 1). Counts are in elements.

- Systolic arrays follow SCALE-Sim's fold model (valid for any AR x AC array):
  folds = ceil(Sr/AR) * ceil(Sc/AC) and cycles = folds * fold - 1 per group, with
  os: Sr = P, Sc = M, fold = K + AR + AC - 2;  ws: Sr = K, Sc = M, fold = 2AR + AC + P - 2;
  is: Sr = K, Sc = P, fold = 2AR + AC + M - 2. Operand reads count what each fold streams in;
  ws/is fold over K, so partial sums are written per K fold and read back for all but the first;
  between folds they wait in the output buffer at accumulator width (:func:`running_sums`).
  ``os-overlap`` (the generated RTL engine) streams the same operands as os, but each fold's
  drain overlaps the next fold's fill: folds * K + AR + AC - 2 - 1 cycles
  (:func:`overlapped_os_cycles`).
- A vector engine (DianNao's NFU: Tin inputs x Tout outputs per cycle with an adder tree) takes
  ceil(K/Tin) * ceil(M/Tout) cycles per output pixel and group; each cycle reads Tin inputs and
  Tin x Tout weights; outputs are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.hardware import PeArraySpec


@dataclass(frozen=True)
class TileCompute:
    """Cycles and SRAM element accesses of one tile on the PE array."""

    macs: int
    cycles: int
    ifmap_reads: int
    weight_reads: int
    ofmap_reads: int
    ofmap_writes: int


def systolic_cycles(dataflow: str, rows: int, cols: int, pixels: int, k: int, filters: int
                    ) -> int:
    """SCALE-Sim compute cycles of one GEMM (P pixels, K-long dot products, M filters)."""
    if dataflow == "os-overlap":  # one fold alone takes what SCALE-Sim's os fold takes
        return overlapped_os_cycles(rows, cols, pixels, k, filters) - 1
    if dataflow == "os":
        sr, sc, fold = pixels, filters, k + rows + cols - 2
    elif dataflow == "ws":
        sr, sc, fold = k, filters, 2 * rows + cols + pixels - 2
    elif dataflow == "is":
        sr, sc, fold = k, pixels, 2 * rows + cols + filters - 2
    else:
        raise ValueError(f"dataflow must be os, ws, is or os-overlap, not {dataflow!r}")
    return ceil(sr / rows) * ceil(sc / cols) * fold - 1


def tile_compute(pe: PeArraySpec, pixels: int, k: int, filters: int, groups: int = 1
                 ) -> TileCompute:
    """Compute of ``groups`` GEMMs of P x K x M (per group) on ``pe``."""
    macs = groups * pixels * k * filters
    if pixels == 0 or k == 0 or filters == 0:
        return TileCompute(0, 0, 0, 0, 0, 0)
    if pe.kind == "vector":
        tin, tout = pe.vector_inputs, pe.vector_outputs
        assert tin is not None and tout is not None
        steps = ceil(k / tin) * ceil(filters / tout)
        return TileCompute(
            macs=macs,
            cycles=groups * pixels * steps,
            ifmap_reads=groups * pixels * k * ceil(filters / tout),
            weight_reads=groups * pixels * k * filters,
            ofmap_reads=0,
            ofmap_writes=groups * pixels * filters,
        )
    rows, cols, dataflow = pe.rows, pe.cols, pe.dataflow
    assert rows is not None and cols is not None and dataflow is not None
    cycles = groups * systolic_cycles(dataflow, rows, cols, pixels, k, filters)
    if dataflow in ("os", "os-overlap"):  # the same operands stream in either timing
        reads = (pixels * k * ceil(filters / cols), filters * k * ceil(pixels / rows), 0)
        writes = pixels * filters
    elif dataflow == "ws":
        k_folds = ceil(k / rows)
        reads = (pixels * k * ceil(filters / cols), k * filters, pixels * filters * (k_folds - 1))
        writes = pixels * filters * k_folds
    else:
        k_folds = ceil(k / rows)
        reads = (pixels * k, filters * k * ceil(pixels / cols), pixels * filters * (k_folds - 1))
        writes = pixels * filters * k_folds
    return TileCompute(macs, cycles, groups * reads[0], groups * reads[1], groups * reads[2],
                       groups * writes)


def running_sums(pe: PeArraySpec, pixels: int, k: int, filters: int) -> int:
    """Output elements of one GEMM (one group; groups run one after another) that wait in the
    output buffer as running sums between the folds of their reduction, at accumulator width.

    ws and is arrays fold the reduction over their rows (``ceil(K / AR) > 1`` folds) and hand
    each fold's partial sums out of the array, in SCALE-Sim's fold order (the folds of the
    other operand outer, the reduction folds inner): ws holds one column fold's sums, P x
    min(M, AC); is holds one pixel fold's, min(P, AC) x M. An os array keeps every sum in its
    PE until it is final and a vector engine in its adder tree's output registers: 0.
    """
    if pe.kind != "systolic" or pe.dataflow not in ("ws", "is") or pixels == 0 or filters == 0:
        return 0
    assert pe.rows is not None and pe.cols is not None
    if ceil(k / pe.rows) <= 1:
        return 0
    if pe.dataflow == "ws":
        return pixels * min(filters, pe.cols)
    return min(pixels, pe.cols) * filters


def overlapped_os_cycles(rows: int, cols: int, pixels: int, k: int, filters: int) -> int:
    """Output-stationary compute cycles when a fold's drain overlaps the next fold's fill
    (timing name ``os-overlap``, beside SCALE-Sim's ``os`` of :func:`systolic_cycles`).

    Each of the ceil(P/AR) * ceil(M/AC) folds streams its K-long reduction in K cycles and the
    next fold starts streaming in the following cycle; only the last fold's skew drains alone,
    so every sum is final after ``folds * K + AR + AC - 2`` cycles (one fold alone: K + AR +
    AC - 2, SCALE-Sim's fold). Each accumulator must hand its sum on in the one cycle between
    its last product and the next fold's first, so the array needs a result register per PE.
    """
    folds = ceil(pixels / rows) * ceil(filters / cols)
    return folds * k + rows + cols - 2
