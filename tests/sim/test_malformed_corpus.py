"""A corpus of malformed inputs across every command and file kind.

Each case gets exit status 2, nothing on stdout, exactly one line on stderr that starts with
``error:`` and contains the fragments the case names (the file or flag, the field, what is
allowed), leaves no file behind, and ends within a few seconds. The fragments are written here
from the limits and schemas the inputs break (sim.limits, the YAML schemas), not copied from
the program's output.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from sim import limits as lim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]
NANO = ROOT / "configs" / "hardware" / "jetson_nano.yaml"
SMOKE = ROOT / "configs" / "sweeps" / "smoke.yaml"
LIGHT = ROOT / "configs" / "networks" / "lightweight_cnn.yaml"
SECONDS = 5.0

Setup = Callable[[Path], None]


@dataclass
class Case:
    """``argv`` with ``{d}`` for the case's folder; ``files`` to create there first."""

    id: str
    argv: list[str]
    expect: tuple[str, ...]
    files: dict[str, str | bytes | Setup] = field(default_factory=dict)


def _nested_set(data: dict, path: str, value: Any) -> dict:
    target = data
    steps = path.split(".")
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value
    return data


def _delete(data: dict, path: str) -> dict:
    target = data
    steps = path.split(".")
    for step in steps[:-1]:
        target = target[step]
    del target[steps[-1]]
    return data


def hardware_with(path: str, value: Any) -> str:
    return yaml.safe_dump(_nested_set(yaml.safe_load(NANO.read_text()), path, value))


def network_with(path: str, value: Any) -> str:
    return yaml.safe_dump(_nested_set(yaml.safe_load(LIGHT.read_text()), path, value))


def sweep_with(text: str) -> str:
    return SMOKE.read_text().split("grid:")[0].replace(
        "configs/hardware/jetson_nano.yaml", str(NANO)) + text


BIG = 10**30
HUGE_INT = 2**63

CASES: list[Case] = []

# Hardware: every kind of number out of range or of the wrong type, each naming its range.
HARDWARE_FIELDS = [
    ("clock_hz", lim.float_range(lim.MIN_CLOCK_HZ, lim.MAX_CLOCK_HZ)),
    ("pe_array.vector_inputs", lim.int_range(1, lim.MAX_ARRAY_EDGE)),
    ("buffers.global.size_bytes", lim.int_range(1, lim.MAX_MEMORY_BYTES)),
    ("buffers.global.banks", lim.int_range(1, lim.MAX_BANKS)),
    ("buffers.global.read_pj", lim.float_range(0, lim.MAX_ENERGY_PJ)),
    ("dram.banks", lim.int_range(1, lim.MAX_BANKS)),
    ("dram.channels", lim.int_range(1, lim.MAX_DRAM_CHANNELS)),
    ("dram.burst_length", lim.int_range(1, lim.MAX_BURST_LENGTH)),
    ("dram.page_bytes", lim.int_range(1, lim.MAX_PAGE_BYTES)),
    ("dram.timing.rcd", lim.int_range(1, lim.MAX_TIMING_CYCLES)),
    ("dram.timing.refi", lim.int_range(1, lim.MAX_TIMING_CYCLES)),
    ("dram.energy.activate_pj", lim.float_range(0, lim.MAX_ENERGY_PJ)),
    ("energy.mac_pj.int8", lim.float_range(0, lim.MAX_ENERGY_PJ)),
    ("energy.static_mw", lim.float_range(0, lim.MAX_POWER_MW)),
]
INT_FIELD_VALUES = [0, -1, HUGE_INT, BIG, float("inf"), 2.5, "x", [1], True]
FLOAT_FIELD_VALUES = [-1, float("inf"), float("nan"), float("-inf"), 1e300, "fast", {"a": 1}]
for dotted, allowed in HARDWARE_FIELDS:
    values = FLOAT_FIELD_VALUES if "finite" in allowed else INT_FIELD_VALUES
    for value in values:
        CASES.append(Case(
            f"hardware-{dotted}-{value!r}"[:80],
            ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml",
             "--per-layer", "{d}/out.csv"],
            ("hw.yaml:", f"{dotted}:", allowed.split(" and ")[-1]),
            {"hw.yaml": hardware_with(dotted, value)}))

