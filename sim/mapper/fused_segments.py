"""Fused segments: runs of consecutive layers executed per output tile, intermediates on chip,
chosen per segment by dynamic programming over the layer chain.

A segment (:class:`FusedSegment`) is layers ``first..last`` run as one fused group
(:func:`sim.techniques.fusion.fused_group_tiles`) at ``tile`` x ``tile`` output tiles: the
segment's input windows (halos recomputed, their MACs counted), its intermediate regions and its
output tile on chip, all its weights held. Its intermediate maps never reach DRAM.

A segment may start where one tensor crosses into it and end where only its last layer's output
leaves it (so nothing outside reads an intermediate), holds 2 to :data:`MAX_FUSED_LAYERS`
spatial layers, and keeps none of its intermediates resident. Its bus bytes are exact (its
tiles' whole bursts); for every candidate segment the largest tile that fits beside the
resident maps is tried, and :data:`TILE_TRIES` next smaller ones; fit and bytes come from the
row and column bands of the tiles (receptive fields separate), not from every tile.

:func:`choose_segments` walks the chain once: the best bytes up to layer ``i`` are the best up
to ``i - 1`` plus layer ``i`` mapped alone, or the best up to a segment's start plus the
segment's bytes. A segment is taken only where it moves strictly fewer bytes than its layers
mapped one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.capacity import Budget
from sim.hardware import HardwareSpec
from sim.mapper.search import tile_edges
from sim.mapper.traffic import Moves
from sim.schedule import DramLayout, Tile
from sim.techniques.fusion import crossing, fused_group_tiles, fused_running_sum_bytes, is_spatial
from sim.techniques.layer_tiles import Residency
from sim.techniques.receptive import Region, propagate
from sim.workload.network import LayerInfo, Network

MAX_FUSED_LAYERS = 4  # layers per segment: an inverted-residual block with its add
TILE_TRIES = 2  # tile sizes costed per segment: the largest that fits and the next smaller


@dataclass(frozen=True)
class FusedSegment:
    """Layers ``first`` .. ``last`` (by name, in network order) fused at ``tile`` x ``tile``
    output pixels per tile."""

    first: str
    last: str
    tile: int

    def to_dict(self) -> dict:
        return {"first": self.first, "last": self.last, "tile": self.tile}

    def infos(self, network: Network) -> list[LayerInfo]:
        """The segment's layers in network order (both ends must be layers of ``network``)."""
        return list(network.infos[network[self.first].index:network[self.last].index + 1])


def segment_problem(network: Network, segment: FusedSegment, residency: Residency
                    ) -> str | None:
    """Why ``segment`` cannot run fused (None when it can, fit aside)."""
    names = [info.name for info in network.infos]
    if segment.first not in names or segment.last not in names:
        missing = segment.first if segment.first not in names else segment.last
        return f"no layer {missing!r}"
    start, end = names.index(segment.first), names.index(segment.last) + 1
    if not 2 <= end - start <= MAX_FUSED_LAYERS:
        return f"a fused segment holds 2..{MAX_FUSED_LAYERS} consecutive layers"
    infos = network.infos[start:end]
    if not all(is_spatial(info) for info in infos):
        return "every fused layer must be spatial (no fully connected or global pooling)"
    if len(crossing(network, start)) != 1:
        return f"more than one tensor crosses into {segment.first!r}"
    if end < len(names) and crossing(network, end) != {segment.last}:
        return f"a layer after {segment.last!r} reads a map made before it"
    inner = {info.name for info in infos[:-1]}
    if inner & residency.on_chip:
        return "a fused segment keeps none of its intermediate maps resident"
    if not 1 <= segment.tile <= infos[-1].output_shape.height:
        return f"tile must be 1..{infos[-1].output_shape.height}"
    return None


