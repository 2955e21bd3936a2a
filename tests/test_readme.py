"""The README's quick start and its network YAML example stay true."""

import re
from pathlib import Path

from sim.sweep.spec import load_sweep
from sim.workload.io import load_network

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_quick_start_is_exactly_the_two_commands():
    commands = [line.split("#")[0].strip() for line in _blocks("sh")[0].splitlines()]
    assert commands == ["make run", "make test"]


def _example(marker: str) -> str:
    return next(block for block in _blocks("yaml") if marker in block)


def test_network_yaml_example_loads(tmp_path):
    path = tmp_path / "example.yaml"
    path.write_text(_example("layers:"))
    network = load_network(path)
    assert network["add1"].inputs == ("pw1", "skip")
    assert network.output_shape.as_tuple() == (1, 1, 10)


def test_sweep_yaml_example_loads(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(_example("grid:"))
    _, points = load_sweep(path)
    assert len(points) == 2 * 2 + 1
