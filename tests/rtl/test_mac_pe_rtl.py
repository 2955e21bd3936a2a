"""Generate MacPE Verilog through hls_gen and run the cocotb test on Icarus Verilog."""

import subprocess

import pytest

from tests.rtl.cocotb_run import SPECS, run_cocotb


@pytest.mark.parametrize("acc_width", [32, 20])
def test_mac_pe_on_icarus(tmp_path, acc_width):
    spec = tmp_path / "mac_pe.yaml"
    spec.write_text((SPECS / "mac_pe.yaml").read_text().replace(
        "accumulator_bits: 32", f"accumulator_bits: {acc_width}"))
    manifest, counts = run_cocotb(spec, "cocotb_mac_pe", tmp_path / "run",
                                  {"MAC_PE_ACC_BITS": str(acc_width)})
    assert manifest["module"] == f"mac_pe_d8_a{acc_width}"
    compiled = subprocess.run(["iverilog", "-g2012", "-Wall", "-o", str(tmp_path / "check"),
                               str(tmp_path / "run" / manifest["verilog"])],
                              capture_output=True, text=True)
    assert compiled.returncode == 0 and compiled.stderr == "", compiled.stderr
    assert counts == {"passed": 1, "failed": 0, "skipped": 0}
