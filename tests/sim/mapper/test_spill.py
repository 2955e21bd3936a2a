"""Partial sums spilled to DRAM (``stationary: weight`` with ``input_channel_blocks`` >= 2):
the psum traffic by hand, the bounds, the mapping file round trip and refusal, and the
capacity audit of simulated runs."""

import json
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.bounds import layer_compulsory_bytes, layer_lower_bound_bytes
from sim.capacity import audit
from sim.cli import main
from sim.hardware import load_hardware
from sim.mapper.emit import canonical, emit, overflow
from sim.mapper.layer_mapping import LayerMapping
from sim.mapper.search import search_layer
from sim.mapper.traffic import layer_traffic
from sim.pipeline import run_pipeline
from sim.schedule import DramLayout, traffic_bytes
from sim.techniques.channel_blocks import blockable, reduction
from sim.techniques.layer_tiles import Residency
from sim.techniques.weight_storage import DENSE
from sim.workload.layers import Conv2d, FullyConnected, Shape
from sim.workload.network import Network
from tests.sim.dataflows.strategies import nano, single_layers, with_buffer

ROOT = Path(__file__).resolve().parents[3]

NOTHING = Residency()
DIANNAO = "configs/hardware/diannao.yaml"
# One 3x3 conv, 7x7x256 -> 256: on diannao the search spills its partial sums.
SPILLING = ("name: one\ninput: {height: 7, width: 7, channels: 256}\nlayers:\n"
            "- {name: conv, kind: conv2d, out_channels: 256, kernel: 3, padding: 1}\n")


def _fully_connected():
    return Network("fc", Shape(1, 1, 2048), [FullyConnected(name="fc", out_features=16)])


def test_fully_connected_psum_bytes_by_hand():
    """Hand count: a fully connected layer, 2048 int8 features -> 16 outputs, on a 1 KiB
    double-buffered global buffer (its 2,048 B input alone is wider than the buffer), spilled
    in k = 64 input blocks of 32 features. Every block but the last stores the 16 partial sums
    at 4 B, every block but the first loads them: 2 x (64 - 1) x 16 x 4 = 8,064 B, plus the
    16 B of outputs; the input is read once (2,048 B) and the weights once."""
    network = _fully_connected()
    info = network.infos[0]
    hardware = with_buffer(nano(), 1024)
    layout = DramLayout(network, 1)
    plain = LayerMapping("fc", 1, 1, stationary="weight")
    spilled = LayerMapping("fc", 1, 1, stationary="weight", input_channel_blocks=64,
                           halo_reuse=False)
    assert overflow(info, canonical(info, plain), hardware, 1, 4, NOTHING) == "global"
    assert overflow(info, spilled, hardware, 1, 4, NOTHING) is None
    tiles = emit(info, spilled, hardware, layout, NOTHING)
    requested = traffic_bytes(tiles)
    assert requested["ofmap"] == 2 * (64 - 1) * 16 * 4 + 16
    assert requested["ifmap"] == 2048
    assert requested["weight"] == layout.weights.scaled(info.params, info.params, 1)
    assert layer_traffic(info, spilled, layout, NOTHING, 64).requested == requested
    scratch = layout.psum_base("fc")
    psum_transfers = [t for tile in tiles for t in (*tile.loads, *tile.stores)
                      if scratch <= t.address < scratch + 16 * 4]
    assert len(psum_transfers) == 2 * (64 - 1)
    assert all(t.size_bytes == 16 * 4 and t.operand == "ofmap" for t in psum_transfers)


def test_the_psum_scratch_overlaps_no_other_region():
    """Every region's [base, base + size) against every other's, sizes from the shapes."""
    network = Network("two", Shape(6, 6, 8), [
        Conv2d(name="a", out_channels=16, kernel=3, padding=1),
        FullyConnected(name="fc", out_features=10)])
    layout = DramLayout(network, 1, align_bytes=64)
    ranges = [(layout.tensor_base("input"), network.input_shape.elements)]
    for info in network.infos:
        ranges.append((layout.tensor_base(info.name), info.output_shape.elements))
        ranges.append((layout.weight_base(info.name), info.params))
        ranges.append((layout.psum_base(info.name), info.output_shape.elements * 4))
    ranges.sort()
    for (base, size), (next_base, _) in zip(ranges, ranges[1:], strict=False):
        assert base + size <= next_base


@st.composite
def spilled_mappings(draw, info):
    height, width = info.output_shape.height, info.output_shape.width
    filters = info.output_shape.channels
    return canonical(info, LayerMapping(
        info.name, draw(st.integers(1, height)), draw(st.integers(1, width)),
        draw(st.sampled_from(["fixed", "even"])), draw(st.integers(1, filters)), "weight",
        draw(st.integers(2, max(2, reduction(info)[0]))), False))


@settings(max_examples=100, deadline=None)
@given(network=single_layers(), data=st.data())
def test_spilled_traffic_respects_the_bounds(network, data):
    """Never fewer bytes than each operand once (compulsory), nor, when the tiles fit the
    buffer, than the capacity-aware lower bound (:mod:`sim.bounds`)."""
    info = network.infos[0]
    assume(blockable(info))
    mapping = data.draw(spilled_mappings(info))
    hardware = with_buffer(nano(), data.draw(st.sampled_from([4096, 16384, 65536])))
    layout = DramLayout(network, 1)
    traffic = layer_traffic(info, mapping, layout, NOTHING, hardware.dram.burst_bytes)
    assert traffic.bus_bytes >= layer_compulsory_bytes(info, 1, DENSE)
    if overflow(info, mapping, hardware, 1, 4, NOTHING) is None:
        assert traffic.bus_bytes >= layer_lower_bound_bytes(info, hardware, 1, DENSE)


