"""``weights experiment``: files written, one JSON document with --json, config errors."""

import argparse
import json
from pathlib import Path

import pytest
import yaml

from sim.config import ConfigError
from sim.weights.cli import CSV_NAME, SUMMARY_NAME, add_weights_commands
from sim.weights.plots import FIGURES

TINY = {
    "noise": [1.0, 2.0],
    "bit_flip_repeats": 1,
    "batch_sizes": [1, 16],
    "repeats": 1,
    "zero_skip_thresholds": [0.0],
    "models": [{"name": "tiny", "dataset": "wine", "kind": "mlp", "hidden": [4], "epochs": 2}],
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edgeaccel")
    add_weights_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv: str) -> None:
    args = _parser().parse_args(list(argv))
    args.handler(args)


def _config(tmp_path, data) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_json_prints_one_document_and_files_are_written(tmp_path, capsys):
    out = tmp_path / "out"
    _run("weights", "experiment", _config(tmp_path, TINY), "--out", str(out), "--json")
    document = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in document["models"]] == ["tiny"]
    assert json.loads((out / SUMMARY_NAME).read_text()) == document
    assert (out / CSV_NAME).read_text().startswith("model,dataset,experiment")
    for name in [*FIGURES, "zero_skip.png"]:
        assert (out / name).stat().st_size > 0


def test_table_without_json_and_no_plots(tmp_path, capsys):
    out = tmp_path / "out"
    _run("weights", "experiment", _config(tmp_path, TINY), "--out", str(out), "--no-plots")
    text = capsys.readouterr().out
    assert text.splitlines()[0].split()[:2] == ["model", "dataset"]
    assert "tiny" in text
    assert not list(out.glob("*.png"))


@pytest.mark.parametrize(("change", "field", "needle"), [
    ({"batch_sizes": [0]}, "batch_sizes[0]", "- 0"),
    ({"tolerance": 1.0}, "tolerance", "tolerance:"),
    ({"models": [{**TINY["models"][0], "kind": "rnn"}]}, "models[0].kind", "kind: rnn"),
])
def test_bad_config_raises_a_config_error_with_file_line_and_field(tmp_path, change, field,
                                                                    needle):
    data = {**TINY, **change}
    path = _config(tmp_path, data)
    with pytest.raises(ConfigError) as error:
        _run("weights", "experiment", path, "--out", str(tmp_path / "out"))
    assert error.value.field == field
    # the reported line is the one holding the offending key or value
    text = Path(path).read_text().splitlines()
    assert error.value.line is not None
    assert needle in text[error.value.line - 1]


def test_a_cnn_needs_an_image_dataset(tmp_path):
    data = {**TINY, "models": [{"name": "c", "dataset": "wine", "kind": "cnn",
                                "channels": [2], "epochs": 1}]}
    with pytest.raises(ConfigError, match="image dataset"):
        _run("weights", "experiment", _config(tmp_path, data), "--out", str(tmp_path / "o"))


def test_batch_sizes_must_increase(tmp_path):
    data = {**TINY, "batch_sizes": [4, 2]}
    with pytest.raises(ConfigError, match="strictly increasing"):
        _run("weights", "experiment", _config(tmp_path, data), "--out", str(tmp_path / "o"))


def test_outputs_are_written_all_or_none(tmp_path):
    # A folder standing where one figure goes: the command stops before renaming anything, so
    # neither the tables nor the other figures appear.
    out = tmp_path / "out"
    (out / "bit_flip.png").mkdir(parents=True)
    with pytest.raises(ConfigError, match="bit_flip.png"):
        _run("weights", "experiment", _config(tmp_path, TINY), "--out", str(out))
    assert sorted(path.name for path in out.iterdir()) == ["bit_flip.png"]
