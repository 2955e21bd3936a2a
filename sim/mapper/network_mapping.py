"""A network's mapping and the schedule it gives; the ``auto`` search over whole networks.

A :class:`NetworkMapping` is data a user can read and edit (:mod:`sim.mapper.mapping_file`):
the feature maps kept on chip between layers (``resident``), the inverted-residual blocks run
reordered (``reordered``: expansion channels a chunk at a time, :mod:`sim.techniques.
reordered_schedule`), the runs of layers fused per output tile (``fused``,
:mod:`sim.mapper.fused_segments`), and one :class:`LayerMapping` for every other layer.

``auto`` tries the feature-map room the ``buffered`` and ``full`` dataflows choose from (0, 1/4,
1/2 and all of what the residency buffer holds, in whole channels at the input resolution), with
and without reordered blocks; in each, every layer gets its best mapping
(:func:`sim.mapper.search.search_layer`) beside the maps kept on chip, and a block runs
reordered only where that puts no more bytes on the bus than its layers mapped one by one. Then
the fused segments that put the fewest bytes on the bus are chosen over the chain
(:func:`sim.mapper.fused_segments.choose_segments`); each context is a candidate with them and
without them. The candidate with the best objective wins: bus bytes for ``dram_bytes``, the
cycle-level engine's energy, cycles or their product otherwise. Last, the resident set of the
winner is refined one change at a time (:func:`_refine_residency`).

For ``dram_bytes`` the candidates rank first by how many units (:mod:`sim.mapper.units`) move
more bytes than under some fixed dataflow at its shipped options
(:mod:`sim.mapper.fixed_runs`), and only then by bus bytes, so that ``auto`` moves no more than
any of them on every unit where it finds such a mapping; where it does not, it keeps the
mapping of fewest bytes it finds instead (ranked by bytes alone, or by units first).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from sim.dtypes import DType
from sim.energy import layer_energy_pj
from sim.hardware import HardwareSpec
from sim.mapper.emit import canonical, emit, gather_problem, overflow, valid
from sim.mapper.fixed_runs import fixed_part_bytes, reordered_bytes
from sim.mapper.fused_segments import (
    FusedSegment,
    choose_segments,
    segment_fits,
    segment_problem,
    segment_tiles,
)
from sim.mapper.layer_mapping import LayerMapping
from sim.mapper.search import OBJECTIVES, SearchMemo, refuse, search_layer
from sim.mapper.units import FixedMinimum
from sim.pipeline import run_pipeline
from sim.schedule import DramLayout, Tile, schedule_burst_bytes
from sim.techniques.buffering import (
    feature_map_request_bytes,
    plan_residency,
    residency_of,
    residency_room,
)
from sim.techniques.layer_tiles import Residency
from sim.techniques.reorder import Bottleneck, find_bottlenecks
from sim.techniques.reordered_schedule import plan_reorder, reorder_residency, reordered_tiles
from sim.workload.network import Network


@dataclass(frozen=True)
class NetworkMapping:
    """How every layer of a network runs (see the module docstring)."""

    network: str
    hardware: str
    dtype: str
    objective: str = "dram_bytes"
    resident: tuple[str, ...] = ()
    reordered: tuple[str, ...] = ()
    layers: tuple[LayerMapping, ...] = ()
    fused: tuple[FusedSegment, ...] = ()

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}")


def mapping_to_dict(mapping: NetworkMapping) -> dict:
    """The mapping as plain data (the mapping file's fields)."""
    return {"network": mapping.network, "hardware": mapping.hardware, "dtype": mapping.dtype,
            "objective": mapping.objective, "resident": list(mapping.resident),
            "reordered": list(mapping.reordered),
            "fused": [segment.to_dict() for segment in mapping.fused],
            "layers": [entry.to_dict() for entry in mapping.layers]}


class MappingProblem(Exception):
    """A mapping that cannot run: ``loc`` is the field (as in the mapping file), ``allowed``
    what would be accepted."""

    def __init__(self, loc: tuple, message: str, allowed: str = "") -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.allowed = allowed


@dataclass
class MappedSchedule:
    """The tiles of a mapping and the mapping itself."""

    tiles: list[Tile]
    mapping: NetworkMapping
    fmap_buffer: str = ""
    fmap_bytes: int = 0
    # Where ``auto`` found no mapping without units above the fixed runs and kept the
    # network's minimum: the units above in the best mapping that ranked them first.
    units_left_above: tuple[str, ...] = ()


def _units(blocks: list[Bottleneck]) -> list[tuple[int, int]]:
    return [(block.expand.index, block.infos[-1].index) for block in blocks]


def mapped_schedule(network: Network, hardware: HardwareSpec, mapping: NetworkMapping,
                    layout: DramLayout, dtype: DType) -> MappedSchedule:
    """The tiles ``mapping`` gives; raises :class:`MappingProblem` naming the field, the layer
    and the buffer when it does not fit or names what the network does not have."""
    known = {info.name for info in network.infos}
    blocks = {block.name: block for block in find_bottlenecks(network)}
    for index, name in enumerate(mapping.resident):
        if name not in known or name == network.output_name:
            raise MappingProblem(("resident", index), f"no layer output {name!r} to keep on chip",
                                 "outputs of layers before the last")
    for index, name in enumerate(mapping.reordered):
        if name not in blocks:
            raise MappingProblem(("reordered", index), f"no inverted-residual block {name!r}",
                                 ", ".join(blocks) or "none in this network")
    chosen = [blocks[name] for name in mapping.reordered]
    residency = residency_of(network, hardware, mapping.resident, dtype.bytes, _units(chosen))
    buffer, room = residency_room(hardware)
    for info in network.infos:
        held = residency.layer_bytes.get(info.name, 0)
        if held > room:
            raise MappingProblem(("resident",), f"at layer {info.name!r} the resident feature "
                                 f"maps take {held:,} B, more than buffer {buffer!r} has "
                                 f"({room:,} B)")
    by_layer: dict[str, tuple[int, LayerMapping]] = {}
    for index, entry in enumerate(mapping.layers):
        if entry.layer not in known:
            raise MappingProblem(("layers", index, "layer"), f"no layer {entry.layer!r}")
        by_layer[entry.layer] = (index, entry)
    in_blocks = {info.name: block for block in chosen for info in block.infos}
    starts = _fused_starts(network, hardware, mapping, dtype, residency, set(in_blocks))
    tiles: list[Tile] = []
    done: set[str] = set()
    for info in network.infos:
        if info.name in done:
            continue
        if info.name in starts:
            segment, names = starts[info.name]
            tiles += segment_tiles(network, segment, hardware, layout, residency)
            done |= names
            continue
        block = in_blocks.get(info.name)
        if block is not None:
            plan = plan_reorder(block, hardware, dtype, residency, layout.memo)
            if plan is None:
                raise MappingProblem(("reordered", mapping.reordered.index(block.name)),
                                     f"block {block.name!r} does not fit reordered beside the "
                                     "resident feature maps")
            block_tiles = reordered_tiles(plan, hardware, layout, dtype, residency)
            tiles += block_tiles
            done |= {i.name for i in block.infos}
            continue
        if info.name not in by_layer:
            raise MappingProblem(("layers",), f"layer {info.name!r} has no mapping")
        index, entry = by_layer[info.name]
        problem = gather_problem(info, entry)
        if problem:
            raise MappingProblem(("layers", index, "gather"), problem, "false")
        problem = valid(info, entry)
        if problem:
            raise MappingProblem(("layers", index), problem)
        entry = canonical(info, entry)
        full = overflow(info, entry, hardware, dtype.bytes, layout.accumulator_bytes, residency)
        if full is not None:
            raise MappingProblem(("layers", index), f"layer {info.name!r} does not fit: its "
                                 f"tiles overfill buffer {full!r}")
        tiles += emit(info, entry, hardware, layout, residency)
    return MappedSchedule(tiles, mapping, buffer or "", sum(residency.sizes.values()))


def _fused_starts(network: Network, hardware: HardwareSpec, mapping: NetworkMapping,
                  dtype: DType, residency: Residency, reordered: set[str]
                  ) -> dict[str, tuple[FusedSegment, set[str]]]:
    """Each fused segment by its first layer, with its layers' names; raises
    :class:`MappingProblem` for a segment that cannot run or does not fit."""
    starts: dict[str, tuple[FusedSegment, set[str]]] = {}
    taken: set[str] = set(reordered)
    for index, segment in enumerate(mapping.fused):
        problem = segment_problem(network, segment, residency)
        if problem:
            raise MappingProblem(("fused", index), problem)
        layers = {info.name for info in segment.infos(network)}
        if layers & taken:
            raise MappingProblem(("fused", index), f"segment {segment.first}..{segment.last} "
                                 "overlaps another fused segment or a reordered block")
        if not segment_fits(network, segment, hardware, dtype.bytes,
                            dtype.accumulator_bits // 8, residency):
            raise MappingProblem(("fused", index), f"segment {segment.first}..{segment.last} "
                                 f"at tile {segment.tile} does not fit the buffers beside the "
                                 "resident feature maps")
        taken |= layers
        starts[segment.first] = (segment, layers)
    return starts


def measure(tiles: list[Tile], hardware: HardwareSpec, dtype: DType, objective: str) -> float:
    """The objective of a schedule: bus bytes, or the engine's energy (pJ), cycles or EDP."""
    if objective == "dram_bytes":
        return schedule_burst_bytes(tiles, hardware.dram.burst_bytes)
    result = run_pipeline(tiles, hardware)
    if objective == "latency":
        return result.cycles
    energy = sum(layer_energy_pj(counters, hardware, dtype)["total"]
                 for counters in result.layers.values())
    return energy if objective == "energy" else energy * result.cycles


# Per (layer, its resident inputs/output, resident bytes beside it, buffer): its best mapping
# and that mapping's bus bytes, or None when no mapping fits.
LayerCache = dict[tuple, tuple[LayerMapping, int] | None]

# A candidate: its mapping, its bus bytes and those bytes per part (see context_mappings).
Candidate = tuple[NetworkMapping, int, dict[str, int]]


def context_mappings(network: Network, hardware: HardwareSpec, layout: DramLayout,
                     dtype: DType, objective: str, residency: Residency,
                     blocks: list[Bottleneck], cache: LayerCache, memo: SearchMemo
                     ) -> list[Candidate]:
    """The best mappings with these feature maps resident and these blocks reorderable, with
    the best fused segments and without, each with the bytes its schedule puts on the bus and
    those bytes per part (a layer; a reordered block under its expansion layer; a fused
    segment under its first layer); none when some layer fits no mapping beside them."""
    chosen: dict[str, LayerMapping] = {}
    moved: dict[str, int] = {}
    for info in network.infos:
        key = (info.name, frozenset(n for n in (*info.inputs, info.name)
                                    if n in residency.on_chip),
               residency.layer_bytes.get(info.name, 0), residency.buffer)
        if key not in cache:
            choice = search_layer(info, hardware, layout, residency, objective, dtype, memo)
            cache[key] = None if choice is None else (choice.mapping,
                                                      choice.traffic.bus_bytes)
        found = cache[key]
        if found is None:
            if not any(info in block.infos for block in blocks):
                return []
            moved[info.name] = -1  # runs only reordered
            continue
        chosen[info.name], moved[info.name] = found
    reordered = []
    block_parts: dict[str, int] = {}
    for block in blocks:
        plan = plan_reorder(block, hardware, dtype, residency, layout.memo)
        if plan is None:
            if any(moved[i.name] < 0 for i in block.infos):
                return []
            continue
        block_bytes = reordered_bytes(plan, hardware, layout, residency)
        alone = [moved[i.name] for i in block.infos]
        if min(alone) < 0 or block_bytes <= sum(alone):
            reordered.append(block.name)
            block_parts[block.expand.name] = block_bytes
    skipped = {i.name for block in blocks if block.name in reordered for i in block.infos}
    resident = tuple(sorted(residency.on_chip, key=lambda name: network[name].index))
    plain = NetworkMapping(
        network.name, hardware.name, str(dtype), objective, resident, tuple(reordered),
        tuple(chosen[info.name] for info in network.infos if info.name not in skipped))
    alone = {name: moved[name] for name in chosen if name not in skipped}
    plain_parts = alone | block_parts
    plain_bytes = sum(plain_parts.values())
    segments = choose_segments(network, hardware, layout, residency, alone,
                               skipped | {name for name, size in moved.items() if size < 0},
                               memo.segments)
    if not segments:
        return [(plain, plain_bytes, plain_parts)]
    fused = {info.name for segment, _ in segments for info in segment.infos(network)}
    fused_parts = {name: size for name, size in plain_parts.items() if name not in fused}
    fused_parts |= {segment.first: size for segment, size in segments}
    return [(plain, plain_bytes, plain_parts), (dataclasses.replace(
        plain, fused=tuple(segment for segment, _ in segments),
        layers=tuple(entry for entry in plain.layers if entry.layer not in fused)),
        sum(fused_parts.values()), fused_parts)]


def auto_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout, dtype: DType,
                  objective: str = "dram_bytes", dominate: bool = True) -> MappedSchedule:
    """The best schedule ``auto`` finds (see the module docstring). With ``dominate`` and
    objective ``dram_bytes``, candidates rank first by how many units move more than under
    some fixed run (:mod:`sim.mapper.fixed_runs`), then by bus bytes; if the best still has
    such a unit, the search runs again on bus bytes alone and whichever of the two moves
    fewer bytes is kept. Without ``dominate``, only that second search runs."""
    cache: LayerCache = {}
    memo = SearchMemo()
    if dominate and objective == "dram_bytes":
        fixed = FixedMinimum(network, fixed_part_bytes(network, hardware, layout, dtype))
        above, mapping, moved = _search(network, hardware, layout, dtype, objective, cache,
                                        memo, fixed)
        if not above:
            return mapped_schedule(network, hardware, mapping, layout, dtype)
        _, least, least_moved = _search(network, hardware, layout, dtype, objective, cache,
                                        memo, None)
        kept = mapping if moved < least_moved else least
        return dataclasses.replace(mapped_schedule(network, hardware, kept, layout, dtype),
                                   units_left_above=tuple(above))
    _, mapping, _ = _search(network, hardware, layout, dtype, objective, cache, memo, None)
    return mapped_schedule(network, hardware, mapping, layout, dtype)


def _search(network: Network, hardware: HardwareSpec, layout: DramLayout, dtype: DType,
            objective: str, cache: LayerCache, memo: SearchMemo, fixed: FixedMinimum | None
            ) -> tuple[list[str], NetworkMapping, float]:
    """The best mapping over the feature-map rooms and the refinement of its resident set,
    ranked first by its units above ``fixed`` (when given), then by ``objective``; with the
    units it has above and its objective. Without ``fixed`` the two rankings agree, so one
    refinement runs."""
    _, size = residency_room(hardware)
    shape = network.input_shape
    most = size // (shape.height * shape.width * dtype.bytes)

    def rank(candidate: Candidate) -> tuple[int, int]:
        """(units above the fixed runs' fewest, bus bytes) of a candidate."""
        mapping, moved, parts = candidate
        above = 0 if fixed is None else len(fixed.units_above(mapping.fused, parts))
        return above, moved

    best: tuple[tuple[int, float], Candidate] | None = None
    cheapest: tuple[float, Candidate] | None = None  # by the objective alone
    seen: set[tuple] = set()
    for channels in sorted({0, most // 4, most // 2, most}):
        room = feature_map_request_bytes(network, channels, dtype.bytes)
        contexts = [([], plan_residency(network, hardware, room, dtype.bytes,
                                        dtype.accumulator_bits // 8))]
        blocks, residency = reorder_residency(network, hardware, dtype, room, layout.memo)
        if blocks:
            contexts.append((blocks, residency))
        for blocks, residency in contexts:
            seen_key = (residency.on_chip, tuple(sorted(residency.layer_bytes.items())),
                        tuple(block.name for block in blocks))
            if seen_key in seen:
                continue  # another room gave the same residency
            seen.add(seen_key)
            for candidate in context_mappings(network, hardware, layout, dtype, objective,
                                              residency, blocks, cache, memo):
                value = (rank(candidate)[0],
                         _value(network, hardware, layout, dtype, objective, *candidate[:2]))
                if best is None or value < best[0]:
                    best = (value, candidate)
                if cheapest is None or value[1] < cheapest[0]:
                    cheapest = (value[1], candidate)
    if best is None:
        raise refuse(next(info for info in network.infos
                          if search_layer(info, hardware, layout, Residency()) is None))
    assert cheapest is not None
    # The refinement starts from the best candidate; if units are still above after it, from
    # the candidate of fewest bytes too (its units above may go with a few changes).
    starts = [best[1][0]]
    if cheapest[1][0] != starts[0]:
        starts.append(cheapest[1][0])
    for start in starts:
        refined = _refine_residency(network, hardware, layout, dtype, objective, start, cache,
                                    memo, rank, fixed)
        if refined is not None:
            value = (rank(refined)[0],
                     _value(network, hardware, layout, dtype, objective, *refined[:2]))
            if value < best[0]:
                best = (value, refined)
        if best[0][0] == 0:
            break
    mapping, _, parts = best[1]
    above = [] if fixed is None else fixed.units_above(mapping.fused, parts)
    return above, mapping, best[0][1]


REFINE_PASSES = 4  # rounds of single changes to the resident set, while the bytes fall
# With units above the fixed runs, one more round per such unit may be spent removing them.


def _refine_residency(network: Network, hardware: HardwareSpec, layout: DramLayout,
                      dtype: DType, objective: str, start: NetworkMapping, cache: LayerCache,
                      memo: SearchMemo, rank: Callable[[Candidate], tuple[int, int]],
                      fixed: FixedMinimum | None) -> Candidate | None:
    """The resident set chosen map by map: starting from ``start``'s, each round makes the
    one change that gives the candidate of least ``rank`` (every layer mapped again beside
    the new set, fused runs chosen again), while that falls. A change keeps or drops one
    feature map made outside the reordered blocks, or runs one reordered block layer by
    layer with its inner maps kept on chip instead, or (with ``fixed``) gives a unit that
    moves more than under some fixed run that run's choices around it: the maps live across
    the unit are those the run keeps, and the unit's blocks run reordered as in the run.
    None when nothing improves."""
    _, room = residency_room(hardware)
    if not room:
        return None
    every_block = find_bottlenecks(network)

    def best_with(names: frozenset[str], block_names: frozenset[str]) -> Candidate | None:
        blocks = [block for block in every_block if block.name in block_names]
        ordered = sorted(names, key=lambda name: network[name].index)
        residency = residency_of(network, hardware, ordered, dtype.bytes, _units(blocks))
        if any(size > room for size in residency.layer_bytes.values()):
            return None
        found = context_mappings(network, hardware, layout, dtype, objective, residency,
                                 blocks, cache, memo)
        return min(found, key=rank, default=None)

    def changes(names: frozenset[str], block_names: frozenset[str], current: Candidate
                ) -> list[tuple[frozenset[str], frozenset[str]]]:
        blocks = [block for block in every_block if block.name in block_names]
        inside = {info.name for block in blocks for info in block.infos}
        toggles = [(names ^ {info.name}, block_names) for info in network.infos
                   if info.name != network.output_name and info.name not in inside]
        unblocked = [(names | {info.name for info in block.infos if info.name != block.output},
                      block_names - {block.name}) for block in blocks]
        return toggles + unblocked + as_fixed(names, block_names, current)

    def as_fixed(names: frozenset[str], block_names: frozenset[str], current: Candidate
                 ) -> list[tuple[frozenset[str], frozenset[str]]]:
        """Per unit above the fixed runs' fewest, the change to the run's choices there."""
        if fixed is None:
            return []
        mapping, _, parts = current
        found = []
        for unit in fixed.units_above(mapping.fused, parts):
            run = fixed.least_run(mapping.fused, unit)
            indices = [network[name].index for name in fixed.layers_of(mapping.fused, unit)]
            first, last = min(indices), max(indices)
            across = {info.name for info in network.infos
                      if info.index <= last and network.last_use(info.name) >= first
                      and info.name != network.output_name}
            mine = {block.name for block in every_block
                    if first <= block.expand.index <= last}
            found.append(((names - across) | (run.resident & across),
                          (block_names - mine) | (run.reordered & mine)))
        return found

    state = (frozenset(start.resident), frozenset(start.reordered))
    kept = best_with(*state)
    if kept is None:
        return None
    first = rank(kept)
    passes = REFINE_PASSES + first[0]
    for _ in range(passes):
        trials = [(found, change) for change in changes(*state, kept)
                  if (found := best_with(*change)) is not None]
        better = min(trials, key=lambda trial: rank(trial[0]), default=None)
        if better is None or rank(better[0]) >= rank(kept):
            break
        kept = better[0]
        state = (frozenset(kept[0].resident), better[1][1])
    return kept if rank(kept) < first else None


def _value(network: Network, hardware: HardwareSpec, layout: DramLayout, dtype: DType,
           objective: str, mapping: NetworkMapping, moved: int) -> float:
    """A candidate's objective: its bus bytes as counted from its parts (each part's count is
    tested equal to its tiles), or what the engine measures of its schedule."""
    if objective == "dram_bytes":
        return moved
    schedule = mapped_schedule(network, hardware, mapping, layout, dtype)
    return measure(schedule.tiles, hardware, dtype, objective)
