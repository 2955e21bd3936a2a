"""The on-chip capacity budget: every run fits the declared buffers, and the audit can fail.

Expected values here come from hand-made schedules and reservations, brute-force enumeration,
or the preset files' own sizes, never from the functions under test.
"""

import dataclasses
from math import ceil

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim.bounds import real_macs_and_reuse
from sim.capacity import audit
from sim.config import ConfigError
from sim.dataflow import SimulationOptions, build_schedule
from sim.hardware import HardwareSpec, load_hardware
from sim.memory.dram import DramModel
from sim.pipeline import CapacityError, Clock, Reservation, run_pipeline
from sim.schedule import Footprint, Tile, Transfer, transfer_bursts
from sim.simulate import simulate
from sim.workload.layers import Conv2d, FullyConnected, Shape
from sim.workload.network import Network, NetworkError
from sim.workload.zoo import mobilenet_v2
from tests.sim.dataflows.strategies import nano, single_layers, with_buffer

NANO_L2_BYTES = 262_144  # configs/hardware/jetson_nano.yaml: the 256 KB L2
DIANNAO = "configs/hardware/diannao.yaml"


def _hardware(path: str, **buffer_changes) -> HardwareSpec:
    data = load_hardware(path).model_dump(by_alias=True)
    for name, changes in buffer_changes.items():
        data["buffers"][name] = {**data["buffers"][name], **changes}
    return HardwareSpec.model_validate(data)


# -- the audit fails on purpose -------------------------------------------------------------

def test_audit_rejects_overlapping_reservations_beyond_the_buffer():
    hardware = nano()
    # Two reservations of 200,000 B in a 262,144 B buffer: together only over [50, 100).
    fine = [Reservation("global", 0, 100, 200_000, "a", "loaded"),
            Reservation("global", 100, 200, 200_000, "b", "loaded")]
    report = audit(fine, hardware, {"a": (0, 100), "b": (100, 200)})
    assert report.peak_bytes == 200_000  # released at 100 before the next takes its place
    overlapping = [Reservation("global", 0, 100, 200_000, "a", "loaded"),
                   Reservation("global", 50, 200, 200_000, "b", "loaded")]
    with pytest.raises(CapacityError, match=r"layer 'b': buffer 'global' holds 400,000 B at "
                                            r"cycle 50, more than its 262,144 B"):
        audit(overlapping, hardware, {})


def test_audit_rejects_a_buffer_the_hardware_does_not_declare():
    with pytest.raises(CapacityError, match="does not declare"):
        audit([Reservation("fmap", 0, 1, 1, "a", "resident a")], nano(), {})


def test_a_tile_larger_than_its_buffer_stops_the_pipeline():
    tile = Tile("big", (Transfer("ifmap", 0, 64),), (), 0, 10,
                footprint=Footprint(loaded={"global": NANO_L2_BYTES + 1}))
    with pytest.raises(CapacityError, match=r"needs 262,145 B of buffer 'global', which has "
                                            r"262,144 B"):
        run_pipeline([tile], nano())


def test_two_tiles_that_fit_only_one_at_a_time_do_not_overlap():
    # Each tile takes 200,000 B of the 262,144 B buffer: the second may load only once the
    # first has finished computing, although the buffer is double-buffered.
    hardware = nano()
    tiles = [Tile(name, (Transfer("ifmap", address, 64),), (), 0, 1000,
                  footprint=Footprint(loaded={"global": 200_000}))
             for name, address in (("a", 0), ("b", 1 << 20))]
    result = run_pipeline(tiles, hardware)
    loads = sorted((r.start, r.layer) for r in result.occupancy)
    assert loads[1][0] >= result.layers["a"].last_end
    report = audit(result.occupancy, hardware, {})
    assert report.peak_bytes == 200_000


# -- buffering per operand: DianNao's single-buffered NBin -------------------------------------