CASES += [
    Case("hardware-missing-mac-energy-of-dtype",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml",
          "--dtype", "fp16"],
         ("hw.yaml", "energy.mac_pj", "no MAC energy for fp16", "allowed: int8"),
         {"hw.yaml": hardware_with("energy.mac_pj", {"int8": 0.3})}),
    # 16 channels of one bit, one beat per burst: a burst of 1 bit, less than a byte (it
    # divided by zero before).
    Case("hardware-dram-burst-below-a-byte",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml"],
         ("hw.yaml", "dram:", "less than a byte", "channel_bits x burst_length >= 8"),
         {"hw.yaml": yaml.safe_dump(_nested_set(_nested_set(_nested_set(
             yaml.safe_load(NANO.read_text()), "dram.channels", 16), "dram.bus_bits", 16),
             "dram.burst_length", 1))}),
    # A bank refreshing for rfc cycles every refi cycles with refi <= rfc is never free; the
    # model served requests anyway before (JEDEC parts: tREFI is many times tRFC).
    Case("hardware-dram-refresh-never-ends",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml"],
         ("hw.yaml:", "dram.timing:", "refi 224 is not above rfc 224", "allowed: refi > rfc"),
         {"hw.yaml": hardware_with("dram.timing.refi", 224)}),
    Case("hardware-deleted-dram",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml"],
         ("hw.yaml", "dram: required field is missing"),
         {"hw.yaml": yaml.safe_dump(_delete(yaml.safe_load(NANO.read_text()), "dram"))}),
    Case("hardware-buffers-too-small-while-simulating",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml",
          "--per-layer", "{d}/out.csv"],
         ("hw.yaml: buffers:", "does not fit"),
         {"hw.yaml": yaml.safe_dump(_nested_set(_nested_set(
             yaml.safe_load(NANO.read_text()), "buffers.global.banks", 1),
             "buffers.global.size_bytes", 8))}),
    # 8 banks of 64-bit words serve 64 B a cycle; 63 B cannot hold a word in every bank.
    Case("hardware-buffer-smaller-than-a-word-per-bank",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml"],
         ("hw.yaml:", "buffers.global:", "63 B cannot hold a 64-bit word in each of 8 banks",
          "allowed: size_bytes >= banks x word_bits / 8 = 64"),
         {"hw.yaml": hardware_with("buffers.global.size_bytes", 63)}),
    Case("hardware-duplicate-key",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml"],
         ("hw.yaml:3: clock_hz: duplicate key", "allowed: each key once"),
         {"hw.yaml": "name: x\nclock_hz: 1.0e9\nclock_hz: 2.0e9\n"}),
    Case("hardware-preset-unknown-name",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "jetson_nanoo"],
         ("jetson_nanoo: no such hardware preset",
          "allowed: diannao, diannao_mini, eyeriss, fpga_4x4_os, fpga_4x4_os_db, fpga_4x4_ws, "
          "jetson_nano")),
    Case("hardware-is-a-directory",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hwdir"],
         ("hwdir: is a directory",), {"hwdir/keep": ""}),
    Case("hardware-not-utf8",
         ["simulate", "--network", "lightweight_cnn", "--hardware", "{d}/hw.yaml"],
         ("hw.yaml: is not UTF-8",), {"hw.yaml": b"name: \xff\xfe\n"}),
]

# Network YAML: sizes, types, structure.
NETWORK_CASES = [
    ("input.height", 0, "allowed: 1..4096"),
    ("input.height", 10**30, "allowed: 1..4096"),
    ("input.width", 2**63, "allowed: 1..4096"),
    ("input.channels", 10**6, "allowed: 1..65536"),
    ("input.channels", 3.5, "allowed: an integer 1..65536"),
    ("input.height", float("nan"), "allowed: an integer 1..4096"),
    ("input.height", "32", "allowed: an integer 1..4096"),
    ("name", "bad name!", "name"),
]
for dotted, value, expected in NETWORK_CASES:
    CASES.append(Case(f"network-{dotted}-{value!r}"[:60],
                      ["network", "show", "{d}/net.yaml", "--json"],
                      ("net.yaml:", dotted, expected), {"net.yaml": network_with(dotted, value)}))


