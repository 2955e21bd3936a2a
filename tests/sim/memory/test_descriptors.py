"""Descriptors against the reference: a strided transfer served whole by either descriptor
engine (the Python one with its closed forms, the compiled one, or the compiled one taking
over from the Python one mid-stream) gives exactly what its requests give one by one to the
per-request model (the second implementation), and the schedule's descriptors name exactly
the bytes a brute-force walk of the NHWC tensor finds."""

from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.dataflow import DATAFLOWS, SimulationOptions, build_schedule
from sim.hardware import DramSpec, load_hardware
from sim.memory.compiled import CompiledDram
from sim.memory.dram import DramModel
from sim.pipeline import run_pipeline
from sim.schedule import DramLayout, Transfer, transfer_bursts
from sim.techniques.receptive import Region
from sim.workload.zoo import lightweight_cnn, mobilenet_v2

PRESETS = ("jetson_nano", "diannao", "eyeriss")
SPECS = {name: load_hardware(f"configs/hardware/{name}.yaml").dram for name in PRESETS}


def with_mapping(spec: DramSpec, channels: int, interleave: int) -> DramSpec:
    """The same DRAM with another channel count and interleave unit (bus bits follow)."""
    data = spec.model_dump(by_alias=True)
    data["bus_bits"] = data["bus_bits"] // data["channels"] * channels
    data["channels"] = channels
    data["interleave_bytes"] = interleave
    return DramSpec.model_validate(data)


def with_odd_geometry(spec: DramSpec) -> DramSpec:
    """The same DRAM with 3 channels, 6 banks, an interleave unit of 3 bursts and pages of 5
    units: no power of two, so the compiled engine divides where it otherwise shifts."""
    data = spec.model_dump(by_alias=True)
    data["bus_bits"] = data["bus_bits"] // data["channels"] * 3
    data["channels"], data["banks"] = 3, 6
    data["interleave_bytes"] = 3 * spec.burst_bytes
    data["page_bytes"] = 15 * spec.burst_bytes
    return DramSpec.model_validate(data)


MAPPINGS = [None, (1, 64), (2, 32), (4, 128), (3, 64), "odd"]


def mapped(preset: str, mapping: tuple[int, int] | str | None) -> DramSpec:
    """The preset's DRAM, with the channels and interleave of ``mapping`` or its odd
    geometry."""
    if mapping == "odd":
        return with_odd_geometry(SPECS[preset])
    return SPECS[preset] if mapping is None else with_mapping(SPECS[preset], *mapping)


def engine_state(model: DramModel | CompiledDram) -> list:
    """Everything the model carries from one request to the next."""
    return [asdict(model.stats)] + [model.channel_state(channel)
                                    for channel in range(model.spec.channels)]


def with_timing(spec: DramSpec, cycles: dict[str, int]) -> DramSpec:
    """The same DRAM with the timing parameters in ``cycles`` changed (tCK)."""
    data = spec.model_dump(by_alias=True)
    data["timing"].update(cycles)
    return DramSpec.model_validate(data)


# The presets share one LPDDR4 timing whose faw is 4 x rrd, so faw never binds there: these
# make the four-activate window, the turnarounds and refresh bind.
TIMINGS = [{}, {"faw": 150}, {"faw": 200, "rrd": 4, "wtr": 40, "rtw": 30, "refi": 1500,
                              "rfc": 300, "ras": 10, "ccd": 12}]
ENGINES = ("python", "compiled", "handover")


descriptors = st.lists(
    st.tuples(st.integers(0, 1 << 21),  # address
              st.integers(0, 700),  # bytes per request
              st.integers(1, 200),  # requests
              st.integers(0, 4096),  # pitch
              st.booleans(),  # write
              st.sampled_from([0, 0, 1, 40, 3000, 7000])),  # gap before it arrives
    min_size=1, max_size=12)