def _two_tiles() -> list[Tile]:
    """Tile 0 loads 1 KiB of input and 2 KiB of weights, tile 1 another 1 KiB of input; each
    computes 1,000 cycles; tile 1 stores 64 B. Footprints fit NBin (2 KiB) side by side."""
    first = Tile("l", (Transfer("ifmap", 0, 1024), Transfer("weight", 1 << 20, 2048)), (),
                 0, 1000, footprint=Footprint(loaded={"ifmap": 1024, "weight": 2048}))
    second = Tile("l", (Transfer("ifmap", 1024, 1024),),
                  (Transfer("ofmap", 2 << 20, 64, write=True),), 0, 1000,
                  footprint=Footprint(loaded={"ifmap": 1024}, produced={"ofmap": 64}))
    return [first, second]


def _hand_schedule(hardware: HardwareSpec, single: bool) -> int:
    """Total cycles of :func:`_two_tiles` worked out by hand: loads of tile 1 start at 0 when
    NBin is double-buffered, or when tile 0 has finished computing when it is single; DRAM
    service times come from a fresh DRAM model serving the same requests at those times."""
    dram = DramModel(hardware.dram)
    clock = Clock(hardware.clock_hz, hardware.dram.clock_hz)

    def serve(requests, at):
        return max(clock.to_accelerator(dram.access(a, s, w, clock.to_dram(at)).end_cycle)
                   for a, s, w in requests)

    loaded0 = serve([(0, 1024, False), (1 << 20, 2048, False)], 0)
    if single:
        computed0 = loaded0 + 1000
        loaded1 = serve([(1024, 1024, False)], computed0)
    else:
        loaded1 = serve([(1024, 1024, False)], 0)
        computed0 = loaded0 + 1000
    computed1 = max(loaded1, computed0) + 1000
    return serve([(2 << 20, 64, True)], computed1)


def test_single_buffered_nbin_does_not_overlap_loads_with_compute():
    single = load_hardware(DIANNAO)
    assert not single.buffers.ifmap.double_buffered  # as the preset declares NBin
    result = run_pipeline(_two_tiles(), single)
    assert result.cycles == _hand_schedule(single, single=True)
    double = _hardware(DIANNAO, ifmap={"double_buffered": True})
    overlapped = run_pipeline(_two_tiles(), double)
    assert overlapped.cycles == _hand_schedule(double, single=False)
    assert overlapped.cycles < result.cycles


# -- buffer bandwidth ----------------------------------------------------------------------

@pytest.mark.parametrize("banks", [1, 8])
def test_sram_bandwidth_limits_a_layer(banks):
    # An FC layer of 256 inputs -> 64 outputs (16,448 params) on the Jetson Nano vector engine
    # (16 inputs x 8 outputs per cycle): compute takes 16 x 8 = 128 cycles. By the vector
    # engine's access model it reads each input once per output group (256 x 8 B) and every
    # weight once (256 x 64 B), writes the 64 outputs; DRAM fills write the input (256 B) and
    # the params (16,448 B) and the store reads the 64 outputs back: 35,264 B in the global
    # buffer, served at banks x 8 B per cycle.
    network = Network("fc", Shape(1, 1, 256), [FullyConnected(name="fc", out_features=64)])
    hardware = _hardware("configs/hardware/jetson_nano.yaml", **{"global": {"banks": banks}})
    layer = simulate(network, hardware, SimulationOptions())["layers"][0]
    sram_bytes = (256 * 8 + 256 * 64 + 64) + (256 + 16_448 + 64)
    assert layer["compute_cycles"] == 128
    assert layer["buffer_stall_cycles"] == ceil(sram_bytes / (banks * 8)) - 128
    assert layer["cycles"] >= ceil(sram_bytes / (banks * 8))


# -- whole networks on the presets ------------------------------------------------------------

