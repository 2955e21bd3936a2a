"""From a validated RTL spec to an Amaranth component, its parameters and its module name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amaranth.lib import wiring

from accel.array import SystolicArray
from accel.buffer import PingPongBuffer
from accel.conv_engine import ConvEngine
from accel.dram_engine import DramConvEngine
from accel.line_buffer import LineBuffer
from accel.pe import MacPE
from hls_gen.from_hardware import LayerEngineSpec
from hls_gen.spec import RtlSpec

# Expected latency of each component, as the manifest states it (cycles).
LATENCY = {
    "mac_pe": "1 cycle from a valid operand pair to acc and to the pass-through outputs",
    "systolic_array": "K + rows + cols - 2 cycles from the first skewed input of a K-long "
                      "tile to every accumulator holding its sum",
    "ping_pong_buffer": "read_ready 1 cycle after the committing write; read_data 1 cycle "
                        "after read_addr; 1 word per cycle each way",
    "line_buffer": "a window 1 cycle after the pixel that completes it; "
                   "(H + 2p) * (W + 2p) cycles per frame at full rate",
    "conv_engine": "compute_cycles = ceil(P / rows) * ceil(M / cols) * (K + B) with "
                   "P = output pixels, K = k * k * C, M = filters, B = bias words per fold "
                   "(accumulator bytes); every sum final "
                   "sim.mapping.overlapped_os_cycles(rows, cols, P, K + B, M) cycles after the "
                   "first fold starts (each fold's drain overlaps the next fold's fill)",
}


@dataclass(frozen=True)
class Build:
    """A component ready for Verilog: the instance, its module name and its parameters."""

    component: wiring.Component
    module_name: str
    kind: str
    parameters: dict[str, Any]
    latency: str


def parameters_of(spec: RtlSpec) -> dict[str, Any]:
    """The constructor arguments the spec gives its component."""
    data, kernels = spec.data_or_default, spec.kernels_or_default
    if spec.component == "mac_pe":
        return {"data_width": data.activation_bits, "acc_width": data.accumulator_bits}
    if spec.component == "systolic_array":
        return {"rows": spec.array.rows, "cols": spec.array.cols,  # type: ignore[union-attr]
                "dataflow": spec.array.dataflow,  # type: ignore[union-attr]
                "data_width": data.activation_bits, "acc_width": data.accumulator_bits}
    if spec.component == "ping_pong_buffer":
        return {"depth": spec.buffers.depth, "width": spec.buffers.word_bits,  # type: ignore
                "banks": spec.buffers.banks}  # type: ignore[union-attr]
    if spec.component == "line_buffer":
        return {"max_width": spec.tile.max_width,  # type: ignore[union-attr]
                "max_height": spec.tile.max_height,  # type: ignore[union-attr]
                "max_kernel": kernels.max_kernel, "max_stride": kernels.max_stride,
                "pixel_width": 8 * spec.tile.max_channels}  # type: ignore[union-attr]
    return {"rows": spec.array.rows, "cols": spec.array.cols,  # type: ignore[union-attr]
            "max_width": spec.tile.max_width,  # type: ignore[union-attr]
            "max_height": spec.tile.max_height,  # type: ignore[union-attr]
            "max_channels": spec.tile.max_channels,  # type: ignore[union-attr]
            "max_kernel": kernels.max_kernel, "max_stride": kernels.max_stride,
            "weight_depth": spec.buffers.depth,  # type: ignore[union-attr]
            "multiplier_width": data.multiplier_bits, "acc_width": data.accumulator_bits}


_CONSTRUCTORS = {"mac_pe": MacPE, "systolic_array": SystolicArray,
                 "ping_pong_buffer": PingPongBuffer, "line_buffer": LineBuffer,
                 "conv_engine": ConvEngine}

# Short tags for the parameters in generated module names.
_TAGS = {"rows": "r", "cols": "c", "dataflow": "", "data_width": "d", "acc_width": "a",
         "depth": "n", "width": "w", "banks": "b", "max_width": "w", "max_height": "h",
         "max_kernel": "k", "max_stride": "s", "pixel_width": "p", "max_channels": "ch",
         "weight_depth": "wd", "multiplier_width": "m", "input_depth": "in",
         "output_depth": "out", "accumulator_depth": "acc", "double_input": "dbin",
         "double_output": "dbout"}


def module_name(spec: RtlSpec, parameters: dict[str, Any]) -> str:
    """``spec.name``, or the component with every parameter, e.g. ``mac_pe_d8_a32``: one
    name per configuration, so modules of different configurations never collide."""
    if spec.name:
        return spec.name
    return "_".join([spec.component] + [f"{_TAGS[key]}{value}"
                                         for key, value in parameters.items()])


def build(spec: RtlSpec) -> Build:
    parameters = parameters_of(spec)
    component = _CONSTRUCTORS[spec.component](**parameters)
    return Build(component, module_name(spec, parameters), spec.component, parameters,
                 LATENCY[spec.component])


LAYER_ENGINE_LATENCY = (
    "one layer from start to its last write acknowledgement: tiles (band, filter block) "
    "loaded, computed and stored by three processes as the simulator's tile pipeline runs "
    "them (the next block's weights load while a block computes); "
    "sim.rtl_schedule.predict_cycles gives the total from sim.pipeline.run_pipeline")


def build_layer_engine(spec: LayerEngineSpec) -> Build:
    """The layer engine a hardware YAML describes (``hls_gen.from_hardware``), named by every
    parameter like the component specs' modules."""
    parameters = {**parameters_of(spec.engine), "input_depth": spec.input_depth,
                  "output_depth": spec.output_depth}
    if spec.dataflow == "ws":
        parameters.update(dataflow="ws", accumulator_depth=spec.accumulator_depth)
    if spec.double_input:
        parameters["double_input"] = True
    if spec.double_output:
        parameters["double_output"] = True
    tags = [_TAGS.get(key, key) if value is True else f"{_TAGS.get(key, key)}{value}"
            for key, value in parameters.items()]
    module = "_".join(["dram_conv_engine", *tags])
    return Build(DramConvEngine(**parameters), module, "dram_conv_engine", parameters,
                 LAYER_ENGINE_LATENCY)
