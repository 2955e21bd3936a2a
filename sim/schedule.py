"""Schedules: what each dataflow asks of the memory system, tile by tile.

A schedule is a list of tiles in execution order. Each tile loads operands from DRAM into the
on-chip buffer, computes, and stores results back. A transfer is a descriptor: ``rows``
requests of equal size, ``pitch_bytes`` apart (a region's map rows, or a channel slice pixel by
pixel), served in that order; it stays one object from the planner to the DRAM model.
Addresses come from a :class:`DramLayout` that gives every tensor and every layer's weights its
own page-aligned region. Tensors are NHWC row-major in DRAM (a map row of all its channels is
contiguous); weights are stored output-channel-major, so a block of filters is one contiguous
range. A layer that reduces over input channels also gets a scratch region for its partial sums
(:func:`psum_name`), laid out like its output but at accumulator width, for the mappings that
spill them between input-channel blocks; it comes after every tensor and weight region, so it
overlaps none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from typing import NamedTuple

from sim.techniques.receptive import GatheredWindow, Region
from sim.techniques.weight_storage import DENSE, WeightStorage
from sim.workload.network import Network

OPERANDS = ("ifmap", "weight", "ofmap")
PSUM_PREFIX = "psum:"


def psum_name(layer: str) -> str:
    """The name of a layer's partial-sum scratch region, usable wherever a tensor name is."""
    return PSUM_PREFIX + layer


@dataclass(frozen=True)
class MapPlace:
    """Where an NHWC map lives in DRAM: its base address, width in pixels, channels and
    bytes per element (the data type's, or the accumulator's for a partial-sum scratch)."""

    base: int
    width: int
    channels: int
    element_bytes: int

    @property
    def pixel_bytes(self) -> int:
        return self.channels * self.element_bytes

    @property
    def row_bytes(self) -> int:
        return self.width * self.pixel_bytes


class Transfer(NamedTuple):
    """``rows`` DRAM requests of ``operand`` data, ``size_bytes`` in all: request ``i`` moves
    ``size_bytes // rows`` contiguous bytes from ``address + i * pitch_bytes`` (one request when
    ``rows`` is 1).

    Immutable; a named tuple because a schedule has hundreds of thousands of them (one is made
    in a third of a frozen dataclass's time, and as it holds only numbers and names, the
    garbage collector stops tracking it at its first collection), so it also equals the plain
    tuple of its fields."""

    operand: str
    address: int
    size_bytes: int
    write: bool = False
    tensor: str = ""  # the feature map moved ("" for weights); orders loads after stores
    rows: int = 1
    pitch_bytes: int = 0

    @property
    def row_bytes(self) -> int:
        """Bytes of each request."""
        return self.size_bytes // self.rows if self.rows else 0

    def requests(self) -> list[tuple[int, int]]:
        """The (address, bytes) of each request, in the order they are served."""
        size = self.row_bytes
        return [(self.address + i * self.pitch_bytes, size) for i in range(self.rows)]


def strided(operand: str, address: int, row_bytes: int, rows: int, pitch_bytes: int,
            write: bool = False, tensor: str = "") -> Transfer:
    """``rows`` requests of ``row_bytes``, ``pitch_bytes`` apart, as one descriptor."""
    return Transfer(operand, address, row_bytes * rows, write, tensor, rows,
                    pitch_bytes if rows > 1 else 0)


class Footprint(NamedTuple):
    """What a tile occupies on chip, in bytes per declared buffer name (``global``, ``ifmap``,
    ``weight``, ``ofmap``, ``fmap``).

    - ``loaded``: its own input windows and weight blocks, from the moment its loads are issued
      until it has finished computing;
    - ``produced``: its own output tile, from compute start until its stores are done;
    - ``held``: bytes shared by consecutive tiles of one ``group`` (an input window kept while
      filter blocks pass, a fused tile's intermediates, a reordered band's accumulator), from
      the group's first load to its last compute;
    - ``shared``: bytes shared by consecutive tiles with the same ``shared_by`` (a layer's or a
      fused group's weights loaded once), likewise;
    - ``resident``: whole feature maps it reads or writes that stay on chip between layers,
      as (tensor, buffer, bytes); each is on chip from the first tile that touches it to the
      end of the last.

    Planners hand one footprint, and one map of it, to many tiles (every tile of a layer with
    the same sizes); nothing may change a map in place once a tile holds it. A named tuple, as
    :class:`Transfer` is (a schedule makes one for most of its tiles): the maps left out are one
    shared empty map.
    """

    loaded: dict[str, int] = {}
    produced: dict[str, int] = {}
    held: dict[str, int] = {}
    group: str = ""
    shared: dict[str, int] = {}
    shared_by: str = ""
    resident: tuple[tuple[str, str, int], ...] = ()

    def alone(self, buffer: str) -> int:
        """Bytes in ``buffer`` while this tile computes, its resident feature maps included."""
        return (self.loaded.get(buffer, 0) + self.produced.get(buffer, 0)
                + self.held.get(buffer, 0) + self.shared.get(buffer, 0)
                + sum(size for _, name, size in self.resident if name == buffer))


