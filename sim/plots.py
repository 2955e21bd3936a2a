"""Matplotlib figures; every file is written whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.config import ConfigError  # noqa: E402
from sim.output import write_files_atomic  # noqa: E402
from sim.peak import PeakReport  # noqa: E402

FORMATS = ("png", "svg", "pdf")


def save_figure(figure: Figure, path: str | Path, also: tuple[str, ...] = ()) -> None:
    """Save via temporary files in the same folder and renames; the format follows the suffix.

    ``also`` lists more suffixes to save the same figure as (e.g. ``(".svg",)``). Either every
    file is written or none is.
    """
    path = Path(path)
    targets = [path, *(path.with_suffix(suffix) for suffix in also)]
    for target in targets:
        if target.suffix.lower().lstrip(".") not in FORMATS:
            raise ConfigError(target, "unsupported plot format",
                              allowed=", ".join(f".{f}" for f in FORMATS))
    try:
        write_files_atomic([(target, _figure_writer(figure, target.suffix.lower().lstrip(".")))
                            for target in targets])
    finally:
        plt.close(figure)


def _figure_writer(figure: Figure, format: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        figure.savefig(path, dpi=150, format=format)
    return write


def live_memory_figure(report: PeakReport, budget_bytes: int | None = None) -> Figure:
    """Per-layer live memory (KB), the peak marked, an optional budget line (seed 001 Fig. 1)."""
    names = [layer.name for layer in report.per_layer]
    values = [layer.live_bytes / 1000 for layer in report.per_layer]
    figure, axes = plt.subplots(figsize=(max(8.0, 0.16 * len(names) + 3), 4.5),
                                layout="constrained")
    peak_index = values.index(max(values))
    colors = ["tab:red" if i == peak_index else "tab:blue" for i in range(len(values))]
    axes.bar(range(len(values)), values, color=colors, width=0.8)
    axes.annotate(  # above the peak bar, clear of its neighbours
        f"peak {report.peak_bytes / 1000:,.0f} KB ({report.peak_layer})",
        xy=(peak_index, values[peak_index]), xytext=(0, 6), textcoords="offset points",
        ha="center", va="bottom", fontsize=9,
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
    )
    top = max(values) * 1.15
    if budget_bytes is not None:
        axes.axhline(budget_bytes / 1000, color="black", linestyle="--", linewidth=1.2,
                     label=f"budget {budget_bytes / 1000:,.0f} KB ({budget_bytes / 1024:,.0f} "
                           "KiB)")
        top = max(top, budget_bytes / 1000 * 1.15)
        axes.legend(loc="upper right", framealpha=1.0)
    axes.set_ylim(0, top)
    axes.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    axes.set_xlim(-0.6, len(names) - 0.4)
    axes.set_ylabel(f"live memory (KB, {report.dtype})")
    axes.set_xlabel("layer (execution order)")
    axes.set_title(f"{report.network}: live memory per layer")
    axes.grid(axis="y", alpha=0.3)
    return figure
