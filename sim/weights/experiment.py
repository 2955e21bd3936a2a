"""Run the weight experiments of a config: train, perturb, centralize, prune, measure.

Per model: baseline test accuracy; per layer scalar addition and multiplication with each noise
value and bit flips; unitary centralization; layer-wise and batch-wise centralization of all
layers together and of each layer alone (layer column = its name, the others exact); zero
skipping at each threshold. Every measurement is one :class:`Record` (one CSV row);
:func:`summarize_model` condenses them into the numbers the README table and the figures use.

Memory is counted for the weight tensors at fp32 (the width the models run at), with
:func:`sim.techniques.centralization.centralized_weight_bytes` and
:func:`sim.techniques.zero_skip.zero_skip_bytes`; biases stay dense and are reported apart.

Threshold batch size: the largest batch size ``B`` of the grid such that ``B`` and every
smaller batch size of the grid lose at most ``tolerance_pct`` percentage points of mean
accuracy; None if even the smallest one loses more.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from sim.dtypes import DType
from sim.techniques.centralization import (
    CentralizedTensor,
    Distribution,
    centralize,
    centralize_unitary,
    centralized_weight_bytes,
    compression_ratio,
    regenerate,
    unitary_weight_bytes,
)
from sim.techniques.zero_skip import prune, zero_count, zero_skip_bytes
from sim.weights.augment import bit_flip, scalar_add, scalar_multiply
from sim.weights.config import ExperimentConfig, ModelConfig
from sim.weights.datasets import Dataset, load_dataset
from sim.weights.nets import Model, cnn, mlp
from sim.weights.train import TrainOptions, accuracy_pct, train

STORAGE_DTYPE = DType.FP32
"""Width the weights are stored and regenerated at."""

ALL_LAYERS = "all"


@dataclass(frozen=True)
class Record:
    """One measurement. ``value`` is the swept parameter's value (noise, batch size, ...)."""

    model: str
    dataset: str
    experiment: str
    layer: str
    distribution: str
    parameter: str
    value: float
    repeat: int
    accuracy_pct: float
    accuracy_drop_pct: float
    dense_weight_bytes: int
    stored_weight_bytes: int
    skipped_weight_fraction: float


CSV_FIELDS = tuple(field.name for field in fields(Record))


@dataclass
class TrainedModel:
    """A trained model with the data it is tested on."""

    config: ModelConfig
    model: Model
    dataset: Dataset
    x_test: np.ndarray
    losses: list[float]
    baseline_pct: float

    @property
    def dense_weight_bytes(self) -> int:
        return self.model.weight_count() * STORAGE_DTYPE.bytes