@pytest.mark.parametrize("dataflow", ["layerwise", "tiled", "buffered", "fused", "full"])
def test_mobilenet_v2_224_fits_the_jetson_nano_l2(dataflow):
    result = simulate(mobilenet_v2(), nano(), SimulationOptions(dataflow))
    totals = result["totals"]
    assert 0 < totals["peak_onchip_bytes"] <= NANO_L2_BYTES
    assert totals["peak_onchip_bytes_by_buffer"]["global"] <= NANO_L2_BYTES
    assert all(layer["peak_onchip_bytes"] <= NANO_L2_BYTES for layer in result["layers"])
    assert all(layer["stall_cycles"] >= 0 and layer["dram_stall_cycles"] >= 0
               for layer in result["layers"])


def test_a_feature_map_request_the_l2_cannot_hold_is_refused():
    with pytest.raises(ConfigError, match="buffer 'global' of jetson_nano has 262,144 B"):
        simulate(mobilenet_v2(), nano(), SimulationOptions("full", buffer_channels=64))


def test_reordered_blocks_hold_their_accumulator_at_int32():
    # MobileNetV2-224 b17 (7x7x960 -> 7x7x320 projection) reordered on the Jetson Nano: its
    # band's accumulator is 7 x 7 x 320 x 4 B = 62,720 B when the whole map is one band.
    result = simulate(mobilenet_v2(), nano(), SimulationOptions("full"))
    assert "b17" in result["reordered_blocks"]
    layers = {layer["name"]: layer for layer in result["layers"]}
    # The expansion and depthwise outputs never reach DRAM.
    assert layers["b17_expand"]["dram_write_bytes"] == 0
    assert layers["b17_dw"]["dram_write_bytes"] == 0
    assert layers["b17_project"]["peak_onchip_bytes"] >= 7 * 7 * 320 * 4


def test_fused_layers_never_report_negative_stalls():
    result = simulate(mobilenet_v2(resolution=96), nano(), SimulationOptions("fused"))
    for layer in result["layers"]:
        assert layer["cycles"] >= layer["compute_cycles"]
        assert layer["stall_cycles"] >= 0


# -- properties on random layers and buffers ---------------------------------------------------

