"""The compute-cycle floor of a layer on a ws array (`sim.mapper.cycle_floor`): a hand-worked
case, and brute force over every mapping of small layers (no mapping that fits goes below it)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.hardware import HardwareSpec
from sim.mapper.cycle_floor import ws_cycle_floor
from sim.mapper.emit import canonical, emit, overflow, valid
from sim.mapping import systolic_cycles
from sim.schedule import DramLayout
from sim.techniques.layer_tiles import Residency
from sim.workload.layers import Conv2d, Shape
from sim.workload.network import Network
from tests.sim.dataflows.strategies import nano
from tests.sim.mapper.test_search import every_mapping, tiny_layers


def ws_array(rows: int, cols: int, buffer_bytes: int) -> HardwareSpec:
    """The Jetson Nano preset with a rows x cols ws array and one double-buffered buffer of
    one 64-bit bank (the floor reads no bandwidth; one bank lets the buffer be as small as a
    word)."""
    data = nano().model_dump(by_alias=True)
    data["buffers"]["global"].update(size_bytes=buffer_bytes, banks=1, double_buffered=True)
    data["pe_array"] = {"kind": "systolic", "rows": rows, "cols": cols, "dataflow": "ws"}
    return HardwareSpec.model_validate(data)


def test_floor_by_hand_for_a_stride_2_conv_on_a_32x32_array():
    """SCALE-Sim's ResNet-18 Conv3_1a on scale.cfg's array and buffer size: 56x56x64, 3x3
    stride 2, no padding, 128 filters -> 27x27 = 729 pixels, K = 576 (18 reduction folds of 32
    rows), O = 2 x 32 + 32 - 2 = 94. 64 KiB double-buffered, int8 with int32 sums.

    With f = 32 filters a block: unblocked, a pixel takes 2 x (32 + 32 x 3) = 256 B (256
    pixels); with input channels blocked 32 x 4 + 2 x 32 = 192 B (341 pixels), so 3 regions;
    4 column folds: 4 x 18 x (3 x 93 + 729) = 72,576. f = 64 gives 4 x 18 x (4 x 93 + 729) =
    79,272 (204 pixels, 4 regions) and f = 16 gives 8 x 18 x (2 x 93 + 729) = 131,760, the
    rest more. The fold model: 72 x (94 + 729) - 1 = 59,255, so no mapping reaches 1.2x."""
    network = Network("c", Shape(56, 56, 64),
                      [Conv2d(name="conv", out_channels=128, kernel=3, stride=2, padding=0)])
    hardware = ws_array(32, 32, 65536)
    assert ws_cycle_floor(network.infos[0], hardware, 1, 4) == 72_576
    assert systolic_cycles("ws", 32, 32, 729, 576, 128) == 59_255


@settings(max_examples=40, deadline=None)
@given(network=tiny_layers(), rows=st.integers(1, 4), cols=st.integers(1, 4),
       size=st.integers(16, 1024))
def test_no_mapping_that_fits_goes_below_the_floor(network, rows, cols, size):
    """Brute force: every mapping of the layer that fits, emitted as tiles, their compute
    cycles summed (the PE array model per tile, not the floor's arithmetic)."""
    hardware = ws_array(rows, cols, size)
    info = network.infos[0]
    floor = ws_cycle_floor(info, hardware, 1, 4)
    if floor is None:
        return
    layout = DramLayout(network, 1)
    nothing = Residency()
    for mapping in every_mapping(info):
        if valid(info, mapping):
            continue
        mapping = canonical(info, mapping)
        if overflow(info, mapping, hardware, 1, 4, nothing):
            continue
        tiles = emit(info, mapping, hardware, layout, nothing)
        assert sum(tile.compute_cycles for tile in tiles) >= floor, mapping
