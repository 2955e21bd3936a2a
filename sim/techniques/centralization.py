"""Weight centralization (seed 003, Sec. 4.2): store a mean and a std instead of the weights.

A weight tensor is flattened in C order and cut into runs of ``batch_size`` consecutive weights
(the last run may be shorter). Each run is stored as two values, its mean and its population
standard deviation, rounded to the storage data type. At inference the weights are regenerated
from a seeded generator:

* ``uniform`` (as seed 003 writes it): ``w = U(mean - std, mean + std)``, computed as
  ``(mean - std) + (2 * std) * u`` with ``u`` in [0, 1).
* ``gaussian``: ``w = mean + std * z`` where ``z`` is the Irwin-Hall approximation of a standard
  normal from :data:`GAUSSIAN_DRAWS` uniforms, ``z = (u_1 + ... + u_k - k/2) * sqrt(12/k)``;
  it keeps the run's variance (the uniform form shrinks it by a factor 3) and needs only adders.

Where a run's std is 0 both forms give back the mean exactly, so a run of identical weights (and
every run when ``batch_size`` is 1) is reproduced bit for bit. Elsewhere the weights change.

The generator is the one the hardware model charges energy for: one 32-bit xorshift generator
(Marsaglia 2003, shifts 13, 17, 5) per PE group. A tensor uses ``streams`` such generators;
weight ``i`` of the flat tensor takes the next draw of stream ``i % streams``. Stream ``s`` starts
from a 32-bit state derived from ``(seed, s)`` by an integer hash, so the weights depend only on
the stored record (means, stds, seed, streams, distribution), never on global random state.
``u`` is the top 24 bits of the state times 2**-24, exact in float32.

Scopes (Sec. 4.2.1-4.2.3): ``unitary`` uses one mean/std for the whole network, ``layer`` one per
layer and ``batch`` one per run of ``batch_size`` weights of a layer.

Stored size (see :func:`centralized_weight_bytes`): 2 values per run at the storage data type's
width, plus :data:`METADATA_BYTES` per tensor for four 32-bit words: weight count, batch size,
seed, and streams with the distribution code. The tensor's shape is part of the network
description, not of the stored weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sim.dtypes import DType
from sim.techniques.zero_skip import zero_skip_weight_bytes

Distribution = Literal["uniform", "gaussian"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("uniform", "gaussian")

METADATA_BYTES = 16
"""Bytes of metadata per centralized tensor: count, batch size, seed, streams + distribution."""

VALUES_PER_BATCH = 2
"""A run of weights is stored as its mean and its standard deviation."""

GAUSSIAN_DRAWS = 4
"""Uniform draws summed per Gaussian weight (Irwin-Hall); 4 draws bound ``|z|`` by 2 sqrt(3)."""

DEFAULT_STREAMS = 16
"""Generators (one per PE group) that regenerate one tensor in parallel."""

_U24_SCALE = np.float32(2.0**-24)


@dataclass(frozen=True)
class CentralizedTensor:
    """The stored form of one weight tensor: per-run mean and std plus generator metadata.

    ``means`` and ``stds`` are float32 arrays of ``ceil(count / batch_size)`` values (weight
    units), already rounded to the storage type. ``seed`` is an unsigned 32-bit integer.
    """

    shape: tuple[int, ...]
    batch_size: int
    means: np.ndarray
    stds: np.ndarray
    seed: int
    distribution: Distribution = "uniform"
    streams: int = DEFAULT_STREAMS

    @property
    def count(self) -> int:
        """Number of weights the record stands for."""
        return math.prod(self.shape)

    @property
    def batches(self) -> int:
        return len(self.means)

    def stored_bytes(self, dtype_bytes: int) -> int:
        """Stored size in bytes with means and stds at ``dtype_bytes`` each."""
        return centralized_weight_bytes(self.count, self.batch_size, dtype_bytes)


def _check_positive_int(value: object, name: str) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _check_seed(seed: object) -> int:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), not {seed!r}")
    return int(seed)


def _check_distribution(distribution: str) -> Distribution:
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {', '.join(DISTRIBUTIONS)}, not {distribution!r}"
        )
    return distribution  # type: ignore[return-value]


def batch_count(count: int, batch_size: int) -> int:
    """Runs of ``batch_size`` consecutive weights needed for ``count`` weights (the last short)."""
    if count < 0:
        raise ValueError(f"count must be >= 0, not {count}")
    return -(-count // _check_positive_int(batch_size, "batch_size"))


def batch_stats(weights: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std (float64) of each run of ``batch_size`` weights in C order."""
    batch_size = _check_positive_int(batch_size, "batch_size")
    flat = np.asarray(weights, dtype=np.float64).reshape(-1)
    if flat.size == 0:
        raise ValueError("cannot centralize an empty tensor")
    if not np.all(np.isfinite(flat)):
        raise ValueError("weights must be finite to be centralized")
    full = flat.size // batch_size * batch_size
    runs = [flat[:full].reshape(-1, batch_size)] if full else []
    means = [run.mean(axis=1) for run in runs]
    stds = [run.std(axis=1) for run in runs]
    if full < flat.size:
        tail = flat[full:]
        means.append(np.array([tail.mean()]))
        stds.append(np.array([tail.std()]))
    return np.concatenate(means), np.concatenate(stds)


