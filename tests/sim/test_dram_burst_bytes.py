"""A DRAM whose burst is less than a byte per channel is one error line, not a traceback
(found by the hardware fuzz test: 16 channels of a 32-bit bus move 2 bits per beat, and a
burst of 2 beats is 4 bits, which floors to 0 bytes)."""

from pathlib import Path

import yaml

from sim.cli import main

PRESET = Path(__file__).resolve().parents[2] / "configs" / "hardware" / "diannao.yaml"


def test_burst_under_a_byte_is_one_line(tmp_path, capsys):
    data = yaml.safe_load(PRESET.read_text())
    data["dram"].update(channels=16, bus_bits=32, burst_length=2)
    path = tmp_path / "hardware.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: {path}")
    assert "less than a byte" in error
