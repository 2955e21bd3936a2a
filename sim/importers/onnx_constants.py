"""Constant folding for ONNX graphs, before any node is mapped to a layer.

A tensor is a *constant* when no graph input reaches it: an initializer, a ``Constant`` node's
output, or the output of a foldable node (``FOLDABLE``) whose inputs are all constants. Every
constant has a shape (``TensorProto.dims`` for initializers, so a model whose weight data is
not loaded still has them); small constants also have a value (shape targets, clip bounds,
split sizes, axes), computed here with NumPy. Weights are never read: the importer only needs
their shapes.

``Shape`` of a tensor whose shape is fully known is a constant too, so the chains exporters
write to compute a reshape target (``Shape -> Gather -> Unsqueeze -> Concat -> Reshape``) fold
to one static target once shape inference has run (see :func:`fold_constants`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

SMALL_ELEMENTS = 4096  # constants up to this many elements get their values read (elements)

FOLDABLE = ("Constant", "Identity", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast",
            "Reshape", "Transpose", "Slice", "Add", "Sub", "Mul", "Div")
# Operators that keep a constant a constant when its value is not read (a weight passed through
# Identity, cast, reshaped or transposed by the exporter): the shape is derived, not the data.
_SHAPE_ONLY = ("Identity", "Cast", "Reshape", "Transpose", "Unsqueeze", "Squeeze")


class FoldError(ValueError):
    """A constant that cannot be computed; the message says why."""


@dataclass(frozen=True)
class ConstantTensor:
    """A tensor fixed before inference: its shape, ONNX element type and value when read.

    ``value`` is None for large tensors (weights) and for tensors whose external data file is
    missing; ``missing_file`` names that file, so an error can say why a value is unknown.
    """

    shape: tuple[int, ...]
    elem_type: int
    value: np.ndarray | None = None
    missing_file: str = ""

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


def _external_location(tensor) -> str:
    return next((entry.value for entry in tensor.external_data if entry.key == "location"), "")


def initializer_constant(tensor, base_dir: Path) -> ConstantTensor:
    """An initializer as a constant: dims always; the value only if small and its data is here."""
    from onnx import TensorProto, numpy_helper

    shape = tuple(int(dim) for dim in tensor.dims)
    constant = ConstantTensor(shape, tensor.data_type)
    if constant.elements > SMALL_ELEMENTS:
        return constant
    if tensor.data_location == TensorProto.EXTERNAL:
        location = _external_location(tensor)
        if not (base_dir / location).is_file():
            return ConstantTensor(shape, tensor.data_type, None, location)
        return ConstantTensor(shape, tensor.data_type,
                              numpy_helper.to_array(tensor, base_dir=str(base_dir)))
    return ConstantTensor(shape, tensor.data_type, numpy_helper.to_array(tensor))


def constant_node_value(node) -> ConstantTensor:
    """A Constant node's value, whichever attribute holds it (value, value_float(s), ...)."""
    import onnx
    from onnx import numpy_helper

    if len(node.attribute) != 1:
        raise FoldError("a Constant needs exactly one value attribute")
    attribute = node.attribute[0]
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, onnx.TensorProto):
        array = numpy_helper.to_array(value)
    elif attribute.name in ("value_float", "value_floats"):
        array = np.array(value, np.float32)
    elif attribute.name in ("value_int", "value_ints"):
        array = np.array(value, np.int64)
    else:
        raise FoldError(f"unsupported Constant attribute {attribute.name} (allowed: value, "
                        "value_float(s), value_int(s))")
    return ConstantTensor(tuple(array.shape), _elem_type(array.dtype), array)


def _elem_type(dtype: np.dtype) -> int:
    import onnx

    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def fold_constants(nodes, opset: int, constants: dict[str, ConstantTensor],
                   shapes: dict[str, tuple[int | None, ...]], folded: set[int]) -> int:
    """Fold every node of ``nodes`` (in graph order) whose output is a constant.

    ``constants`` gains the outputs, ``folded`` the indices of the folded nodes; ``shapes`` are
    the static shapes known so far (for ``Shape``). Returns how many nodes were folded now.
    """
    count = 0
    for index, node in enumerate(nodes):
        if index in folded or node.op_type not in FOLDABLE or node.domain not in ("", "ai.onnx"):
            continue
        result = _fold(node, opset, constants, shapes)
        if result is None:
            continue
        constants[node.output[0]] = result
        folded.add(index)
        count += 1
    return count