def centralize(
    weights: np.ndarray,
    batch_size: int | None,
    *,
    seed: int,
    distribution: Distribution = "uniform",
    streams: int = DEFAULT_STREAMS,
) -> CentralizedTensor:
    """Batch-wise centralization of one tensor; ``batch_size=None`` is layer-wise (one run).

    Means and stds are rounded to float32, the width the weights are regenerated at.
    """
    weights = np.asarray(weights)
    size = batch_size if batch_size is not None else max(weights.size, 1)
    means, stds = batch_stats(weights, size)
    return CentralizedTensor(
        shape=tuple(int(d) for d in weights.shape),
        batch_size=_check_positive_int(size, "batch_size"),
        means=means.astype(np.float32), stds=stds.astype(np.float32), seed=_check_seed(seed),
        distribution=_check_distribution(distribution),
        streams=_check_positive_int(streams, "streams"),
    )


def centralize_unitary(
    tensors: list[np.ndarray], *, seeds: list[int], distribution: Distribution = "uniform",
    streams: int = DEFAULT_STREAMS,
) -> list[CentralizedTensor]:
    """Unitary centralization: one mean and std over all weights of all ``tensors``.

    Each tensor still gets its own record (its count and seed) carrying the shared mean/std.
    """
    if len(tensors) != len(seeds):
        raise ValueError(f"got {len(tensors)} tensors but {len(seeds)} seeds")
    everything = np.concatenate([np.asarray(t, dtype=np.float64).reshape(-1) for t in tensors])
    mean, std = batch_stats(everything, everything.size)
    return [
        CentralizedTensor(
            shape=tuple(int(d) for d in np.shape(t)), batch_size=max(int(np.size(t)), 1),
            means=mean.astype(np.float32), stds=std.astype(np.float32), seed=_check_seed(seed),
            distribution=_check_distribution(distribution),
            streams=_check_positive_int(streams, "streams"),
        )
        for t, seed in zip(tensors, seeds, strict=True)
    ]


def unitary_weight_bytes(counts: list[int], dtype_bytes: int) -> int:
    """Stored bytes of unitary centralization: one mean/std pair + one header per tensor."""
    return VALUES_PER_BATCH * dtype_bytes + METADATA_BYTES * len(counts)


def _hash32(values: np.ndarray) -> np.ndarray:
    """A 32-bit integer hash (the ``lowbias32`` mixer); uint32 in, uint32 out."""
    x = values.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x = np.multiply(x, np.uint32(0x7FEB352D), dtype=np.uint32)
    x ^= x >> np.uint32(15)
    x = np.multiply(x, np.uint32(0x846CA68B), dtype=np.uint32)
    x ^= x >> np.uint32(16)
    return x


def stream_states(seed: int, streams: int) -> np.ndarray:
    """Initial xorshift32 states (uint32, never 0) of ``streams`` generators for ``seed``."""
    seed = _check_seed(seed)
    streams = _check_positive_int(streams, "streams")
    key = _hash32(np.array([seed], dtype=np.uint32))
    states = _hash32(key ^ _hash32(np.arange(1, streams + 1, dtype=np.uint32)))
    states[states == 0] = np.uint32(0x9E3779B9)  # xorshift must not start from 0
    return states


def xorshift32(states: np.ndarray) -> np.ndarray:
    """One xorshift32 step (shifts 13, 17, 5) of every uint32 state; returns the new states."""
    x = states.astype(np.uint32)
    x ^= x << np.uint32(13)
    x ^= x >> np.uint32(17)
    x ^= x << np.uint32(5)
    return x


def draw_matrix(seed: int, streams: int, steps: int) -> np.ndarray:
    """float32 uniforms in [0, 1), shape (steps, streams); row ``k`` is each stream's step ``k``."""
    states = stream_states(seed, streams)
    draws = np.empty((steps, streams), dtype=np.float32)
    for step in range(steps):
        states = xorshift32(states)
        draws[step] = (states >> np.uint32(8)).astype(np.float32) * _U24_SCALE
    return draws


