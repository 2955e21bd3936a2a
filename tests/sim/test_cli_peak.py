"""`edgeaccel peak-mem` and `edgeaccel tunnel-design`: acceptance figures, plots, errors."""

import json

import pytest
from matplotlib.image import imread

from sim.cli import main
from sim.units import parse_bytes


def run_json(capsys, *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("dtype", "expected"), [("fp32", 5_619_712), ("int8", 1_404_928)])
def test_mobilenet_v2_peak_acceptance(capsys, dtype, expected):
    result = run_json(capsys, "peak-mem", "--network", "mobilenet_v2", "--resolution", "224",
                      "--dtype", dtype, "--json")
    assert result["peak_bytes"] == expected
    assert result["peak_layer"] == "b2_expand"
    assert result["extra_macs"] == 0
    assert max(layer["live_bytes"] for layer in result["per_layer"]) == expected


def test_no_inplace_depthwise(capsys):
    result = run_json(capsys, "peak-mem", "--network", "mobilenet_v2", "--dtype", "fp32",
                      "--no-inplace-depthwise", "--json")
    assert result["peak_bytes"] == 6_021_120


def test_patches_by_layer_name_or_count_agree(capsys):
    by_name = run_json(capsys, "peak-mem", "--network", "mobilenet_v2", "--patches", "4",
                       "--patch-layers", "b4_project", "--json")
    count = by_name["patches"]["stage_layers"]
    by_count = run_json(capsys, "peak-mem", "--network", "mobilenet_v2", "--patches", "4",
                        "--patch-layers", str(count), "--json")
    assert by_name == by_count
    assert by_name["peak_bytes"] < 1_404_928 and by_name["extra_macs"] > 0


def test_tunnels_and_reordering(capsys):
    result = run_json(capsys, "peak-mem", "--network", "mobilenet_v2", "--tunnels", "4",
                      "--margin", "18", "--central", "--reorder-bottleneck", "--json")
    assert result["tunnels"]["count"] == 5
    assert result["tunnels"]["patch_shape"] == [130, 130, 3]


def test_plot_is_written_with_a_budget_line(tmp_path, capsys):
    path = tmp_path / "fig1.png"
    result = run_json(capsys, "peak-mem", "--network", "mobilenet_v2", "--plot", str(path),
                      "--budget", "256KB", "--json")
    assert result["fits_budget"] is False and result["budget_bytes"] == 256_000
    image = imread(path)
    assert image.shape[0] > 400 and image.shape[1] > 1000
    assert image.std() > 0.05  # not a blank canvas


def test_bad_patch_stage_is_one_line_exit_2(capsys):
    code = main(["peak-mem", "--network", "resnet18_cifar", "--patches", "2",
                 "--patch-layers", "layer1_0_conv1"])
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: --patches:")
    assert "allowed:" in err[0] and "layer1_0_add" in err[0]


def test_margin_without_tunnels_is_rejected(capsys):
    assert main(["peak-mem", "--network", "mobilenet_v2", "--margin", "4"]) == 2
    assert "--tunnels only" in capsys.readouterr().err


def test_tunnel_design_acceptance(capsys):
    result = run_json(capsys, "tunnel-design", "--budget", "256KB", "--resolution", "224",
                      "--k", "4", "--margin", "18", "--dtype", "int8", "--json")
    assert result["peak_bytes"] <= 256_000
    assert result["tunnels"]["count"] == 5  # central patch on by default
    margins = {row["margin"]: row for row in result["margin_table"]}
    assert sorted(margins) == [0, 5, 10, 18]
    assert margins[18]["peak_bytes_int8"] == result["peak_bytes"]
    peaks = [margins[m]["peak_bytes_int8"] for m in (0, 5, 10, 18)]
    assert peaks == sorted(peaks) and peaks[0] < peaks[-1]


def test_tunnel_design_table_and_yaml(tmp_path, capsys):
    out = tmp_path / "tunnel.yaml"
    assert main(["tunnel-design", "--budget", "256KiB", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "peak memory vs margin" in text and "budget: 262,144 B" in text
    assert run_json(capsys, "network", "show", str(out), "--json")["layers"][0]["name"] == "stem"


def test_tunnel_design_impossible_budget(capsys):
    assert main(["tunnel-design", "--budget", "10KB"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --budget: no design fits") and err.count("\n") == 1


@pytest.mark.parametrize(("text", "expected"), [("256KB", 256_000), ("256KiB", 262_144),
                                                ("1.5MB", 1_500_000), ("4096", 4096)])
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["256kb!", "-3", "0.5B", "12 parsecs"])
def test_parse_bytes_rejects(text):
    with pytest.raises(ValueError, match="expected"):
        parse_bytes(text)
