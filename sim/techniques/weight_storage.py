"""How a layer's weights are stored in DRAM, and what that changes in a simulated run.

- ``dense``: every weight at the data type's width.
- ``centralized:B`` (seed 003): runs of B weights stored as mean and std
  (:func:`sim.techniques.centralization.centralized_weight_bytes`). A PRNG per PE group
  regenerates the weights as they are loaded into the weight buffer, so the buffer holds dense
  weights, DRAM moves the compact form, and every loaded weight costs one regeneration
  (:func:`sim.techniques.centralization.prng_pj_per_weight`).
- ``zero-skip:F``: a fraction F of the weights is zero; the nonzero ones and a presence bitmap
  are stored (:func:`sim.techniques.zero_skip.zero_skip_bytes`) and kept compact on chip; the PE
  array skips their MACs, so MACs and compute cycles shrink by F.

Bias and batch-norm parameters are stored with the weights and compressed with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.techniques.centralization import centralized_weight_bytes
from sim.techniques.zero_skip import zero_skip_bytes


@dataclass(frozen=True)
class WeightStorage:
    kind: str = "dense"  # dense, centralized or zero-skip
    batch_size: int = 1
    zero_fraction: float = 0.0

    def stored_bytes(self, count: int, dtype_bytes: int) -> int:
        """DRAM bytes of ``count`` weights."""
        if self.kind == "centralized":
            return centralized_weight_bytes(count, self.batch_size, dtype_bytes)
        if self.kind == "zero-skip":
            nonzero = count - round(count * self.zero_fraction)
            return zero_skip_bytes(count, nonzero, dtype_bytes)
        return count * dtype_bytes

    def scaled(self, dense_bytes: int, count: int, dtype_bytes: int) -> int:
        """The stored bytes of a part (``dense_bytes``) of a tensor of ``count`` weights."""
        total_dense = count * dtype_bytes
        if not total_dense or self.kind == "dense":
            return dense_bytes
        return ceil(dense_bytes * self.stored_bytes(count, dtype_bytes) / total_dense)

    def __str__(self) -> str:
        if self.kind == "centralized":
            return f"centralized:{self.batch_size}"
        if self.kind == "zero-skip":
            return f"zero-skip:{self.zero_fraction:g}"
        return "dense"


DENSE = WeightStorage()


def parse_weight_storage(text: str) -> WeightStorage:
    """``dense``, ``centralized:B`` (B >= 1) or ``zero-skip:F`` (0 <= F < 1)."""
    name, _, argument = text.partition(":")
    if name == "dense" and not argument:
        return DENSE
    if name == "centralized" and argument.isdigit() and int(argument) >= 1:
        return WeightStorage("centralized", batch_size=int(argument))
    if name == "zero-skip":
        try:
            fraction = float(argument)
        except ValueError:
            fraction = -1.0
        if 0 <= fraction < 1:
            return WeightStorage("zero-skip", zero_fraction=fraction)
    raise ValueError(f"weights must be dense, centralized:B (B >= 1) or zero-skip:F "
                     f"(0 <= F < 1), not {text!r}")
