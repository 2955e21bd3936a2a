"""The cycles the layer engine generated from a hardware YAML takes for each layer of a network
(``edgeaccel rtl predict``): the engine's own schedule for the layer
(:func:`sim.rtl_schedule.choose_tiling` and :func:`sim.rtl_schedule.engine_tiles`: its row
bands, filter blocks, bias words and DRAM layout) run through the simulator's tile pipeline
with the engine's memory port (:func:`sim.rtl_schedule.predict_cycles`), which the cocotb
tests assert equal to the RTL's measured cycles.

``edgeaccel simulate`` of the same hardware file plans with the simulator's own dataflows
instead (no bias words, transfers at the DRAM model's rate, not through the engine's
``cols``-byte port), so its cycles differ; this is the engine's schedule.

Each layer runs alone, as one layer descriptor from ``start`` to the last write
acknowledgement, with the memory always ready and a DRAM model in its reset state (as the
testbench runs it). Its tensors lie at 4 KiB-aligned byte addresses from 0: the input
(NHWC, a pixel's channels padded to ``rtl.max_channels``), then the weights (per group of
``cols`` filters, the bias words and the K weight words), then the output (NHWC, filters
padded to a multiple of ``cols``). A depthwise layer runs as a dense convolution whose weights
are zero off the diagonal (its useful MACs are the depthwise's). Layers the engine cannot run
(pooling, additions, fully connected layers, kernels or strides beyond ``rtl``, maps wider
than ``rtl.max_width``) are listed with the reason and not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from pathlib import Path

from hls_gen.from_hardware import LayerEngineSpec, load_engine_spec
from sim.hardware import HardwareSpec
from sim.presets import hardware_path as resolve_hardware
from sim.rtl_schedule import (
    EngineLayer,
    EngineLimits,
    choose_tiling,
    engine_tiles,
    predict_cycles,
)
from sim.schedule import schedule_burst_bytes
from sim.workload.layers import ConvLayer, LayerKind
from sim.workload.network import LayerInfo, Network

REGION_ALIGN = 4096   # bytes: each tensor starts at a multiple of this


@dataclass(frozen=True)
class LayerPrediction:
    """One layer on the engine: its tiling and cycles (accelerator cycles), or why it does
    not run (``reason``; cycles and counts 0)."""

    name: str
    shape: str                  # e.g. "16x16x8 -> 8, 3x3 s1 p1"
    reason: str = ""
    band_rows: int = 0
    block_filters: int = 0
    tiles: int = 0
    cycles: int = 0
    macs: int = 0               # the layer's MACs
    array_macs: int = 0         # MACs the array performs (a depthwise layer runs dense)
    bus_bytes: int = 0          # whole DRAM bursts of every load and store

    def utilization(self, pes: int) -> float:
        """The layer's MACs / (PEs x cycles); 0 when it does not run."""
        return self.macs / (pes * self.cycles) if self.cycles else 0.0

    def to_dict(self, pes: int) -> dict[str, object]:
        return {"name": self.name, "shape": self.shape, "runs": not self.reason,
                "reason": self.reason, "band_rows": self.band_rows,
                "block_filters": self.block_filters, "tiles": self.tiles,
                "cycles": self.cycles, "macs": self.macs, "array_macs": self.array_macs,
                "bus_bytes": self.bus_bytes, "pe_utilization": self.utilization(pes)}


def engine_limits(spec: LayerEngineSpec) -> EngineLimits:
    """The sizes of the generated engine that bound its bands and blocks."""
    engine = spec.engine
    return EngineLimits(rows=engine.array.rows, cols=engine.array.cols,
                        max_height=engine.tile.max_height, max_width=engine.tile.max_width,
                        max_channels=engine.tile.max_channels, input_depth=spec.input_depth,
                        output_depth=spec.output_depth, weight_depth=engine.buffers.depth,
                        dataflow=spec.dataflow, accumulator_depth=spec.accumulator_depth,
                        double_input=spec.double_input, double_output=spec.double_output)