def _layers_network(layer: str) -> str:
    return ("name: n\ninput: {height: 32, width: 32, channels: 3}\nlayers:\n" + layer)


CASES += [
    Case("network-fc-1e10-outputs", ["network", "show", "{d}/net.yaml"],
         ("net.yaml:4: layers[0].out_features: got 10000000000", "allowed: 1..1048576"),
         {"net.yaml": _layers_network("  - {name: fc, kind: fc, out_features: 10000000000}\n")}),
    Case("network-kernel-huge", ["network", "show", "{d}/net.yaml"],
         ("net.yaml:4: layers[0].kernel", "allowed: 1..4096"),
         {"net.yaml": _layers_network(
             "  - {name: c, kind: conv2d, out_channels: 8, kernel: 100000}\n")}),
    Case("network-too-many-macs", ["network", "show", "{d}/net.yaml"],
         ("net.yaml:5: layers[1]", "MACs", "allowed: at most 1,000,000,000,000"),
         {"net.yaml": "name: n\ninput: {height: 4096, width: 4096, channels: 3}\nlayers:\n"
                      "  - {name: c, kind: conv2d, out_channels: 16, kernel: 3, padding: 1}\n"
                      "  - {name: d, kind: conv2d, out_channels: 16, kernel: 65, padding: 32}\n"}),
    Case("network-tensor-too-large", ["network", "show", "{d}/net.yaml"],
         ("net.yaml:4: layers[0]", "elements", "allowed: at most 1,073,741,824"),
         {"net.yaml": "name: n\ninput: {height: 4096, width: 4096, channels: 3}\nlayers:\n"
                      "  - {name: c, kind: conv2d, out_channels: 128, kernel: 1}\n"}),
    Case("network-padding-past-the-window", ["network", "show", "{d}/net.yaml"],
         ("net.yaml:4: layers[0]", "padding 16 reaches past the window",
          "allowed: at most dilation x (kernel - 1) = 2 x 2 per side"),
         {"net.yaml": _layers_network(
             "  - {name: c, kind: conv2d, out_channels: 8, kernel: 3, padding: 16}\n")}),
    Case("network-duplicate-layer-key", ["network", "show", "{d}/net.yaml"],
         ("net.yaml:4: layers[0].kernel: duplicate key",),
         {"net.yaml": _layers_network(
             "  - {name: c, kind: conv2d, out_channels: 8, kernel: 3, kernel: 5}\n")}),
    Case("network-nested-deeply", ["network", "show", "{d}/net.yaml"],
         ("net.yaml", "nested too deeply", "allowed: at most 32 levels"),
         {"net.yaml": "name: n\nx: " + "[" * 5000 + "]" * 5000 + "\n"}),
    Case("network-nested-moderately", ["network", "show", "{d}/net.yaml"],
         ("net.yaml", "nested too deeply", "allowed: at most 32 levels"),
         {"net.yaml": "name: n\nx: " + "[" * 40 + "]" * 40 + "\n"}),
    Case("network-billion-laughs", ["network", "show", "{d}/net.yaml"],
         ("net.yaml: too large", "aliases counted"),
         {"net.yaml": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
             f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
             for i in range(6))}),
    Case("network-export-out-is-directory",
         ["network", "export", "lightweight_cnn", "--out", "{d}/outdir"],
         ("outdir: is a directory, expected a file",), {"outdir/keep": ""}),
    Case("network-export-out-under-a-file",
         ["network", "export", "lightweight_cnn", "--out", "{d}/afile/net.yaml"],
         ("afile/net.yaml: cannot write", "afile is a file"), {"afile": "x"}),
]

