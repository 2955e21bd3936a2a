"""The sweep figure of each layer's DRAM traffic against its lower bound."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

MAX_PANELS = 4
# A layer whose input or output stays on chip can fall below its own bar: say so in the legend.
BOUND_LABEL = "layer bound:\neach tensor once from DRAM;\nkept on chip, a layer\ncan move less"
# One marker and colour per dataflow in every panel.
STYLE = {"layerwise": ("v", "tab:red"), "tiled": ("D", "tab:purple"),
         "buffered": ("o", "tab:blue"), "fused": ("^", "tab:green"), "full": ("s", "tab:orange")}


def traffic_vs_bound_figure(rows: list[dict[str, Any]]) -> Figure | None:
    """One panel per (network, hardware): per layer, its lower bound (grey bars) and the DRAM
    traffic of each dataflow run on it with the base options (markers), in KB on a log axis.

    Per dataflow the point that varies least is drawn (the base options where the sweep has
    them), so each marker is one schedule. A layer whose inputs or output stay on chip can move
    less than its own bound, which counts each of its tensors once.
    """
    panels: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    fewest: dict[tuple[str, str, str], int] = {}
    for row in rows:
        result = row["result"]
        key = (_network_label(row), result["hardware"])
        varied = len(set(row["labels"]) - {"dataflow", "network", "hardware",
                                           "network_options.resolution"})
        slot = (*key, result["dataflow"])
        if slot in fewest and fewest[slot] <= varied:
            continue
        fewest[slot] = varied
        panels.setdefault(key, {})[result["dataflow"]] = result
    panels = {key: value for key, value in panels.items() if value}
    if not panels:
        return None
    chosen = list(panels.items())[:MAX_PANELS]
    figure, axes_list = plt.subplots(len(chosen), 1, figsize=(12, 3.2 * len(chosen)),
                                     layout="constrained", squeeze=False)
    for axes, ((network, hardware), results) in zip(axes_list[:, 0], chosen, strict=True):
        first = next(iter(results.values()))
        bounds = [layer["lower_bound_bytes"] / 1e3 for layer in first["layers"]]
        positions = range(len(bounds))
        axes.bar(positions, bounds, color="0.8", label=BOUND_LABEL)
        for dataflow, result in sorted(results.items(), key=lambda item: list(STYLE).index(
                item[0]) if item[0] in STYLE else len(STYLE)):
            traffic = [(layer["dram_read_bytes"] + layer["dram_write_bytes"]) / 1e3
                       for layer in result["layers"]]
            marker, colour = STYLE.get(dataflow, ("x", "black"))
            axes.plot(positions, traffic, marker=marker, color=colour, linestyle="none",
                      markersize=5, fillstyle="none",
                      label=f"{dataflow} ({result['totals']['traffic_to_bound']:.2f}x bound)")
        axes.set_yscale("log")
        axes.set_ylabel("DRAM KB per layer")
        axes.set_title(f"{network} on {hardware}: per-layer traffic against its lower bound",
                       fontsize=10)
        axes.grid(axis="y", alpha=0.3, which="both")
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    title="network traffic", title_fontsize=7)
    axes_list[-1, 0].set_xlabel("layer (execution order)")
    return figure


def _network_label(row: dict[str, Any]) -> str:
    resolution = row["labels"].get("network_options.resolution")
    name = row["result"]["network"]
    return f"{name}-{resolution:g}" if isinstance(resolution, int | float) else name
