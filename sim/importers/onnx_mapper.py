"""The state an ONNX-to-network mapping builds up, and the helpers every node mapper uses.

A mapper walks the loaded graph's nodes in order (:mod:`sim.importers.onnx_model`); each node
either appends a layer, folds into the layer producing its input, or passes its input through.
``tensor`` maps each ONNX tensor to our tensor (the producing layer's name, or ``input``).
"""

from __future__ import annotations

import re

from sim import limits as lim
from sim.importers.onnx_load import LoadedGraph
from sim.workload.layers import Layer
from sim.workload.network import INPUT


class MapperState:
    """Layers made so far, the ONNX -> our tensor map, and node helpers."""

    def __init__(self, graph: LoadedGraph, input_name: str) -> None:
        self.graph = graph
        self.layers: list[Layer] = []
        self.index: dict[str, int] = {}        # our layer name -> position in ``layers``
        self.tensor = {input_name: INPUT}      # ONNX tensor -> our tensor (layer name)
        self.names: set[str] = set()
        self.absorbed: set[int] = set()        # node positions a pattern has consumed
        self.notes: list[str] = []             # one line each, for the user

    def _append(self, layer: Layer, output: str) -> None:
        self.index[layer.name] = len(self.layers)
        self.layers.append(layer)
        self.names.add(layer.name)
        self.tensor[output] = layer.name

    def _source(self, node, index: int = 0) -> str:
        name = node.input[index]
        if name not in self.tensor:
            if name in self.graph.constants:
                raise self.graph.error(node, f"input {name} is a constant; only tensors "
                                             "computed from the graph input are supported here")
            raise self.graph.error(node, f"input {name} comes from no supported layer")
        return self.tensor[name]

    def _name(self, node) -> str:
        base = identifier(node.name or f"{node.op_type.lower()}_{len(self.layers)}")
        name, suffix = base, 1
        while name in self.names:
            suffix += 1
            name = f"{base}_{suffix}"
        return name

    def _attributes(self, node) -> dict:
        import onnx

        return {item.name: onnx.helper.get_attribute_value(item) for item in node.attribute}

    def _constant_shape(self, node, index: int) -> tuple[int, ...]:
        if len(node.input) <= index or node.input[index] not in self.graph.constants:
            raise self.graph.error(node, f"input {index} must be a constant initializer")
        return self.graph.constants[node.input[index]].shape

    def _value(self, node, index: int):
        """The value of the node's constant input ``index`` (None when the input is absent)."""
        if len(node.input) <= index or not node.input[index]:
            return None
        constant = self.graph.constants.get(node.input[index])
        if constant is None:
            raise self.graph.error(node, f"input {index} ({node.input[index]}) must be a "
                                         "constant")
        if constant.value is None:
            why = (f"its external data {constant.missing_file} is missing"
                   if constant.missing_file else "it is too large to be a shape or a bound")
            raise self.graph.error(node, f"input {index} ({node.input[index]}) has no value: "
                                         f"{why}")
        return constant.value

    def _shape(self, tensor: str) -> tuple | None:
        return self.graph.shapes.get(tensor)

    def _rank4_axis(self, node, axis: int, what: str) -> int:
        shape = self._shape(node.input[0])
        if shape is None or len(shape) != 4:
            raise self.graph.error(node, f"{what} needs a 4-D N x C x H x W input, got "
                                         f"{'unknown' if shape is None else list(shape)}")
        return axis % 4

    def _check_ints(self, node, attribute: str, values: list, low: int, count: int) -> None:
        """Refuse an attribute that is not ``count`` integers in ``low..MAX_WINDOW``."""
        allowed = f"{count} integers {lim.int_range(low, lim.MAX_WINDOW)}"
        if len(values) != count or not all(isinstance(v, int) and low <= v <= lim.MAX_WINDOW
                                           for v in values):
            raise self.graph.error(node, f"{attribute} {values}", allowed=allowed)

    def _input_channels(self, node) -> int | None:
        """The channels of the node's first input, when shape inference knows them."""
        shape = self._shape(node.input[0])
        return shape[1] if shape is not None and len(shape) == 4 else None

    def _only_reader_layer(self, node, tensor: str) -> Layer:
        """The layer producing ``tensor``, which ``node`` must be the only reader of."""
        source = self.tensor.get(tensor)
        if source is None or source == INPUT or self.graph.readers(tensor) != 1:
            raise self.graph.error(node, "can only be folded into a layer whose output it "
                                         "alone reads")
        return self.layers[self.index[source]]

    def _replace(self, old: Layer, new: Layer, output: str) -> None:
        self.layers[self.index[old.name]] = new
        self.tensor[output] = new.name


def identifier(text: str) -> str:
    """A layer or network name: letters, digits and _ (ONNX names may hold / . : and more)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_")
    return cleaned if cleaned and not cleaned[0].isdigit() else f"n_{cleaned}"
