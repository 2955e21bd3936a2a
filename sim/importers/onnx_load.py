"""Reading an ONNX file into what the mapper needs: nodes, constants and static shapes.

Weights are never loaded: the file is read with ``load_external_data=False`` (so a model whose
external data files are missing still imports; its initializers keep their ``dims``), and shape
inference runs on a copy of the graph without the weights' data (weights become typed graph
inputs there), which costs milliseconds instead of copying every weight. Batch 1 is assumed: a
symbolic batch dimension of the input (an export with ``dynamic_axes``) is taken as 1, so the
shape chains that read it fold too. Constants are folded
first (:mod:`sim.importers.onnx_constants`), then shapes inferred; if the inferred shapes let
more ``Shape`` chains fold, inference runs once more.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sim.config import ConfigError
from sim.importers.onnx_constants import (
    ConstantTensor,
    FoldError,
    fold_constants,
    initializer_constant,
)
from sim.importers.onnx_pool_shapes import POOLS, floor_equivalent

Dims = tuple[int | None, ...]
OPSETS = (11, 21)  # the default-domain opsets the importer is tested on (inclusive)
MAX_FOLD_ROUNDS = 8  # rounds of folding after shape inference (each a chain of Shape nodes)


@dataclass
class LoadedGraph:
    """One ONNX graph ready for mapping. ``nodes`` are the nodes left after folding, in order."""

    path: Path
    name: str
    opset: int
    nodes: list
    inputs: list[tuple[str, Dims]]
    outputs: list[str]
    constants: dict[str, ConstantTensor]
    shapes: dict[str, Dims]
    consumers: dict[str, list[int]]  # tensor -> positions in ``nodes`` that read it
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def readers(self, tensor: str) -> int:
        """How many nodes and graph outputs read ``tensor``."""
        return len(self.consumers.get(tensor, ())) + self.outputs.count(tensor)

    def error(self, node, message: str, allowed: str = "") -> ConfigError:
        return ConfigError(self.path, message, field=f"node {node.name or '(unnamed)'} "
                                                     f"({node.op_type})", allowed=allowed)


def load_graph(path: Path) -> LoadedGraph:
    """Read ``path``; fold constants; infer shapes. Problems are one-line ConfigErrors."""
    import onnx

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # noqa: BLE001 - protobuf raises many types
        raise ConfigError(path, f"cannot be read as ONNX: {_first_line(error)}") from None
    seconds["load"] = time.perf_counter() - start
    opset = next((entry.version for entry in model.opset_import
                  if entry.domain in ("", "ai.onnx")), 0)
    if not OPSETS[0] <= opset <= OPSETS[1]:
        raise ConfigError(path, f"opset {opset}", field="opset_import",
                          allowed=f"default-domain opset {OPSETS[0]}..{OPSETS[1]}")
    graph = model.graph

    start = time.perf_counter()
    constants = {tensor.name: initializer_constant(tensor, path.parent)
                 for tensor in graph.initializer}
    missing = sorted({c.missing_file for c in constants.values() if c.missing_file}
                     | _missing_large_files(graph, path.parent))
    nodes = list(graph.node)
    shapes: dict[str, Dims] = _declared_shapes(graph)
    for value in graph.input:  # batch 1 is assumed: a symbolic batch dimension is 1
        if value.name not in constants and shapes.get(value.name):
            shapes[value.name] = (1, *shapes[value.name][1:])
    folded: set[int] = set()
    try:
        fold_constants(nodes, opset, constants, shapes, folded)
    except (FoldError, ValueError, TypeError, KeyError, IndexError) as error:
        raise ConfigError(path, f"a constant cannot be folded: {_first_line(error)}") from None
    seconds["fold"] = time.perf_counter() - start

    start = time.perf_counter()
    shapes.update(_inferred_shapes(path, model, nodes, folded, constants))
    try:
        for _ in range(MAX_FOLD_ROUNDS):  # each round's shapes may let more Shape nodes fold
            if not fold_constants(nodes, opset, constants, shapes, folded):
                break
            shapes.update(_inferred_shapes(path, model, nodes, folded, constants))
    except (FoldError, ValueError, TypeError, KeyError, IndexError) as error:
        raise ConfigError(path, f"a constant cannot be folded: {_first_line(error)}") from None
    seconds["shape inference"] = time.perf_counter() - start

    kept = [node for index, node in enumerate(nodes) if index not in folded]
    consumers: dict[str, list[int]] = {}
    for position, node in enumerate(kept):
        for name in node.input:
            if name:
                consumers.setdefault(name, []).append(position)
    inputs = [(value.name, shapes.get(value.name, ())) for value in graph.input
              if value.name not in constants]
    notes = []
    if missing:
        notes.append(f"{path}: external data {', '.join(missing)} not found: weights are "
                     "counted from the initializers' shapes, no values are read")
    return LoadedGraph(path, graph.name, opset, kept, inputs,
                       [value.name for value in graph.output], constants, shapes, consumers,
                       notes, seconds)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _missing_large_files(graph, base_dir: Path) -> set[str]:
    """External data files that large initializers point to and that are not there."""
    from onnx import TensorProto

    locations = set()
    for tensor in graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            locations.add(location)
    return {location for location in locations if not (base_dir / location).is_file()}


def _dims(value) -> Dims:
    dims = value.type.tensor_type.shape.dim
    return tuple(dim.dim_value if dim.HasField("dim_value") else None for dim in dims)


def _declared_shapes(graph) -> dict[str, Dims]:
    shapes: dict[str, Dims] = {}
    for value in list(graph.value_info) + list(graph.input) + list(graph.output):
        if value.type.HasField("tensor_type") and value.type.tensor_type.HasField("shape"):
            shapes[value.name] = _dims(value)
    return shapes


def _batch_of_one(value):
    """A copy of a graph input's value info whose first (batch) dimension is fixed to 1."""
    copy = type(value)()
    copy.CopyFrom(value)
    dims = copy.type.tensor_type.shape.dim
    if len(dims) and not dims[0].HasField("dim_value"):
        dims[0].Clear()
        dims[0].dim_value = 1
    return copy


