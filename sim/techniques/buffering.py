"""On-chip feature-map buffering (seed 000, Sec. 3.1.2), inside the declared buffers.

Seed 000 sizes its feature-map buffer in channels: ``B`` channels hold ``B x H x W`` elements at
the network's input resolution. Here that is a request for room in a declared buffer: the
``fmap`` buffer when the hardware has one, otherwise a part of the ``global`` buffer (the tiles
of each layer then get what the feature maps it runs beside leave them). A request larger than
the buffer is an error that names the buffer; split ifmap/weight/ofmap buffers without ``fmap``
keep no feature map between layers.

Tensors are placed greedily in production order: a layer's output stays on chip when it fits
in the request beside the resident tensors still live, and every layer it is live across (and
their neighbours, which the pipeline overlaps) can still run its smallest tile beside them;
otherwise it is spilled to DRAM (written once, read by each consumer). A tensor leaves after its
last reader. The network input comes from DRAM and the network output goes to DRAM.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sim.capacity import Budget, largest_fitting
from sim.config import ConfigError
from sim.hardware import HardwareSpec
from sim.techniques.layer_tiles import (
    Residency,
    full_region,
    input_region,
    is_channelwise,
    layer_geometry,
    sizes_for_pixels,
    tile_fits,
)
from sim.techniques.receptive import Region
from sim.workload.layers import FullyConnected, GlobalAvgPool
from sim.workload.network import LayerInfo, Network


def feature_map_request_bytes(network: Network, channels: int, dtype_bytes: int) -> int:
    """Bytes of a ``channels``-channel feature-map buffer at the network's input resolution."""
    shape = network.input_shape
    return channels * shape.height * shape.width * dtype_bytes


def residency_room(hardware: HardwareSpec) -> tuple[str | None, int]:
    """(buffer, bytes) that may hold resident feature maps: ``fmap``, else ``global``."""
    name = hardware.buffers.resident_name
    if name is None:
        return None, 0
    return name, hardware.buffers.declared()[name].size_bytes


def check_request(network: Network, hardware: HardwareSpec, channels: int,
                  dtype_bytes: int) -> int:
    """The bytes ``channels`` of feature-map buffer ask for; raises when no declared buffer has
    that room."""
    wanted = feature_map_request_bytes(network, channels, dtype_bytes)
    name, size = residency_room(hardware)
    shape = network.input_shape
    if name is None:
        raise ConfigError(
            "--buffer-channels", f"{hardware.name} declares no fmap or global buffer to keep "
            f"feature maps in; {channels} channels at {shape.height}x{shape.width} ask for "
            f"{wanted:,} B", allowed="an fmap buffer in the hardware file")
    if wanted > size:
        most = size // (shape.height * shape.width * dtype_bytes)
        raise ConfigError(
            "--buffer-channels", f"{channels} channels at {shape.height}x{shape.width} ask for "
            f"{wanted:,} B, but buffer {name!r} of {hardware.name} has {size:,} B",
            allowed=f"1..{most}" if most else "none at this resolution")
    return wanted