def assert_descriptors_are_their_requests(spec, stream, engine: str = "python") -> None:
    """Each descriptor of ``stream`` served by ``access_rows`` of ``engine`` (``handover``: the
    Python one for the first half of the stream, then the compiled one taking over) equals its
    requests served one by one by the reference engine: first and last cycle, bursts, hits,
    misses, activates and busy cycles, and the engine's state after it."""
    fast = CompiledDram(spec) if engine == "compiled" else DramModel(spec)
    reference = DramModel(spec)
    arrival = 0
    for number, (address, size, rows, pitch, write, gap) in enumerate(stream):
        if engine == "handover" and number == len(stream) // 2:
            fast = CompiledDram.taking_over(fast)
        arrival += gap
        got = fast.access_rows(address, size, rows, pitch, write, arrival)
        singles = [reference.access(address + i * pitch, size, write, arrival)
                   for i in range(rows)]
        assert got.start_cycle == min(r.start_cycle for r in singles)
        assert got.end_cycle == max(r.end_cycle for r in singles)
        for name in ("bursts", "row_hits", "row_misses", "activates", "busy_cycles"):
            assert getattr(got, name) == sum(getattr(r, name) for r in singles), name
        assert engine_state(fast) == engine_state(reference)


@given(stream=descriptors, preset=st.sampled_from(PRESETS),
       mapping=st.sampled_from(MAPPINGS),
       timing=st.sampled_from(TIMINGS), engine=st.sampled_from(ENGINES))
@settings(max_examples=250, deadline=None)
def test_a_descriptor_is_its_requests_one_by_one(stream, preset, mapping, timing, engine):
    assert_descriptors_are_their_requests(with_timing(mapped(preset, mapping), timing), stream,
                                          engine)


small_descriptors = st.lists(
    st.tuples(st.integers(0, 1 << 20), st.integers(1, 64), st.integers(8, 1500),
              st.integers(1, 700), st.booleans(), st.sampled_from([0, 0, 5, 2000, 9000])),
    min_size=1, max_size=6)


@given(stream=small_descriptors, preset=st.sampled_from(PRESETS),
       mapping=st.sampled_from(MAPPINGS),
       timing=st.sampled_from(TIMINGS), engine=st.sampled_from(ENGINES))
@settings(max_examples=150, deadline=None)
def test_small_requests_served_page_by_page_are_their_requests(stream, preset, mapping, timing,
                                                              engine):
    """Pixel-by-pixel channel slices: many requests inside one interleave unit each, served a
    page of every channel at a time (by the Python engine)."""
    assert_descriptors_are_their_requests(with_timing(mapped(preset, mapping), timing), stream,
                                          engine)


@pytest.mark.parametrize("engine", (DramModel, CompiledDram))
@pytest.mark.parametrize("preset", PRESETS)
def test_long_hit_streams_cross_refreshes_exactly(preset, engine):
    """Thousands of small requests in one open row and across many refresh windows: the
    closed form must stop at every refresh the reference applies."""
    spec = SPECS[preset]
    fast, reference = engine(spec), DramModel(spec)
    for rows, pitch, size in ((5000, 32, 16), (3000, 64, 32), (4000, 2048 * 8, 8),
                              (2000, 96, 40), (6000, 24, 1), (5000, 144, 1)):
        arrival = max(fast.stats.last_end_cycle - 100, 0)
        got = fast.access_rows(4096, size, rows, pitch, False, arrival)
        ends = [reference.access(4096 + i * pitch, size, False, arrival).end_cycle
                for i in range(rows)]
        assert got.end_cycle == max(ends)
        assert engine_state(fast) == engine_state(reference)
    assert reference.stats.refreshes > 10


@given(address=st.integers(0, 1 << 20), size=st.integers(0, 300), rows=st.integers(1, 300),
       pitch=st.integers(0, 5000), burst=st.sampled_from([16, 32, 64]))
