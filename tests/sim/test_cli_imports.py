"""The CLI imports only what a command uses: parsing arguments loads no plotting, simulation,
ONNX or Dask code; the choices the parser lists without importing those modules match them."""

import json
import subprocess
import sys

HEAVY = ("matplotlib", "sim.simulate", "sim.dataflow", "distributed", "onnx", "sklearn",
         "amaranth", "sim.weights.experiment", "pandas", "pyarrow")


def test_building_the_parser_imports_no_heavy_module():
    code = ("import json, sys; import sim.cli; sim.cli.build_parser(); "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == []


def test_choices_listed_by_the_parser_match_the_modules():
    from sim.cli import DATAFLOWS
    from sim.dataflow import DATAFLOWS as MODEL_DATAFLOWS
    from sim.sweep.cli import EXECUTORS
    from sim.sweep.runner import RUNNERS

    assert DATAFLOWS == MODEL_DATAFLOWS
    assert set(EXECUTORS) == set(RUNNERS)
