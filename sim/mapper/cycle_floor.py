"""A floor under the compute cycles of every mapping of a layer on a weight-stationary array,
from the room its output buffer gives each tile.

SCALE-Sim's fold model runs a dense layer (P output pixels, K-long reductions, M filters) on
an AR x AC ``ws`` array as ceil(K / AR) x ceil(M / AC) folds of ``O + P`` cycles, with
``O = 2 AR + AC - 2``. A mapping cuts the output into regions and filter blocks (and the
reduction into input-channel blocks); every (region, filter block) pays at least ceil(K / AR)
reduction folds times ceil(f_b / AC) column folds, each of at least ``O - 1 + P_r`` cycles
(every tile's ``- 1`` is at most one per fold). Filter blocks of at most ``f`` filters number
at least ceil(M / f) and their column folds at least max(ceil(M / AC), ceil(M / f)).

What bounds ``P_r`` is the output buffer: a tile of ``P_r`` pixels and ``f`` filters holds its
outputs (``f`` x dtype bytes a pixel, twice when double-buffered) and, while the reduction
folds pass, either one column fold's running sums (min(f, AC) x the extra accumulator bytes a
pixel, with the outputs; :func:`sim.mapping.running_sums`) or, with input channels blocked,
the block's partial sums once (``f`` x accumulator bytes). Whichever takes fewer bytes a pixel
gives the most pixels a tile can have, ``P_max(f)``; the regions number at least
ceil(P / P_max(f)). Everything else (the input window, weights, resident maps) only takes room
away, so the floor holds for every mapping that fits and stores the layer's output (a layer
whose output stays resident holds it apart from its tiles; the floor does not apply):

    cycles >= min over f of max(ceil(M / AC), ceil(M / f)) x ceil(K / AR)
                             x (ceil(P / P_max(f)) x (O - 1) + P)

It says which layers the buffers keep from the fold model: where the floor is above 1.2x the
fold model, no mapping that fits reaches 1.2x.
"""

from __future__ import annotations

from math import ceil

from sim.hardware import HardwareSpec
from sim.techniques.channel_blocks import blockable
from sim.techniques.layer_tiles import layer_geometry
from sim.workload.network import LayerInfo


def ws_cycle_floor(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
                   accumulator_bytes: int) -> int | None:
    """The floor of the module docstring in cycles, for a dense (one-group) layer with weights
    on a ``ws`` systolic array; None for any other layer or array."""
    pe = hardware.pe_array
    geometry = layer_geometry(info, 1)
    if pe.kind != "systolic" or pe.dataflow != "ws" or not geometry.filters \
            or geometry.groups != 1:
        return None
    assert pe.rows is not None and pe.cols is not None
    rows, cols = pe.rows, pe.cols
    pixels = info.output_shape.height * info.output_shape.width
    k, filters = geometry.k, geometry.filters
    reduction_folds = ceil(k / rows)
    spec = hardware.buffers.declared()[hardware.buffers.name_for("ofmap")]
    copies = 2 if spec.double_buffered else 1
    overhead = 2 * rows + cols - 2
    best = None
    for f in range(1, filters + 1):
        waiting = min(f, cols) * (accumulator_bytes - dtype_bytes) if reduction_folds > 1 else 0
        per_pixel = copies * (f * dtype_bytes + waiting)
        if blockable(info):
            per_pixel = min(per_pixel, f * accumulator_bytes + copies * f * dtype_bytes)
        most_pixels = spec.size_bytes // per_pixel
        if most_pixels == 0:
            continue
        regions = ceil(pixels / most_pixels)
        column_folds = max(ceil(filters / cols), ceil(filters / f))
        cycles = column_folds * reduction_folds * (regions * (overhead - 1) + pixels)
        best = cycles if best is None else min(best, cycles)
    return best