def regenerate(record: CentralizedTensor) -> np.ndarray:
    """The float32 weights a centralized record stands for, regenerated deterministically.

    Weight ``i`` belongs to stream ``i % streams`` and is that stream's ``i // streams``-th
    weight; it uses the stream's next draw (uniform) or next :data:`GAUSSIAN_DRAWS` draws.
    """
    count = record.count
    index = np.arange(count) // record.batch_size
    means = record.means[index]
    stds = record.stds[index]
    per_stream = -(-count // record.streams)
    if record.distribution == "uniform":
        u = draw_matrix(record.seed, record.streams, per_stream).reshape(-1)[:count]
        weights = (means - stds) + (stds + stds) * u
    else:
        draws = draw_matrix(record.seed, record.streams, per_stream * GAUSSIAN_DRAWS)
        sums = draws.reshape(per_stream, GAUSSIAN_DRAWS, record.streams).sum(
            axis=1, dtype=np.float32)
        z = (sums.reshape(-1)[:count] - np.float32(GAUSSIAN_DRAWS / 2)) * np.float32(
            math.sqrt(12 / GAUSSIAN_DRAWS))
        weights = means + stds * z
    return weights.astype(np.float32).reshape(record.shape)


# ---------------------------------------------------------------------------------------------
# Storage sizes and the schemes the simulator accepts.


def centralized_weight_bytes(count: int, batch_size: int, dtype_bytes: int) -> int:
    """Stored bytes of ``count`` weights centralized in runs of ``batch_size``.

    ``2 * ceil(count / batch_size) * dtype_bytes + METADATA_BYTES``; a zero count stores nothing.
    """
    _check_positive_int(dtype_bytes, "dtype_bytes")
    if count == 0:
        return 0
    return VALUES_PER_BATCH * batch_count(count, batch_size) * dtype_bytes + METADATA_BYTES


@dataclass(frozen=True)
class WeightScheme:
    """How weights are stored: ``dense``, ``centralized:BATCH`` or ``zero-skip[:THRESHOLD]``."""

    kind: Literal["dense", "centralized", "zero-skip"]
    batch_size: int | None = None
    threshold: float = 0.0

    def __str__(self) -> str:
        if self.kind == "centralized":
            return f"centralized:{self.batch_size}"
        if self.kind == "zero-skip" and self.threshold:
            return f"zero-skip:{self.threshold:g}"
        return self.kind


def parse_scheme(text: str) -> WeightScheme:
    """Parse ``dense``, ``centralized:BATCH`` (BATCH >= 1) or ``zero-skip[:THRESHOLD >= 0]``."""
    name, _, argument = text.partition(":")
    if name == "dense" and not argument:
        return WeightScheme("dense")
    if name == "centralized":
        if not argument.isdigit() or int(argument) < 1:
            raise ValueError(f"centralized:BATCH needs a positive integer BATCH, got {text!r}")
        return WeightScheme("centralized", batch_size=int(argument))
    if name == "zero-skip":
        if not argument:
            return WeightScheme("zero-skip")
        try:
            threshold = float(argument)
        except ValueError:
            threshold = -1.0
        if not threshold >= 0 or not math.isfinite(threshold):
            raise ValueError(f"zero-skip:THRESHOLD needs a number >= 0, got {text!r}")
        return WeightScheme("zero-skip", threshold=threshold)
    raise ValueError(
        f"unknown weight scheme {text!r} (allowed: dense, centralized:BATCH, zero-skip[:T])"
    )


def stored_weight_bytes(
    weights: np.ndarray, scheme: str | WeightScheme, dtype_bytes: int,
) -> int:
    """Bytes one weight tensor occupies in DRAM under ``scheme``.

    ``dense``: every weight at ``dtype_bytes``. ``centralized:B``: see
    :func:`centralized_weight_bytes` (depends only on the count). ``zero-skip[:T]``: weights with
    ``|w| > T`` at ``dtype_bytes`` plus a presence bitmap, see
    :func:`sim.techniques.zero_skip.zero_skip_weight_bytes`.
    """
    if isinstance(scheme, str):
        scheme = parse_scheme(scheme)
    _check_positive_int(dtype_bytes, "dtype_bytes")
    weights = np.asarray(weights)
    if scheme.kind == "dense":
        return weights.size * dtype_bytes
    if scheme.kind == "centralized":
        assert scheme.batch_size is not None
        return centralized_weight_bytes(weights.size, scheme.batch_size, dtype_bytes)
    return zero_skip_weight_bytes(weights, dtype_bytes, scheme.threshold)


def compression_ratio(dense_bytes: int, stored_bytes: int) -> float:
    """Dense bytes over stored bytes (how many times less weight traffic)."""
    if stored_bytes <= 0:
        raise ValueError(f"stored_bytes must be positive, not {stored_bytes}")
    return dense_bytes / stored_bytes


# ---------------------------------------------------------------------------------------------
# Energy of the regenerating hardware.

OP_ENERGY_45NM_PJ: dict[str, dict[str, float]] = {
    "int8": {"add": 0.03, "mult": 0.2},
    "int32": {"add": 0.1, "mult": 3.1},
    "fp16": {"add": 0.4, "mult": 1.1},
    "fp32": {"add": 0.9, "mult": 3.7},
}
"""Energy per operation at 45 nm in pJ (Horowitz, ISSCC 2014; fp16 from the same table)."""

XORSHIFT_XORS = 3
"""32-bit XORs per xorshift32 step; the three shifts are by constants, i.e. wiring."""


def _op_energy(dtype: DType) -> dict[str, float]:
    """Add and multiply energy (pJ) at the width the scale/offset runs at for ``dtype`` weights.

    int16 is not in the 45 nm table: its add is interpolated linearly between int8 and int32
    (0.03 + (0.1 - 0.03) * 8 / 24) and its multiply quadratically in width from int8
    (0.2 * (16 / 8) ** 2 = 0.8 pJ), since an array multiplier's area grows with the square of
    the width.
    """
    if dtype == DType.INT16:
        return {"add": 0.03 + (0.1 - 0.03) * 8 / 24, "mult": 0.2 * (16 / 8) ** 2}
    return OP_ENERGY_45NM_PJ[str(dtype)]


def xorshift_step_pj() -> float:
    """Energy of one xorshift32 step in pJ: 3 XORs, each charged as one int32 add (0.1 pJ).

    An XOR is a subset of an adder's logic (an adder's sum bit is an XOR of three inputs plus the
    carry chain), so 0.3 pJ is an upper bound for the logic. The 32-bit state register's clocking
    is not in the 45 nm operation table and is not counted.
    """
    return XORSHIFT_XORS * OP_ENERGY_45NM_PJ["int32"]["add"]


def prng_pj_per_weight(dtype: DType | str, distribution: Distribution = "uniform") -> float:
    """Energy in pJ to regenerate one weight in hardware, from 45 nm per-operation energies.

    Uniform: one xorshift32 step (:func:`xorshift_step_pj`, 0.3 pJ) + one multiply (``span * u``)
    + one add (``+ low``) at the weight type's width. For fp32 weights:
    0.3 + 3.7 + 0.9 = 4.9 pJ; for int8 weights: 0.3 + 0.2 + 0.03 = 0.53 pJ.
    ``low = mean - std`` and ``span = 2 * std`` are formed once per run and not counted per weight.

    Gaussian: :data:`GAUSSIAN_DRAWS` xorshift steps, ``GAUSSIAN_DRAWS - 1`` int32 adds to sum the
    draws (fixed point), then one multiply (``std * z``, the constant sqrt(12/k) and the offset
    folded into the per-run scale) and one add (``+ mean``) at the weight width. For fp32:
    4 * 0.3 + 3 * 0.1 + 3.7 + 0.9 = 6.1 pJ.

    Reading the stored mean/std is ordinary weight traffic, counted by the memory model.
    """
    dtype = DType(dtype)
    distribution = _check_distribution(distribution)
    ops = _op_energy(dtype)
    if distribution == "uniform":
        return xorshift_step_pj() + ops["mult"] + ops["add"]
    return (GAUSSIAN_DRAWS * xorshift_step_pj()
            + (GAUSSIAN_DRAWS - 1) * OP_ENERGY_45NM_PJ["int32"]["add"]
            + ops["mult"] + ops["add"])


def regeneration_energy_pj(
    regenerated_weights: int, dtype: DType | str, distribution: Distribution = "uniform",
) -> float:
    """Energy in pJ of regenerating ``regenerated_weights`` weights (each regeneration counts).

    The caller counts how many weights are regenerated: once per weight the dense layout would
    have read from DRAM, if regenerated weights are written into the weight buffer.
    """
    if regenerated_weights < 0:
        raise ValueError(f"regenerated_weights must be >= 0, not {regenerated_weights}")
    return regenerated_weights * prng_pj_per_weight(dtype, distribution)
