"""Fuzzing the shipped configs: hypothesis mutates them (delete a key, change a type, scale a
number by 0, -1, 1e9, inf or NaN, swap two values, nest a value deeply) and runs the commands
in-process under a time budget. Every run ends with exit 0 and a sane report (tests/sim/sanity)
or exit 2 and one line.

Profiles: ``ci`` (the default, a few hundred examples in all) and ``long`` for local runs:
``EDGEACCEL_FUZZ=long pytest tests/sim/test_fuzz_configs.py``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import signal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.config import ConfigError
from sim.sweep.spec import load_sweep
from tests.sim.sanity import check_numbers, check_simulation, parse_report

ROOT = Path(__file__).resolve().parents[2]
BUDGET_S = 20  # one command on one mutated config
settings.register_profile("ci", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("EDGEACCEL_FUZZ", "ci"))

HARDWARE = {name: yaml.safe_load((ROOT / "configs" / "hardware" / f"{name}.yaml").read_text())
            for name in ("jetson_nano", "diannao", "eyeriss")}
NETWORK = yaml.safe_load((ROOT / "configs" / "networks" / "lightweight_cnn.yaml").read_text())
SWEEP = yaml.safe_load((ROOT / "configs" / "sweeps" / "default.yaml").read_text())
SMALL_NETWORK = {
    "name": "small", "input": {"height": 16, "width": 16, "channels": 3},
    "layers": [
        {"name": "c1", "kind": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1},
        {"name": "dw", "kind": "depthwise", "kernel": 3, "stride": 2, "padding": 1},
        {"name": "pw", "kind": "pointwise", "out_channels": 16},
        {"name": "pool", "kind": "global_avgpool"},
        {"name": "fc", "kind": "fc", "out_features": 10},
    ],
}
SCALES = (0, -1, 1e9, float("inf"), float("nan"))
ODD_VALUES = ("x", [1], {"a": 1}, True, None, "", 2.5)


def paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in nested mappings and lists."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


def _get(data: Any, path: tuple) -> Any:
    for step in path:
        data = data[step]
    return data


def _set(data: Any, path: tuple, value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """``original`` with one to three mutations."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        every = paths(data)
        if not every:
            break
        path = draw(st.sampled_from(every))
        value = _get(data, path)
        operation = draw(st.sampled_from(("delete", "type", "scale", "swap", "nest")))
        if operation == "delete":
            container = _get(data, path[:-1])
            if isinstance(container, dict):
                del container[path[-1]]
            else:
                container.pop(path[-1])
        elif operation == "type":
            _set(data, path, copy.deepcopy(draw(st.sampled_from(ODD_VALUES))))
        elif operation == "scale" and isinstance(value, int | float):
            scale = draw(st.sampled_from(SCALES))
            scaled = value * scale
            if isinstance(value, int) and not isinstance(value, bool) and scale in (0, -1, 1e9):
                scaled = int(scaled)
            _set(data, path, scaled)
        elif operation == "swap":
            other = draw(st.sampled_from(every))
            if other[:len(path)] != path and path[:len(other)] != other:
                first, second = copy.deepcopy(value), copy.deepcopy(_get(data, other))
                _set(data, path, second)
                _set(data, other, first)
        elif operation == "nest":
            for _ in range(draw(st.sampled_from((2, 40)))):
                value = [value]
            _set(data, path, value)
    return data


class _OverBudget(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _OverBudget


def run(argv: list[str]) -> tuple[int, str, str]:
    """``edgeaccel argv`` in this process within BUDGET_S; (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(BUDGET_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exit_:
                status = exit_.code
    except _OverBudget:
        raise AssertionError(f"over {BUDGET_S} s: {argv}") from None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue(), err.getvalue()


def check_outcome(status: int, out: str, err: str) -> str | None:
    """Exit 0 with output, or exit 2 with one line; returns stdout when the run succeeded."""
    assert status in (0, 2), (status, err)
    if status == 2:
        assert out == ""
        assert err.count("\n") == 1 and err.startswith("error: "), err
        return None
    return out


def _write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@given(data=st.sampled_from(sorted(HARDWARE)).flatmap(lambda n: mutated(HARDWARE[n])),
       dataflow=st.sampled_from(("layerwise", "tiled", "buffered", "full")))
def test_simulate_on_mutated_hardware(tmp_path_factory, data, dataflow):
    folder = tmp_path_factory.mktemp("hw")
    hardware = _write(folder, "hw.yaml", data)
    network = _write(folder, "net.yaml", SMALL_NETWORK)
    out = check_outcome(*run(["simulate", "--network", str(network), "--hardware",
                              str(hardware), "--dataflow", dataflow, "--tile", "8", "--json"]))
    if out is not None:
        check_simulation(out)


@given(data=mutated(NETWORK))
def test_network_show_and_peak_mem_on_mutated_networks(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("net")
    network = _write(folder, "net.yaml", data)
    for argv in (["network", "show", str(network), "--json"],
                 ["peak-mem", "--network", str(network), "--json"]):
        out = check_outcome(*run(argv))
        if out is not None:
            check_numbers(parse_report(out))


@given(data=mutated(SMALL_NETWORK))
def test_simulate_on_mutated_small_networks(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("small")
    network = _write(folder, "net.yaml", data)
    out = check_outcome(*run(["simulate", "--network", str(network), "--hardware",
                              "jetson_nano", "--json"]))
    if out is not None:
        check_simulation(out)


@given(data=mutated(SWEEP))
def test_sweep_validation_on_mutated_sweeps(tmp_path_factory, data):
    """Every point of the mutated default sweep is validated (nothing runs): it loads, or it
    raises one ConfigError line naming the file."""
    folder = tmp_path_factory.mktemp("sweep")
    sweep = _write(folder, "s.yaml", data)
    previous = Path.cwd()
    os.chdir(ROOT)  # the default sweep names presets by paths inside the checkout
    try:
        _, points = load_sweep(sweep)
    except ConfigError as error:
        assert "\n" not in str(error) and str(error).startswith(str(sweep)), str(error)
    else:
        assert points and all(point.config["options"]["dataflow"] for point in points)
    finally:
        os.chdir(previous)
