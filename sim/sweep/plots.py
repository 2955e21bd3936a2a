"""Figures of a sweep (PNG and SVG): energy breakdown, traffic vs tile and buffer size, the
energy/latency Pareto front, a per-layer roofline, per-layer traffic against its lower bound
and the per-layer live memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from sim.energy import COMPONENTS
from sim.hardware import HardwareSpec
from sim.peak import layerwise_peak
from sim.plots import live_memory_figure, save_figure
from sim.sweep.bound_figure import traffic_vs_bound_figure
from sim.sweep.worker import network_from_dict


def design(row: dict[str, Any]) -> dict[str, Any]:
    """What defines a point, read from its resolved config (not from how the file named it).

    Options a dataflow does not use are absent, so a sweep's base point and the points that
    vary an axis around it agree on every other field and fall into one series.
    """
    config = row["config"]
    shape = config["network"]["input"]
    options = config["options"]
    fields: dict[str, Any] = {
        "network": f"{config['network']['name']} {shape['height']}px",
        "hardware": config["hardware"]["name"], "dataflow": options["dataflow"],
        "dtype": options["dtype"],
    }
    for name in ("tile", "buffer_channels", "halo_reuse", "weights"):
        if name in options:
            fields[name] = options[name]
    for axis, value in sorted(row["labels"].items()):
        if axis.startswith("hardware."):
            fields[axis] = value
    return fields


def _field_text(name: str, value: Any) -> str:
    if name == "tile":
        return f"T={value}"
    if name == "buffer_channels":
        return f"B={value}"
    if name == "halo_reuse":
        return "halo reuse" if value else "halo refetch"
    if name.startswith("hardware."):
        return f"{name.rsplit('.', 1)[-1]}={value}"
    return str(value)


def short_label(fields: dict[str, Any], shown: list[str]) -> str:
    """The values of ``shown`` fields, short: ``jetson_nano full T=16``."""
    return " ".join(_field_text(name, fields[name]) for name in shown if name in fields)


def varying(designs: list[dict[str, Any]]) -> list[str]:
    """Field names with two or more values among the ``designs`` that have them (in
    first-seen order). A field only some designs use (``tile``) varies only if its values do."""
    names = list(dict.fromkeys(name for fields in designs for name in fields))
    return [name for name in names
            if len({repr(fields[name]) for fields in designs if name in fields}) > 1]


def held(designs: list[dict[str, Any]]) -> list[str]:
    """Field names every one of ``designs`` has, with one value among them, but the network
    (what a panel of one network holds fixed), in first-seen order."""
    names = [name for name in designs[0] if name != "network"]
    return [name for name in names
            if all(name in fields for fields in designs)
            and len({repr(fields[name]) for fields in designs}) == 1]


DATAFLOW_ORDER = ("layerwise", "tiled", "buffered", "fused", "full")


def _order(fields: dict[str, Any]) -> tuple:
    """Sort key: hardware, dataflow in the order of the README, then the numeric options."""
    dataflow = fields["dataflow"]
    rank = DATAFLOW_ORDER.index(dataflow) if dataflow in DATAFLOW_ORDER else len(DATAFLOW_ORDER)
    channels = fields.get("buffer_channels", 0)
    return (fields["hardware"], rank, fields.get("tile", 0),
            channels if isinstance(channels, int) else -1, repr(sorted(fields.items())))


def label(row: dict[str, Any]) -> str:
    """A point's full short name: every field of its design."""
    fields = design(row)
    return short_label(fields, list(fields))


