"""ONNX import on models built here with onnx.helper: a MobileNetV2 inverted residual block and a
conv-pool-gemm net, checked against hand-counted shapes, parameters and MACs; refused nodes."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from sim.cli import main
from sim.config import ConfigError
from sim.importers.onnx_model import import_onnx, read_onnx
from sim.workload.io import load_network
from sim.workload.layers import Activation


def constant(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    return numpy_helper.from_array(values, name)


def batchnorm(name: str, source: str, channels: int) -> tuple[onnx.NodeProto, list]:
    tensors = [constant(f"{name}_{part}", (channels,)) for part in ("s", "b", "m", "v")]
    node = helper.make_node("BatchNormalization", [source] + [t.name for t in tensors],
                            [name], name=name)
    return node, tensors


def save(tmp_path, nodes, initializers, input_shape, output_name, output_shape, opset=13):
    graph = helper.make_graph(
        nodes, "test_net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, output_shape)],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return path


def inverted_residual(tmp_path, clip_high: float = 6.0):
    """1x1 expand 16 -> 96 + BN + ReLU6, 3x3 depthwise + BN + ReLU6, 1x1 project 96 -> 16 + BN,
    residual add, on an 8 x 8 x 16 input."""
    nodes, inits = [], []
    six = numpy_helper.from_array(np.array(clip_high, np.float32), "six")
    zero = numpy_helper.from_array(np.array(0.0, np.float32), "zero")
    inits += [six, zero, constant("w_expand", (96, 16, 1, 1)), constant("w_dw", (96, 1, 3, 3)),
              constant("w_project", (16, 96, 1, 1))]
    nodes.append(helper.make_node("Conv", ["x", "w_expand"], ["e"], name="expand"))
    bn, tensors = batchnorm("e_bn", "e", 96)
    nodes.append(bn)
    inits += tensors
    nodes.append(helper.make_node("Clip", ["e_bn", "zero", "six"], ["e_act"], name="e_relu6"))
    nodes.append(helper.make_node("Conv", ["e_act", "w_dw"], ["d"], name="dw", group=96,
                                  pads=[1, 1, 1, 1]))
    bn, tensors = batchnorm("d_bn", "d", 96)
    nodes.append(bn)
    inits += tensors
    nodes.append(helper.make_node("Clip", ["d_bn", "zero", "six"], ["d_act"], name="d_relu6"))
    nodes.append(helper.make_node("Conv", ["d_act", "w_project"], ["p"], name="project"))
    bn, tensors = batchnorm("p_bn", "p", 16)
    nodes.append(bn)
    inits += tensors
    nodes.append(helper.make_node("Add", ["x", "p_bn"], ["y"], name="residual"))
    return save(tmp_path, nodes, inits, [1, 16, 8, 8], "y", [1, 16, 8, 8])


def test_inverted_residual_block(tmp_path):
    network = read_onnx(inverted_residual(tmp_path))
    expand, depthwise, project, residual = network.layers
    assert [layer.kind for layer in network.layers] == ["conv2d", "depthwise", "conv2d", "add"]
    assert expand.activation == depthwise.activation == Activation.RELU6
    assert expand.batchnorm and depthwise.batchnorm and project.batchnorm
    assert project.activation == Activation.NONE
    assert residual.inputs == ("input", "project")
    infos = {info.name: info for info in network.infos}
    assert infos["dw"].output_shape.channels == 96
    assert infos["residual"].output_shape == network.input_shape
    # MACs: 8*8 pixels x (16*96 expand + 9*96 depthwise + 96*16 project).
    assert network.total_macs == 64 * (16 * 96 + 9 * 96 + 96 * 16)
    # Parameters: weights plus a batch norm's scale and shift per channel.
    assert network.total_params == (16 * 96 + 2 * 96) + (9 * 96 + 2 * 96) + (96 * 16 + 2 * 16)


def conv_pool_gemm(tmp_path, extra=None):
    inits = [constant("w", (8, 3, 3, 3)), constant("b", (8,)), constant("fc_w", (10, 512)),
             constant("fc_b", (10,))]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["m"], name="pool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["m"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
    ]
    output = "logits"
    if extra is not None:
        nodes.append(extra)
        output = extra.output[0]
    return save(tmp_path, nodes, inits, [1, 3, 32, 32], output, [1, 10])


def test_conv_pool_gemm(tmp_path):
    network = read_onnx(conv_pool_gemm(tmp_path))
    conv, pool, fc = network.layers
    assert conv.activation == Activation.RELU and conv.bias and not conv.batchnorm
    assert conv.padding == (1, 1, 1, 1) and conv.stride == (2, 2)
    infos = {info.name: info for info in network.infos}
    assert infos["conv"].output_shape.height == 16
    assert infos["pool"].output_shape.height == 8
    assert network.total_macs == 16 * 16 * 27 * 8 + 512 * 10
    assert network.total_params == (27 * 8 + 8) + (512 * 10 + 10)


def test_unsupported_operator_names_the_node(tmp_path):
    path = conv_pool_gemm(tmp_path, helper.make_node("Softplus", ["logits"], ["p"], name="prob"))
    with pytest.raises(ConfigError) as error:
        read_onnx(path)
    assert "node prob (Softplus)" in str(error.value) and "Conv" in str(error.value)


def test_softmax_at_the_output_is_dropped_with_a_note(tmp_path):
    path = conv_pool_gemm(tmp_path, helper.make_node("Softmax", ["logits"], ["p"], name="prob"))
    imported = import_onnx(path)
    assert [layer.kind for layer in imported.network.layers] == ["conv2d", "maxpool", "fc"]
    assert imported.network.total_macs == 16 * 16 * 27 * 8 + 512 * 10
    assert len(imported.notes) == 1 and "Softmax prob" in imported.notes[0]


def test_clip_outside_relu_forms_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"node e_relu6 \(Clip\).*\[0.0, 4.0\]"):
        read_onnx(inverted_residual(tmp_path, clip_high=4.0))


def test_cli_writes_a_loadable_network(tmp_path, capsys):
    out = tmp_path / "block.yaml"
    assert main(["import", "onnx", str(inverted_residual(tmp_path)), "--out", str(out)]) == 0
    assert load_network(out).total_macs == 64 * (16 * 96 + 9 * 96 + 96 * 16)


def test_a_file_that_is_not_onnx_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")
    assert main(["import", "onnx", str(path), "--out", str(tmp_path / "x.yaml")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cannot be read as ONNX" in error
    assert not (tmp_path / "x.yaml").exists()
