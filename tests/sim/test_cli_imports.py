"""The CLI imports only what a command uses: parsing arguments loads no plotting, simulation,
ONNX or Dask code, and a short simulation no numba; the choices the parser lists without
importing those modules match them."""

import json
import subprocess
import sys

HEAVY = ("matplotlib", "sim.simulate", "sim.dataflow", "distributed", "onnx", "sklearn",
         "amaranth", "sim.weights.experiment", "pandas", "pyarrow", "numba")


def test_building_the_parser_imports_no_heavy_module():
    code = ("import json, sys; import sim.cli; sim.cli.build_parser(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == []


def test_a_short_simulation_stays_on_the_python_dram_engine():
    """The compiled DRAM engine (numba) is loaded only when a run's projected DRAM work pays
    for it; the lightweight CNN on the Jetson Nano does not."""
    code = ("import json, sys; from sim.cli import main; "
            "main(['simulate', '--network', 'lightweight_cnn', '--hardware', 'jetson_nano', "
            "'--json']); print(json.dumps('numba' in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) is False


def test_choices_listed_by_the_parser_match_the_modules():
    from sim.cli import DATAFLOWS
    from sim.dataflow import DATAFLOWS as MODEL_DATAFLOWS
    from sim.sweep.cli import EXECUTORS
    from sim.sweep.runner import RUNNERS

    assert DATAFLOWS == MODEL_DATAFLOWS
    assert set(EXECUTORS) == set(RUNNERS)