def _traffic_mb(row: dict[str, Any]) -> float:
    totals = row["result"]["totals"]
    return (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / 1e6


def _energy_mj(row: dict[str, Any], component: str = "total") -> float:
    return row["result"]["totals"]["energy_pj"][component] / 1e9


def network_groups(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows by network (name and resolution), in first-seen order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(design(row)["network"], []).append(row)
    return {name: sorted(group, key=lambda row: _order(design(row)))
            for name, group in groups.items()}


def energy_breakdown_figure(rows: list[dict[str, Any]]) -> Figure:
    """Stacked energy per component; one panel (own axis) per network, titled by the network
    and what the panel holds fixed (:func:`held`), bars labelled by what varies within it."""
    groups = network_groups(rows)
    widths = [max(3, len(group)) for group in groups.values()]
    figure, axes_list = plt.subplots(
        1, len(groups), figsize=(min(18.0, 2.5 + 0.5 * sum(widths)), 5.5),
        layout="constrained", squeeze=False, gridspec_kw={"width_ratios": widths})
    used = [c for c in COMPONENTS if any(_energy_mj(row, c) for row in rows)]
    colors = {c: plt.get_cmap("tab10")(i % 10) for i, c in enumerate(used)}
    for axes, (network, group) in zip(axes_list[0], groups.items(), strict=True):
        designs = [design(row) for row in group]
        shown = [name for name in varying(designs) if name != "network"]
        bottoms = [0.0] * len(group)
        for component in used:
            values = [_energy_mj(row, component) for row in group]
            axes.bar(range(len(group)), values, bottom=bottoms, color=colors[component],
                     label=component)
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
        axes.set_xticks(range(len(group)),
                        [short_label(d, shown) or "base" for d in designs],
                        rotation=60, ha="right", rotation_mode="anchor", fontsize=7)
        axes.set_title("\n".join([network, short_label(designs[0], held(designs))]),
                       fontsize=10)
        axes.grid(axis="y", alpha=0.3)
    axes_list[0][0].set_ylabel("energy per inference (mJ)")
    handles, names = axes_list[0][0].get_legend_handles_labels()
    figure.legend(handles, names, loc="outside right upper", fontsize=8, title="component")
    figure.suptitle("Energy breakdown per design point (one panel and axis per network)")
    return figure


def traffic_vs_figure(rows: list[dict[str, Any]], axis: str, xlabel: str) -> Figure | None:
    """DRAM traffic (MB) against option ``axis`` (``tile`` or ``buffer_channels``): one line
    per design that differs only in ``axis``; lines of one point are left out."""
    series: dict[str, list[tuple[Any, float]]] = {}
    keys: dict[str, dict[str, Any]] = {}
    for row in rows:
        fields = design(row)
        if axis not in fields:
            continue
        others = {k: v for k, v in fields.items() if k != axis}
        key = repr(sorted(others.items()))
        keys[key] = others
        value = fields[axis]
        if value == "auto":  # a chosen feature-map room lies on the axis at what was chosen
            value = row["result"]["feature_map_room"]["channels"]
        series.setdefault(key, []).append((value, _traffic_mb(row)))
    lines = {key: sorted(points) for key, points in series.items()
             if len({x for x, _ in points}) >= 2}
    if not lines:
        return None
    shown = varying([keys[key] for key in lines]) or ["dataflow"]
    fixed = {k: v for k, v in keys[next(iter(lines))].items() if k not in shown}
    figure, axes = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for key, points in lines.items():
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                  label=short_label(keys[key], shown))
    axes.set_xscale("log", base=2)
    values = sorted({x for points in lines.values() for x, _ in points})
    axes.set_xticks(values, [str(v) for v in values])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel(xlabel)
    axes.set_ylabel("DRAM traffic per inference (MB)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"DRAM traffic vs {xlabel}\n{short_label(fixed, list(fixed))}", fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return figure


def pareto_front(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows no other row beats on both latency and energy, by latency."""
    def point(row: dict[str, Any]) -> tuple[float, float]:
        return row["result"]["totals"]["latency_s"], _energy_mj(row)
    front = [r for r in rows if not any(
        point(q)[0] <= point(r)[0] and point(q)[1] <= point(r)[1] and point(q) != point(r)
        for q in rows)]
    return sorted(front, key=point)


def pareto_figure(rows: list[dict[str, Any]]) -> Figure:
    """Energy vs latency with one Pareto front per network: networks do different work, so a
    point is weighed only against the points of its own network. Each network's points are in
    its own colour, its front joined by a line of that colour; each front point has its own
    marker, named in the legend (no text on the axes to overlap)."""
    figure, axes = plt.subplots(figsize=(8, 5), layout="constrained")
    colours = plt.get_cmap("tab10")
    markers = "osD^v<>pP*X"
    named = 0
    for number, (network, group) in enumerate(network_groups(rows).items()):
        colour = colours(number % 10)
        axes.scatter([r["result"]["totals"]["latency_s"] * 1e3 for r in group],
                     [_energy_mj(r) for r in group], color=colour, alpha=0.35,
                     label=f"{network}: design points", zorder=2)
        front = pareto_front(group)
        axes.plot([r["result"]["totals"]["latency_s"] * 1e3 for r in front],
                  [_energy_mj(r) for r in front], color=colour, zorder=3)
        for row in front:
            named += 1
            axes.scatter([row["result"]["totals"]["latency_s"] * 1e3], [_energy_mj(row)],
                         marker=markers[(named - 1) % len(markers)], s=60, zorder=4,
                         color=colour, edgecolor="black", label=f"front {named}: {label(row)}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    for scale in (axes.xaxis, axes.yaxis):  # 0.1, 0.2, 0.5, 1, ...: no crowded minor labels
        scale.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        scale.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        scale.set_minor_formatter(NullFormatter())
    axes.set_xlabel("latency per inference (ms)")
    axes.set_ylabel("energy per inference (mJ)")
    axes.set_title("Energy vs latency; each network's Pareto front joined, its points named")
    axes.legend(fontsize=7, loc="upper left")
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
    fields = design(row)
    axes.set_title(f"Roofline: {fields['network']} on {hardware.name}\n"
                   f"{short_label(fields, ['dataflow', 'dtype', 'tile', 'buffer_channels'])}",
                   fontsize=10)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3, which="both")
    return figure


FORMATS = ("png", "svg", "pdf")


def write_plots(rows: list[dict[str, Any]], folder: str | Path,
                formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write every figure into ``folder`` in each of ``formats`` (png, svg, pdf); returns the
    paths of the first format."""
    folder = Path(folder)
    figures: dict[str, Figure | None] = {
        "energy_breakdown": energy_breakdown_figure(rows),
        "traffic_vs_tile": traffic_vs_figure(rows, "tile", "tile edge (output pixels)"),
        "traffic_vs_buffer": traffic_vs_figure(rows, "buffer_channels",
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
            first_path = folder / f"{name}.{formats[0]}"
            save_figure(figure, first_path, also=tuple(f".{f}" for f in formats[1:]))
            written.append(first_path)
    return written
