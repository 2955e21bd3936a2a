"""Checks every successful run must pass, shared by the fuzz and property tests.

A report is sane when it is valid JSON (no NaN or Infinity), every number in it is finite and
no count is negative, and every record (the totals and each layer) respects its bounds: cycles
cover compute, burst bytes cover requested bytes, and the traffic of a layer run alone (and of
every network) covers its lower bound.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Keys whose values may be negative: none (stall cycles are charged per tile and never are).
MAY_BE_NEGATIVE: set[str] = set()


def parse_report(text: str) -> Any:
    """``json.loads`` that refuses NaN and Infinity (not JSON)."""
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in a JSON report")
    return json.loads(text, parse_constant=refuse)


def check_numbers(value: Any, path: str = "") -> None:
    """Every number finite; every number not in MAY_BE_NEGATIVE at least 0."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_numbers(item, f"{path}[{index}]")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        assert math.isfinite(value), f"{path} = {value}"
        if path.rsplit(".", 1)[-1] not in MAY_BE_NEGATIVE:
            assert value >= 0, f"{path} = {value}"


def check_bounds(report: dict[str, Any]) -> None:
    """Bounds on a simulation report, for the totals and every layer: cycles >= compute
    cycles, stalls >= 0, burst bytes >= requested bytes; the totals' traffic >= their lower
    bound >= compulsory traffic (a layer inside a network may move less than its own bound
    when its tensors stay on chip, so per layer only the bound's order is checked)."""
    totals = report["totals"]
    for record in (totals, *report["layers"]):
        assert record["cycles"] >= record["compute_cycles"]
        assert record["buffer_stall_cycles"] >= 0 and record["dram_stall_cycles"] >= 0
        moved = record["dram_read_bytes"] + record["dram_write_bytes"]
        assert record["dram_burst_bytes"] >= moved
        assert record["lower_bound_bytes"] >= record["compulsory_bytes"] >= 0
    moved = totals["dram_read_bytes"] + totals["dram_write_bytes"]
    assert moved >= totals["lower_bound_bytes"]
    assert sum(layer["cycles"] for layer in report["layers"]) == totals["cycles"]


def check_simulation(text: str) -> dict[str, Any]:
    """Parse a ``simulate --json`` report and run every check; returns the report."""
    report = parse_report(text)
    check_numbers(report)
    check_bounds(report)
    return report