def _inferred_shapes(path: Path, model, nodes: list, folded: set[int],
                     constants: dict[str, ConstantTensor]) -> dict[str, Dims]:
    """Shape inference on the unfolded nodes, constants standing in as small initializers
    (with their values) or as typed graph inputs (weights, whose data is not needed).

    Ceil-mode pools stand in as floor-mode pools of the operator's output size
    (:mod:`sim.importers.onnx_pool_shapes`); as each one's input shape is known only from an
    inference, inference runs again until no stand-in changes (at most once per pool more)."""
    kept = [node for index, node in enumerate(nodes) if index not in folded]
    shapes = _inferred_once(path, model, kept, constants)
    pools = [position for position, node in enumerate(kept) if node.op_type in POOLS]
    stand_ins: dict[int, object] = {}
    for _ in pools:
        changed = False
        for position in pools:
            node = kept[position]
            stand_in = floor_equivalent(node, shapes.get(node.input[0]))
            if stand_in is not None and stand_in != stand_ins.get(position):
                stand_ins[position] = stand_in
                changed = True
        if not changed:
            break
        shapes = _inferred_once(path, model, [stand_ins.get(position, node)
                                              for position, node in enumerate(kept)],
                                constants)
    return shapes


def _inferred_once(path: Path, model, kept: list, constants: dict[str, ConstantTensor]
                   ) -> dict[str, Dims]:
    """:func:`_inferred_shapes` of the nodes ``kept``, by one run of onnx's inference."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    read = {name for node in kept for name in node.input if name in constants}
    initializers, weight_inputs = [], []
    for name in sorted(read):
        constant = constants[name]
        if constant.value is not None:
            initializers.append(numpy_helper.from_array(constant.value, name))
        else:
            weight_inputs.append(helper.make_tensor_value_info(name, constant.elem_type,
                                                               list(constant.shape)))
    inputs = [_batch_of_one(value) for value in graph.input if value.name not in constants]
    light = helper.make_graph(kept, graph.name or "model", inputs + weight_inputs,
                              list(graph.output), initializers)
    light_model = helper.make_model(light, opset_imports=list(model.opset_import),
                                    ir_version=max(model.ir_version, 4))
    light_model.functions.extend(model.functions)
    try:
        inferred = onnx.shape_inference.infer_shapes(light_model, data_prop=True)
    except Exception as error:  # noqa: BLE001 - the checker raises many types
        raise ConfigError(path, f"shape inference failed: {_first_line(error)}") from None
    return _declared_shapes(inferred.graph)
