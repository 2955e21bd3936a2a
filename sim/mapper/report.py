"""The ``map`` report: per layer, the chosen mapping, its bus bytes against the layer's lower
bound, and the best fixed dataflow's bytes beside it; per unit, the same comparison; and its
figure.

Per-layer bytes are what each schedule's tiles of that layer put on the DRAM bus (whole bursts).
Fixed dataflows run at their shipped options (tile 16 and 32 where they tile, halo reuse,
feature-map room chosen). A reordered block's tiles count under the layers they belong to; a
fused group's tiles all count under its last layer, so ``fused`` is compared in the totals
only, not layer by layer. Bytes can move between the layers of a unit (a block run reordered,
a fused run), so ``auto``'s promise for ``dram_bytes`` is per unit (:mod:`sim.mapper.units`):
the report lists every unit that moves more than its best fixed dataflow.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from sim.bounds import layer_lower_bound_bytes
from sim.config import ConfigError
from sim.dataflow import FIXED_DATAFLOWS, Schedule, SimulationOptions, plan_schedule
from sim.hardware import HardwareSpec
from sim.mapper.fixed_runs import HALO_REUSE, SHIPPED_TILES
from sim.mapper.network_mapping import NetworkMapping
from sim.mapper.units import bytes_by_layer, compared_units, unit_bytes
from sim.schedule import Tile
from sim.workload.network import Network


def fixed_schedules(network: Network, hardware: HardwareSpec, options: SimulationOptions
                    ) -> list[tuple[str, Schedule]]:
    """Every fixed dataflow at its shipped options that runs on this hardware, by label
    (``layerwise``, ``tiled/16``, ``tiled/32``, ``buffered``, ``fused/16``, ..., ``full/32``):
    tile edge 16 and 32 where it tiles, halo reuse, the feature-map room chosen, with the
    dtype and weight storage of ``options``."""
    runs = []
    for dataflow in FIXED_DATAFLOWS:
        tiles = SHIPPED_TILES if dataflow in ("tiled", "fused", "full") else (None,)
        for tile in tiles:
            chosen = dataclasses.replace(options, dataflow=dataflow, mapping=None,
                                         tile=tile or options.tile, halo_reuse=HALO_REUSE,
                                         buffer_channels=None)
            try:
                schedule = plan_schedule(network, hardware, chosen)
            except ConfigError:
                continue  # does not fit this hardware
            runs.append((dataflow if tile is None else f"{dataflow}/{tile}", schedule))
    return runs


def fixed_bytes_by_layer(network: Network, hardware: HardwareSpec, options: SimulationOptions
                         ) -> dict[str, dict[str, int]]:
    """Per fixed run of :func:`fixed_schedules`, its bytes by layer."""
    return {label: bytes_by_layer(schedule.tiles, hardware.dram.burst_bytes)
            for label, schedule in fixed_schedules(network, hardware, options)}


def _per_layer(fixed: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The runs compared layer by layer (``fused`` counts a group at its last layer)."""
    return {label: per for label, per in fixed.items() if not label.startswith("fused")}


def map_units(network: Network, mapping: NetworkMapping, tiles: list[Tile],
              fixed: dict[str, dict[str, int]], burst_bytes: int) -> list[dict[str, Any]]:
    """One row per unit (:mod:`sim.mapper.units`): its layers, its bytes, and the fixed run
    that moves the fewest there with those bytes."""
    units = compared_units(network, mapping.fused)
    moved = unit_bytes(units, bytes_by_layer(tiles, burst_bytes))
    per_run = {label: unit_bytes(units, per) for label, per in _per_layer(fixed).items()}
    rows = []
    for unit, layers in units.items():
        best = min(((label, per[unit]) for label, per in per_run.items()),
                   key=lambda item: item[1], default=("", 0))
        rows.append({"unit": unit, "layers": layers, "dram_burst_bytes": moved[unit],
                     "best_fixed_dataflow": best[0], "best_fixed_bytes": best[1]})
    return rows


def _summary(entry: dict[str, Any] | None, reordered: str | None) -> str:
    if reordered:
        return f"reordered block {reordered}"
    if entry is None:
        return ""
    text = f"{entry['tile'][0]}x{entry['tile'][1]} {entry['split']}"
    if entry["filter_blocks"] > 1:
        text += f", {entry['filter_blocks']} filter blocks"
    if entry["stationary"] == "output":
        text += f", {entry['input_channel_blocks']} input-channel blocks"
    elif entry["stationary"] == "weight":
        text += ", weight-stationary"
        if entry["input_channel_blocks"] > 1:
            text += (f", {entry['input_channel_blocks']} input-channel blocks, partial sums "
                     "spilled")
    if entry.get("gather"):
        text += ", gathered"
    return text


