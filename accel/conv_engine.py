"""A convolution engine: line buffer + ping-pong weight buffer + output-stationary PE array.

One run (a *tile*) computes a whole int8 convolution of an ``height`` x ``width`` x
``channels`` input with ``filters`` k x k filters (k = 1..``max_kernel``), stride and zero
padding set at run time, accumulating in int32, adding each filter's int32 bias and
requantizing to int8 exactly as ``sim.golden.quant.requantize`` does.

Mapping (SCALE-Sim's output-stationary mapping of the im2col GEMM): the array's ``rows`` hold
``rows`` consecutive output pixels (raster order), its ``cols`` hold ``cols`` filters, and the
K = k * k * channels reduction streams through, one element per cycle. A *fold* is one such
block; it first reads its filters' biases (``bias_words`` words through the weight port, not
multiplied), then streams K elements. Unlike SCALE-Sim's fold (``K + rows + cols - 2`` cycles,
drained alone), the next fold starts the cycle after this one's last element: its fill overlaps
this fold's skewed drain. Each PE's sum is captured into one of two banks of result registers
in the one cycle between its last product and the next fold's first (PE (i, j) i + j cycles
after PE (0, 0)); the other bank gets its biases added, is requantized and sent meanwhile.
Folds therefore take K + ``bias_words`` cycles each (``compute_cycles`` counts them) and the
array finishes ``sim.mapping.overlapped_os_cycles`` (with K + ``bias_words`` words per fold)
cycles after the first fold started, the simulator's ``os-overlap`` model. A fold waits when
the bank its sums go to has not been sent yet.

Streams:
- ``activations``: one pixel per transfer, channel c in bits ``[8c, 8c + 8)``, row by row.
- ``weights``: words of ``cols`` int8 lanes, lane j = filter ``g * cols + j``; for each column
  fold g, ``bias_words`` words of biases (word b holds byte b of each lane's bias), then K
  words in im2col order (ky, kx, c); ``last`` on the final word of the tile. They go
  to a ping-pong buffer: the next tile's weights may load while this tile computes.
- ``outputs``: for each group of ``rows`` output pixels, for each column fold g, one word per
  pixel with ``cols`` int8 lanes (filters ``g * cols + j``; lanes past ``filters`` are 0).

Counters: ``cycles`` counts from the cycle after ``start`` to the last output accepted;
``compute_cycles`` counts the cycles of the folds (K + ``bias_words`` each).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from accel.array import SystolicArray
from accel.buffer import PingPongBuffer
from accel.checks import require_int
from accel.line_buffer import LineBuffer

COUNTER_BITS = 32


def layer_ports(max_kernel: int, max_stride: int, multiplier_width: int, acc_width: int
                ) -> dict[str, In]:
    """The layer inputs every conv engine and the layer engine take alike: kernel, stride,
    padding and the requantization (multiplier, shift, zero point, clamp)."""
    return {
        "kernel": In(range(max_kernel + 1)),
        "stride": In(range(max_stride + 1)),
        "padding": In(range(max_kernel)),
        "multiplier": In(unsigned(multiplier_width)),
        "shift": In(range(acc_width + multiplier_width)),
        "zero_point": In(signed(8)),
        "qmin": In(signed(8)),
        "qmax": In(signed(8)),
    }

class ConvEngine(wiring.Component):
    """``rows`` x ``cols`` int8 conv engine for inputs up to ``max_height`` x ``max_width`` x
    ``max_channels`` and k <= ``max_kernel``; ``weight_depth`` words per weight bank (at least
    ``ceil(filters / cols) * (k * k * channels + bias_words)`` for every layer it runs)."""

    def __init__(self, *, rows: int = 4, cols: int = 4, max_width: int = 16,
                 max_height: int = 16, max_channels: int = 8, max_kernel: int = 3,
                 max_stride: int = 2, weight_depth: int = 256, multiplier_width: int = 16,
                 acc_width: int = 32) -> None:
        for name, value, minimum in (
                ("Rows", rows, 1), ("Columns", cols, 1), ("Maximum width", max_width, 1),
                ("Maximum height", max_height, 1), ("Maximum channels", max_channels, 1),
                ("Maximum kernel", max_kernel, 1), ("Maximum stride", max_stride, 1),
                ("Weight depth", weight_depth, 1), ("Multiplier width", multiplier_width, 1),
                ("Accumulator width", acc_width, 16)):
            require_int(self, name, value, minimum)
        self.rows, self.cols = rows, cols
        self.max_width, self.max_height = max_width, max_height
        self.max_channels, self.max_kernel, self.max_stride = max_channels, max_kernel, max_stride
        self.weight_depth = weight_depth
        self.multiplier_width, self.acc_width = multiplier_width, acc_width
        super().__init__({
            "start": In(1),
            "height": In(range(max_height + 1)),
            "width": In(range(max_width + 1)),
            "channels": In(range(max_channels + 1)),
            "filters": In(range(weight_depth * cols + 1)),
            **layer_ports(max_kernel, max_stride, multiplier_width, acc_width),
            "busy": Out(1),
            "cycles": Out(COUNTER_BITS),
            "compute_cycles": Out(COUNTER_BITS),
            "activations": In(stream.Signature(unsigned(8 * max_channels))),
            "weights": In(stream.Signature(data.StructLayout({
                "data": unsigned(8 * cols), "last": unsigned(1)}))),
            "outputs": Out(stream.Signature(unsigned(8 * cols))),
        })

    def fold_cycles(self, k: int) -> int:
        """Cycles one fold of a K-long reduction takes: its bias words, then K weight words;
        its ``rows + cols - 2`` cycles of drain overlap the next fold."""
        return k + self.bias_words

    @property
    def bias_words(self) -> int:
        """Words per column fold that carry its filters' biases (one byte per lane each)."""
        return -(-self.acc_width // 8)

    def elaborate(self, platform) -> Module:
        m = Module()
        rows, cols, kmax = self.rows, self.cols, self.max_kernel
        m.submodules.lines = lines = LineBuffer(
            max_width=self.max_width, max_height=self.max_height, max_kernel=kmax,
            max_stride=self.max_stride, pixel_width=8 * self.max_channels)
        m.submodules.weight_buffer = weights = PingPongBuffer(
            depth=self.weight_depth, width=8 * cols)
        m.submodules.array = array = SystolicArray(rows=rows, cols=cols,
                                                   acc_width=self.acc_width)
        wiring.connect(m, wiring.flipped(self.activations), lines.pixels)
        wiring.connect(m, wiring.flipped(self.weights), weights.write)

        # Run-time configuration, latched by ``start``.
        config = _Config(self)
        busy = Signal()
        accepted = self.start & ~busy & ~lines.busy
        m.d.comb += [
            self.busy.eq(busy),
            lines.start.eq(accepted),
            lines.height.eq(self.height), lines.width.eq(self.width),
            lines.kernel.eq(self.kernel), lines.stride.eq(self.stride),
            lines.padding.eq(self.padding),
        ]
        with m.If(accepted):
            m.d.sync += config.latch(self)
            m.d.sync += busy.eq(1)

        # Window banks: two sets of ``rows`` windows; the loader fills one while folds use
        # the other.
        window_layout = data.ArrayLayout(unsigned(8 * self.max_channels), kmax * kmax)
        windows = [[Signal(window_layout, name=f"window{bank}_{slot}") for slot in range(rows)]
                   for bank in range(2)]
        bank_full = Signal(2)
        bank_count = [Signal(range(rows + 1), name=f"count{bank}") for bank in range(2)]
        load_bank, load_slot = Signal(), Signal(range(rows))
        frame_done = busy & ~lines.busy & ~lines.windows.valid
        set_full, clear_full = Signal(2), Signal(2)

        m.d.comb += lines.windows.ready.eq(busy & ~bank_full.bit_select(load_bank, 1))
        with m.If(lines.windows.valid & lines.windows.ready):
            for bank in range(2):
                for slot in range(rows):
                    with m.If((load_bank == bank) & (load_slot == slot)):
                        m.d.sync += windows[bank][slot].eq(lines.windows.payload)
            with m.If(load_slot == rows - 1):
                m.d.comb += set_full.eq(1 << load_bank)
                m.d.sync += [load_slot.eq(0), load_bank.eq(~load_bank)]
                for bank in range(2):
                    with m.If(load_bank == bank):
                        m.d.sync += bank_count[bank].eq(rows)
            with m.Else():
                m.d.sync += load_slot.eq(load_slot + 1)
        with m.Elif(frame_done & (load_slot != 0)):   # flush the last, partial group
            m.d.comb += set_full.eq(1 << load_bank)
            m.d.sync += [load_slot.eq(0), load_bank.eq(~load_bank)]
            for bank in range(2):
                with m.If(load_bank == bank):
                    m.d.sync += bank_count[bank].eq(load_slot)
        m.d.sync += bank_full.eq((bank_full | set_full) & ~clear_full)

        # Fold sequencing. A fold feeds its K-long reduction for K cycles; the next fold's
        # feed may begin in the very next cycle, while this fold's products still travel
        # through the skewed array (its drain overlaps the next fold's fill).
        compute_bank = Signal()
        fold_active = Signal()
        bias_words = self.bias_words
        fold_cycle = Signal(range(self.max_kernel ** 2 * self.max_channels + bias_words + 1))
        fold_end = fold_active & (fold_cycle == config.reduction + bias_words - 1)
        filter_base = Signal(range(self.weight_depth * cols + cols + 1))
        weight_base = Signal(range(2 * self.weight_depth + bias_words + 1))
        last_column_fold = filter_base + cols >= config.filters
        # A fold starting in the last cycle of another sees the state that fold leaves.
        switching = fold_end & last_column_fold
        next_bank = Mux(switching, ~compute_bank, compute_bank)
        next_filter_base = Mux(fold_end, Mux(last_column_fold, 0, filter_base + cols),
                               filter_base)
        bank_ready = bank_full.bit_select(next_bank, 1)

        # Result banks: two sets of rows x cols holding registers. A finished fold's sums are
        # captured into one (PE (i, j) one cycle per diagonal later than PE (0, 0), just
        # before the next fold's first product overwrites its accumulator) while the other
        # is requantized and sent.
        chain_length = rows + cols - 1
        results = [[[Signal(signed(self.acc_width), name=f"result{b}_{i}_{j}")
                     for j in range(cols)] for i in range(rows)] for b in range(2)]
        held = [Signal(range(rows + 1), name=f"held{b}") for b in range(2)]
        capturing = Signal(2)
        held_lanes = [Signal(range(cols + 1), name=f"held_lanes{b}") for b in range(2)]
        held_bias = [[Signal(signed(self.acc_width), name=f"held_bias{b}_{j}")
                      for j in range(cols)] for b in range(2)]
        result_free = [(held[b] == 0) & ~capturing[b] for b in range(2)]
        fold_result_bank = Signal()          # the result bank of the fold being fed
        pending = Signal()                   # a fed fold whose sums are not yet captured
        pending_bank = Signal()
        fire = pending & Mux(pending_bank, result_free[1], result_free[0])
        ending_free = Mux(fold_result_bank, result_free[1], result_free[0])
        free_to_start = (Mux(fold_active, fold_end & ending_free, 1)
                         & (~pending | fire))
        start_fold = busy & bank_ready & weights.read_ready & free_to_start

        fold_rows = Signal(range(rows + 1))
        fold_lanes = Signal(range(cols + 1))
        pending_rows = Signal.like(fold_rows)
        pending_lanes = Signal.like(fold_lanes)
        # Biases: word b of a fold (read in its cycle b) is on the read data in cycle b + 1 and
        # shifted in from the top, so after the last one lane j holds its bias.
        bias_bits = 8 * bias_words
        bias_shift = [Signal(bias_bits, name=f"bias_shift{j}") for j in range(cols)]
        bias_next = [Signal(bias_bits, name=f"bias_next{j}") for j in range(cols)]
        pending_bias = [Signal(signed(self.acc_width), name=f"pending_bias{j}")
                        for j in range(cols)]
        shifting = fold_active & (fold_cycle >= 1) & (fold_cycle <= bias_words)
        for j in range(cols):
            byte = weights.read_data.word_select(j, 8)
            m.d.comb += bias_next[j].eq(Mux(shifting, Cat(bias_shift[j][8:], byte),
                                            bias_shift[j]))
            m.d.sync += bias_shift[j].eq(bias_next[j])
        with m.If(fold_end):
            m.d.sync += [pending.eq(1), pending_bank.eq(fold_result_bank),
                         pending_rows.eq(fold_rows), pending_lanes.eq(fold_lanes),
                         fold_result_bank.eq(~fold_result_bank)]
            m.d.sync += [pending_bias[j].eq(bias_next[j][:self.acc_width])
                         for j in range(cols)]
        with m.Elif(fire):
            m.d.sync += pending.eq(0)

        with m.If(start_fold):
            remaining = config.filters - next_filter_base
            m.d.sync += [
                fold_active.eq(1), fold_cycle.eq(0),
                fold_rows.eq(Mux(next_bank, bank_count[1], bank_count[0])),
                fold_lanes.eq(Mux(remaining > cols, cols, remaining)),
            ]
        with m.Elif(fold_end):
            m.d.sync += fold_active.eq(0)
        with m.Elif(fold_active):
            m.d.sync += fold_cycle.eq(fold_cycle + 1)

        # After a fold's feed: the next column fold, or the next group of pixels.
        with m.If(fold_end):
            with m.If(last_column_fold):
                m.d.comb += clear_full.eq(1 << compute_bank)
                m.d.sync += [compute_bank.eq(~compute_bank), filter_base.eq(0),
                             weight_base.eq(0)]
            with m.Else():
                m.d.sync += [filter_base.eq(filter_base + cols),
                             weight_base.eq(weight_base + config.reduction + bias_words)]

        # Feed: the fold's bias words (read, not multiplied), then element t of the reduction
        # for every row with weight word bias_words + t.
        feeding = fold_active & (fold_cycle >= bias_words)
        channel = Signal(range(self.max_channels))
        column = Signal(range(kmax))
        pixel = Signal(range(kmax * kmax))
        with m.If(start_fold):
            m.d.sync += [channel.eq(0), column.eq(0), pixel.eq(config.first_pixel)]
        with m.Elif(feeding):
            with m.If(channel == config.channels - 1):
                m.d.sync += channel.eq(0)
                with m.If(column == config.kernel - 1):
                    m.d.sync += [column.eq(0), pixel.eq(pixel + config.row_step)]
                with m.Else():
                    m.d.sync += [column.eq(column + 1), pixel.eq(pixel + 1)]
            with m.Else():
                m.d.sync += channel.eq(channel + 1)
        m.d.comb += weights.read_addr.eq(weight_base + fold_cycle)

        a_now = [Signal(signed(8), name=f"a{i}") for i in range(rows)]
        for i in range(rows):
            pixel_word = Mux(compute_bank, windows[1][i][pixel], windows[0][i][pixel])
            m.d.comb += a_now[i].eq(pixel_word.word_select(channel, 8))
        # One register stage lines the operands up with the synchronous weight read, then
        # row i is delayed i more cycles and column j j more cycles (the systolic skew).
        for i in range(rows):
            a, valid, first = _delayed(m, i + 1, f"row{i}", a_now[i],
                                       feeding & (i < fold_rows),
                                       feeding & (fold_cycle == bias_words))
            m.d.comb += [array.a_in[i].eq(a), array.valid_in[i].eq(valid),
                         array.first_in[i].eq(first)]
        for j in range(cols):
            b = _delay(m, j, f"col{j}", weights.read_data.word_select(j, 8).as_signed())
            m.d.comb += array.b_in[j].eq(b)

        # Capture: ``fire`` in cycle t (no earlier than the cycle after the fold's last feed
        # cycle, no later than the next fold's first) reaches PE (i, j) at t + 1 + i + j, the
        # cycle its accumulator holds the final sum (its last product arrived at feed cycle
        # K - 1 + 1 + i + j) and before the next fold's first product (feed cycle >= K).
        chain = [Signal(2, name=f"capture_d{stage}") for stage in range(chain_length + 1)]
        m.d.comb += chain[0].eq(Mux(fire, Mux(pending_bank, 0b10, 0b01), 0))
        for stage in range(chain_length):
            m.d.sync += chain[stage + 1].eq(chain[stage])
        for b in range(2):
            for i in range(rows):
                for j in range(cols):
                    with m.If(chain[1 + i + j][b]):
                        m.d.sync += results[b][i][j].eq(array.acc[i * cols + j])
        set_capturing = Signal(2)
        done_capturing = chain[chain_length]
        capture_rows = [Signal.like(fold_rows, name=f"capture_rows{b}") for b in range(2)]
        with m.If(fire):
            m.d.comb += set_capturing.eq(Mux(pending_bank, 0b10, 0b01))
            for b in range(2):
                with m.If(pending_bank == b):
                    m.d.sync += [capture_rows[b].eq(pending_rows),
                                 held_lanes[b].eq(pending_lanes)]
                    m.d.sync += [held_bias[b][j].eq(pending_bias[j]) for j in range(cols)]
        m.d.sync += capturing.eq((capturing | set_capturing) & ~done_capturing)

        # Send: requantize and send one word (one pixel, ``cols`` filters) per transfer, bank
        # after bank in fold order.
        send_bank = Signal()
        out_index = Signal(range(rows))
        out_valid = Signal()
        room = ~out_valid | self.outputs.ready
        sending_held = Mux(send_bank, held[1], held[0])
        send = room & (sending_held != 0) & ~Mux(send_bank, done_capturing[1],
                                                 done_capturing[0])
        m.d.comb += self.outputs.valid.eq(out_valid)
        with m.If(self.outputs.ready):
            m.d.sync += out_valid.eq(0)
        for b in range(2):
            with m.If(done_capturing[b]):
                m.d.sync += held[b].eq(capture_rows[b])
        with m.If(send):
            words = []
            lanes = Mux(send_bank, held_lanes[1], held_lanes[0])
            for j in range(cols):
                value = Signal(self.acc_width, name=f"selected{j}")
                m.d.comb += value.eq(Mux(send_bank, _select(results[1], out_index, j)
                                         + held_bias[1][j],
                                         _select(results[0], out_index, j) + held_bias[0][j]))
                quantized = _requantize(m, value.as_signed(), config, f"q{j}")
                words.append(Mux(j < lanes, quantized, 0))
            m.d.sync += [out_valid.eq(1), self.outputs.payload.eq(Cat(*words))]
            with m.If(sending_held == 1):
                m.d.sync += [out_index.eq(0), send_bank.eq(~send_bank)]
            with m.Else():
                m.d.sync += out_index.eq(out_index + 1)
            for b in range(2):
                with m.If(send_bank == b):
                    m.d.sync += held[b].eq(held[b] - 1)

        # End of the tile: every window used, every fold captured and sent.
        tile_done = (busy & frame_done & (load_slot == 0) & (bank_full == 0) & ~fold_active
                     & ~pending & (capturing == 0) & (held[0] == 0) & (held[1] == 0)
                     & (~out_valid | self.outputs.ready))
        m.d.comb += weights.read_done.eq(tile_done)
        with m.If(tile_done):
            m.d.sync += [busy.eq(0), send_bank.eq(0), out_index.eq(0),
                         fold_result_bank.eq(0)]

        cycles, compute_cycles = Signal(COUNTER_BITS), Signal(COUNTER_BITS)
        m.d.comb += [self.cycles.eq(cycles), self.compute_cycles.eq(compute_cycles)]
        with m.If(accepted):
            m.d.sync += [cycles.eq(0), compute_cycles.eq(0)]
        with m.Elif(busy):
            m.d.sync += cycles.eq(cycles + 1)
            with m.If(fold_active):
                m.d.sync += compute_cycles.eq(compute_cycles + 1)
        return m


class _Config:
    """Registers holding one tile's configuration and the values derived from it."""

    def __init__(self, engine: ConvEngine) -> None:
        kmax = engine.max_kernel
        max_reduction = kmax * kmax * engine.max_channels
        self.channels = Signal.like(engine.channels, name="cfg_channels")
        self.filters = Signal.like(engine.filters, name="cfg_filters")
        self.kernel = Signal.like(engine.kernel, name="cfg_kernel")
        self.multiplier = Signal.like(engine.multiplier, name="cfg_multiplier")
        self.shift = Signal.like(engine.shift, name="cfg_shift")
        self.zero_point = Signal.like(engine.zero_point, name="cfg_zero_point")
        self.qmin = Signal.like(engine.qmin, name="cfg_qmin")
        self.qmax = Signal.like(engine.qmax, name="cfg_qmax")
        self.reduction = Signal(range(max_reduction + 1), name="cfg_reduction")
        self.first_pixel = Signal(range(kmax * kmax), name="cfg_first_pixel")
        self.row_step = Signal(range(kmax + 1), name="cfg_row_step")
        self._kmax = kmax

    def latch(self, ports: ConvEngine) -> list:
        """Statements that load the registers from the engine's input ports."""
        kmax = self._kmax
        reduction = ports.kernel * ports.kernel * ports.channels
        offset = kmax - ports.kernel
        return [
            self.channels.eq(ports.channels), self.filters.eq(ports.filters),
            self.kernel.eq(ports.kernel), self.multiplier.eq(ports.multiplier),
            self.shift.eq(ports.shift), self.zero_point.eq(ports.zero_point),
            self.qmin.eq(ports.qmin), self.qmax.eq(ports.qmax),
            self.reduction.eq(reduction),
            self.first_pixel.eq(offset * kmax + offset),
            self.row_step.eq(offset + 1),
        ]


def _delay(m: Module, cycles: int, name: str, value):
    """``value`` delayed by ``cycles`` registers."""
    for stage in range(cycles):
        register = Signal.like(value, name=f"{name}_d{stage}")
        m.d.sync += register.eq(value)
        value = register
    return value


def _delayed(m: Module, cycles: int, name: str, *values):
    return [_delay(m, cycles, f"{name}_{index}", value) for index, value in enumerate(values)]


def _select(results, row, column: int):
    """``results[row][column]`` for a run-time ``row``."""
    value = results[0][column]
    for i in range(1, len(results)):
        value = Mux(row == i, results[i][column], value)
    return value


def _requantize(m: Module, acc, config: _Config, name: str):
    """``clip(((acc * multiplier + 2**(shift - 1)) >> shift) + zero_point, qmin, qmax)``."""
    product = Signal(signed(len(acc) + len(config.multiplier) + 2), name=f"{name}_product")
    rounding = (Const(1, 1) << config.shift) >> 1
    m.d.comb += product.eq(acc * config.multiplier + rounding)
    scaled = Signal(signed(len(product) + 1), name=f"{name}_scaled")
    m.d.comb += scaled.eq((product >> config.shift) + config.zero_point)
    clipped = Signal(signed(8), name=f"{name}_clipped")
    with m.If(scaled < config.qmin):
        m.d.comb += clipped.eq(config.qmin)
    with m.Elif(scaled > config.qmax):
        m.d.comb += clipped.eq(config.qmax)
    with m.Else():
        m.d.comb += clipped.eq(scaled)
    return clipped.as_unsigned()
