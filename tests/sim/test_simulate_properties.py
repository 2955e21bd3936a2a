"""Property: `simulate` never reports a non-finite or negative count, over every dataflow,
every preset and random networks (tests/sim/sanity.py holds the checks, and the place where
the per-layer cycle and compulsory-traffic bounds are added)."""

from __future__ import annotations

import contextlib
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import DATAFLOWS, main
from sim.presets import preset_names
from tests.sim.sanity import check_simulation


@st.composite
def networks(draw: st.DrawFn) -> dict:
    """A random chain of convolutions, depthwise, pointwise and pooling layers + a classifier."""
    size = draw(st.integers(4, 20))
    layers = []
    for index in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(("conv2d", "depthwise", "pointwise", "maxpool")))
        kernel = draw(st.sampled_from((1, 3))) if kind != "pointwise" else 1
        stride = draw(st.sampled_from((1, 2))) if size >= 4 else 1
        layer = {"name": f"l{index}", "kind": kind}
        if kind in ("conv2d", "pointwise"):
            layer["out_channels"] = draw(st.integers(1, 24))
        if kind != "pointwise":
            layer |= {"kernel": kernel, "padding": kernel // 2}
        layer["stride"] = stride
        layers.append(layer)
        size = (size + 2 * (kernel // 2) - kernel) // stride + 1 if kind != "pointwise" \
            else (size - 1) // stride + 1
        if size < 3:
            break
    layers += [{"name": "pool", "kind": "global_avgpool"},
               {"name": "fc", "kind": "fc", "out_features": draw(st.integers(1, 10))}]
    channels = draw(st.integers(1, 6))
    return {"name": "random", "input": {"height": draw(st.integers(size, size + 8)),
                                        "width": draw(st.integers(4, 20)),
                                        "channels": channels}, "layers": layers}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(network=networks(), hardware=st.sampled_from(preset_names()),
       dataflow=st.sampled_from(DATAFLOWS), dtype=st.sampled_from(("int8", "fp32")))
def test_simulate_reports_sane_numbers(tmp_path_factory, network, hardware, dataflow, dtype):
    import yaml

    path = tmp_path_factory.mktemp("net") / "net.yaml"
    path.write_text(yaml.safe_dump(network))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["simulate", "--network", str(path), "--hardware", hardware,
                       "--dataflow", dataflow, "--dtype", dtype, "--tile", "4", "--json"])
    if status == 2:  # a network the hardware cannot hold is refused in one line, not run
        assert out.getvalue() == "" and err.getvalue().count("\n") == 1, err.getvalue()
        return
    assert status == 0
    report = check_simulation(out.getvalue())
    assert report["totals"]["macs"] == sum(layer["macs"] for layer in report["layers"])
