"""Build a spec from configs/rtl with hls_gen and run a cocotb test module on it in Icarus."""

import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from cocotb_tools.runner import get_runner

from hls_gen.generate import generate

HERE = Path(__file__).resolve().parent
SPECS = HERE.parents[1] / "configs" / "rtl"


def run_cocotb(spec: str | Path, test_module: str, out: Path, environment: dict[str, str]
               ) -> tuple[dict, dict[str, int]]:
    """The manifest and the counts of passed, failed and skipped cocotb tests. ``spec`` is a
    file name in configs/rtl or a path to a spec elsewhere."""
    assert shutil.which("iverilog"), "Icarus Verilog is needed (make test installs it)"
    manifest = generate(SPECS / spec, out)   # an absolute ``spec`` replaces SPECS
    runner = get_runner("icarus")
    build = out / "build"
    runner.build(sources=[out / manifest["verilog"]], hdl_toplevel=manifest["module"],
                 build_dir=build, timescale=("1ns", "1ps"))
    results = out / "results.xml"
    runner.test(hdl_toplevel=manifest["module"], test_module=test_module, test_dir=HERE,
                build_dir=build, results_xml=str(results),
                extra_env={**environment, "PYTHONPATH": str(HERE.parents[1])})
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for case in ElementTree.parse(results).iter("testcase"):
        if case.find("skipped") is not None:
            counts["skipped"] += 1
        elif case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
        else:
            counts["passed"] += 1
    return manifest, counts
