"""`edgeaccel map` and `simulate --mapping`: the mapping file round-trips, and an edited
mapping that does not fit, or names what is not there, exits 2 with one line."""

import json

import pytest
import yaml

from sim.cli import OBJECTIVES as CLI_OBJECTIVES
from sim.cli import main
from sim.mapper.search import OBJECTIVES

NANO = "configs/hardware/jetson_nano.yaml"


@pytest.fixture(scope="module")
def mapping_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("map") / "mapping.yaml"
    assert main(["map", "--network", "lightweight_cnn", "--hardware", NANO, "--out",
                 str(path)]) == 0
    return path


def _simulate(capsys, *flags):
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO, "--json",
                 *flags]) == 0
    result = json.loads(capsys.readouterr().out)
    for key in ("dataflow", "mapping", "objective"):
        result.pop(key, None)
    return result


def test_the_cli_objectives_are_the_searchs():
    assert CLI_OBJECTIVES == OBJECTIVES


def test_simulate_mapping_gives_what_auto_gives(mapping_file, capsys):
    """The file written by `map` runs to the very same counts as `--dataflow auto`."""
    auto = _simulate(capsys, "--dataflow", "auto")
    mapped = _simulate(capsys, "--mapping", str(mapping_file))
    assert mapped["totals"] == auto["totals"]
    assert mapped["layers"] == auto["layers"]


def _edited(mapping_file, tmp_path, change):
    data = yaml.safe_load(mapping_file.read_text())
    change(data)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_a_mapping_missing_a_layer_exits_2_naming_it(mapping_file, tmp_path, capsys):
    def keep_only_the_stem(data):
        data.update(resident=[], reordered=[], layers=[{"layer": "stem", "tile": [32, 32]}])

    path = _edited(mapping_file, tmp_path, keep_only_the_stem)
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO,
                 "--mapping", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}")
    assert "layer 'b1_dw' has no mapping" in err


def test_a_tile_too_big_for_the_buffer_names_the_layer_and_buffer(tmp_path, capsys):
    """Hand count: one 3x3 conv, 112x112x3 -> 112x112x32 int8, as one 112x112 tile needs a
    37,632 B input window and a 401,408 B output: more than jetson_nano's 262,144 B global
    buffer; as 16 x 112 row bands (6,048 B + 57,344 B, twice each, + 896 B weights) it fits."""
    network = tmp_path / "one.yaml"
    network.write_text("name: one\ninput: {height: 112, width: 112, channels: 3}\nlayers:\n"
                       "- {name: conv, kind: conv2d, out_channels: 32, kernel: 3, padding: 1}\n")
    mapping = tmp_path / "mapping.yaml"

    def write(rows):
        mapping.write_text(
            "network: one\nhardware: jetson_nano\ndtype: int8\nlayers:\n"
            f"  - {{layer: conv, tile: [{rows}, 112]}}\n")

    write(16)
    assert main(["simulate", "--network", str(network), "--hardware", NANO, "--mapping",
                 str(mapping)]) == 0
    capsys.readouterr()
    write(112)
    assert main(["simulate", "--network", str(network), "--hardware", NANO, "--mapping",
                 str(mapping)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: {mapping}:5: layers[0]: layer 'conv' does not fit: its tiles "
                   "overfill buffer 'global'\n")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(network="resnet18"), "the mapping is for network 'resnet18'"),
    (lambda d: d.update(dtype="fp32"), "the mapping is for fp32"),
    (lambda d: d["layers"][0].update(layer="nope"), "no layer 'nope'"),
    (lambda d: d["layers"][0].update(tile=[0, 4]), "got 0"),
    (lambda d: d["layers"][0].update(stationary="output", input_channel_blocks=1),
     "input_channel_blocks >= 2"),
    (lambda d: d.update(reordered=["b99"]), "no inverted-residual block 'b99'"),
    (lambda d: d.update(resident=["fc"]), "no layer output 'fc' to keep on chip"),
])
def test_malformed_mappings_exit_2_with_one_line(mapping_file, tmp_path, capsys, change,
                                                 message):
    path = _edited(mapping_file, tmp_path, change)
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO,
                 "--mapping", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_mapping_with_dataflow_is_refused(mapping_file, capsys):
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO,
                 "--mapping", str(mapping_file), "--dataflow", "full"]) == 2
    assert "--mapping" in capsys.readouterr().err


