"""A layer's input, weights and outputs as the bytes :class:`accel.dram_engine.DramConvEngine`
reads and writes in DRAM (layout in that module's docstring)."""

from __future__ import annotations

from math import ceil

import numpy as np

from accel.conv_stream import ConvJob, weight_words


def input_bytes(job: ConvJob, max_channels: int) -> bytes:
    """NHWC int8, each pixel's channels padded with zeros to ``max_channels``."""
    height, width, channels = job.x.shape
    padded = np.zeros((height, width, max_channels), dtype=np.int8)
    padded[:, :, :channels] = job.x
    return padded.tobytes()


def weight_bytes(job: ConvJob, cols: int) -> bytes:
    """The weight words of ``accel.conv_stream.weight_words``, ``cols`` bytes each."""
    return b"".join(word.to_bytes(cols, "little") for word in weight_words(job, cols))


def output_size_bytes(job: ConvJob, cols: int) -> int:
    height, width = job.output_size
    return height * width * ceil(job.filters / cols) * cols


def unpack_output(data: bytes, job: ConvJob, cols: int) -> np.ndarray:
    """(OH, OW, M) int8 from NHWC bytes with filters padded to a multiple of ``cols``."""
    height, width = job.output_size
    padded = ceil(job.filters / cols) * cols
    out = np.frombuffer(data, dtype=np.int8).reshape(height, width, padded)
    return out[:, :, :job.filters]
