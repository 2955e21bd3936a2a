"""Lower bounds on DRAM traffic: compulsory bytes, and a capacity-aware bound per layer.

**Compulsory** traffic moves every tensor once: for a layer, each input element some output
reads (a 1x1 stride-2 layer skips three quarters), its weights (as stored) and its output; for
a network, its input, every layer's weights and its output (all intermediates kept on chip).

**Capacity-aware bound** (a red-blue pebble argument in the style of Hong and Kung, with the
segment counting of Irony, Toledo and Tiskin 2004, as Chen et al. (HPCA 2020) and Demmel and
Dinh (2018) apply it to convolution; the constant below is our own derivation). A layer is a
set V of MACs (p, m, k): output pixel p, filter m, reduction index k. Cut the run into segments
of exactly S word transfers, S the on-chip capacity in words. In one segment the input elements
i, weights w and partial sums o it touches satisfy i + w + o <= 3S: what was on chip at its
start (S) and what it loads feed inputs, weights and old partial sums; new partial sums end on
chip (S) or are stored, and loads and stores together are S. By the Loomis-Whitney inequality
|V|^2 <= |pm| |mk| |pk|, and each input element serves at most R (p, k) pairs
(R = ceil(kh/sh) ceil(kw/sw) for a convolution without dilation, kh kw with it, 1 for a fully
connected layer), so a segment does at most sqrt(R) S^1.5 MACs. With N segments,
N >= MACs / (sqrt(R) S^1.5) and all but the last move S words:

    Q >= MACs / sqrt(R S) - S   (words),

with MACs counting only products of real input elements (padding zeros need no load) and S the
words of every declared buffer plus three per PE (its input, weight and accumulator
registers). It assumes nothing is recomputed, which holds for one layer; across layers, fusion
recomputes and keeps intermediates on chip, so the network's bound is its compulsory traffic.
With compressed weights (centralized, zero-skip) weights need not be loaded one word per
weight, so the layer's bound is its compulsory traffic too. The bound is never below
compulsory.
"""

from __future__ import annotations

from math import ceil, sqrt

from sim.hardware import HardwareSpec
from sim.techniques.receptive import spatial_params
from sim.techniques.weight_storage import WeightStorage
from sim.workload.layers import ConvLayer, FullyConnected, LayerError, Mul
from sim.workload.network import INPUT, LayerInfo, Network


def _touched(out_size: int, in_size: int, kernel: int, stride: int, pad: int, dilation: int
             ) -> int:
    """Input positions along one axis that some output reads (a stride can skip some)."""
    return len({o * stride + k * dilation - pad for o in range(out_size) for k in range(kernel)}
               & set(range(in_size)))


def elements_read(info: LayerInfo) -> dict[str, int]:
    """Per input tensor, the elements some output of the layer reads: every element, except
    where a stride larger than the kernel skips rows and columns."""
    try:
        kernel, stride, padding, dilation = spatial_params(info)
    except LayerError:
        return {name: shape.elements
                for name, shape in zip(info.inputs, info.input_shapes, strict=True)}
    out = info.output_shape
    read = {}
    for name, shape in zip(info.inputs, info.input_shapes, strict=True):
        rows = _touched(out.height, shape.height, kernel[0], stride[0], padding[0], dilation[0])
        cols = _touched(out.width, shape.width, kernel[1], stride[1], padding[2], dilation[1])
        read[name] = rows * cols * shape.channels
    return read


def layer_compulsory_bytes(info: LayerInfo, dtype_bytes: int, weights: WeightStorage) -> int:
    """Each input element that is read, the weights as stored and the output, once."""
    inputs = sum(elements_read(info).values()) * dtype_bytes
    stored = weights.stored_bytes(info.params, dtype_bytes) if info.params else 0
    return inputs + stored + info.output_shape.elements * dtype_bytes


