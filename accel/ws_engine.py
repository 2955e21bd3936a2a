"""A weight-stationary convolution engine: ping-pong weight buffer + ws PE array + an
accumulator memory, reading its band straight from a tile memory.

One run (a *tile*) computes an int8 convolution of a band held in a tile memory (its in-bounds
input rows, row-major, ``width`` pixels each; the band's padded rows start at map row
``first_row``) for ``filters`` k x k filters, stride and zero padding set at run time,
accumulating in int32, adding each filter's int32 bias and requantizing to int8 exactly as
``sim.golden.quant.requantize`` does.

Mapping (SCALE-Sim's weight-stationary mapping of the im2col GEMM): the array's ``rows`` hold
``rows`` consecutive elements of the K = k * k * C reduction (channels of one kernel tap:
``rows`` must divide C), its ``cols`` hold ``cols`` filters. A *fold* loads such a
``rows`` x ``cols`` block of weights into the PEs, then streams every output pixel of the
band through the array, one per cycle; column j's partial sums leave the bottom and are added
to the accumulator memory word of their pixel (one word of ``cols`` int32 lanes per pixel).
For each column fold g (``cols`` filters) the engine first reads its filters' biases
(``bias_words`` words), then runs the K / ``rows`` folds of the reduction; in the last one each
sum gets its bias, is requantized and sent instead of written back.

Streams and ports:
- ``pixel_addr``/``pixel_en``/``pixel_data``: a synchronous read port of the tile memory
  (pixels of ``8 * max_channels`` bits, channel c in bits ``[8c, 8c + 8)``);
- ``weights``: as :class:`accel.conv_engine.ConvEngine`'s (per column fold, ``bias_words``
  bias words then K words in (ky, kx, c) order; ``last`` on the tile's final word), into a
  ping-pong buffer: the next tile's weights may load while this tile computes;
- ``outputs``: for each column fold g, one word per output pixel in raster order, ``cols``
  int8 lanes (filters ``g * cols + j``; lanes past ``filters`` are 0). The consumer must take
  a word in every cycle it is valid (the layer engine always does).

Timing (cycle 0: ``start`` taken, the weight bank already committed;
``sim.rtl_schedule.ws_compute_cycles``): per column fold ``bias_words`` bias reads, then per
reduction fold ``rows`` load cycles, P stream cycles and the skew until its last sum is in the
accumulator: SCALE-Sim's ws fold (2 rows + cols + P - 2) plus 4 register stages (the tile
memory's read, the held sum beside its accumulator word, the count of sums, the step to the
next fold); 2 cycles before the first bias read and 2 after the last output.
"""

from __future__ import annotations

from amaranth import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.array import SystolicArray
from accel.buffer import PingPongBuffer
from accel.checks import require_int
from accel.conv_engine import _delay, _requantize, layer_ports

EDGE_BITS = 13   # map rows, columns and band pixels up to 8191


