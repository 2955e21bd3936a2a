"""The schedule the generated layer engine (``accel.dram_engine``) runs for one layer, as
the simulator's tiles, and the cycles it takes, predicted by the simulator's own tile pipeline
(:func:`sim.pipeline.run_pipeline`, the engine of every ``simulate``) on those tiles: the DRAM
model (:class:`sim.memory.dram.DramModel`) for every request, the buffering the hardware YAML
declares, the ``os-overlap`` fold model (:func:`sim.mapping.overlapped_os_cycles`) inside each
tile's compute, and the engine's register stages, constants derived from its structure
(listed below, in :func:`compute_cycles` and in :class:`EnginePort`, the memory port the
pipeline is given). Nothing here reads the RTL or its counters.

The engine cuts a layer as the simulator's layer tiles do: output row bands, each loading its
input rows (halo included) once, and inside each band the filter blocks in order. A tile is one
(band, block): it loads the band's input (first block only) and the block's weights (each
column fold's biases first), computes, and stores its outputs (the whole band with one block;
one request per pixel, its channel slice, with several). As the pipeline runs tiles, with the
buffering the hardware YAML declares: a tile with an input load waits until the previous
tile has computed when the ifmap is single-buffered, until the tile before it has when it is
double-buffered (the engine's two input tile memories); one with weights only until the tile
before the previous one has (the weight buffer is a ping-pong pair: the next block's weights
load while this one computes); a tile computes when its loads are in, the previous tile has
computed and the output tile memory it writes is drained (the previous tile's stores done
when the ofmap is single-buffered, the one before it when double-buffered); its store begins
when it has computed. Reads go one at a time, and :class:`EnginePort` keeps the loader's
order with the stores, so the DRAM model serves every request in time order. Requests go out
on a memory port of ``cols`` bytes per beat.
Cycles are accelerator cycles; DRAM cycles are converted exactly, rounding up.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from math import ceil

from sim.hardware import HardwareSpec
from sim.mapping import overlapped_os_cycles
from sim.memory.dram import AccessResult, DramModel
from sim.pipeline import Clock, run_pipeline
from sim.schedule import Footprint, Tile, Transfer, strided

# Conv engine stages beyond the fold model: the weight bank is readable the cycle after its
# last word, the operand register before the array, the result register, the output register.
ENGINE_REGISTERS = 4
# Each column fold starts with its filters' biases: int32, one byte per lane in each of 4
# words, read through the weight port before the K weight words.
BIAS_WORDS = 4
READER_LATENCY = 3         # tile-memory reader: start to its first word valid
# The layer engine's controller (accel/dram_engine.py): the descriptor is latched in cycle 0
# and the layer's sizes in cycle 1; the loader, compute and store processes run from cycle 2,
# the pipeline's cycle 0.
ORIGIN = 2
ISSUE = 1                  # a process sees its condition in a cycle and requests in the next
NEXT_READ = 2              # the last beat of a read, the loader back in wait, its next request
LOADED_SEEN = 1            # the last weight beat to the tile counted loaded
STORED_SEEN = 2            # the last acknowledgement, the store's condition, the count
COMPUTED_SEEN = 2          # the last output word, the conv engine idle, the count
COUNTER_END = 1            # ``cycles`` stops counting in the cycle before the count is seen
TRANSACTION_SEEN = 1       # the last weight beat after a band's input to stores free again
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
    dataflow: str = "os"           # the conv engine: os (ConvEngine) or ws (WsConvEngine)
    accumulator_depth: int = 0     # ws: output pixels of the accumulator memory
    double_input: bool = False     # two input tile memories of ``input_depth`` pixels
    double_output: bool = False    # two output tile memories of ``output_depth`` words


@dataclass(frozen=True)
class Tiling:
    """Output rows per band and filters per block (a multiple of ``cols`` unless one block)."""

    band_rows: int
    block_filters: int


def engine_tiling(layer: EngineLayer, limits: EngineLimits) -> Tiling:
    """The largest filter block whose weights fit one bank, then the tallest band whose
    padded rows, in-bounds input rows and output words fit; ValueError when none does."""
    return next(fitting_tilings(layer, limits))


def fitting_tilings(layer: EngineLayer, limits: EngineLimits) -> Iterator[Tiling]:
    """Every (band, block) the engine's memories hold, the largest block first and for each
    the tallest band first (sizes per bank when a tile memory is double-buffered), found as
    they are asked for; raises ValueError instead of a first one when none does."""
    cols = limits.cols
    out_height, out_width = layer.output_size
    if layer.width + 2 * layer.padding > limits.max_width:
        raise ValueError(f"padded width {layer.width + 2 * layer.padding} is more than the "
                         f"engine's {limits.max_width}")
    if layer.channels > limits.max_channels:
        raise ValueError(f"{layer.channels} channels are more than the engine's "
                         f"{limits.max_channels}")
    if limits.dataflow == "ws" and layer.channels % limits.rows:
        raise ValueError(f"{layer.channels} channels are not a multiple of the "
                         f"weight-stationary array's {limits.rows} rows")
    folds = ceil(layer.filters / cols)
    fold_words = layer.reduction + limits.bias_words
    most_folds = min(folds, limits.weight_depth // fold_words)
    if most_folds == 0:
        raise ValueError(f"one column fold of {fold_words} weight words does not fit a "
                         f"bank of {limits.weight_depth}")
    found = False
    for block_folds in range(most_folds, 0, -1):
        for band_rows in range(min(out_height, limits.max_height), 0, -1):
            padded = (band_rows - 1) * layer.stride + layer.kernel
            loaded = max(min(layer.height, first * layer.stride - layer.padding + padded)
                         - max(0, first * layer.stride - layer.padding)
                         for first in range(0, out_height, band_rows))
            accumulated = (limits.dataflow != "ws"
                           or band_rows * out_width <= limits.accumulator_depth)
            if (padded <= limits.max_height and loaded * layer.width <= limits.input_depth
                    and band_rows * out_width * block_folds <= limits.output_depth
                    and accumulated):
                block_filters = layer.filters if block_folds == folds else block_folds * cols
                found = True
                yield Tiling(band_rows, block_filters)
    if not found:
        raise ValueError("not even one output row fits the engine's memories")


def choose_tiling(hardware: HardwareSpec, layer: EngineLayer, limits: EngineLimits,
                  addresses: tuple[int, int, int]) -> Tiling:
    """The tiling the engine is given: with a double-buffered tile memory the fastest
    (:func:`fastest_tiling`: there a short first band, the later ones loading behind compute,
    usually wins); with single-buffered ones the largest block and tallest band
    (:func:`engine_tiling`), the choice every figure of those presets was measured with."""
    if limits.double_input or limits.double_output:
        return fastest_tiling(hardware, layer, limits, addresses)
    return engine_tiling(layer, limits)


def fastest_tiling(hardware: HardwareSpec, layer: EngineLayer, limits: EngineLimits,
                   addresses: tuple[int, int, int]) -> Tiling:
    """The (band, block) with the fewest predicted cycles (:func:`predict_cycles`) among
    those that fit; on a tie the earlier of :func:`fitting_tilings` (larger block, then
    taller band). A tiling whose windows would hold its folds up is skipped."""
    best: tuple[int, Tiling] | None = None
    for tiling in fitting_tilings(layer, limits):
        try:
            cycles = predict_cycles(hardware, layer, limits, tiling, addresses).cycles
        except ValueError:
            continue
        if best is None or cycles < best[0]:
            best = (cycles, tiling)
    if best is None:
        raise ValueError("every tiling that fits would hold the folds up")
    return best[1]


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


@dataclass(frozen=True)
class Prediction:
    """``cycles``: the total; ``computed``: when the last tile was counted computed;
    ``tiles``: bands x blocks."""

    cycles: int
    computed: int
    tiles: int


def output_store(layer: EngineLayer, band: Band, block: Block, several_blocks: bool,
                 cols: int, output_address: int) -> Transfer:
    """The tile's outputs: the band at once (one block), or one request per pixel, its
    channel slice (several blocks), as one descriptor."""
    _, out_width = layer.output_size
    pixel_bytes = ceil(layer.filters / cols) * cols
    first_pixel = band.first_output_row * out_width
    pixels = band.output_rows * out_width
    if not several_blocks:
        return Transfer("ofmap", output_address + first_pixel * pixel_bytes,
                        pixels * pixel_bytes, write=True, tensor="output")
    return strided("ofmap", output_address + first_pixel * pixel_bytes + block.first_fold * cols,
                   block.folds * cols, pixels, pixel_bytes, write=True, tensor="output")


def first_windows_position(layer: EngineLayer, padded_width: int, rows: int, pixels: int
                           ) -> int:
    """Padded positions the line buffer steps until the first group of windows is complete
    (the window of output pixel min(rows, P) - 1 completes at its bottom-right position)."""
    return _group_position(layer, padded_width, min(rows, pixels) - 1)


def _group_position(layer: EngineLayer, padded_width: int, last_pixel: int) -> int:
    """Padded positions stepped when the window of output pixel ``last_pixel`` completes."""
    _, out_width = layer.output_size
    out_row, out_col = divmod(last_pixel, out_width)
    return ((out_row * layer.stride + layer.kernel - 1) * padded_width
            + out_col * layer.stride + layer.kernel)


def compute_cycles(piece: EngineLayer, rows: int, cols: int, bias_words: int = BIAS_WORDS
                   ) -> int:
    """Cycles of one tile from the engine's ``start`` (its weights already in a bank) to the
    cycle the layer engine counts it computed. ``piece`` is the tile as the conv engine sees
    it: the band's padded rows, no padding, the block's filters.

    The padded tile reader's first position is valid ``READER_LATENCY`` cycles after
    ``start``, one per cycle after it; the window a position completes leaves the line buffer
    the cycle after, the loader writes it into a window bank the cycle after that and the full
    bank is seen one cycle later, when the first fold starts (``WINDOW_PATH`` = 5 cycles
    beyond the reader's first ``first_windows_position`` positions, the first of which is
    already counted). Then the ``os-overlap`` cycles of folds of ``bias_words`` + K words,
    the engine's ``ENGINE_REGISTERS`` stages and one cycle per further word of the last pixel
    group (G words) bring the last output word; the conv engine is idle the cycle after it
    and the layer engine counts the tile one cycle later (``COMPUTED_SEEN`` = 2).
    ValueError when a later group's windows would come after its first fold should start
    (the line buffer would then hold the folds up).
    """
    height, width = piece.output_size
    pixels = height * width
    groups = ceil(pixels / rows)
    last_group = pixels - rows * (groups - 1)
    fold_words = piece.reduction + bias_words
    folds = ceil(piece.filters / cols)
    per_group = folds * fold_words
    first = first_windows_position(piece, piece.width, rows, pixels)
    for group in range(1, groups):
        completed = _group_position(piece, piece.width, min(rows * (group + 1), pixels) - 1)
        previous = _group_position(piece, piece.width, rows * group - 1)
        if completed - first > group * per_group - 2 or completed - previous > per_group - 2:
            raise ValueError("the line buffer would hold the folds up: the prediction does "
                             "not cover this tile")
    return (first + WINDOW_PATH - 1 + overlapped_os_cycles(rows, cols, pixels, fold_words,
                                                           piece.filters)
            + ENGINE_REGISTERS + (last_group - 1) + COMPUTED_SEEN)


# The weight-stationary engine (accel/ws_engine.py): its sequencer's idle and bank-wait states
# before the first bias word, and its finish state and the layer engine's count after the last
# fold; per reduction fold, beyond SCALE-Sim's 2 rows + cols + P - 2: the tile memory's
# synchronous read, the register holding a sum beside its accumulator word, the count of sums
# taken and the drain state's step to the next fold.
WS_TILE_STAGES = 4
WS_FOLD_STAGES = 4


def ws_compute_cycles(piece: EngineLayer, rows: int, cols: int, bias_words: int = BIAS_WORDS
                      ) -> int:
    """Cycles of one tile on the weight-stationary engine from its ``start`` (its weights
    already in a bank) to the cycle the layer engine counts it computed: for each column
    fold, its ``bias_words`` bias reads, then ceil(K / rows) folds of SCALE-Sim's ws fold
    (``rows`` load cycles, P pixels, ``rows + cols - 2`` of skew) plus ``WS_FOLD_STAGES``;
    ``WS_TILE_STAGES`` around them. ``piece`` is the band with its padding (the engine reads
    the tile memory itself)."""
    height, width = piece.output_size
    pixels = height * width
    fold = 2 * rows + cols + pixels - 2 + WS_FOLD_STAGES
    return WS_TILE_STAGES + ceil(piece.filters / cols) * (
        bias_words + ceil(piece.reduction / rows) * fold)


@dataclass
class EnginePort:
    """The layer engine's memory port and its controller's register stages, as the tile
    pipeline sees them (:class:`sim.pipeline.TransferPort`). Cycles inside are the engine's
    (cycle 0: ``start`` taken); the pipeline's cycle 0 is ``ORIGIN``.

    Reads, one request at a time: a request goes out the cycle after the pipeline issues it
    (``ISSUE``), no earlier than ``NEXT_READ`` cycles after the previous request's last beat
    and the cycle after the last store is acknowledged and counted (reads wait for it, so the
    DRAM model sees every request in time order). The memory gives its beats from the cycle
    the DRAM model's last data beat is in (no earlier than the cycle after the request), one
    per cycle; the loads count as done (``LOADED_SEEN``) the cycle after the last beat.

    Order (what keeps the DRAM model's requests in time order when tiles overlap): a read the
    loader has taken up waits for the stores of the tiles computed by then, and a store of a
    tile computed later waits for that read's request; no store starts while a band's input
    and the weights after it load (until ``TRANSACTION_SEEN`` cycle after the last weight
    beat). With single-buffered ifmap and ofmap tile memories nothing computes while a read
    waits or a band loads, so these waits never bind there.

    Writes: the store starts the cycle the tile is counted computed (or when the previous store
    is done, or the loader's order above lets it); its write requests go out from the next
    cycle, one per cycle; the output tile reader gives the first word ``READER_LATENCY`` cycles
    after the start, one per cycle. A request is complete in the cycle of its last beat (or of
    the request, if later), the DRAM model writes it from then and the acknowledgement comes
    from the cycle after its last data beat (no earlier than the cycle after), one per cycle;
    the store counts as done ``STORED_SEEN`` cycles after the last acknowledgement.
    """

    cols: int
    read_free: int = 0
    write_free: int = 0
    store_free: int = 0       # no store starts before this cycle (the loader's order)
    in_transaction: bool = False

    def serve(self, transfer: Transfer, now: int, dram: DramModel, clock: Clock
              ) -> tuple[int, AccessResult]:
        at = now + ORIGIN
        if transfer.write:
            return self._store(transfer, at, dram, clock)
        request = max(at + ISSUE, self.read_free, self.write_free + ISSUE)
        result = dram.access(transfer.address, transfer.size_bytes, False,
                             clock.to_dram(request))
        first = max(request + 1, clock.to_accelerator(result.end_cycle))
        last = first + transfer.size_bytes // self.cols - 1
        self.read_free = last + NEXT_READ
        if transfer.operand == "ifmap":
            self.in_transaction = True
        elif self.in_transaction:
            self.store_free = last + TRANSACTION_SEEN
            self.in_transaction = False
        else:
            self.store_free = request
        return last + LOADED_SEEN - ORIGIN, result

    def _store(self, transfer: Transfer, at: int, dram: DramModel, clock: Clock
               ) -> tuple[int, AccessResult]:
        start = max(at, self.write_free, self.store_free)
        words = 0
        acknowledged = start
        results = []
        for number, (address, size) in enumerate(transfer.requests()):
            words += size // self.cols
            complete = max(start + 1 + number, start + READER_LATENCY + words - 1)
            result = dram.access(address, size, True, clock.to_dram(complete))
            results.append(result)
            ready = max(complete + 1, clock.to_accelerator(result.end_cycle))
            acknowledged = max(acknowledged + 1, ready)
        self.write_free = acknowledged + STORED_SEEN
        combined = AccessResult(min(r.start_cycle for r in results),
                                max(r.end_cycle for r in results),
                                sum(r.bursts for r in results), sum(r.row_hits for r in results),
                                sum(r.row_misses for r in results),
                                sum(r.activates for r in results),
                                sum(r.busy_cycles for r in results))
        return self.write_free - ORIGIN, combined


def engine_tiles(layer: EngineLayer, limits: EngineLimits, tiling: Tiling,
                 addresses: tuple[int, int, int], name: str = "layer") -> list[Tile]:
    """The tiles the engine runs, in order: for each band, for each filter block, one tile
    that loads the band's input (its first block only) and the block's weights, computes
    (:func:`compute_cycles`) and stores its outputs. The band's input is held by its tiles
    (``group``); the tiles carry no SRAM counts: their compute cycles are the engine's own,
    which include every buffer access (each memory has its own read and write port)."""
    rows, cols = limits.rows, limits.cols
    input_address, weight_address, output_address = addresses
    bands, blocks = bands_and_blocks(layer, tiling, cols, limits.max_channels, input_address,
                                     weight_address, limits.bias_words)
    _, out_width = layer.output_size
    tiles = []
    for band_index, band in enumerate(bands):
        for index, block in enumerate(blocks):
            piece = EngineLayer(band.padded_rows, layer.width + 2 * layer.padding,
                                layer.channels, block.filters, layer.kernel, layer.stride, 0)
            if limits.dataflow == "ws":
                cycles = ws_compute_cycles(piece, rows, cols, limits.bias_words)
            else:
                cycles = compute_cycles(piece, rows, cols, limits.bias_words)
            loads = (band.load, block.weights) if index == 0 else (block.weights,)
            pixels = band.output_rows * out_width
            footprint = Footprint(loaded={"weight": block.weights.size_bytes},
                                  held={"ifmap": band.load.size_bytes},
                                  group=f"{name}:band{band_index}")
            tiles.append(Tile(name, loads, (output_store(layer, band, block, len(blocks) > 1,
                                                         cols, output_address),),
                              pixels * block.filters * layer.reduction, cycles,
                              footprint=footprint))
    return tiles


def predict_cycles(hardware: HardwareSpec, layer: EngineLayer, limits: EngineLimits,
                   tiling: Tiling, addresses: tuple[int, int, int]) -> Prediction:
    """The engine's ``cycles`` for ``layer`` on ``hardware`` with the memory always ready:
    the simulator's tile pipeline (:func:`sim.pipeline.run_pipeline`, with the buffers the
    hardware YAML declares) on :func:`engine_tiles` through
    :class:`EnginePort`; the engine's counter stops ``COUNTER_END`` cycles before the
    pipeline's last store is done.

    ``addresses``: the input, weight and output byte addresses. ValueError when a tile's
    windows would hold its folds up (:func:`compute_cycles`).
    """
    tiles = engine_tiles(layer, limits, tiling, addresses)
    result = run_pipeline(tiles, hardware, port=EnginePort(limits.cols))
    computed = result.layers["layer"].last_end + ORIGIN
    return Prediction(result.cycles + ORIGIN - COUNTER_END, computed, len(tiles))
