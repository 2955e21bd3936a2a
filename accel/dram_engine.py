"""A conv engine that runs a whole layer from DRAM: it takes a layer descriptor, fetches the
input and the weights itself through a memory port and writes the outputs back.

The layer is cut as the simulator's layer tiles are (``sim.techniques.layer_tiles``): the
output rows into bands of ``band_rows`` rows and the filters into blocks of ``block_filters``
(the descriptor carries both; ``sim.rtl_schedule.engine_tiling`` chooses them from the
engine's memories). For each band, in order:

1. **Load**: one read request for the band's input rows, its halo included (the rows it
   shares with the previous band are fetched again); the beats fill the ifmap tile memory.
2. For each filter block, in order:
   a. **Compute**: one read request for the block's weights, whose beats go straight into the
      :class:`accel.conv_engine.ConvEngine`'s ping-pong weight buffer while the tile memory
      streams the padded band (zeros generated for the padding) into its line buffer at one
      position per cycle; output words go into the ofmap tile memory.
   b. **Store**: with one filter block, one write request for the band's outputs; with
      several, one write request per output pixel (its channel slice), as the simulator
      stores block by block. Then every acknowledgement.

DRAM layout (bytes, little-endian words of the port's ``8 * cols`` bits):

- input: NHWC, each pixel's channels padded to ``max_channels`` (``max_channels / cols`` beats
  per pixel; plain NHWC when the layer has ``max_channels`` channels);
- weights: for each group of ``cols`` filters, 4 words of their int32 biases, then K = k * k * C
  words in (ky, kx, c) order, lane j = filter j of the group (``accel.conv_stream.weight_words``);
- output: NHWC, filters padded to a multiple of ``cols`` (plain NHWC when ``cols`` divides M).

Memory port: ``read_request`` and ``write_request`` carry ``{address, beats}`` (bytes, words);
``read_data`` returns the beats of the read requests in order; ``write_data`` carries the beats
of the write requests in order; ``write_ack`` has one transfer per write request, once it is in
memory. All are valid/ready streams; the memory may stall any of them.

``cycles`` counts from the cycle after ``start`` to the cycle the last write acknowledgement is
taken.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.checks import require_int
from accel.conv_engine import COUNTER_BITS, ConvEngine
from accel.memory_reader import QUEUE_DEPTH, MemoryStreamReader, PaddedTileReader

ADDRESS_BITS = 32


def request_layout(max_beats: int) -> data.StructLayout:
    return data.StructLayout({"address": unsigned(ADDRESS_BITS),
                              "beats": unsigned(max(1, max_beats.bit_length()))})


MAX_LAYER_EDGE = 4095   # layer height (any, in bands) and width (within a band's line)


class DramConvEngine(wiring.Component):
    """A :class:`ConvEngine` (same sizes) with an ifmap tile memory of ``input_depth`` pixels
    and an ofmap tile memory of ``output_depth`` words of ``cols`` int8 lanes, behind a memory
    port of ``8 * cols``-bit beats. ``max_channels`` must be a multiple of ``cols``.

    A layer runs when a band's padded rows fit ``max_height`` and its padded width
    ``max_width``, a band's in-bounds input rows fit ``input_depth``, its output words (band
    pixels x the block's column folds) fit ``output_depth`` and a block's weight words (bias
    words included) fit ``weight_depth``; ``block_filters`` is a multiple of ``cols`` unless
    it covers every filter (``sim.rtl_schedule.engine_tiling`` chooses band and block and
    checks all this).
    """

    def __init__(self, *, rows: int = 4, cols: int = 4, max_width: int = 16,
                 max_height: int = 16, max_channels: int = 8, max_kernel: int = 3,
                 max_stride: int = 2, weight_depth: int = 288, multiplier_width: int = 16,
                 acc_width: int = 32, input_depth: int = 256, output_depth: int = 512) -> None:
        require_int(self, "Input depth", input_depth, 1)
        require_int(self, "Output depth", output_depth, 1)
        require_int(self, "Columns", cols, 1)
        require_int(self, "Maximum channels", max_channels, 1)
        if max_channels % cols:
            self._MustUse__silence = True
            raise ValueError(f"Maximum channels must be a multiple of the columns ({cols}), "
                             f"not {max_channels}")
        self.engine = ConvEngine(rows=rows, cols=cols, max_width=max_width,
                                 max_height=max_height, max_channels=max_channels,
                                 max_kernel=max_kernel, max_stride=max_stride,
                                 weight_depth=weight_depth, multiplier_width=multiplier_width,
                                 acc_width=acc_width)
        self.rows, self.cols = rows, cols
        self.max_channels, self.max_kernel, self.max_stride = max_channels, max_kernel, max_stride
        self.max_width, self.max_height = max_width, max_height
        self.weight_depth = weight_depth
        self.input_depth, self.output_depth = input_depth, output_depth
        self.port_bits = 8 * cols
        self.beats_per_pixel = max_channels // cols
        max_beats = max(input_depth * self.beats_per_pixel, output_depth, 2 * weight_depth)
        super().__init__({
            "start": In(1),
            "height": In(range(MAX_LAYER_EDGE + 1)),
            "width": In(range(max_width + 1)),
            "channels": In(range(max_channels + 1)),
            "filters": In(range(MAX_LAYER_EDGE + 1)),
            "kernel": In(range(max_kernel + 1)),
            "stride": In(range(max_stride + 1)),
            "padding": In(range(max_kernel)),
            "multiplier": In(unsigned(multiplier_width)),
            "shift": In(range(acc_width + multiplier_width)),
            "zero_point": In(signed(8)),
            "qmin": In(signed(8)),
            "qmax": In(signed(8)),
            "band_rows": In(range(max_height + 1)),
            "block_filters": In(range(weight_depth * cols + 1)),
            "input_address": In(ADDRESS_BITS),
            "weight_address": In(ADDRESS_BITS),
            "output_address": In(ADDRESS_BITS),
            "busy": Out(1),
            "cycles": Out(COUNTER_BITS),
            "read_request": Out(stream.Signature(request_layout(max_beats))),
            "read_data": In(stream.Signature(unsigned(self.port_bits))),
            "write_request": Out(stream.Signature(request_layout(max_beats))),
            "write_data": Out(stream.Signature(unsigned(self.port_bits))),
            "write_ack": In(stream.Signature(unsigned(1))),
        })

    @property
    def register_bits(self) -> dict[str, int]:
        """Register bits besides the tile memories and the ConvEngine, per buffer: the pixel
        being assembled and the pixel reader's queue (ifmap), the output reader's queue
        (ofmap)."""
        pixel_bits = 8 * self.max_channels
        return {"ifmap": pixel_bits + QUEUE_DEPTH * pixel_bits,
                "ofmap": QUEUE_DEPTH * self.port_bits}

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.engine = engine = self.engine
        rows, cols, kmax = self.rows, self.cols, self.max_kernel
        pixel_bits = 8 * self.max_channels
        n = self.beats_per_pixel
        bias_words = engine.bias_words
        m.submodules.inputs = inputs = Memory(shape=unsigned(pixel_bits),
                                              depth=self.input_depth, init=[])
        m.submodules.outputs = outputs = Memory(shape=unsigned(self.port_bits),
                                                depth=self.output_depth, init=[])
        input_write = inputs.write_port()
        output_write = outputs.write_port()
        m.submodules.pixel_reader = pixel_reader = PaddedTileReader(
            width=pixel_bits, depth=self.input_depth, max_rows=self.max_height,
            max_width=self.max_width, max_padding=kmax - 1)
        m.submodules.output_reader = output_reader = MemoryStreamReader(
            width=self.port_bits, depth=self.output_depth)
        pixel_port = inputs.read_port(domain="sync")
        output_port = outputs.read_port(domain="sync")
        m.d.comb += [pixel_port.addr.eq(pixel_reader.addr), pixel_port.en.eq(pixel_reader.en),
                     pixel_reader.data.eq(pixel_port.data),
                     output_port.addr.eq(output_reader.addr),
                     output_port.en.eq(output_reader.en),
                     output_reader.data.eq(output_port.data)]

        # The descriptor, latched by ``start``.
        names = ("height", "width", "channels", "filters", "kernel", "stride", "padding",
                 "multiplier", "shift", "zero_point", "qmin", "qmax", "band_rows",
                 "block_filters", "input_address", "weight_address", "output_address")
        cfg = {name: Signal.like(getattr(self, name), name=f"cfg_{name}") for name in names}
        for name in ("channels", "kernel", "stride", "multiplier", "shift", "zero_point",
                     "qmin", "qmax"):
            m.d.comb += getattr(engine, name).eq(cfg[name])

        # Sizes of the layer (registered in the cycle after ``start``).
        edge = MAX_LAYER_EDGE + 2 * kmax
        folds = Signal(range(MAX_LAYER_EDGE + 1))           # ceil(M / cols)
        reduction = Signal(range(kmax ** 2 * self.max_channels + 1))
        out_height = Signal(range(edge))
        out_width = Signal(range(edge))
        pixel_bytes = self.max_channels
        m.d.sync += [
            folds.eq((cfg["filters"] + cols - 1) // cols),
            reduction.eq(cfg["kernel"] * cfg["kernel"] * cfg["channels"]),
            out_height.eq(_divide(cfg["height"] + 2 * cfg["padding"] - cfg["kernel"],
                                  cfg["stride"], self.max_stride) + 1),
            out_width.eq(_divide(cfg["width"] + 2 * cfg["padding"] - cfg["kernel"],
                                 cfg["stride"], self.max_stride) + 1),
        ]

        # The band: output rows [band_start, band_start + band_count); padded input rows from
        # first_row (map coordinates), padded_rows of them; in-bounds rows [row_lo, row_hi).
        band_start = Signal(range(edge))
        band_count = Signal(range(self.max_height + 1))
        first_row = Signal(signed(len(band_start) + 4))
        padded_rows = Signal(range(self.max_height * self.max_stride + kmax + 1))
        row_lo = Signal(range(MAX_LAYER_EDGE + 1))
        row_hi = Signal(range(MAX_LAYER_EDGE + 1))
        band_pixels = Signal(range(self.max_height * edge + 1))
        remaining_rows = out_height - band_start
        count_now = Mux(remaining_rows < cfg["band_rows"], remaining_rows, cfg["band_rows"])
        first_now = band_start * cfg["stride"] - cfg["padding"]
        rows_now = (count_now - 1) * cfg["stride"] + cfg["kernel"]
        # The block: filters [block_start, block_start + block_count), column folds
        # [fold_start, fold_start + block_folds).
        block_start = Signal(range(MAX_LAYER_EDGE + 1))
        block_count = Signal(range(self.weight_depth * cols + 1))
        block_folds = Signal(range(self.weight_depth + 1))
        fold_start = Signal(range(MAX_LAYER_EDGE + 1))
        several_blocks = cfg["block_filters"] < cfg["filters"]
        remaining_filters = cfg["filters"] - block_start
        block_now = Mux(remaining_filters < cfg["block_filters"], remaining_filters,
                        cfg["block_filters"])
        m.d.comb += [engine.height.eq(padded_rows),
                     engine.width.eq(cfg["width"] + 2 * cfg["padding"]),
                     engine.padding.eq(0), engine.filters.eq(block_count),
                     pixel_reader.first_row.eq(first_row), pixel_reader.rows.eq(padded_rows),
                     pixel_reader.height.eq(cfg["height"]), pixel_reader.width.eq(cfg["width"]),
                     pixel_reader.padding.eq(cfg["padding"])]

        busy = Signal()
        cycles = Signal(COUNTER_BITS)
        m.d.comb += [self.busy.eq(busy), self.cycles.eq(cycles)]
        with m.If(self.start & ~busy):
            m.d.sync += cycles.eq(0)
        with m.Elif(busy):
            m.d.sync += cycles.eq(cycles + 1)

        assembling = Signal(pixel_bits)
        beat_in_pixel = Signal(range(max(2, n)))
        pixel_index = Signal(range(self.input_depth + 1))
        load_beats = Signal(range(self.input_depth * n + 1))
        beats_seen = Signal(range(max(self.input_depth * n, 2 * self.weight_depth) + 1))
        weight_words = Signal(range(2 * (self.weight_depth + bias_words) + 1))
        engine_started = Signal()
        # Output word placement: band pixel p0 + i, fold g -> word (p0 + i) * block_folds + g.
        word_range = range(self.output_depth + rows * self.weight_depth + 1)
        group_base = Signal(word_range)
        fold_base = Signal(word_range)
        word_address = Signal(word_range)
        group_start = Signal.like(band_pixels)
        fold_index = Signal.like(block_folds)
        in_group = Signal(range(rows + 1))
        group_size = Mux(band_pixels - group_start < rows, band_pixels - group_start, rows)
        output_words = Signal(range(self.output_depth + 1))
        sent = Signal.like(output_words)
        requests = Signal.like(band_pixels)      # write requests of this block
        issued = Signal.like(band_pixels)
        acknowledged = Signal.like(band_pixels)
        request_pixel = Signal(range(edge * edge + 1))   # layer pixel of the next request
        row_bytes = cfg["width"] * pixel_bytes
        pixel_out_bytes = folds * cols

        with m.FSM():
            with m.State("idle"):
                with m.If(self.start):
                    m.d.sync += [cfg[name].eq(getattr(self, name)) for name in names]
                    m.d.sync += [busy.eq(1), band_start.eq(0)]
                    m.next = "size"
            with m.State("size"):                 # the layer's sizes settle
                m.next = "band"
            with m.State("band"):
                lo = Mux(first_now < 0, 0, first_now)
                hi = Mux(first_now + rows_now > cfg["height"], cfg["height"],
                         first_now + rows_now)
                m.d.sync += [band_count.eq(count_now), first_row.eq(first_now),
                             padded_rows.eq(rows_now), row_lo.eq(lo), row_hi.eq(hi),
                             band_pixels.eq(count_now * out_width), block_start.eq(0),
                             fold_start.eq(0)]
                m.next = "request_input"
            with m.State("request_input"):
                beats = (row_hi - row_lo) * cfg["width"] * n
                m.d.comb += [self.read_request.valid.eq(1),
                             self.read_request.payload.address.eq(
                                 cfg["input_address"] + row_lo * row_bytes),
                             self.read_request.payload.beats.eq(beats)]
                with m.If(self.read_request.ready):
                    m.d.sync += [beats_seen.eq(0), pixel_index.eq(0), beat_in_pixel.eq(0),
                                 load_beats.eq(beats)]
                    m.next = "load_input"
            with m.State("load_input"):
                word = Cat(assembling[self.port_bits:], self.read_data.payload) \
                    if n > 1 else self.read_data.payload
                m.d.comb += [self.read_data.ready.eq(1),
                             input_write.addr.eq(pixel_index), input_write.data.eq(word)]
                with m.If(self.read_data.valid):
                    m.d.sync += [assembling.eq(word), beats_seen.eq(beats_seen + 1)]
                    with m.If(beat_in_pixel == n - 1):
                        m.d.comb += input_write.en.eq(1)
                        m.d.sync += [beat_in_pixel.eq(0), pixel_index.eq(pixel_index + 1)]
                    with m.Else():
                        m.d.sync += beat_in_pixel.eq(beat_in_pixel + 1)
                    with m.If(beats_seen == load_beats - 1):
                        m.next = "block"
            with m.State("block"):
                folds_now = (block_now + cols - 1) // cols
                m.d.sync += [block_count.eq(block_now), block_folds.eq(folds_now),
                             weight_words.eq(folds_now * (reduction + bias_words))]
                m.next = "request_weights"
            with m.State("request_weights"):
                m.d.comb += [self.read_request.valid.eq(1),
                             self.read_request.payload.address.eq(
                                 cfg["weight_address"]
                                 + fold_start * (reduction + bias_words) * cols),
                             self.read_request.payload.beats.eq(weight_words),
                             engine.start.eq(~engine_started),
                             pixel_reader.start.eq(~engine_started)]
                m.d.sync += engine_started.eq(1)
                with m.If(self.read_request.ready):
                    m.d.sync += [beats_seen.eq(0), group_base.eq(0), fold_base.eq(0),
                                 word_address.eq(0), group_start.eq(0), fold_index.eq(0),
                                 in_group.eq(0)]
                    m.next = "compute"
            with m.State("compute"):
                m.d.comb += [
                    engine.weights.valid.eq(self.read_data.valid & (beats_seen < weight_words)),
                    engine.weights.payload.data.eq(self.read_data.payload),
                    engine.weights.payload.last.eq(beats_seen == weight_words - 1),
                    self.read_data.ready.eq(engine.weights.ready & (beats_seen < weight_words)),
                    engine.outputs.ready.eq(1),
                    output_write.addr.eq(word_address),
                    output_write.data.eq(engine.outputs.payload),
                    output_write.en.eq(engine.outputs.valid),
                ]
                with m.If(self.read_data.valid & self.read_data.ready):
                    m.d.sync += beats_seen.eq(beats_seen + 1)
                with m.If(engine.outputs.valid):
                    with m.If(in_group == group_size - 1):
                        m.d.sync += in_group.eq(0)
                        with m.If(fold_index == block_folds - 1):
                            next_group = group_base + rows * block_folds
                            m.d.sync += [fold_index.eq(0), group_base.eq(next_group),
                                         fold_base.eq(next_group), word_address.eq(next_group),
                                         group_start.eq(group_start + rows)]
                        with m.Else():
                            m.d.sync += [fold_index.eq(fold_index + 1),
                                         fold_base.eq(fold_base + 1),
                                         word_address.eq(fold_base + 1)]
                    with m.Else():
                        m.d.sync += [in_group.eq(in_group + 1),
                                     word_address.eq(word_address + block_folds)]
                with m.If(~engine.busy & ~engine.start):
                    m.d.sync += [engine_started.eq(0), sent.eq(0), issued.eq(0),
                                 acknowledged.eq(0),
                                 output_words.eq(band_pixels * block_folds),
                                 requests.eq(Mux(several_blocks, band_pixels, 1)),
                                 request_pixel.eq(band_start * out_width)]
                    m.next = "store"
            with m.State("store"):
                m.d.comb += [output_reader.start.eq(1), output_reader.base.eq(0),
                             output_reader.count.eq(output_words)]
                m.next = "send"
            with m.State("send"):
                address = cfg["output_address"] + request_pixel * pixel_out_bytes \
                    + fold_start * cols
                m.d.comb += [self.write_request.valid.eq(issued != requests),
                             self.write_request.payload.address.eq(address),
                             self.write_request.payload.beats.eq(
                                 Mux(several_blocks, block_folds, output_words))]
                with m.If(self.write_request.valid & self.write_request.ready):
                    m.d.sync += [issued.eq(issued + 1), request_pixel.eq(request_pixel + 1)]
                with m.If((issued == requests) & (sent == output_words)
                          & (acknowledged == requests)):
                    with m.If(block_start + block_count < cfg["filters"]):
                        m.d.sync += [block_start.eq(block_start + block_count),
                                     fold_start.eq(fold_start + block_folds)]
                        m.next = "block"
                    with m.Elif(band_start + band_count < out_height):
                        m.d.sync += band_start.eq(band_start + band_count)
                        m.next = "band"
                    with m.Else():
                        m.d.sync += busy.eq(0)
                        m.next = "idle"
                m.d.comb += self.write_ack.ready.eq(1)
                with m.If(self.write_ack.valid):
                    m.d.sync += acknowledged.eq(acknowledged + 1)

        # The output words leave as soon as the reader has them (also while their write
        # request waits: the memory takes requests and data independently).
        m.d.comb += [self.write_data.valid.eq(output_reader.words.valid),
                     self.write_data.payload.eq(output_reader.words.payload),
                     output_reader.words.ready.eq(self.write_data.ready)]
        with m.If(self.write_data.valid & self.write_data.ready):
            m.d.sync += sent.eq(sent + 1)
        m.d.comb += [engine.activations.valid.eq(pixel_reader.words.valid),
                     engine.activations.payload.eq(pixel_reader.words.payload),
                     pixel_reader.words.ready.eq(engine.activations.ready)]
        return m


def _divide(numerator, stride, max_stride: int):
    """``numerator // stride`` for a run-time stride in 1..``max_stride``."""
    result = numerator
    for value in range(2, max_stride + 1):
        result = Mux(stride == value, numerator // Const(value), result)
    return result
