"""`edgeaccel rtl generate`: every spec in configs/rtl compiles warning-free with Icarus, the
manifest lists exactly the module's ports, and bad specs give one clear line."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "configs" / "rtl").glob("*.yaml"))


def module_ports(verilog: str, module: str) -> list[str]:
    header = re.search(rf"^module {re.escape(module)}\((.*?)\);", verilog, re.S | re.M)
    assert header, f"module {module} not found"
    return [name.strip() for name in header.group(1).split(",")]


@pytest.mark.parametrize("spec", SPECS, ids=[spec.stem for spec in SPECS])
def test_spec_generates_clean_verilog_and_manifest(spec, tmp_path, capsys):
    assert shutil.which("iverilog"), "Icarus Verilog is needed (make test installs it)"
    assert main(["rtl", "generate", str(spec), "--out", str(tmp_path), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest == json.loads((tmp_path / "manifest.json").read_text())
    verilog_file = tmp_path / manifest["verilog"]
    verilog = verilog_file.read_text()
    assert sorted(module_ports(verilog, manifest["module"])) == sorted(
        port["name"] for port in manifest["ports"])
    compiled = subprocess.run(["iverilog", "-g2012", "-Wall", "-o", str(tmp_path / "a.out"),
                               str(verilog_file)], capture_output=True, text=True)
    assert compiled.returncode == 0 and compiled.stderr == "" and compiled.stdout == ""
    assert manifest["latency"]


def test_module_names_differ_per_configuration(tmp_path, capsys):
    names = set()
    for spec in SPECS:
        main(["rtl", "generate", str(spec), "--out", str(tmp_path / spec.stem), "--json"])
        names.add(json.loads(capsys.readouterr().out)["module"])
    assert len(names) == len(SPECS)


def test_conv_engine_manifest_states_its_parameters(tmp_path, capsys):
    main(["rtl", "generate", str(ROOT / "configs/rtl/conv_engine_4x4.yaml"), "--out",
          str(tmp_path), "--json"])
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["parameters"]["rows"] == 4 and manifest["parameters"]["cols"] == 4
    ports = {port["name"]: port for port in manifest["ports"]}
    assert ports["activations__payload"]["width"] == 8 * 8   # 8 int8 channels per pixel
    assert ports["outputs__payload"]["width"] == 4 * 8       # 4 int8 filters per word
    assert ports["weights__payload"]["width"] == 4 * 8 + 1   # 4 int8 lanes + last
    assert ports["zero_point"]["signed"]
    assert "overlapped_os_cycles" in manifest["latency"]


BAD_SPECS = [
    ("component: gpu\n", "component", "mac_pe"),
    ("component: conv_engine\narray: {rows: 4, cols: 4}\n", "", "needs a 'tile' section"),
    ("component: mac_pe\narray: {rows: 4, cols: 4}\n", "", "takes no 'array' section"),
    ("component: systolic_array\narray: {rows: 0, cols: 4}\n", "array.rows", "> 0"),
    ("component: systolic_array\narray: {rows: 4, cols: 4, dataflow: rs}\n", "array.dataflow",
     "os"),
    ("component: mac_pe\ndata: {activation_bits: 4}\n", "data.activation_bits", "8"),
    ("component: mac_pe\nname: 2fast\n", "name", "Verilog identifier"),
    ("component: ping_pong_buffer\nbuffers: {depth: 8}\n", "", "word_bits"),
    ("component: mac_pe\ndata: {accumulator_bits: 32, colour: red}\n", "data.colour",
     "activation_bits"),
    # Every field at its own maximum would not elaborate in reasonable time: the module as a
    # whole is limited. 64 x 64 = 4,096 PEs; 8 banks x 65,536 words x 32 bits = 16,777,216
    # bits of weight buffer alone.
    ("component: systolic_array\narray: {rows: 64, cols: 64}\n", "", "allowed: at most 1,024"),
    ("component: ping_pong_buffer\nbuffers: {depth: 65536, banks: 8, word_bits: 32}\n", "",
     "16,777,216 bits"),
    ("component: line_buffer\ntile: {max_height: 8, max_width: 4096, max_channels: 64}\n"
     "kernels: {max_kernel: 7}\n", "", "allowed: at most 1,048,576 bits"),
    # 2 banks x 32 windows x 49 pixels x 64 channels x 8 bits = 1,605,632 register bits.
    ("component: conv_engine\narray: {rows: 32, cols: 32}\n"
     "tile: {max_height: 8, max_width: 8, max_channels: 64}\nkernels: {max_kernel: 7}\n"
     "buffers: {depth: 8}\n", "", "1,605,632 bits"),
]


@pytest.mark.parametrize(("text", "field", "hint"), BAD_SPECS)
def test_bad_spec_is_one_line_with_exit_2(text, field, hint, tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    out = tmp_path / "out"
    assert main(["rtl", "generate", str(spec), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: {spec}:")
    assert field in error and hint in error
    assert not out.exists()


def test_verilog_and_manifest_are_written_both_or_neither(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "manifest.json").mkdir(parents=True)
    assert main(["rtl", "generate", "configs/rtl/mac_pe.yaml", "--out", str(out)]) == 2
    assert "manifest.json" in capsys.readouterr().err
    assert sorted(path.name for path in out.iterdir()) == ["manifest.json"]