@dataclass
class ExperimentResult:
    records: list[Record]
    summary: dict[str, Any]


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of a configuration (canonical JSON, SHA-256, 16 hex digits)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def derived_seed(*parts: int) -> int:
    """A 32-bit seed derived from integers (NumPy's SeedSequence); stable across runs."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def _inputs(model: Model, x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1) if len(model.input_shape) == 1 else x


def train_model(config: ModelConfig, seed: int, test_fraction: float) -> TrainedModel:
    """Build and train one model on its dataset; seeds derive from ``seed`` and nothing else."""
    data = load_dataset(config.dataset, test_fraction=test_fraction, seed=seed)
    init_seed = derived_seed(seed, 1)
    if config.kind == "mlp":
        model = mlp(config.name, data.features, config.hidden, data.classes, seed=init_seed)
    else:
        assert data.image_shape is not None
        model = cnn(config.name, data.image_shape, config.channels, data.classes,
                    seed=init_seed)
    options = TrainOptions(epochs=config.epochs, batch=config.batch,
                           learning_rate=config.learning_rate, seed=derived_seed(seed, 2))
    losses = train(model, _inputs(model, data.x_train), data.y_train, options)
    x_test = _inputs(model, data.x_test)
    baseline = accuracy_pct(model, x_test, data.y_test)
    return TrainedModel(config, model, data, x_test, losses, baseline)


class _Measure:
    """Accuracy of a trained model under replaced weights, as records."""

    def __init__(self, trained: TrainedModel) -> None:
        self.trained = trained

    def accuracy(self, weights: list[np.ndarray]) -> float:
        t = self.trained
        return accuracy_pct(t.model, t.x_test, t.dataset.y_test, weights)

    def record(self, experiment: str, weights: list[np.ndarray], *, layer: str = ALL_LAYERS,
               distribution: str = "", parameter: str = "", value: float = 0.0,
               repeat: int = 0, stored_bytes: int | None = None,
               skipped: float = 0.0) -> Record:
        t = self.trained
        accuracy = self.accuracy(weights)
        dense = t.dense_weight_bytes
        return Record(
            model=t.config.name, dataset=t.config.dataset, experiment=experiment, layer=layer,
            distribution=distribution, parameter=parameter, value=value, repeat=repeat,
            accuracy_pct=accuracy, accuracy_drop_pct=t.baseline_pct - accuracy,
            dense_weight_bytes=dense,
            stored_weight_bytes=dense if stored_bytes is None else stored_bytes,
            skipped_weight_fraction=skipped,
        )


def _replaced(weights: list[np.ndarray], index: int, new: np.ndarray) -> list[np.ndarray]:
    return [new if i == index else w for i, w in enumerate(weights)]


def augmentation_records(trained: TrainedModel, config: ExperimentConfig) -> list[Record]:
    """Scalar addition, scalar multiplication (each noise value) and bit flips, per layer."""
    measure = _Measure(trained)
    weights = trained.model.weights()
    records = []
    for index, name in enumerate(trained.model.layer_names()):
        for experiment, operation in (("scalar_add", scalar_add),
                                      ("scalar_multiply", scalar_multiply)):
            for noise in config.noise:
                records.append(measure.record(
                    experiment, _replaced(weights, index, operation(weights[index], noise)),
                    layer=name, parameter="noise", value=noise))
        for repeat in range(config.bit_flip_repeats):
            rng = np.random.default_rng(derived_seed(config.seed, 3, index, repeat))
            flipped = bit_flip(weights[index], rng, config.bit_flip_fraction)
            records.append(measure.record(
                "bit_flip", _replaced(weights, index, flipped), layer=name,
                parameter="fraction", value=config.bit_flip_fraction, repeat=repeat))
    return records


def _seeds(config: ExperimentConfig, repeat: int, layers: int) -> list[int]:
    return [derived_seed(config.seed, 4, repeat, layer) for layer in range(layers)]


def _regenerated(records: list[CentralizedTensor]) -> list[np.ndarray]:
    return [regenerate(record) for record in records]


def centralization_records(trained: TrainedModel, config: ExperimentConfig) -> list[Record]:
    """Unitary, layer-wise (each layer alone and all layers) and batch-wise centralization."""
    measure = _Measure(trained)
    weights = trained.model.weights()
    names = trained.model.layer_names()
    counts = [int(w.size) for w in weights]
    width = STORAGE_DTYPE.bytes
    records = []
    for distribution in config.distributions:
        d: Distribution = distribution
        for repeat in range(config.repeats):
            seeds = _seeds(config, repeat, len(weights))
            unitary = centralize_unitary(weights, seeds=seeds, distribution=d,
                                         streams=config.streams)
            records.append(measure.record(
                "unitary", _regenerated(unitary), distribution=d, repeat=repeat,
                stored_bytes=unitary_weight_bytes(counts, width)))
            layer_wise = [centralize(w, None, seed=s, distribution=d, streams=config.streams)
                          for w, s in zip(weights, seeds, strict=True)]
            regenerated = _regenerated(layer_wise)
            for index, name in enumerate(names):
                stored = (trained.dense_weight_bytes - counts[index] * width
                          + centralized_weight_bytes(counts[index], counts[index], width))
                records.append(measure.record(
                    "layer_wise", _replaced(weights, index, regenerated[index]), layer=name,
                    distribution=d, repeat=repeat, stored_bytes=stored))
            records.append(measure.record(
                "layer_wise", regenerated, distribution=d, repeat=repeat,
                stored_bytes=sum(r.stored_bytes(width) for r in layer_wise)))
            for batch_size in config.batch_sizes:
                batch_wise = [
                    centralize(w, batch_size, seed=s, distribution=d, streams=config.streams)
                    for w, s in zip(weights, seeds, strict=True)
                ]
                regenerated = _regenerated(batch_wise)
                records.append(measure.record(
                    "batch_wise", regenerated, distribution=d,
                    parameter="batch_size", value=batch_size, repeat=repeat,
                    stored_bytes=sum(r.stored_bytes(width) for r in batch_wise)))
                for index, name in enumerate(names):
                    stored = (trained.dense_weight_bytes - counts[index] * width
                              + batch_wise[index].stored_bytes(width))
                    records.append(measure.record(
                        "batch_wise", _replaced(weights, index, regenerated[index]),
                        layer=name, distribution=d, parameter="batch_size", value=batch_size,
                        repeat=repeat, stored_bytes=stored))
    return records


def zero_skip_records(trained: TrainedModel, config: ExperimentConfig) -> list[Record]:
    """Accuracy with every ``|w| <= threshold`` skipped (pruned), and the zero-skip storage."""
    measure = _Measure(trained)
    weights = trained.model.weights()
    total = trained.model.weight_count()
    records = []
    for threshold in config.zero_skip_thresholds:
        zeros = [zero_count(w, threshold) for w in weights]
        stored = sum(zero_skip_bytes(int(w.size), int(w.size) - z, STORAGE_DTYPE.bytes)
                     for w, z in zip(weights, zeros, strict=True))
        records.append(measure.record(
            "zero_skip", [prune(w, threshold) for w in weights], parameter="threshold",
            value=threshold, stored_bytes=stored, skipped=sum(zeros) / total))
    return records


def threshold_batch_size(curve: list[dict[str, Any]], tolerance_pct: float) -> int | None:
    """Largest batch size whose mean drop, and that of every smaller one, is within tolerance.

    ``curve`` holds ``{"batch_size", "accuracy_drop_pct"}`` rows in increasing batch size.
    """
    best = None
    for point in curve:
        if point["accuracy_drop_pct"] > tolerance_pct:
            break
        best = point["batch_size"]
    return best


def _mean(values: list[float]) -> float:
    return float(np.mean(values))


def _batch_curve(records: list[Record], baseline: float) -> list[dict[str, Any]]:
    curve = []
    for batch_size in sorted({int(r.value) for r in records}):
        rows = [r for r in records if int(r.value) == batch_size]
        accuracies = [r.accuracy_pct for r in rows]
        stored = rows[0].stored_weight_bytes
        dense = rows[0].dense_weight_bytes
        curve.append({
            "batch_size": batch_size,
            "accuracy_pct": _mean(accuracies),
            "accuracy_min_pct": min(accuracies),
            "accuracy_max_pct": max(accuracies),
            "accuracy_drop_pct": baseline - _mean(accuracies),
            "stored_weight_bytes": stored,
            "memory_saved_bytes": dense - stored,
            "compression_ratio": compression_ratio(dense, stored),
        })
    return curve


def _threshold_summary(curve: list[dict[str, Any]], tolerance_pct: float) -> dict[str, Any]:
    threshold = threshold_batch_size(curve, tolerance_pct)
    at = next((p for p in curve if p["batch_size"] == threshold), None)
    return {
        "batch_wise": curve,
        "threshold_batch_size": threshold,
        "threshold_accuracy_pct": None if at is None else at["accuracy_pct"],
        "threshold_memory_saved_bytes": None if at is None else at["memory_saved_bytes"],
        "threshold_compression_ratio": None if at is None else at["compression_ratio"],
    }


def summarize_model(trained: TrainedModel, records: list[Record],
                    config: ExperimentConfig) -> dict[str, Any]:
    """The per-model numbers the README table and the figures use."""
    model = trained.model
    mine = [r for r in records if r.model == trained.config.name]

    def pick(experiment: str, **match: Any) -> list[Record]:
        return [r for r in mine if r.experiment == experiment
                and all(getattr(r, k) == v for k, v in match.items())]

    summary: dict[str, Any] = {
        "name": trained.config.name,
        "dataset": trained.config.dataset,
        "kind": trained.config.kind,
        "train_samples": len(trained.dataset.y_train),
        "test_samples": len(trained.dataset.y_test),
        "final_train_loss": trained.losses[-1],
        "layers": [
            {"name": layer.name, "shape": list(layer.weight.shape),
             "weights": int(layer.weight.size), "biases": int(layer.bias.size),
             "zero_weights": zero_count(layer.weight)}
            for layer in model.layers
        ],
        "weights": model.weight_count(),
        "biases": model.bias_count(),
        "dense_weight_bytes": trained.dense_weight_bytes,
        "storage_dtype": str(STORAGE_DTYPE),
        "baseline_accuracy_pct": trained.baseline_pct,
        "bit_flip_accuracy_pct": {
            name: _mean([r.accuracy_pct for r in pick("bit_flip", layer=name)])
            for name in model.layer_names()
        },
        "centralization": {},
        "zero_skip": [
            {"threshold": r.value, "accuracy_pct": r.accuracy_pct,
             "accuracy_drop_pct": r.accuracy_drop_pct,
             "skipped_weight_fraction": r.skipped_weight_fraction,
             "stored_weight_bytes": r.stored_weight_bytes,
             "memory_saved_bytes": r.dense_weight_bytes - r.stored_weight_bytes}
            for r in pick("zero_skip")
        ],
    }
    for distribution in config.distributions:
        def curve(layer: str, distribution: str = distribution) -> list[dict[str, Any]]:
            return _batch_curve(pick("batch_wise", distribution=distribution, layer=layer),
                                trained.baseline_pct)

        layer_wise = {
            name: _mean([r.accuracy_pct for r in pick("layer_wise", layer=name,
                                                       distribution=distribution)])
            for name in [*model.layer_names(), ALL_LAYERS]
        }
        summary["centralization"][distribution] = {
            "unitary_accuracy_pct": _mean(
                [r.accuracy_pct for r in pick("unitary", distribution=distribution)]),
            "layer_wise_accuracy_pct": layer_wise,
            **_threshold_summary(curve(ALL_LAYERS), config.tolerance_pct),
            "per_layer": {name: _threshold_summary(curve(name), config.tolerance_pct)
                          for name in model.layer_names()},
        }
    return summary


def run_experiment(config: ExperimentConfig) -> ExperimentResult:
    """Train every model of ``config`` and run every measurement; deterministic for the seed."""
    records: list[Record] = []
    models = []
    for model_config in config.models:
        trained = train_model(model_config, config.seed, config.test_fraction)
        measure = _Measure(trained)
        records.append(measure.record("baseline", trained.model.weights()))
        records += augmentation_records(trained, config)
        records += centralization_records(trained, config)
        records += zero_skip_records(trained, config)
        models.append(summarize_model(trained, records, config))
    resolved = config.model_dump(mode="json")
    summary = {
        "config": resolved,
        "config_hash": config_hash(resolved),
        "tolerance_pct": config.tolerance_pct,
        "models": models,
    }
    return ExperimentResult(records, summary)


def records_csv(records: list[Record]) -> str:
    """All records as CSV text with a header row (columns :data:`CSV_FIELDS`)."""
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(asdict(record))
    return stream.getvalue()