def _needed(network: Network) -> dict[str, tuple[set[int], set[int]]]:
    """Per tensor, the rows and the columns some element the network output depends on lies
    in (receptive fields are separable; a stride larger than the kernel, anywhere
    downstream, leaves rows and columns out)."""
    out = network.output_shape
    needed = {network.output_name: (set(range(out.height)), set(range(out.width)))}
    for info in reversed(network.infos):
        if info.name not in needed:
            continue  # nothing the output depends on
        rows, cols = needed[info.name]
        try:
            kernel, stride, padding, dilation = spatial_params(info)
        except LayerError:
            kernel = None
        for position, (name, shape) in enumerate(zip(info.inputs, info.input_shapes,
                                                     strict=True)):
            broadcast = isinstance(info.layer, Mul) and info.layer.broadcast_inputs(
                list(info.input_shapes))[position]
            if kernel is None or broadcast:
                wanted = (set(range(shape.height)), set(range(shape.width)))
            else:
                wanted = (
                    {o * stride[0] + k * dilation[0] - padding[0] for o in rows
                     for k in range(kernel[0])} & set(range(shape.height)),
                    {o * stride[1] + k * dilation[1] - padding[2] for o in cols
                     for k in range(kernel[1])} & set(range(shape.width)))
            have = needed.get(name, (set(), set()))
            needed[name] = (have[0] | wanted[0], have[1] | wanted[1])
    return needed


def network_compulsory_bytes(network: Network, dtype_bytes: int, weights: WeightStorage) -> int:
    """The network input elements the output depends on, every layer's weights as stored and
    the network output, once. (A 1x1 layer reads its whole input, but when strides
    downstream skip rows and columns, a fused schedule never computes the outputs nobody
    needs, so it need not read their inputs either.)"""
    stored = sum(weights.stored_bytes(info.params, dtype_bytes)
                 for info in network.infos if info.params)
    rows, cols = _needed(network).get(INPUT, (set(), set()))
    source = len(rows) * len(cols) * network.input_shape.channels
    return (source + network.output_shape.elements) * dtype_bytes + stored


def onchip_words(hardware: HardwareSpec, dtype_bytes: int) -> int:
    """S: words of every declared buffer plus three registers per PE."""
    buffer_bytes = sum(spec.size_bytes for spec in hardware.buffers.declared().values())
    return buffer_bytes // dtype_bytes + 3 * hardware.pe_array.macs_per_cycle


def _pairs(out_size: int, in_size: int, kernel: int, stride: int, pad: int, dilation: int
           ) -> int:
    """(output position, kernel offset) pairs along one axis that read a real input element."""
    return sum(1 for o in range(out_size) for k in range(kernel)
               if 0 <= o * stride + k * dilation - pad < in_size)


def real_macs_and_reuse(info: LayerInfo) -> tuple[int, int]:
    """(MACs on real input elements, R: the most (p, k) pairs one input element serves)."""
    layer = info.layer
    if isinstance(layer, FullyConnected):
        return info.macs, 1
    if not isinstance(layer, ConvLayer):
        return 0, 1
    source = info.input_shapes[0]
    geometry = layer.geometry(source.channels)
    (kh, kw), (sh, sw) = geometry.kernel, geometry.stride
    top, _, left, _ = geometry.padding
    dh, dw = geometry.dilation
    out = info.output_shape
    rows = _pairs(out.height, source.height, kh, sh, top, dh)
    cols = _pairs(out.width, source.width, kw, sw, left, dw)
    per_pair = geometry.weight_elements // (kh * kw)  # (cin / groups) * cout
    if dh == 1 and dw == 1:
        reuse = ceil(kh / sh) * ceil(kw / sw)
    else:
        reuse = kh * kw
    return rows * cols * per_pair, reuse


def layer_lower_bound_bytes(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
                            weights: WeightStorage) -> int:
    """max(compulsory, capacity-aware bound) in bytes; see the module docstring."""
    compulsory = layer_compulsory_bytes(info, dtype_bytes, weights)
    if weights.kind != "dense":
        return compulsory
    macs, reuse = real_macs_and_reuse(info)
    if not macs:
        return compulsory
    words = onchip_words(hardware, dtype_bytes)
    bound_words = macs / sqrt(reuse * words) - words
    return max(compulsory, int(bound_words) * dtype_bytes)