def _fold(node, opset: int, constants: dict[str, ConstantTensor],
          shapes: dict[str, tuple[int | None, ...]]) -> ConstantTensor | None:
    op = node.op_type
    if op == "Constant":
        return constant_node_value(node)
    if op == "Shape":
        return _shape_of(node, constants, shapes)
    inputs = [name for name in node.input if name]
    if not inputs or any(name not in constants for name in inputs):
        return None
    if all(constants[name].value is not None for name in inputs):
        values = [None if not name else constants[name].value for name in node.input]
        array = np.asarray(_evaluate(node, opset, values))
        if array.size <= SMALL_ELEMENTS:
            return ConstantTensor(tuple(array.shape), _elem_type(array.dtype), array)
        return ConstantTensor(tuple(array.shape), _elem_type(array.dtype))
    if op in _SHAPE_ONLY:
        return _shape_only(node, opset, constants)
    return None


def _shape_of(node, constants: dict[str, ConstantTensor],
              shapes: dict[str, tuple[int | None, ...]]) -> ConstantTensor | None:
    """Shape(x) when every dimension of x is known (opset 15's start and end included)."""
    source = node.input[0]
    shape = constants[source].shape if source in constants else shapes.get(source)
    if shape is None or any(dim is None for dim in shape):
        return None
    attributes = _attributes(node)
    start, end = attributes.get("start", 0), attributes.get("end", len(shape))
    array = np.array(shape[start:end], np.int64)
    return ConstantTensor(tuple(array.shape), _elem_type(array.dtype), array)


def _attributes(node) -> dict:
    import onnx

    return {item.name: onnx.helper.get_attribute_value(item) for item in node.attribute}


def _axes(node, opset: int, values: list, since: int) -> list[int] | None:
    """Axes as an attribute before opset ``since``, as the second input from it on."""
    if opset < since:
        axes = _attributes(node).get("axes")
        return None if axes is None else list(axes)
    if len(values) > 1 and values[1] is not None:
        return [int(axis) for axis in np.asarray(values[1]).reshape(-1)]
    return None


def _evaluate(node, opset: int, values: list):
    """The node's output from NumPy values of its inputs (None for an absent optional input)."""
    import onnx

    op, attributes, first = node.op_type, _attributes(node), values[0]
    if op == "Identity":
        return first
    if op == "Cast":
        return first.astype(onnx.helper.tensor_dtype_to_np_dtype(attributes["to"]))
    if op == "Gather":
        return np.take(first, np.asarray(values[1]), axis=attributes.get("axis", 0))
    if op == "Unsqueeze":
        axes = _axes(node, opset, values, 13) or []
        rank = first.ndim + len(axes)
        return first.reshape(_unsqueezed(first.shape, [a % rank for a in axes]))
    if op == "Squeeze":
        axes = _axes(node, opset, values, 13)
        return np.squeeze(first, axis=None if axes is None else tuple(axes))
    if op == "Concat":
        return np.concatenate([np.asarray(v) for v in values if v is not None],
                              axis=attributes["axis"])
    if op == "Reshape":
        target = reshape_target(first.shape, [int(v) for v in values[1]],
                                bool(attributes.get("allowzero", 0)))
        return first.reshape(target)
    if op == "Transpose":
        return np.transpose(first, attributes.get("perm"))
    if op == "Slice":
        result = first
        for axis, start, stop, step in slice_bounds(node, opset, values, first.shape):
            # Clamped bounds as explicit indices (a slice would read a start of -1 as the end).
            result = np.take(result, np.arange(start, stop, step, dtype=np.int64), axis=axis)
        return result
    if op == "Div" and np.issubdtype(np.asarray(first).dtype, np.integer):
        return np.trunc(np.asarray(first) / np.asarray(values[1])).astype(first.dtype)
    functions = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}
    return functions[op](first, values[1])


