"""Fused segments: the chain's choice against every combination of segments, a hand-counted
segment, the fit check against the pipeline's audit, and the mapping file's ``fused`` entries."""

import json
from itertools import combinations

import pytest
import yaml

from sim.cli import main
from sim.dtypes import DType
from sim.hardware import load_hardware
from sim.mapper.fused_segments import (
    FusedSegment,
    bands_fit,
    best_segment,
    bus_bytes,
    candidate_spans,
    choose_segments,
    segment_tiles,
)
from sim.mapper.network_mapping import context_mappings, mapped_schedule
from sim.mapper.search import SearchMemo, search_layer, tile_edges
from sim.mapper.units import bytes_by_layer, compared_units, unit_bytes
from sim.pipeline import run_pipeline
from sim.schedule import DramLayout, schedule_burst_bytes
from sim.techniques.buffering import plan_residency, residency_room
from sim.techniques.fusion import fused_group_tiles, group_fits
from sim.techniques.layer_tiles import NOTHING_ON_CHIP
from sim.techniques.reordered_schedule import reorder_residency
from sim.workload.layers import Conv2d, Shape
from sim.workload.network import Network
from sim.workload.zoo import ZOO

DIANNAO = "configs/hardware/diannao.yaml"
NANO = "configs/hardware/jetson_nano.yaml"


@pytest.mark.parametrize(("name", "resolution", "preset", "room"), [
    ("lightweight_cnn", None, DIANNAO, 0),
    ("lightweight_cnn", None, NANO, 0),
    ("lightweight_cnn", None, NANO, 65_536),
    ("mobilenet_v2", 96, NANO, 100_000),
])
def test_band_costs_equal_the_emitted_tiles(name, resolution, preset, room):
    """Second implementation: for every candidate segment and tile size (the six largest and
    the smallest), the bytes summed from row and column bands equal the whole bursts of the
    emitted tiles, and a segment the bands say fits passes the per-tile fit check of the
    fused dataflow (the bands never admit a tile that does not fit)."""
    network = ZOO[name].build(resolution=resolution) if resolution else ZOO[name].build()
    hardware = load_hardware(preset)
    layout = DramLayout(network, 1)
    residency = plan_residency(network, hardware, room, 1, 4) if room else NOTHING_ON_CHIP
    checked = 0
    for start, end in candidate_spans(network, set()):
        infos = network.infos[start:end]
        if {info.name for info in infos[:-1]} & residency.on_chip:
            continue
        edges = tile_edges(infos[-1].output_shape.height)
        for tile in sorted(set(edges[:6] + edges[-1:])):
            tiles = fused_group_tiles(infos, hardware, layout, tile, residency)
            burst = hardware.dram.burst_bytes
            assert bus_bytes(network, infos, tile, layout, residency, burst) == \
                schedule_burst_bytes(tiles, burst)
            if bands_fit(network, infos, tile, hardware, 1, 4, residency):
                assert group_fits(network, infos, hardware, tile, 1, 4, residency)
            checked += 1
    assert checked > 10


def test_the_chain_takes_the_best_combination_of_segments():
    """Brute force: every set of non-overlapping candidate segments of the lightweight CNN on
    DianNao (nothing resident), each layer outside them at its own best mapping. The dynamic
    programme's choice moves exactly the fewest bytes of all of them."""
    network = ZOO["lightweight_cnn"].build()
    hardware = load_hardware(DIANNAO)
    layout = DramLayout(network, 1)
    alone = {info.name: search_layer(info, hardware, layout, NOTHING_ON_CHIP).traffic.bus_bytes
             for info in network.infos}
    costed = {}
    for start, end in candidate_spans(network, set()):
        found = best_segment(network, start, end, hardware, layout, NOTHING_ON_CHIP)
        if found is not None:
            costed[(start, end)] = found[0]
    assert costed, "the lightweight CNN on DianNao has segments that fit"
    spans = list(costed)

    def total(chosen):
        inside = {i for start, end in chosen for i in range(start, end)}
        return (sum(costed[span] for span in chosen)
                + sum(alone[info.name] for i, info in enumerate(network.infos)
                      if i not in inside))

    best = total(())
    for size in range(1, 5):
        for chosen in combinations(spans, size):
            ranges = sorted(chosen)
            if all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False)):
                best = min(best, total(chosen))
    segments = choose_segments(network, hardware, layout, NOTHING_ON_CHIP, alone, set())
    names = [info.name for info in network.infos]
    chosen = [(names.index(s.first), names.index(s.last) + 1) for s, _ in segments]
    assert total(chosen) == best < total(())
    assert [moved for _, moved in segments] == [costed[span] for span in chosen]


