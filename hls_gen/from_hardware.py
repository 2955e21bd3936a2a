"""A hardware YAML (the file ``edgeaccel simulate`` reads) as the spec of the generated layer
engine (:class:`accel.dram_engine.DramConvEngine`: a memory port, tile memories and a
:class:`accel.conv_engine.ConvEngine`), with the audit that every on-chip byte it builds lies
in a declared buffer.

What each declared buffer holds (bytes; ``k`` = ``rtl.max_kernel``, ``C`` =
``rtl.max_channels``, ``H`` x ``W`` = ``rtl.max_height`` x ``rtl.max_width``):

- ``ifmap``: the pixel being assembled from the port's beats and the tile reader's queue of 3
  pixels; the line buffer's ``k - 1`` rows of ``W + 2 (k - 1)`` pixels and the two banks of
  ``rows`` k x k windows the loader fills while the array reads; and, in every byte left, the
  input tile memory, in pixels of ``C`` activations (at least one row of ``W``);
- ``weight``: the ping-pong weight buffer, two banks of words of ``cols`` int8 weights. The
  buffer must be ``double_buffered`` (one bank loads while the other computes); each bank gets
  ``size_bytes / 2 / cols`` words (the engine's ``weight_depth``);
- ``ofmap``: two banks of ``rows x cols`` accumulator-wide result registers (one captures a
  finished fold's sums while the other gets its biases, is requantized and sent), four sets of
  ``cols`` accumulator-wide bias registers (being read, waiting for capture, one per result
  bank), the output reader's queue of 3 words, and the output tile memory: every byte left, in
  words of ``cols`` int8 outputs.

A weight-stationary array (``pe_array.dataflow: ws``) builds :class:`accel.ws_engine.WsConvEngine`
instead, which reads its band straight from the input tile memory: ``ifmap`` holds the pixel
being assembled and, in every byte left, the input tile memory; ``ofmap`` holds the
accumulator memory of ``rtl.accumulator_pixels`` words of ``cols`` accumulator-wide sums, one
set of ``cols`` bias registers and one of held sums, the output reader's queue and, in every
byte left, the output tile memory.

The buffers must be split (``ifmap``/``weight``/``ofmap``). The PE accumulators are the array's
own registers, as in the simulator (which counts no buffer bytes for them either).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from accel.memory_reader import QUEUE_DEPTH
from hls_gen.spec import (
    MAX_STORAGE_BITS,
    ArraySpec,
    BuffersSpec,
    DataSpec,
    KernelSpec,
    RtlSpec,
    TileSpec,
)
from sim.config import error_at, read_yaml, validate
from sim.hardware import HardwareSpec


@dataclass(frozen=True)
class BufferUse:
    """Bytes the generated engine puts in one declared buffer, against its size."""

    buffer: str
    used_bytes: int
    declared_bytes: int
    holds: str


def is_hardware_file(data: object) -> bool:
    """A hardware YAML names no ``component`` (an RTL component spec does)."""
    return isinstance(data, dict) and "component" not in data


@dataclass(frozen=True)
class LayerEngineSpec:
    """The layer engine's parameters: its conv engine's spec and the tile memories' depths."""

    engine: RtlSpec
    input_depth: int    # pixels
    output_depth: int   # words of ``cols`` int8 outputs
    dataflow: str = "os"         # os: ConvEngine; ws: WsConvEngine
    accumulator_depth: int = 0   # ws: pixels of ``cols`` accumulators
    double_input: bool = False   # two input tile memories of ``input_depth`` pixels each
    double_output: bool = False  # two output tile memories of ``output_depth`` words each


