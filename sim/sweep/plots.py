"""Figures of a sweep (PNG and SVG): energy breakdown, traffic vs tile and buffer size, the
energy/latency Pareto front, a per-layer roofline, per-layer traffic against its lower bound
and the per-layer live memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from sim.energy import COMPONENTS
from sim.hardware import HardwareSpec
from sim.peak import layerwise_peak
from sim.plots import live_memory_figure, save_figure
from sim.sweep.bound_figure import traffic_vs_bound_figure
from sim.sweep.worker import network_from_dict


def _short(value: Any) -> str:
    return Path(value).stem if isinstance(value, str) and "/" in value else str(value)


def label(row: dict[str, Any]) -> str:
    """A short name for a point: its varied axes (paths by file stem), or network + dataflow."""
    if row["labels"]:
        return ", ".join(f"{k.split('.')[-1]}={_short(v)}"
                         for k, v in sorted(row["labels"].items()))
    return f"{row['result']['network']} {row['result']['dataflow']}"


def energy_breakdown_figure(rows: list[dict[str, Any]]) -> Figure:
    figure, axes = plt.subplots(figsize=(max(7.0, 0.45 * len(rows) + 3), 8),
                                layout="constrained")
    bottoms = [0.0] * len(rows)
    for component in COMPONENTS:
        values = [row["result"]["totals"]["energy_pj"][component] / 1e9 for row in rows]
        if any(values):
            axes.bar(range(len(rows)), values, bottom=bottoms, label=component)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.set_xticks(range(len(rows)), [label(r) for r in rows], rotation=60, ha="right",
                    fontsize=7)
    axes.set_ylabel("energy per inference (mJ)")
    axes.set_title("Energy breakdown per design point")
    axes.legend(fontsize=7, ncols=2)
    axes.grid(axis="y", alpha=0.3)
    return figure


def traffic_vs_figure(rows: list[dict[str, Any]], axis: str, xlabel: str) -> Figure | None:
    """DRAM traffic (MB) against one varied axis, one line per combination of the others."""
    varied = [r for r in rows if axis in r["labels"]]
    if len({r["labels"][axis] for r in varied}) < 2:
        return None
    series: dict[str, list[tuple[Any, float]]] = {}
    for row in varied:
        others = {k: v for k, v in row["labels"].items() if k != axis}
        name = ", ".join(f"{k.split('.')[-1]}={v}" for k, v in sorted(others.items())) or "all"
        totals = row["result"]["totals"]
        megabytes = (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / 1e6
        series.setdefault(name, []).append((row["labels"][axis], megabytes))
    figure, axes = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for name, points in sorted(series.items()):
        points.sort()
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("DRAM traffic per inference (MB)")
    axes.set_title(f"DRAM traffic vs {xlabel}")
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    return figure


def pareto_figure(rows: list[dict[str, Any]]) -> Figure:
    """Energy vs latency; the points no other point beats on both are joined and labelled."""
    points = [(r["result"]["totals"]["latency_s"] * 1e3,
               r["result"]["totals"]["energy_pj"]["total"] / 1e9, label(r)) for r in rows]
    front = [p for p in points
             if not any(q[0] <= p[0] and q[1] <= p[1] and q[:2] != p[:2] for q in points)]
    front.sort()
    figure, axes = plt.subplots(figsize=(7, 5), layout="constrained")
    axes.scatter([p[0] for p in points], [p[1] for p in points], color="tab:gray",
                 label="design points")
    axes.plot([p[0] for p in front], [p[1] for p in front], color="tab:red", marker="o",
              label="Pareto front")
    for latency, energy, name in front:
        axes.annotate(name, (latency, energy), textcoords="offset points", xytext=(4, 4),
                      fontsize=6)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("latency per inference (ms)")
    axes.set_ylabel("energy per inference (mJ)")
    axes.set_title("Energy vs latency")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, which="both")
    return figure


def roofline_figure(row: dict[str, Any]) -> Figure:
    """Each layer's MACs per DRAM byte against its achieved MACs per second, under the roofs."""
    hardware = HardwareSpec.model_validate(row["config"]["hardware"])
    peak_macs = hardware.pe_array.macs_per_cycle * hardware.clock_hz
    bandwidth = hardware.dram.peak_bytes_per_s
    layers = [layer for layer in row["result"]["layers"]
              if layer["macs"] and layer["latency_s"] > 0
              and layer["dram_read_bytes"] + layer["dram_write_bytes"] > 0]
    intensity = [layer["macs"] / (layer["dram_read_bytes"] + layer["dram_write_bytes"])
                 for layer in layers]
    achieved = [layer["macs"] / layer["latency_s"] for layer in layers]
    figure, axes = plt.subplots(figsize=(7, 5), layout="constrained")
    low, high = min(intensity + [1.0]) / 2, max(intensity + [peak_macs / bandwidth]) * 2
    knee = peak_macs / bandwidth
    axes.plot([low, knee, high], [low * bandwidth, peak_macs, peak_macs], color="black",
              label=f"roof: {peak_macs / 1e9:.0f} GMAC/s, {bandwidth / 1e9:.1f} GB/s")
    axes.scatter(intensity, achieved, s=14, color="tab:blue", label="layers")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("operational intensity (MACs per DRAM byte)")
    axes.set_ylabel("achieved MACs per second")
    axes.set_title(f"Roofline: {row['result']['network']} on {hardware.name} ({label(row)})")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, which="both")
    return figure


def write_plots(rows: list[dict[str, Any]], folder: str | Path) -> list[Path]:
    """Write every figure as PNG and SVG into ``folder``; returns the PNG paths."""
    folder = Path(folder)
    figures: dict[str, Figure | None] = {
        "energy_breakdown": energy_breakdown_figure(rows),
        "traffic_vs_tile": traffic_vs_figure(rows, "technique.tile", "tile size (pixels)"),
        "traffic_vs_buffer": traffic_vs_figure(rows, "technique.buffer_channels",
                                               "feature-map buffer (channels)"),
        "pareto_energy_latency": pareto_figure(rows),
        "roofline": roofline_figure(rows[0]),
        "traffic_vs_bound": traffic_vs_bound_figure(rows),
    }
    first = rows[0]
    network = network_from_dict(first["config"]["network"])
    hardware = HardwareSpec.model_validate(first["config"]["hardware"])
    budget = hardware.buffers.for_operand("ifmap").size_bytes
    figures["live_memory"] = live_memory_figure(
        layerwise_peak(network, first["config"]["options"]["dtype"]), budget)
    written = []
    for name, figure in figures.items():
        if figure is not None:
            save_figure(figure, folder / f"{name}.png", also=(".svg",))
            written.append(folder / f"{name}.png")
    return written
