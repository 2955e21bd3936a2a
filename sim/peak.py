"""Peak on-chip memory of layer-by-layer execution.

While layer ``i`` runs, every tensor that has been produced and is still needed is live: the
layer's inputs, its output, and tensors kept for later (residual skips). A tensor is live from
the layer that writes it to the last layer that reads it; the network input is live until its last
reader, the network output to the end. Memory is counted in bytes of the tensors' data type;
weights are assumed to stay in flash/DRAM and are not counted (as in seed 001 and MCUNetV2).

In-place depthwise (TinyEngine): a depthwise layer with multiplier 1 whose input dies with it
writes each output channel into a one-channel scratch buffer and copies it over the input's
channel, so it holds its input plus ``h_out * w_out`` elements instead of input plus output.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.dtypes import DType
from sim.workload.layers import DepthwiseConv2d
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


def runs_in_place(network: Network, info: LayerInfo) -> bool:
    """True when a depthwise layer can overwrite its input channel by channel."""
    layer = info.layer
    if not isinstance(layer, DepthwiseConv2d) or layer.multiplier != 1:
        return False
    return network.last_use(info.inputs[0]) == info.index


def layer_live_tensors(
    network: Network, info: LayerInfo, dtype: DType, inplace_depthwise: bool = True,
) -> tuple[tuple[str, int], ...]:
    """(tensor, bytes) of everything live while ``info`` runs, in production order."""
    live = []
    for name in (INPUT, *(other.name for other in network.infos)):
        if network.producer(name) <= info.index <= network.last_use(name):
            live.append((name, network.tensor_shape(name).elements * dtype.bytes))
    if inplace_depthwise and runs_in_place(network, info):
        out = info.output_shape
        live = [(name, size) for name, size in live if name != info.name]
        live.append((f"{info.name}[scratch]", out.height * out.width * dtype.bytes))
    return tuple(live)


def layerwise_peak(
    network: Network, dtype: DType | str, inplace_depthwise: bool = True,
) -> PeakReport:
    """Live memory of every layer when the network runs one whole layer at a time."""
    dtype = DType(dtype)
    per_layer = []
    for info in network.infos:
        tensors = layer_live_tensors(network, info, dtype, inplace_depthwise)
        per_layer.append(LayerMemory(info.name, sum(size for _, size in tensors), tensors))
    return PeakReport(network.name, dtype, tuple(per_layer))
