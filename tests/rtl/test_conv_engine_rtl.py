"""Generate the ConvEngine from configs/rtl/conv_engine_4x4.yaml with hls_gen and run its
cocotb tests on Icarus Verilog; print the measured PE utilization.

The cycle check at full rate compares the engine's ``cycles`` counter and the cycles the
testbench counted itself with ``accel.conv_stream.full_rate_cycles``, which is built from the
simulator's ``os-overlap`` fold model (``sim.mapping.overlapped_os_cycles``) and the engine's
documented register stages, never from its counters.
"""

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
                  f"(predicted {run['predicted_cycles']}; folds {run['compute_cycles']}, "
                  f"os-overlap {run['overlapped_cycles']}, SCALE-Sim os "
                  f"{run['scalesim_cycles']}): PE utilization {run['utilization']:.1%}")
    for name in ("3x3_s1", "3x3_s2_pad", "1x1"):
        run = measured[f"full_rate_{name}"]
        assert run["cycles"] == run["counted_cycles"] - 1 == run["predicted_cycles"], name
        # The overlapped folds beat SCALE-Sim's fold, which drains every fold alone.
        assert run["compute_cycles"] < run["scalesim_cycles"]
    # A 3x3 layer with 8 channels and 8 filters fills the 4x4 array.
    assert measured["full_rate_3x3_s1"]["utilization"] >= 0.90


def test_pointwise_engine_with_64_channels_on_icarus(tmp_path, capsys):
    """A 1x1 layer with 64 input channels on a 4x4 array: K = 64, 16 filters."""
    figures = tmp_path / "figures.json"
    layers = {"1x1_c64": (8, 8, 64, 16, 1, 1, 0), "1x1_c64_m6": (7, 5, 40, 6, 1, 1, 0)}
    _, counts = run_cocotb("conv_engine_4x4_1x1_c64.yaml", "cocotb_conv_engine", tmp_path,
                           {"ENGINE_ROWS": "4", "ENGINE_COLS": "4",
                            "ENGINE_REPORT": str(figures),
                            "ENGINE_LAYERS": json.dumps(layers)})
    assert counts == {"passed": 3, "failed": 0, "skipped": 0}
    measured = json.loads(figures.read_text())
    for name in layers:
        run = measured[f"full_rate_{name}"]
        with capsys.disabled():
            print(f"\nConvEngine 4x4 {name}: {run['macs']} MACs in {run['cycles']} cycles "
                  f"(predicted {run['predicted_cycles']}): PE utilization "
                  f"{run['utilization']:.1%}")
        assert run["cycles"] == run["counted_cycles"] - 1 == run["predicted_cycles"], name
    assert measured["full_rate_1x1_c64"]["utilization"] >= 0.80
