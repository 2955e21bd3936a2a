"""Exporter patterns that span several ONNX nodes and map to one layer or activation.

- **Channel shuffle** (ShuffleNet, both torch exporters): ``Reshape`` N x C x H x W to
  N x g x C/g x H x W, ``Transpose`` with perm (0, 2, 1, 3, 4), ``Reshape`` back to
  N x C x H x W; each intermediate read only by the next node. One ``channel_shuffle`` layer.
- **Gated activations**: ``Mul(x, Sigmoid(x))`` is SiLU and ``Mul(x, HardSigmoid(x))`` (with
  PyTorch's alpha 1/6, beta 1/2) is hardswish, when ``x`` is read by exactly those two nodes
  and the gate only by the ``Mul``; the activation then folds into the layer producing ``x``.

Each matcher returns the positions (in the loaded graph's node list) of the nodes the pattern
absorbs after the first one, or None when the nodes do not form the pattern.
"""

from __future__ import annotations

from sim.importers.onnx_load import LoadedGraph

SHUFFLE_PERM = (0, 2, 1, 3, 4)


def _only_reader(graph: LoadedGraph, tensor: str) -> int | None:
    """The position of the one node reading ``tensor`` (no graph output reads it), else None."""
    readers = graph.consumers.get(tensor, [])
    if len(readers) != 1 or tensor in graph.outputs:
        return None
    return readers[0]


def channel_shuffle_groups(graph: LoadedGraph, node, first_out: tuple | None,
                           source_shape: tuple | None) -> tuple[int, list[int]] | None:
    """(groups, absorbed positions) when ``node`` (a Reshape) starts a channel shuffle.

    ``source_shape`` is the Reshape's N x C x H x W input shape, ``first_out`` its static output
    shape; the second Reshape must give ``source_shape`` back.
    """
    import onnx

    if first_out is None or source_shape is None or len(source_shape) != 4 or \
            len(first_out) != 5:
        return None
    batch, channels, height, width = source_shape
    _, groups, per_group, out_h, out_w = first_out
    if (out_h, out_w) != (height, width) or groups * per_group != channels or first_out[0] != \
            batch:
        return None
    transpose_at = _only_reader(graph, node.output[0])
    if transpose_at is None:
        return None
    transpose = graph.nodes[transpose_at]
    perm = next((tuple(onnx.helper.get_attribute_value(a)) for a in transpose.attribute
                 if a.name == "perm"), None)
    if transpose.op_type != "Transpose" or perm != SHUFFLE_PERM:
        return None
    back_at = _only_reader(graph, transpose.output[0])
    if back_at is None:
        return None
    back = graph.nodes[back_at]
    if back.op_type != "Reshape" or graph.shapes.get(back.output[0]) != source_shape:
        return None
    return groups, [transpose_at, back_at]


def gated_activation_mul(graph: LoadedGraph, gate_node) -> int | None:
    """The position of the ``Mul(x, gate(x))`` completing SiLU or hardswish, else None."""
    source, gate = gate_node.input[0], gate_node.output[0]
    mul_at = _only_reader(graph, gate)
    if mul_at is None:
        return None
    mul = graph.nodes[mul_at]
    if mul.op_type != "Mul" or sorted(mul.input) != sorted((source, gate)):
        return None
    if graph.readers(source) != 2:
        return None
    return mul_at
