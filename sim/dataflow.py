"""Choosing a dataflow: options and the schedule of tiles they produce.

- ``layerwise``: the baseline (:mod:`sim.techniques.layerwise`).
- ``tiled``: T x T tiles with overlap, halos refetched or reused (:mod:`sim.techniques.tiling`).
- ``buffered``: layer-wise with feature maps kept in a B-channel on-chip buffer when they fit
  (:mod:`sim.techniques.buffering`).
- ``fused``: consecutive layers run per T x T tile of the group output, intermediates on chip,
  halos recomputed (:mod:`sim.techniques.fusion`).
- ``full``: tiled + buffered + reordered bottlenecks: the expansion and depthwise outputs of every
  inverted-residual block exist one channel at a time on chip and never reach DRAM
  (:mod:`sim.techniques.reorder`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from math import ceil
from typing import Any

from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout, Tile
from sim.techniques.buffering import feature_map_capacity_bytes, plan_residency
from sim.techniques.fusion import fused_schedule
from sim.techniques.layer_tiles import Residency
from sim.techniques.layerwise import layerwise_schedule
from sim.techniques.reorder import find_bottlenecks
from sim.techniques.tiling import tiled_schedule
from sim.techniques.weight_storage import WeightStorage, parse_weight_storage
from sim.workload.network import Network

DATAFLOWS = ("layerwise", "tiled", "buffered", "fused", "full")


@dataclass(frozen=True)
class SimulationOptions:
    """How to run: dataflow, tile edge (output pixels), halo reuse, FM buffer channels, dtype."""

    dataflow: str = "layerwise"
    tile: int = 32
    halo_reuse: bool = True
    buffer_channels: int = 64
    dtype: DType = DType.INT8
    weights: str = "dense"  # dense, centralized:B or zero-skip:F (sim.techniques.weight_storage)

    def __post_init__(self) -> None:
        if self.dataflow not in DATAFLOWS:
            raise ValueError(f"dataflow must be one of {', '.join(DATAFLOWS)}, not "
                             f"{self.dataflow!r}")
        object.__setattr__(self, "dtype", DType(self.dtype))
        parse_weight_storage(self.weights)

    @property
    def weight_storage(self) -> WeightStorage:
        return parse_weight_storage(self.weights)

    def to_dict(self) -> dict[str, Any]:
        used = {"dataflow": self.dataflow, "dtype": str(self.dtype)}
        if self.weights != "dense":
            used["weights"] = self.weights
        if self.dataflow in ("tiled", "fused", "full"):
            used |= {"tile": self.tile, "halo_reuse": self.halo_reuse}
        if self.dataflow in ("buffered", "full"):
            used["buffer_channels"] = self.buffer_channels
        return used


def build_schedule(network: Network, hardware: HardwareSpec, options: SimulationOptions
                   ) -> list[Tile]:
    layout = DramLayout(network, options.dtype.bytes, weights=options.weight_storage)
    tiles = _dataflow_tiles(network, hardware, options, layout)
    skipped = options.weight_storage.zero_fraction
    if not skipped:
        return tiles
    # Zero skipping: the PE array skips the MACs of zero weights.
    return [dataclasses.replace(tile, macs=round(tile.macs * (1 - skipped)),
                                compute_cycles=ceil(tile.compute_cycles * (1 - skipped)))
            if tile.macs else tile for tile in tiles]


def _dataflow_tiles(network: Network, hardware: HardwareSpec, options: SimulationOptions,
                    layout: DramLayout) -> list[Tile]:
    if options.dataflow == "fused":
        return fused_schedule(network, hardware, layout, options.tile)
    residency = Residency()
    if options.dataflow in ("buffered", "full"):
        capacity = feature_map_capacity_bytes(network, options.buffer_channels,
                                              options.dtype.bytes)
        pinned = reordered_intermediates(network, options.dtype) if options.dataflow == "full" \
            else {}
        residency = plan_residency(network, capacity, options.dtype.bytes, pinned)
    if options.dataflow in ("tiled", "full"):
        return tiled_schedule(network, hardware, layout, options.tile, options.halo_reuse,
                              residency)
    return layerwise_schedule(network, hardware, layout, residency)


def reordered_intermediates(network: Network, dtype: DType) -> dict[str, int]:
    """Bytes on chip of each bottleneck's expansion and depthwise outputs when reordered."""
    pinned = {}
    for block in find_bottlenecks(network):
        for info in (block.expand, block.depthwise):
            pinned[info.name] = info.output_shape.height * info.output_shape.width * dtype.bytes
    return pinned