def _smallest_tile(info: LayerInfo) -> Region:
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        return full_region(info)
    height, width = info.output_shape.height, info.output_shape.width
    return Region(height // 2, height // 2 + 1, width // 2, width // 2 + 1)


def tolerance_bytes(info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
                    accumulator_bytes: int, limit: int) -> int:
    """The most resident bytes (up to ``limit``) beside which the layer's smallest tile (one
    output pixel, one filter or channel at a time) still fits."""
    budget = Budget.of(hardware)
    region = _smallest_tile(info)
    in_pixels = input_region(info, region).pixels
    blocks = (info.output_shape.channels if is_channelwise(info)
              else layer_geometry(info, 1).filters) or 1
    sizes = sizes_for_pixels(info, in_pixels, region.pixels, blocks, dtype_bytes, Residency(),
                             hardware.pe_array, accumulator_bytes)

    def fits(resident: int) -> bool:
        return tile_fits(budget, info, sizes, blocks, Residency(layer_bytes={info.name: resident}))

    return largest_fitting(0, limit, fits) or 0


def plan_residency(network: Network, hardware: HardwareSpec, capacity_bytes: int,
                   dtype_bytes: int, accumulator_bytes: int, never: Iterable[str] = (),
                   tolerance: dict[str, int] | None = None,
                   units: Iterable[tuple[int, int]] = ()) -> Residency:
    """Which layer outputs stay on chip within ``capacity_bytes`` of the residency buffer.

    ``never``: tensors that cannot stay (they never exist whole). ``tolerance``: per layer, the
    most resident bytes it can run beside (computed from its smallest tile when not given).
    ``units``: ranges of layer indices that run as one (a reordered block): every resident
    tensor live anywhere in a unit is on chip for all of it.
    """
    buffer, _ = residency_room(hardware)
    never = set(never)
    if buffer is None or capacity_bytes <= 0:
        return Residency()
    tiles_share = buffer == hardware.buffers.name_for("ifmap")
    tolerance = dict(tolerance or {})
    reach = _reach(len(network.infos), units)
    residency = Residency(buffer=buffer)
    sizes: dict[str, int] = {}
    spans: dict[str, tuple[int, int]] = {}
    for info in network.infos:
        name = info.name
        if name == network.output_name or name in never:
            continue
        size = info.output_shape.elements * dtype_bytes
        born, dies = info.index, network.last_use(name)
        residency = Residency(frozenset(sizes), sizes, {}, buffer, spans)
        touched = range(born, dies + 1)
        if any(residency.bytes_across(*reach[i]) + size > capacity_bytes for i in touched):
            continue
        if tiles_share and any(
                residency.bytes_across(*reach[i]) + size
                > _tolerance(tolerance, network.infos[i], hardware, dtype_bytes,
                             accumulator_bytes, capacity_bytes)
                for i in touched):
            continue
        sizes[name] = size
        spans[name] = (born, dies)
    return _with_layer_bytes(network, Residency(frozenset(sizes), sizes, {}, buffer, spans),
                             reach)


def _reach(count: int, units: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Per layer index, the range of layers that run as one with it."""
    reach = [(i, i) for i in range(count)]
    for first, last in units:
        for i in range(first, last + 1):
            reach[i] = (first, last)
    return reach


def _with_layer_bytes(network: Network, residency: Residency, reach: list[tuple[int, int]]
                      ) -> Residency:
    layer_bytes = {info.name: residency.bytes_across(*reach[i])
                   for i, info in enumerate(network.infos)}
    return dataclasses.replace(residency, layer_bytes=layer_bytes)


def residency_of(network: Network, hardware: HardwareSpec, names: Iterable[str],
                 dtype_bytes: int, units: Iterable[tuple[int, int]] = ()) -> Residency:
    """The residency that keeps exactly the layer outputs ``names`` on chip (as a mapping file
    lists them); ``units`` as in :func:`plan_residency`. Whether their tiles fit beside them is
    for the caller to check."""
    buffer, _ = residency_room(hardware)
    names = list(names)
    if not names:
        return Residency()
    sizes = {name: network[name].output_shape.elements * dtype_bytes for name in names}
    spans = {name: (network[name].index, network.last_use(name)) for name in names}
    return _with_layer_bytes(network, Residency(frozenset(sizes), sizes, {}, buffer or "",
                                                spans), _reach(len(network.infos), units))


def _tolerance(cache: dict[str, int], info: LayerInfo, hardware: HardwareSpec, dtype_bytes: int,
               accumulator_bytes: int, limit: int) -> int:
    if info.name not in cache:
        cache[info.name] = tolerance_bytes(info, hardware, dtype_bytes, accumulator_bytes,
                                           limit)
    return cache[info.name]
