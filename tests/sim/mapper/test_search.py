"""The search finds the optimum of its space, and its floor never overshoots.

The reference is brute force: every mapping of a small layer (every tile height and width,
both splits, every filter-block count, all three loop orders, every input-channel block count
with ``output`` and ``weight`` (partial sums spilled), halo reuse on and off, gathered windows
on and off), each emitted as tiles and its bus bytes counted request by request.
"""

import dataclasses
from itertools import product

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.hardware import load_hardware
from sim.mapper.emit import canonical, emit, overflow, valid
from sim.mapper.grid import make_grid
from sim.mapper.layer_mapping import SPLITS, STATIONARY, LayerMapping
from sim.mapper.search import (
    estimate_cycles,
    exhaustive,
    lane_counts,
    layer_space,
    requested_floor,
    search_layer,
)
from sim.mapper.traffic import layer_traffic
from sim.schedule import DramLayout, schedule_burst_bytes
from sim.techniques.channel_blocks import reduction
from sim.techniques.layer_tiles import Residency, is_channelwise, layer_geometry
from sim.workload.layers import Conv2d, DepthwiseConv2d, FullyConnected, Shape
from sim.workload.network import Network, NetworkError
from tests.sim.dataflows.strategies import nano, single_layers, with_buffer
from tests.sim.mapper.strategies import mappings, strided_layers

NOTHING = Residency()


def every_mapping(info):
    """Every mapping: ``output`` with every input-channel block count, ``weight`` with one
    block or every count (partial sums spilled), ``input`` with one."""
    height, width = info.output_shape.height, info.output_shape.width
    most = (info.output_shape.channels if is_channelwise(info)
            else layer_geometry(info, 1).filters) or 1
    items = reduction(info)[0] if layer_geometry(info, 1).filters else 1
    for rows, cols, split, blocks, order, halo, gather in product(
            range(1, height + 1), range(1, width + 1), SPLITS, range(1, most + 1), STATIONARY,
            (True, False), (False, True)):
        ks = {"input": (1,), "weight": range(1, items + 1), "output": range(2, items + 1)}
        for k in ks[order]:
            yield LayerMapping(info.name, rows, cols, split, blocks, order, k, halo, gather)


def brute_force_best(info, hardware, layout):
    best = None
    for mapping in every_mapping(info):
        if valid(info, mapping):
            continue
        mapping = canonical(info, mapping)
        if overflow(info, mapping, hardware, layout.dtype_bytes, layout.accumulator_bytes,
                    NOTHING):
            continue
        moved = schedule_burst_bytes(emit(info, mapping, hardware, layout, NOTHING),
                                     hardware.dram.burst_bytes)
        best = moved if best is None else min(best, moved)
    return best


