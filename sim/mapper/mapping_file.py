"""Mapping files: a network's mapping as YAML a user can read, edit and run again.

```yaml
network: mobilenet_v2        # the network, hardware and data type it was made for
hardware: jetson_nano
dtype: int8
objective: dram_bytes        # what the search minimized (dram_bytes, energy, latency, edp)
resident: [block_1, ...]     # layer outputs kept on chip between layers
reordered: [block_2, ...]    # inverted-residual blocks run a chunk of channels at a time
fused:                       # runs of layers fused per tile x tile output tile
  - {first: b3_expand, last: b3_add, tile: 14}
layers:                      # every layer outside a reordered block or fused run, one a line
  - {layer: conv_stem, tile: [16, 112], split: fixed, filter_blocks: 1, stationary: input,
     input_channel_blocks: 1, halo_reuse: true}
  - {layer: layer2_0_downsample, tile: [28, 28], ..., gather: true}
```

``tile``: output rows x columns per tile; ``split``: ``fixed`` (from the corner) or ``even``
(sizes differ by at most one); ``stationary``: ``input``, ``weight`` or ``output`` (input
channels blocked, partial sums on chip); ``input_channel_blocks``: 1, or 2 or more for a dense
convolution or fully connected layer with ``stationary: output`` (partial sums on chip) or
``stationary: weight`` (partial sums spilled to a DRAM scratch at accumulator width between
input-channel blocks, counted as ``ofmap`` traffic); ``gather`` (only on layers whose kernel
is smaller than their stride; written only where true): windows hold only the pixels the tile
reads; see :mod:`sim.mapper.layer_mapping`. A ``fused`` run holds 2 or more consecutive
layers, first and last by name; see
:mod:`sim.mapper.fused_segments`.

:func:`load_mapping` refuses, in one line with the file, line and field, a file that is not
such a mapping, names another network or data type, or does not fit the hardware (naming the
layer and the buffer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from sim import limits as lim
from sim.config import error_at, read_yaml, validate
from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.mapper.fused_segments import FusedSegment
from sim.mapper.layer_mapping import LayerMapping
from sim.mapper.network_mapping import (
    MappingProblem,
    NetworkMapping,
    mapped_schedule,
    mapping_to_dict,
)
from sim.schedule import DramLayout
from sim.workload.network import Network

_Count = lim.bounded_int(1, lim.MAX_CHANNELS)
_Edge = lim.bounded_int(1, lim.MAX_RESOLUTION)


class _LayerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    layer: StrictStr
    tile: tuple[_Edge, _Edge]
    split: Literal["fixed", "even"] = "fixed"
    filter_blocks: _Count = 1
    stationary: Literal["input", "weight", "output"] = "input"
    input_channel_blocks: lim.bounded_int(1, lim.MAX_FEATURES) = 1
    halo_reuse: StrictBool = True
    gather: StrictBool = False


class _FusedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    first: StrictStr
    last: StrictStr
    tile: _Edge


class _MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    network: StrictStr
    hardware: StrictStr
    dtype: Literal["int8", "int16", "fp16", "fp32"]
    objective: Literal["dram_bytes", "energy", "latency", "edp"] = "dram_bytes"
    resident: list[StrictStr] = Field(default_factory=list, max_length=lim.MAX_LAYERS)
    reordered: list[StrictStr] = Field(default_factory=list, max_length=lim.MAX_LAYERS)
    fused: list[_FusedEntry] = Field(default_factory=list, max_length=lim.MAX_LAYERS)
    layers: list[_LayerEntry] = Field(max_length=lim.MAX_LAYERS)


def mapping_to_yaml(mapping: NetworkMapping) -> str:
    """The mapping file text (see the module docstring)."""
    data = mapping_to_dict(mapping)
    layers = data.pop("layers")
    fused = data.pop("fused")
    header = ("# edgeaccel mapping: edit a layer and run it again with\n"
              f"#   edgeaccel simulate --network {mapping.network} --hardware HARDWARE "
              "--mapping THIS_FILE\n")
    lines = [yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)]
    for name, entries in (("fused", fused), ("layers", layers)):
        if not entries and name == "fused":
            continue
        lines.append(f"{name}:\n")
        lines += ["  - " + yaml.safe_dump(entry, sort_keys=False, default_flow_style=True,
                                          width=1000).strip() + "\n" for entry in entries]
    return header + "".join(lines)


def load_mapping(path: str | Path, network: Network, hardware: HardwareSpec, dtype: DType
                 ) -> NetworkMapping:
    """Read and check a mapping file against the network, hardware and data type it runs."""
    data, node = read_yaml(path)
    parsed = validate(path, data, node, _MappingFile)
    if parsed.network != network.name:
        raise error_at(path, node, ("network",), f"the mapping is for network "
                       f"{parsed.network!r}, not {network.name!r}", allowed=network.name)
    if parsed.dtype != str(dtype):
        raise error_at(path, node, ("dtype",), f"the mapping is for {parsed.dtype}, the run "
                       f"is {dtype}", allowed=str(dtype))
    mapping = NetworkMapping(
        parsed.network, parsed.hardware, parsed.dtype, parsed.objective,
        tuple(parsed.resident), tuple(parsed.reordered),
        tuple(LayerMapping(entry.layer, entry.tile[0], entry.tile[1], entry.split,
                           entry.filter_blocks, entry.stationary, entry.input_channel_blocks,
                           entry.halo_reuse, entry.gather) for entry in parsed.layers),
        tuple(FusedSegment(entry.first, entry.last, entry.tile) for entry in parsed.fused))
    layout = DramLayout(network, dtype.bytes, accumulator_bytes=dtype.accumulator_bits // 8)
    try:
        mapped_schedule(network, hardware, mapping, layout, dtype)
    except MappingProblem as problem:
        raise error_at(path, node, problem.loc, problem.message, problem.allowed) from None
    return mapping
