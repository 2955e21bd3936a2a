"""Ceil-mode pooling sizes in ONNX shape inference (``sim.importers.onnx_pool_shapes``).

The expected sizes come from enumerating windows as the MaxPool text describes them, not from
a formula: in ceil mode window j starts at j x stride of the padded axis while it still
covers an input or leading pad the floor windows have not (j x stride <= padded - reach +
stride - 1), and a window starting in the trailing padding is ignored."""

from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper

from sim.importers.onnx_load import OPSETS, load_graph
from sim.importers.onnx_model import import_onnx
from sim.importers.onnx_pool_shapes import floor_equivalent
from sim.workload.layers import (
    Activation,
    ChannelShuffle,
    ChannelSlice,
    Concat,
    GlobalAvgPool,
    MaxPool2d,
    PointwiseConv2d,
    Shape,
)
from sim.workload.network import INPUT, Network
from tests.sim.importers.zoo_to_onnx import write_onnx


def windows(size: int, before: int, after: int, reach: int, stride: int) -> int:
    """Ceil-mode windows along one axis, counted one by one."""
    padded = size + before + after
    return sum(1 for start in range(0, padded + 1, stride)
               if start <= padded - reach + stride - 1 and start < size + before)


def pool_model(size: int, kernel: int, stride: int, before: int, after: int, opset: int):
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[kernel, kernel],
                            strides=[stride, stride], pads=[before, before, after, after],
                            ceil_mode=1)
    graph = helper.make_graph(
        [node], "pool", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                       [1, 2, size, size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_hand_worked_pool_drops_the_window_in_the_trailing_pad(tmp_path):
    """9 inputs, kernel 2, stride 2, one pad each side: windows start at padded 0, 2, 4, 6, 8
    and 10; the one at 10 is input 9, in the trailing pad, so 5 outputs (onnx's inference of
    opset 18 alone says 6)."""
    assert windows(9, 1, 1, 2, 2) == 5
    path = tmp_path / "pool.onnx"
    path.write_bytes(pool_model(9, 2, 2, 1, 1, 18).SerializeToString())
    assert load_graph(path).shapes["y"] == (1, 2, 5, 5)


@given(size=st.integers(1, 40), kernel=st.integers(1, 7), stride=st.integers(1, 5),
       before=st.integers(0, 3), after=st.integers(0, 3),
       opset=st.integers(OPSETS[0], OPSETS[1]))
def test_inferred_pool_size_is_the_enumerated_one(tmp_path_factory, size, kernel, stride,
                                                  before, after, opset):
    """Whatever the geometry, the importer's inferred size is the enumerated count, and so is
    the size the pooling layer computes."""
    padded = size + before + after
    if padded < kernel or before >= kernel or after >= kernel:
        return  # onnx requires pads below the kernel; no window fits
    expected = windows(size, before, after, kernel, stride)
    path = tmp_path_factory.mktemp("pool") / "pool.onnx"
    model = pool_model(size, kernel, stride, before, after, opset)
    path.write_bytes(model.SerializeToString())
    assert load_graph(path).shapes["y"] == (1, 2, expected, expected)
    assert floor_equivalent(model.graph.node[0], (1, 2, size, size)) is not None
    if 2 * max(before, after) > kernel:
        return  # the layers take pads of at most half the kernel
    layer = MaxPool2d(name="p", inputs=(INPUT,), kernel=(kernel, kernel),
                      stride=(stride, stride), padding=(before, after, before, after),
                      ceil_mode=True)
    assert layer.output_shape([Shape(size, size, 2)]).height == expected


def test_shuffle_after_a_ceil_pool_imports(tmp_path):
    """The network hypothesis found: a ceil-mode pool whose last window starts in the padding,
    then a shuffle whose exported reshape targets carry the pool's size (5 x 5), in the
    dynamo exporter's style (Shape chains read the shuffled tensor)."""
    layers = (
        MaxPool2d(name="b0", inputs=(INPUT,), kernel=(2, 2), stride=(2, 2),
                  padding=(1, 1, 1, 1), ceil_mode=True),
        ChannelSlice(name="b1_a", inputs=("b0",), start=0, stop=1),
        ChannelSlice(name="b1_b", inputs=("b0",), start=1, stop=2),
        PointwiseConv2d(name="b1_pw", inputs=("b1_b",), out_channels=1, batchnorm=True,
                        activation=Activation.RELU),
        Concat(name="b1_cat", inputs=("b1_a", "b1_pw")),
        ChannelShuffle(name="b1", inputs=("b1_cat",), groups=2),
        GlobalAvgPool(name="pool", inputs=("b1",)),
    )
    network = Network("shuffle", Shape(9, 9, 2), layers)
    imported = import_onnx(write_onnx(network, "dynamo", tmp_path)).network
    assert [info.output_shape.as_tuple() for info in imported.infos][-2:] == [
        info.output_shape.as_tuple() for info in network.infos][-2:]
    assert imported.total_macs == network.total_macs