NO_FOOTPRINT = Footprint()


class Tile(NamedTuple):
    """Loads, compute and stores of one step; SRAM access counts are in bytes.

    Immutable, and a named tuple like :class:`Transfer` (a schedule has tens of thousands of
    tiles; one is made in a third of a frozen dataclass's time); its maps, like the
    footprint's, are never changed in place (the SRAM maps left out are one shared empty
    map)."""

    layer: str
    loads: tuple[Transfer, ...]
    stores: tuple[Transfer, ...]
    macs: int
    compute_cycles: int
    sram_read_bytes: dict[str, int] = {}
    sram_write_bytes: dict[str, int] = {}
    footprint: Footprint = NO_FOOTPRINT


class DramLayout:
    """Page-aligned DRAM regions for tensors (by name) and weights (by layer name), for data of
    ``dtype_bytes`` per element whose partial sums take ``accumulator_bytes`` (int32 for
    integer data)."""

    def __init__(self, network: Network, dtype_bytes: int, align_bytes: int = 4096,
                 weights: WeightStorage = DENSE, accumulator_bytes: int = 4) -> None:
        self.dtype_bytes = dtype_bytes
        self.accumulator_bytes = accumulator_bytes
        self.weights = weights
        self._bases: dict[str, int] = {}
        self._next = 0
        self._align = align_bytes
        self.network = network
        # Results that depend only on this layout (and the keys they are stored under), kept
        # for planners that score the same candidate more than once.
        self.memo: dict[tuple, object] = {}
        self._places: dict[str, MapPlace] = {}
        self._weights: dict[tuple[str, int, int], Transfer] = {}
        self._allocate("tensor:input", network.input_shape.elements * dtype_bytes)
        for info in network.infos:
            self._allocate(f"tensor:{info.name}", info.output_shape.elements * dtype_bytes)
            self._allocate(f"weight:{info.name}", weights.stored_bytes(info.params, dtype_bytes))
        self._allocate_psums()

    def _allocate_psums(self) -> None:
        """A partial-sum scratch (output pixels x filters x accumulator bytes) for every layer
        whose reduction can be blocked, after all other regions."""
        from sim.techniques.channel_blocks import blockable  # it builds on this module

        self._data_end = self._next
        self._psum_bytes: dict[str, int] = {}
        for info in self.network.infos:
            if blockable(info):
                start = self._next
                self._allocate(f"tensor:{psum_name(info.name)}",
                               info.output_shape.elements * self.accumulator_bytes)
                self._psum_bytes[info.name] = self._next - start

    def _allocate(self, key: str, size_bytes: int) -> None:
        self._bases[key] = self._next
        self._next += -(-max(size_bytes, 1) // self._align) * self._align

    def used_bytes(self, spilling: Iterable[str]) -> int:
        """Bytes of DRAM a schedule on this layout uses: the input, every layer's output and
        weights, and the partial-sum scratch of the layers in ``spilling`` (the scratch of the
        others is never touched and could be left out), each region rounded up to
        :attr:`align_bytes`."""
        return self._data_end + sum(self._psum_bytes[layer] for layer in spilling)

    @property
    def align_bytes(self) -> int:
        """Where every region starts: a multiple of this many bytes."""
        return self._align

    def tensor_base(self, tensor: str) -> int:
        return self._bases[f"tensor:{tensor}"]

    def weight_base(self, layer: str) -> int:
        return self._bases[f"weight:{layer}"]

    def psum_base(self, layer: str) -> int:
        """The base address of a layer's partial-sum scratch."""
        return self.tensor_base(psum_name(layer))

    def place(self, tensor: str) -> MapPlace:
        """Where ``tensor`` (a feature map, or a :func:`psum_name` scratch) lives, looked up
        once per layout."""
        place = self._places.get(tensor)
        if place is None:
            if tensor.startswith(PSUM_PREFIX):
                shape = self.network[tensor[len(PSUM_PREFIX):]].output_shape
                element_bytes = self.accumulator_bytes
            else:
                shape = self.network.tensor_shape(tensor)
                element_bytes = self.dtype_bytes
            place = self._places[tensor] = MapPlace(self.tensor_base(tensor), shape.width,
                                                    shape.channels, element_bytes)
        return place

    def region_transfers(self, tensor: str, region: Region, operand: str, write: bool = False,
                         tag: str | None = None) -> list[Transfer]:
        """The requests that move ``region`` (all channels) of a tensor: one per map row,
        merged into one when the region spans whole rows. ``tag`` names what the transfer
        moves for load-after-store ordering (the tensor itself unless given)."""
        place = self.place(tensor)
        tag = tensor if tag is None else tag
        if region.pixels == 0:
            return []
        base = place.base + region.row0 * place.row_bytes
        if region.col0 == 0 and region.col1 == place.width:
            return [Transfer(operand, base, region.height * place.row_bytes, write, tag)]
        return [strided(operand, base + region.col0 * place.pixel_bytes,
                        region.width * place.pixel_bytes, region.height, place.row_bytes, write,
                        tag)]

    def channel_transfers(self, tensor: str, region: Region, first_channel: int,
                          end_channel: int, operand: str, write: bool = False,
                          tag: str | None = None) -> list[Transfer]:
        """Channels [first_channel, end_channel) of ``region``: one request per pixel (NHWC),
        as one descriptor per map row (one for the region when it spans whole rows), or the
        whole region's requests when the slice is every channel."""
        place = self.place(tensor)
        if first_channel == 0 and end_channel >= place.channels:
            return self.region_transfers(tensor, region, operand, write, tag)
        if region.pixels == 0:
            return []
        tag = tensor if tag is None else tag
        size = (end_channel - first_channel) * place.element_bytes
        pitch = place.pixel_bytes

        def pixel(row: int, col: int) -> int:
            return (place.base + (row * place.width + col) * pitch
                    + first_channel * place.element_bytes)

        if region.col0 == 0 and region.col1 == place.width:
            return [strided(operand, pixel(region.row0, 0), size, region.pixels, pitch, write,
                            tag)]
        return [strided(operand, pixel(row, region.col0), size, region.width, pitch, write,
                        tag) for row in range(region.row0, region.row1)]

    def region_cost(self, tensor: str, region: Region, burst_bytes: int) -> tuple[int, int]:
        """(bursts, requests) of :meth:`region_transfers`, without making them."""
        if region.pixels == 0:
            return 0, 0
        place = self.place(tensor)
        base = place.base + region.row0 * place.row_bytes
        if region.col0 == 0 and region.col1 == place.width:
            return strided_bursts(base, region.height * place.row_bytes, 1, 0, burst_bytes), 1
        return strided_bursts(base + region.col0 * place.pixel_bytes,
                              region.width * place.pixel_bytes, region.height, place.row_bytes,
                              burst_bytes), region.height

    def channel_cost(self, tensor: str, region: Region, first_channel: int, end_channel: int,
                     burst_bytes: int) -> tuple[int, int]:
        """(bursts, requests) of :meth:`channel_transfers`, without making them."""
        place = self.place(tensor)
        if first_channel == 0 and end_channel >= place.channels:
            return self.region_cost(tensor, region, burst_bytes)
        if region.pixels == 0:
            return 0, 0
        size = (end_channel - first_channel) * place.element_bytes
        pitch = place.pixel_bytes
        width = place.width
        base = place.base + first_channel * place.element_bytes
        if region.col0 == 0 and region.col1 == width:
            return (strided_bursts(base + region.row0 * width * pitch, size,
                                   region.pixels, pitch, burst_bytes), region.pixels)
        # Row r's pixels start r * width pixels on; their burst offsets repeat every `cycle`
        # rows, so one cycle's rows are counted, each as often as it recurs.
        cycle = (burst_bytes // gcd(pitch, burst_bytes)) // gcd(
            width, burst_bytes // gcd(pitch, burst_bytes))
        bursts = 0
        for row in range(region.row0, region.row0 + min(region.height, cycle)):
            recurs = (region.row1 - row + cycle - 1) // cycle
            bursts += recurs * strided_bursts(base + (row * width + region.col0) * pitch,
                                              size, region.width, pitch, burst_bytes)
        return bursts, region.pixels

    def gathered_requests(self, tensor: str, window: GatheredWindow, first_channel: int,
                          end_channel: int) -> list[tuple[int, int, int, int]]:
        """The requests that move channels [first_channel, end_channel) of the pixels of a
        gathered window, as descriptors (address, bytes per request, requests, pitch bytes).

        All channels: a run of read map rows whose every column is read is one request (the
        rows are contiguous); otherwise each read row is cut into its runs of read pixels, one
        request per run, and consecutive runs of equal bytes and equal spacing share a
        descriptor (a 1x1 stride-2 layer's row: runs of one pixel, two pixels apart). A channel
        slice is one request per read pixel, grouped the same way."""
        place = self.place(tensor)
        pixel_bytes, row_bytes = place.pixel_bytes, place.row_bytes
        every_channel = first_channel == 0 and end_channel >= place.channels
        base = place.base + (0 if every_channel else first_channel * place.element_bytes)
        size = (pixel_bytes if every_channel
                else (end_channel - first_channel) * place.element_bytes)
        if window.pixels == 0:
            return []
        if window.cols == ((0, place.width),):
            if every_channel:
                return [(base + row0 * row_bytes, height * row_bytes, 1, 0)
                        for row0, height in window.rows]
            return [(base + row0 * row_bytes, size, height * place.width, pixel_bytes)
                    for row0, height in window.rows]
        groups = row_groups(window, pixel_bytes, size, every_channel)
        return [(base + row * row_bytes + offset, request, count, pitch)
                for row0, height in window.rows for row in range(row0, row0 + height)
                for offset, request, count, pitch in groups]

    def gathered_transfers(self, tensor: str, window: GatheredWindow, first_channel: int,
                           end_channel: int, operand: str) -> list[Transfer]:
        """The loads of :meth:`gathered_requests`, one descriptor each."""
        return [strided(operand, address, size, count, pitch, tensor=tensor)
                for address, size, count, pitch in self.gathered_requests(
                    tensor, window, first_channel, end_channel)]

    def gathered_cost(self, tensor: str, window: GatheredWindow, first_channel: int,
                      end_channel: int, burst_bytes: int) -> tuple[int, int]:
        """(bursts, requests) of :meth:`gathered_transfers`, without making them."""
        bursts = requests = 0
        for address, size, count, pitch in self.gathered_requests(tensor, window,
                                                                  first_channel, end_channel):
            bursts += strided_bursts(address, size, count, pitch, burst_bytes)
            requests += count
        return bursts, requests

    def weight_cost(self, layer: str, first_byte: int, size_bytes: int, burst_bytes: int
                    ) -> tuple[int, int]:
        """(bursts, requests) of :meth:`weight_transfer`, without making it."""
        return self.weight_costs(layer, [(first_byte, size_bytes)], burst_bytes)

    def weight_costs(self, layer: str, spans: Iterable[tuple[int, int]], burst_bytes: int
                     ) -> tuple[int, int]:
        """(bursts, requests) of :meth:`weight_transfer` of every (first byte, bytes) of
        ``spans`` together, without making them."""
        count = self.network[layer].params
        base = self.weight_base(layer)
        scaled, dtype_bytes = self.weights.scaled, self.dtype_bytes
        bursts = requests = 0
        for first_byte, size_bytes in spans:
            if size_bytes == 0:
                continue
            requests += 1
            address = base + scaled(first_byte, count, dtype_bytes)
            size = scaled(size_bytes, count, dtype_bytes)
            if size > 0:
                bursts += -(-(address + size) // burst_bytes) - address // burst_bytes
        return bursts, requests

    def weight_transfer(self, layer: str, first_byte: int, size_bytes: int) -> list[Transfer]:
        """The request for ``size_bytes`` of a layer's dense weights from ``first_byte`` on, as
        the weight storage keeps them in DRAM (compressed storage moves proportionally less)."""
        if size_bytes == 0:
            return []
        key = (layer, first_byte, size_bytes)
        transfer = self._weights.get(key)
        if transfer is None:
            transfer = self._weights[key] = Transfer(
                "weight", *self._weight_span(layer, first_byte, size_bytes))
        return [transfer]

    def _weight_span(self, layer: str, first_byte: int, size_bytes: int) -> tuple[int, int]:
        """(DRAM address, stored bytes) of ``size_bytes`` of a layer's dense weights from
        ``first_byte`` on."""
        count = self.network[layer].params
        stored_first = self.weights.scaled(first_byte, count, self.dtype_bytes)
        stored_size = self.weights.scaled(size_bytes, count, self.dtype_bytes)
        return self.weight_base(layer) + stored_first, stored_size


def row_groups(window: GatheredWindow, pixel_bytes: int, request_bytes: int,
               every_channel: bool) -> list[tuple[int, int, int, int]]:
    """The requests of one read row of a gathered window, as (byte offset in the row, bytes
    per request, requests, pitch bytes): a run of read pixels per request when every channel
    moves, a read pixel per request for a channel slice; consecutive requests of equal bytes
    and equal spacing grouped, in order."""
    if every_channel:
        requests = [(first * pixel_bytes, count * pixel_bytes) for first, count in window.cols]
    else:
        requests = [(column * pixel_bytes, request_bytes) for first, count in window.cols
                    for column in range(first, first + count)]
    groups: list[list[int]] = []  # [offset, bytes, count, pitch]
    for offset, size in requests:
        if groups:
            last = groups[-1]
            step = offset - last[0] - (last[2] - 1) * last[3]
            if last[1] == size and (last[2] == 1 or step == last[3]):
                last[3] = step if last[2] == 1 else last[3]
                last[2] += 1
                continue
        groups.append([offset, size, 1, 0])
    return [(offset, size, count, pitch) for offset, size, count, pitch in groups]


def whole(network: Network, tensor: str) -> Region:
    shape = network.tensor_shape(tensor)
    return Region(0, shape.height, 0, shape.width)


def request_count(tiles: list[Tile]) -> int:
    """DRAM requests a schedule makes (each descriptor counts its rows)."""
    return sum(transfer.rows for tile in tiles for transfer in (*tile.loads, *tile.stores))


def traffic_bytes(tiles: list[Tile]) -> dict[str, int]:
    """DRAM bytes a schedule requests, per operand (reads and writes together)."""
    totals = dict.fromkeys(OPERANDS, 0)
    for tile in tiles:
        for transfer in (*tile.loads, *tile.stores):
            totals[transfer.operand] += transfer.size_bytes
    return totals


def transfer_bursts(transfer: Transfer, burst_bytes: int) -> int:
    """Whole bursts a transfer moves: every burst each request touches, partly or wholly."""
    return strided_bursts(transfer.address, transfer.row_bytes, transfer.rows,
                          transfer.pitch_bytes, burst_bytes)


def strided_bursts(address: int, row_bytes: int, rows: int, pitch_bytes: int,
                   burst_bytes: int) -> int:
    """Whole bursts of ``rows`` requests of ``row_bytes``, ``pitch_bytes`` apart.

    The requests' offsets inside a burst repeat every ``burst / gcd(pitch, burst)`` rows, so the
    sum is taken from one period's running totals (kept per offset, size, pitch and burst)."""
    if row_bytes <= 0:
        return 0
    if rows == 1:
        return -(-(address + row_bytes) // burst_bytes) - address // burst_bytes
    totals = _period_totals(address % burst_bytes, row_bytes, pitch_bytes % burst_bytes,
                            burst_bytes)
    period = len(totals) - 1
    return (rows // period) * totals[-1] + totals[rows % period]


@lru_cache(maxsize=8192)
def _period_totals(offset: int, row_bytes: int, pitch: int, burst: int) -> tuple[int, ...]:
    """Running totals of the bursts of requests ``i = 0, 1, ...`` of one period, the first at
    ``offset`` inside a burst and each ``pitch`` (mod ``burst``) after the one before."""
    totals = [0]
    for i in range(burst // gcd(pitch, burst)):
        totals.append(totals[-1] + -(-((offset + i * pitch) % burst + row_bytes) // burst))
    return tuple(totals)


def schedule_burst_bytes(tiles: list[Tile], burst_bytes: int) -> int:
    """Bytes a schedule puts on the DRAM bus: whole bursts of every load and store."""
    return burst_bytes * sum(transfer_bursts(transfer, burst_bytes)
                             for tile in tiles for transfer in (*tile.loads, *tile.stores))