@given(network=single_layers(), size=st.integers(256, 1 << 19),
       double=st.booleans(),
       dataflow=st.sampled_from(["layerwise", "tiled", "buffered", "fused", "full"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_run_fits_and_respects_its_bounds(network, size, double, dataflow):
    hardware = with_buffer(nano(), size, double_buffered=double)
    options = SimulationOptions(dataflow, tile=8)
    try:
        result = simulate(network, hardware, options)
    except ConfigError:
        assume(False)
        raise
    # Statically, every tile alone (with the feature maps resident beside it) fits.
    for tile in build_schedule(network, hardware, options):
        assert tile.footprint.alone("global") <= size
    for record in (*result["layers"], result["totals"]):
        traffic = record["dram_read_bytes"] + record["dram_write_bytes"]
        assert traffic >= record["compulsory_bytes"] >= 0
        assert traffic >= record["lower_bound_bytes"] >= record["compulsory_bytes"]
        assert record["dram_burst_bytes"] >= traffic
        assert record["cycles"] >= record["compute_cycles"] >= 0
        assert record["buffer_stall_cycles"] >= 0 and record["dram_stall_cycles"] >= 0
        assert 0 < record["peak_onchip_bytes"] <= size


def test_a_fully_connected_layer_wider_than_nbin_blocks_its_inputs():
    # 4,096 int8 inputs do not fit DianNao's 2 KB NBin: the inputs come in slices, the 16
    # partial sums stay in NBout at int32 between slices, and every input and weight is read
    # once: 4,096 B + (4,096 x 16 + 16) B of params, 16 B of outputs written.
    network = Network("wide", Shape(1, 1, 4096), [FullyConnected(name="fc", out_features=16)])
    hardware = load_hardware(DIANNAO)
    layer = simulate(network, hardware, SimulationOptions())["layers"][0]
    assert layer["macs"] == 4096 * 16
    assert layer["dram_bytes_by_operand"] == {"ifmap": 4096, "weight": 4096 * 16 + 16,
                                              "ofmap": 16}
    assert layer["peak_onchip_bytes_by_buffer"]["ifmap"] <= 2048
    # Partial sums are read back at int32 for every slice after the first.
    assert layer["sram_read_bytes"] > 4096 * 16 + 4096


@given(address=st.integers(0, 1 << 20), size=st.integers(1, 5000))
def test_burst_count_is_what_the_dram_moves(address, size):
    hardware = nano()
    served = DramModel(hardware.dram).access(address, size, False, 0)
    assert transfer_bursts(Transfer("ifmap", address, size), hardware.dram.burst_bytes) \
        == served.bursts


# -- the lower bound's ingredients, by brute force ---------------------------------------------

@given(size=st.integers(3, 12), kernel=st.sampled_from([1, 3, 5]), stride=st.sampled_from([1, 2]),
       pad=st.integers(0, 2), cin=st.integers(1, 3), cout=st.integers(1, 3))
@settings(max_examples=40, deadline=None)
def test_real_macs_and_reuse_match_a_brute_force_count(size, kernel, stride, pad, cin, cout):
    try:
        network = Network("c", Shape(size, size, cin), [Conv2d(
            name="c", out_channels=cout, kernel=kernel, stride=stride, padding=pad)])
    except NetworkError:
        assume(False)
        raise
    info = network.infos[0]
    out = info.output_shape
    uses: dict[tuple[int, int], int] = {}
    real = 0
    for oy in range(out.height):
        for ox in range(out.width):
            for ky in range(kernel):
                for kx in range(kernel):
                    y, x = oy * stride + ky - pad, ox * stride + kx - pad
                    if 0 <= y < size and 0 <= x < size:
                        real += cin * cout
                        uses[(y, x)] = uses.get((y, x), 0) + 1
    macs, reuse = real_macs_and_reuse(info)
    assert macs == real
    assert reuse >= max(uses.values())  # R bounds the (p, k) pairs any input element serves


def test_feature_map_room_is_recorded():
    result = simulate(mobilenet_v2(), nano(), SimulationOptions("buffered"))
    room = result["feature_map_room"]
    assert room["buffer"] == "global"
    # Whole channels of 224 x 224 int8 at most what the L2 holds: 5 x 50,176 B.
    assert room["bytes"] == room["channels"] * 224 * 224 <= 5 * 224 * 224
    fixed = dataclasses.replace(SimulationOptions("buffered"), buffer_channels=room["channels"])
    again = simulate(mobilenet_v2(), nano(), fixed)
    assert again["totals"]["dram_read_bytes"] == result["totals"]["dram_read_bytes"]


def test_the_network_bound_counts_only_the_input_the_output_depends_on():
    """Hand-worked: a 2x4x1 input through 1x1 stride-1, stride-2, stride-2 depthwise layers
    gives a 1x1 output that depends on input pixel (0, 0) alone: the compulsory traffic is
    1 input byte + 3 x 2 B of weights and bias + 1 output byte (int8), although the first
    layer alone reads all 8 input pixels; a fused run fetches just that one pixel."""
    from sim.bounds import network_compulsory_bytes
    from sim.techniques.weight_storage import DENSE
    from sim.workload.layers import DepthwiseConv2d

    network = Network("strided", Shape(2, 4, 1), [
        DepthwiseConv2d(name="a", kernel=1, stride=1, padding=0),
        DepthwiseConv2d(name="b", kernel=1, stride=2, padding=0),
        DepthwiseConv2d(name="c", kernel=1, stride=2, padding=0)])
    params = sum(info.params for info in network.infos)
    assert network_compulsory_bytes(network, 1, DENSE) == 1 + params + 1