def segment_fits(network: Network, segment: FusedSegment, hardware: HardwareSpec,
                 dtype_bytes: int, accumulator_bytes: int, residency: Residency) -> bool:
    return bands_fit(network, segment.infos(network), segment.tile, hardware, dtype_bytes,
                     accumulator_bytes, residency)


def segment_tiles(network: Network, segment: FusedSegment, hardware: HardwareSpec,
                  layout: DramLayout, residency: Residency) -> list[Tile]:
    return fused_group_tiles(segment.infos(network), hardware, layout, segment.tile,
                             residency)


def _bands(infos: list[LayerInfo], tile: int) -> tuple[list[dict[str, Region]],
                                                        list[dict[str, Region]]]:
    """Every tensor's region for each row band (all columns) and each column band (all rows)
    of ``tile`` x ``tile`` output tiles. Receptive fields separate, so tile (i, j) needs rows
    of row band i by columns of column band j of every tensor (a bounding box too)."""
    last = infos[-1]
    height, width = last.output_shape.height, last.output_shape.width
    rows = [propagate(infos, last.name, Region(r, min(r + tile, height), 0, width))
            for r in range(0, height, tile)]
    cols = [propagate(infos, last.name, Region(0, height, c, min(c + tile, width)))
            for c in range(0, width, tile)]
    return rows, cols


def bands_fit(network: Network, infos: list[LayerInfo], tile: int, hardware: HardwareSpec,
              dtype_bytes: int, accumulator_bytes: int, residency: Residency) -> bool:
    """Does the fused group fit at ``tile``, every tensor taken at its tallest row band by its
    widest column band? That is at least what any one tile holds, so a group that passes fits
    :func:`sim.techniques.fusion.group_fits` too (tested), from one pass per band instead of
    one per tile."""
    rows, cols = _bands(infos, tile)
    names = {info.name for info in infos}
    last = infos[-1].name

    def largest(name: str) -> int:
        return (max(band[name].height for band in rows) * max(band[name].width for band in cols)
                * network.tensor_shape(name).channels * dtype_bytes)

    window = sum(largest(name) for name in rows[0]
                 if name not in names and name not in residency.on_chip)
    intermediates = sum(largest(name) for name in rows[0] if name in names and name != last)
    intermediates += fused_running_sum_bytes(
        infos, {info.name: max(band[info.name].height for band in rows)
                * max(band[info.name].width for band in cols)
                for info in infos if info.name in rows[0]},
        hardware.pe_array, dtype_bytes, accumulator_bytes)
    output = 0 if last in residency.on_chip else largest(last)
    weights = sum(info.params for info in infos) * dtype_bytes
    resident = max(residency.layer_bytes.get(info.name, 0) for info in infos)
    return Budget.of(hardware).fits({"ifmap": window, "ofmap": intermediates + output},
                                    {"weight": weights}, resident)


