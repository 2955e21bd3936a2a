"""The ``edgeaccel`` command line: acceptance figures, JSON output and one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

EDGEACCEL = Path(sys.executable).parent / "edgeaccel"


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_mobilenet_v2_224_json(capsys):
    result = run_json(capsys, "network", "show", "mobilenet_v2", "--resolution", "224", "--json")
    assert result["total_params"] == 3_504_872
    assert result["total_macs"] == 300_774_272
    assert sum(layer["macs"] for layer in result["layers"]) == result["total_macs"]
    first = result["layers"][0]
    assert set(first) >= {"name", "kind", "input_shape", "output_shape", "params", "macs"}
    assert first["input_shape"] == [224, 224, 3] and first["output_shape"] == [112, 112, 32]


def test_resnet18_json(capsys):
    result = run_json(capsys, "network", "show", "resnet18", "--json")
    assert (result["total_params"], result["total_macs"]) == (11_689_512, 1_814_073_344)


def test_resnet18_cifar100_json(capsys):
    result = run_json(capsys, "network", "show", "resnet18_cifar", "--num-classes", "100", "--json")
    assert result["total_macs"] == 555_468_800


def test_table_lists_every_layer_and_the_totals(capsys):
    assert main(["network", "show", "lightweight_cnn"]) == 0
    out = capsys.readouterr().out
    from sim.workload.zoo import lightweight_cnn
    network = lightweight_cnn()
    for info in network.infos:
        assert f"\n{info.name} " in out
    assert out.rstrip().splitlines()[-1].split()[-2:] == [
        f"{network.total_params:,}", f"{network.total_macs:,}",
    ]


def test_export_then_show_gives_the_same_json(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    argv = ["network", "export", "mobilenet_v2", "--width-mult", "0.5", "--out", str(path)]
    assert main(argv) == 0
    capsys.readouterr()
    from_file = run_json(capsys, "network", "show", str(path), "--json")
    from_zoo = run_json(capsys, "network", "show", "mobilenet_v2", "--width-mult", "0.5", "--json")
    assert from_file == from_zoo


def test_console_script_runs_and_prints_only_json():
    done = subprocess.run([str(EDGEACCEL), "network", "show", "resnet18_cifar", "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["total_macs"] == 555_422_720
    assert done.stderr == ""


def test_bad_flag_value_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["network", "show", "resnet18", "--resolution", "-4"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resolution" in err[0] and "got -4 (allowed: 1..4096)" in err[0]
