"""The layer-by-layer baseline: each layer reads its inputs and weights and writes its output.

Per layer the output is cut into row bands and the filters into blocks so the tiles fit the
buffers. When all weights fit beside a band they are loaded once; otherwise every band streams
all weight blocks again (the refetch this loop order implies). Among the band counts that fit,
the one that keeps the DRAM bus busy least is chosen: its traffic, or one burst per request when
its requests are smaller than that (channel slices go pixel by pixel); halos between bands are
refetched. Plans are compared by the bytes they put on the bus: every request moves whole
bursts, so channel slices stored pixel by pixel pay for the bursts they touch. Among equal plans,
the one with the fewest DRAM requests wins, then the one with the most tiles (up to 8), so loads
overlap compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import ceil, gcd

from sim.capacity import Budget
from sim.config import ConfigError
from sim.hardware import HardwareSpec
from sim.schedule import DramLayout, Tile, strided_bursts
from sim.techniques.channel_blocks import (
    emit_k_blocked,
    k_blocked_cost,
    k_blocked_plan,
    k_blocked_tiles,
)
from sim.techniques.layer_tiles import (
    NOTHING_ON_CHIP,
    Residency,
    first_input_regions,
    full_region,
    input_region,
    is_channelwise,
    layer_geometry,
    plan_layer_tiles,
    sizes_for_pixels,
    tile_fits,
)
from sim.techniques.receptive import Region
from sim.workload.layers import Add, FullyConnected, GlobalAvgPool, Mul
from sim.workload.network import LayerInfo, Network

MAX_OVERLAP_TILES = 8


@dataclass(frozen=True)
class LayerPlan:
    regions: tuple[Region, ...]
    filter_blocks: int
    traffic_bytes: int
    bus_floor_bytes: int  # at most what it puts on the bus: each request in whole bursts


@dataclass(frozen=True)
class WindowProfile:
    """What scoring a list of output regions needs of them and of their first input's windows:
    counts and pixel sums, and each distinct (first column, end column, height) with how many
    regions (or windows) have it."""

    regions: int
    region_pixels: int
    largest_region: int
    window_pixels: int
    largest_window: int
    region_spans: tuple[tuple[int, int, int, int], ...]
    window_spans: tuple[tuple[int, int, int, int], ...]


def _spans(regions: list[Region]) -> tuple[tuple[int, int, int, int], ...]:
    counts: dict[tuple[int, int, int], int] = {}
    for region in regions:
        key = (region.col0, region.col1, region.row1 - region.row0)
        counts[key] = counts.get(key, 0) + 1
    return tuple((col0, col1, height, count) for (col0, col1, height), count in counts.items())


def window_profile(info: LayerInfo, regions: list[Region]) -> WindowProfile:
    """The profile of ``regions`` of the layer's output."""
    windows = first_input_regions(info, regions)
    return WindowProfile(len(regions), sum(r.pixels for r in regions),
                         max(r.pixels for r in regions), sum(w.pixels for w in windows),
                         max(w.pixels for w in windows), _spans(regions), _spans(windows))