@settings(max_examples=40, deadline=None)
@given(network=single_layers(), data=st.data())
def test_the_capacity_audit_passes_on_spilled_runs(network, data):
    """The engine's reservations of a fitting spilled layer, replayed by the audit."""
    info = network.infos[0]
    assume(blockable(info))
    mapping = data.draw(spilled_mappings(info))
    hardware = with_buffer(nano(), data.draw(st.sampled_from([4096, 16384, 65536])))
    assume(overflow(info, mapping, hardware, 1, 4, NOTHING) is None)
    tiles = emit(info, mapping, hardware, DramLayout(network, 1), NOTHING)
    result = run_pipeline(tiles, hardware)
    report = audit(result.occupancy, hardware, {})
    assert report.peak_bytes <= sum(spec.size_bytes
                                    for spec in hardware.buffers.declared().values())


def _simulate(capsys, network, mapping):
    assert main(["simulate", "--network", str(network), "--hardware", DIANNAO, "--json",
                 "--mapping", str(mapping)]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("dataflow", "mapping", "objective"):
        result.pop(key, None)
    return result


def test_map_and_simulate_round_trip_with_a_spilled_layer(tmp_path, capsys):
    """The file `map` writes spills the conv; simulating it gives what `auto` gives, and the
    scratch moves under ``ofmap``."""
    network = tmp_path / "one.yaml"
    network.write_text(SPILLING)
    mapping = tmp_path / "mapping.yaml"
    assert main(["map", "--network", str(network), "--hardware", DIANNAO, "--out",
                 str(mapping)]) == 0
    capsys.readouterr()
    assert "stationary: weight, input_channel_blocks: 2" in mapping.read_text()
    assert main(["simulate", "--network", str(network), "--hardware", DIANNAO, "--json",
                 "--dataflow", "auto"]) == 0
    auto = json.loads(capsys.readouterr().out)
    for key in ("dataflow", "mapping", "objective"):
        auto.pop(key, None)
    mapped = _simulate(capsys, network, mapping)
    assert mapped["totals"] == auto["totals"]
    assert mapped["layers"] == auto["layers"]


def test_an_edited_spilled_mapping_that_does_not_fit_exits_2(tmp_path, capsys):
    """One 7x7 tile of all 256 filters with 2 input blocks: a 9x9x128 window slice alone is
    10,368 B, more than diannao's 2 KiB NBin."""
    network = tmp_path / "one.yaml"
    network.write_text(SPILLING)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(
        "network: one\nhardware: diannao\ndtype: int8\nlayers:\n"
        "  - {layer: conv, tile: [7, 7], filter_blocks: 1, stationary: weight, "
        "input_channel_blocks: 2}\n")
    assert main(["simulate", "--network", str(network), "--hardware", DIANNAO, "--mapping",
                 str(mapping)]) == 2
    err = capsys.readouterr().err
    buffer = load_hardware(DIANNAO).buffers.name_for("ifmap")
    assert err == (f"error: {mapping}:5: layers[0]: layer 'conv' does not fit: its tiles "
                   f"overfill buffer {buffer!r}\n")


def test_a_single_input_channel_leaves_no_spilled_mapping_to_try():
    """A 3x3 conv on a 1-channel input cannot block its input channels (one item: no count of
    2 or more), so the spilled order has no trials; the search still maps the layer (the
    case hypothesis found: 12x19x1 -> 11 on DianNao)."""
    network = Network("one", Shape(12, 19, 1),
                      [Conv2d(name="l0", out_channels=11, kernel=3, padding=1)])
    info = network.infos[0]
    assert reduction(info)[0] == 1
    hardware = load_hardware(ROOT / "configs" / "hardware" / "diannao.yaml")
    choice = search_layer(info, hardware, DramLayout(network, 4), Residency())
    assert choice is not None
    assert not choice.mapping.spills


def test_the_fewest_filter_blocks_that_fit_are_searched():
    """Hand count: a 3x3 conv 28x28x128 -> 128 (ResNet-18's layer2 shape) on DianNao, whose
    32 KB SB holds the int8 weights of at most 28 filters (1,152 B each plus their share of
    the layer's other parameters; 29 do not fit). So 5 filter blocks (26 filters each) is the
    fewest that fits: not a doubling count (4 holds 32 filters, too many; 8 is the next) nor
    one of the 16-lane counts (8, 4, 2). Weight-stationary, each block reads the input once:
    5 blocks read 5/8 of what 8 blocks read over the same grid."""
    network = Network("l2", Shape(28, 28, 128),
                      [Conv2d(name="conv", out_channels=128, kernel=3, padding=1)])
    info = network.infos[0]
    hardware = load_hardware(ROOT / DIANNAO)
    per_filter = info.params / 128
    assert 28 * per_filter <= 32 * 1024 < 29 * per_filter
    layout = DramLayout(network, 1)
    choice = search_layer(info, hardware, layout, NOTHING)
    assert choice is not None
    mapping = choice.mapping
    assert (mapping.filter_blocks, mapping.stationary, mapping.input_channel_blocks) == (
        5, "weight", 1)
    eight = LayerMapping("conv", mapping.tile_rows, mapping.tile_cols, mapping.split, 8,
                         "weight", 1, mapping.halo_reuse)
    assert overflow(info, eight, hardware, 1, 4, NOTHING) is None
    fetched = layer_traffic(info, eight, layout, NOTHING, 64).requested["ifmap"]
    assert choice.traffic.requested["ifmap"] * 8 == fetched * 5
