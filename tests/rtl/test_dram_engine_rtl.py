"""Generate the layer engine from configs/hardware/fpga_4x4_os.yaml (the file `simulate` also
reads) and run its cocotb tests on Icarus Verilog against the simulator's DRAM model; the total
cycles of each layer must equal what ``sim.rtl_schedule`` predicts from the DRAM and fold
models (measured by the engine's counter and counted by the testbench)."""

import json
from pathlib import Path

from hls_gen.generate import generate
from tests.rtl.cocotb_run import run_cocotb

FPGA = Path(__file__).resolve().parents[2] / "configs" / "hardware" / "fpga_4x4_os.yaml"
LAYERS = ("3x3_s1", "3x3_s2_pad", "1x1", "depthwise_3x3", "tiled_3x3")


def test_fpga_layer_engine_on_icarus(tmp_path, capsys):
    figures = tmp_path / "figures.json"
    generated = generate(FPGA, tmp_path / "limits")["parameters"]
    limits = {"rows": generated["rows"], "cols": generated["cols"],
              "max_height": generated["max_height"], "max_width": generated["max_width"],
              "max_channels": generated["max_channels"],
              "input_depth": generated["input_depth"],
              "output_depth": generated["output_depth"],
              "weight_depth": generated["weight_depth"]}
    manifest, counts = run_cocotb(FPGA, "cocotb_dram_engine", tmp_path,
                                  {"HARDWARE": str(FPGA), "ENGINE_REPORT": str(figures),
                                   "ENGINE_LIMITS": json.dumps(limits)})
    assert manifest["component"] == "dram_conv_engine"
    assert counts == {"passed": 3, "failed": 0, "skipped": 0}
    measured = json.loads(figures.read_text())
    with capsys.disabled():
        for name in LAYERS:
            run = measured[name]
            print(f"\nfpga_4x4_os layer engine {name}: {run['macs']} MACs, RTL {run['cycles']}"
                  f" cycles, simulator {run['predicted_cycles']} ({run['tiles']} tiles: "
                  f"{run['band_rows']}-row bands x {run['block_filters']}-filter blocks; last "
                  f"output at {run['computed']}): PE utilization {run['utilization']:.1%}")
    for name in LAYERS:
        run = measured[name]
        assert run["cycles"] == run["counted_cycles"] == run["predicted_cycles"], name
