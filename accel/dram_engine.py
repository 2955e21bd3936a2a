"""A conv engine that runs a whole layer from DRAM: it takes a layer descriptor, fetches the
input and the weights itself through a memory port and writes the outputs back.

The layer is cut as the simulator's layer tiles are (``sim.techniques.layer_tiles``): the
output rows into bands of ``band_rows`` rows and the filters into blocks of ``block_filters``
(the descriptor carries both; ``sim.rtl_schedule.engine_tiling`` chooses them from the
engine's memories). A *tile* is one (band, block), in band-major order. Three processes run
side by side, each walking the tiles in order (``sim.rtl_schedule`` predicts them with the
simulator's tile pipeline):

1. **Loader**, one read request at a time: for the first block of a band, the band's input
   rows, halo included (the rows it shares with the previous band are fetched again), into
   the ifmap tile memory, once every earlier tile has computed (single tile memory) or all
   but the previous one (``double_input``: two tile memories, the band loads into the one the
   previous band does not use while the array computes); then, without waiting for anything,
   the block's weights into the conv engine's ping-pong weight buffer. A block without an
   input load waits until every tile but the previous one has computed: its weights load into
   the free bank while the previous block computes.
   Order with the store (so that the memory sees every request in time order): a read the
   loader takes up goes out once every tile computed by then is stored (``hold_*`` states
   until ``stored == target``); a store of a tile computed later waits for that request, and
   no store starts while a band's input and the weights after it load (``transaction``).
2. **Compute**, once the tile's loads are in, the previous tile has computed and the output
   tile memory it writes is free (every earlier tile stored; with ``double_output`` all but
   the previous one: the array fills one output tile memory while the store drains the
   other): the :class:`accel.conv_engine.ConvEngine` starts and the tile memory streams the
   padded band (zeros generated for the padding) into its line buffer at one position per
   cycle; output words go into the ofmap tile memory.
3. **Store**, once the tile has computed (and the loader's order lets it): with one filter
   block, one write request for the band's outputs; with several, one write request per output
   pixel (its channel slice), as the simulator stores block by block. Then every
   acknowledgement.

Bands alternate between the two input tile memories and tiles between the two output tile
memories when they are double; each pair is one :class:`amaranth.lib.memory.Memory` of twice
the depth, the bank the high half.

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

``cycles`` counts from the cycle after ``start`` to the cycle after the last write
acknowledgement is taken (the one the store process sees it complete in).
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.checks import require_int
from accel.conv_engine import COUNTER_BITS, ConvEngine, layer_ports
from accel.memory_reader import QUEUE_DEPTH, MemoryStreamReader, PaddedTileReader
from accel.ws_engine import WsConvEngine

ADDRESS_BITS = 32


def request_layout(max_beats: int) -> data.StructLayout:
    return data.StructLayout({"address": unsigned(ADDRESS_BITS),
                              "beats": unsigned(max(1, max_beats.bit_length()))})


MAX_LAYER_EDGE = 4095   # layer height (any, in bands) and width (within a band's line)


class DramConvEngine(wiring.Component):
    """A :class:`ConvEngine` (same sizes) with an ifmap tile memory of ``input_depth`` pixels
    and an ofmap tile memory of ``output_depth`` words of ``cols`` int8 lanes (two of each when
    ``double_input`` / ``double_output``; os only), behind a memory port of ``8 * cols``-bit
    beats. ``max_channels`` must be a multiple of ``cols``.

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
                 acc_width: int = 32, input_depth: int = 256, output_depth: int = 512,
                 dataflow: str = "os", accumulator_depth: int = 0,
                 double_input: bool = False, double_output: bool = False) -> None:
        require_int(self, "Input depth", input_depth, 1)
        require_int(self, "Output depth", output_depth, 1)
        require_int(self, "Columns", cols, 1)
        require_int(self, "Maximum channels", max_channels, 1)
        if max_channels % cols:
            self._MustUse__silence = True
            raise ValueError(f"Maximum channels must be a multiple of the columns ({cols}), "
                             f"not {max_channels}")
        if dataflow not in ("os", "ws"):
            self._MustUse__silence = True
            raise ValueError(f"Dataflow must be os or ws, not {dataflow!r}")
        if dataflow == "ws" and (double_input or double_output):
            self._MustUse__silence = True
            raise ValueError("Double-buffered tile memories are built for the os dataflow "
                             "only")
        self.double_input, self.double_output = bool(double_input), bool(double_output)
        self.dataflow = dataflow
        self.engine: ConvEngine | WsConvEngine
        if dataflow == "os":
            self.engine = ConvEngine(rows=rows, cols=cols, max_width=max_width,
                                     max_height=max_height, max_channels=max_channels,
                                     max_kernel=max_kernel, max_stride=max_stride,
                                     weight_depth=weight_depth,
                                     multiplier_width=multiplier_width, acc_width=acc_width)
        else:
            require_int(self, "Accumulator depth", accumulator_depth, 1)
            self.engine = WsConvEngine(rows=rows, cols=cols, max_width=max_width,
                                       max_channels=max_channels, max_kernel=max_kernel,
                                       max_stride=max_stride, weight_depth=weight_depth,
                                       multiplier_width=multiplier_width, acc_width=acc_width,
                                       input_depth=input_depth,
                                       accumulator_depth=accumulator_depth)
        self.accumulator_depth = accumulator_depth
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
            **layer_ports(max_kernel, max_stride, multiplier_width, acc_width),
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
        # Double-buffered tile memories need the loader's order with the stores (below); with
        # single ones nothing computes while a read waits, and the engine is built as before.
        pipelined = self.double_input or self.double_output
        input_banks = 2 if self.double_input else 1
        output_banks = 2 if self.double_output else 1
        m.submodules.inputs = inputs = Memory(shape=unsigned(pixel_bits),
                                              depth=input_banks * self.input_depth, init=[])
        m.submodules.outputs = outputs = Memory(shape=unsigned(self.port_bits),
                                                depth=output_banks * self.output_depth,
                                                init=[])
        input_write = inputs.write_port()
        output_write = outputs.write_port()
        ws = self.dataflow == "ws"
        if not ws:
            m.submodules.pixel_reader = pixel_reader = PaddedTileReader(
                width=pixel_bits, depth=self.input_depth, max_rows=self.max_height,
                max_width=self.max_width, max_padding=kmax - 1)
        m.submodules.output_reader = output_reader = MemoryStreamReader(
            width=self.port_bits, depth=output_banks * self.output_depth)
        pixel_port = inputs.read_port(domain="sync")
        output_port = outputs.read_port(domain="sync")
        if ws:
            m.d.comb += [pixel_port.addr.eq(engine.pixel_addr),
                         pixel_port.en.eq(engine.pixel_en),
                         engine.pixel_data.eq(pixel_port.data)]
        else:
            if pipelined:   # the address gets its bank below
                m.d.comb += [pixel_port.en.eq(pixel_reader.en),
                             pixel_reader.data.eq(pixel_port.data)]
            else:
                m.d.comb += [pixel_port.addr.eq(pixel_reader.addr),
                             pixel_port.en.eq(pixel_reader.en),
                             pixel_reader.data.eq(pixel_port.data)]
        m.d.comb += [output_port.addr.eq(output_reader.addr),
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

        busy = Signal()
        cycles = Signal(COUNTER_BITS)
        m.d.comb += [self.busy.eq(busy), self.cycles.eq(cycles)]
        with m.If(self.start & ~busy):
            m.d.sync += cycles.eq(0)
        with m.Elif(busy):
            m.d.sync += cycles.eq(cycles + 1)

        # Tiles run in (band, block) order; ``loaded``, ``computed`` and ``stored`` count the
        # tiles whose loads, compute and stores are done.
        tile_bits = COUNTER_BITS
        loaded = Signal(tile_bits)
        computed = Signal(tile_bits)
        stored = Signal(tile_bits)
        running = Signal()      # the layer's sizes have settled
        several_blocks = cfg["block_filters"] < cfg["filters"]
        row_bytes = cfg["width"] * pixel_bytes
        pixel_out_bytes = folds * cols

        # --- Loader: for each tile, its band's input (first block of a band) and its block's
        # weights, one request at a time. A tile with an input load waits until every earlier
        # tile has computed (the input tile memory is single); one with weights only until
        # all but the previous one have (the weight buffer is a ping-pong pair).
        load = _TileWalk(m, "load", cfg, out_height, out_width, cols, self, pipelined)
        load_beats = Signal(range(max(self.input_depth * n, self.weight_depth) + 1))
        beats_seen = Signal.like(load_beats)
        assembling = Signal(pixel_bits)
        beat_in_pixel = Signal(range(max(2, n)))
        pixel_index = Signal(range(self.input_depth + 1))
        weights_pending = Signal()       # the tile's input is in: its weights come next
        load_finished = Signal()
        first_block = load.block_start == 0
        # Double-buffered: a read goes out once every tile computed when the loader took it up
        # is stored (``stored == target``); stores of tiles computed later wait for it
        # (``loader_holds``), and every store waits while a band's input and the weights
        # after it load (``transaction``), so the memory sees each request in time order.
        # Single-buffered: a read waits until every computed tile is stored (nothing computes
        # meanwhile, so this is the same order).
        no_store = stored == computed
        target = Signal(tile_bits)
        transaction = Signal()
        with m.FSM(name="loader") as loader:
            with m.State("wait"):
                with m.If(running & ~load_finished):
                    if pipelined:
                        input_free = (computed + 1 >= loaded) if self.double_input \
                            else (computed == loaded)
                        input_ready = first_block & ~weights_pending & input_free
                        weights_ready = ~first_block & (computed + 1 >= loaded)
                        with m.If(weights_pending):
                            m.next = "request_weights"
                        with m.Elif(input_ready):
                            m.d.sync += target.eq(computed)
                            with m.If(no_store):
                                m.d.sync += transaction.eq(1)
                                m.next = "request_input"
                            with m.Else():
                                m.next = "hold_input"
                        with m.Elif(weights_ready):
                            m.d.sync += target.eq(computed)
                            with m.If(no_store):
                                m.next = "request_weights"
                            with m.Else():
                                m.next = "hold_weights"
                    else:
                        input_ready = (first_block & ~weights_pending & (computed == loaded)
                                       & no_store)
                        weights_ready = ((weights_pending | ~first_block)
                                         & (computed + 1 >= loaded) & no_store)
                        with m.If(input_ready):
                            m.next = "request_input"
                        with m.Elif(weights_ready):
                            m.next = "request_weights"
            if pipelined:
                with m.State("hold_input"):
                    with m.If(stored == target):
                        m.d.sync += transaction.eq(1)
                        m.next = "request_input"
                with m.State("hold_weights"):
                    with m.If(stored == target):
                        m.next = "request_weights"
            with m.State("request_input"):
                beats = (load.row_hi - load.row_lo) * cfg["width"] * n
                m.d.comb += [self.read_request.valid.eq(1),
                             self.read_request.payload.address.eq(
                                 cfg["input_address"] + load.row_lo * row_bytes),
                             self.read_request.payload.beats.eq(beats)]
                with m.If(self.read_request.ready):
                    m.d.sync += [beats_seen.eq(0), pixel_index.eq(0), beat_in_pixel.eq(0),
                                 load_beats.eq(beats)]
                    m.next = "load_input"
            with m.State("load_input"):
                word = Cat(assembling[self.port_bits:], self.read_data.payload) \
                    if n > 1 else self.read_data.payload
                m.d.comb += [self.read_data.ready.eq(1),
                             input_write.addr.eq(_in_bank(pixel_index, load.band_parity,
                                                          self.input_depth,
                                                          self.double_input)),
                             input_write.data.eq(word)]
                with m.If(self.read_data.valid):
                    m.d.sync += [assembling.eq(word), beats_seen.eq(beats_seen + 1)]
                    with m.If(beat_in_pixel == n - 1):
                        m.d.comb += input_write.en.eq(1)
                        m.d.sync += [beat_in_pixel.eq(0), pixel_index.eq(pixel_index + 1)]
                    with m.Else():
                        m.d.sync += beat_in_pixel.eq(beat_in_pixel + 1)
                    with m.If(beats_seen == load_beats - 1):
                        m.d.sync += weights_pending.eq(1)
                        m.next = "wait"
            with m.State("request_weights"):
                words = load.block_folds_now * (reduction + bias_words)
                m.d.comb += [self.read_request.valid.eq(1),
                             self.read_request.payload.address.eq(
                                 cfg["weight_address"]
                                 + load.fold_start * (reduction + bias_words) * cols),
                             self.read_request.payload.beats.eq(words)]
                with m.If(self.read_request.ready):
                    m.d.sync += [beats_seen.eq(0), load_beats.eq(words)]
                    m.next = "load_weights"
            with m.State("load_weights"):
                m.d.comb += [
                    engine.weights.valid.eq(self.read_data.valid),
                    engine.weights.payload.data.eq(self.read_data.payload),
                    engine.weights.payload.last.eq(beats_seen == load_beats - 1),
                    self.read_data.ready.eq(engine.weights.ready),
                ]
                with m.If(self.read_data.valid & engine.weights.ready):
                    m.d.sync += beats_seen.eq(beats_seen + 1)
                    with m.If(beats_seen == load_beats - 1):
                        m.d.sync += [weights_pending.eq(0), loaded.eq(loaded + 1),
                                     load_finished.eq(load.last_tile)]
                        if pipelined:
                            m.d.sync += transaction.eq(0)
                        m.d.sync += load.advance()
                        m.next = "wait"

        # --- Compute: a tile starts once its loads are in, the previous tile has computed and
        # the output tile memory it writes is free: every earlier tile stored (single), or all
        # but the previous one (double: the store drains one bank while the array fills the
        # other).
        comp = _TileWalk(m, "compute", cfg, out_height, out_width, cols, self, pipelined)
        compute_finished = Signal()
        word_range = range(self.output_depth + rows * self.weight_depth + 1)
        group_base = Signal(word_range)
        fold_base = Signal(word_range)
        word_address = Signal(word_range)
        group_start = Signal.like(comp.band_pixels_now)
        fold_index = Signal.like(comp.block_folds_now)
        in_group = Signal(range(rows + 1))
        group_size = Mux(comp.band_pixels_now - group_start < rows,
                         comp.band_pixels_now - group_start, rows)
        if ws:
            m.d.comb += [engine.out_rows.eq(comp.count), engine.out_width.eq(out_width),
                         engine.first_row.eq(comp.first_now), engine.row_lo.eq(comp.row_lo),
                         engine.height.eq(cfg["height"]), engine.width.eq(cfg["width"]),
                         engine.padding.eq(cfg["padding"]), engine.filters.eq(comp.block_now)]
        else:
            m.d.comb += [engine.height.eq(comp.padded_rows_now),
                         engine.width.eq(cfg["width"] + 2 * cfg["padding"]),
                         engine.padding.eq(0), engine.filters.eq(comp.block_now),
                         pixel_reader.first_row.eq(comp.first_now),
                         pixel_reader.rows.eq(comp.padded_rows_now),
                         pixel_reader.height.eq(cfg["height"]),
                         pixel_reader.width.eq(cfg["width"]),
                         pixel_reader.padding.eq(cfg["padding"])]
        with m.FSM(name="computer"):
            with m.State("wait"):
                output_free = (stored + 1 >= computed) if self.double_output \
                    else (stored == computed)
                with m.If(running & ~compute_finished & (loaded != computed) & output_free):
                    m.d.comb += engine.start.eq(1)
                    if not ws:
                        m.d.comb += pixel_reader.start.eq(1)
                    m.d.sync += [group_base.eq(0), fold_base.eq(0), word_address.eq(0),
                                 group_start.eq(0), fold_index.eq(0), in_group.eq(0)]
                    m.next = "compute"
            with m.State("compute"):
                m.d.comb += [
                    engine.outputs.ready.eq(1),
                    output_write.addr.eq(_in_bank(word_address, comp.tile_parity,
                                                  self.output_depth, self.double_output)),
                    output_write.data.eq(engine.outputs.payload),
                    output_write.en.eq(engine.outputs.valid),
                ]
                if ws:      # outputs fold by fold, each in pixel order
                    with m.If(engine.outputs.valid):
                        with m.If(group_start == comp.band_pixels_now - 1):
                            m.d.sync += [group_start.eq(0), fold_base.eq(fold_base + 1),
                                         word_address.eq(fold_base + 1)]
                        with m.Else():
                            m.d.sync += [group_start.eq(group_start + 1),
                                         word_address.eq(word_address
                                                         + comp.block_folds_now)]
                with m.If(engine.outputs.valid if not ws else Const(0, 1)):
                    with m.If(in_group == group_size - 1):
                        m.d.sync += in_group.eq(0)
                        with m.If(fold_index == comp.block_folds_now - 1):
                            next_group = group_base + rows * comp.block_folds_now
                            m.d.sync += [fold_index.eq(0), group_base.eq(next_group),
                                         fold_base.eq(next_group), word_address.eq(next_group),
                                         group_start.eq(group_start + rows)]
                        with m.Else():
                            m.d.sync += [fold_index.eq(fold_index + 1),
                                         fold_base.eq(fold_base + 1),
                                         word_address.eq(fold_base + 1)]
                    with m.Else():
                        m.d.sync += [in_group.eq(in_group + 1),
                                     word_address.eq(word_address + comp.block_folds_now)]
                with m.If(~engine.busy):
                    m.d.sync += [computed.eq(computed + 1),
                                 compute_finished.eq(comp.last_tile)]
                    m.d.sync += comp.advance()
                    m.next = "wait"

        # --- Store: a computed tile's outputs, the whole band in one request with one filter
        # block, one request per pixel (its channel slice) with several; then every
        # acknowledgement.
        store = _TileWalk(m, "store", cfg, out_height, out_width, cols, self, pipelined)
        output_words = store.band_pixels_now * store.block_folds_now
        requests = Mux(several_blocks, store.band_pixels_now, 1)
        sent = Signal.like(word_address)
        issued = Signal.like(group_start)
        acknowledged = Signal.like(group_start)
        request_pixel = Signal(range(edge * edge + 1))   # layer pixel of the next request
        with m.FSM(name="storer"):
            with m.State("wait"):
                store_allowed = computed != stored
                if pipelined:
                    loader_holds = ((loader.ongoing("hold_input")
                                     | loader.ongoing("hold_weights")) & (stored == target))
                    store_allowed = store_allowed & ~transaction & ~loader_holds
                with m.If(store_allowed):
                    m.d.comb += [output_reader.start.eq(1),
                                 output_reader.base.eq(_in_bank(
                                     0, store.tile_parity, self.output_depth,
                                     self.double_output)),
                                 output_reader.count.eq(output_words)]
                    m.d.sync += [sent.eq(0), issued.eq(0), acknowledged.eq(0),
                                 request_pixel.eq(store.band_start * out_width)]
                    m.next = "send"
            with m.State("send"):
                address = cfg["output_address"] + request_pixel * pixel_out_bytes \
                    + store.fold_start * cols
                m.d.comb += [self.write_request.valid.eq(issued != requests),
                             self.write_request.payload.address.eq(address),
                             self.write_request.payload.beats.eq(
                                 Mux(several_blocks, store.block_folds_now, output_words))]
                with m.If(self.write_request.valid & self.write_request.ready):
                    m.d.sync += [issued.eq(issued + 1), request_pixel.eq(request_pixel + 1)]
                m.d.comb += self.write_ack.ready.eq(1)
                with m.If(self.write_ack.valid):
                    m.d.sync += acknowledged.eq(acknowledged + 1)
                with m.If((issued == requests) & (sent == output_words)
                          & (acknowledged == requests)):
                    m.d.sync += stored.eq(stored + 1)
                    m.d.sync += store.advance()
                    with m.If(store.last_tile):
                        m.d.sync += busy.eq(0)
                    m.next = "wait"

        # The output words leave as soon as the reader has them (also while their write
        # request waits: the memory takes requests and data independently).
        m.d.comb += [self.write_data.valid.eq(output_reader.words.valid),
                     self.write_data.payload.eq(output_reader.words.payload),
                     output_reader.words.ready.eq(self.write_data.ready)]
        with m.If(self.write_data.valid & self.write_data.ready):
            m.d.sync += sent.eq(sent + 1)
        if not ws and pipelined:
            m.d.comb += pixel_port.addr.eq(_in_bank(pixel_reader.addr, comp.band_parity,
                                                    self.input_depth, self.double_input))
        if not ws:
            m.d.comb += [engine.activations.valid.eq(pixel_reader.words.valid),
                         engine.activations.payload.eq(pixel_reader.words.payload),
                         pixel_reader.words.ready.eq(engine.activations.ready)]

        # The descriptor, latched by ``start``; the sizes settle in the next cycle, and the
        # three processes begin in the one after.
        with m.If(self.start & ~busy):
            m.d.sync += [cfg[name].eq(getattr(self, name)) for name in names]
            m.d.sync += [busy.eq(1), running.eq(0), loaded.eq(0), computed.eq(0),
                         stored.eq(0), load_finished.eq(0), compute_finished.eq(0),
                         weights_pending.eq(0)]
            if pipelined:
                m.d.sync += transaction.eq(0)
            m.d.sync += [*load.reset(), *comp.reset(), *store.reset()]
        with m.Elif(busy & ~running):
            m.d.sync += running.eq(1)
        with m.If(~busy):
            m.d.sync += running.eq(0)
        return m


class _TileWalk:
    """One process's position in the (band, block) order of tiles and that tile's geometry
    (combinational from the registered band and block starts)."""

    def __init__(self, m: Module, name: str, cfg: dict, out_height, out_width, cols: int,
                 engine: DramConvEngine, banked: bool) -> None:
        self.banked = banked
        edge = MAX_LAYER_EDGE + 2 * engine.max_kernel
        self.band_start = Signal(range(edge), name=f"{name}_band_start")
        self.block_start = Signal(range(MAX_LAYER_EDGE + 1), name=f"{name}_block_start")
        self.fold_start = Signal(range(MAX_LAYER_EDGE + 1), name=f"{name}_fold_start")
        remaining_rows = out_height - self.band_start
        count = Signal(range(engine.max_height + 1), name=f"{name}_band_count")
        m.d.comb += count.eq(Mux(remaining_rows < cfg["band_rows"], remaining_rows,
                                 cfg["band_rows"]))
        self.first_now = Signal(signed(len(self.band_start) + 4), name=f"{name}_first_row")
        m.d.comb += self.first_now.eq(self.band_start * cfg["stride"] - cfg["padding"])
        self.padded_rows_now = Signal(range(engine.max_height * engine.max_stride
                                            + engine.max_kernel + 1),
                                      name=f"{name}_padded_rows")
        m.d.comb += self.padded_rows_now.eq((count - 1) * cfg["stride"] + cfg["kernel"])
        first, rows = self.first_now, self.padded_rows_now
        self.row_lo = Signal(range(MAX_LAYER_EDGE + 1), name=f"{name}_row_lo")
        self.row_hi = Signal(range(MAX_LAYER_EDGE + 1), name=f"{name}_row_hi")
        m.d.comb += [self.row_lo.eq(Mux(first < 0, 0, first)),
                     self.row_hi.eq(Mux(first + rows > cfg["height"], cfg["height"],
                                        first + rows))]
        self.band_pixels_now = Signal(range(engine.max_height * edge + 1),
                                      name=f"{name}_band_pixels")
        m.d.comb += self.band_pixels_now.eq(count * out_width)
        remaining_filters = cfg["filters"] - self.block_start
        self.block_now = Signal(range(engine.weight_depth * cols + 1), name=f"{name}_block")
        m.d.comb += self.block_now.eq(Mux(remaining_filters < cfg["block_filters"],
                                          remaining_filters, cfg["block_filters"]))
        self.block_folds_now = Signal(range(engine.weight_depth + 1), name=f"{name}_folds")
        m.d.comb += self.block_folds_now.eq((self.block_now + cols - 1) // cols)
        self._last_block = self.block_start + self.block_now >= cfg["filters"]
        self._last_band = self.band_start + count >= out_height
        self.last_tile = self._last_block & self._last_band
        self.count = count
        # Which bank of a double-buffered tile memory the band (input) and the tile (output)
        # use: they alternate.
        self.band_parity = Signal(name=f"{name}_band_parity")
        self.tile_parity = Signal(name=f"{name}_tile_parity")

    def advance(self) -> list:
        """Statements that move to the next tile."""
        statements = [
            self.block_start.eq(Mux(self._last_block, 0, self.block_start + self.block_now)),
            self.fold_start.eq(Mux(self._last_block, 0,
                                   self.fold_start + self.block_folds_now)),
            self.band_start.eq(Mux(self._last_block, self.band_start + self.count,
                                   self.band_start)),
        ]
        if self.banked:
            statements += [self.band_parity.eq(self.band_parity ^ self._last_block),
                           self.tile_parity.eq(~self.tile_parity)]
        return statements

    def reset(self) -> list:
        statements = [self.band_start.eq(0), self.block_start.eq(0), self.fold_start.eq(0)]
        if self.banked:
            statements += [self.band_parity.eq(0), self.tile_parity.eq(0)]
        return statements


def _in_bank(address, parity, depth: int, double: bool):
    """``address`` in the bank ``parity`` selects of a memory of two ``depth``-word banks;
    ``address`` itself in a single bank."""
    return address + Mux(parity, depth, 0) if double else address


def _divide(numerator, stride, max_stride: int):
    """``numerator // stride`` for a run-time stride in 1..``max_stride``."""
    result = numerator
    for value in range(2, max_stride + 1):
        result = Mux(stride == value, numerator // Const(value), result)
    return result
