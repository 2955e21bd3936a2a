"""Hardware presets by name from any directory, in a checkout and in a normal install."""

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from sim import presets
from sim.cli import main
from sim.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.stem for p in (ROOT / "configs" / "hardware").glob("*.yaml"))


def test_simulate_finds_a_preset_by_name_from_another_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", "jetson_nano",
                 "--json"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    path = ROOT / "configs" / "hardware" / "jetson_nano.yaml"
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", str(path),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == by_name


def test_checkout_relative_preset_path_works_outside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = presets.hardware_path("configs/hardware/diannao.yaml")
    assert found == ROOT / "configs" / "hardware" / "diannao.yaml"


def test_sweep_names_presets(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: s\nbase: {network: lightweight_cnn, hardware: jetson_nano, dataflow: tiled}\n"
        "grid:\n  hardware: [jetson_nano, diannao]\n")
    assert main(["sweep", "s.yaml", "--out", "out", "--executor", "inline", "--no-plots",
                 "--json"]) == 0
    hardware = {row["hardware"] for row in json.loads(capsys.readouterr().out)["results"]}
    assert hardware == {"jetson_nano", "diannao"}


def test_unknown_preset_lists_the_shipped_ones():
    with pytest.raises(ConfigError) as caught:
        presets.hardware_path("jetson_nanoo")
    assert caught.value.allowed.startswith(", ".join(SHIPPED))


def test_a_normal_install_ships_every_preset_and_finds_it(tmp_path, monkeypatch):
    """pyproject's data-files glob covers every preset; the lookup reads PREFIX/share/..."""
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "data-files"]
    shipped = sorted(Path(p).stem for pattern in data_files["share/edgeaccel/hardware"]
                     for p in ROOT.glob(pattern))
    assert shipped == SHIPPED
    installed = tmp_path / "share" / "edgeaccel" / "hardware"
    installed.mkdir(parents=True)
    for name in SHIPPED:
        shutil.copy(ROOT / "configs" / "hardware" / f"{name}.yaml", installed)
    monkeypatch.setattr(presets, "_CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(presets, "_INSTALLED", [installed])
    assert presets.preset_names() == SHIPPED
    assert presets.hardware_path("eyeriss") == installed / "eyeriss.yaml"
