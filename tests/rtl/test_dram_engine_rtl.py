"""Generate the layer engine from configs/hardware/fpga_4x4_os.yaml (the file `simulate` also
reads) and run its cocotb tests on Icarus Verilog against the simulator's DRAM model; the total
cycles of each layer must equal what ``sim.rtl_schedule`` predicts from the DRAM and fold
models (measured by the engine's counter and counted by the testbench)."""

import json
from pathlib import Path

from tests.rtl.cocotb_run import run_cocotb

FPGA = Path(__file__).resolve().parents[2] / "configs" / "hardware" / "fpga_4x4_os.yaml"
LAYERS = ("3x3_s1", "3x3_s2_pad", "1x1", "depthwise_3x3")


def test_fpga_layer_engine_on_icarus(tmp_path, capsys):
    figures = tmp_path / "figures.json"
    manifest, counts = run_cocotb(FPGA, "cocotb_dram_engine", tmp_path,
                                  {"HARDWARE": str(FPGA), "ENGINE_REPORT": str(figures)})
    assert manifest["component"] == "dram_conv_engine"
    assert counts == {"passed": 3, "failed": 0, "skipped": 0}
    measured = json.loads(figures.read_text())
    with capsys.disabled():
        for name in LAYERS:
            run = measured[name]
            print(f"\nfpga_4x4_os layer engine {name}: {run['macs']} MACs, RTL {run['cycles']}"
                  f" cycles, simulator {run['predicted_cycles']} (input loaded at "
                  f"{run['input_loaded']}, computed at {run['computed']}): PE utilization "
                  f"{run['utilization']:.1%}")
    for name in LAYERS:
        run = measured[name]
        assert run["cycles"] == run["counted_cycles"] == run["predicted_cycles"], name