def region_addresses(layer: EngineLayer, limits: EngineLimits) -> tuple[int, int, int]:
    """The input, weight and output byte addresses: 0, then each region at the next multiple
    of ``REGION_ALIGN`` after the one before it."""
    cols = limits.cols
    input_bytes = layer.height * layer.width * limits.max_channels
    weight_bytes = ceil(layer.filters / cols) * (layer.reduction + limits.bias_words) * cols
    weights = _aligned(input_bytes)
    return 0, weights, _aligned(weights + weight_bytes)


def _aligned(address: int) -> int:
    return -(-address // REGION_ALIGN) * REGION_ALIGN


def _shape(info: LayerInfo) -> str:
    source, out = info.input_shapes[0], info.output_shape
    text = f"{source.height}x{source.width}x{source.channels} -> {out.channels}"
    layer = info.layer
    if isinstance(layer, ConvLayer):
        geometry = layer.geometry(source.channels)
        kernel, stride = geometry.kernel, geometry.stride
        text += (f", {kernel[0]}x{kernel[1]} s{stride[0]} p{geometry.padding[0]}"
                 + (" depthwise" if info.kind == LayerKind.DEPTHWISE else ""))
    return text


def engine_layer(info: LayerInfo) -> EngineLayer | str:
    """The layer as the engine runs it, or why it cannot."""
    layer = info.layer
    if not isinstance(layer, ConvLayer):
        return f"the engine runs convolutions, not {info.kind} layers"
    source = info.input_shapes[0]
    geometry = layer.geometry(source.channels)
    kernel, stride, padding = geometry.kernel, geometry.stride, geometry.padding
    if kernel[0] != kernel[1] or stride[0] != stride[1] or len(set(padding)) != 1:
        return "the engine runs square kernels and strides with equal padding on every side"
    if geometry.dilation != (1, 1):
        return "the engine runs undilated kernels"
    depthwise = geometry.groups == source.channels and geometry.out_channels == source.channels
    if geometry.groups != 1 and not depthwise:
        return "the engine runs dense and depthwise (one filter per channel) convolutions"
    return EngineLayer(source.height, source.width, source.channels, geometry.out_channels,
                       kernel[0], stride[0], padding[0])


def predict_layer(info: LayerInfo, spec: LayerEngineSpec, hardware: HardwareSpec
                  ) -> LayerPrediction:
    """One layer's prediction on the engine of ``spec`` and ``hardware`` (its DRAM)."""
    shape = _shape(info)
    layer = engine_layer(info)
    if isinstance(layer, str):
        return LayerPrediction(info.name, shape, layer)
    limits = engine_limits(spec)
    problem = _beyond_engine(layer, spec)
    if problem:
        return LayerPrediction(info.name, shape, problem)
    try:
        addresses = region_addresses(layer, limits)
        tiling = choose_tiling(hardware, layer, limits, addresses)
        prediction = predict_cycles(hardware, layer, limits, tiling, addresses)
    except ValueError as error:
        return LayerPrediction(info.name, shape, str(error))
    tiles = engine_tiles(layer, limits, tiling, addresses)
    out_height, out_width = layer.output_size
    return LayerPrediction(info.name, shape, "", tiling.band_rows, tiling.block_filters,
                           prediction.tiles, prediction.cycles, info.macs,
                           out_height * out_width * layer.filters * layer.reduction,
                           schedule_burst_bytes(tiles, hardware.dram.burst_bytes))


def _beyond_engine(layer: EngineLayer, spec: LayerEngineSpec) -> str:
    """The engine's kernel and stride limits (``engine_tiling`` checks the sizes)."""
    kernels = spec.engine.kernels
    if layer.kernel > kernels.max_kernel:
        return f"kernel {layer.kernel} is more than the engine's {kernels.max_kernel}"
    if layer.stride > kernels.max_stride:
        return f"stride {layer.stride} is more than the engine's {kernels.max_stride}"
    return ""


def predict_network(hardware_path: str | Path, network: Network
                    ) -> tuple[list[LayerPrediction], int]:
    """Every layer of ``network`` on the engine the hardware file (or preset name) describes,
    and its PEs.

    A hardware file the engine cannot be built from raises :class:`sim.config.ConfigError`.
    """
    spec, hardware, _ = load_engine_spec(resolve_hardware(str(hardware_path)))
    pes = spec.engine.array.rows * spec.engine.array.cols
    return [predict_layer(info, spec, hardware) for info in network.infos], pes
