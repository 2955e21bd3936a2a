"""Generate the ConvEngine from configs/rtl/conv_engine_4x4.yaml with hls_gen and run its
cocotb tests on Icarus Verilog; print the measured PE utilization."""

import json

from tests.rtl.cocotb_run import run_cocotb


def test_conv_engine_4x4_on_icarus(tmp_path, capsys):
    figures = tmp_path / "figures.json"
    manifest, counts = run_cocotb("conv_engine_4x4.yaml", "cocotb_conv_engine", tmp_path,
                                  {"ENGINE_ROWS": "4", "ENGINE_COLS": "4",
                                   "ENGINE_REPORT": str(figures)})
    assert manifest["parameters"]["rows"] == 4 and manifest["parameters"]["cols"] == 4
    assert counts == {"passed": 3, "failed": 0, "skipped": 0}
    measured = json.loads(figures.read_text())
    with capsys.disabled():
        for name in ("3x3_s1", "3x3_s2_pad", "1x1"):
            run = measured[f"full_rate_{name}"]
            print(f"\nConvEngine 4x4 {name}: {run['macs']} MACs in {run['cycles']} cycles "
                  f"(array busy {run['compute_cycles']} = SCALE-Sim os {run['model_cycles']}"
                  f" + 1): PE utilization {run['utilization']:.1%}")
    # A 3x3 layer with 8 channels and 8 filters fills the 4x4 array.
    assert measured["full_rate_3x3_s1"]["utilization"] > 0.80
