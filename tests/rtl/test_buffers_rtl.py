"""Generate the PingPongBuffer and the LineBuffer from configs/rtl with hls_gen and run their
cocotb tests on Icarus Verilog."""

import pytest

from tests.rtl.cocotb_run import run_cocotb


@pytest.mark.parametrize(("spec", "environment"), [
    ("ping_pong_64x32.yaml", {"BUFFER_KIND": "ping_pong", "BUFFER_DEPTH": "64"}),
    ("line_buffer_16.yaml", {"BUFFER_KIND": "line_buffer", "BUFFER_KERNEL": "3",
                             "BUFFER_CHANNELS": "4", "BUFFER_WIDTH": "16"}),
])
def test_buffer_on_icarus(spec, environment, tmp_path):
    # The module holds a test per component; the other component's is skipped.
    _, counts = run_cocotb(spec, "cocotb_buffers", tmp_path, environment)
    assert counts == {"passed": 1, "failed": 0, "skipped": 1}
