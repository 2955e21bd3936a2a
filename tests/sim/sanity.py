"""Checks every successful run must pass, shared by the fuzz and property tests.

A report is sane when it is valid JSON (no NaN or Infinity), every number in it is finite and
no count is negative. The checks that need the simulator's cycle attribution and lower bounds
(traffic >= compulsory traffic, layer cycles >= compute cycles, stall cycles >= 0) go in
:func:`check_bounds`, which is where they are added when those keys exist.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Keys whose values may be negative today: stall cycles under `fused` (the cycle attribution
# that makes them non-negative is being reworked; then this set becomes empty).
MAY_BE_NEGATIVE = {"stall_cycles"}


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
    """Bounds on a simulation report: cycles cover compute, traffic covers what must move.

    Today: total cycles >= total compute cycles over the network. Per-layer cycles >= compute
    cycles and traffic >= compulsory_bytes are added here when the simulator reports
    compulsory_bytes and attributes cycles per layer without negative stalls.
    """
    totals = report["totals"]
    assert totals["cycles"] >= totals["compute_cycles"]


def check_simulation(text: str) -> dict[str, Any]:
    """Parse a ``simulate --json`` report and run every check; returns the report."""
    report = parse_report(text)
    check_numbers(report)
    check_bounds(report)
    return report
