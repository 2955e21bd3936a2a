"""Bottleneck reordering (seed 001, Sec. 3.3, Eq. 3).

An inverted-residual block (1x1 expand -> depthwise -> 1x1 project [+ skip]) runs one expansion
channel at a time: expansion channel ``i`` is computed, its depthwise channel follows, and that
channel's contribution is accumulated into the projection output. Only one expansion channel and
one depthwise channel exist at a time, so the block's memory no longer grows with the expansion
ratio ``t``.

Eq. 3 counts the block as input + one expansion channel + one depthwise channel + output, all at
the data type's width. The projection output, however, is a running sum over all expansion
channels, so it must be held at the accumulator's width until the last channel is in (int32 for
int8 data). :func:`reordered_block_bytes` counts that accumulator honestly and also returns the
Eq. 3 figure. The residual add is applied element by element over the accumulator when it is
requantized, so it needs no further buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dtypes import DType
from sim.golden import ops
from sim.golden.forward import activate, requantized
from sim.golden.quant import wrap_int32
from sim.peak import LayerMemory, PeakReport, layer_live_tensors
from sim.workload.layers import Add, DepthwiseConv2d, PointwiseConv2d
from sim.workload.network import LayerInfo, Network


@dataclass(frozen=True)
class Bottleneck:
    """The layers of one inverted-residual block found in a network."""

    expand: LayerInfo
    depthwise: LayerInfo
    project: LayerInfo
    add: LayerInfo | None

    @property
    def name(self) -> str:
        return self.expand.name.rsplit("_", 1)[0]

    @property
    def infos(self) -> tuple[LayerInfo, ...]:
        return tuple(i for i in (self.expand, self.depthwise, self.project, self.add) if i)

    @property
    def source(self) -> str:
        return self.expand.inputs[0]

    @property
    def output(self) -> str:
        return (self.add or self.project).name


def find_bottlenecks(network: Network) -> list[Bottleneck]:
    """Every expand -> depthwise -> project chain whose intermediates feed only the next layer.

    A following ``add`` that sums the projection with the block's input is included.
    """
    found = []
    infos = network.infos
    for index in range(len(infos) - 2):
        expand, depthwise, project = infos[index:index + 3]
        if not (
            isinstance(expand.layer, PointwiseConv2d) and expand.layer.groups == 1
            and expand.layer.stride == (1, 1)
            and isinstance(depthwise.layer, DepthwiseConv2d) and depthwise.layer.multiplier == 1
            and isinstance(project.layer, PointwiseConv2d) and project.layer.groups == 1
            and project.layer.stride == (1, 1)
            and depthwise.inputs == (expand.name,) and project.inputs == (depthwise.name,)
            and network.consumers[expand.name] == (depthwise.index,)
            and network.consumers[depthwise.name] == (project.index,)
        ):
            continue
        add = None
        if index + 3 < len(infos):
            after = infos[index + 3]
            if (isinstance(after.layer, Add)
                    and set(after.inputs) == {project.name, expand.inputs[0]}
                    and network.consumers[project.name] == (after.index,)):
                add = after
        found.append(Bottleneck(expand, depthwise, project, add))
    return found


def reordered_block_bytes(block: Bottleneck, dtype: DType | str) -> dict[str, int]:
    """Bytes the block holds when reordered: ``total`` (accumulator-aware) and ``eq3``."""
    dtype = DType(dtype)
    source = block.expand.input_shapes[0]
    expand = block.expand.output_shape
    depthwise = block.depthwise.output_shape
    output = block.project.output_shape
    one_expand = expand.height * expand.width * dtype.bytes
    one_depthwise = depthwise.height * depthwise.width * dtype.bytes
    accumulator = output.elements * dtype.accumulator_bits // 8
    eq3 = source.elements * dtype.bytes + one_expand + one_depthwise + output.elements * dtype.bytes
    return {
        "input": source.elements * dtype.bytes,
        "expand_channel": one_expand,
        "depthwise_channel": one_depthwise,
        "accumulator": accumulator,
        "total": source.elements * dtype.bytes + one_expand + one_depthwise + accumulator,
        "eq3": eq3,
    }


def reordered_peak(
    network: Network, dtype: DType | str, inplace_depthwise: bool = True,
) -> PeakReport:
    """Layer-wise live memory with every bottleneck block run reordered (one row per block)."""
    dtype = DType(dtype)
    blocks = {block.expand.index: block for block in find_bottlenecks(network)}
    per_layer = []
    skip_until = -1
    for info in network.infos:
        if info.index <= skip_until:
            continue
        block = blocks.get(info.index)
        if block is None:
            tensors = layer_live_tensors(network, info, dtype, inplace_depthwise)
            per_layer.append(LayerMemory(info.name, sum(s for _, s in tensors), tensors))
            continue
        sizes = reordered_block_bytes(block, dtype)
        inside = {i.name for i in block.infos} | {block.source}
        outside = tuple(
            (name, size)
            for name, size in layer_live_tensors(network, info, dtype, inplace_depthwise)
            if name not in inside
        )
        tensors = outside + (
            (block.source, sizes["input"]),
            (f"{block.expand.name}[channel]", sizes["expand_channel"]),
            (f"{block.depthwise.name}[channel]", sizes["depthwise_channel"]),
            (f"{block.project.name}[accumulator]", sizes["accumulator"]),
        )
        per_layer.append(LayerMemory(f"{block.name}[reordered]", sum(s for _, s in tensors),
                                     tensors))
        skip_until = block.infos[-1].index
    return PeakReport(network.name, dtype, tuple(per_layer),
                      details={"reordered_blocks": [b.name for b in blocks.values()]})


def run_reordered_block(
    block: Bottleneck, x: np.ndarray, weights: dict, dtype: DType | str,
) -> np.ndarray:
    """Execute a bottleneck one expansion channel at a time with the golden ops."""
    dtype = DType(dtype)
    expand_w = weights[block.expand.name]
    depthwise_w = weights[block.depthwise.name]
    project_w = weights[block.project.name]
    dw_geometry = block.depthwise.layer.geometry(block.depthwise.input_shapes[0].channels)
    accumulator: np.ndarray | None = None
    integer = dtype is DType.INT8
    for channel in range(block.expand.output_shape.channels):
        one = slice(channel, channel + 1)
        expanded = ops.conv2d(x, expand_w.weight[..., one], expand_w.bias[one])
        expanded = activate(requantized(expanded, expand_w, dtype),
                            block.expand.layer.activation, dtype)
        filtered = ops.conv2d(
            expanded, depthwise_w.weight[..., one], depthwise_w.bias[one],
            stride=dw_geometry.stride, padding=dw_geometry.padding, dilation=dw_geometry.dilation,
        )
        filtered = activate(requantized(filtered, depthwise_w, dtype),
                            block.depthwise.layer.activation, dtype)
        contribution = ops.conv2d(filtered, project_w.weight[:, :, one, :])
        if integer:
            contribution = contribution.astype(np.int64)
        accumulator = contribution if accumulator is None else accumulator + contribution
    assert accumulator is not None
    if integer:
        accumulator = wrap_int32(accumulator + project_w.bias.astype(np.int64))
    else:
        accumulator = accumulator + project_w.bias
    out = activate(requantized(accumulator, project_w, dtype), block.project.layer.activation,
                   dtype)
    if block.add is not None:
        out = activate(ops.add(out, x), block.add.layer.activation, dtype)
    return out