def test_map_json_reports_every_layer_with_its_bound_and_best_fixed(capsys):
    assert main(["map", "--network", "lightweight_cnn", "--hardware", NANO, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [row["layer"] for row in report["layers"]]
    assert len(names) == len(set(names)) > 30
    for row in report["layers"]:
        assert row["dram_burst_bytes"] >= 0 and row["lower_bound_bytes"] >= 0
        assert row["best_fixed_dataflow"] in ("layerwise", "tiled/16", "tiled/32", "buffered",
                                              "full/16", "full/32")
    # Per unit, auto moves no more than the best fixed run (the dominance tests count the
    # fixed runs' tiles themselves); the units cover every layer once.
    assert [name for unit in report["units"] for name in unit["layers"]] == names
    for unit in report["units"]:
        assert unit["dram_burst_bytes"] <= unit["best_fixed_bytes"], unit
        assert unit["dram_burst_bytes"] == sum(row["dram_burst_bytes"] for row in report["layers"]
                                               if row["layer"] in unit["layers"])


def test_a_missing_mapping_file_exits_2(tmp_path, capsys):
    missing = tmp_path / "none.yaml"
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO,
                 "--mapping", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: {missing}: file not found\n"


def test_map_plot_writes_the_figure(tmp_path, capsys):
    figure = tmp_path / "map.png"
    assert main(["map", "--network", "lightweight_cnn", "--hardware", NANO, "--plot",
                 str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"



SHORTCUT_NETWORK = ("name: shortcut\ninput: {height: 16, width: 16, channels: 64}\nlayers:\n"
                    "- {name: down, kind: conv2d, out_channels: 128, kernel: 1, stride: 2}\n")


def test_a_gathered_mapping_round_trips(tmp_path, capsys):
    """A 1x1 stride-2 shortcut with 64 B pixels on jetson_nano (32 B bursts): `map` gathers
    its windows and writes gather: true, and `simulate --mapping` on that file gives what
    `--dataflow auto` gives."""
    network = tmp_path / "shortcut.yaml"
    network.write_text(SHORTCUT_NETWORK)
    mapping = tmp_path / "mapping.yaml"
    assert main(["map", "--network", str(network), "--hardware", NANO, "--out",
                 str(mapping)]) == 0
    (entry,) = yaml.safe_load(mapping.read_text())["layers"]
    assert entry["layer"] == "down" and entry["gather"] is True
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("down")]
    assert ", gathered" in row

    def run(*flags):
        assert main(["simulate", "--network", str(network), "--hardware", NANO, "--json",
                     *flags]) == 0
        result = json.loads(capsys.readouterr().out)
        return result["totals"], result["layers"]

    assert run("--mapping", str(mapping)) == run("--dataflow", "auto")


def test_gather_on_a_layer_that_reads_every_pixel_exits_2_naming_layer_and_field(
        tmp_path, capsys):
    """gather: true on a 3x3 stride-1 layer is refused, not silently dropped: the file asks
    for something that layer cannot do (no pixel of its windows goes unread)."""
    network = tmp_path / "one.yaml"
    network.write_text("name: one\ninput: {height: 8, width: 8, channels: 4}\nlayers:\n"
                       "- {name: conv, kind: conv2d, out_channels: 4, kernel: 3, padding: 1}\n")
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("network: one\nhardware: jetson_nano\ndtype: int8\nlayers:\n"
                       "  - {layer: conv, tile: [8, 8], gather: true}\n")
    assert main(["simulate", "--network", str(network), "--hardware", NANO, "--mapping",
                 str(mapping)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"error: {mapping}:5: layers[0].gather: gather: true needs a "
                            "layer whose kernel is smaller than its stride; layer 'conv' "
                            "reads every input row and column of its windows (allowed: "
                            "false)\n")