def bus_bytes(network: Network, infos: list[LayerInfo], tile: int, layout: DramLayout,
              residency: Residency, burst_bytes: int) -> int:
    """Exactly the bus bytes of :func:`sim.techniques.fusion.fused_group_tiles` (tested),
    from the row and column bands: every source window per tile, each layer's weights once,
    every output tile."""
    rows, cols = _bands(infos, tile)
    names = {info.name for info in infos}
    last = infos[-1].name
    moves = Moves(layout, burst_bytes)

    def spans(name: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        return ([(band[name].row0, band[name].height) for band in rows],
                [(band[name].col0, band[name].width) for band in cols])

    for source in sorted(name for name in rows[0]
                         if name not in names and name not in residency.on_chip):
        moves.grid(source, *spans(source), "ifmap")
    for info in infos:
        moves.weights(info.name, 0, info.params * layout.dtype_bytes)
    if last not in residency.on_chip:
        moves.grid(last, *spans(last), "ofmap")
    return moves.traffic.bus_bytes


def candidate_spans(network: Network, excluded: set[str]) -> list[tuple[int, int]]:
    """(start, end) layer index ranges that may fuse, none of whose layers is in
    ``excluded``."""
    infos = network.infos
    count = len(infos)
    ends = {end for end in range(1, count + 1)
            if end == count or crossing(network, end) == {infos[end - 1].name}}
    spans = []
    for start in range(count):
        if len(crossing(network, start)) != 1:
            continue
        if not is_spatial(infos[start]) or infos[start].name in excluded:
            continue
        for end in range(start + 2, min(count, start + MAX_FUSED_LAYERS) + 1):
            if not is_spatial(infos[end - 1]) or infos[end - 1].name in excluded:
                break
            if end in ends:
                spans.append((start, end))
    return spans


def best_segment(network: Network, start: int, end: int, hardware: HardwareSpec,
                 layout: DramLayout, residency: Residency
                 ) -> tuple[int, FusedSegment] | None:
    """The fewest bus bytes of layers ``start..end-1`` fused, and the segment that moves them;
    None when no tile fits beside the resident maps."""
    infos = network.infos[start:end]
    if {info.name for info in infos[:-1]} & residency.on_chip:
        return None
    burst = hardware.dram.burst_bytes
    best = None
    tried = 0
    for tile in tile_edges(infos[-1].output_shape.height):
        segment = FusedSegment(infos[0].name, infos[-1].name, tile)
        if not bands_fit(network, infos, tile, hardware, layout.dtype_bytes,
                         layout.accumulator_bytes, residency):
            continue
        moved = bus_bytes(network, infos, tile, layout, residency, burst)
        if best is None or moved < best[0]:
            best = (moved, segment)
        tried += 1
        if tried == TILE_TRIES:
            break
    return best


def _segment_key(network: Network, start: int, end: int, residency: Residency) -> tuple:
    """What of the residency a segment's best depends on: which of its tensors are resident
    and the most resident bytes beside any of its layers."""
    infos = network.infos[start:end]
    touched = {name for info in infos for name in (*info.inputs, info.name)}
    return (start, end, residency.buffer, frozenset(touched & residency.on_chip),
            max(residency.layer_bytes.get(info.name, 0) for info in infos))


def choose_segments(network: Network, hardware: HardwareSpec, layout: DramLayout,
                    residency: Residency, alone_bytes: dict[str, int], excluded: set[str],
                    cache: dict | None = None) -> list[tuple[FusedSegment, int]]:
    """The fused segments that minimize the chain's bus bytes, each with its bytes (see the
    module docstring); ``alone_bytes`` are each layer's bytes mapped alone, ``excluded``
    layers never fuse. ``cache`` keeps each segment's best across calls for the same network,
    hardware and layout (keyed by what of the residency it depends on)."""
    cache = {} if cache is None else cache
    infos = network.infos
    count = len(infos)
    best: list[float] = [0.0] + [float("inf")] * count
    step: list[tuple[int, tuple[FusedSegment, int] | None]] = [(0, None)] * (count + 1)
    segments: dict[int, list[tuple[int, int, FusedSegment]]] = {}
    for start, end in candidate_spans(network, excluded):
        alone = sum(alone_bytes[info.name] for info in infos[start:end])
        key = _segment_key(network, start, end, residency)
        if key not in cache:
            cache[key] = best_segment(network, start, end, hardware, layout, residency)
        found = cache[key]
        if found is not None and found[0] < alone:
            segments.setdefault(start, []).append((end, found[0], found[1]))
    for index in range(count):
        here = best[index]
        alone = here + alone_bytes.get(infos[index].name, 0)
        if alone < best[index + 1]:
            best[index + 1], step[index + 1] = alone, (index, None)
        for end, moved, segment in segments.get(index, []):
            if here + moved < best[end]:
                best[end], step[end] = here + moved, (index, (segment, moved))
    chosen = []
    position = count
    while position > 0:
        previous, segment = step[position]
        if segment is not None:
            chosen.append(segment)
        position = previous
    return chosen[::-1]