def _unsqueezed(shape: tuple[int, ...], axes: list[int]) -> tuple[int, ...]:
    dims = list(shape)
    for axis in sorted(axes):
        dims.insert(axis, 1)
    return tuple(dims)


def reshape_target(shape: tuple[int, ...], target: list[int], allowzero: bool) -> tuple[int, ...]:
    """ONNX Reshape's output shape: 0 copies the input's dimension (unless ``allowzero``), one
    -1 takes what is left of the elements."""
    dims = [shape[i] if value == 0 and not allowzero else value for i, value in enumerate(target)]
    if dims.count(-1) > 1:
        raise FoldError(f"reshape target {target} has more than one -1")
    if -1 in dims:
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
        total = int(np.prod(shape, dtype=np.int64))
        if known == 0 or total % known:
            raise FoldError(f"reshape target {target} does not fit {list(shape)}")
        dims[dims.index(-1)] = total // known
    if int(np.prod(dims, dtype=np.int64)) != int(np.prod(shape, dtype=np.int64)):
        raise FoldError(f"reshape target {target} does not fit {list(shape)}")
    return tuple(dims)


def slice_bounds(node, opset: int, values: list, shape) -> list[tuple[int, int, int, int]]:
    """(axis, start, stop, step) for each sliced axis, clamped to ``shape`` as ONNX does."""
    rank = len(shape)
    if opset < 10:
        attributes = _attributes(node)
        starts, ends = list(attributes["starts"]), list(attributes["ends"])
        axes = list(attributes.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = (list(np.asarray(values[i]).reshape(-1)) for i in (1, 2))
        axes = list(range(len(starts))) if len(values) < 4 or values[3] is None else \
            list(np.asarray(values[3]).reshape(-1))
        steps = [1] * len(starts) if len(values) < 5 or values[4] is None else \
            list(np.asarray(values[4]).reshape(-1))
    bounds = []
    for axis, start, stop, step in zip(axes, starts, ends, steps, strict=True):
        axis = int(axis) % rank
        size = shape[axis]
        start, stop, step = int(start), int(stop), int(step)
        if step == 0:
            raise FoldError("Slice step 0")
        start = start + size if start < 0 else start
        stop = stop + size if stop < 0 else stop
        low, high = (0, size) if step > 0 else (-1, size - 1)
        bounds.append((axis, min(max(start, low), high), min(max(stop, low), high), step))
    return bounds


def _shape_only(node, opset: int, constants: dict[str, ConstantTensor]) -> ConstantTensor | None:
    """The shape of a pass-through of a constant whose value is not read (a weight)."""
    source = constants[node.input[0]]
    op, attributes = node.op_type, _attributes(node)
    values = [None if not name else constants[name].value for name in node.input]
    shape: tuple[int, ...]
    if op in ("Identity", "Cast"):
        shape = source.shape
    elif op == "Transpose":
        perm = attributes.get("perm", list(range(len(source.shape)))[::-1])
        shape = tuple(source.shape[axis] for axis in perm)
    elif op == "Reshape":
        if values[1] is None:
            return None
        shape = reshape_target(source.shape, [int(v) for v in values[1]],
                               bool(attributes.get("allowzero", 0)))
    elif op == "Unsqueeze":
        axes = _axes(node, opset, values, 13)
        if axes is None:
            return None
        rank = len(source.shape) + len(axes)
        shape = _unsqueezed(source.shape, [axis % rank for axis in axes])
    else:  # Squeeze
        axes = _axes(node, opset, values, 13)
        rank = len(source.shape)
        axes = [i for i, d in enumerate(source.shape) if d == 1] if axes is None else \
            [axis % rank for axis in axes]
        shape = tuple(d for i, d in enumerate(source.shape) if i not in axes)
    elem_type = attributes["to"] if op == "Cast" else source.elem_type
    return ConstantTensor(shape, elem_type, None, source.missing_file)
