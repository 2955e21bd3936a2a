"""Generate SystolicArray Verilog and run the cocotb tile test on Icarus Verilog."""

import shutil
from pathlib import Path

from amaranth.back import verilog
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from accel.array import SystolicArray

HERE = Path(__file__).resolve().parent


def test_systolic_4x4_os_on_icarus(tmp_path):
    assert shutil.which("iverilog"), "Icarus Verilog is needed (make test installs it)"
    name = "systolic_os_4x4_d8_a32"
    source = tmp_path / f"{name}.v"
    source.write_text(verilog.convert(SystolicArray(rows=4, cols=4), name=name, emit_src=False))
    runner = get_runner("icarus")
    build = tmp_path / "build"
    runner.build(sources=[source], hdl_toplevel=name, build_dir=build, timescale=("1ns", "1ps"))
    results = runner.test(hdl_toplevel=name, test_module="cocotb_systolic", test_dir=HERE,
                          build_dir=build, results_xml=str(tmp_path / "results.xml"),
                          extra_env={"ARRAY_ROWS": "4", "ARRAY_COLS": "4",
                                     "PYTHONPATH": str(HERE.parents[1])})
    assert get_results(results) == (1, 0)