# Command-line flags of every command.
FLAG_CASES = [
    (["network", "show", "mobilenet_v2", "--width-mult", "inf"], "--width-mult",
     "allowed: > 0 and <= 16, finite"),
    (["network", "show", "mobilenet_v2", "--width-mult", "nan"], "--width-mult", "finite"),
    (["network", "show", "mobilenet_v2", "--resolution", str(10**30)], "--resolution",
     "allowed: 1..4096"),
    (["network", "show", "resnet18", "--num-classes", str(2**63)], "--num-classes",
     "allowed: 1..1048576"),
    (["network", "show", "resnet18", "--resolution", "0"], "--resolution", "allowed: 1..4096"),
    (["peak-mem", "--network", "lightweight_cnn", "--budget", "1e400"], "--budget",
     "expected a size"),
    (["peak-mem", "--network", "lightweight_cnn", "--budget", "9" * 400], "--budget",
     f"allowed: 1..{lim.MAX_MEMORY_BYTES}"),
    (["peak-mem", "--network", "lightweight_cnn", "--patches", "100000",
      "--patch-layers", "3"], "--patches", "allowed: 1..1024"),
    (["peak-mem", "--network", "lightweight_cnn", "--tunnels", "-1"], "--tunnels",
     "allowed: 1..1024"),
    (["tunnel-design", "--budget", "256KB", "--resolution", str(10**30)], "--resolution",
     "allowed: 1..4096"),
    (["tunnel-design", "--budget", "0KB"], "--budget", "allowed: 1.."),
    (["tunnel-design", "--budget", "256KB", "--margin", str(2**63)], "--margin",
     "allowed: 0..4096"),
    (["simulate", "--network", "lightweight_cnn", "--hardware", str(NANO), "--tile", "0"],
     "--tile", "allowed: 1..4096"),
    (["simulate", "--network", "lightweight_cnn", "--hardware", str(NANO), "--tile", "inf"],
     "--tile", "allowed: 1..4096"),
    (["simulate", "--network", "lightweight_cnn", "--hardware", str(NANO),
      "--buffer-channels", "0"], "--buffer-channels", "allowed: 1..65536"),
    (["simulate", "--network", "lightweight_cnn", "--hardware", str(NANO),
      "--dataflow", "sideways"], "--dataflow", "choose from"),
    (["sweep", str(SMOKE), "--out", "{d}/o", "--workers", "0"], "--workers",
     "allowed: 1..256"),
    (["sweep", str(SMOKE), "--out", "{d}/o", "--max-points", "-5"], "--max-points",
     "allowed: 1.."),
]
for index, (argv, flag, allowed) in enumerate(FLAG_CASES):
    CASES.append(Case(f"flag-{index}-{argv[0]}-{flag}", argv, (flag, allowed)))


# Sweep files: values of every axis checked before anything runs.
SWEEP_AXIS_CASES = [
    ("technique.tile", "[8, 0]", "grid.technique.tile[1]", "allowed: 1..4096"),
    ("technique.tile", "[-3]", "grid.technique.tile[0]", "allowed: 1..4096"),
    ("technique.tile", "[.inf]", "grid.technique.tile[0]", "allowed: an integer 1..4096"),
    ("technique.tile", "[[8, 16]]", "grid.technique.tile[0]", "allowed: an integer"),
    ("technique.tile", "[{a: 1}]", "grid.technique.tile[0]", "allowed: an integer"),
    ("technique.buffer_channels", "[0]", "grid.technique.buffer_channels[0]",
     "allowed: auto or an integer 1..65536"),
    ("technique.halo_reuse", "['false']", "grid.technique.halo_reuse[0]",
     "allowed: true, false"),
    ("network_options.resolution", "[.nan]", "grid.network_options.resolution[0]",
     "allowed: an integer 1..4096"),
    ("network_options.resolution", "[0]", "grid.network_options.resolution[0]",
     "allowed: 1..4096"),
    ("network_options.resolution", "[32.7]", "grid.network_options.resolution[0]",
     "allowed: an integer 1..4096"),
    ("network_options.resolution", "[abc]", "grid.network_options.resolution[0]",
     "allowed: an integer 1..4096"),
    ("network_options.resolution", f"[{10**30}]", "grid.network_options.resolution[0]",
     "allowed: 1..4096"),
    ("network_options.num_classes", f"[{2**63}]", "grid.network_options.num_classes[0]",
     "allowed: 1..1048576"),
    ("network_options.width_mult", "[.inf]", "grid.network_options.width_mult[0]",
     "finite"),
    ("hardware.dram.banks", f"[{2**63}]", "grid.hardware.dram.banks[0]", "allowed: 1..1024"),
    ("hardware.clock_hz", "[.inf]", "grid.hardware.clock_hz[0]", "finite"),
    ("hardware.energy.mac_pj", "[{fp32: 1.0}]", "base.dtype", "allowed: fp32"),
    ("hardware", "[no_such_preset]", "grid.hardware[0]", "no such hardware preset"),
    ("dtype", "[int4]", "grid.dtype[0]", "allowed: int8, int16, fp16, fp32"),
    ("technique.tiles", "[8]", "grid.technique.tiles", "unknown axis"),
]
for axis, values, where, allowed in SWEEP_AXIS_CASES:
    CASES.append(Case(f"sweep-{axis}-{values}"[:60],
                      ["sweep", "{d}/s.yaml", "--out", "{d}/out", "--executor", "inline"],
                      ("s.yaml:", f"{where}:", allowed),
                      {"s.yaml": sweep_with(f"grid:\n  {axis}: {values}\n")}))