class WsConvEngine(wiring.Component):
    """``rows`` x ``cols`` int8 weight-stationary conv engine for bands of up to
    ``accumulator_depth`` output pixels, ``max_channels`` channels (a multiple of ``rows``)
    and k <= ``max_kernel``; ``weight_depth`` words per weight bank."""

    def __init__(self, *, rows: int = 4, cols: int = 4, max_width: int = 16,
                 max_channels: int = 8, max_kernel: int = 3, max_stride: int = 2,
                 weight_depth: int = 288, multiplier_width: int = 16, acc_width: int = 32,
                 input_depth: int = 256, accumulator_depth: int = 256) -> None:
        for name, value, minimum in (
                ("Rows", rows, 1), ("Columns", cols, 1), ("Maximum width", max_width, 1),
                ("Maximum channels", max_channels, 1), ("Maximum kernel", max_kernel, 1),
                ("Maximum stride", max_stride, 1), ("Weight depth", weight_depth, 1),
                ("Multiplier width", multiplier_width, 1), ("Accumulator width", acc_width, 16),
                ("Input depth", input_depth, 1), ("Accumulator depth", accumulator_depth, 1)):
            require_int(self, name, value, minimum)
        if max_channels % rows:
            self._MustUse__silence = True
            raise ValueError(f"Maximum channels must be a multiple of the rows ({rows}), "
                             f"not {max_channels}")
        self.rows, self.cols = rows, cols
        self.max_width, self.max_channels = max_width, max_channels
        self.max_kernel, self.max_stride = max_kernel, max_stride
        self.weight_depth, self.input_depth = weight_depth, input_depth
        self.accumulator_depth = accumulator_depth
        self.multiplier_width, self.acc_width = multiplier_width, acc_width
        super().__init__({
            "start": In(1),
            "out_rows": In(range(1 << EDGE_BITS)),      # the band's output rows
            "out_width": In(range(1 << EDGE_BITS)),
            "first_row": In(signed(EDGE_BITS + 2)),     # map row of the band's first padded row
            "row_lo": In(range(1 << EDGE_BITS)),        # first map row in the tile memory
            "height": In(range(1 << EDGE_BITS)),
            "width": In(range(max_width + 1)),
            "channels": In(range(max_channels + 1)),
            "filters": In(range(weight_depth * cols + 1)),
            **layer_ports(max_kernel, max_stride, multiplier_width, acc_width),
            "busy": Out(1),
            "pixel_addr": Out(range(input_depth)),
            "pixel_en": Out(1),
            "pixel_data": In(unsigned(8 * max_channels)),
            "weights": In(stream.Signature(data.StructLayout({
                "data": unsigned(8 * cols), "last": unsigned(1)}))),
            "outputs": Out(stream.Signature(unsigned(8 * cols))),
        })

    @property
    def bias_words(self) -> int:
        return -(-self.acc_width // 8)

    def elaborate(self, platform) -> Module:
        m = Module()
        rows, cols, acc_width = self.rows, self.cols, self.acc_width
        bias_words = self.bias_words
        m.submodules.weight_buffer = weights = PingPongBuffer(
            depth=self.weight_depth, width=8 * cols)
        m.submodules.array = array = SystolicArray(rows=rows, cols=cols, dataflow="ws",
                                                   acc_width=acc_width)
        m.submodules.accumulators = accumulators = Memory(
            shape=unsigned(cols * acc_width), depth=self.accumulator_depth, init=[])
        acc_write = accumulators.write_port()
        acc_read = accumulators.read_port(domain="sync")
        wiring.connect(m, wiring.flipped(self.weights), weights.write)

        # Configuration, latched by ``start``.
        names = ("out_rows", "out_width", "first_row", "row_lo", "height", "width", "channels",
                 "filters", "kernel", "stride", "padding", "multiplier", "shift", "zero_point",
                 "qmin", "qmax")
        cfg = {name: Signal.like(getattr(self, name), name=f"ws_{name}") for name in names}
        pixels = Signal(range(1 << (2 * EDGE_BITS)))
        reduction = Signal(range(self.max_kernel ** 2 * self.max_channels + 1))
        stride_width = Signal(range(self.max_stride * self.max_width + 1))
        busy = Signal()
        m.d.comb += self.busy.eq(busy)
        with m.If(self.start & ~busy):
            m.d.sync += [cfg[name].eq(getattr(self, name)) for name in names]
            m.d.sync += [busy.eq(1), pixels.eq(self.out_rows * self.out_width),
                         reduction.eq(self.kernel * self.kernel * self.channels),
                         stride_width.eq(self.stride * self.width)]

        # Fold position: column fold g (``filter_base``, weight words from ``weight_base``),
        # reduction fold f (kernel tap ky, kx, channels c0 .. c0 + rows - 1).
        filter_base = Signal(range(self.weight_depth * cols + cols + 1))
        weight_base = Signal(range(2 * self.weight_depth + 1))
        k_offset = Signal(range(self.max_kernel ** 2 * self.max_channels + rows + 1))
        ky = Signal(range(self.max_kernel + 1))
        kx = Signal(range(self.max_kernel + 1))
        c0 = Signal(range(self.max_channels + rows))
        last_k = k_offset + rows >= reduction
        last_g = filter_base + cols >= cfg["filters"]
        lanes = Mux(cfg["filters"] - filter_base < cols, cfg["filters"] - filter_base, cols)

        # Biases: word b of a column fold read in its bias cycle b, shifted in from the top.
        bias_shift = [Signal(8 * bias_words, name=f"ws_bias{j}") for j in range(cols)]
        bias_now = Signal()                       # read data is a bias word this cycle

        counter = Signal(range(max(1 << (2 * EDGE_BITS), 8 * (rows + cols + bias_words))))
        load_now = Signal()                       # read data is a weight row: load it
        stream_issue = Signal()                   # a pixel read is issued this cycle
        # Pixel walk of the stream: output (y, x) reads map (row, col); ``row_address`` is
        # (row - row_lo) * width.
        out_y = Signal(range(1 << EDGE_BITS))
        out_x = Signal(range(1 << EDGE_BITS))
        map_row = Signal(signed(EDGE_BITS + 3))
        map_col = Signal(signed(EDGE_BITS + 3))
        row_address = Signal(signed(2 * EDGE_BITS + 3))
        inside = ((map_row >= 0) & (map_row < cfg["height"]) & (map_col >= 0)
                  & (map_col < cfg["width"]))
        m.d.comb += [self.pixel_addr.eq((row_address + map_col)[:len(self.pixel_addr)]),
                     self.pixel_en.eq(stream_issue & inside)]
        drained = Signal()                        # the fold's last sum has been taken
        sums_left = Signal.like(pixels)

        weight_address = Signal.like(weight_base)
        m.d.comb += weights.read_addr.eq(weight_address)
        m.d.sync += [load_now.eq(0), bias_now.eq(0)]
        # Signals read by registers outside the FSM are derived from its state with continuous
        # assignments (Icarus evaluates an ``always @*`` block only once an input changes).
        with m.FSM(name="ws_sequencer") as sequencer:
            with m.State("idle"):
                with m.If(self.start):
                    m.d.sync += [filter_base.eq(0), weight_base.eq(0)]
                    m.next = "wait_bank"
            with m.State("wait_bank"):
                with m.If(weights.read_ready):
                    m.d.sync += [counter.eq(0), k_offset.eq(0), ky.eq(0), kx.eq(0), c0.eq(0)]
                    m.next = "bias"
            with m.State("bias"):
                m.d.comb += weight_address.eq(weight_base + counter)
                m.d.sync += [bias_now.eq(1), counter.eq(counter + 1)]
                with m.If(counter == bias_words - 1):
                    m.d.sync += counter.eq(0)
                    m.next = "load"
            with m.State("load"):
                # Weight rows of the fold, the last row first (it shifts to the bottom).
                m.d.comb += weight_address.eq(weight_base + bias_words + k_offset
                                              + (rows - 1) - counter)
                m.d.sync += [load_now.eq(1), counter.eq(counter + 1)]
                with m.If(counter == rows - 1):
                    m.d.sync += [counter.eq(0), out_y.eq(0), out_x.eq(0),
                                 map_row.eq(cfg["first_row"] + ky),
                                 map_col.eq(kx - cfg["padding"]),
                                 row_address.eq((cfg["first_row"] + ky - cfg["row_lo"])
                                                * cfg["width"]),
                                 sums_left.eq(pixels)]
                    m.next = "stream"
            with m.State("stream"):
                m.d.sync += counter.eq(counter + 1)
                with m.If(out_x == cfg["out_width"] - 1):
                    m.d.sync += [out_x.eq(0), out_y.eq(out_y + 1),
                                 map_row.eq(map_row + cfg["stride"]),
                                 map_col.eq(kx - cfg["padding"]),
                                 row_address.eq(row_address + stride_width)]
                with m.Else():
                    m.d.sync += [out_x.eq(out_x + 1), map_col.eq(map_col + cfg["stride"])]
                with m.If(counter == pixels - 1):
                    m.next = "drain"
            with m.State("drain"):
                with m.If(drained):
                    m.d.sync += counter.eq(0)
                    with m.If(last_k):
                        with m.If(last_g):
                            m.next = "finish"
                        with m.Else():
                            m.d.sync += [filter_base.eq(filter_base + cols),
                                         weight_base.eq(weight_base + reduction + bias_words),
                                         k_offset.eq(0), ky.eq(0), kx.eq(0), c0.eq(0)]
                            m.next = "bias"
                    with m.Else():
                        m.d.sync += k_offset.eq(k_offset + rows)
                        with m.If(c0 + rows >= cfg["channels"]):
                            m.d.sync += c0.eq(0)
                            with m.If(kx == cfg["kernel"] - 1):
                                m.d.sync += [kx.eq(0), ky.eq(ky + 1)]
                            with m.Else():
                                m.d.sync += kx.eq(kx + 1)
                        with m.Else():
                            m.d.sync += c0.eq(c0 + rows)
                        m.next = "load"
            with m.State("finish"):
                with m.If(~self.outputs.valid | self.outputs.ready):
                    m.d.sync += busy.eq(0)
                    m.next = "idle"
        m.d.comb += [stream_issue.eq(sequencer.ongoing("stream")),
                     weights.read_done.eq(sequencer.ongoing("finish")
                                          & (~self.outputs.valid | self.outputs.ready))]

        for j in range(cols):
            byte = weights.read_data.word_select(j, 8)
            with m.If(bias_now):
                m.d.sync += bias_shift[j].eq(Cat(bias_shift[j][8:], byte))
        m.d.comb += array.load.eq(load_now)
        for j in range(cols):
            m.d.comb += array.w_in[j].eq(weights.read_data.word_select(j, 8).as_signed())

        # The pixel word is on the read data the cycle after its read; row i takes channel
        # c0 + i, delayed i more cycles (the systolic skew).
        pixel_valid = Signal()
        pixel_real = Signal()
        m.d.sync += [pixel_valid.eq(stream_issue), pixel_real.eq(stream_issue & inside)]
        word = Mux(pixel_real, self.pixel_data, 0)
        for i in range(rows):
            channel = Signal(signed(8), name=f"ws_a{i}")
            m.d.comb += channel.eq(word.word_select(c0 + i, 8).as_signed())
            m.d.comb += [array.a_in[i].eq(_delay(m, i, f"ws_row{i}", channel)),
                         array.valid_in[i].eq(_delay(m, i, f"ws_valid{i}", pixel_valid))]

        # Column j's sums leave the bottom j cycles after column 0's: delay each to the last
        # column's time, then read the pixel's accumulator word (one cycle) and add.
        aligned = [_delay(m, cols - 1 - j, f"ws_psum{j}", array.psum_out[j])
                   for j in range(cols)]
        aligned_valid = array.valid_out[cols - 1]
        sum_pixel = Signal.like(pixels)
        m.d.comb += [acc_read.addr.eq(sum_pixel), acc_read.en.eq(aligned_valid)]
        held = [Signal(signed(acc_width), name=f"ws_held{j}") for j in range(cols)]
        held_valid = Signal()
        held_pixel = Signal.like(pixels)
        m.d.sync += [held_valid.eq(aligned_valid), held_pixel.eq(sum_pixel)]
        m.d.sync += [held[j].eq(aligned[j]) for j in range(cols)]
        with m.If(aligned_valid):
            m.d.sync += sum_pixel.eq(Mux(sum_pixel == pixels - 1, 0, sum_pixel + 1))
        first_k = k_offset == 0
        totals = []
        for j in range(cols):
            previous = acc_read.data.word_select(j, acc_width).as_signed()
            total = Signal(signed(acc_width), name=f"ws_total{j}")
            m.d.comb += total.eq(held[j] + Mux(first_k, 0, previous))
            totals.append(total)
        m.d.comb += [acc_write.addr.eq(held_pixel), acc_write.data.eq(Cat(*totals)),
                     acc_write.en.eq(held_valid & ~last_k)]
        # The last reduction fold: bias, requantize, send.
        out_valid = Signal()
        m.d.comb += self.outputs.valid.eq(out_valid)
        with m.If(self.outputs.ready):
            m.d.sync += out_valid.eq(0)
        config = _Requantization(cfg)
        with m.If(held_valid & last_k):
            words = []
            for j in range(cols):
                value = Signal(acc_width, name=f"ws_biased{j}")
                m.d.comb += value.eq(totals[j] + bias_shift[j][:acc_width].as_signed())
                quantized = _requantize(m, value.as_signed(), config, f"ws_q{j}")
                words.append(Mux(j < lanes, quantized, 0))
            m.d.sync += [out_valid.eq(1), self.outputs.payload.eq(Cat(*words))]
        with m.If(held_valid):
            m.d.sync += sums_left.eq(sums_left - 1)
        m.d.comb += drained.eq(sums_left == 0)
        return m


class _Requantization:
    """The requantization fields :func:`accel.conv_engine._requantize` reads."""

    def __init__(self, cfg: dict) -> None:
        self.multiplier, self.shift = cfg["multiplier"], cfg["shift"]
        self.zero_point, self.qmin, self.qmax = cfg["zero_point"], cfg["qmin"], cfg["qmax"]
