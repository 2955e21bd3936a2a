"""Generate the 4x4 SystolicArray (os and ws) from configs/rtl and run the cocotb tile tests on
Icarus Verilog."""

import pytest

from tests.rtl.cocotb_run import run_cocotb


@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_systolic_4x4_on_icarus(dataflow, tmp_path):
    _, counts = run_cocotb(f"systolic_4x4_{dataflow}.yaml", "cocotb_systolic", tmp_path,
                           {"ARRAY_ROWS": "4", "ARRAY_COLS": "4", "ARRAY_DATAFLOW": dataflow})
    assert counts == {"passed": 1, "failed": 0, "skipped": 1}
