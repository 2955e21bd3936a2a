"""The weight experiment's YAML config, validated with pydantic (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.config import load_model
from sim.limits import bounded_int
from sim.techniques.centralization import Distribution
from sim.weights.augment import REPORT_NOISE
from sim.weights.datasets import DatasetName

PositiveInt = Annotated[int, Field(strict=True, ge=1)]
# A layer of more units trains for hours or exhausts memory in NumPy.
MAX_UNITS = 65536
MAX_EPOCHS = 10_000
Units = bounded_int(1, MAX_UNITS)
SeedInt = Annotated[int, Field(strict=True, ge=0, lt=2**32)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class ModelConfig(BaseModel):
    """One model to train: an MLP (``hidden`` sizes) or a CNN (``channels`` of its 3x3 convs)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")]
    dataset: DatasetName
    kind: Literal["mlp", "cnn"]
    hidden: list[Units] = Field(default_factory=list, max_length=64)
    channels: list[Units] = Field(default_factory=list, max_length=64)
    epochs: bounded_int(1, MAX_EPOCHS)  # type: ignore[valid-type]
    batch: bounded_int(1, MAX_UNITS) = 32  # type: ignore[valid-type]
    learning_rate: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1e-3

    @model_validator(mode="after")
    def _shape_fields(self) -> ModelConfig:
        if self.kind == "mlp" and self.channels:
            raise ValueError("channels is for kind cnn; an mlp takes hidden")
        if self.kind == "cnn":
            if self.hidden:
                raise ValueError("hidden is for kind mlp; a cnn takes channels")
            if not self.channels:
                raise ValueError("a cnn needs at least one entry in channels")
            if self.dataset != "digits":
                raise ValueError("a cnn needs an image dataset (allowed: digits)")
        return self


class ExperimentConfig(BaseModel):
    """Everything one ``edgeaccel weights experiment`` run measures.

    ``tolerance_pct``: largest accepted accuracy drop in percentage points for the threshold
    batch size. ``repeats``: generator seeds per batch size (accuracies are averaged).
    ``streams``: generators (PE groups) that regenerate a tensor.
    """

    model_config = ConfigDict(extra="forbid")

    seed: SeedInt = 0
    test_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.2
    noise: list[Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=lambda: list(REPORT_NOISE))
    bit_flip_fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    bit_flip_repeats: PositiveInt = 3
    batch_sizes: Annotated[list[PositiveInt], Field(min_length=1)]
    distributions: Annotated[list[Distribution], Field(min_length=1)] = Field(
        default_factory=lambda: ["uniform"])
    repeats: PositiveInt = 3
    streams: PositiveInt = 16
    tolerance_pct: NonNegativeFloat = 1.0
    zero_skip_thresholds: list[NonNegativeFloat] = Field(default_factory=list)
    models: Annotated[list[ModelConfig], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> ExperimentConfig:
        names = [model.name for model in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"model names must be unique, got {names}")
        if sorted(set(self.batch_sizes)) != self.batch_sizes:
            raise ValueError("batch_sizes must be strictly increasing")
        if len(set(self.distributions)) != len(self.distributions):
            raise ValueError("distributions must not repeat")
        return self


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment YAML; problems raise :class:`sim.config.ConfigError`."""
    return load_model(path, ExperimentConfig)
