"""Weight centralization: exactness where std = 0, storage sizes, deterministic regeneration."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.dtypes import DType
from sim.techniques.centralization import (
    GAUSSIAN_DRAWS,
    METADATA_BYTES,
    OP_ENERGY_45NM_PJ,
    VALUES_PER_BATCH,
    CentralizedTensor,
    WeightScheme,
    batch_count,
    centralize,
    centralize_unitary,
    centralized_weight_bytes,
    parse_scheme,
    prng_pj_per_weight,
    regenerate,
    regeneration_energy_pj,
    stored_weight_bytes,
    stream_states,
    unitary_weight_bytes,
    xorshift32,
    xorshift_step_pj,
)

finite_floats = st.floats(-100, 100, width=32, allow_nan=False, allow_infinity=False)
weight_arrays = hnp.arrays(
    np.float32, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=6),
    elements=finite_floats,
)
seeds = st.integers(0, 2**32 - 1)
distributions = st.sampled_from(["uniform", "gaussian"])
streams = st.integers(1, 20)


def _runs(flat: np.ndarray, batch_size: int) -> list[np.ndarray]:
    return [flat[start:start + batch_size] for start in range(0, flat.size, batch_size)]


@given(weights=weight_arrays, seed=seeds, distribution=distributions, streams=streams)
@settings(max_examples=80, deadline=None)
def test_batch_size_one_reproduces_every_weight_exactly(weights, seed, distribution, streams):
    record = centralize(weights, 1, seed=seed, distribution=distribution, streams=streams)
    assert np.all(record.stds == 0)
    np.testing.assert_array_equal(regenerate(record), weights)


@given(
    runs=st.lists(
        st.one_of(
            # a constant run: std = 0
            st.tuples(finite_floats, st.just(0.0)),
            # a spread run: distinct values at least 2**-10 apart, so std > 0
            st.tuples(st.floats(-10, 10, width=32), st.floats(2.0**-10, 1.0, width=32)),
        ),
        min_size=1, max_size=12,
    ),
    batch_size=st.integers(2, 9),
    seed=seeds,
    distribution=distributions,
)
@settings(max_examples=80, deadline=None)
def test_exact_only_in_runs_whose_std_is_zero(runs, batch_size, seed, distribution):
    values = [
        np.float32(start) + np.float32(step) * np.arange(batch_size, dtype=np.float32)
        for start, step in runs
    ]
    weights = np.concatenate(values).astype(np.float32)
    record = centralize(weights, batch_size, seed=seed, distribution=distribution)
    got = regenerate(record)
    for index, (original, regenerated) in enumerate(
            zip(_runs(weights, batch_size), _runs(got, batch_size), strict=True)):
        if record.stds[index] == 0:
            np.testing.assert_array_equal(regenerated, original)
        else:
            assert not np.array_equal(regenerated, original)


@given(weights=weight_arrays, batch_size=st.integers(1, 50), seed=seeds,
       distribution=distributions, streams=streams)
@settings(max_examples=80, deadline=None)
def test_regeneration_is_deterministic_for_a_seed(weights, batch_size, seed, distribution,
                                                  streams):
    first = regenerate(centralize(weights, batch_size, seed=seed, distribution=distribution,
                                  streams=streams))
    again = regenerate(centralize(weights.copy(), batch_size, seed=seed,
                                  distribution=distribution, streams=streams))
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.float32 and first.shape == weights.shape


def test_a_different_seed_gives_different_weights():
    weights = np.random.default_rng(0).standard_normal(256).astype(np.float32)
    a = regenerate(centralize(weights, 16, seed=1))
    b = regenerate(centralize(weights, 16, seed=2))
    assert not np.array_equal(a, b)


@given(weights=weight_arrays, batch_size=st.integers(1, 50), dtype=st.sampled_from(list(DType)))
@settings(max_examples=80, deadline=None)
def test_stored_size_is_two_values_per_batch_plus_metadata(weights, batch_size, dtype):
    record = centralize(weights, batch_size, seed=0)
    runs = len(range(0, weights.size, batch_size))
    assert record.batches == runs == batch_count(weights.size, batch_size)
    expected = VALUES_PER_BATCH * runs * dtype.bytes + METADATA_BYTES
    assert record.stored_bytes(dtype.bytes) == expected
    assert (record.means.size + record.stds.size) * dtype.bytes + METADATA_BYTES == expected
    assert stored_weight_bytes(weights, f"centralized:{batch_size}", dtype.bytes) == expected
    assert stored_weight_bytes(weights, "dense", dtype.bytes) == weights.size * dtype.bytes


@given(weights=weight_arrays, batch_size=st.integers(1, 50))
@settings(max_examples=60, deadline=None)
def test_means_and_stds_are_those_of_each_run(weights, batch_size):
    record = centralize(weights, batch_size, seed=0)
    flat = weights.reshape(-1).astype(np.float64)
    runs = _runs(flat, batch_size)
    np.testing.assert_array_equal(record.means, np.array([r.mean() for r in runs], np.float32))
    np.testing.assert_array_equal(record.stds, np.array([r.std() for r in runs], np.float32))


@given(weights=weight_arrays, batch_size=st.integers(1, 50), seed=seeds)
@settings(max_examples=60, deadline=None)
def test_uniform_weights_lie_within_mean_plus_minus_std(weights, batch_size, seed):
    record = centralize(weights, batch_size, seed=seed)
    got = regenerate(record).reshape(-1).astype(np.float64)
    index = np.arange(got.size) // batch_size
    mean = record.means[index].astype(np.float64)
    std = record.stds[index].astype(np.float64)
    slack = 4 * np.finfo(np.float32).eps * (np.abs(mean) + std)  # float32 rounding of lo + s*u
    assert np.all(got >= mean - std - slack)
    assert np.all(got <= mean + std + slack)


def _sample(distribution: str, count: int) -> np.ndarray:
    record = CentralizedTensor(shape=(count,), batch_size=count,
                               means=np.array([2.0], np.float32),
                               stds=np.array([0.5], np.float32), seed=7,
                               distribution=distribution)  # type: ignore[arg-type]
    return regenerate(record).astype(np.float64)


def test_uniform_samples_have_the_moments_of_u_mean_minus_std_to_mean_plus_std():
    count = 200_000
    sample = _sample("uniform", count)
    # U(m - s, m + s) has mean m and std s / sqrt(3); 6 standard errors of slack.
    assert abs(sample.mean() - 2.0) < 6 * (0.5 / math.sqrt(3)) / math.sqrt(count)
    assert abs(sample.std() - 0.5 / math.sqrt(3)) < 0.01 * 0.5 / math.sqrt(3)
    assert sample.min() >= 1.5 and sample.max() <= 2.5


def test_gaussian_samples_keep_the_std():
    count = 200_000
    sample = _sample("gaussian", count)
    assert abs(sample.mean() - 2.0) < 6 * 0.5 / math.sqrt(count)
    assert abs(sample.std() - 0.5) < 0.01 * 0.5
    # Irwin-Hall with k draws: |z| <= (k/2) * sqrt(12/k)
    assert np.max(np.abs(sample - 2.0)) <= 0.5 * GAUSSIAN_DRAWS / 2 * math.sqrt(
        12 / GAUSSIAN_DRAWS) + 1e-6


def _xorshift_reference(state: int) -> int:
    mask = 2**32 - 1
    state ^= (state << 13) & mask
    state ^= state >> 17
    state ^= (state << 5) & mask
    return state


@given(states=st.lists(st.integers(1, 2**32 - 1), min_size=1, max_size=20))
def test_xorshift32_matches_a_scalar_reference(states):
    got = xorshift32(np.array(states, dtype=np.uint32))
    assert got.tolist() == [_xorshift_reference(s) for s in states]


@given(count=st.integers(1, 60), streams=streams, seed=seeds)
@settings(max_examples=40, deadline=None)
def test_weight_i_takes_the_next_draw_of_stream_i_mod_streams(count, streams, seed):
    # mean 0.5, std 0.5: low = 0 and span = 1, so each weight is its uniform draw.
    record = CentralizedTensor(shape=(count,), batch_size=count,
                               means=np.array([0.5], np.float32),
                               stds=np.array([0.5], np.float32), seed=seed, streams=streams)
    states = [int(s) for s in stream_states(seed, streams)]
    assert all(states)
    expected = []
    for i in range(count):
        stream = i % streams
        states[stream] = _xorshift_reference(states[stream])
        expected.append((states[stream] >> 8) * 2.0**-24)
    np.testing.assert_array_equal(regenerate(record), np.array(expected, np.float32))


def test_unitary_shares_one_mean_and_std_over_all_layers():
    rng = np.random.default_rng(3)
    tensors = [rng.standard_normal((4, 5)).astype(np.float32),
               rng.standard_normal((3, 3, 2, 2)).astype(np.float32)]
    records = centralize_unitary(tensors, seeds=[1, 2])
    everything = np.concatenate([t.reshape(-1) for t in tensors]).astype(np.float64)
    for record, tensor in zip(records, tensors, strict=True):
        assert record.shape == tensor.shape and record.batches == 1
        assert record.means[0] == np.float32(everything.mean())
        assert record.stds[0] == np.float32(everything.std())
    counts = [t.size for t in tensors]
    assert unitary_weight_bytes(counts, 4) == VALUES_PER_BATCH * 4 + METADATA_BYTES * 2


def test_layer_wise_is_one_batch_per_tensor():
    weights = np.arange(12, dtype=np.float32).reshape(3, 4)
    record = centralize(weights, None, seed=0)
    assert record.batches == 1 and record.batch_size == weights.size
    assert centralized_weight_bytes(weights.size, weights.size, 2) == 2 * 2 + METADATA_BYTES


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        centralize(np.ones(4, np.float32), bad, seed=0)


def test_rejects_empty_and_non_finite_tensors_and_bad_seeds():
    with pytest.raises(ValueError, match="empty"):
        centralize(np.zeros(0, np.float32), 1, seed=0)
    with pytest.raises(ValueError, match="finite"):
        centralize(np.array([1.0, np.inf], np.float32), 1, seed=0)
    with pytest.raises(ValueError, match="seed"):
        centralize(np.ones(2, np.float32), 1, seed=2**32)
    with pytest.raises(ValueError, match="distribution"):
        centralize(np.ones(2, np.float32), 1, seed=0, distribution="normal")  # type: ignore


@pytest.mark.parametrize(("text", "scheme"), [
    ("dense", WeightScheme("dense")),
    ("centralized:64", WeightScheme("centralized", batch_size=64)),
    ("zero-skip", WeightScheme("zero-skip")),
    ("zero-skip:0.01", WeightScheme("zero-skip", threshold=0.01)),
])
def test_parse_scheme_round_trips(text, scheme):
    assert parse_scheme(text) == scheme
    assert str(scheme) == text


@pytest.mark.parametrize("text", ["centralized", "centralized:0", "centralized:x", "sparse",
                                  "zero-skip:-1", "zero-skip:nan", "dense:3"])
def test_parse_scheme_rejects(text):
    with pytest.raises(ValueError):
        parse_scheme(text)


def test_prng_energy_follows_the_45nm_operation_table():
    # Horowitz ISSCC 2014 (DESIGN.md): int32 add 0.1, fp32 mult 3.7, fp32 add 0.9,
    # int8 mult 0.2, int8 add 0.03 pJ.
    xorshift = 3 * 0.1
    assert xorshift_step_pj() == pytest.approx(xorshift)
    assert prng_pj_per_weight(DType.FP32) == pytest.approx(xorshift + 3.7 + 0.9)
    assert prng_pj_per_weight("int8") == pytest.approx(xorshift + 0.2 + 0.03)
    gaussian = GAUSSIAN_DRAWS * xorshift + (GAUSSIAN_DRAWS - 1) * 0.1 + 3.7 + 0.9
    assert prng_pj_per_weight("fp32", "gaussian") == pytest.approx(gaussian)
    assert regeneration_energy_pj(1000, "fp32") == pytest.approx(1000 * prng_pj_per_weight("fp32"))
    # int16 is interpolated between int8 and int32 (not in the table).
    assert (OP_ENERGY_45NM_PJ["int8"]["mult"] < prng_pj_per_weight("int16") - xorshift
            < OP_ENERGY_45NM_PJ["int32"]["mult"])
