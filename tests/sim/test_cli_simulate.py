"""`edgeaccel simulate`: JSON keys, per-layer CSV, hardware errors."""

import csv
import io
import json
from pathlib import Path

from sim.cli import main
from sim.workload.zoo import lightweight_cnn

NANO = "configs/hardware/jetson_nano.yaml"
TOTAL_KEYS = {"macs", "dram_read_bytes", "dram_write_bytes", "dram_bytes_by_operand",
              "sram_read_bytes", "sram_write_bytes", "cycles", "compute_cycles", "stall_cycles",
              "row_hits", "row_misses", "energy_pj", "latency_s", "compulsory_bytes",
              "lower_bound_bytes", "traffic_to_bound", "dram_burst_bytes",
              "dram_burst_bytes_by_operand", "buffer_stall_cycles", "dram_stall_cycles",
              "peak_onchip_bytes", "peak_onchip_bytes_by_buffer"}


def test_json_has_the_documented_keys(capsys):
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO,
                 "--dataflow", "full", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert TOTAL_KEYS <= set(result["totals"])
    assert set(result["totals"]["dram_bytes_by_operand"]) == {"ifmap", "weight", "ofmap"}
    assert "total" in result["totals"]["energy_pj"]
    assert [layer["name"] for layer in result["layers"]] == [
        info.name for info in lightweight_cnn().infos]
    assert all(TOTAL_KEYS <= set(layer) for layer in result["layers"])
    assert set(result["totals"]["peak_onchip_bytes_by_buffer"]) == {"global"}
    assert set(result["feature_map_room"]) == {"buffer", "channels", "bytes"}


def test_a_feature_map_request_too_large_for_the_buffer_exits_2_naming_it(capsys, tmp_path):
    out = tmp_path / "layers.csv"
    assert main(["simulate", "--network", "mobilenet_v2", "--hardware", NANO, "--dataflow",
                 "full", "--buffer-channels", "64", "--per-layer", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "error: --buffer-channels: 64 channels at 224x224 ask for 3,211,264 B, but buffer "
        "'global' of jetson_nano has 262,144 B (allowed: 1..5)\n")
    assert not out.exists()


def test_per_layer_csv(tmp_path, capsys):
    path = tmp_path / "layers.csv"
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", NANO,
                 "--per-layer", str(path)]) == 0
    text = capsys.readouterr().out
    assert "DRAM traffic:" in text and "latency:" in text
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [row["name"] for row in rows][:2] == ["stem", "b1_dw"]
    assert sum(int(row["macs"]) for row in rows) == 15_932_672
    assert "energy_total_pj" in rows[0] and "energy_dram_weight_pj" in rows[0]


def test_bad_hardware_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "hw.yaml"
    bad.write_text(Path(NANO).read_text().replace("banks: 8                   # 8 banks",
                                             "banks: -8                  # 8 banks"))
    out = tmp_path / "layers.csv"
    assert main(["simulate", "--network", "lightweight_cnn", "--hardware", str(bad),
                 "--per-layer", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bad}:")
    assert "dram.banks" in err[0] and "got -8 (allowed: 1..1024)" in err[0]
    assert not out.exists()