CASES += [
    Case("sweep-grid-of-a-million-points",
         ["sweep", "{d}/s.yaml", "--out", "{d}/out"],
         ("s.yaml:", "grid: the sweep has 1,000,000 points", "--max-points"),
         {"s.yaml": sweep_with("grid:\n" + "".join(
             f"  hardware.dram.timing.{t}: [{', '.join(str(v) for v in range(30, 40))}]\n"
             for t in ("rcd", "rp", "ras", "rl", "wl", "faw")))}),
    Case("sweep-duplicate-key", ["sweep", "{d}/s.yaml", "--out", "{d}/out"],
         ("s.yaml:", "grid.dataflow: duplicate key"),
         {"s.yaml": sweep_with("grid:\n  dataflow: [tiled]\n  dataflow: [full]\n")}),
    Case("sweep-out-is-a-file", ["sweep", str(SMOKE), "--out", "{d}/afile"],
         ("afile: is a file, expected a results folder",), {"afile": "x"}),
    Case("sweep-scheduler-malformed",
         ["sweep", str(SMOKE), "--out", "{d}/out", "--scheduler", "not-an-address"],
         ("--scheduler: malformed address", "allowed: tcp://HOST:PORT")),
    Case("sweep-scheduler-bad-port",
         ["sweep", str(SMOKE), "--out", "{d}/out", "--scheduler", "tcp://127.0.0.1:99999"],
         ("--scheduler: malformed address", "allowed: tcp://HOST:PORT")),
    Case("sweep-scheduler-unreachable",
         ["sweep", str(SMOKE), "--out", "{d}/out", "--scheduler", "tcp://127.0.0.1:9"],
         ("--scheduler: cannot reach tcp://127.0.0.1:9",)),
]


def _foreign_store(folder: Path) -> None:
    folder.mkdir()
    with sqlite3.connect(folder / "results.sqlite") as connection:
        connection.execute("CREATE TABLE accounts (id INTEGER, balance REAL)")
        connection.execute("INSERT INTO accounts VALUES (1, 2.5)")
    connection.close()


CASES += [
    Case("results-damaged-store", ["results", "export", "{d}/r", "--csv", "{d}/o.csv"],
         ("r/results.sqlite: damaged results store",),
         {"r/results.sqlite": b"SQLite format 3\x00" + b"\x07" * 2000}),
    Case("results-not-sqlite", ["results", "export", "{d}/r", "--csv", "{d}/o.csv"],
         ("r/results.sqlite: not a results store",), {"r/results.sqlite": "hello\n"}),
    Case("results-foreign-sqlite", ["results", "export", "{d}/r", "--csv", "{d}/o.csv"],
         ("r/results.sqlite: not a results store", "refusing"), {"r": _foreign_store}),
    Case("sweep-into-foreign-sqlite", ["sweep", str(SMOKE), "--out", "{d}/r"],
         ("r/results.sqlite: not a results store",), {"r": _foreign_store}),
    Case("plot-foreign-sqlite", ["plot", "{d}/r"],
         ("r/results.sqlite: not a results store",), {"r": _foreign_store}),
    Case("results-no-store", ["results", "export", "{d}/empty", "--csv", "{d}/o.csv"],
         ("empty: no results.sqlite",), {"empty/keep": ""}),
]

