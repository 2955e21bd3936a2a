"""The experiment runner on a tiny config: record counts, exact baselines where the weights are
exact, storage sizes from the centralization rules, threshold batch size, determinism."""

import csv
import io
import math
from pathlib import Path

import pytest

from sim.techniques.centralization import centralized_weight_bytes, unitary_weight_bytes
from sim.techniques.zero_skip import zero_skip_bytes
from sim.weights.augment import REPORT_NOISE
from sim.weights.config import ExperimentConfig, load_experiment
from sim.weights.experiment import (
    ALL_LAYERS,
    CSV_FIELDS,
    STORAGE_DTYPE,
    records_csv,
    run_experiment,
    threshold_batch_size,
)

ROOT = Path(__file__).resolve().parents[3]

TINY = {
    "seed": 1,
    "noise": [0.5, 1.0],
    "bit_flip_repeats": 2,
    "bit_flip_fraction": 0.5,
    "batch_sizes": [1, 4, 64],
    "distributions": ["uniform", "gaussian"],
    "repeats": 2,
    "streams": 4,
    "zero_skip_thresholds": [0.0, 0.05],
    "models": [
        {"name": "tiny_mlp", "dataset": "wine", "kind": "mlp", "hidden": [8], "epochs": 3},
        {"name": "tiny_cnn", "dataset": "digits", "kind": "cnn", "channels": [2],
         "epochs": 1},
    ],
}


@pytest.fixture(scope="module")
def tiny():
    config = ExperimentConfig.model_validate(TINY)
    return config, run_experiment(config)


def test_record_count_follows_from_the_config(tiny):
    config, result = tiny
    for summary in result.summary["models"]:
        layers = len(summary["layers"])
        per_distribution = config.repeats * (
            1 + (layers + 1) + len(config.batch_sizes) * (layers + 1))
        expected = (1 + layers * (2 * len(config.noise) + config.bit_flip_repeats)
                    + len(config.distributions) * per_distribution
                    + len(config.zero_skip_thresholds))
        assert sum(r.model == summary["name"] for r in result.records) == expected


def test_exact_weights_give_the_baseline_accuracy(tiny):
    _, result = tiny
    for summary in result.summary["models"]:
        baseline = summary["baseline_accuracy_pct"]
        rows = [r for r in result.records if r.model == summary["name"]]
        exact = [r for r in rows if (r.experiment == "scalar_multiply" and r.value == 1.0)
                 or (r.experiment == "batch_wise" and r.value == 1)
                 or (r.experiment == "zero_skip" and r.value == 0.0)]
        assert exact and all(r.accuracy_pct == baseline for r in exact)
        for data in summary["centralization"].values():
            first = data["batch_wise"][0]
            assert first["batch_size"] == 1 and first["accuracy_drop_pct"] == 0


def test_stored_bytes_follow_the_storage_rules(tiny):
    config, result = tiny
    width = STORAGE_DTYPE.bytes
    for summary in result.summary["models"]:
        counts = [layer["weights"] for layer in summary["layers"]]
        assert summary["dense_weight_bytes"] == sum(counts) * width
        rows = [r for r in result.records if r.model == summary["name"]]
        for r in rows:
            if r.experiment == "batch_wise" and r.layer == ALL_LAYERS:
                assert r.stored_weight_bytes == sum(
                    centralized_weight_bytes(c, int(r.value), width) for c in counts)
            elif r.experiment == "unitary":
                assert r.stored_weight_bytes == unitary_weight_bytes(counts, width)
            elif r.experiment == "batch_wise":
                index = [layer["name"] for layer in summary["layers"]].index(r.layer)
                others = sum(counts) - counts[index]
                assert r.stored_weight_bytes == (
                    others * width + centralized_weight_bytes(counts[index], int(r.value), width))
            elif r.experiment == "zero_skip":
                kept = round(sum(counts) * (1 - r.skipped_weight_fraction))
                # kept values at full width, one bitmap and one header per layer
                assert r.stored_weight_bytes == kept * width + sum(
                    zero_skip_bytes(c, 0, width) for c in counts)
            elif r.experiment in ("baseline", "scalar_add", "scalar_multiply", "bit_flip"):
                assert r.stored_weight_bytes == r.dense_weight_bytes
        for data in summary["centralization"].values():
            for point in data["batch_wise"]:
                dense = summary["dense_weight_bytes"]
                assert point["memory_saved_bytes"] == dense - point["stored_weight_bytes"]
                assert point["compression_ratio"] == dense / point["stored_weight_bytes"]


def test_run_is_deterministic(tiny):
    config, result = tiny
    again = run_experiment(config)
    assert again.summary == result.summary
    assert records_csv(again.records) == records_csv(result.records)


def test_csv_has_a_header_and_one_row_per_record(tiny):
    _, result = tiny
    rows = list(csv.DictReader(io.StringIO(records_csv(result.records))))
    assert len(rows) == len(result.records)
    assert tuple(rows[0]) == CSV_FIELDS


def test_summary_carries_the_config_and_its_hash(tiny):
    config, result = tiny
    assert result.summary["config"] == config.model_dump(mode="json")
    assert len(result.summary["config_hash"]) == 16


def _curve(drops):
    return [{"batch_size": 2**i, "accuracy_drop_pct": d} for i, d in enumerate(drops)]


@pytest.mark.parametrize(("drops", "expected"), [
    ([0, 0.5, 0.9, 3.0], 4),        # the last within tolerance before the first failure
    ([0, 2.0, 0.1], 1),             # a later pass after a failure does not count
    ([1.5, 0.0], None),             # even the smallest fails
    ([0, 1.0], 2),                  # the tolerance itself is accepted
])
def test_threshold_batch_size(drops, expected):
    assert threshold_batch_size(_curve(drops), 1.0) == expected


def test_default_config_is_valid_and_uses_the_report_noise_vector():
    config = load_experiment(ROOT / "configs" / "weights" / "default.yaml")
    assert tuple(config.noise) == REPORT_NOISE
    assert config.batch_sizes[0] == 1
    assert math.isclose(config.tolerance_pct, 1.0)
