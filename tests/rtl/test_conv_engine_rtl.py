"""Generate the ConvEngine from configs/rtl/conv_engine_4x4.yaml with hls_gen and run its
cocotb tests on Icarus Verilog; print the measured PE utilization."""

import json
import shutil
from pathlib import Path

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from hls_gen.generate import generate

HERE = Path(__file__).resolve().parent
SPEC = HERE.parents[1] / "configs" / "rtl" / "conv_engine_4x4.yaml"


def test_conv_engine_4x4_on_icarus(tmp_path, capsys):
    assert shutil.which("iverilog"), "Icarus Verilog is needed (make test installs it)"
    manifest = generate(SPEC, tmp_path)
    runner = get_runner("icarus")
    build = tmp_path / "build"
    runner.build(sources=[tmp_path / manifest["verilog"]], hdl_toplevel=manifest["module"],
                 build_dir=build, timescale=("1ns", "1ps"))
    figures = tmp_path / "figures.json"
    results = runner.test(
        hdl_toplevel=manifest["module"], test_module="cocotb_conv_engine", test_dir=HERE,
        build_dir=build, results_xml=str(tmp_path / "results.xml"),
        extra_env={"ENGINE_ROWS": str(manifest["parameters"]["rows"]),
                   "ENGINE_COLS": str(manifest["parameters"]["cols"]),
                   "ENGINE_REPORT": str(figures), "PYTHONPATH": str(HERE.parents[1])})
    assert get_results(results) == (3, 0)
    measured = json.loads(figures.read_text())
    with capsys.disabled():
        for name in ("3x3_s1", "3x3_s2_pad", "1x1"):
            run = measured[f"full_rate_{name}"]
            print(f"\nConvEngine 4x4 {name}: {run['macs']} MACs in {run['cycles']} cycles "
                  f"(array busy {run['compute_cycles']} = SCALE-Sim os {run['model_cycles']}"
                  f" + 1): PE utilization {run['utilization']:.1%}")
    # A 3x3 layer with 8 channels and 8 filters fills the 4x4 array.
    assert measured["full_rate_3x3_s1"]["utilization"] > 0.80
