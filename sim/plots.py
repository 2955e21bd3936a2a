"""Matplotlib figures; every file is written whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from sim.config import ConfigError  # noqa: E402
from sim.peak import PeakReport  # noqa: E402


def save_figure(figure: Figure, path: str | Path) -> None:
    """Save via a temporary file in the same folder and a rename; the format follows the suffix."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ConfigError(path, "unsupported plot format", allowed=".png, .svg, .pdf")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix,
                                         dir=path.parent)
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=150)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    finally:
        plt.close(figure)


def live_memory_figure(report: PeakReport, budget_bytes: int | None = None) -> Figure:
    """Per-layer live memory (KB), the peak marked, an optional budget line (seed 001 Fig. 1)."""
    names = [layer.name for layer in report.per_layer]
    values = [layer.live_bytes / 1000 for layer in report.per_layer]
    figure, axes = plt.subplots(figsize=(max(8.0, 0.16 * len(names) + 3), 4.5),
                                layout="constrained")
    peak_index = values.index(max(values))
    colors = ["tab:red" if i == peak_index else "tab:blue" for i in range(len(values))]
    axes.bar(range(len(values)), values, color=colors, width=0.8)
    axes.annotate(
        f"peak {report.peak_bytes / 1000:,.0f} KB\n({report.peak_layer})",
        xy=(peak_index, values[peak_index]), xytext=(8, -4), textcoords="offset points",
        ha="left", va="top", fontsize=9,
    )
    if budget_bytes is not None:
        axes.axhline(budget_bytes / 1000, color="black", linestyle="--", linewidth=1.2,
                     label=f"budget {budget_bytes / 1000:,.0f} KB")
        axes.legend(loc="upper right")
    axes.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
    axes.set_xlim(-0.6, len(names) - 0.4)
    axes.set_ylabel(f"live memory (KB, {report.dtype})")
    axes.set_xlabel("layer (execution order)")
    axes.set_title(f"{report.network}: live memory per layer")
    axes.grid(axis="y", alpha=0.3)
    return figure