@settings(max_examples=200, deadline=None)
def test_descriptor_bursts_are_the_sum_over_its_requests(address, size, rows, pitch, burst):
    transfer = Transfer("ifmap", address, size * rows, rows=rows, pitch_bytes=pitch)
    expected = sum(-(-(a + size) // burst) - a // burst if size else 0
                   for a, size in transfer.requests())
    assert transfer_bursts(transfer, burst) == expected


NETWORK = lightweight_cnn(16, 10)


@given(row0=st.integers(0, 15), rows=st.integers(1, 16), col0=st.integers(0, 15),
       cols=st.integers(1, 16), first=st.integers(0, 31), count=st.integers(1, 32))
@settings(max_examples=100, deadline=None)
def test_channel_slices_name_the_bytes_of_an_nhwc_walk(row0, rows, col0, cols, first, count):
    tensor = NETWORK.infos[0].name
    shape = NETWORK.tensor_shape(tensor)
    region = Region(row0, min(row0 + rows, shape.height), col0, min(col0 + cols, shape.width))
    end = min(first + count, shape.channels)
    if end <= first:
        return
    layout = DramLayout(NETWORK, 2)
    base = layout.tensor_base(tensor)
    # Brute force: every element's byte address, in the pixel-by-pixel order of the walk.
    expected = []
    for row in range(region.row0, region.row1):
        for col in range(region.col0, region.col1):
            pixel = base + ((row * shape.width + col) * shape.channels) * 2
            expected += [pixel + channel * 2 + byte for channel in range(first, end)
                         for byte in range(2)]
    got = [address + byte
           for transfer in layout.channel_transfers(tensor, region, first, end, "ifmap")
           for address, size in transfer.requests() for byte in range(size)]
    assert got == expected


def _small_networks():
    return [lightweight_cnn(32, 10), mobilenet_v2(48, 0.5, 10)]


@pytest.mark.parametrize("compiled", (False, True))
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_whole_networks_match_the_per_request_engine(preset, dataflow, compiled):
    """Every counter of every layer, the reservations and the cycles of a whole run, with the
    Python or the compiled descriptor engine."""
    hardware = load_hardware(f"configs/hardware/{preset}.yaml")
    for network in _small_networks():
        tiles = build_schedule(network, hardware, SimulationOptions(dataflow, tile=8))
        if preset == "diannao":  # small buffers: strided descriptors are exercised
            assert any(t.rows > 1 for tile in tiles for t in (*tile.loads, *tile.stores))
        fast = run_pipeline(tiles, hardware, compiled=compiled)
        reference = run_pipeline(tiles, hardware, reference=True)
        assert fast.cycles == reference.cycles
        assert fast.layers == reference.layers
        assert fast.occupancy == reference.occupancy


@pytest.mark.parametrize("dataflow", ("layerwise", "tiled"))
def test_a_run_handed_over_mid_way_matches_the_per_request_engine(dataflow, monkeypatch):
    """The compiled engine takes over after the 8th descriptor (the projection made to fire
    at once); the whole run still equals the per-request engine's."""
    import sim.pipeline

    monkeypatch.setattr(sim.pipeline, "HANDOVER_FROM", 8)
    monkeypatch.setattr(sim.pipeline, "COMPILED_AFTER_SERVES", 0)
    monkeypatch.setattr(sim.pipeline, "_compiled_loaded", False)  # as in a fresh process
    handed_over = []
    real = sim.pipeline._compiled

    def recording(model):
        handed_over.append(sum(model.stats.busy_cycles))
        return real(model)

    monkeypatch.setattr(sim.pipeline, "_compiled", recording)
    hardware = load_hardware("configs/hardware/diannao.yaml")
    tiles = build_schedule(lightweight_cnn(32, 10), hardware, SimulationOptions(dataflow))
    fast = run_pipeline(tiles, hardware)
    reference = run_pipeline(tiles, hardware, reference=True)
    assert len(handed_over) == 1 and handed_over[0] > 0  # once, with work already done
    assert fast.cycles == reference.cycles
    assert fast.layers == reference.layers
    assert fast.occupancy == reference.occupancy


@given(stream=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(1, 300),
                                 st.integers(2, 400), st.integers(0, 600), st.booleans(),
                                 st.sampled_from([0, 0, 3, 5000])), min_size=1, max_size=8),
       preset=st.sampled_from(PRESETS), engine=st.sampled_from(ENGINES))
@settings(max_examples=80, deadline=None)
def test_one_channel_rows_in_one_page_are_their_requests(stream, preset, engine):
    """One channel: the rows of a descriptor that lie in the page its streak has open are
    served in closed form; pitches below a page put many rows there, and long streams cross
    refresh windows (the reference applies every refresh)."""
    spec = with_mapping(SPECS[preset], 1, 64)
    assert_descriptors_are_their_requests(spec, stream, engine)