@st.composite
def tiny_layers(draw):
    size = draw(st.integers(2, 4))
    channels = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["conv", "dw", "fc"]))
    if kind == "conv":
        k = draw(st.sampled_from([1, 3]))
        layer = Conv2d(name="l", out_channels=draw(st.integers(1, 4)), kernel=k,
                       stride=draw(st.sampled_from([1, 2, 3])),
                       padding=draw(st.integers(0, k // 2)))
    elif kind == "dw":
        k = draw(st.sampled_from([1, 3]))
        layer = DepthwiseConv2d(name="l", kernel=k, stride=draw(st.sampled_from([1, 2])),
                                padding=k // 2)
    else:
        layer = FullyConnected(name="l", out_features=draw(st.integers(1, 4)))
    try:
        return Network("tiny", Shape(size, size, channels), [layer])
    except NetworkError:
        assume(False)
        raise


@settings(max_examples=30, deadline=None)
@given(network=tiny_layers(), size=st.integers(64, 2048), burst=st.sampled_from([4, 8, 32]))
def test_search_finds_the_brute_force_optimum(network, size, burst):
    hardware = with_buffer(nano(), size)
    hardware = hardware.model_validate({**hardware.model_dump(by_alias=True), "dram": {
        **hardware.dram.model_dump(by_alias=True), "burst_length": burst * 8 // 64 * 2
        if burst >= 8 else 2}})
    info = network.infos[0]
    assert exhaustive(info)
    layout = DramLayout(network, 1)
    best = brute_force_best(info, hardware, layout)
    choice = search_layer(info, hardware, layout, NOTHING)
    if best is None:
        assert choice is None
        return
    assert choice is not None
    tiles = emit(info, choice.mapping, hardware, layout, NOTHING)
    assert schedule_burst_bytes(tiles, hardware.dram.burst_bytes) == best


@settings(max_examples=150, deadline=None)
@given(network=st.one_of(single_layers(), strided_layers()), data=st.data())
def test_floor_never_exceeds_the_bus_bytes(network, data):
    """Gathered windows included (layers whose kernel is smaller than their stride)."""
    info = network.infos[0]
    mapping = canonical(info, data.draw(mappings(info)))
    layout = DramLayout(network, data.draw(st.sampled_from([1, 2])))
    grid = make_grid(info, mapping.tile_rows, mapping.tile_cols, mapping.split)
    floor = requested_floor(info, grid, mapping, layout, NOTHING)
    traffic = layer_traffic(info, mapping, layout, NOTHING, 32, grid)
    assert floor == traffic.requested_bytes <= traffic.bus_bytes


def test_weight_stationary_wins_when_weights_dominate():
    """Hand-worked: a 3x3 conv, 8x8x64 -> 256 filters, int8, with a 64 KiB double-buffered
    buffer. Weights are 147,456 B + 256 B bias; they cannot stay whole. Input-stationary
    tiles refetch all weights for every tile; weight-stationary blocks fetch every weight
    once and read the small 4 KiB input again per block, so the search must pick it (or an
    order at least as cheap)."""
    network = Network("w", Shape(8, 8, 64), [Conv2d(name="l", out_channels=256, kernel=3,
                                                     padding=1)])
    hardware = with_buffer(nano(), 65536)
    info = network.infos[0]
    layout = DramLayout(network, 1)
    choice = search_layer(info, hardware, layout, NOTHING)
    weights = info.params
    inputs = 8 * 8 * 64
    # Weight-stationary with B blocks: weights once + B x inputs + outputs (8 x 8 x 256).
    assert choice.traffic.requested_bytes <= weights + 8 * inputs + 8 * 8 * 256
    ws = dataclasses.replace(choice.mapping, stationary="input")
    assert choice.traffic.bus_bytes <= layer_traffic(info, ws, layout, NOTHING, 32).bus_bytes



@pytest.fixture
def eyeriss_cfg(tmp_path):
    """SCALE-Sim's eyeriss.cfg array and SRAMs (12 x 14 ws, 36 KB each), imported."""
    config = tmp_path / "eyeriss.cfg"
    config.write_text("[general]\nrun_name = eyeriss\n[architecture_presets]\n"
                      "ArrayHeight: 12\nArrayWidth: 14\nIfmapSramSzkB: 36\nFilterSramSzkB: 36\n"
                      "OfmapSramSzkB: 36\nDataflow : ws\n")
    topology = tmp_path / "conv2.csv"
    topology.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                        "Channels, Num Filter, Strides,\nConv2,27,27,5,5,96,256,1,\n")
    hardware_file = tmp_path / "hardware.yaml"
    assert main(["import", "scalesim", str(topology), "--config", str(config), "--out",
                 str(tmp_path / "topology.yaml"), "--hardware-out", str(hardware_file)]) == 0
    return load_hardware(hardware_file)


def alexnet_conv2() -> Network:
    return Network("conv2", Shape(27, 27, 96), [Conv2d(name="Conv2", out_channels=256,
                                                       kernel=5)])


def test_lane_counts_by_hand(eyeriss_cfg):
    """256 filters on 14 columns: blocks of at most 14, 28, 56, 112 and 224 filters."""
    assert lane_counts(alexnet_conv2().infos[0], eyeriss_cfg) == [19, 10, 5, 3, 2]


def test_filter_blocks_that_fill_the_columns_reach_the_fold_model(eyeriss_cfg):
    """AlexNet's Conv2 (27 x 27 x 96 -> 256, 5 x 5) on SCALE-Sim's eyeriss.cfg array: the
    fewest compute cycles of any mapping that fits are no more than a hand-worked one's.
    Worked by hand: 23 x 12 output tiles (276 and 253 pixels), 19 filter blocks of at most 14
    filters (one column fold each), 4 blocks of 24 input channels (K = 600, 50 row folds):
    2 tiles x 19 x 4 GEMMs of 50 folds of 2 x 12 + 14 - 2 + P cycles, less 1 per GEMM:
    3,800 x (312 + 289) - 152 = 2,283,648, 1.06x SCALE-Sim's fold model of the whole layer,
    200 x 19 x (36 + 529) - 1 = 2,146,999. With power-of-two block counts only (8 blocks of
    32 filters: 3 column folds, 2 of them part empty) the fewest were 3,057,408 (1.42x)."""
    network = alexnet_conv2()
    info = network.infos[0]
    layout = DramLayout(network, 1, align_bytes=eyeriss_cfg.dram.page_bytes)
    fewest = min(estimate_cycles(info, mapping, grid, eyeriss_cfg)
                 for _, mapping, grid in layer_space(info, eyeriss_cfg, layout, Residency()))
    assert fewest <= 2_283_648 <= 1.2 * 2_146_999
