"""Malformed network configs: each gets exit status 2 and one line naming file, line and field."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sim.cli import main

EDGEACCEL = Path(sys.executable).parent / "edgeaccel"

GOOD_LAYER = "  - {name: c1, kind: conv2d, out_channels: 8, kernel: 3, padding: 1}\n"
HEADER = "name: n\ninput: {height: 16, width: 16, channels: 3}\nlayers:\n"

# (id, file text, expected "LINE: FIELD" fragment, another fragment the message must contain)
CASES = [
    ("unknown-top-level-key", HEADER + GOOD_LAYER + "extra: 1\n",
     ":5: extra: unknown field", "allowed: name, input, layers"),
    ("unknown-layer-key", HEADER + "  - {name: c1, kind: conv2d, out_channels: 8, kernal: 3}\n",
     ":4: layers[0].kernal: unknown field", "kernel"),
    ("wrong-type", HEADER + "  - {name: c1, kind: conv2d, out_channels: eight, kernel: 3}\n",
     ":4: layers[0].out_channels:", "'eight'"),
    ("negative-size", "name: n\ninput:\n  height: -3\n  width: 16\n  channels: 3\nlayers:\n"
     + GOOD_LAYER, ":3: input.height:", "allowed: 1..4096"),
    ("zero-stride", HEADER + "  - {name: c1, kind: conv2d, out_channels: 8, kernel: 3,"
     " stride: 0}\n", ":4: layers[0].stride:", "must be >= 1, got 0"),
    ("missing-field", HEADER + "  - {name: c1, kind: conv2d, kernel: 3}\n",
     ":4: layers[0].out_channels: required field is missing", ""),
    ("unknown-kind", HEADER + GOOD_LAYER + "  - {name: c2, kind: conv3d}\n",
     ":5: layers[1].kind: unknown value 'conv3d'", "depthwise"),
    ("malformed-yaml", HEADER + "  - {name: c1, kind: conv2d\n",
     "malformed YAML", ""),
    ("bad-activation", HEADER + "  - {name: c1, kind: conv2d, out_channels: 8, kernel: 3,"
     " activation: gelu}\n", ":4: layers[0].activation: got 'gelu'", "relu6"),
    ("add-one-input", HEADER + GOOD_LAYER + "  - {name: s, kind: add, inputs: [c1]}\n",
     ":5: layers[1].inputs:", "at least 2"),
    ("unknown-input", HEADER + GOOD_LAYER + "  - {name: s, kind: add, inputs: [c1, nope]}\n",
     ":5: layers[1].inputs:", "reads 'nope'"),
    ("kernel-too-large", HEADER + "  - {name: c1, kind: conv2d, out_channels: 8, kernel: 17}\n",
     ":4: layers[0].kernel:", "does not fit"),
    ("add-shape-mismatch", HEADER + GOOD_LAYER
     + "  - {name: c2, kind: conv2d, out_channels: 4, kernel: 1}\n"
     + "  - {name: s, kind: add, inputs: [c1, c2]}\n",
     ":6: layers[2].inputs:", "input shapes differ"),
    ("top-level-list", "- a\n- b\n", ":1: the top level must be a mapping", ""),
    ("empty-file", "", ":1: the top level must be a mapping, found an empty file", ""),
    ("bool-as-int", HEADER + "  - {name: c1, kind: conv2d, out_channels: true, kernel: 3}\n",
     ":4: layers[0].out_channels:", "integer"),
    ("three-padding-values", HEADER + "  - {name: c1, kind: conv2d, out_channels: 8, kernel: 3,"
     " padding: [1, 1, 1]}\n", ":4: layers[0].padding:", ""),
    ("duplicate-name", HEADER + GOOD_LAYER + GOOD_LAYER,
     ":5: layers[1].name:", "duplicate tensor name 'c1'"),
    ("no-layers", HEADER.replace("layers:\n", "layers: []\n"), ":3: layers:", "at least 1"),
    ("missing-kind", HEADER + "  - {name: c1, out_channels: 8}\n",
     ":4: layers[0].kind: required field is missing", ""),
]


@pytest.mark.parametrize(("text", "where", "detail"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_malformed_config_is_one_line_and_exit_2(tmp_path, capsys, text, where, detail):
    path = tmp_path / "net.yaml"
    path.write_text(text)
    assert main(["network", "show", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(f"error: {path}")
    assert where in lines[0]
    assert detail in lines[0]


def test_missing_file(tmp_path, capsys):
    path = tmp_path / "absent.yaml"
    assert main(["network", "show", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}: file not found\n"


def test_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(CASES[1][1]))
    done = subprocess.run([str(EDGEACCEL), "network", "show", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_failed_export_leaves_no_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(CASES[0][1])
    out = tmp_path / "out.yaml"
    assert main(["network", "export", str(bad), "--out", str(out)]) == 2
    assert list(tmp_path.iterdir()) == [bad]