def row_bands(info: LayerInfo, count: int) -> list[Region]:
    height, width = info.output_shape.height, info.output_shape.width
    edges = [height * i // count for i in range(count + 1)]
    return [Region(edges[i], edges[i + 1], 0, width)
            for i in range(count) if edges[i + 1] > edges[i]]


def plan_for_regions(info: LayerInfo, budget: Budget, dtype_bytes: int, accumulator_bytes: int,
                     regions: list[Region], residency: Residency, burst_bytes: int = 1
                     ) -> LayerPlan | None:
    """The fewest filter blocks that make ``regions`` fit beside the layer's resident feature
    maps, with the traffic they imply and a floor under the bus bytes (each request rounded up
    to whole ``burst_bytes``)."""
    scored = plan_for_profile(info, budget, dtype_bytes, accumulator_bytes,
                              window_profile(info, regions),
                              residency, burst_bytes)
    if scored is None:
        return None
    return LayerPlan(tuple(regions), *scored)


def plan_for_profile(info: LayerInfo, budget: Budget, dtype_bytes: int, accumulator_bytes: int,
                     profile: WindowProfile, residency: Residency, burst_bytes: int = 1
                     ) -> tuple[int, int, int] | None:
    """(filter blocks, traffic bytes, bus floor bytes) of :func:`plan_for_regions` from the
    regions' profile."""
    geometry = layer_geometry(info, dtype_bytes)
    on_chip = residency.on_chip
    sources = [shape for source, shape in zip(info.inputs, info.input_shapes, strict=True)
               if source not in on_chip]
    inputs = sum(profile.window_pixels * shape.channels * dtype_bytes for shape in sources)
    out_shape = info.output_shape
    stored = info.name not in on_chip
    stores = profile.region_pixels * out_shape.channels * dtype_bytes if stored else 0
    largest_in, largest_out = profile.largest_window, profile.largest_region
    channelwise = is_channelwise(info)
    max_blocks = (out_shape.channels if channelwise else geometry.filters) or 1
    for blocks in block_counts(max_blocks):
        sizes = sizes_for_pixels(info, largest_in, largest_out, blocks, dtype_bytes, residency,
                                 budget.pe_array, accumulator_bytes)
        if not tile_fits(budget, info, sizes, blocks, residency):
            continue
        weights = geometry.weight_bytes * (1 if blocks == 1 else profile.regions)
        floor = _bus_floor(info, profile, sources, blocks, stored, dtype_bytes, burst_bytes)
        return blocks, inputs + weights + stores, floor
    return None


def _whole(size: int, burst: int) -> int:
    return -(-size // burst) * burst


def _bus_floor(info: LayerInfo, profile: WindowProfile, sources: list, blocks: int,
               stored: bool, dtype_bytes: int, burst: int) -> int:
    """A floor under the bus bytes of a plan: every request it makes moves whole bursts."""
    geometry = layer_geometry(info, dtype_bytes)
    out_shape = info.output_shape
    channelwise = is_channelwise(info) and blocks > 1
    if channelwise:
        per = ceil(out_shape.channels / blocks)
        sliced = [min(per, out_shape.channels - b * per) for b in range(blocks)]
    elif blocks > 1:
        per = ceil(geometry.filters / blocks)
        sliced = [min(per, geometry.filters - b * per) * geometry.groups for b in range(blocks)]
    else:
        sliced = [out_shape.channels]

    def rows(spans: tuple[tuple[int, int, int, int], ...], width: int, channels: int) -> int:
        """Each region read or written row by row (one request when it spans whole rows)."""
        total = 0
        for col0, col1, height, count in spans:
            if col0 == 0 and col1 == width:
                total += count * _whole(height * width * channels * dtype_bytes, burst)
            else:
                total += count * height * _whole((col1 - col0) * channels * dtype_bytes, burst)
        return total

    slice_bursts = sum(_whole(c * dtype_bytes, burst) for c in sliced if c > 0)
    total = 0
    for shape in sources:
        total += (profile.window_pixels * slice_bursts if channelwise
                  else rows(profile.window_spans, shape.width, shape.channels))
    if stored:
        total += (rows(profile.region_spans, out_shape.width, out_shape.channels) if blocks == 1
                  else profile.region_pixels * slice_bursts)
    if geometry.weight_bytes:
        block_weights = ([geometry.weight_bytes] if blocks == 1 else
                         [c * geometry.filter_bytes for c in sliced])
        repeats = 1 if blocks == 1 else profile.regions
        total += repeats * sum(_whole(w, burst) for w in block_weights if w > 0)
    return total


def block_counts(max_blocks: int) -> list[int]:
    """Block counts from 1 up to ``max_blocks`` (one filter or channel per block), doubling,
    each one that splits ``max_blocks`` items into that many non-empty blocks."""
    counts = set()
    blocks = 1
    while blocks < max_blocks:
        counts.add(ceil(max_blocks / ceil(max_blocks / blocks)))
        blocks *= 2
    counts.add(max_blocks)
    return sorted(counts)


def choose_plan(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                candidates: list[list[Region]], residency: Residency) -> list[Tile]:
    """The tiles of the plan that keeps the DRAM bus busy least (whole bursts moved).

    Plans are tried in order of a floor under their bus bytes (each request rounded up to
    whole bursts); each one's bursts and requests are counted exactly (:func:`plan_cost`),
    until no remaining plan's floor can beat the best. Among equal plans, the one with the
    fewest requests wins, then the one with the most tiles (up to 8), so loads overlap compute.
    Only the winner's tiles are made. Where the best plan blocks the filters, input-channel
    blocking (:mod:`sim.techniques.channel_blocks`) competes with it; it also runs a layer that
    fits no plan.
    """
    options = [(index, (lambda regions=regions: regions), window_profile(info, regions))
               for index, regions in enumerate(candidates)]
    return _choose(info, hardware, layout, residency, options, lambda: candidates).tiles()


class ChosenPlan:
    """A layer's winning plan: the bytes its tiles put on the DRAM bus (whole bursts, counted
    from addresses without making them) and its tiles, made on first request."""

    def __init__(self, bus_bytes: int, make: Callable[[], list[Tile]]) -> None:
        self.bus_bytes = bus_bytes
        self._make = make
        self._tiles: list[Tile] | None = None

    def tiles(self) -> list[Tile]:
        if self._tiles is None:
            self._tiles = self._make()
        return self._tiles


def _choose(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout, residency: Residency,
            options: list, all_candidates) -> ChosenPlan:
    """:func:`choose_plan` over ``options``: (key, regions maker, profile) per candidate;
    plan costs are kept in the layout's memo under the candidate key."""
    budget = Budget.of(hardware)
    burst = hardware.dram.burst_bytes
    plans = []
    for key, make_regions, profile in options:
        scored = plan_for_profile(info, budget, layout.dtype_bytes, layout.accumulator_bytes,
                                  profile, residency, burst)
        if scored is not None:
            plans.append((scored[2], key, make_regions, scored[0]))
    output_resident = info.name in residency.on_chip
    if not plans:
        blocked = k_blocked_plan(info, hardware, layout, all_candidates(), residency)
        if blocked is None:
            raise refusal(info)
        regions, filter_blocks, k_blocks = blocked
        bus = k_blocked_cost(info, layout, regions, filter_blocks, k_blocks, residency,
                             burst)[0]
        return ChosenPlan(bus, lambda: emit_k_blocked(info, hardware, layout, regions,
                                                      filter_blocks, k_blocks, residency,
                                                      output_resident))
    plans.sort(key=lambda plan: plan[0])
    on_chip = frozenset(name for name in (*info.inputs, info.name) if name in residency.on_chip)
    best: tuple[tuple[int, int, int], object, int] | None = None
    for floor, key, make_regions, blocks in plans:
        if best is not None and floor > best[0][0]:
            break
        memo_key = ("plan cost", info.name, key, blocks, on_chip, burst)
        cost = layout.memo.get(memo_key)
        if cost is None and blocks == 1 and not isinstance(info.layer, Mul):
            cost = layout.memo[memo_key] = one_block_cost(info, layout, make_regions,
                                                          residency, burst, (info.name, key, burst))
        if cost is None:
            cost = layout.memo[memo_key] = plan_cost(info, layout, make_regions(), blocks,
                                                     residency, burst)
        bus, requests, count = cost
        score = (bus, requests, -min(count, MAX_OVERLAP_TILES))
        if best is None or score < best[0]:
            best = (score, make_regions, blocks)
    assert best is not None
    score, best_regions, best_blocks = best
    chosen = ChosenPlan(score[0], lambda: plan_layer_tiles(
        info, hardware, layout, list(best_regions()), best_blocks, residency=residency))
    if best_blocks == 1:
        return chosen
    # A layer whose filters had to be blocked may move less with its input channels blocked
    # instead (a fully connected layer, whose one tile then streams smaller slices).
    plan = k_blocked_plan(info, hardware, layout, all_candidates(), residency)
    if plan is not None:
        regions, filter_blocks, k_blocks = plan
        bus, requests, count = k_blocked_cost(info, layout, regions, filter_blocks, k_blocks,
                                              residency, burst)
        if (bus, requests, -min(count, MAX_OVERLAP_TILES)) < score:
            return ChosenPlan(bus, lambda: emit_k_blocked(info, hardware, layout, regions,
                                                          filter_blocks, k_blocks, residency,
                                                          output_resident))
    return chosen


def plan_cost(info: LayerInfo, layout: DramLayout, regions: list[Region], filter_blocks: int,
              residency: Residency, burst_bytes: int) -> tuple[int, int, int]:
    """(bytes on the bus, DRAM requests, tiles) of :func:`plan_layer_tiles` for these
    regions and blocks without halo reuse, counted without making the tiles."""
    dtype_bytes = layout.dtype_bytes
    geometry = layer_geometry(info, dtype_bytes)
    out_channels = info.output_shape.channels
    block_filters = ceil(geometry.filters / filter_blocks) if geometry.filters else 0
    channel_blocks = is_channelwise(info) and filter_blocks > 1
    on_chip = residency.on_chip
    stored = info.name not in on_chip
    sources = [(position, source) for position, source in enumerate(info.inputs)
               if source not in on_chip]
    per_position = isinstance(info.layer, Mul)
    blocks = max(1, filter_blocks)
    bursts = requests = 0

    def add(cost: tuple[int, int]) -> None:
        nonlocal bursts, requests
        bursts += cost[0]
        requests += cost[1]

    if blocks == 1 and not per_position:
        return one_block_cost(info, layout, lambda: regions, residency, burst_bytes)
    weight_costs: dict[tuple[int, int], tuple[int, int]] = {}

    def weights(first_byte: int, size: int) -> tuple[int, int]:
        """A block's weights cost the same for every region: counted once per block."""
        cost = weight_costs.get((first_byte, size))
        if cost is None:
            cost = weight_costs[(first_byte, size)] = layout.weight_cost(
                info.name, first_byte, size, burst_bytes)
        return cost

    # Every input's window is the first input's, but for a broadcast mul operand.
    first_windows = first_input_regions(info, regions)
    for index, region in enumerate(regions):
        windows = [(source, input_region(info, region, position) if per_position
                    else first_windows[index]) for position, source in sources]
        for block in range(blocks):
            if channel_blocks:
                per_block = ceil(out_channels / filter_blocks)
                first = block * per_block
                end = min(out_channels, first + per_block)
                for source, window in windows:
                    add(layout.channel_cost(source, window, first, end, burst_bytes))
                if geometry.filters:
                    add(weights(first * geometry.filter_bytes,
                                (end - first) * geometry.filter_bytes))
                if stored:
                    add(layout.channel_cost(info.name, region, first, end, burst_bytes))
                continue
            first_filter = block * block_filters
            filters = max(0, min(block_filters, geometry.filters - first_filter))
            if block == 0:
                for source, window in windows:
                    add(layout.region_cost(source, window, burst_bytes))
            if geometry.weight_bytes and (filter_blocks > 1 or index == 0):
                offset = first_filter * geometry.filter_bytes * geometry.groups
                size = (geometry.weight_bytes if filter_blocks == 1
                        else filters * geometry.filter_bytes * geometry.groups)
                add(weights(offset, size))
            if stored:
                if filter_blocks > 1:
                    first_channel = first_filter * geometry.groups
                    add(layout.channel_cost(info.name, region, first_channel,
                                            first_channel + filters * geometry.groups,
                                            burst_bytes))
                elif block == 0:
                    add(layout.region_cost(info.name, region, burst_bytes))
    return bursts * burst_bytes, requests, len(regions) * blocks


def one_block_cost(info: LayerInfo, layout: DramLayout, make_regions: Callable[[], list[Region]],
                   residency: Residency, burst_bytes: int, memo_key: tuple | None = None
                   ) -> tuple[int, int, int]:
    """:func:`plan_cost` of one filter block (not for a broadcast mul): each region loads its
    windows and stores its output once, as :meth:`DramLayout.region_cost` counts them,
    written out over the regions. With ``memo_key`` (the layer and its candidate), each
    tensor's sum is kept in the layout's memo, so candidates scored again with other maps on
    chip make no regions."""
    made: dict[str, list[Region]] = {}

    def regions(windows: bool) -> list[Region]:
        if "regions" not in made:
            made["regions"] = make_regions()
        if windows and "windows" not in made:
            made["windows"] = first_input_regions(info, made["regions"])
        return made["windows" if windows else "regions"]

    def cached(name: tuple, compute: Callable[[], tuple[int, int]]) -> tuple[int, int]:
        if memo_key is None:
            return compute()
        key = ("one block cost", *memo_key, *name)
        value = layout.memo.get(key)
        if value is None:
            value = layout.memo[key] = compute()
        return value

    on_chip = residency.on_chip
    parts = [(source, True) for source in info.inputs if source not in on_chip]
    if info.name not in on_chip:
        parts.append((info.name, False))
    geometry = layer_geometry(info, layout.dtype_bytes)
    bursts, requests = (layout.weight_cost(info.name, 0, geometry.weight_bytes, burst_bytes)
                        if geometry.weight_bytes else (0, 0))
    for tensor, windows in parts:
        more = cached((tensor, windows), lambda tensor=tensor, windows=windows: _regions_cost(
            layout, tensor, regions(windows), burst_bytes))
        bursts += more[0]
        requests += more[1]
    count = cached(("count",), lambda: (len(regions(False)), 0))[0]
    return bursts * burst_bytes, requests, count


def _regions_cost(layout: DramLayout, tensor: str, regions: list[Region], burst: int
                  ) -> tuple[int, int]:
    """(bursts, requests) of :meth:`DramLayout.region_cost` summed over ``regions``."""
    shape = layout.network.tensor_shape(tensor)
    pixel_bytes = shape.channels * layout.dtype_bytes
    row_bytes = shape.width * pixel_bytes
    base = layout.tensor_base(tensor)
    width = shape.width
    period = burst // gcd(row_bytes % burst, burst)
    bursts = requests = 0
    for region in regions:
        height = region.row1 - region.row0
        if height <= 0 or region.col1 <= region.col0:
            continue
        address = base + region.row0 * row_bytes
        if region.col0 == 0 and region.col1 == width:
            end = address + height * row_bytes
            bursts += -(-end // burst) - address // burst
            requests += 1
            continue
        address += region.col0 * pixel_bytes
        size = (region.col1 - region.col0) * pixel_bytes
        requests += height
        if height == 1:
            bursts += -(-(address + size) // burst) - address // burst
        elif period == 1:
            bursts += height * -(-((address % burst) + size) // burst)
        else:
            bursts += strided_bursts(address, size, height, row_bytes, burst)
    return bursts, requests


def blocked_or_refused(info: LayerInfo, hardware: HardwareSpec, layout: DramLayout,
                       candidates: list[list[Region]], residency: Residency) -> list[Tile]:
    """The layer with its input channels blocked, or an error when even that does not fit."""
    tiles = k_blocked_tiles(info, hardware, layout, candidates, residency)
    if tiles is None:
        raise refusal(info)
    return tiles


def refusal(info: LayerInfo) -> ConfigError:
    """The error for a layer that fits no plan, not even with its input channels blocked."""
    return ConfigError(
        "--hardware", f"layer {info.name!r} does not fit the on-chip buffers even as one "
        "output pixel with one filter and one input channel at a time beside the feature "
        "maps kept on chip", field="buffers",
    )


_BAND_CANDIDATES: dict[LayerInfo, list[list[Region]]] = {}
_BAND_CANDIDATE_LAYERS = 256  # layers kept (MobileNetV2-224's 64 layers hold about 21 MB)


def band_candidates(info: LayerInfo) -> list[list[Region]]:
    """Row bands of every height, then single rows cut into 2, 4, ... column pieces and
    finally single pixels (for buffers that cannot hold one whole output row); made once per
    layer in a process (callers do not change them)."""
    candidates = _BAND_CANDIDATES.get(info)
    if candidates is None:
        if len(_BAND_CANDIDATES) >= _BAND_CANDIDATE_LAYERS:
            _BAND_CANDIDATES.clear()
        candidates = _BAND_CANDIDATES[info] = [band_regions(info, spec)
                                               for spec in band_specs(info)]
    return candidates


def band_specs(info: LayerInfo) -> list[tuple[str, int]]:
    """The candidates of :func:`band_candidates` by name: ("whole", 1), ("bands", count) or
    ("pieces", pieces per row)."""
    if isinstance(info.layer, FullyConnected | GlobalAvgPool):
        return [("whole", 1)]
    height, width = info.output_shape.height, info.output_shape.width
    heights = sorted({ceil(height / n) for n in range(1, height + 1)}, reverse=True)
    specs = [("bands", ceil(height / h)) for h in heights]
    counts = [2 ** i for i in range(1, width.bit_length()) if 2 ** i < width] + [width]
    specs += [("pieces", pieces) for pieces in (counts if width > 1 else [])]
    return specs


def band_regions(info: LayerInfo, spec: tuple[str, int]) -> list[Region]:
    """The output regions of one candidate of :func:`band_specs`."""
    kind, count = spec
    if kind == "whole":
        return [full_region(info)]
    if kind == "bands":
        return row_bands(info, count)
    height, width = info.output_shape.height, info.output_shape.width
    edges = [width * j // count for j in range(count + 1)]
    return [Region(r, r + 1, edges[j], edges[j + 1])
            for r in range(height) for j in range(count) if edges[j + 1] > edges[j]]


_BAND_PROFILES: dict[LayerInfo, list[tuple[tuple[str, int], WindowProfile]]] = {}


def band_profiles(info: LayerInfo) -> list[tuple[tuple[str, int], WindowProfile]]:
    """Each band candidate with its profile, computed once per layer in a process."""
    profiles = _BAND_PROFILES.get(info)
    if profiles is None:
        profiles = _BAND_PROFILES[info] = [(spec, band_profile(info, spec))
                                           for spec in band_specs(info)]
    return profiles


def band_profile(info: LayerInfo, spec: tuple[str, int]) -> WindowProfile:
    """:func:`window_profile` of a band candidate. Single rows cut into column pieces are a
    product of rows and pieces, and so are their windows (a row span times a column span):
    their sums and spans are counted per row span and per piece, not per region."""
    kind, pieces = spec
    if kind != "pieces" or isinstance(info.layer, Add | Mul | FullyConnected | GlobalAvgPool):
        return window_profile(info, band_regions(info, spec))
    height, width = info.output_shape.height, info.output_shape.width
    edges = [width * j // pieces for j in range(pieces + 1)]
    cuts = [(edges[j], edges[j + 1]) for j in range(pieces) if edges[j + 1] > edges[j]]
    rows = [Region(r, r + 1, 0, 1) for r in range(height)]
    row_windows = first_input_regions(info, rows)
    col_windows = first_input_regions(info, [Region(0, 1, c0, c1) for c0, c1 in cuts])
    row_heights: dict[int, int] = {}
    for window in row_windows:
        row_heights[window.height] = row_heights.get(window.height, 0) + 1
    window_spans: dict[tuple[int, int, int], int] = {}
    for window in col_windows:
        for rows_high, count in row_heights.items():
            key = (window.col0, window.col1, rows_high)
            window_spans[key] = window_spans.get(key, 0) + count
    region_spans: dict[tuple[int, int, int], int] = {}
    for c0, c1 in cuts:
        region_spans[(c0, c1, 1)] = region_spans.get((c0, c1, 1), 0) + height
    return WindowProfile(
        height * len(cuts), height * width, max(c1 - c0 for c0, c1 in cuts),
        sum(w.height for w in row_windows) * sum(w.width for w in col_windows),
        max(w.height for w in row_windows) * max(w.width for w in col_windows),
        tuple((c0, c1, h, n) for (c0, c1, h), n in region_spans.items()),
        tuple((c0, c1, h, n) for (c0, c1, h), n in window_spans.items()))


PlanCache = dict[tuple, ChosenPlan]


def layerwise_schedule(network: Network, hardware: HardwareSpec, layout: DramLayout,
                       residency: Residency = NOTHING_ON_CHIP, cache: PlanCache | None = None
                       ) -> list[Tile]:
    """Each layer's best plan. ``cache`` (optional, one per network, hardware and layout)
    keeps the plans of layers already planned with the same residency around them, so runs
    that differ only in far-away feature maps plan each layer once."""
    tiles: list[Tile] = []
    for plan in layer_plans(network, hardware, layout, residency, cache):
        tiles += plan.tiles()
    return tiles


def layerwise_bus_bytes(network: Network, hardware: HardwareSpec, layout: DramLayout,
                        residency: Residency = NOTHING_ON_CHIP, cache: PlanCache | None = None
                        ) -> int:
    """The bytes :func:`layerwise_schedule` puts on the DRAM bus (whole bursts of every load
    and store), counted from the chosen plans without making their tiles."""
    return sum(plan.bus_bytes for plan in layer_plans(network, hardware, layout, residency,
                                                     cache))


def layer_plans(network: Network, hardware: HardwareSpec, layout: DramLayout,
                residency: Residency = NOTHING_ON_CHIP, cache: PlanCache | None = None
                ) -> list[ChosenPlan]:
    """Each layer's chosen plan, in network order (``cache`` as in
    :func:`layerwise_schedule`)."""
    plans: list[ChosenPlan] = []
    for info in network.infos:
        key = (info.name, frozenset(n for n in (*info.inputs, info.name)
                                    if n in residency.on_chip),
               residency.layer_bytes.get(info.name, 0), residency.buffer)
        if cache is not None and key in cache:
            plans.append(cache[key])
            continue
        options = [(spec, (lambda spec=spec, info=info: band_regions(info, spec)), profile)
                   for spec, profile in band_profiles(info)]
        planned = _choose(info, hardware, layout, residency, options,
                          lambda info=info: band_candidates(info))
        if cache is not None:
            cache[key] = planned
        plans.append(planned)
    return plans