def load_engine_spec(path: str | Path) -> tuple[LayerEngineSpec, HardwareSpec, list[BufferUse]]:
    """The layer engine a hardware YAML describes, the hardware itself and the buffer audit.

    Problems raise :class:`sim.config.ConfigError` naming the file, the line and the field.
    """
    data, node = read_yaml(path)
    hardware = validate(path, data, node, HardwareSpec)
    pe = hardware.pe_array
    if pe.kind != "systolic":
        raise error_at(path, node, ("pe_array", "kind"), f"got {pe.kind!r}: the generated "
                       "engine is a systolic array", allowed="systolic")
    if pe.dataflow not in ("os", "os-overlap", "ws"):
        raise error_at(path, node, ("pe_array", "dataflow"), f"got {pe.dataflow!r}: the "
                       "generated engine maps convolutions output- or weight-stationary",
                       allowed="os, os-overlap, ws")
    ws = pe.dataflow == "ws"
    if hardware.rtl is None:
        raise error_at(path, node, ("rtl",), "rtl generate needs an 'rtl' section with the "
                       "largest tile (max_height, max_width, max_channels)")
    if hardware.buffers.shared:
        raise error_at(path, node, ("buffers", "global"), "the generated engine has split "
                       "buffers: give ifmap, weight and ofmap instead of one global buffer")
    if hardware.rtl.max_channels % pe.cols:  # type: ignore[operator]
        raise error_at(path, node, ("rtl", "max_channels"), f"got {hardware.rtl.max_channels}: "
                       f"a pixel must be whole memory-port beats of pe_array.cols = {pe.cols} "
                       "bytes", allowed=f"a multiple of {pe.cols}")
    accumulators = hardware.rtl.accumulator_pixels
    if ws and accumulators is None:
        raise error_at(path, node, ("rtl", "accumulator_pixels"), "missing: a "
                       "weight-stationary engine sums a band's reduction folds in an "
                       "accumulator memory of this many output pixels")
    if not ws and accumulators is not None:
        raise error_at(path, node, ("rtl", "accumulator_pixels"), f"got {accumulators}: only "
                       "a weight-stationary engine has an accumulator memory",
                       allowed="leave it out, or pe_array.dataflow: ws")
    if ws and hardware.rtl.max_channels % pe.rows:  # type: ignore[operator]
        raise error_at(path, node, ("rtl", "max_channels"), f"got {hardware.rtl.max_channels}: "
                       f"the weight-stationary rows take channels of one kernel tap, "
                       f"pe_array.rows = {pe.rows} at a time",
                       allowed=f"a multiple of {pe.rows}")
    double = {operand: hardware.buffers.for_operand(operand).double_buffered
              for operand in ("ifmap", "ofmap")}
    for operand, twice in double.items():
        if ws and twice:
            raise error_at(path, node, ("buffers", operand, "double_buffered"), "got true: "
                           "the weight-stationary engine has one tile memory per operand",
                           allowed="false, or pe_array.dataflow: os or os-overlap")
    weight = hardware.buffers.for_operand("weight")
    weight_name = hardware.buffers.name_for("weight")
    if not weight.double_buffered:
        raise error_at(path, node, ("buffers", weight_name, "double_buffered"),
                       "got false: the engine's weight buffer is a ping-pong pair of banks",
                       allowed="true")
    limits, widths = hardware.rtl, hardware.data
    word_bytes = pe.cols * widths.weight_bits // 8  # type: ignore[operator]
    uses = _uses(hardware)
    depth = weight.size_bytes // 2 // word_bytes
    bias_words = -(-widths.accumulator_bits // 8)
    reduction = limits.max_kernel ** 2 * limits.max_channels + bias_words
    if depth < reduction:
        raise error_at(path, node, ("buffers", weight_name, "size_bytes"),
                       f"got {weight.size_bytes:,}: a weight bank must hold one fold of the "
                       f"largest reduction and its biases ({reduction} words of "
                       f"{word_bytes} B)",
                       allowed=f"at least {2 * reduction * word_bytes:,}")
    uses.append(BufferUse(weight_name, 2 * depth * word_bytes, weight.size_bytes,
                          f"ping-pong weight banks: 2 x {depth} words of {word_bytes} B"))
    _check_fits(path, node, hardware, uses)
    ofmap = hardware.buffers.for_operand("ofmap")
    registers = sum(use.used_bytes for use in uses if use.buffer == "ofmap")
    output_banks = 2 if double["ofmap"] else 1
    output_depth = (ofmap.size_bytes - registers) // word_bytes // output_banks
    rows = pe.rows
    assert rows is not None
    if output_depth < rows:
        least = registers + output_banks * rows * word_bytes
        raise error_at(path, node, ("buffers", "ofmap", "size_bytes"),
                       f"got {ofmap.size_bytes:,}: no room for an output tile memory of one "
                       f"pixel group ({rows} words of {word_bytes} B) beside the result "
                       "registers", allowed=f"at least {least:,}")
    uses.append(BufferUse("ofmap", output_banks * output_depth * word_bytes, ofmap.size_bytes,
                          _banks(output_banks, "output tile memor", f"{output_depth} words "
                                 f"of {word_bytes} B")))
    ifmap = hardware.buffers.for_operand("ifmap")
    pixel_bytes = limits.max_channels * widths.activation_bits // 8
    beside_input = sum(use.used_bytes for use in uses if use.buffer == "ifmap")
    input_banks = 2 if double["ifmap"] else 1
    input_depth = (ifmap.size_bytes - beside_input) // pixel_bytes // input_banks
    if input_depth < limits.max_width:
        least = beside_input + input_banks * limits.max_width * pixel_bytes
        raise error_at(path, node, ("buffers", "ifmap", "size_bytes"),
                       f"got {ifmap.size_bytes:,}: no room for an input tile memory of one "
                       f"row ({limits.max_width} pixels of {pixel_bytes} B) beside the line "
                       "buffer and windows", allowed=f"at least {least:,}")
    uses.insert(0, BufferUse("ifmap", input_banks * input_depth * pixel_bytes,
                             ifmap.size_bytes,
                             _banks(input_banks, "input tile memor", f"{input_depth} pixels "
                                    f"of {pixel_bytes} B")))
    memory_bits = 8 * sum(use.used_bytes for use in uses)
    if memory_bits > MAX_STORAGE_BITS:
        raise error_at(path, node, ("buffers",), f"the engine would hold {memory_bits:,} bits "
                       "on chip, more than one module may",
                       allowed=f"at most {MAX_STORAGE_BITS:,} bits")
    try:
        spec = RtlSpec(
            component="conv_engine", name=None,
            array=ArraySpec(rows=pe.rows, cols=pe.cols, dataflow="os"),  # type: ignore[arg-type]
            data=DataSpec(accumulator_bits=widths.accumulator_bits,
                          multiplier_bits=widths.multiplier_bits),
            tile=TileSpec(max_height=limits.max_height, max_width=limits.max_width,
                          max_channels=limits.max_channels),
            kernels=KernelSpec(max_kernel=limits.max_kernel, max_stride=limits.max_stride),
            buffers=BuffersSpec(depth=depth, banks=2))
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        message = str((problem.get("ctx") or {}).get("error", problem["msg"]))
        where = ("pe_array",) if problem["loc"] and problem["loc"][0] == "array" else ("rtl",)
        raise error_at(path, node, where, message) from None
    return (LayerEngineSpec(spec, input_depth, output_depth, pe.dataflow if ws else "os",
                            accumulators or 0, double["ifmap"], double["ofmap"]),
            hardware, uses)


def _banks(banks: int, memory: str, each: str) -> str:
    """What a tile memory of one or two banks holds, e.g. ``input tile memory: 256 pixels
    of 8 B`` or ``input tile memories: 2 x 64 pixels of 64 B``."""
    return f"{memory}y: {each}" if banks == 1 else f"{memory}ies: {banks} x {each}"



def _uses(hardware: HardwareSpec) -> list[BufferUse]:
    """Bytes of the line buffer + window banks (ifmap) and of the holding registers (ofmap)."""
    pe, limits, widths = hardware.pe_array, hardware.rtl, hardware.data
    assert limits is not None and pe.rows is not None and pe.cols is not None
    kernel, channels = limits.max_kernel, limits.max_channels
    pixel_bytes = channels * widths.activation_bits // 8
    line_bytes = (kernel - 1) * (limits.max_width + 2 * (kernel - 1)) * pixel_bytes
    window_bytes = 2 * pe.rows * kernel * kernel * pixel_bytes
    pixel_registers = (1 + QUEUE_DEPTH) * pixel_bytes
    holding_bytes = 2 * pe.rows * pe.cols * widths.accumulator_bits // 8
    bias_bytes = 4 * pe.cols * -(-widths.accumulator_bits // 8)
    queue_bytes = QUEUE_DEPTH * pe.cols * widths.activation_bits // 8
    ifmap = hardware.buffers.for_operand("ifmap").size_bytes
    ofmap = hardware.buffers.for_operand("ofmap").size_bytes
    if pe.dataflow == "ws":
        sums_bytes = pe.cols * widths.accumulator_bits // 8
        accumulator_bytes = limits.accumulator_pixels * sums_bytes  # type: ignore[operator]
        return [
            BufferUse("ifmap", pixel_bytes, ifmap,
                      f"pixel register: 1 being assembled, {pixel_bytes} B"),
            BufferUse("ofmap", accumulator_bytes, ofmap, f"accumulator memory: "
                      f"{limits.accumulator_pixels} pixels x {sums_bytes} B"),
            BufferUse("ofmap", 2 * sums_bytes, ofmap, f"bias and held-sum registers: 2 x "
                      f"{pe.cols} lanes x {widths.accumulator_bits // 8} B"),
            BufferUse("ofmap", queue_bytes, ofmap, f"output queue: {QUEUE_DEPTH} words"),
        ]
    return [
        BufferUse("ifmap", pixel_registers, ifmap,
                  f"pixel registers: 1 being assembled + {QUEUE_DEPTH} queued, {pixel_bytes} B"),
        BufferUse("ifmap", line_bytes + window_bytes, ifmap,
                  f"line buffer {line_bytes} B + 2 banks of {pe.rows} windows {window_bytes} B"),
        BufferUse("ofmap", holding_bytes, ofmap, f"result registers 2 banks x {pe.rows} x "
                  f"{pe.cols} x {widths.accumulator_bits // 8} B"),
        BufferUse("ofmap", bias_bytes, ofmap, f"bias registers: {pe.cols} lanes x 4 (being "
                  "read, waiting, 2 result banks)"),
        BufferUse("ofmap", queue_bytes, ofmap, f"output queue: {QUEUE_DEPTH} words"),
    ]


def _check_fits(path: str | Path, node, hardware: HardwareSpec, uses: list[BufferUse]) -> None:
    totals: dict[str, int] = {}
    for use in uses:
        totals[use.buffer] = totals.get(use.buffer, 0) + use.used_bytes
    for name, used in totals.items():
        declared = hardware.buffers.declared()[name].size_bytes
        if used > declared:
            holds = "; ".join(use.holds for use in uses if use.buffer == name)
            raise error_at(path, node, ("buffers", name, "size_bytes"),
                           f"got {declared:,}: the engine puts {used:,} B in it ({holds})",
                           allowed=f"at least {used:,}")


def audit_record(uses: list[BufferUse]) -> list[dict[str, object]]:
    """The audit as plain data for the manifest."""
    return [{"buffer": use.buffer, "used_bytes": use.used_bytes,
             "declared_bytes": use.declared_bytes, "holds": use.holds} for use in uses]

