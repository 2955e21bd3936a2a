"""A line buffer: streams a feature map row by row and emits convolution windows.

The frame geometry is set at run time (``start`` with ``height``, ``width``, ``kernel``,
``stride``, ``padding``), up to the sizes the component was built for. Zero padding is
generated inside: padded positions consume no input. Windows leave in raster order of the
output pixels, one per output pixel, with the usual ``floor((H + 2p - k) / s) + 1`` outputs
per dimension (``sim.golden`` conventions).
"""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from accel.checks import require_int


class LineBuffer(wiring.Component):
    """``max_kernel - 1`` line memories of ``max_width + 2 * (max_kernel - 1)`` pixels plus a
    ``max_kernel`` x ``max_kernel`` window of registers.

    Ports:
    - ``start`` (one cycle, while ``busy`` is low) latches ``height``, ``width`` (pixels),
      ``kernel`` (1..``max_kernel``), ``stride`` (1..``max_stride``), ``padding``
      (0..``max_kernel - 1``, on every side) and begins a frame.
    - ``pixels``: input stream, one pixel (``pixel_width`` bits, e.g. packed channels) per
      transfer, row by row.
    - ``windows``: output stream of ``max_kernel**2`` pixels, row-major. For a run-time kernel
      ``k`` the window is its bottom-right ``k`` x ``k`` corner: element (r, c) of the k x k
      window is at index ``(max_kernel - k + r) * max_kernel + (max_kernel - k + c)``; the rest
      is unspecified.
    - ``busy``: a frame is in progress (until its last padded position has been stepped).

    Latency: a window leaves one cycle after the pixel that completes it arrives. Throughput:
    one padded position per cycle, so a frame takes ``(H + 2p) * (W + 2p)`` cycles when neither
    stream stalls.
    """

    def __init__(self, *, max_width: int, max_height: int, max_kernel: int = 3,
                 max_stride: int = 2, pixel_width: int = 8) -> None:
        require_int(self, "Maximum width", max_width, 1)
        require_int(self, "Maximum height", max_height, 1)
        require_int(self, "Maximum kernel", max_kernel, 1)
        require_int(self, "Maximum stride", max_stride, 1)
        require_int(self, "Pixel width", pixel_width, 1)
        self._max_width, self._max_height = max_width, max_height
        self._max_kernel, self._max_stride = max_kernel, max_stride
        self._pixel_width = pixel_width
        super().__init__({
            "start": In(1),
            "height": In(range(max_height + 1)),
            "width": In(range(max_width + 1)),
            "kernel": In(range(max_kernel + 1)),
            "stride": In(range(max_stride + 1)),
            "padding": In(range(max_kernel)),
            "busy": Out(1),
            "pixels": In(stream.Signature(unsigned(pixel_width))),
            "windows": Out(stream.Signature(
                data.ArrayLayout(unsigned(pixel_width), max_kernel * max_kernel))),
        })

    @property
    def max_kernel(self) -> int:
        return self._max_kernel

    @property
    def line_length(self) -> int:
        """Pixels per line memory: the widest padded row."""
        return self._max_width + 2 * (self._max_kernel - 1)

    def elaborate(self, platform) -> Module:
        m = Module()
        kmax = self._max_kernel
        length = self.line_length
        # Counters run one stride past the padded frame.
        position = Signal(range(max(length, self._max_height + 2 * kmax) + self._max_stride))

        # Frame geometry, latched by ``start``.
        height, width = Signal.like(self.height), Signal.like(self.width)
        kernel, stride = Signal.like(self.kernel), Signal.like(self.stride)
        padding = Signal.like(self.padding)
        padded_height = Signal.like(position)
        padded_width = Signal.like(position)
        row, col = Signal.like(position), Signal.like(position)
        next_out_row, next_out_col = Signal.like(position), Signal.like(position)
        busy = Signal()
        m.d.comb += self.busy.eq(busy)
        with m.If(self.start & ~busy):
            m.d.sync += [
                height.eq(self.height), width.eq(self.width), kernel.eq(self.kernel),
                stride.eq(self.stride), padding.eq(self.padding),
                padded_height.eq(self.height + 2 * self.padding),
                padded_width.eq(self.width + 2 * self.padding),
                row.eq(0), col.eq(0),
                next_out_row.eq(self.kernel - 1), next_out_col.eq(self.kernel - 1),
                busy.eq(1),
            ]

        inside = ((row >= padding) & (row < padding + height)
                  & (col >= padding) & (col < padding + width))
        out_valid = Signal()
        room = ~out_valid | self.windows.ready
        step = busy & room & (~inside | self.pixels.valid)
        m.d.comb += [
            self.pixels.ready.eq(busy & room & inside),
            self.windows.valid.eq(out_valid),
        ]
        incoming = Signal(self._pixel_width)
        with m.If(~inside):
            m.d.comb += incoming.eq(0)
        with m.Else():
            m.d.comb += incoming.eq(self.pixels.payload)

        # The new column of the window, oldest row first: the line memories hold the rows
        # above (line 0 the row just before this one).
        column = [Signal(self._pixel_width, name=f"column{r}") for r in range(kmax)]
        m.d.comb += column[kmax - 1].eq(incoming)
        for line in range(kmax - 1):
            memory = Memory(shape=unsigned(self._pixel_width), depth=length, init=[])
            m.submodules[f"line{line}"] = memory
            read = memory.read_port(domain="comb")
            write = memory.write_port()
            m.d.comb += [
                read.addr.eq(col), write.addr.eq(col), write.en.eq(step),
                column[kmax - 2 - line].eq(read.data),
                write.data.eq(column[kmax - 1 - line]),
            ]

        window = [[Signal(self._pixel_width, name=f"window{r}_{c}") for c in range(kmax)]
                  for r in range(kmax)]
        emit = (row == next_out_row) & (col == next_out_col)
        with m.If(self.windows.ready):
            m.d.sync += out_valid.eq(0)
        with m.If(step):
            for r in range(kmax):
                for c in range(kmax):
                    shifted = column[r] if c == kmax - 1 else window[r][c + 1]
                    m.d.sync += [
                        window[r][c].eq(shifted),
                        self.windows.payload[r * kmax + c].eq(shifted),
                    ]
            with m.If(emit):
                m.d.sync += [out_valid.eq(1), next_out_col.eq(next_out_col + stride)]
            last_col = col == padded_width - 1
            with m.If(last_col):
                m.d.sync += [col.eq(0), row.eq(row + 1), next_out_col.eq(kernel - 1)]
                with m.If(row == next_out_row):
                    m.d.sync += next_out_row.eq(next_out_row + stride)
                with m.If(row == padded_height - 1):
                    m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += col.eq(col + 1)
        return m
