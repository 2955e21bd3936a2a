"""SCALE-Sim import: rows, output sizes, depthwise rows, configs, errors, and simulation of the
imported ResNet-18 topology."""

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.config import ConfigError
from sim.hardware import load_hardware
from sim.importers.scalesim import (
    read_config,
    read_rows,
    read_table,
    read_topology_csv,
    row_network,
    scalesim_output_size,
    sram_access_pj,
    unthrottled_banks,
)
from sim.importers.topology import load_topology
from sim.mapping import systolic_cycles
from sim.workload.zoo import ZOO

ROOT = Path(__file__).resolve().parents[3]
RESNET = ROOT / "configs" / "scalesim" / "resnet18.csv"
CONFIG = ROOT / "configs" / "scalesim" / "eyeriss_like.cfg"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, " \
         "Num Filter, Strides,\n"


def write(tmp_path: Path, text: str, name: str = "topo.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_resnet18_topology_has_the_zoo_macs():
    topology = read_topology_csv(RESNET)
    assert len(topology.networks) == 21
    assert topology.total_macs == ZOO["resnet18"].build().total_macs == 1_814_073_344


def test_output_size_conventions():
    # (H - R) a multiple of s: both conventions agree.
    assert scalesim_output_size(58, 3, 1) == 56 == (58 - 3) // 1 + 1
    # 230 x 230, 7 x 7, stride 2: the convolution has 112 outputs, SCALE-Sim counts 113.
    assert scalesim_output_size(230, 7, 2) == 113
    conv1 = read_rows(RESNET)[0]
    assert conv1.output_size == (112, 112)
    assert conv1.scalesim_pixels == 113 * 113
    assert row_network(conv1).total_macs == 112 * 112 * 7 * 7 * 3 * 64


def test_depthwise_rows_take_the_previous_filters(tmp_path):
    path = write(tmp_path, HEADER + "pw, 16, 16, 1, 1, 8, 32, 1,\n"
                                    "conv_dw, 18, 18, 3, 3, 1, 1, 1,\n")
    pointwise, depthwise = read_topology_csv(path).networks
    assert depthwise.input_shape.channels == 32
    assert depthwise.total_macs == 16 * 16 * 9 * 32
    assert depthwise.total_params == 9 * 32


def test_scalesim3_depthwise_rows_carry_their_channels(tmp_path):
    path = write(tmp_path, HEADER + "conv_DP_1, 18, 18, 3, 3, 32, 2, 2,\n")
    (network,) = read_topology_csv(path).networks
    assert network.layers[0].kind == "depthwise" and network.layers[0].multiplier == 2
    assert network.total_macs == 8 * 8 * 9 * 64


@pytest.mark.parametrize(("text", "line", "field"), [
    ("Layer, H\n", 1, ""),
    (HEADER + "a, 8, 8, 3, 3, 4, 4\n", 2, ""),
    (HEADER + "a, 8, 8, 3, x, 4, 4, 1,\n", 2, "Filter Width"),
    (HEADER + "a, 8, 8, 3, 3, 4, 0, 1,\n", 2, "Num Filter"),
    (HEADER + "a, 8, 8, 3, 3, 4, 4, 1,\nb, 2, 8, 3, 3, 4, 4, 1,\n", 3, "Filter Height"),
    (HEADER + "a, 8, 8, 3, 3, 4, 4, 1, 7,\n", 2, ""),   # a ninth value under no column
    (HEADER + "first_dw, 8, 8, 3, 3, 1, 1, 1,\n", 2, "Channels"),
    (HEADER, 1, ""),
])
def test_bad_rows_name_the_line_and_column(tmp_path, text, line, field):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        read_rows(path)
    assert error.value.line == line and error.value.field == field
    assert str(error.value).startswith(f"{path}:{line}:")


def test_config_becomes_loadable_hardware(tmp_path):
    config = read_config(CONFIG)
    assert config["arrayheight"] == 12 and config["arraywidth"] == 14
    assert config["dataflow"] == "ws" and config["bandwidth"] == 10
    out = tmp_path / "topology.yaml"
    hardware_out = tmp_path / "hw.yaml"
    assert main(["import", "scalesim", str(RESNET), "--config", str(CONFIG), "--out", str(out),
                 "--hardware-out", str(hardware_out)]) == 0
    hardware = load_hardware(hardware_out)
    assert (hardware.pe_array.rows, hardware.pe_array.cols) == (12, 14)
    assert hardware.buffers.for_operand("ifmap").size_bytes == 54 * 1024
    assert hardware.buffers.for_operand("weight").read_pj == sram_access_pj(36 * 1024)
    assert load_topology(out).total_macs == 1_814_073_344


def test_buffers_keep_up_with_the_array_as_scalesim_assumes(tmp_path, capsys):
    """SCALE-Sim's fold model never waits for an SRAM. The imported buffers read and write,
    per cycle, 4 B for each PE of the longer edge (a ws array's partial sums are read back and
    written every cycle) plus the DRAM's peak rate: worked by hand for the 12 x 14 config and
    LPDDR4-3200 x 4 channels of 64 bits (25.6 GB/s at 1 GHz = 25.6 B per cycle):
    ceil((14 * 2 * 4 + 25.6) / 8) = ceil(17.2) = 18 banks of 64 bits; 32 x 32:
    ceil((32 * 2 * 4 + 25.6) / 8) = ceil(35.2) = 36. Every layer of the imported ResNet-18 then
    runs without a buffer stall (with one bank, as imported before, it stalled)."""
    assert unthrottled_banks(12, 14, 25.6) == 18
    assert unthrottled_banks(32, 32, 25.6) == 36
    hardware_out = tmp_path / "hw.yaml"
    main(["import", "scalesim", str(RESNET), "--config", str(CONFIG), "--out",
          str(tmp_path / "t.yaml"), "--hardware-out", str(hardware_out)])
    hardware = load_hardware(hardware_out)
    assert {buffer.banks for buffer in hardware.buffers.declared().values()} == {18}
    capsys.readouterr()
    assert main(["simulate", "--network", str(RESNET), "--hardware", str(hardware_out),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["totals"]["buffer_stall_cycles"] == 0
    assert result["totals"]["compute_cycles"] > 0


def test_sram_energy_interpolates_its_sources():
    assert sram_access_pj(8 * 1024) == 10.0
    assert sram_access_pj(32 * 1024) == 20.0
    assert sram_access_pj(1024 * 1024) == 100.0
    assert 10.0 < sram_access_pj(16 * 1024) < 20.0


@pytest.mark.parametrize(("text", "field"), [
    ("[general]\nrun_name = x\n", ""),
    ("[architecture_presets]\nArrayHeight: 8\n", "architecture_presets.ArrayWidth"),
    ("[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 8\n"
     "FilterSramSzkB: 8\nOfmapSramSzkB: 8\nDataflow: rs\n", "architecture_presets.Dataflow"),
    ("[architecture_presets]\nArrayHeight: eight\nArrayWidth: 8\nIfmapSramSzkB: 8\n"
     "FilterSramSzkB: 8\nOfmapSramSzkB: 8\nDataflow: os\n", "architecture_presets.ArrayHeight"),
])
def test_bad_configs_name_the_key(tmp_path, text, field):
    with pytest.raises(ConfigError) as error:
        read_config(write(tmp_path, text, "bad.cfg"))
    assert error.value.field == field


def test_simulate_takes_the_csv_and_matches_the_fold_model(tmp_path, capsys):
    """One row that fits the buffers in one tile: the compute cycles are SCALE-Sim's.

    By hand: 12x12x8 in, 3x3, 16 filters -> 10x10 = 100 pixels, K = 72 (6 folds of the 12
    rows). The 18 KiB output buffer is double-buffered (9 KiB a tile): 100 x 16 outputs take
    1,600 B and one column fold's running sums, 100 x 14 of them, 3 B more each at int32
    (4,200 B), 5,800 B in all. (16x16 inputs, 196 pixels, would take 11,368 B: two tiles.)"""
    path = write(tmp_path, HEADER + "conv, 12, 12, 3, 3, 8, 16, 1,\n")
    hardware_out = tmp_path / "hw.yaml"
    main(["import", "scalesim", str(path), "--config", str(CONFIG), "--out",
          str(tmp_path / "t.yaml"), "--hardware-out", str(hardware_out)])
    capsys.readouterr()
    assert main(["simulate", "--network", str(path), "--hardware", str(hardware_out),
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["totals"]["macs"] == 10 * 10 * 72 * 16
    assert result["totals"]["compute_cycles"] == systolic_cycles("ws", 12, 14, 10 * 10, 72, 16)


def test_simulate_refuses_resolution_for_a_topology(capsys):
    assert main(["simulate", "--network", str(RESNET), "--hardware",
                 str(ROOT / "configs/hardware/jetson_nano.yaml"), "--resolution", "96"]) == 2
    assert "--resolution" in capsys.readouterr().err


def test_wide_first_layer_is_not_split_into_filter_slices(capsys):
    """ResNet-18's conv1 row (230x230x3, 7x7/2, 64 filters) on the Jetson Nano preset: storing
    64 output channels in slices would write pixel by pixel (a burst each), so the planner takes
    row bands with all filters, and the 16 x 8 vector engine runs ceil(147/16) * ceil(64/8)
    steps per output pixel."""
    assert main(["simulate", "--network", str(RESNET), "--hardware",
                 str(ROOT / "configs/hardware/jetson_nano.yaml"), "--json"]) == 0
    conv1 = json.loads(capsys.readouterr().out)["layers"][0]
    assert conv1["name"] == "conv1"
    assert conv1["compute_cycles"] == 112 * 112 * 10 * 8


def test_network_commands_point_a_csv_to_the_topology_commands(capsys):
    assert main(["network", "show", str(RESNET)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "independent layers" in error
    assert "edgeaccel simulate --network FILE.csv" in error


# --- the dialects of SCALE-Sim's own topologies/conv_nets files -------------------------------

ROWS = "pw, 16, 16, 1, 1, 8, 32, 1,\nconv_b, 16, 16, 3, 3, 32, 16, 1,\n"
# pw: 16 x 16 px x 8 x 32 = 65,536 MACs; conv_b: 14 x 14 px x 9 x 32 x 16 = 903,168 MACs.
ROWS_MACS = 65_536 + 903_168


def test_byte_order_mark_is_skipped(tmp_path):
    """UNet_2d.csv starts with a UTF-8 byte-order mark."""
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROWS).encode())
    assert read_topology_csv(path).total_macs == ROWS_MACS


def test_tab_separated_file(tmp_path):
    """UNet_maestro.csv: tabs between cells, a space after each tab, a trailing tab."""
    text = (HEADER + ROWS).replace(", ", "\t ").replace(",", "\t")
    assert "," not in text
    assert read_topology_csv(write(tmp_path, text)).total_macs == ROWS_MACS


def test_dw_marker_cell_is_a_depthwise_row(tmp_path):
    """mobilnet_paper.csv: ``Conv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw``. A marked row with
    Channels = Num Filter = 1 is a depthwise layer over the previous row's 32 filters, whatever
    its name: 14 x 14 px x 9 x 32 = 56,448 MACs and 9 x 32 = 288 weights."""
    path = write(tmp_path, HEADER + "pw, 16, 16, 1, 1, 8, 32, 1,\n"
                                    "spatial, 16, 16, 3, 3, 1, 1, 1,#dw\n")
    table = read_table(path)
    assert table.rows[1].depthwise and table.rows[1].channels == 32
    (_, depthwise) = read_topology_csv(path).networks
    assert depthwise.total_macs == 14 * 14 * 9 * 32 and depthwise.total_params == 9 * 32
    assert len(table.notes) == 1 and "#dw" in table.notes[0]


def test_extra_columns_are_ignored_with_a_note(tmp_path, capsys):
    """Resnet50.csv: ``Strides,,,Eh,Ew,e2`` and rows such as ``Conv1,...,2,,,110,110,12100``."""
    header = HEADER.rstrip().rstrip(",") + ",,,Eh,Ew,e2\n"
    path = write(tmp_path, header + ",,,,,,,,,,,,\n"
                 "pw,16,16,1,1,8,32,1,,,110,110,12100\nconv_b,16,16,3,3,32,16,1,,,,,\n")
    assert read_topology_csv(path).total_macs == ROWS_MACS
    note = capsys.readouterr().err
    assert note.count("\n") == 1 and "Eh, Ew, e2" in note and "ignored" in note


def test_repeated_names_are_renamed_with_a_note(tmp_path):
    """UNet_maestro.csv names two different rows Conv5_1: both are kept, the second renamed."""
    table = read_table(write(tmp_path, HEADER + "a, 8, 8, 3, 3, 4, 4, 1,\n"
                                                "a, 10, 10, 3, 3, 4, 4, 1,\n"))
    assert [row.name for row in table.rows] == ["a", "a_2"]
    assert "a (line 3) as a_2" in table.notes[0]


def test_every_unmodelled_cfg_option_is_named_in_one_line(tmp_path, capsys):
    """SCALE-Sim 3's sparsity.cfg sections: what the hardware YAML does not take is listed."""
    config = write(tmp_path, "[general]\nrun_name = sparse\n[architecture_presets]\n"
                             "ArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 8\n"
                             "FilterSramSzkB: 8\nOfmapSramSzkB: 8\nDataflow: ws\n"
                             "Bandwidth: 10\nMemoryBanks: 2\n[layout]\nIfmapSRAMBankNum: 4\n"
                             "[sparsity]\nSparsitySupport : true\n"
                             "[run_presets]\nInterfaceBandwidth: USER\n", "sparse.cfg")
    topology = write(tmp_path, HEADER + ROWS)
    assert main(["import", "scalesim", str(topology), "--config", str(config), "--out",
                 str(tmp_path / "t.yaml")]) == 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("note: ")
    for option in ("architecture_presets.Bandwidth = 10", "architecture_presets.MemoryBanks = 2",
                   "layout.IfmapSRAMBankNum = 4", "sparsity.SparsitySupport = true",
                   "run_presets.InterfaceBandwidth = USER"):
        assert option in error
    assert "ArrayHeight" not in error and "run_name" not in error
    assert "sparsity.SparsitySupport = true" in (tmp_path / "t.hardware.yaml").read_text()
