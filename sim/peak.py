"""Peak on-chip memory of layer-by-layer execution.

While layer ``i`` runs, every tensor that has been produced and is still needed is live: the
layer's inputs, its output, and tensors kept for later (residual skips). A tensor is live from
the layer that writes it to the last layer that reads it; the network input is live until its last
reader, the network output to the end. Memory is counted in bytes of the tensors' data type;
weights are assumed to stay in flash/DRAM and are not counted (as in seed 001 and MCUNetV2).

In-place depthwise (TinyEngine): a depthwise layer with multiplier 1 whose input dies with it
writes each output channel into a one-channel scratch buffer and copies it over the input's
channel, so it holds its input plus ``h_out * w_out`` elements instead of input plus output.

Buffers and views: a ``slice`` (channels of a tensor) is a view of its input's buffer and takes
no memory of its own; the buffer lives until the last reader of any of its views. In-place
concat (``inplace_concat``): an input of a concat that only the concat reads, produced by a
layer (not the network input, not a view), is written straight into its channel slice of the
concat's buffer. The concat then copies nothing and costs no memory beyond its output, and that
buffer lives from the first of those producers on; the entry is named after the concat. Inputs
that do not qualify are copied into it when the concat runs (both live then). A channel shuffle
is counted as a copy (input and output live while it runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.dtypes import DType
from sim.workload.layers import ChannelSlice, Concat, DepthwiseConv2d
from sim.workload.network import INPUT, LayerInfo, Network


@dataclass(frozen=True)
class LayerMemory:
    """Live memory while one layer runs; ``tensors`` lists (tensor name, bytes) pairs."""

    name: str
    live_bytes: int
    tensors: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PeakReport:
    """Peak live memory of an execution plan, the layer where it occurs and the per-layer curve."""

    network: str
    dtype: DType
    per_layer: tuple[LayerMemory, ...]
    extra_macs: int = 0
    details: dict = field(default_factory=dict)

    @property
    def peak(self) -> LayerMemory:
        return max(self.per_layer, key=lambda layer: layer.live_bytes)

    @property
    def peak_bytes(self) -> int:
        return self.peak.live_bytes

    @property
    def peak_layer(self) -> str:
        return self.peak.name

    def to_dict(self) -> dict:
        return {
            "network": self.network,
            "dtype": str(self.dtype),
            "peak_bytes": self.peak_bytes,
            "peak_kb": round(self.peak_bytes / 1000, 3),
            "peak_kib": round(self.peak_bytes / 1024, 3),
            "peak_layer": self.peak_layer,
            "extra_macs": self.extra_macs,
            "per_layer": [
                {"name": layer.name, "live_bytes": layer.live_bytes} for layer in self.per_layer
            ],
            **self.details,
        }


@dataclass(frozen=True)
class Buffer:
    """One allocation: the tensors stored in it, live from layer ``first`` to ``last``
    (indices; -1 is before the first layer), ``elements`` in size."""

    name: str
    first: int
    last: int
    elements: int


def buffer_owners(network: Network, inplace_concat: bool = True) -> dict[str, str]:
    """For every tensor, the tensor whose buffer holds it (itself unless it is a view)."""
    owner = {INPUT: INPUT}
    for info in network.infos:
        owner[info.name] = info.name
        if isinstance(info.layer, ChannelSlice):
            owner[info.name] = owner[info.inputs[0]]
    if inplace_concat:
        for info in network.infos:
            if not isinstance(info.layer, Concat):
                continue
            for source in dict.fromkeys(info.inputs):
                if (source != INPUT and owner[source] == source
                        and network.consumers[source] == (info.index,)
                        and info.inputs.count(source) == 1):
                    owner[source] = info.name
    resolved = {}
    for tensor in owner:
        root = tensor
        while owner[root] != root:
            root = owner[root]
        resolved[tensor] = root
    return resolved


def buffers(network: Network, inplace_concat: bool = True) -> dict[str, Buffer]:
    """Every buffer by the name of the tensor that owns it, with its live span."""
    owners = buffer_owners(network, inplace_concat)
    spans: dict[str, tuple[int, int]] = {}
    for tensor, root in owners.items():
        first, last = network.producer(tensor), network.last_use(tensor)
        if root in spans:
            first, last = min(first, spans[root][0]), max(last, spans[root][1])
        spans[root] = (first, last)
    return {root: Buffer(root, first, last, network.tensor_shape(root).elements)
            for root, (first, last) in spans.items()}


def runs_in_place(network: Network, info: LayerInfo) -> bool:
    """True when a depthwise layer can overwrite its input channel by channel."""
    layer = info.layer
    if not isinstance(layer, DepthwiseConv2d) or layer.multiplier != 1:
        return False
    owners = buffer_owners(network)
    source = info.inputs[0]
    if owners[source] != source or owners[info.name] != info.name:
        return False
    return buffers(network)[source].last == info.index


def layer_live_tensors(
    network: Network, info: LayerInfo, dtype: DType, inplace_depthwise: bool = True,
    inplace_concat: bool = True,
) -> tuple[tuple[str, int], ...]:
    """(buffer, bytes) of everything live while ``info`` runs, in production order; a buffer
    is named after the tensor that owns it (see the module notes on views and concat)."""
    live = []
    for buffer in buffers(network, inplace_concat).values():
        if buffer.first <= info.index <= buffer.last:
            live.append((buffer.name, buffer.elements * dtype.bytes))
    if inplace_depthwise and runs_in_place(network, info):
        out = info.output_shape
        live = [(name, size) for name, size in live if name != info.name]
        live.append((f"{info.name}[scratch]", out.height * out.width * dtype.bytes))
    return tuple(live)


def layerwise_peak(
    network: Network, dtype: DType | str, inplace_depthwise: bool = True,
    inplace_concat: bool = True,
) -> PeakReport:
    """Live memory of every layer when the network runs one whole layer at a time."""
    dtype = DType(dtype)
    per_layer = []
    for info in network.infos:
        tensors = layer_live_tensors(network, info, dtype, inplace_depthwise, inplace_concat)
        per_layer.append(LayerMemory(info.name, sum(size for _, size in tensors), tensors))
    return PeakReport(network.name, dtype, tuple(per_layer))
