"""`edgeaccel rtl generate HARDWARE.yaml`: the hardware file `simulate` reads is also the spec
of the generated engine. Expected sizes are worked by hand from the preset's numbers."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.hardware import load_hardware

ROOT = Path(__file__).resolve().parents[2]
HARDWARE = ROOT / "configs" / "hardware"
GENERATED = ("fpga_4x4_os", "fpga_4x4_ws", "diannao_mini", "fpga_4x4_os_db")


@pytest.mark.parametrize("preset", GENERATED)
def test_preset_is_generated_clean_and_simulated(preset, tmp_path, capsys):
    path = HARDWARE / f"{preset}.yaml"
    assert main(["rtl", "generate", str(path), "--out", str(tmp_path), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert shutil.which("iverilog"), "Icarus Verilog is needed (make test installs it)"
    compiled = subprocess.run(["iverilog", "-g2012", "-Wall", "-o", str(tmp_path / "a.out"),
                               str(tmp_path / manifest["verilog"])],
                              capture_output=True, text=True)
    assert compiled.returncode == 0 and compiled.stderr == "" and compiled.stdout == ""
    hardware = load_hardware(path)
    assert manifest["parameters"]["rows"] == hardware.pe_array.rows
    assert manifest["parameters"]["cols"] == hardware.pe_array.cols
    for use in manifest["buffers"]:
        assert 0 < use["used_bytes"] <= use["declared_bytes"]
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", str(path),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["cycles"] > 0


def test_weight_stationary_preset_sizes_by_hand(tmp_path, capsys):
    """fpga_4x4_ws: ifmap = the pixel being assembled 8 B and the input tile memory in the
    2,056 - 8 = 2,048 B left: 256 pixels (no line buffer: the engine reads the tile memory);
    ofmap = accumulator memory 256 pixels x 4 lanes x 4 B = 4,096 B + bias and held sums
    2 x 4 x 4 B = 32 B + output queue 12 B + output tile memory (6,188 - 4,140) / 4 = 512
    words."""
    main(["rtl", "generate", str(HARDWARE / "fpga_4x4_ws.yaml"), "--out", str(tmp_path / "a"),
          "--json"])
    manifest = json.loads(capsys.readouterr().out)
    used: dict[str, int] = {}
    for use in manifest["buffers"]:
        used[use["buffer"]] = used.get(use["buffer"], 0) + use["used_bytes"]
    assert used == {"ifmap": 8 + 256 * 8, "weight": 2 * 288 * 4,
                    "ofmap": 4096 + 32 + 12 + 512 * 4}
    parameters = manifest["parameters"]
    assert (parameters["dataflow"], parameters["accumulator_depth"], parameters["input_depth"],
            parameters["output_depth"]) == ("ws", 256, 256, 512)


def test_fpga_preset_sizes_by_hand(tmp_path, capsys):
    """4x4 array, bands up to 18 x 18 padded x 8 channels, 3x3: ifmap = pixel registers
    (1 assembled + 3 queued) x 8 B = 32 B + line buffer 2 rows x (18 + 4) pixels x 8 B = 352 B
    + windows 2 banks x 4 rows x 9 pixels x 8 B = 576 B, and the input tile memory in the
    3,008 - 960 = 2,048 B left: 256 pixels; weight banks 2,304 B / 2 / 4 B per word = 288
    words; ofmap = result registers 2 x 4 x 4 x 4 B = 128 B + bias registers 4 x 4 lanes x 4 B
    = 64 B + output queue 3 x 4 B = 12 B + output tile memory (2,252 - 204) / 4 = 512 words."""
    main(["rtl", "generate", str(HARDWARE / "fpga_4x4_os.yaml"), "--out", str(tmp_path / "a"),
          "--json"])
    manifest = json.loads(capsys.readouterr().out)
    used: dict[str, int] = {}
    for use in manifest["buffers"]:
        used[use["buffer"]] = used.get(use["buffer"], 0) + use["used_bytes"]
    assert used == {"ifmap": 32 + 352 + 576 + 256 * 8, "weight": 2 * 288 * 4,
                    "ofmap": 128 + 64 + 12 + 512 * 4}
    assert manifest["component"] == "dram_conv_engine"
    parameters = manifest["parameters"]
    assert (parameters["input_depth"], parameters["output_depth"],
            parameters["weight_depth"]) == (256, 512, 288)
    ports = {port["name"] for port in manifest["ports"]}
    assert {"read_request__payload", "read_data__payload", "write_request__payload",
            "write_data__payload", "write_ack__valid", "input_address", "band_rows",
            "block_filters"} <= ports


def test_double_buffered_preset_sizes_by_hand(tmp_path, capsys):
    """fpga_4x4_os_db: pixels of 64 channels = 64 B; ifmap = pixel registers 4 x 64 B = 256 B
    + line buffer 2 x (18 + 4) x 64 B = 2,816 B + windows 2 x 4 x 9 x 64 B = 4,608 B, and
    two input tile memories in the 15,872 - 7,680 = 8,192 B left: 2 x 64 pixels; weight banks
    5,120 / 2 / 4 = 640 words; ofmap = 204 B of registers as fpga_4x4_os and two output tile
    memories in the 2,252 - 204 = 2,048 B left: 2 x 256 words of 4 B. Both banks of each
    double-buffered memory lie inside the declared size."""
    main(["rtl", "generate", str(HARDWARE / "fpga_4x4_os_db.yaml"), "--out",
          str(tmp_path / "a"), "--json"])
    manifest = json.loads(capsys.readouterr().out)
    used: dict[str, int] = {}
    for use in manifest["buffers"]:
        used[use["buffer"]] = used.get(use["buffer"], 0) + use["used_bytes"]
    assert used == {"ifmap": 256 + 2816 + 4608 + 2 * 64 * 64, "weight": 2 * 640 * 4,
                    "ofmap": 128 + 64 + 12 + 2 * 256 * 4}
    holds = {use["holds"] for use in manifest["buffers"]}
    assert "input tile memories: 2 x 64 pixels of 64 B" in holds
    assert "output tile memories: 2 x 256 words of 4 B" in holds
    parameters = manifest["parameters"]
    assert (parameters["input_depth"], parameters["output_depth"], parameters["weight_depth"],
            parameters["double_input"], parameters["double_output"]) == (64, 256, 640, True,
                                                                         True)


def test_rtl_fields_stay_out_of_the_simulation_config():
    """The RTL-only sections do not enter what `simulate` hashes, so the existing presets
    (which have none) keep their config and numbers."""
    for preset in ("jetson_nano", "diannao", "eyeriss", *GENERATED):
        dumped = load_hardware(HARDWARE / f"{preset}.yaml").model_dump(by_alias=True)
        assert "rtl" not in dumped and "data" not in dumped


def _edited(tmp_path: Path, preset: str, edit) -> Path:
    data = yaml.safe_load((HARDWARE / f"{preset}.yaml").read_text())
    edit(data)
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _drop_rtl(data):
    del data["rtl"]


def _small_ifmap(data):   # 960 B beside the tile memory, which needs one row of 18 x 8 B
    data["buffers"]["ifmap"]["size_bytes"] = 960 + 18 * 8 - 1


def _small_ofmap(data):      # 128 + 64 + 12 B of registers and 4 words of 4 B at least
    data["buffers"]["ofmap"]["size_bytes"] = 128 + 64 + 12 + 4 * 4 - 1


def _odd_channels(data):
    data["rtl"]["max_channels"] = 6


def _single_weight(data):
    data["buffers"]["weight"]["double_buffered"] = False


def _small_weight(data):   # one bank must hold 4 bias words + 3 x 3 x 8 = 72 words of 4 B
    data["buffers"]["weight"]["size_bytes"] = 2 * 76 * 4 - 1


def _big_kernel(data):
    data["rtl"]["max_kernel"] = 8


def _input_stationary(data):
    data["pe_array"]["dataflow"] = "is"


def _no_accumulators(data):
    del data["rtl"]["accumulator_pixels"]


def _double_ws_ifmap(data):
    data["buffers"]["ifmap"]["double_buffered"] = True


def _os_accumulators(data):
    data["rtl"]["accumulator_pixels"] = 64


BAD = [
    ("jetson_nano", None, "pe_array.kind", "systolic"),
    ("eyeriss", None, "rtl", "max_height"),    # ws, generated once it gives an rtl section
    ("fpga_4x4_os", _input_stationary, "pe_array.dataflow", "os, os-overlap, ws"),
    ("fpga_4x4_os", _drop_rtl, "rtl", "max_height"),
    ("fpga_4x4_os", _small_ifmap, "buffers.ifmap.size_bytes", "at least 1,104"),
    ("fpga_4x4_os", _small_ofmap, "buffers.ofmap.size_bytes", "at least 220"),
    ("fpga_4x4_os", _odd_channels, "rtl.max_channels", "a multiple of 4"),
    ("fpga_4x4_os", _single_weight, "buffers.weight.double_buffered", "true"),
    ("fpga_4x4_os", _small_weight, "buffers.weight.size_bytes", "at least 608"),
    ("fpga_4x4_os", _big_kernel, "rtl.max_kernel", "1..7"),
    ("fpga_4x4_ws", _no_accumulators, "rtl.accumulator_pixels", "accumulator memory"),
    ("fpga_4x4_os", _os_accumulators, "rtl.accumulator_pixels", "dataflow: ws"),
    ("fpga_4x4_ws", _double_ws_ifmap, "buffers.ifmap.double_buffered", "false"),
]


@pytest.mark.parametrize(("preset", "edit", "field", "hint"), BAD)
def test_hardware_the_engine_cannot_be_is_one_line(preset, edit, field, hint, tmp_path,
                                                    capsys):
    path = HARDWARE / f"{preset}.yaml" if edit is None else _edited(tmp_path, preset, edit)
    out = tmp_path / "out"
    assert main(["rtl", "generate", str(path), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: {path}")
    assert f": {field}: " in error and hint in error
    assert not out.exists()


def test_a_preset_is_named_as_simulate_names_it(tmp_path, capsys):
    assert main(["rtl", "generate", "fpga_4x4_os", "--out", str(tmp_path), "--json"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert by_name["spec"] == str(HARDWARE / "fpga_4x4_os.yaml")
    assert by_name["component"] == "dram_conv_engine"
