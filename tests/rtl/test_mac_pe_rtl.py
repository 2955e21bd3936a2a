"""Generate MacPE Verilog with Amaranth and run the cocotb test on Icarus Verilog."""

import shutil
import subprocess
from pathlib import Path

import pytest
from amaranth.back import verilog
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from accel.pe import MacPE

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("acc_width", [32, 20])
def test_mac_pe_on_icarus(tmp_path, acc_width):
    assert shutil.which("iverilog"), "Icarus Verilog is needed (make test installs it)"
    name = f"mac_pe_d8_a{acc_width}"
    source = tmp_path / f"{name}.v"
    source.write_text(verilog.convert(MacPE(data_width=8, acc_width=acc_width), name=name,
                                      emit_src=False))
    compiled = subprocess.run(["iverilog", "-g2012", "-Wall", "-o", str(tmp_path / "check"),
                               str(source)], capture_output=True, text=True)
    assert compiled.returncode == 0 and compiled.stderr == "", compiled.stderr
    runner = get_runner("icarus")
    build = tmp_path / "build"
    runner.build(sources=[source], hdl_toplevel=name, build_dir=build,
                 timescale=("1ns", "1ps"))
    results = runner.test(hdl_toplevel=name, test_module="cocotb_mac_pe", test_dir=HERE,
                          build_dir=build, results_xml=str(tmp_path / "results.xml"),
                          extra_env={"MAC_PE_ACC_BITS": str(acc_width)})
    tests, failed = get_results(results)
    assert tests == 1 and failed == 0
