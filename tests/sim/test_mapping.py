"""PE-array compute model: SCALE-Sim's fold model and the vector engine, against known figures."""

from math import ceil

import pytest

from sim.hardware import PeArraySpec
from sim.mapping import systolic_cycles, tile_compute

# 16x16x8 input, 3x3x8x16 filter, stride 1, valid: P = 14 * 14 output pixels, K = 3*3*8, M = 16.
P, K, M = 14 * 14, 3 * 3 * 8, 16


@pytest.mark.parametrize(("size", "expected"), [
    (8, {"os": 4299, "ws": 3923, "is": 8549}),    # SCALE-Sim v2/v3 figures quoted in the
    (32, {"os": 937, "ws": 869, "is": 2309}),     # interoperability issue
])
def test_scalesim_fold_model(size, expected):
    for dataflow, cycles in expected.items():
        assert systolic_cycles(dataflow, size, size, P, K, M) == cycles


def test_fold_formula_by_hand_for_output_stationary():
    # os: Sr = P, Sc = M; folds = ceil(196/8) * ceil(16/8) = 25 * 2; fold = K + 8 + 8 - 2.
    assert systolic_cycles("os", 8, 8, P, K, M) == ceil(P / 8) * ceil(M / 8) * (K + 14) - 1


def test_vector_engine_cycles_and_reads():
    nfu = PeArraySpec(kind="vector", vector_inputs=16, vector_outputs=16)
    compute = tile_compute(nfu, P, K, M)
    assert compute.macs == P * K * M
    assert compute.cycles == P * ceil(K / 16) * ceil(M / 16)
    assert compute.weight_reads == P * K * M  # every weight once per output pixel
    assert compute.ofmap_writes == P * M


def test_depthwise_is_groups_of_single_filters():
    array = PeArraySpec(kind="systolic", rows=8, cols=8, dataflow="os")
    grouped = tile_compute(array, 100, 9, 1, groups=32)
    assert grouped.cycles == 32 * systolic_cycles("os", 8, 8, 100, 9, 1)
    assert grouped.macs == 32 * 100 * 9


def test_unknown_dataflow():
    with pytest.raises(ValueError, match="os, ws, is or os-overlap"):
        systolic_cycles("rs", 8, 8, P, K, M)
