"""Our simulator and SCALE-Sim side by side on a SCALE-Sim topology.

    python benchmarks/compare_scalesim.py [TOPOLOGY.csv] [--config FILE.cfg]

Prints per layer: SCALE-Sim's fold-model compute cycles (``sim.mapping.systolic_cycles`` over
the whole layer, with SCALE-Sim's ceil output size), our simulator's compute and total cycles
(it tiles layers to fit the SRAMs and runs DRAM at the cycle level), and, when the optional
``scalesim`` package is importable, SCALE-Sim's own compute cycles; then both run times and
their ratio. SCALE-Sim is not a dependency (it needs NumPy < 2.4, so it lives in a venv of its
own; see :data:`INSTALL`); without it our figures are printed with how to install it, and the
script exits 0 either way.
"""

from __future__ import annotations

import argparse
import csv
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

INSTALL = """SCALE-Sim: not importable here. It needs NumPy < 2.4; compare in a venv of its own:
  python3 -m venv .venv-scalesim
  .venv-scalesim/bin/pip install 'numpy<2.4' scalesim
  .venv-scalesim/bin/pip install -e .
  .venv-scalesim/bin/python benchmarks/compare_scalesim.py"""

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


def run_scalesim(topology: Path, config: dict, workdir: Path) -> tuple[list[int], float] | None:
    """SCALE-Sim's compute cycles per layer and its run time (s), or None if not installed."""
    try:
        from scalesim.scale_sim import scalesim
    except ImportError:
        return None
    config_file = workdir / "scalesim.cfg"
    config_file.write_text(SCALESIM_CONFIG.format(
        name="compare", rows=config["arrayheight"], cols=config["arraywidth"],
        ifmap=config["ifmapsramszkb"], filter=config["filtersramszkb"],
        ofmap=config["ofmapsramszkb"], dataflow=config["dataflow"]))
    start = time.perf_counter()
    runner = scalesim(save_disk_space=True, verbose=False, config=str(config_file),
                      topology=str(topology), layout=str(topology))
    runner.run_scale(top_path=str(workdir))
    seconds = time.perf_counter() - start
    (report,) = workdir.glob("*/COMPUTE_REPORT.csv")
    with report.open() as handle:
        rows = [row for row in csv.reader(handle) if row]
    column = [cell.strip() for cell in rows[0]].index("Total Cycles")
    return [int(float(row[column])) for row in rows[1:]], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("topology", nargs="?", default=str(ROOT / "configs/scalesim/resnet18.csv"))
    parser.add_argument("--config", default=str(ROOT / "configs/scalesim/eyeriss_like.cfg"))
    args = parser.parse_args()
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
        try:
            theirs = run_scalesim(Path(args.topology), config, workdir)
            failure = None
        except Exception as error:  # noqa: BLE001 - a failing optional tool is reported
            theirs, failure = None, f"{type(error).__name__}: {error}"

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
