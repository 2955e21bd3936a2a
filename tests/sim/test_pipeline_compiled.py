"""The compiled tile pipeline against the Python one (the second implementation, kept in
``sim.pipeline``): the same cycles, every layer counter (with its operands in the same order),
the same reservations in the same order and the same audit, or the same error, on whole
networks and on random schedules whose footprints, shared levels, resident maps and
store-to-load dependencies the planners never produce together."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.pipeline
from sim.capacity import audit
from sim.dataflow import DATAFLOWS, SimulationOptions, build_schedule
from sim.hardware import load_hardware
from sim.pipeline import CapacityError, Occupancy, Reservation, run_pipeline
from sim.schedule import Footprint, Tile, Transfer, strided
from sim.workload.zoo import lightweight_cnn, mobilenet_v2

PRESETS = ("jetson_nano", "diannao", "eyeriss")
HARDWARE = {name: load_hardware(f"configs/hardware/{name}.yaml") for name in PRESETS}
DIANNAO = HARDWARE["diannao"]  # NBin 2 KB, SB 32 KB, NBout 2 KB
COUNTERS = ("dram_read_bytes", "dram_write_bytes", "dram_bursts_read", "dram_bursts_written",
            "dram_activates", "sram_read_bytes", "sram_write_bytes")


def _outcome(tiles, hardware, overlap=True, compiled=False):
    try:
        return run_pipeline(tiles, hardware, overlap=overlap, compiled=compiled)
    except (CapacityError, AssertionError) as error:
        return f"{type(error).__name__}: {error}"


def assert_same_run(tiles, hardware, overlap=True):
    python = _outcome(tiles, hardware, overlap, compiled=False)
    compiled = _outcome(tiles, hardware, overlap, compiled=True)
    if isinstance(python, str):
        assert compiled == python
        return
    assert isinstance(compiled.occupancy, Occupancy)
    assert compiled.cycles == python.cycles
    assert compiled.layers == python.layers
    assert list(compiled.layers) == list(python.layers)
    for name, counters in python.layers.items():
        for field in COUNTERS:  # the operands in the order the Python pipeline meets them
            assert (list(getattr(compiled.layers[name], field).items())
                    == list(getattr(counters, field).items())), (name, field)
    assert list(compiled.occupancy) == python.occupancy
    # Plain Python numbers, as `simulate --json` writes them (json rejects NumPy integers).
    json.dumps([compiled.cycles, {name: vars(c) for name, c in compiled.layers.items()},
                [vars(r) for r in compiled.occupancy]])
    spans = {name: (c.first_start, c.last_end) for name, c in python.layers.items()}
    assert audit(compiled.occupancy, hardware, spans) == audit(python.occupancy, hardware,
                                                               spans)


@pytest.mark.parametrize("overlap", (True, False))
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_whole_networks_run_the_same(preset, dataflow, overlap):
    for network in (lightweight_cnn(32, 10), mobilenet_v2(48, 0.5, 10)):
        tiles = build_schedule(network, HARDWARE[preset], SimulationOptions(dataflow, tile=8))
        assert_same_run(tiles, HARDWARE[preset], overlap)


BUFFERS = ("ifmap", "weight", "ofmap")
sizes = st.dictionaries(st.sampled_from(BUFFERS), st.integers(0, 1_500), max_size=2)
transfer = st.builds(
    lambda operand, address, row_bytes, rows, pitch, tensor: strided(
        operand, address, row_bytes, rows, pitch, tensor=tensor),
    st.sampled_from(BUFFERS), st.integers(0, 1 << 20), st.integers(0, 300),
    st.integers(1, 5), st.integers(0, 5_000), st.sampled_from(["", "", "x", "y"]))
tile = st.builds(
    lambda layer, loads, stores, cycles, read, footprint: Tile(
        layer, tuple(loads), tuple(Transfer(t.operand, t.address, t.size_bytes, True,
                                            t.tensor, t.rows, t.pitch_bytes) for t in stores),
        cycles * 3, cycles, read, {}, footprint),
    st.sampled_from(["a", "b", "c"]), st.lists(transfer, max_size=3),
    st.lists(transfer, max_size=2), st.integers(0, 400), sizes,
    st.builds(Footprint, sizes, sizes, sizes, st.sampled_from(["", "g", "h"]), sizes,
              st.sampled_from(["", "s"]),
              st.lists(st.tuples(st.sampled_from(["m", "n"]), st.sampled_from(BUFFERS),
                                 st.integers(0, 800)), max_size=1).map(tuple)))


@settings(max_examples=300, deadline=None)
@given(st.lists(tile, max_size=12), st.booleans())
def test_random_schedules_run_the_same(tiles, overlap):
    """Loads of a map wait for every store of it, so a load before the map's last store
    stalls the run: both pipelines must stall alike, and overflow alike."""
    assert_same_run(tiles, DIANNAO, overlap)


def test_a_tile_too_big_for_a_buffer_is_the_same_error():
    # NBin holds 2,048 B; a tile that loads 2,049 B into it fits no schedule.
    tiles = [Tile("a", (), (), 1, 1, footprint=Footprint(loaded={"ifmap": 2_049}))]
    message = "layer 'a': a tile needs 2,049 B of buffer 'ifmap', which has 2,048 B"
    for compiled in (False, True):
        with pytest.raises(CapacityError, match=message):
            run_pipeline(tiles, DIANNAO, compiled=compiled)


def test_a_long_schedule_runs_compiled_and_a_short_one_in_python(monkeypatch):
    monkeypatch.setattr(sim.pipeline, "_compiled_loaded", False)  # as in a fresh process
    monkeypatch.setattr(sim.pipeline, "COMPILED_FROM_TILES", 20)
    tiles = [Tile("a", (), (), 1, 1, footprint=Footprint(loaded={"ifmap": 8}))] * 20
    assert isinstance(run_pipeline(tiles[:19], DIANNAO).occupancy, list)
    assert isinstance(run_pipeline(tiles, DIANNAO).occupancy, Occupancy)
    # Once compiled code is loaded, every run is compiled; a reference run never is.
    assert isinstance(run_pipeline(tiles[:1], DIANNAO).occupancy, Occupancy)
    assert isinstance(run_pipeline(tiles, DIANNAO, reference=True).occupancy, list)


def test_occupancy_reads_as_reservations():
    # Two tiles of 8 B in NBin, one cycle of compute each, nothing to load: tile 0 holds
    # [0, 1), tile 1 (double-buffered NBin lets it reserve at once) [0, 2).
    tiles = [Tile("a", (), (), 1, 1, footprint=Footprint(loaded={"ifmap": 8}))] * 2
    occupancy = run_pipeline(tiles, DIANNAO, compiled=True).occupancy
    expected = [Reservation("ifmap", 0, 1, 8, "a", "loaded"),
                Reservation("ifmap", 0, 2, 8, "a", "loaded")]
    assert len(occupancy) == 2
    assert occupancy[1] == expected[1] and occupancy[-1] == expected[1]
    assert occupancy[:1] == expected[:1]
    assert occupancy == expected
