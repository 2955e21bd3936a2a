"""Pooling output sizes for ONNX shape inference, by the operators' own rule.

With ``ceil_mode`` the MaxPool and AveragePool texts ignore a sliding window that would start
in the trailing padding, as PyTorch does (an output of 5, not 6, for 9 inputs, kernel 2,
stride 2, one pad each side) and as :class:`sim.workload.layers.PoolLayer` counts; the onnx
package's shape inference keeps that window for every opset this importer reads (11..21;
onnx 1.23 drops it from opset 22 on). Every shape after such a pool would then disagree with
the layers the importer builds, and a reshape target written by the exporter would look
wrong. For shape inference only, each ceil-mode pool is replaced by a floor-mode pool of the
same output size (:func:`floor_equivalent`); the model's nodes are not changed.
"""

from __future__ import annotations

POOLS = ("MaxPool", "AveragePool")


def floor_equivalent(node, input_shape: tuple[int | None, ...] | None):
    """A floor-mode copy of ``node`` (a ceil-mode pool with explicit pads) whose output size
    is the operator's, windows starting in the trailing padding left out; None when ``node``
    needs none (not such a pool, or its input shape unknown)."""
    from onnx import helper

    if node.op_type not in POOLS or input_shape is None or len(input_shape) < 3:
        return None
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    auto_pad = attributes.get("auto_pad", b"NOTSET")
    if not attributes.get("ceil_mode") or auto_pad not in (b"NOTSET", "NOTSET"):
        return None
    kernel = list(attributes["kernel_shape"])
    spatial = len(kernel)
    sizes = input_shape[2:]
    if len(sizes) != spatial or None in sizes:
        return None
    strides = list(attributes.get("strides", [1] * spatial))
    pads = list(attributes.get("pads", [0] * 2 * spatial))
    dilations = list(attributes.get("dilations", [1] * spatial))
    ends = []
    for axis in range(spatial):
        size, before = sizes[axis], pads[axis]
        reach = dilations[axis] * (kernel[axis] - 1) + 1
        stride = strides[axis]
        padded = size + before + pads[axis + spatial]
        if padded < reach:
            return None
        out = -(-(padded - reach) // stride) + 1
        if (out - 1) * stride >= size + before:
            out -= 1
        # floor((size + P - reach) / stride) + 1 == out for P in [low, low + stride - 1];
        # the top of that range is never negative.
        ends.append((out - 1) * stride + reach - size + stride - 1)
    attributes.update(ceil_mode=0, pads=[0] * spatial + ends)
    return helper.make_node(node.op_type, list(node.input), list(node.output), name=node.name,
                            **attributes)
