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
resident maps is tried, and :data:`TILE_TRIES` next smaller ones.

:func:`choose_segments` walks the chain once: the best bytes up to layer ``i`` are the best up
to ``i - 1`` plus layer ``i`` mapped alone, or the best up to a segment's start plus the
segment's bytes. A segment is taken only where it moves strictly fewer bytes than its layers
mapped one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.hardware import HardwareSpec
from sim.mapper.search import tile_edges
from sim.schedule import DramLayout, Tile, schedule_burst_bytes
from sim.techniques.fusion import crossing, fused_group_tiles, group_fits, is_spatial
from sim.techniques.layer_tiles import Residency
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
                 dtype_bytes: int, residency: Residency) -> bool:
    return group_fits(network, _infos(network, segment), hardware, segment.tile, dtype_bytes,
                      residency)


def segment_tiles(network: Network, segment: FusedSegment, hardware: HardwareSpec,
                  layout: DramLayout, residency: Residency) -> list[Tile]:
    return fused_group_tiles(_infos(network, segment), hardware, layout, segment.tile,
                             residency)


def _infos(network: Network, segment: FusedSegment) -> list[LayerInfo]:
    names = [info.name for info in network.infos]
    return list(network.infos[names.index(segment.first):names.index(segment.last) + 1])


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
        if not group_fits(network, infos, hardware, tile, layout.dtype_bytes, residency):
            continue
        moved = schedule_burst_bytes(
            fused_group_tiles(infos, hardware, layout, tile, residency), burst)
        if best is None or moved < best[0]:
            best = (moved, segment)
        tried += 1
        if tried == TILE_TRIES:
            break
    return best


def choose_segments(network: Network, hardware: HardwareSpec, layout: DramLayout,
                    residency: Residency, alone_bytes: dict[str, int], excluded: set[str]
                    ) -> list[FusedSegment]:
    """The fused segments that minimize the chain's bus bytes (see the module docstring);
    ``alone_bytes`` are each layer's bytes mapped alone, ``excluded`` layers never fuse."""
    infos = network.infos
    count = len(infos)
    best: list[float] = [0.0] + [float("inf")] * count
    step: list[tuple[int, FusedSegment | None]] = [(0, None)] * (count + 1)
    segments: dict[int, list[tuple[int, int, FusedSegment]]] = {}
    for start, end in candidate_spans(network, excluded):
        alone = sum(alone_bytes[info.name] for info in infos[start:end])
        found = best_segment(network, start, end, hardware, layout, residency)
        if found is not None and found[0] < alone:
            segments.setdefault(start, []).append((end, found[0], found[1]))
    for index in range(count):
        here = best[index]
        alone = here + alone_bytes.get(infos[index].name, 0)
        if alone < best[index + 1]:
            best[index + 1], step[index + 1] = alone, (index, None)
        for end, moved, segment in segments.get(index, []):
            if here + moved < best[end]:
                best[end], step[end] = here + moved, (index, segment)
    chosen = []
    position = count
    while position > 0:
        previous, segment = step[position]
        if segment is not None:
            chosen.append(segment)
        position = previous
    return chosen[::-1]