# SCALE-Sim topologies and configs.
CSV_HEADER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
              "Num Filter, Strides,\n")
CASES += [
    Case("scalesim-row-1e30-pixels",
         ["import", "scalesim", "{d}/t.csv", "--out", "{d}/t.yaml"],
         ("t.csv:2: IFMAP Height: got 1000000000000000000000000000000", "allowed: 1..4096"),
         {"t.csv": CSV_HEADER + f"c1, {10**30}, 224, 3, 3, 3, 64, 1,\n"}),
    Case("scalesim-row-huge-ifmap",
         ["import", "scalesim", "{d}/t.csv", "--out", "{d}/t.yaml"],
         ("t.csv:2: IFMAP Height", "too large", "allowed: at most 1,073,741,824"),
         {"t.csv": CSV_HEADER + "c1, 4096, 4096, 3, 3, 65536, 64, 1,\n"}),
    Case("scalesim-row-bad-name",
         ["import", "scalesim", "{d}/t.csv", "--out", "{d}/t.yaml"],
         ("t.csv:2: Layer name", "allowed: a letter or _"),
         {"t.csv": CSV_HEADER + "1 conv!, 56, 56, 3, 3, 64, 64, 1,\n"}),
    Case("scalesim-cfg-not-utf8",
         ["import", "scalesim", "{d}/t.csv", "--config", "{d}/a.cfg", "--out", "{d}/t.yaml"],
         ("a.cfg: is not UTF-8",),
         {"t.csv": CSV_HEADER + "c1, 56, 56, 3, 3, 64, 64, 1,\n",
          "a.cfg": b"[general]\nrun_name = \xe9t\xe9\n"}),
    Case("scalesim-cfg-percent",
         ["import", "scalesim", "{d}/t.csv", "--config", "{d}/a.cfg", "--out", "{d}/t.yaml"],
         ("a.cfg", "architecture_presets.ArrayHeight", "is not an integer"),
         {"t.csv": CSV_HEADER + "c1, 56, 56, 3, 3, 64, 64, 1,\n",
          "a.cfg": "[general]\nrun_name = 100%\n[architecture_presets]\nArrayHeight = 8%\n"
                   "ArrayWidth = 8\nIfmapSramSzkB = 64\nFilterSramSzkB = 64\n"
                   "OfmapSramSzkB = 64\nDataflow = os\n"}),
    Case("scalesim-cfg-array-huge",
         ["import", "scalesim", "{d}/t.csv", "--config", "{d}/a.cfg", "--out", "{d}/t.yaml"],
         ("a.cfg", "ArrayHeight: got 1000000", "allowed: 1..4096"),
         {"t.csv": CSV_HEADER + "c1, 56, 56, 3, 3, 64, 64, 1,\n",
          "a.cfg": "[architecture_presets]\nArrayHeight = 1000000\nArrayWidth = 8\n"
                   "IfmapSramSzkB = 64\nFilterSramSzkB = 64\nOfmapSramSzkB = 64\n"
                   "Dataflow = os\n"}),
    Case("scalesim-hardware-out-fails-keeps-nothing",
         ["import", "scalesim", "{d}/t.csv", "--config", "{d}/a.cfg", "--out", "{d}/t.yaml",
          "--hardware-out", "{d}/hwdir"],
         ("hwdir: is a directory",),
         {"t.csv": CSV_HEADER + "c1, 56, 56, 3, 3, 64, 64, 1,\n", "hwdir/keep": "",
          "a.cfg": "[architecture_presets]\nArrayHeight = 8\nArrayWidth = 8\n"
                   "IfmapSramSzkB = 64\nFilterSramSzkB = 64\nOfmapSramSzkB = 64\n"
                   "Dataflow = os\n"}),
]


