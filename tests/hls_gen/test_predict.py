"""`edgeaccel rtl predict HARDWARE.yaml --network N`: the generated engine's cycles per layer.

The expected cycles are the RTL's, measured on Icarus by ``tests/rtl/test_dram_engine_rtl.py``
(the engine's counter and the testbench's own count, README table "Layer engine with a memory
port") for the same layers at the testbench's addresses 0x0000 / 0x1000 / 0x2000, which the
4 KiB-aligned layout gives these layers (worked by hand below)."""

import json
from pathlib import Path

import pytest
import yaml

from hls_gen.predict import engine_layer, predict_network, region_addresses
from sim.cli import main
from sim.rtl_schedule import EngineLayer, EngineLimits
from sim.workload.io import resolve_network

ROOT = Path(__file__).resolve().parents[2]
HARDWARE = ROOT / "configs" / "hardware"
# Measured on Icarus (README, fpga_4x4_os and fpga_4x4_ws tables): 3x3 s1 16x16x8 -> 8,
# 3x3 s2 pad 1 15x15x8 -> 8, 1x1 12x12x8 -> 12.
RTL_CYCLES = {"fpga_4x4_os": (11_068, 3_303, 2_152), "fpga_4x4_ws": (11_011, 3_629, 1_800)}


def one_layer_network(tmp_path: Path, height: int, channels: int, layer: dict) -> str:
    path = tmp_path / f"{layer['name']}.yaml"
    path.write_text(yaml.safe_dump({"name": layer["name"],
                                    "input": {"height": height, "width": height,
                                              "channels": channels},
                                    "layers": [layer]}))
    return str(path)


def test_region_addresses_by_hand():
    """16x16x8 input: 2,048 B at 0; 8 filters = 2 folds of (72 + 4 bias) words of 4 B =
    608 B at 0x1000; the output at 0x2000 (the testbench's addresses)."""
    limits = EngineLimits(rows=4, cols=4, max_height=18, max_width=18, max_channels=8,
                          input_depth=256, output_depth=512, weight_depth=288)
    assert region_addresses(EngineLayer(16, 16, 8, 8, 3, 1, 1), limits) == (0, 0x1000, 0x2000)
    # 12x12x8 = 1,152 B; 12 filters = 3 folds x (8 + 4) words x 4 B = 144 B
    assert region_addresses(EngineLayer(12, 12, 8, 12, 1, 1, 0), limits) == (0, 0x1000, 0x2000)
    # a 5,000 B input pushes the weights to the second 4 KiB boundary
    assert region_addresses(EngineLayer(25, 25, 8, 4, 1, 1, 0), limits)[1] == 0x2000


@pytest.mark.parametrize("preset", sorted(RTL_CYCLES))
def test_predict_equals_the_measured_rtl_cycles(preset, tmp_path):
    layers = [({"name": "s1", "kind": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1},
               16),
              ({"name": "s2", "kind": "conv2d", "out_channels": 8, "kernel": 3, "stride": 2,
                "padding": 1}, 15),
              ({"name": "pw", "kind": "pointwise", "out_channels": 12}, 12)]
    for (layer, height), expected in zip(layers, RTL_CYCLES[preset], strict=True):
        network = resolve_network(one_layer_network(tmp_path, height, 8, layer))
        (prediction,), pes = predict_network(HARDWARE / f"{preset}.yaml", network)
        assert prediction.reason == "" and prediction.cycles == expected, layer["name"]
        assert prediction.utilization(pes) == prediction.macs / (16 * expected)


def test_layers_the_engine_does_not_run_say_why():
    network = resolve_network("lightweight_cnn")
    by_name = {info.name: engine_layer(info) for info in network.infos}
    assert by_name["b5_add"] == "the engine runs convolutions, not add layers"
    predictions, _ = predict_network(HARDWARE / "fpga_4x4_os.yaml", network)
    reasons = {p.name: p.reason for p in predictions}
    assert reasons["stem"] == "padded width 34 is more than the engine's 18"
    assert reasons["b5_expand"] == "32 channels are more than the engine's 8"
    assert all(p.cycles == 0 for p in predictions if p.reason)


def test_depthwise_runs_dense_with_its_own_macs(tmp_path):
    """A depthwise 3x3 16x16x8 runs as the dense 8-filter conv (the RTL's 11,068 cycles) and
    counts its useful MACs: 16 x 16 x 8 x 9 = 18,432 of the array's 147,456."""
    path = one_layer_network(tmp_path, 16, 8, {"name": "dw", "kind": "depthwise",
                                                 "kernel": 3, "padding": 1})
    (prediction,), _ = predict_network(HARDWARE / "fpga_4x4_os.yaml", resolve_network(path))
    assert (prediction.cycles, prediction.macs, prediction.array_macs) == (11_068, 18_432,
                                                                           147_456)


def test_cli_json_and_table(tmp_path, capsys):
    path = one_layer_network(tmp_path, 16, 8, {"name": "s1", "kind": "conv2d",
                                                 "out_channels": 8, "kernel": 3, "padding": 1})
    hardware = str(HARDWARE / "fpga_4x4_os.yaml")
    assert main(["rtl", "predict", hardware, "--network", path, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["cycles"] == 11_068 and record["layers"][0]["tiles"] == 1
    # 2,048 B input + 608 B weights + 2,048 B output, each whole 32 B bursts
    assert record["layers"][0]["bus_bytes"] == 4_704
    assert main(["rtl", "predict", hardware, "--network", path]) == 0
    assert "11,068" in capsys.readouterr().out


def test_cli_hardware_without_an_engine_exits_2(tmp_path, capsys):
    code = main(["rtl", "predict", str(HARDWARE / "jetson_nano.yaml"), "--network",
                 "lightweight_cnn"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and "pe_array.kind" in captured.err
