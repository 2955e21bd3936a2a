"""Input segmentation and patch tunneling (seed 001, Sec. 3.1-3.2, Eq. 1-2).

The input image is cut into ``k`` patches (a sqrt(k) x sqrt(k) grid) of
``(h / sqrt(k) + m) x (w / sqrt(k) + m)`` pixels (Eq. 1), neighbours overlapping by ``2m``, plus
an optional central patch of the same size. Each patch runs through its own tunnel of layers
up to global pooling; the pooled features of all tunnels are summed and classified by one FC
layer. Tunnels run one after another, so the network's peak is one tunnel's peak plus the
running feature sum. Unlike patch-based inference this is a different network, not a different
schedule: its weights are ``k (+1)`` tunnels' worth unless the tunnels share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.dtypes import DType
from sim.peak import LayerMemory, PeakReport, layerwise_peak
from sim.techniques.receptive import Region
from sim.techniques.reorder import reordered_peak
from sim.workload.layers import FullyConnected, GlobalAvgPool, Shape
from sim.workload.network import Network


class TunnelError(ValueError):
    """Segmentation or tunnel parameters that cannot work."""


def grid_side(k: int) -> int:
    side = math.isqrt(k)
    if k < 1 or side * side != k:
        raise TunnelError(
            f"the number of patches k must be a perfect square (1, 4, 9, ...), not {k}"
        )
    return side


def patch_size(height: int, width: int, k: int, margin: int) -> tuple[int, int]:
    """Eq. 1: (h / sqrt(k) + m, w / sqrt(k) + m), capped at the image size."""
    side = grid_side(k)
    if margin < 0:
        raise TunnelError(f"the margin must be >= 0, not {margin}")
    if height % side or width % side:
        raise TunnelError(f"a {height}x{width} image does not split into a {side}x{side} grid")
    return min(height, height // side + margin), min(width, width // side + margin)


def segment(height: int, width: int, k: int, margin: int, central: bool) -> list[Region]:
    """Patch regions of the image: the grid row by row, then the central patch if asked."""
    side = grid_side(k)
    ph, pw = patch_size(height, width, k, margin)

    def starts(size: int, patch: int) -> list[int]:
        if side == 1:
            return [(size - patch) // 2]
        return [round(i * (size - patch) / (side - 1)) for i in range(side)]

    regions = [Region(r, r + ph, c, c + pw) for r in starts(height, ph) for c in starts(width, pw)]
    if central:
        r, c = (height - ph) // 2, (width - pw) // 2
        regions.append(Region(r, r + ph, c, c + pw))
    return regions


@dataclass(frozen=True)
class TunnelNetwork:
    """A segmented network: the tunnel (patch -> pooled features) and the shared classifier."""

    tunnel: Network
    image: Shape
    k: int
    margin: int
    central: bool
    num_classes: int
    shared_weights: bool = False
    reference_macs: int = 0  # MACs of the unsegmented network it came from, if any

    @property
    def tunnels(self) -> int:
        return self.k + (1 if self.central else 0)

    @property
    def features(self) -> int:
        return self.tunnel.output_shape.channels

    @property
    def classifier_params(self) -> int:
        return self.features * self.num_classes + self.num_classes

    @property
    def params(self) -> int:
        copies = 1 if self.shared_weights else self.tunnels
        return copies * self.tunnel.total_params + self.classifier_params

    @property
    def macs(self) -> int:
        return self.tunnels * self.tunnel.total_macs + self.features * self.num_classes


def tunnel_template(network: Network) -> tuple[list, int]:
    """The layers of ``network`` up to its global pooling, and its classifier's class count."""
    layers = list(network.layers)
    pools = [i for i, layer in enumerate(layers) if isinstance(layer, GlobalAvgPool)]
    if not pools:
        raise TunnelError(f"network {network.name!r} has no global pooling to end its tunnels at")
    last = pools[-1]
    classes = next((layer.out_features for layer in layers[last + 1:]
                    if isinstance(layer, FullyConnected)), network.output_shape.channels)
    return layers[: last + 1], classes


def segmented(network: Network, k: int, margin: int, central: bool,
              shared_weights: bool = False) -> TunnelNetwork:
    """Run ``network``'s layers (up to global pooling) as tunnels on segmented patches."""
    image = network.input_shape
    height, width = patch_size(image.height, image.width, k, margin)
    layers, classes = tunnel_template(network)
    tunnel = Network(f"{network.name}_tunnel", Shape(height, width, image.channels), layers)
    return TunnelNetwork(tunnel, image, k, margin, central, classes, shared_weights,
                         network.total_macs)


def tunnel_peak(design: TunnelNetwork, dtype: DType | str, inplace_depthwise: bool = True,
                reorder: bool = False) -> PeakReport:
    """Per-layer live memory of one tunnel, plus the feature sum kept across tunnels.

    The running sum of pooled features is held at the accumulator width from the first tunnel
    to the classifier; the classifier then holds the sum and its logits.
    """
    dtype = DType(dtype)
    one = (reordered_peak(design.tunnel, dtype, inplace_depthwise) if reorder
           else layerwise_peak(design.tunnel, dtype, inplace_depthwise))
    feature_sum = design.features * dtype.accumulator_bits // 8
    per_layer = [
        LayerMemory(layer.name, layer.live_bytes + feature_sum,
                    layer.tensors + (("feature_sum", feature_sum),))
        for layer in one.per_layer
    ]
    logits = design.num_classes * dtype.bytes
    per_layer.append(LayerMemory("classifier", feature_sum + logits,
                                 (("feature_sum", feature_sum), ("logits", logits))))
    details = {
        "tunnels": {
            "k": design.k, "margin": design.margin, "central": design.central,
            "count": design.tunnels,
            "patch_shape": list(design.tunnel.input_shape.as_tuple()),
            "per_tunnel_peak_bytes": one.peak_bytes,
            "params": design.params, "macs": design.macs,
            "shared_weights": design.shared_weights,
        },
    }
    extra = design.macs - design.reference_macs if design.reference_macs else 0
    return PeakReport(design.tunnel.name, dtype, tuple(per_layer), extra, details)


def margin_table(design: TunnelNetwork, margins: tuple[int, ...], dtypes: tuple[str, ...],
                 reorder: bool) -> list[dict]:
    """Seed 001 Table 6 style: the same tunnel layers on the patches of other margins.

    Returns one row per margin with the patch size and the network peak (bytes) per dtype.
    """
    rows = []
    image = design.image
    for margin in margins:
        height, width = patch_size(image.height, image.width, design.k, margin)
        tunnel = design.tunnel.with_input(Shape(height, width, image.channels))
        variant = TunnelNetwork(tunnel, image, design.k, margin, design.central,
                                design.num_classes, design.shared_weights)
        row = {"margin": margin, "patch": [height, width]}
        for dtype in dtypes:
            row[f"peak_bytes_{dtype}"] = tunnel_peak(variant, dtype, reorder=reorder).peak_bytes
        rows.append(row)
    return rows
