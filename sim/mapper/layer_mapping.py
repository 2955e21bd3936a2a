"""One layer's mapping: how its output is tiled, its filters and input channels blocked, and
which operand stays in the buffer while the others stream.

- ``tile``: output rows x columns per tile (at most; edge tiles are smaller). ``split: fixed``
  cuts at multiples of the tile edge from the top-left corner (the ``tiled`` dataflow);
  ``split: even`` cuts into ``ceil(H / rows)`` x ``ceil(W / cols)`` tiles whose sizes differ by
  at most one (the layer-wise row bands).
- ``filter_blocks``: blocks of filters (channel slices for depthwise, pooling and element-wise
  layers); 1 keeps all weights on chip for the whole layer.
- ``stationary``: the loop order at the buffer level.
  ``input``: tiles outside, filter blocks inside; a tile's input window stays while the blocks
  pass (weights are fetched again for every tile when there are several blocks).
  ``weight``: filter blocks outside, tiles inside; a block's weights stay while every tile
  passes (input windows are fetched again for every block).
  ``output``: input channels blocked (``input_channel_blocks`` > 1); the partial sums of a tile
  and filter block stay at accumulator width while the input-channel slices pass.
- ``input_channel_blocks``: blocks of input channels (input features of a fully connected
  layer), 1 unless the layer is a dense convolution or fully connected. With ``output`` the
  partial sums stay on chip (above); with ``weight`` and 2 or more blocks they are *spilled*:
  filter blocks outside, input-channel blocks next, tiles inside. The weights of one filter
  block and input-channel block stay while every tile passes; each tile loads its window's
  channel slice and (after the first block) its partial sums from a DRAM scratch at
  accumulator width, and stores its partial sums there (before the last block) or its outputs.
- ``halo_reuse``: columns a tile shares with the previous tile of its row band are not fetched
  again (``input`` and ``weight`` orders, input channels not blocked).
- ``gather``: on a layer whose kernel is smaller than its stride along some axis (a 1x1
  stride-2 shortcut), a tile's window holds only the input rows and columns its outputs read,
  fetched run by run (:meth:`sim.schedule.DramLayout.gathered_requests`), instead of their
  dense bounding box; it takes no halo reuse (such windows share no columns), and spilled
  partial sums take dense windows. It can move more bursts than the dense rows when pixels
  are small, so it is a choice, not a default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from sim.mapper.grid import edges, whole_map
from sim.techniques.receptive import Region
from sim.workload.network import LayerInfo

STATIONARY = ("input", "weight", "output")
SPLITS = ("fixed", "even")


@dataclass(frozen=True, order=True)
class LayerMapping:
    """The mapping of one layer (see the module docstring); sizes in output pixels."""

    layer: str
    tile_rows: int
    tile_cols: int
    split: str = "fixed"
    filter_blocks: int = 1
    stationary: str = "input"
    input_channel_blocks: int = 1
    halo_reuse: bool = True
    gather: bool = False

    @property
    def spills(self) -> bool:
        """Are partial sums spilled to DRAM between input-channel blocks?"""
        return self.stationary == "weight" and self.input_channel_blocks > 1

    def regions(self, info: LayerInfo) -> list[Region]:
        """The output tiles in execution order (row-major)."""
        height, width = info.output_shape.height, info.output_shape.width
        if whole_map(info):
            return [Region(0, height, 0, width)]
        row_edges = edges(height, self.tile_rows, self.split)
        col_edges = edges(width, self.tile_cols, self.split)
        return [Region(r0, r1, c0, c1) for r0, r1 in pairwise(row_edges)
                for c0, c1 in pairwise(col_edges)]

    def to_dict(self) -> dict[str, Any]:
        """The mapping as a mapping-file entry (``tile`` as [rows, cols])."""
        entry = asdict(self)
        rows, cols = entry.pop("tile_rows"), entry.pop("tile_cols")
        if not entry["gather"]:
            del entry["gather"]  # written only where it is on
        return {"layer": entry.pop("layer"), "tile": [rows, cols], **entry}
