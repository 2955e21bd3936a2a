"""Mapping the ONNX nodes that move channels or only reshape: Concat, Split, Slice, the
Reshape-Transpose-Reshape channel shuffle, pass-through reshapes, and an output Softmax."""

from __future__ import annotations

from sim.importers.onnx_constants import reshape_target, slice_bounds
from sim.importers.onnx_mapper import MapperState
from sim.importers.onnx_patterns import channel_shuffle_groups
from sim.workload.layers import (
    ChannelShuffle,
    ChannelSlice,
    Concat,
    Layer,
)


class ChannelMappers(MapperState):
    """Concat, Split, Slice, Reshape, Transpose, Flatten/Squeeze/Identity/Dropout, Softmax."""

    def _concat(self, node) -> Layer | None:
        axis = self._rank4_axis(node, self._attributes(node)["axis"], "Concat")
        if axis != 1:
            raise self.graph.error(node, f"concatenation on axis {axis}",
                                   allowed="axis 1 (channels)")
        sources = tuple(self._source(node, i) for i in range(len(node.input)))
        if len(sources) == 1:
            self.tensor[node.output[0]] = sources[0]
            return None
        return Concat(name=self._name(node), inputs=sources)

    def _split(self, node) -> None:
        """Split on channels: sizes from the ``split`` attribute (opset < 13), the second input
        (opset >= 13), or equal parts (``num_outputs`` from opset 18, else one per output)."""
        attributes = self._attributes(node)
        axis = self._rank4_axis(node, attributes.get("axis", 0), "Split")
        if axis != 1:
            raise self.graph.error(node, f"split on axis {axis}", allowed="axis 1 (channels)")
        channels = self._input_channels(node)
        if self.graph.opset < 13:
            sizes = attributes.get("split")
        else:
            value = self._value(node, 1)
            sizes = None if value is None else [int(v) for v in value.reshape(-1)]
        parts = len(node.output)
        if sizes is None:
            size = -(-channels // parts)   # ceil: the last part may be smaller (opset 18)
            sizes = [min(size, channels - i * size) for i in range(parts)]
        if len(sizes) != parts or sum(sizes) != channels or min(sizes) < 1:
            raise self.graph.error(node, f"split sizes {list(sizes)} of {channels} channels "
                                         f"into {parts} outputs",
                                   allowed=f"{parts} positive sizes adding up to {channels}")
        source, start = self._source(node), 0
        for output, size in zip(node.output, sizes, strict=True):
            if self.graph.readers(output):
                name = self._name(node) + f"_{start}_{start + size}"
                self._append(ChannelSlice(name=name, inputs=(source,), start=start,
                                          stop=start + size), output)
            start += size

    def _slice(self, node) -> Layer | None:
        shape = self._shape(node.input[0])
        if shape is None or len(shape) != 4 or None in shape[1:]:
            raise self.graph.error(node, "Slice needs a static 4-D N x C x H x W input")
        values = [None] + [self._value(node, i) for i in range(1, len(node.input))]
        bounds = slice_bounds(node, self.graph.opset, values, shape)
        start, stop = 0, shape[1]
        for axis, low, high, step in bounds:
            if axis == 1 and step == 1:
                start, stop = low, high
            elif axis in (2, 3) and (low, high, step) == (0, shape[axis], 1) or axis == 0:
                continue
            else:
                raise self.graph.error(node, f"slice of axis {axis} [{low}:{high}:{step}]",
                                       allowed="channels (axis 1) with step 1")
        if (start, stop) == (0, shape[1]):
            self.tensor[node.output[0]] = self._source(node)
            return None
        return ChannelSlice(name=self._name(node), inputs=(self._source(node),), start=start,
                            stop=stop)

    def _reshape_output(self, node) -> tuple | None:
        """The Reshape's static output shape: inferred, else from its folded target."""
        shape = self._shape(node.output[0])
        if shape is not None and None not in shape:
            return shape
        source = self._shape(node.input[0])
        target = self._value(node, 1)
        if source is None or None in source or target is None:
            return None
        allowzero = bool(self._attributes(node).get("allowzero", 0))
        return reshape_target(tuple(source), [int(v) for v in target.reshape(-1)], allowzero)

    def _reshape(self, node) -> None:
        source_shape = self._shape(node.input[0])
        out = self._reshape_output(node)
        if out is None:
            raise self.graph.error(node, "the reshape target is not static (it does not fold "
                                         "to a constant)")
        shuffle = channel_shuffle_groups(self.graph, node, out, source_shape)
        if shuffle is not None:
            groups, absorbed = shuffle
            self.absorbed.update(absorbed)
            back = self.graph.nodes[absorbed[-1]]
            self._append(ChannelShuffle(name=self._name(node), inputs=(self._source(node),),
                                        groups=groups), back.output[0])
            return
        if out == source_shape or (len(out) == 2 and out[0] in (1, None)):
            self.tensor[node.output[0]] = self._source(node)
            return
        raise self.graph.error(node, f"reshape to {list(out)} is not supported",
                               allowed="(N, features), the same shape, or a channel shuffle "
                                       "(Reshape-Transpose-Reshape)")

    def _output_softmax(self, node) -> None:
        """A softmax giving the graph output is no layer of ours (no MACs): it is dropped."""
        if node.output[0] not in self.graph.outputs:
            raise self.graph.error(node, "a softmax is supported only as the graph's output "
                                         "(it is then dropped)")
        self.tensor[node.output[0]] = self._source(node)
        self.notes.append(f"{self.graph.path}: {node.op_type} {node.name or node.output[0]} at "
                          "the output is not modelled (no MACs): the network ends before it")

    def _transpose(self, node) -> None:
        raise self.graph.error(node, "a transpose is supported only inside a channel shuffle "
                                     "(Reshape to N x g x C/g x H x W, perm (0, 2, 1, 3, 4), "
                                     "Reshape back)")

    def _pass_through(self, node) -> None:
        if node.op_type == "Flatten" and self._attributes(node).get("axis", 1) != 1:
            raise self.graph.error(node, "only a flatten from axis 1 is supported")
        if node.op_type == "Squeeze":
            shape = self._shape(node.output[0])
            if shape is None or len(shape) != 2:
                raise self.graph.error(node, "only a squeeze to (N, C) is supported")
        self.tensor[node.output[0]] = self._source(node)