def _onnx_model(nodes: list, initializers: list, input_shape: list[int],
                output_shape: list[int]) -> Setup:
    def write(path: Path) -> None:
        graph = helper.make_graph(
            nodes, "corpus",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
            initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        onnx.save(model, str(path))
    return write


def _weights(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


CASES += [
    Case("onnx-zero-strides", ["import", "onnx", "{d}/m.onnx", "--out", "{d}/m.yaml"],
         ("m.onnx: node c (Conv): strides [0, 0]", "allowed: 2 integers 1..4096"),
         {"m.onnx": _onnx_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c",
                                                  strides=[0, 0])],
                                [_weights("w", (4, 3, 3, 3))], [1, 3, 8, 8], [1, 4, 6, 6])}),
    Case("onnx-weights-for-5-channels-on-3", ["import", "onnx", "{d}/m.onnx", "--out",
                                              "{d}/m.yaml"],
         ("m.onnx: node c (Conv)", "read 5 channels, the input has 3"),
         {"m.onnx": _onnx_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c")],
                                [_weights("w", (4, 5, 3, 3))], [1, 3, 8, 8], [1, 4, 6, 6])}),
    Case("onnx-group-2-on-3-channels", ["import", "onnx", "{d}/m.onnx", "--out",
                                        "{d}/m.yaml"],
         ("m.onnx: node c (Conv)", "the input has 3"),
         {"m.onnx": _onnx_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c",
                                                  group=2)],
                                [_weights("w", (4, 1, 3, 3))], [1, 3, 8, 8], [1, 4, 6, 6])}),
    Case("onnx-negative-pads", ["import", "onnx", "{d}/m.onnx", "--out", "{d}/m.yaml"],
         ("m.onnx: node c (Conv): pads", "allowed: 4 integers 0..4096"),
         {"m.onnx": _onnx_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c",
                                                  pads=[-1, -1, -1, -1])],
                                [_weights("w", (4, 3, 3, 3))], [1, 3, 8, 8], [1, 4, 4, 4])}),
    Case("onnx-not-a-model", ["import", "onnx", "{d}/m.onnx", "--out", "{d}/m.yaml"],
         ("m.onnx: cannot be read as ONNX",), {"m.onnx": b"\x00\x01garbage" * 10}),
    Case("onnx-out-is-directory", ["import", "onnx", "{d}/m.onnx", "--out", "{d}/outdir"],
         ("outdir: is a directory",), {"outdir/keep": "", "m.onnx": b"x"}),
]

# Weights experiment config: a layer of 10^9 units.
CASES += [
    Case("weights-billion-units", ["weights", "experiment", "{d}/w.yaml", "--out", "{d}/wo"],
         ("w.yaml:", "hidden[0]: got 1000000000", "allowed: 1..65536"),
         {"w.yaml": (ROOT / "configs" / "weights" / "default.yaml").read_text().replace(
             "hidden: [256, 128, 64]", "hidden: [1000000000, 128, 64]")}),
]


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()} | {
        str(p.relative_to(folder)) + "/": "" for p in folder.rglob("*") if p.is_dir()}


def test_the_corpus_is_large_and_covers_every_command():
    assert len(CASES) >= 100
    commands = {tuple(case.argv[:2]) if case.argv[0] in ("network", "import", "results",
                                                         "weights") else (case.argv[0],)
                for case in CASES}
    assert commands >= {("network", "show"), ("network", "export"), ("peak-mem",),
                        ("tunnel-design",), ("simulate",), ("sweep",), ("results", "export"),
                        ("plot",), ("import", "scalesim"), ("import", "onnx"),
                        ("weights", "experiment")}
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_malformed_input_is_one_line_exit_2_and_leaves_nothing(case, tmp_path, capsys):
    for name, content in case.files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if callable(content):
            content(target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    before = _fingerprint(tmp_path)
    argv = [part.replace("{d}", str(tmp_path)) for part in case.argv]
    started = time.monotonic()
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse refuses a flag
        status = exit_.code
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    for fragment in case.expect:
        assert fragment in lines[0], lines[0]
    assert _fingerprint(tmp_path) == before, "an output was left behind or an input changed"
    assert elapsed < SECONDS
