"""Our simulator and SCALE-Sim side by side on a SCALE-Sim topology.

    python benchmarks/compare_scalesim.py [TOPOLOGY.csv] [--config FILE.cfg]

Prints per layer: SCALE-Sim's fold-model compute cycles (``sim.mapping.systolic_cycles`` over
the whole layer, with SCALE-Sim's ceil output size), our simulator's compute and total cycles
(it tiles layers to fit the SRAMs and runs DRAM at the cycle level), and, when the optional
``scalesim`` package is importable, SCALE-Sim's own compute cycles; then both run times and
their ratio. SCALE-Sim is not a dependency: it needs NumPy < 2.4, so it lives in a venv of its
own (:data:`INSTALL`) and runs in a process of that venv's Python; without it our figures are
printed with how to install it, and the script exits 0 either way.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.dataflow import SimulationOptions  # noqa: E402
from sim.dtypes import DType  # noqa: E402
from sim.hardware import load_hardware  # noqa: E402
from sim.importers.scalesim import (  # noqa: E402
    hardware_yaml,
    read_config,
    read_rows,
    row_network,
)
from sim.mapping import systolic_cycles  # noqa: E402
from sim.simulate import simulate  # noqa: E402

DRAM_PRESET = ROOT / "configs" / "hardware" / "jetson_nano.yaml"

INSTALL = """SCALE-Sim: not found. It needs NumPy < 2.4 (this project needs 2.4), so give it a venv
of its own, which this script runs it in:
  python3 -m venv .venv-scalesim
  .venv-scalesim/bin/pip install 'numpy<2.4' scalesim
  .venv/bin/python benchmarks/compare_scalesim.py   # or --scalesim-python PATH"""

# Everything SCALE-Sim 3 needs in a config besides the architecture; values are its defaults.
SCALESIM_CONFIG = """[general]
run_name = {name}

[architecture_presets]
ArrayHeight : {rows}
ArrayWidth : {cols}
IfmapSramSzkB : {ifmap}
FilterSramSzkB : {filter}
OfmapSramSzkB : {ofmap}
IfmapOffset : 0
FilterOffset : 10000000
OfmapOffset : 20000000
Bandwidth : 10
Dataflow : {dataflow}
ReadRequestBuffer : 32
WriteRequestBuffer : 32

[layout]
IfmapCustomLayout : False
IfmapSRAMBankBandwidth : 10
IfmapSRAMBankNum : 10
IfmapSRAMBankPort : 2
FilterCustomLayout : False
FilterSRAMBankBandwidth : 10
FilterSRAMBankNum : 10
FilterSRAMBankPort : 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth : CALC
UseRamulatorTrace : False
"""


# Run in SCALE-Sim's own interpreter: argv = config, topology, work folder; prints seconds.
SCALESIM_RUNNER = """
import sys, time
from scalesim.scale_sim import scalesim
config, topology, folder = sys.argv[1:4]
start = time.perf_counter()
runner = scalesim(save_disk_space=True, verbose=False, config=config, topology=topology,
                  layout=topology)
runner.run_scale(top_path=folder)
print(time.perf_counter() - start)
"""


def scalesim_python(given: str | None) -> str | None:
    """The interpreter that can import ``scalesim``: ``given``, else this one, else the
    repository's ``.venv-scalesim``; None when none can."""
    candidates = [given] if given else [sys.executable, str(ROOT / ".venv-scalesim/bin/python")]
    for python in candidates:
        if Path(python).exists() and subprocess.run(
                [python, "-c", "import scalesim.scale_sim"], capture_output=True).returncode == 0:
            return python
    return None


def run_scalesim(python: str, topology: Path, config: dict, workdir: Path
                 ) -> tuple[list[int], float]:
    """SCALE-Sim's compute cycles per layer and its run time (s, measured in its process)."""
    config_file = workdir / "scalesim.cfg"
    config_file.write_text(SCALESIM_CONFIG.format(
        name="compare", rows=config["arrayheight"], cols=config["arraywidth"],
        ifmap=config["ifmapsramszkb"], filter=config["filtersramszkb"],
        ofmap=config["ofmapsramszkb"], dataflow=config["dataflow"]))
    done = subprocess.run([python, "-c", SCALESIM_RUNNER, str(config_file), str(topology),
                           str(workdir)], capture_output=True, text=True, cwd=workdir)
    if done.returncode:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(lines[-1])
    seconds = float(done.stdout.strip().splitlines()[-1])
    (report,) = workdir.glob("*/COMPUTE_REPORT.csv")
    with report.open() as handle:
        rows = [row for row in csv.reader(handle) if row]
    column = [cell.strip() for cell in rows[0]].index("Total Cycles")
    return [int(float(row[column])) for row in rows[1:]], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topology", nargs="?", default=str(ROOT / "configs/scalesim/resnet18.csv"))
    parser.add_argument("--config", default=str(ROOT / "configs/scalesim/eyeriss_like.cfg"))
    parser.add_argument("--scalesim-python", metavar="PYTHON",
                        help="an interpreter that can import scalesim (default: this one, "
                             "else .venv-scalesim/bin/python)")
    args = parser.parse_args()
    python = scalesim_python(args.scalesim_python)
    config = read_config(args.config)
    rows = read_rows(args.topology)
    with tempfile.TemporaryDirectory(prefix="compare-scalesim-") as folder:
        workdir = Path(folder)
        hardware_file = workdir / "hardware.yaml"
        hardware_file.write_text(hardware_yaml(config, DRAM_PRESET))
        hardware = load_hardware(hardware_file)
        options = SimulationOptions("layerwise", 32, True, 64, DType("int8"), "dense")
        ours, start = [], time.perf_counter()
        for row in rows:
            totals = simulate(row_network(row), hardware, options)["totals"]
            ours.append((totals["compute_cycles"], totals["cycles"]))
        our_seconds = time.perf_counter() - start
        theirs, failure = None, None
        if python is not None:
            try:
                theirs = run_scalesim(python, Path(args.topology).resolve(), config, workdir)
            except Exception as error:  # noqa: BLE001 - a failing optional tool is reported
                failure = f"{type(error).__name__}: {error}"

    dataflow, array = config["dataflow"], (config["arrayheight"], config["arraywidth"])
    print(f"{Path(args.topology).name} on {array[0]}x{array[1]} {dataflow}")
    header = f"{'layer':<22}{'fold model':>12}{'ours compute':>14}{'ours total':>12}"
    print(header + (f"{'SCALE-Sim':>12}" if theirs else ""))
    for index, (row, (compute, total)) in enumerate(zip(rows, ours, strict=True)):
        model = systolic_cycles(dataflow, *array, row.scalesim_pixels,
                                row.filter_height * row.filter_width * row.channels,
                                row.filters)
        line = f"{row.name:<22}{model:>12,}{compute:>14,}{total:>12,}"
        if theirs:
            line += f"{theirs[0][index]:>12,}"
        print(line)
    print(f"our simulator: {our_seconds:.2f} s for {len(rows)} layers "
          f"({our_seconds / len(rows):.3f} s per layer, cycle-level DRAM included)")
    if theirs:
        print(f"SCALE-Sim: {theirs[1]:.2f} s; SCALE-Sim / ours = "
              f"{theirs[1] / our_seconds:.2f}")
    elif failure:
        print(f"SCALE-Sim: installed but failed ({failure})")
    else:
        print(INSTALL)


if __name__ == "__main__":
    main()