def test_a_fused_pair_moves_its_input_weights_and_output_only():
    """Hand count: 16x16x8 -> 3x3 conv (pad 1) -> 16 channels -> 1x1 conv -> 8 channels, int8,
    one 16x16 tile on jetson_nano. The segment reads the 2,048 B input and both layers'
    weights and writes the 2,048 B output; the 4,096 B intermediate never moves. Each tensor
    and weight block starts on a 4 KB page, so each moves in whole 64 B bursts."""
    network = Network("pair", Shape(16, 16, 8), [
        Conv2d(name="a", out_channels=16, kernel=3, padding=1),
        Conv2d(name="b", out_channels=8, kernel=1)])
    hardware = load_hardware(NANO)
    layout = DramLayout(network, 1)
    segment = FusedSegment("a", "b", 16)
    tiles = segment_tiles(network, segment, hardware, layout, NOTHING_ON_CHIP)
    weights = [network["a"].params, network["b"].params]
    burst = 64
    expected = 2048 + 2048 + sum(-(-w // burst) * burst for w in weights)
    assert schedule_burst_bytes(tiles, burst) == expected
    assert sum(t.macs for t in tiles) == 16 * 16 * (72 * 16 + 16 * 8)
    result = run_pipeline(tiles, hardware)  # the audit replays every reservation
    assert result.cycles > 0


def test_auto_fuses_on_diannao_and_the_mapping_file_runs_it_again(tmp_path, capsys):
    """`map` writes the chosen segments; `simulate --mapping` gives the same counts as
    `--dataflow auto`, and moves less than the same mapping with the segments left out."""
    path = tmp_path / "m.yaml"
    assert main(["map", "--network", "lightweight_cnn", "--hardware", DIANNAO, "--out",
                 str(path)]) == 0
    capsys.readouterr()
    data = yaml.safe_load(path.read_text())
    assert data["fused"], "auto fuses some layers of the lightweight CNN on DianNao"

    def run(*flags):
        assert main(["simulate", "--network", "lightweight_cnn", "--hardware", DIANNAO,
                     "--json", *flags]) == 0
        return json.loads(capsys.readouterr().out)["totals"]

    auto, mapped = run("--dataflow", "auto"), run("--mapping", str(path))
    assert mapped == auto
    assert auto["peak_onchip_bytes"] <= sum(
        b.size_bytes for b in load_hardware(DIANNAO).buffers.declared().values())


def test_an_edited_segment_that_does_not_fit_exits_2_naming_it(tmp_path, capsys):
    path = tmp_path / "m.yaml"
    assert main(["map", "--network", "lightweight_cnn", "--hardware", DIANNAO, "--out",
                 str(path)]) == 0
    capsys.readouterr()
    data = yaml.safe_load(path.read_text())
    first = data["fused"][0]
    first["tile"] = 32
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", DIANNAO,
                 "--mapping", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:") and "fused[0]" in err
    assert "does not fit" in err and err.count("\n") == 1


def test_a_segment_across_a_residual_branch_is_refused(tmp_path, capsys):
    """b2's add reads the block input: a segment ending at b2_dw leaves an intermediate that a
    later layer reads, so it cannot run fused."""
    path = tmp_path / "m.yaml"
    assert main(["map", "--network", "mobilenet_v2", "--resolution", "96", "--hardware",
                 DIANNAO, "--out", str(path)]) == 0
    capsys.readouterr()
    data = yaml.safe_load(path.read_text())
    data["fused"] = [{"first": "b3_expand", "last": "b3_dw", "tile": 1}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["simulate", "--network", "mobilenet_v2", "--resolution", "96", "--hardware",
                 DIANNAO, "--mapping", str(path)]) == 2
    err = capsys.readouterr().err
    assert "fused[0]" in err and "reads a map made before it" in err, err


@pytest.mark.parametrize(("name", "preset"), [
    ("lightweight_cnn", DIANNAO), ("lightweight_cnn", NANO), ("resnet18_cifar", NANO)])
def test_counted_bytes_equal_the_schedules_bursts(name, preset):
    """Second implementation: `auto` ranks candidates by bytes counted from their parts (each
    layer's closed-form traffic, each reordered block's and fused run's tiles); the schedule
    each candidate emits puts exactly that many bytes on the bus, and as many on each
    compared unit as its parts say."""
    network = ZOO[name].build()
    hardware = load_hardware(preset)
    layout = DramLayout(network, 1)
    _, size = residency_room(hardware)
    checked = 0
    for room in (0, size // 2, size):
        contexts = [([], plan_residency(network, hardware, room, 1, 4))]
        blocks, residency = reorder_residency(network, hardware, DType.INT8, room, layout.memo)
        if blocks:
            contexts.append((blocks, residency))
        for blocks, residency in contexts:
            for mapping, moved, parts in context_mappings(
                    network, hardware, layout, DType.INT8, "dram_bytes", residency, blocks, {},
                    SearchMemo()):
                tiles = mapped_schedule(network, hardware, mapping, layout, DType.INT8).tiles
                assert moved == schedule_burst_bytes(tiles, hardware.dram.burst_bytes)
                units = compared_units(network, mapping.fused)
                assert unit_bytes(units, parts) == unit_bytes(
                    units, bytes_by_layer(tiles, hardware.dram.burst_bytes))
                checked += 1
    assert checked >= 3
