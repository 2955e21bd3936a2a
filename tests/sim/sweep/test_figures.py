"""Each sweep figure drawn from a small sweep, checked through matplotlib's objects: series,
points, labels and panels are derived here from the sweep file and the stored totals."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from sim.cli import main
from sim.sweep.plots import (
    energy_breakdown_figure,
    pareto_figure,
    roofline_figure,
    traffic_vs_figure,
)
from sim.sweep.store import ResultsStore

ROOT = Path(__file__).resolve().parents[3]
SWEEP = f"""name: figures
base:
  network: lightweight_cnn
  hardware: {ROOT / "configs/hardware/jetson_nano.yaml"}
  dataflow: tiled
  technique: {{tile: 32, buffer_channels: 64}}
points:
  - {{}}
  - {{technique.tile: 16}}
  - {{dataflow: full, technique.tile: 16}}
  - {{dataflow: full, technique.tile: 32}}
  - {{dataflow: buffered}}
  - {{dataflow: buffered, technique.buffer_channels: 32}}
  - {{dataflow: buffered, technique.buffer_channels: 128}}
  - {{network: mobilenet_v2, network_options.resolution: 32, dataflow: layerwise}}
"""
# The base point (tiled, T = 32) joins the tile axis of the tiled line.
TILE_SERIES = {"tiled": [16, 32], "full": [16, 32]}
BUFFER_SERIES = {"buffered": [32, 64, 128]}
POINTS = 8


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    (folder / "s.yaml").write_text(SWEEP)
    assert main(["sweep", str(folder / "s.yaml"), "--out", str(folder / "out"),
                 "--executor", "inline", "--no-plots", "--json"]) == 0
    store = ResultsStore(folder / "out")
    try:
        rows = store.rows()
    finally:
        store.close()
    assert len(rows) == POINTS
    return rows


def _traffic(row) -> float:
    totals = row["result"]["totals"]
    return (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / 1e6


def _expected_line(rows, dataflow: str, option: str, values: list[int]) -> list[float]:
    """Traffic of the lightweight CNN points of ``dataflow`` at each ``option`` value, the
    other option at the base value."""
    other = {"tile": "buffer_channels", "buffer_channels": "tile"}[option]
    found = {}
    for row in rows:
        options = row["config"]["options"]
        if (row["config"]["network"]["name"] == "lightweight_cnn"
                and options["dataflow"] == dataflow
                and options.get(other, {"tile": 32, "buffer_channels": 64}[other])
                == {"tile": 32, "buffer_channels": 64}[other]):
            found[options[option]] = _traffic(row)
    return [found[v] for v in values]


@pytest.mark.parametrize(("option", "expected"), [("tile", TILE_SERIES),
                                                  ("buffer_channels", BUFFER_SERIES)])
def test_traffic_lines_group_points_by_what_varies(rows, option, expected):
    figure = traffic_vs_figure(rows, option, option)
    axes = figure.axes[0]
    lines = {line.get_label(): line for line in axes.get_lines()}
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == list(expected)
    assert len(lines) == len(expected)
    for name, xs in expected.items():
        assert list(lines[name].get_xdata()) == xs
        assert list(lines[name].get_ydata()) == pytest.approx(
            _expected_line(rows, name, option, xs))
    plt.close(figure)


def test_energy_breakdown_has_one_panel_per_network(rows):
    figure = energy_breakdown_figure(rows)
    panels = [axes for axes in figure.axes if axes.get_title()]
    # From the sweep file: every point is on jetson_nano at int8; the one MobileNetV2 point
    # is layerwise, the lightweight CNN's dataflows vary.
    assert [axes.get_title() for axes in panels] == [
        "lightweight_cnn 32px\njetson_nano int8", "mobilenet_v2 32px\njetson_nano layerwise int8"]
    counts = [len(axes.get_xticklabels()) for axes in panels]
    assert counts == [POINTS - 1, 1]
    for axes, count in zip(panels, counts, strict=True):
        heights: dict[float, float] = {}
        for patch in axes.patches:  # stacked bars: the heights at one x add to the total
            heights[round(patch.get_x(), 6)] = heights.get(round(patch.get_x(), 6), 0) + \
                patch.get_height()
        assert len(heights) == count
    lightweight = [r for r in rows if r["config"]["network"]["name"] == "lightweight_cnn"]
    totals = sorted(r["result"]["totals"]["energy_pj"]["total"] / 1e9 for r in lightweight)
    drawn = sorted(_bar_totals(panels[0]))
    assert drawn == pytest.approx(totals)
    labels = [t.get_text() for t in panels[0].get_xticklabels()]
    assert all(len(label) <= 30 for label in labels)  # short labels, not option strings
    assert len(set(labels)) == len(labels)
    plt.close(figure)


def _bar_totals(axes) -> list[float]:
    heights: dict[float, float] = {}
    for patch in axes.patches:
        key = round(patch.get_x(), 6)
        heights[key] = heights.get(key, 0) + patch.get_height()
    return list(heights.values())


def test_pareto_front_is_drawn_per_network_and_its_points_named(rows):
    # Each network's front by brute force over the stored totals: a point no other point of
    # the same network matches or beats on both latency and energy.
    by_network: dict[str, list[tuple[float, float]]] = {}
    for r in rows:
        shape = r["config"]["network"]["input"]
        name = f"{r['config']['network']['name']} {shape['height']}px"
        totals = r["result"]["totals"]
        by_network.setdefault(name, []).append((totals["latency_s"] * 1e3,
                                                totals["energy_pj"]["total"] / 1e9))
    fronts = {name: sorted(p for p in points
                           if not any(q[0] <= p[0] and q[1] <= p[1] and q != p for q in points))
              for name, points in by_network.items()}
    figure = pareto_figure(rows)
    axes = figure.axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    expected = []
    for name, front in fronts.items():
        expected.append(f"{name}: design points")
        expected.extend(["front"] * len(front))
    assert [label if label.endswith("design points") else label.split(" ")[0]
            for label in labels] == expected
    fronts_named = [label for label in labels if label.startswith("front")]
    assert all(label.startswith(f"front {i + 1}: ") for i, label in enumerate(fronts_named))
    assert len(axes.texts) == 0  # no annotations on the axes to collide
    # One joining line per network through exactly its front's points.
    lines = [[v for point in sorted(zip(*line.get_data(), strict=True)) for v in point]
             for line in axes.lines]
    assert lines == [pytest.approx([v for point in front for v in point])
                     for front in fronts.values()]
    # Every point drawn once among the networks' clouds.
    clouds = [c for c, label in zip(axes.collections, [c.get_label() for c in axes.collections],
                                    strict=True) if label.endswith("design points")]
    assert sum(len(c.get_offsets()) for c in clouds) == POINTS
    plt.close(figure)


def test_titles_fit_their_figures(rows):
    figures = [energy_breakdown_figure(rows), pareto_figure(rows), roofline_figure(rows[0]),
               traffic_vs_figure(rows, "tile", "tile")]
    for figure in figures:
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        box = figure.bbox
        texts = [axes.title for axes in figure.axes] + ([figure._suptitle]
                                                         if figure._suptitle else [])
        for text in texts:
            if text.get_text():
                extent = text.get_window_extent(renderer)
                assert box.x0 - 1 <= extent.x0 and extent.x1 <= box.x1 + 1, text.get_text()
        plt.close(figure)


def test_plot_writes_the_chosen_format(rows, tmp_path, capsys):
    folder = tmp_path / "copy"
    store = ResultsStore(folder)
    try:
        for row in rows:
            store.add(row["key"], row["labels"], row["config"], row["result"])
    finally:
        store.close()
    assert main(["plot", str(folder), "--format", "pdf"]) == 0
    written = capsys.readouterr().out.split()
    assert written and all(path.endswith(".pdf") for path in written)
    assert {p.suffix for p in (folder / "plots").iterdir()} == {".pdf"}
    assert all(Path(p).read_bytes().startswith(b"%PDF") for p in written)
    json.dumps(written)
