"""Folding batch norms and activations into the layer that produces their input: Relu, Clip
as relu6 or relu, Sigmoid, HardSigmoid (PyTorch's alpha 1/6, beta 1/2), HardSwish, and SiLU /
hardswish written as ``Mul(x, gate(x))`` (:func:`sim.importers.onnx_patterns.gated_activation_mul`).
"""

from __future__ import annotations

import dataclasses

from sim.importers.onnx_mapper import MapperState
from sim.importers.onnx_patterns import gated_activation_mul
from sim.workload.layers import Activation
from sim.workload.network import INPUT

HARDSIGMOID_ALPHA, HARDSIGMOID_BETA = 1 / 6, 0.5  # PyTorch's hardsigmoid: relu6(x + 3) / 6


class FoldingMappers(MapperState):
    """Batch norms and activations folded into their producer (its output's only reader)."""

    def _fold(self, node, activation: Activation | None, gated: tuple[str, str] | None = None
              ) -> None:
        """Fold a batch norm (``activation`` None) or an activation into the layer producing
        the node's input, which the node must alone read. ``gated`` is (x, output) of a
        ``Mul(x, gate(x))`` pattern, already checked: fold into x's producer instead."""
        if gated is None:
            layer = self._only_reader_layer(node, node.input[0])
            output = node.output[0]
        else:
            layer = self.layers[self.index[self.tensor[gated[0]]]]
            output = gated[1]
        if activation is None:
            if not hasattr(layer, "batchnorm") or layer.batchnorm or \
                    getattr(layer, "activation", Activation.NONE) != Activation.NONE:
                raise self.graph.error(node, "a batch norm folds only into a convolution "
                                             "before its activation")
            new = dataclasses.replace(layer, batchnorm=True)
        else:
            if getattr(layer, "activation", None) != Activation.NONE:
                raise self.graph.error(node, "an activation folds only into a conv, fc, add or "
                                             "mul layer without one")
            new = dataclasses.replace(layer, activation=activation)
        self._replace(layer, new, output)

    def _gate(self, node) -> None:
        """Sigmoid / HardSigmoid: with ``Mul(x, gate(x))`` SiLU / hardswish, else the gate
        itself, folded into the layer producing x."""
        activation = self._activation(node)
        mul_at = gated_activation_mul(self.graph, node)
        if mul_at is None:
            self._fold(node, activation)
            return
        source = node.input[0]
        if self._source(node) == INPUT:
            raise self.graph.error(node, "a gated activation of the network input is not "
                                         "supported")
        self.absorbed.add(mul_at)
        gated = Activation.SILU if activation == Activation.SIGMOID else Activation.HARDSWISH
        self._fold(node, gated, (source, self.graph.nodes[mul_at].output[0]))

    def _activation(self, node) -> Activation | None:
        op = node.op_type
        if op == "BatchNormalization":
            return None
        simple = {"Relu": Activation.RELU, "Sigmoid": Activation.SIGMOID,
                  "HardSwish": Activation.HARDSWISH}
        if op in simple:
            return simple[op]
        if op == "HardSigmoid":
            attributes = self._attributes(node)
            alpha, beta = attributes.get("alpha", 0.2), attributes.get("beta", 0.5)
            if abs(alpha - HARDSIGMOID_ALPHA) > 1e-6 or abs(beta - HARDSIGMOID_BETA) > 1e-6:
                raise self.graph.error(node, f"HardSigmoid alpha {alpha:g}, beta {beta:g}",
                                       allowed="alpha 1/6, beta 0.5 (PyTorch's hardsigmoid)")
            return Activation.HARDSIGMOID
        low, high = self._clip_bound(node, 1), self._clip_bound(node, 2)
        if low == 0 and high == 6:
            return Activation.RELU6
        if low == 0 and high is None:
            return Activation.RELU
        raise self.graph.error(node, f"Clip to [{low}, {high}] is not supported "
                                     f"(allowed: [0, 6] as relu6, [0, inf) as relu)")

    def _clip_bound(self, node, position: int) -> float | None:
        """Clip's bound from its constant input at ``position`` (opset 11 on)."""
        value = self._value(node, position)
        return None if value is None else float(value)
