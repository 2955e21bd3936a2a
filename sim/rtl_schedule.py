"""The schedule the generated layer engine (``accel.dram_engine``) runs for one layer, and
the cycles it takes, predicted from the simulator's own models: the DRAM model
(:class:`sim.memory.dram.DramModel`) for every request, the ``os-overlap`` fold model
(:func:`sim.mapping.overlapped_os_cycles`) for the PE array, and the engine's documented
register stages for the rest. Nothing here reads the RTL or its counters.

The engine cuts a layer as the simulator's layer tiles do: output row bands, each loading its
input rows (halo included) once, and inside each band the filter blocks in order, each
computing while its weights (each column fold's biases first) stream in and then storing
its outputs (the whole band with one block; one request per pixel, its channel slice, with
several). Nothing overlaps: each phase
waits for the previous one. Requests go out on a memory port of ``cols`` bytes per beat; the
memory answers a read with its beats from the cycle the DRAM model's last data beat of the
request is in (never earlier than the cycle after the request), one beat per cycle, and
acknowledges a write from the cycle the DRAM model has written it, the request's last data
beat being its arrival. Cycles are accelerator cycles; DRAM cycles are converted exactly (the
clock ratio is a fraction), rounding up.

Register stages (cycle 0 is the one ``start`` is taken in):

- the descriptor is latched at the end of cycle 0, the layer's sizes at the end of cycle 1,
  a band's geometry at the end of the next cycle, so its input request goes out in the cycle
  after (cycle 3 for the first band);
- a block's sizes take one cycle after the input's last beat (or after the previous block is
  done); the weight request and the conv engine's ``start`` go out in the next cycle;
- the conv engine (:func:`engine_cycles`) ends with its last output word; the engine sees it
  idle the cycle after, starts its tile-memory reader the cycle after that and sends its
  first write request one cycle later, one per cycle; the reader delivers the first output
  word 3 cycles after its start (address, synchronous read, queue), then one per cycle;
- acknowledgements are taken one per cycle as they come; the engine sees the last the cycle
  after and ends there (``cycles``), or begins the next block or band the cycle after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sim.hardware import HardwareSpec
from sim.mapping import overlapped_os_cycles
from sim.memory.dram import DramModel
from sim.pipeline import Clock
from sim.schedule import Transfer

# Conv engine stages beyond the fold model: the weight bank is readable the cycle after its
# last word, the operand register before the array, the result register, the output register.
ENGINE_REGISTERS = 4
# Each column fold starts with its filters' biases: int32, one byte per lane in each of 4
# words, read through the weight port before the K weight words.
BIAS_WORDS = 4
FIRST_INPUT_REQUEST = 3    # descriptor, sizes, the first band's geometry
BLOCK_SETUP = 1            # a block's sizes, before its weight request
STORE_START = 2            # from the last output word to the output reader's start
READER_LATENCY = 3         # tile-memory reader: start to its first word valid
NEXT_STEP = 2              # the last acknowledgement to the next band's or block's first stage
BAND_SETUP = 1             # a band's geometry, before its input request
# The conv engine's pixel path: the reader's latency, then the line buffer emits a window one
# cycle after the position that completes it and the loader takes it the cycle after.
WINDOW_PATH = READER_LATENCY + 2


@dataclass(frozen=True)
class EngineLayer:
    """One conv layer as the engine runs it (int8; sizes in pixels, channels, filters)."""

    height: int
    width: int
    channels: int
    filters: int
    kernel: int
    stride: int
    padding: int

    @property
    def output_size(self) -> tuple[int, int]:
        return ((self.height + 2 * self.padding - self.kernel) // self.stride + 1,
                (self.width + 2 * self.padding - self.kernel) // self.stride + 1)

    @property
    def reduction(self) -> int:
        return self.kernel * self.kernel * self.channels


def engine_cycles(layer: EngineLayer, rows: int, cols: int, weight_delay: int = 0,
                  bias_words: int = BIAS_WORDS) -> int:
    """Cycles of the conv engine from ``start`` (cycle 0) to its last output word, when its
    first weight word comes ``weight_delay`` cycles after ``start`` and one per cycle after it,
    outputs are always taken, and the line buffer has its first group of windows before the
    last weight word (true when the weight words outnumber the padded positions up to the first
    group's last window).

    Weight words (ceil(M / cols) folds of ``bias_words`` + K, one per cycle), then the
    ``os-overlap`` cycles of folds that stream ``bias_words`` + K words each (the bias words
    first, so every sum is final ``rows + cols - 2`` cycles after the last fold's last word),
    then the engine's ``ENGINE_REGISTERS`` stages and one cycle for each further word of the
    last pixel group (G = P - rows * (ceil(P / rows) - 1) words).
    """
    height, width = layer.output_size
    pixels = height * width
    last_group = pixels - rows * (ceil(pixels / rows) - 1)
    fold_words = layer.reduction + bias_words
    weight_words = ceil(layer.filters / cols) * fold_words
    return (weight_delay + weight_words + ENGINE_REGISTERS + (last_group - 1)
            + overlapped_os_cycles(rows, cols, pixels, fold_words, layer.filters))


@dataclass(frozen=True)
class EngineLimits:
    """The generated engine's sizes that bound a band and a block (``accel.dram_engine``)."""

    rows: int
    cols: int
    max_height: int      # padded rows of a band
    max_width: int       # padded width
    max_channels: int
    input_depth: int     # pixels of the input tile memory
    output_depth: int    # words of the output tile memory
    weight_depth: int    # words of one weight bank
    bias_words: int = BIAS_WORDS   # per column fold, before its K weight words


@dataclass(frozen=True)
class Tiling:
    """Output rows per band and filters per block (a multiple of ``cols`` unless one block)."""

    band_rows: int
    block_filters: int


def engine_tiling(layer: EngineLayer, limits: EngineLimits) -> Tiling:
    """The largest filter block whose weights fit one bank, then the tallest band whose
    padded rows, in-bounds input rows and output words fit; ValueError when none does."""
    cols = limits.cols
    out_height, out_width = layer.output_size
    if layer.width + 2 * layer.padding > limits.max_width:
        raise ValueError(f"padded width {layer.width + 2 * layer.padding} is more than the "
                         f"engine's {limits.max_width}")
    if layer.channels > limits.max_channels:
        raise ValueError(f"{layer.channels} channels are more than the engine's "
                         f"{limits.max_channels}")
    folds = ceil(layer.filters / cols)
    fold_words = layer.reduction + limits.bias_words
    block_folds = min(folds, limits.weight_depth // fold_words)
    if block_folds == 0:
        raise ValueError(f"one column fold of {fold_words} weight words does not fit a "
                         f"bank of {limits.weight_depth}")
    for band_rows in range(min(out_height, limits.max_height), 0, -1):
        padded = (band_rows - 1) * layer.stride + layer.kernel
        loaded = max(min(layer.height, first * layer.stride - layer.padding + padded)
                     - max(0, first * layer.stride - layer.padding)
                     for first in range(0, out_height, band_rows))
        if (padded <= limits.max_height and loaded * layer.width <= limits.input_depth
                and band_rows * out_width * block_folds <= limits.output_depth):
            block_filters = layer.filters if block_folds == folds else block_folds * cols
            return Tiling(band_rows, block_filters)
    raise ValueError("not even one output row fits the engine's memories")


@dataclass(frozen=True)
class Band:
    """One band: its output rows, padded input rows and the in-bounds rows it loads."""

    first_output_row: int
    output_rows: int
    first_row: int        # padded, in map coordinates (negative above the map)
    padded_rows: int
    load: Transfer


@dataclass(frozen=True)
class Block:
    """One filter block: its filters and column folds and its weight request."""

    first_filter: int
    filters: int
    first_fold: int
    folds: int
    weights: Transfer


def bands_and_blocks(layer: EngineLayer, tiling: Tiling, cols: int, max_channels: int,
                     input_address: int, weight_address: int, bias_words: int = BIAS_WORDS
                     ) -> tuple[list[Band], list[Block]]:
    """The bands (with their input loads, halo rows included) and the filter blocks."""
    out_height, _ = layer.output_size
    bands = []
    for first in range(0, out_height, tiling.band_rows):
        count = min(tiling.band_rows, out_height - first)
        first_row = first * layer.stride - layer.padding
        padded = (count - 1) * layer.stride + layer.kernel
        low, high = max(0, first_row), min(layer.height, first_row + padded)
        row_bytes = layer.width * max_channels
        bands.append(Band(first, count, first_row, padded,
                          Transfer("ifmap", input_address + low * row_bytes,
                                   (high - low) * row_bytes, tensor="input")))
    blocks = []
    for first in range(0, layer.filters, tiling.block_filters):
        count = min(tiling.block_filters, layer.filters - first)
        first_fold, folds = first // cols, ceil(count / cols)
        fold_bytes = (layer.reduction + bias_words) * cols
        blocks.append(Block(first, count, first_fold, folds,
                            Transfer("weight", weight_address + first_fold * fold_bytes,
                                     folds * fold_bytes)))
    return bands, blocks


def output_stores(layer: EngineLayer, band: Band, block: Block, several_blocks: bool,
                  cols: int, output_address: int) -> list[Transfer]:
    """The band's outputs at once (one block), or one request per pixel (several)."""
    _, out_width = layer.output_size
    pixel_bytes = ceil(layer.filters / cols) * cols
    first_pixel = band.first_output_row * out_width
    pixels = band.output_rows * out_width
    if not several_blocks:
        return [Transfer("ofmap", output_address + first_pixel * pixel_bytes,
                         pixels * pixel_bytes, write=True, tensor="output")]
    return [Transfer("ofmap", output_address + (first_pixel + index) * pixel_bytes
                     + block.first_fold * cols, block.folds * cols, write=True,
                     tensor="output") for index in range(pixels)]


@dataclass(frozen=True)
class Prediction:
    """``cycles``: the total; ``computed``: when the last block's last output word left the
    conv engine; ``tiles``: bands x blocks."""

    cycles: int
    computed: int
    tiles: int


def first_windows_position(layer: EngineLayer, padded_width: int, rows: int, pixels: int
                           ) -> int:
    """Padded positions the line buffer steps until the first group of windows is complete
    (the window of output pixel min(rows, P) - 1 completes at its bottom-right position)."""
    _, out_width = layer.output_size
    last = min(rows, pixels) - 1
    out_row, out_col = divmod(last, out_width)
    return ((out_row * layer.stride + layer.kernel - 1) * padded_width
            + out_col * layer.stride + layer.kernel)


def predict_cycles(hardware: HardwareSpec, layer: EngineLayer, limits: EngineLimits,
                   tiling: Tiling, addresses: tuple[int, int, int]) -> Prediction:
    """The engine's ``cycles`` for ``layer`` on ``hardware`` with the memory always ready.

    ``addresses``: the input, weight and output byte addresses. ValueError when a block's
    first windows would come after its weights (the conv engine's timing is then not
    :func:`engine_cycles`).
    """
    rows, cols = limits.rows, limits.cols
    dram = DramModel(hardware.dram)
    clock = Clock(hardware.clock_hz, hardware.dram.clock_hz)
    input_address, weight_address, output_address = addresses

    def data_from(transfer: Transfer, arrival: int) -> int:
        result = dram.access(transfer.address, transfer.size_bytes, transfer.write,
                             clock.to_dram(arrival))
        return max(arrival + 1, clock.to_accelerator(result.end_cycle))

    bands, blocks = bands_and_blocks(layer, tiling, cols, limits.max_channels, input_address,
                                     weight_address, limits.bias_words)
    _, out_width = layer.output_size
    request = FIRST_INPUT_REQUEST    # the first band's input request
    computed = taken = 0
    for band in bands:
        first = data_from(band.load, request)
        now = first + band.load.size_bytes // cols + BLOCK_SETUP   # the weight request
        pixels = band.output_rows * out_width
        for index, block in enumerate(blocks):
            if index:
                now = taken + NEXT_STEP + BLOCK_SETUP
            piece = EngineLayer(band.padded_rows, layer.width + 2 * layer.padding,
                                layer.channels, block.filters, layer.kernel, layer.stride, 0)
            weights_first = data_from(block.weights, now)
            weight_words = block.weights.size_bytes // cols
            windows = first_windows_position(piece, piece.width, rows, pixels) + WINDOW_PATH
            if windows > weights_first - now + weight_words:
                raise ValueError("the first windows would come after the weights: the "
                                 "prediction does not cover this layer")
            computed = now + engine_cycles(piece, rows, cols, weights_first - now,
                                           limits.bias_words)
            reader_start = computed + STORE_START
            first_request = reader_start + 1
            first_word = reader_start + READER_LATENCY
            stores = output_stores(layer, band, block, len(blocks) > 1, cols, output_address)
            words = 0
            for number, store in enumerate(stores):
                words += store.size_bytes // cols
                last_beat = max(first_request + number, first_word + words - 1)
                taken = max(taken + 1, data_from(store, last_beat))
        request = taken + NEXT_STEP + BAND_SETUP
    return Prediction(taken + 1, computed, len(bands) * len(blocks))
