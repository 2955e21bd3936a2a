"""Host side of :class:`accel.conv_engine.ConvEngine`: the words to send, the words to expect.

Everything here is plain NumPy, shared by the Amaranth and the cocotb testbenches and usable
by a driver: pack a layer into the engine's stream words, unpack its output words, and compute
what the golden model (``sim.golden``) says the engine must produce, and in how many cycles
``sim.mapping`` says its array is busy.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

import numpy as np

from sim.golden.ops import conv2d
from sim.golden.quant import requantize
from sim.mapping import overlapped_os_cycles
from sim.rtl_schedule import BIAS_WORDS, EngineLayer, engine_cycles


@dataclass(frozen=True)
class ConvJob:
    """One int8 convolution for the engine.

    ``x``: (H, W, C) int8 activations. ``w``: (k, k, C, M) int8 weights. ``stride`` and
    ``padding`` (zero padding on every side) in pixels. ``bias``: (M,) int32 added to the
    accumulators before requantization (zeros when None). Requantization as
    ``sim.golden.quant.requantize``: ``multiplier``, ``shift`` (bits), ``zero_point``, clip to
    [``qmin``, ``qmax``].
    """

    x: np.ndarray
    w: np.ndarray
    stride: int = 1
    padding: int = 0
    multiplier: int = 1 << 14
    shift: int = 20
    zero_point: int = 0
    qmin: int = -128
    qmax: int = 127
    bias: np.ndarray | None = None

    @property
    def biases(self) -> np.ndarray:
        """(M,) int32: ``bias``, or zeros."""
        if self.bias is None:
            return np.zeros(self.filters, dtype=np.int32)
        return self.bias.astype(np.int32)

    @property
    def kernel(self) -> int:
        return self.w.shape[0]

    @property
    def channels(self) -> int:
        return self.x.shape[2]

    @property
    def filters(self) -> int:
        return self.w.shape[3]

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the output in pixels."""
        height, width = self.x.shape[:2]
        return ((height + 2 * self.padding - self.kernel) // self.stride + 1,
                (width + 2 * self.padding - self.kernel) // self.stride + 1)

    @property
    def reduction(self) -> int:
        """K: the length of each dot product, k * k * C."""
        return self.kernel * self.kernel * self.channels

    @property
    def macs(self) -> int:
        height, width = self.output_size
        return height * width * self.reduction * self.filters


def activation_words(job: ConvJob) -> list[int]:
    """One word per pixel, row by row; channel c in bits [8c, 8c + 8)."""
    data = job.x.astype(np.int8).view(np.uint8)
    return [_pack(pixel) for pixel in data.reshape(-1, job.channels)]


def weight_words(job: ConvJob, cols: int, bias_words: int = BIAS_WORDS) -> list[int]:
    """For each group of ``cols`` filters: ``bias_words`` words of the filters' biases (word b,
    lane j = byte b of filter j's two's-complement bias, little-endian), then K weight words in
    (ky, kx, c) order, lane j = filter j of the group (0 past the last filter)."""
    folds = ceil(job.filters / cols)
    padded = np.zeros((job.reduction, folds * cols), dtype=np.int8)
    padded[:, :job.filters] = job.w.reshape(job.reduction, job.filters)
    lanes = padded.view(np.uint8)
    biases = np.zeros(folds * cols, dtype=np.int64)
    biases[:job.filters] = job.biases
    words = []
    for g in range(folds):
        group = [int(value) % (1 << (8 * bias_words)) for value in biases[g * cols:(g + 1) * cols]]
        words += [_pack(np.array([(value >> (8 * b)) & 0xFF for value in group], np.uint8))
                  for b in range(bias_words)]
        words += [_pack(lanes[k, g * cols:(g + 1) * cols]) for k in range(job.reduction)]
    return words


def unpack_outputs(words: list[int], job: ConvJob, rows: int, cols: int) -> np.ndarray:
    """(OH, OW, M) int8 from the engine's output words (see ``ConvEngine`` for their order)."""
    height, width = job.output_size
    pixels = height * width
    folds = ceil(job.filters / cols)
    expected = sum(min(rows, pixels - start) for start in range(0, pixels, rows)) * folds
    if len(words) != expected:
        raise ValueError(f"expected {expected} output words, got {len(words)}")
    out = np.zeros((pixels, folds * cols), dtype=np.int8)
    index = 0
    for start in range(0, pixels, rows):
        group = min(rows, pixels - start)
        for g in range(folds):
            for i in range(group):
                lanes = [(words[index] >> (8 * j)) & 0xFF for j in range(cols)]
                out[start + i, g * cols:(g + 1) * cols] = np.array(lanes, np.uint8).view(np.int8)
                index += 1
    return out[:, :job.filters].reshape(height, width, job.filters)


def golden_output(job: ConvJob) -> np.ndarray:
    """(OH, OW, M) int8: ``sim.golden`` convolution, int32 accumulate, bias, requantize."""
    acc = conv2d(job.x[None].astype(np.int8), job.w.astype(np.int8), job.biases,
                 stride=job.stride, padding=job.padding)[0]
    return requantize(acc, job.multiplier, job.shift, job.zero_point, job.qmin, job.qmax)


def compute_cycles(job: ConvJob, rows: int, cols: int, bias_words: int = BIAS_WORDS) -> int:
    """Cycles the engine's folds occupy its feed (its ``compute_cycles`` counter): each of the
    ceil(P / rows) * ceil(M / cols) folds reads its ``bias_words`` bias words and streams its
    K-long reduction, one word per cycle; the skewed drain of the array overlaps the next fold
    (``sim.mapping.overlapped_os_cycles`` with K + bias words, less the last fold's
    ``rows + cols - 2`` drain)."""
    height, width = job.output_size
    return (overlapped_os_cycles(rows, cols, height * width, job.reduction + bias_words,
                                 job.filters) - (rows + cols - 2))


def full_rate_cycles(job: ConvJob, rows: int, cols: int) -> int:
    """The engine's ``cycles`` for ``job`` when every stream is always ready and the weights
    are offered from the cycle ``start`` is taken: ``sim.rtl_schedule.engine_cycles``, built
    from the simulator's ``os-overlap`` model and the engine's documented stages (the weight
    words one per cycle; the weight bank readable the cycle after its last word; the operand,
    result and output registers; one cycle per further word of the last pixel group)."""
    height, width, channels = job.x.shape
    return engine_cycles(EngineLayer(height, width, channels, job.filters, job.kernel,
                                     job.stride, job.padding), rows, cols)


def random_job(rng: np.random.Generator, height: int, width: int, channels: int,
               filters: int, kernel: int, stride: int, padding: int) -> ConvJob:
    """A random int8 layer whose requantization keeps outputs mostly inside int8."""
    x = rng.integers(-128, 128, size=(height, width, channels), dtype=np.int8)
    w = rng.integers(-128, 128, size=(kernel, kernel, channels, filters), dtype=np.int8)
    # Output standard deviation about 40: spread over int8 with a few values clipped.
    reduction = kernel * kernel * channels
    shift = 13 + int(np.ceil(np.log2(np.sqrt(reduction) * 128 * 4)))
    multiplier = int(rng.integers(1 << 15, 1 << 16))
    zero_point = int(rng.integers(-10, 11))
    bias = rng.integers(-(1 << 15), 1 << 15, size=filters).astype(np.int32)
    return ConvJob(x, w, stride, padding, multiplier, shift, zero_point, bias=bias)


def _pack(lanes: np.ndarray) -> int:
    return int.from_bytes(bytes(lanes.astype(np.uint8)), "little")
