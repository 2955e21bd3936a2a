"""On-chip feature-map buffering (seed 000, Sec. 3.1.2).

A feature-map buffer of ``B`` channels holds ``B x H x W`` elements at the network's input
resolution (seed 000 sizes it in channels). Tensors are placed greedily in production order:
a layer's output stays on chip when it fits beside the tensors already held and still live;
otherwise it is spilled to DRAM (written once, read by each consumer). A tensor leaves the
buffer after its last reader. The network input comes from DRAM and the network output goes
to DRAM.

``pinned`` tensors are on chip regardless (bottleneck intermediates when blocks are reordered:
only one channel of them ever exists) and take ``pinned`` bytes each.
"""

from __future__ import annotations

from sim.techniques.layer_tiles import Residency
from sim.workload.network import Network


def feature_map_capacity_bytes(network: Network, channels: int, dtype_bytes: int) -> int:
    shape = network.input_shape
    return channels * shape.height * shape.width * dtype_bytes


def plan_residency(network: Network, capacity_bytes: int, dtype_bytes: int,
                   pinned: dict[str, int] | None = None) -> Residency:
    pinned = pinned or {}
    held: dict[str, int] = {}
    on_chip = set(pinned)
    for info in network.infos:
        for name in [n for n in held if network.last_use(n) < info.index]:
            del held[name]
        name = info.name
        size = pinned.get(name, info.output_shape.elements * dtype_bytes)
        if name == network.output_name:
            continue
        if name in pinned or sum(held.values()) + size <= capacity_bytes:
            held[name] = size
            on_chip.add(name)
    return Residency(frozenset(on_chip))
