"""Golden activations beyond ReLU: sigmoid, hardsigmoid, hardswish and SiLU, in float32 and int8.

float32: computed in float64 and rounded once to float32. ``hardsigmoid`` is PyTorch's
``relu6(x + 3) / 6``, ``hardswish`` is ``x * hardsigmoid(x)`` and ``silu`` is ``x * sigmoid(x)``.

int8 convention (zero point 0 everywhere):

* inputs are read at ``INPUT_SCALE`` = 1/16 per level, so int8 covers [-8, 7.9375];
* gates (``sigmoid``, ``hardsigmoid``, values in [0, 1]) are written at ``GATE_SCALE`` = 1/128
  per level, clipped to 127 (0.992), so that :func:`sim.golden.tensor_ops.mul` with a gate keeps
  the other operand's scale;
* ``hardswish`` and ``silu`` keep the input scale 1/16.

Each int8 activation is a 256-entry table: the float64 function of ``level * INPUT_SCALE``
divided by the output scale, rounded half away from zero and saturated to [-128, 127], the way
integer inference engines implement them.
"""

from __future__ import annotations

import numpy as np

from sim.golden.quant import INT8_MAX, INT8_MIN

INPUT_SCALE = 1.0 / 16.0
GATE_SCALE = 1.0 / 128.0
FLOAT32 = np.dtype(np.float32)
INT8 = np.dtype(np.int8)


def _sigmoid64(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _hardsigmoid64(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


FUNCTIONS = {
    "sigmoid": (_sigmoid64, GATE_SCALE),
    "hardsigmoid": (_hardsigmoid64, GATE_SCALE),
    "hardswish": (lambda x: x * _hardsigmoid64(x), INPUT_SCALE),
    "silu": (lambda x: x * _sigmoid64(x), INPUT_SCALE),
}


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def int8_table(name: str) -> np.ndarray:
    """The 256 int8 outputs of activation ``name`` for inputs -128..127 (index = input + 128)."""
    function, out_scale = FUNCTIONS[name]
    levels = np.arange(INT8_MIN, INT8_MAX + 1, dtype=np.float64)
    values = _round_half_away(function(levels * INPUT_SCALE) / out_scale)
    return np.clip(values, INT8_MIN, INT8_MAX).astype(np.int8)


def apply(name: str, x: np.ndarray) -> np.ndarray:
    """Activation ``name`` (sigmoid, hardsigmoid, hardswish, silu) of a float32 or int8 tensor of
    any shape; the result has ``x``'s dtype and shape (int8 per the module's convention)."""
    if name not in FUNCTIONS:
        raise ValueError(f"unknown activation {name!r} (allowed: {', '.join(FUNCTIONS)})")
    if x.dtype == INT8:
        return int8_table(name)[x.astype(np.int16) + 128]
    if x.dtype != FLOAT32:
        raise TypeError(f"{name} needs a float32 or int8 tensor, not {x.dtype}")
    function, _ = FUNCTIONS[name]
    return function(x.astype(np.float64)).astype(np.float32)
