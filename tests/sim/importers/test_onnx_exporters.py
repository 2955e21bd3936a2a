"""ONNX graphs in the shapes both torch exporters write (TorchScript: Identity of each weight,
Shape-Gather-Unsqueeze-Concat reshape targets, Constant nodes; dynamo: ReduceMean, Slice, axes as
inputs from opset 18), each imported and checked against shapes, parameters and MACs counted by
hand in the comments. Parameters count weights and biases (and a batch norm's scale and shift);
MACs count convolutions and fully connected layers (output pixels x kernel x input channels per
group x filters)."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from sim.cli import main
from sim.config import ConfigError
from sim.importers.onnx_model import import_onnx, read_onnx
from sim.workload.layers import Activation, Shape
from tests.sim.importers.onnx_builders import GraphWriter, shape_chain_target

OPSETS = (11, 13, 17, 18, 21)


def kinds(network) -> list[str]:
    return [str(layer.kind) for layer in network.layers]


def shapes(network) -> dict[str, tuple[int, int, int]]:
    return {info.name: info.output_shape.as_tuple() for info in network.infos}


# --- TorchScript: Identity of an initializer, Constant clip bounds ------------------------------

def identity_conv(tmp_path, **save_options):
    """1x3x8x8 -> Conv 3->4, 3x3, pad 1, bias (weights through Identity) -> Clip(0, 6) whose
    bounds are Constant nodes, the max through Identity of the Constant."""
    writer = GraphWriter(identity_weights=True)
    conv = writer.conv("conv", "x", 3, 4, kernel=3, pad=1, bias=True)
    for name, value in (("low", 0.0), ("high_const", 6.0)):
        writer.nodes.append(helper.make_node(
            "Constant", [], [name], name=name,
            value=numpy_helper.from_array(np.array(value, np.float32))))
    high = writer.node("Identity", ["high_const"], "high")
    out = writer.node("Clip", [conv, "low", high], "relu6")
    return writer.save(tmp_path, [1, 3, 8, 8], out, [1, 4, 8, 8], **save_options)


def test_identity_of_initializer_is_a_constant(tmp_path):
    network = read_onnx(identity_conv(tmp_path))
    (conv,) = network.layers
    assert conv.kind == "conv2d" and conv.bias and conv.activation == Activation.RELU6
    assert shapes(network)["conv"] == (8, 8, 4)
    # params: 3x3x3x4 weights + 4 biases = 112; MACs: 8*8 pixels x 27 x 4 filters = 6912.
    assert network.total_params == 112
    assert network.total_macs == 6912


# --- ReduceMean pooling and static reshape targets ----------------------------------------------

def reduce_mean_head(tmp_path, opset: int, keepdims: int, chain: bool):
    """1x3x8x8 -> Conv 3->16, 3x3, pad 1 -> Relu -> ReduceMean over H, W -> (Reshape to
    (N, -1), its target computed by a Shape chain or given) -> Gemm 16->10 with bias."""
    writer = GraphWriter()
    relu = writer.node("Relu", [writer.conv("conv", "x", 3, 16, kernel=3, pad=1)], "relu")
    if opset < 18:
        mean = writer.node("ReduceMean", [relu], "mean", axes=[-1, -2], keepdims=keepdims)
    else:
        axes = writer.const("mean_axes", [-1, -2])
        mean = writer.node("ReduceMean", [relu, axes], "mean", keepdims=keepdims)
    flat = mean
    if keepdims:
        target = shape_chain_target(writer, mean, opset, [-1]) if chain else \
            writer.const("flat_shape", [1, -1])
        flat = writer.node("Reshape", [mean, target], "flat")
    fc = writer.node("Gemm", [flat, writer.weight("fc.weight", (10, 16)),
                              writer.weight("fc.bias", (10,))], "fc", transB=1)
    return writer.save(tmp_path, [1, 3, 8, 8], fc, [1, 10], opset=opset)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize(("keepdims", "chain"), [(1, True), (1, False), (0, False)])
def test_reduce_mean_is_global_average_pooling(tmp_path, opset, keepdims, chain):
    network = read_onnx(reduce_mean_head(tmp_path, opset, keepdims, chain))
    assert kinds(network) == ["conv2d", "global_avgpool", "fc"]
    assert shapes(network)["mean"] == (1, 1, 16)
    # conv: 3x3x3x16 = 432 params, 64 px x 27 x 16 = 27,648 MACs; fc: 16x10 + 10 = 170
    # params, 160 MACs.
    assert network.total_params == 432 + 170
    assert network.total_macs == 27_648 + 160


def test_reduce_mean_over_channels_is_refused(tmp_path):
    writer = GraphWriter()
    out = writer.node("ReduceMean", ["x"], "mean", axes=[1], keepdims=1)
    path = writer.save(tmp_path, [1, 3, 8, 8], out, [1, 1, 8, 8])
    with pytest.raises(ConfigError, match=r"node mean \(ReduceMean\).*axes \[1\]"):
        read_onnx(path)


def test_matmul_of_a_transposed_weight_plus_bias_is_one_fc(tmp_path):
    """x: 1x16x1x1 -> Flatten -> MatMul(Transpose(W 10x16)) -> Add(bias 10): the fc layer
    (with bias) older dynamo exports write; 16 x 10 + 10 = 170 params, 160 MACs."""
    writer = GraphWriter()
    flat = writer.node("Flatten", ["x"], "flat")
    weight = writer.node("Transpose", [writer.weight("fc.weight", (10, 16))], "w_t",
                         perm=[1, 0])
    product = writer.node("MatMul", [flat, weight], "fc")
    out = writer.node("Add", [product, writer.weight("fc.bias", (10,))], "fc_bias")
    network = read_onnx(writer.save(tmp_path, [1, 16, 1, 1], out, [1, 10]))
    (fc,) = network.layers
    assert fc.kind == "fc" and fc.bias and fc.out_features == 10
    assert network.total_params == 170 and network.total_macs == 160


# --- squeeze-and-excitation ---------------------------------------------------------------------

def se_block(tmp_path, pool: str, gate: str, opset: int):
    """x: 1x16x8x8 -> pool -> Conv 16->4 1x1 bias -> Relu -> Conv 4->16 1x1 bias -> gate
    -> Mul(x, gate): the gate broadcast over the 8x8 pixels."""
    writer = GraphWriter(identity_weights=True)
    if pool == "GlobalAveragePool":
        pooled = writer.node("GlobalAveragePool", ["x"], "pool")
    elif opset < 18:
        pooled = writer.node("ReduceMean", ["x"], "pool", axes=[2, 3], keepdims=1)
    else:
        pooled = writer.node("ReduceMean", ["x", writer.const("axes", [2, 3])], "pool",
                             keepdims=1)
    fc1 = writer.node("Relu", [writer.conv("fc1", pooled, 16, 4, bias=True)], "fc1_relu")
    fc2 = writer.conv("fc2", fc1, 4, 16, bias=True)
    attributes = {"alpha": 1 / 6, "beta": 0.5} if gate == "HardSigmoid" else {}
    gated = writer.node(gate, [fc2], "gate", **attributes)
    out = writer.node("Mul", ["x", gated], "scale")
    return writer.save(tmp_path, [1, 16, 8, 8], out, [1, 16, 8, 8], opset=opset)


@pytest.mark.parametrize("opset", (13, 18))
@pytest.mark.parametrize("pool", ("GlobalAveragePool", "ReduceMean"))
@pytest.mark.parametrize("gate", ("Sigmoid", "HardSigmoid"))
def test_squeeze_excitation_block(tmp_path, pool, gate, opset):
    network = read_onnx(se_block(tmp_path, pool, gate, opset))
    assert kinds(network) == ["global_avgpool", "conv2d", "conv2d", "mul"]
    _, fc1, fc2, scale = network.layers
    assert fc1.activation == Activation.RELU
    assert fc2.activation == (Activation.SIGMOID if gate == "Sigmoid" else
                              Activation.HARDSIGMOID)
    assert scale.inputs == ("input", "fc2")
    assert shapes(network)["fc2"] == (1, 1, 16) and shapes(network)["scale"] == (8, 8, 16)
    # fc1: 16x4 + 4 = 68 params, 1 px x 16 x 4 = 64 MACs; fc2: 4x16 + 16 = 80 params, 64 MACs;
    # the pool and the product have none.
    assert network.total_params == 68 + 80
    assert network.total_macs == 64 + 64


def test_hardsigmoid_with_onnx_default_alpha_is_refused(tmp_path):
    writer = GraphWriter()
    out = writer.node("HardSigmoid", [writer.conv("conv", "x", 3, 4)], "gate")
    path = writer.save(tmp_path, [1, 3, 4, 4], out, [1, 4, 4, 4])
    with pytest.raises(ConfigError, match=r"node gate \(HardSigmoid\).*alpha 0.2.*1/6"):
        read_onnx(path)


# --- SiLU and hardswish written as Mul(x, gate(x)) ----------------------------------------------

@pytest.mark.parametrize(("gate", "expected"), [("Sigmoid", Activation.SILU),
                                                ("HardSigmoid", Activation.HARDSWISH),
                                                ("HardSwish", Activation.HARDSWISH)])
def test_gated_activation_folds_into_the_conv(tmp_path, gate, expected):
    """1x3x8x8 -> Conv 3->8 3x3 pad 1 -> BN -> SiLU (Sigmoid + Mul), hardswish (HardSigmoid +
    Mul, TorchScript before opset 14) or HardSwish."""
    writer = GraphWriter()
    bn = writer.batchnorm("bn", writer.conv("conv", "x", 3, 8, kernel=3, pad=1), 8)
    attributes = {"alpha": 1 / 6, "beta": 0.5} if gate == "HardSigmoid" else {}
    if gate == "HardSwish":
        out = writer.node("HardSwish", [bn], "act")
    else:
        out = writer.node("Mul", [bn, writer.node(gate, [bn], "gate", **attributes)], "act")
    network = read_onnx(writer.save(tmp_path, [1, 3, 8, 8], out, [1, 8, 8, 8], opset=14))
    (conv,) = network.layers
    assert conv.activation == expected and conv.batchnorm
    # 3x3x3x8 = 216 weights + 2 x 8 batch-norm; 64 px x 27 x 8 = 13,824 MACs.
    assert network.total_params == 216 + 16
    assert network.total_macs == 13_824


# --- ShuffleNetV2 unit --------------------------------------------------------------------------

def shuffle_unit(tmp_path, split: str, opset: int, chain: bool):
    """x: 1x16x8x8 split into two 8-channel halves (Split, or two Slices as the dynamo exporter
    writes ``chunk``); the second half: Conv 8->8 1x1 + BN + Relu, depthwise 3x3 pad 1 + BN,
    Conv 8->8 1x1 + BN + Relu; Concat(first half, branch); channel shuffle with 2 groups as
    Reshape (1, 2, 8, 8, 8) - Transpose (0, 2, 1, 3, 4) - Reshape (1, 16, 8, 8)."""
    writer = GraphWriter(identity_weights=True)
    if split == "Split":
        if opset < 13:
            attributes, inputs = {"split": [8, 8]}, ["x"]
        elif opset < 18:
            attributes, inputs = {}, ["x", writer.const("sizes", [8, 8])]
        else:
            attributes, inputs = {"num_outputs": 2}, ["x"]
        writer.nodes.append(helper.make_node("Split", inputs, ["half1", "half2"], name="split",
                                             axis=1, **attributes))
    else:
        big = np.iinfo(np.int64).max
        for name, start, stop in (("half1", 0, 8), ("half2", 8, big)):
            writer.node("Slice", ["x", writer.const(f"{name}_starts", [start]),
                                  writer.const(f"{name}_ends", [stop]),
                                  writer.const(f"{name}_axes", [1]),
                                  writer.const(f"{name}_steps", [1])], name)
    pw1 = writer.node("Relu", [writer.batchnorm("pw1_bn", writer.conv(
        "pw1", "half2", 8, 8), 8)], "pw1_relu")
    dw = writer.batchnorm("dw_bn", writer.conv("dw", pw1, 8, 8, kernel=3, pad=1, group=8), 8)
    pw2 = writer.node("Relu", [writer.batchnorm("pw2_bn", writer.conv("pw2", dw, 8, 8), 8)],
                      "pw2_relu")
    joined = writer.node("Concat", ["half1", pw2], "concat", axis=1)
    first = shape_chain_target(writer, joined, opset, [2, 8, 8, 8]) if chain else \
        writer.const("view1", [1, 2, 8, 8, 8])
    grouped = writer.node("Reshape", [joined, first], "view")
    back = writer.node("Transpose", [grouped], "back_t", perm=[0, 2, 1, 3, 4])
    second = shape_chain_target(writer, back, opset, [-1, 8, 8]) if chain else \
        writer.const("view2", [1, 16, 8, 8])
    out = writer.node("Reshape", [back, second], "shuffled")
    return writer.save(tmp_path, [1, 16, 8, 8], out, [1, 16, 8, 8], opset=opset)


@pytest.mark.parametrize("opset", OPSETS)
@pytest.mark.parametrize(("split", "chain"), [("Split", False), ("Slice", False),
                                              ("Slice", True)])
def test_shufflenet_unit(tmp_path, split, opset, chain):
    network = read_onnx(shuffle_unit(tmp_path, split, opset, chain))
    layers = kinds(network)
    assert layers[-5:] == ["conv2d", "depthwise", "conv2d", "concat", "channel_shuffle"]
    assert sorted(layers[:-5]) == ["slice", "slice"] or layers[:-5] == ["slice"] * 2
    slices = {(layer.start, layer.stop) for layer in network.layers if layer.kind == "slice"}
    assert slices == {(0, 8), (8, 16)}
    assert network.layers[-1].groups == 2
    assert network.output_shape == Shape(8, 8, 16)
    # pw1: 8x8 + 16 BN = 80; dw: 9x8 + 16 = 88; pw2: 80 -> 248 params.
    # MACs: 64 px x (8x8 + 9x8 + 8x8) = 64 x 200 = 12,800.
    assert network.total_params == 80 + 88 + 80
    assert network.total_macs == 12_800


def test_a_lone_transpose_is_refused(tmp_path):
    writer = GraphWriter()
    out = writer.node("Transpose", ["x"], "t", perm=[0, 1, 3, 2])
    path = writer.save(tmp_path, [1, 3, 8, 8], out, [1, 3, 8, 8])
    with pytest.raises(ConfigError, match=r"node t \(Transpose\).*channel shuffle"):
        read_onnx(path)


# --- SqueezeNet fire module, ceil-mode max pooling, LRN -----------------------------------------

def test_fire_module_after_ceil_mode_pool(tmp_path):
    """x: 1x16x8x8 -> MaxPool 3x3 / 2, ceil_mode (ceil((8 - 3) / 2) + 1 = 4 per side; floor
    mode would give 3) -> squeeze Conv 16->4 1x1 bias + Relu -> expand Conv 4->8 1x1 and
    Conv 4->8 3x3 pad 1 (bias, Relu) -> Concat on channels: 4x4x16."""
    writer = GraphWriter(identity_weights=True)
    pool = writer.node("MaxPool", ["x"], "pool", kernel_shape=[3, 3], strides=[2, 2],
                       ceil_mode=1)
    squeeze = writer.node("Relu", [writer.conv("squeeze", pool, 16, 4, bias=True)], "sq_relu")
    e1 = writer.node("Relu", [writer.conv("expand1", squeeze, 4, 8, bias=True)], "e1_relu")
    e3 = writer.node("Relu", [writer.conv("expand3", squeeze, 4, 8, kernel=3, pad=1,
                                          bias=True)], "e3_relu")
    out = writer.node("Concat", [e1, e3], "fire", axis=1)
    network = read_onnx(writer.save(tmp_path, [1, 16, 8, 8], out, [1, 16, 4, 4]))
    assert kinds(network) == ["maxpool", "conv2d", "conv2d", "conv2d", "concat"]
    assert network.layers[0].ceil_mode
    assert shapes(network)["pool"] == (4, 4, 16) and shapes(network)["fire"] == (4, 4, 16)
    # squeeze: 16x4 + 4 = 68; expand1: 4x8 + 8 = 40; expand3: 9x4x8 + 8 = 296 -> 404 params.
    # MACs: 16 px x (64 + 32 + 288) = 6,144.
    assert network.total_params == 68 + 40 + 296
    assert network.total_macs == 16 * (64 + 32 + 288)


def test_lrn_is_a_zero_mac_layer(tmp_path):
    """1x3x8x8 -> Conv 3->8 3x3 (no pad: 6x6) + Relu -> LRN size 5 -> MaxPool 2x2 / 2 (3x3)."""
    writer = GraphWriter()
    relu = writer.node("Relu", [writer.conv("conv", "x", 3, 8, kernel=3, bias=True)], "relu")
    lrn = writer.node("LRN", [relu], "norm", size=5, alpha=1e-4, beta=0.75, bias=2.0)
    out = writer.node("MaxPool", [lrn], "pool", kernel_shape=[2, 2], strides=[2, 2])
    network = read_onnx(writer.save(tmp_path, [1, 3, 8, 8], out, [1, 8, 3, 3]))
    conv, norm, pool = network.layers
    assert norm.kind == "lrn" and (norm.size, norm.bias) == (5, 2.0)
    assert network["norm"].macs == network["norm"].params == 0
    assert shapes(network)["norm"] == (6, 6, 8) and shapes(network)["pool"] == (3, 3, 8)
    # conv: 3x3x3x8 + 8 = 224 params; 36 px x 27 x 8 = 7,776 MACs.
    assert network.total_params == 224 and network.total_macs == 7_776


# --- external data ------------------------------------------------------------------------------

EXTERNAL = {"save_as_external_data": True, "all_tensors_to_one_file": True,
            "location": "weights.bin", "size_threshold": 0}


def test_external_data_present(tmp_path):
    imported = import_onnx(identity_conv(tmp_path, **EXTERNAL))
    assert (tmp_path / "weights.bin").is_file()
    assert imported.notes == ()
    assert imported.network.total_macs == 6912 and imported.network.total_params == 112


def test_external_data_missing_still_imports_from_the_shapes(tmp_path, capsys):
    """The weights live in weights.bin, which is gone: shapes come from the initializers' dims
    (the Clip bounds are Constant nodes, inside the model file)."""
    path = identity_conv(tmp_path, **EXTERNAL)
    (tmp_path / "weights.bin").unlink()
    imported = import_onnx(path)
    assert imported.network.total_macs == 6912 and imported.network.total_params == 112
    assert len(imported.notes) == 1 and "weights.bin" in imported.notes[0]
    out = tmp_path / "net.yaml"
    assert main(["import", "onnx", str(path), "--out", str(out)]) == 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("note: ") and "weights.bin" in error


def test_a_value_in_missing_external_data_is_one_line(tmp_path, capsys):
    """A Clip bound stored in the missing file cannot be read: the error says which file."""
    writer = GraphWriter()
    conv = writer.conv("conv", "x", 3, 4)
    low = writer.const("low", 0.0, np.float32)
    high = writer.const("high", 6.0, np.float32)
    out = writer.node("Clip", [conv, low, high], "relu6")
    path = writer.save(tmp_path, [1, 3, 4, 4], out, [1, 4, 4, 4], **EXTERNAL)
    (tmp_path / "weights.bin").unlink()
    assert main(["import", "onnx", str(path), "--out", str(tmp_path / "n.yaml")]) == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and "node relu6 (Clip)" in error[0] and "weights.bin" in error[0]
    assert not (tmp_path / "n.yaml").exists()


# --- refusals -----------------------------------------------------------------------------------

def test_unsupported_node_lists_the_supported_operators(tmp_path, capsys):
    writer = GraphWriter()
    out = writer.node("Softplus", [writer.conv("conv", "x", 3, 4)], "prob")
    path = writer.save(tmp_path, [1, 3, 4, 4], out, [1, 4, 4, 4])
    assert main(["import", "onnx", str(path), "--out", str(tmp_path / "n.yaml")]) == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and "node prob (Softplus): unsupported operator" in error[0]
    assert "ReduceMean" in error[0] and "HardSwish" in error[0]


@pytest.mark.parametrize("opset", (9, 22))
def test_opsets_outside_11_to_21_are_refused(tmp_path, opset):
    writer = GraphWriter()
    out = writer.node("Relu", [writer.conv("conv", "x", 3, 4)], "relu")
    model = writer.save(tmp_path, [1, 3, 4, 4], out, [1, 4, 4, 4], opset=opset)
    with pytest.raises(ConfigError, match=rf"opset {opset}.*11\.\.21"):
        read_onnx(model)


def test_a_symbolic_input_size_is_refused(tmp_path):
    """Height and width must be fixed (the Shape of x then cannot fold either)."""
    writer = GraphWriter()
    shape = writer.node("Shape", ["x"], "x_shape")
    out = writer.node("Reshape", ["x", shape], "same")
    graph = helper.make_graph(
        writer.nodes, "dynamic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = tmp_path / "dynamic.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ConfigError, match="fixed NCHW shape"):
        read_onnx(path)


def test_a_symbolic_batch_is_one_so_its_shape_chain_folds(tmp_path):
    """An export with a dynamic batch ('N'): x.view(x.size(0), -1) reads the batch size, which
    is 1 here; the head then maps as with a fixed batch (same hand count as above)."""
    path = reduce_mean_head(tmp_path, 13, 1, chain=True)
    model = onnx.load(str(path))
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.save(model, str(path))
    network = read_onnx(path)
    assert kinds(network) == ["conv2d", "global_avgpool", "fc"]
    assert network.total_params == 432 + 170 and network.total_macs == 27_648 + 160
