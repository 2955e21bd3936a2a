"""Figures of the weight experiments (seed 003's plots), one subplot per model.

Accuracy in percent, accuracy drop in percentage points, memory in KB (1000 bytes).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots import plt
from sim.weights.experiment import ExperimentResult, Record


def _grid(models: list[dict[str, Any]], title: str) -> tuple[Figure, list[Axes]]:
    figure, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 4.0),
                                layout="constrained", squeeze=False)
    figure.suptitle(title)
    return figure, list(axes[0])


def _accuracy_axes(axes: Axes, model: dict[str, Any]) -> None:
    """Title, accuracy axis (0-100 %) and the model's baseline accuracy as a dashed line."""
    axes.axhline(model["baseline_accuracy_pct"], color="black", linestyle="--", linewidth=1,
                 label=f"baseline {model['baseline_accuracy_pct']:.1f} %")
    axes.set_title(f"{model['name']} ({model['dataset']})")
    axes.set_ylabel("test accuracy (%)")
    axes.set_ylim(0, 100)


def _records(result: ExperimentResult, model: str, experiment: str) -> list[Record]:
    return [r for r in result.records if r.model == model and r.experiment == experiment]


def noise_figure(result: ExperimentResult, experiment: str) -> Figure:
    """Accuracy vs scalar, one line per layer (``scalar_add`` or ``scalar_multiply``)."""
    models = result.summary["models"]
    label = {"scalar_add": "w + s", "scalar_multiply": "w * s"}[experiment]
    figure, axes_list = _grid(models, f"Accuracy after {label} on one layer")
    for axes, model in zip(axes_list, models, strict=True):
        rows = _records(result, model["name"], experiment)
        for layer in [layer["name"] for layer in model["layers"]]:
            points = sorted((r.value, r.accuracy_pct) for r in rows if r.layer == layer)
            axes.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                      markersize=3, label=layer)
        _accuracy_axes(axes, model)
        axes.set_xlabel("scalar s")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    return figure


def bit_flip_figure(result: ExperimentResult) -> Figure:
    """Mean accuracy with one random bit flipped per weight of one layer, per layer."""
    models = result.summary["models"]
    figure, axes_list = _grid(models, "Accuracy after bit flips in one layer")
    for axes, model in zip(axes_list, models, strict=True):
        values = model["bit_flip_accuracy_pct"]
        axes.bar(list(values), list(values.values()), color="tab:red")
        _accuracy_axes(axes, model)
        axes.legend(fontsize=7)
    return figure


def centralization_figure(result: ExperimentResult) -> Figure:
    """Unitary and layer-wise centralization (each layer alone, and all layers) per model."""
    models = result.summary["models"]
    figure, axes_list = _grid(models, "Unitary and layer-wise centralization")
    for axes, model in zip(axes_list, models, strict=True):
        names: list[str] = []
        for distribution, data in model["centralization"].items():
            names = ["unitary", *data["layer_wise_accuracy_pct"]]
            values = [data["unitary_accuracy_pct"], *data["layer_wise_accuracy_pct"].values()]
            offset = 0.4 * list(model["centralization"]).index(distribution) - 0.2
            axes.bar([i + offset for i in range(len(names))], values, width=0.4,
                     label=distribution)
        axes.set_xticks(range(len(names)), names, rotation=45, fontsize=7)
        _accuracy_axes(axes, model)
        axes.legend(fontsize=7)
    return figure


def batch_size_figure(result: ExperimentResult) -> Figure:
    """Accuracy vs batch size: all layers centralized, and each layer alone (uniform first)."""
    models = result.summary["models"]
    figure, axes_list = _grid(models, "Batch-wise centralization: accuracy vs batch size")
    for axes, model in zip(axes_list, models, strict=True):
        for distribution, data in model["centralization"].items():
            curve = data["batch_wise"]
            axes.plot([p["batch_size"] for p in curve], [p["accuracy_pct"] for p in curve],
                      marker="o", linewidth=2, label=f"all layers, {distribution}")
        first = next(iter(model["centralization"].values()))
        for layer, data in first["per_layer"].items():
            curve = data["batch_wise"]
            axes.plot([p["batch_size"] for p in curve], [p["accuracy_pct"] for p in curve],
                      linestyle=":", marker=".", label=f"{layer} only")
        _accuracy_axes(axes, model)
        axes.set_xscale("log", base=2)
        axes.set_xlabel("batch size (weights per mean/std pair)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=6)
    return figure


def memory_figure(result: ExperimentResult) -> Figure:
    """Memory saved (KB) vs accuracy drop (points), one point per batch size."""
    models = result.summary["models"]
    figure, axes_list = _grid(models, "Memory saved vs accuracy drop")
    for axes, model in zip(axes_list, models, strict=True):
        first = next(iter(model["centralization"].values()))
        series = [("all layers", first["batch_wise"])]
        series += [(f"{layer} only", data["batch_wise"])
                   for layer, data in first["per_layer"].items()]
        for label, curve in series:
            axes.plot([p["memory_saved_bytes"] / 1000 for p in curve],
                      [p["accuracy_drop_pct"] for p in curve], marker="o", markersize=3,
                      linestyle="-" if label == "all layers" else ":", label=label)
        axes.axhline(result.summary["tolerance_pct"], color="black", linestyle="--",
                     linewidth=1, label=f"tolerance {result.summary['tolerance_pct']:g} pt")
        axes.set_title(f"{model['name']} ({model['dataset']}), "
                       f"{next(iter(model['centralization']))}")
        axes.set_xlabel("weight memory saved (KB, fp32)")
        axes.set_ylabel("accuracy drop (percentage points)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=6)
    return figure


def zero_skip_figure(result: ExperimentResult) -> Figure:
    """Accuracy vs fraction of weights skipped, one point per threshold."""
    models = result.summary["models"]
    figure, axes_list = _grid(models, "Zero skipping: accuracy vs skipped weights")
    for axes, model in zip(axes_list, models, strict=True):
        points = model["zero_skip"]
        axes.plot([100 * p["skipped_weight_fraction"] for p in points],
                  [p["accuracy_pct"] for p in points], marker="o")
        for p in points:
            axes.annotate(f"{p['threshold']:g}", (100 * p["skipped_weight_fraction"],
                                                  p["accuracy_pct"]), fontsize=6)
        _accuracy_axes(axes, model)
        axes.set_xlabel("weights and MACs skipped (%)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    return figure


FIGURES: dict[str, Callable[[ExperimentResult], Figure]] = {
    "noise_addition.png": lambda result: noise_figure(result, "scalar_add"),
    "noise_multiplication.png": lambda result: noise_figure(result, "scalar_multiply"),
    "bit_flip.png": bit_flip_figure,
    "centralization_layers.png": centralization_figure,
    "accuracy_vs_batch_size.png": batch_size_figure,
    "memory_saved_vs_accuracy_drop.png": memory_figure,
}


def figure_files(result: ExperimentResult, out_dir: str | Path
                 ) -> list[tuple[Path, Callable[[Path], None]]]:
    """Every figure as (path in ``out_dir``, writer) for :func:`sim.output.write_files_atomic`;
    each writer saves its figure as PNG and closes it."""
    out_dir = Path(out_dir)
    figures = dict(FIGURES)
    if any(model["zero_skip"] for model in result.summary["models"]):
        figures["zero_skip.png"] = zero_skip_figure
    return [(out_dir / name, _png_writer(make(result))) for name, make in figures.items()]


def _png_writer(figure: Figure) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        try:
            figure.savefig(path, dpi=150, format="png")
        finally:
            plt.close(figure)
    return write
