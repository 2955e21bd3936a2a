"""Constant folding against a second implementation: onnx's own reference evaluator
(``onnx.reference.ReferenceEvaluator``) runs the same nodes on the same random constants."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from sim.importers.onnx_constants import ConstantTensor, fold_constants

OPSET = 13


def reference(node, inputs: dict[str, np.ndarray]) -> np.ndarray:
    graph = helper.make_graph(
        [node], "fold",
        [helper.make_tensor_value_info(name, TensorProto.INT64, None) for name in inputs],
        [helper.make_tensor_value_info(node.output[0], TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return ReferenceEvaluator(model).run(None, inputs)[0]


def folded(node, inputs: dict[str, np.ndarray]) -> np.ndarray:
    constants = {name: ConstantTensor(value.shape, TensorProto.INT64, value)
                 for name, value in inputs.items()}
    done: set[int] = set()
    assert fold_constants([node], OPSET, constants, {}, done) == 1
    return constants[node.output[0]].value


shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def arange(shape) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)


@settings(max_examples=200, deadline=None)
@given(shape=shapes, data=st.data())
def test_slice_matches_the_reference(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    start = data.draw(st.integers(-6, 6))
    stop = data.draw(st.integers(-6, 6) | st.sampled_from([np.iinfo(np.int64).max,
                                                           np.iinfo(np.int64).min]))
    step = data.draw(st.sampled_from([-2, -1, 1, 2, 3]))
    inputs = {"x": arange(shape), "s": np.array([start]), "e": np.array([stop]),
              "a": np.array([axis]), "t": np.array([step])}
    node = helper.make_node("Slice", list(inputs), ["y"])
    assert np.array_equal(folded(node, inputs), reference(node, inputs))


@settings(max_examples=60, deadline=None)
@given(shape=shapes, data=st.data())
def test_reshape_with_zero_and_minus_one_matches_the_reference(shape, data):
    """A target keeping some leading dimensions (0), then one -1 for the rest."""
    keep = data.draw(st.integers(0, len(shape) - 1))
    target = [0] * keep + [-1]
    inputs = {"x": arange(shape), "shape": np.array(target)}
    node = helper.make_node("Reshape", list(inputs), ["y"])
    assert np.array_equal(folded(node, inputs), reference(node, inputs))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_gather_unsqueeze_concat_chain_matches_the_reference(shape, data):
    """The TorchScript reshape-target chain: Gather one entry of a shape vector, Unsqueeze it,
    Concat it with a constant tail."""
    index = data.draw(st.integers(-len(shape), len(shape) - 1))
    vector = np.array(shape, np.int64)
    gather = helper.make_node("Gather", ["v", "i"], ["g"], axis=0)
    unsqueeze = helper.make_node("Unsqueeze", ["g", "axes"], ["u"])
    concat = helper.make_node("Concat", ["u", "tail"], ["c"], axis=0)
    inputs = {"v": vector, "i": np.array(index), "axes": np.array([0]),
              "tail": np.array([-1, 7])}
    constants = {name: ConstantTensor(value.shape, TensorProto.INT64, value)
                 for name, value in inputs.items()}
    assert fold_constants([gather, unsqueeze, concat], OPSET, constants, {}, set()) == 3
    expected = np.array([shape[index], -1, 7])
    assert np.array_equal(constants["c"].value, expected)
    step = reference(gather, {"v": vector, "i": np.array(index)})
    assert np.array_equal(constants["g"].value, step)


@settings(max_examples=40, deadline=None)
@given(shape=shapes, data=st.data())
def test_transpose_and_squeeze_match_the_reference(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    inputs = {"x": arange(shape)}
    node = helper.make_node("Transpose", ["x"], ["y"], perm=list(perm))
    assert np.array_equal(folded(node, inputs), reference(node, inputs))
    squeeze = helper.make_node("Squeeze", ["x"], ["z"])
    assert np.array_equal(folded(squeeze, inputs), reference(squeeze, inputs))


def test_a_weight_without_its_value_keeps_a_derived_shape():
    """Identity then Transpose of a 1000 x 512 weight (not read): shape (512, 1000), no value."""
    constants = {"w": ConstantTensor((1000, 512), TensorProto.FLOAT)}
    nodes = [helper.make_node("Identity", ["w"], ["w_id"]),
             helper.make_node("Transpose", ["w_id"], ["w_t"], perm=[1, 0])]
    assert fold_constants(nodes, OPSET, constants, {}, set()) == 2
    assert constants["w_t"].shape == (512, 1000) and constants["w_t"].value is None