def map_rows(network: Network, hardware: HardwareSpec, mapping: NetworkMapping,
             tiles: list[Tile], fixed: dict[str, dict[str, int]], dtype_bytes: int,
             options: SimulationOptions) -> list[dict[str, Any]]:
    """One row per layer: mapping, bytes, bound, ratio, best fixed dataflow and its bytes."""
    from sim.techniques.reorder import find_bottlenecks

    moved = bytes_by_layer(tiles, hardware.dram.burst_bytes)
    entries = {entry.layer: entry.to_dict() for entry in mapping.layers}
    blocks = {info.name: block.name for block in find_bottlenecks(network)
              if block.name in mapping.reordered for info in block.infos}
    rows = []
    for info in network.infos:
        bound = layer_lower_bound_bytes(info, hardware, dtype_bytes, options.weight_storage)
        best = min(((name, per.get(info.name, 0)) for name, per in _per_layer(fixed).items()),
                   key=lambda item: item[1], default=("", 0))
        rows.append({
            "layer": info.name, "mapping": entries.get(info.name),
            "reordered_block": blocks.get(info.name),
            "summary": _summary(entries.get(info.name), blocks.get(info.name)),
            "dram_burst_bytes": moved.get(info.name, 0), "lower_bound_bytes": bound,
            "traffic_to_bound": moved.get(info.name, 0) / bound if bound else 0.0,
            "best_fixed_dataflow": best[0], "best_fixed_bytes": best[1],
        })
    return rows


def map_table(rows: list[dict[str, Any]], mapping: NetworkMapping,
              fixed: dict[str, dict[str, int]], units: list[dict[str, Any]]) -> str:
    """The report as text: one line per layer, the total, each fixed dataflow's total, and
    the units that move more than their best fixed dataflow."""
    lines = [f"{'layer':24s} {'mapping':40s} {'bus B':>11s} {'x bound':>8s} "
             f"{'best fixed':>10s} {'its B':>11s}"]
    for row in rows:
        lines.append(f"{row['layer']:24s} {row['summary'][:40]:40s} "
                     f"{row['dram_burst_bytes']:>11,d} {row['traffic_to_bound']:>8.2f} "
                     f"{row['best_fixed_dataflow']:>10s} {row['best_fixed_bytes']:>11,d}")
    total = sum(row["dram_burst_bytes"] for row in rows)
    lines.append(f"{'total':24s} {'auto (' + mapping.objective + ')':40s} {total:>11,d}")
    lines.append("fixed dataflows, whole network: " + ", ".join(
        f"{name} {sum(per.values()):,d} B" for name, per in fixed.items()))
    lines.append(f"resident feature maps: {len(mapping.resident)}; reordered blocks: "
                 f"{len(mapping.reordered)}")
    above = [unit for unit in units if unit["dram_burst_bytes"] > unit["best_fixed_bytes"]]
    lines.append(f"units (a layer, a block, a fused run) moving more than their best fixed "
                 f"dataflow: {len(above)} of {len(units)}" + "".join(
                     f"\n  {unit['unit']}: {unit['dram_burst_bytes']:,d} B, "
                     f"{unit['best_fixed_dataflow']} {unit['best_fixed_bytes']:,d} B"
                     for unit in above))
    return "\n".join(lines)


def map_figure(rows: list[dict[str, Any]], fixed: dict[str, dict[str, int]], title: str,
               path: str | Path) -> None:
    """Per-layer bus bytes of auto, of each fixed dataflow and the lower bound (log scale)."""
    from sim.plots import plt
    from sim.sweep.bound_figure import STYLE

    names = [row["layer"] for row in rows]

    def kb(values: list[int]) -> list[float]:
        """KB, with layers that move nothing left out (a log axis has no zero)."""
        return [value / 1e3 if value > 0 else float("nan") for value in values]

    x = range(len(names))
    figure, axes = plt.subplots(figsize=(max(8.0, 0.16 * len(names) + 3) + 2.6, 4.6))
    for dataflow, per in fixed.items():
        # As in the sweep's figures, with the smaller tile edge drawn as dots.
        marker, colour = STYLE.get(dataflow.split("/")[0], ("x", "black"))
        if dataflow.endswith("/16"):
            marker = "."
        label = (f"{dataflow} (a group's loads at its\nfirst layer, stores at its last)"
                 if dataflow.startswith("fused") else dataflow)
        axes.plot(x, kb([per.get(n, 0) for n in names]), marker=marker, linestyle="none",
                  markersize=4, color=colour, alpha=0.7, label=label)
    axes.plot(x, kb([row["dram_burst_bytes"] for row in rows]), marker="*", linestyle="-",
              linewidth=1, markersize=7, color="black",
              label="auto (a fused run likewise)")
    axes.step(x, kb([row["lower_bound_bytes"] for row in rows]), where="mid",
              color="tab:gray", linewidth=1, linestyle="--", label="lower bound of the layer alone")
    axes.set_yscale("log")
    axes.set_ylabel("DRAM bus traffic per layer (KB, log)")
    axes.set_xlabel("layer (network order; layers that move nothing are not drawn)")
    step = max(1, len(names) // 30)
    axes.set_xticks(list(x)[::step])
    axes.set_xticklabels(names[::step], rotation=90, fontsize=6)
    axes.set_title(title, fontsize=10)
    # Beside the axes, so that no layer's point hides behind it.
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes.grid(True, which="major", axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=130)
    plt.close(figure)
