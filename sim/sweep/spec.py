"""The sweep YAML: a base design point and the axes to vary.

```yaml
name: demo
base:
  network: lightweight_cnn          # zoo name or network YAML path
  hardware: configs/hardware/jetson_nano.yaml
  dataflow: layerwise
  dtype: int8
  technique: {tile: 32, buffer_channels: 64, halo_reuse: true}
grid:                               # every combination of these (dotted paths)
  dataflow: [layerwise, full]
  technique.tile: [16, 32]
  hardware.buffers.global.size_bytes: [131072, 262144]
points:                             # and/or an explicit list of overrides of the base
  - {network: mobilenet_v2, network_options.resolution: 96}
```
Paths: ``network``, ``network_options.resolution|num_classes|width_mult``, ``hardware`` (a
preset name or path), ``hardware.<any field of the hardware YAML>``, ``dataflow`` (a fixed
dataflow or ``auto``, the mapper), ``objective`` (what ``auto`` minimizes: ``dram_bytes``,
``energy``, ``latency``, ``edp``), ``dtype``, ``technique.tile|buffer_channels|halo_reuse``.
Without ``grid`` and ``points`` the sweep is the base alone; with both, the grid's points come
first. A design reached twice is one point that carries every label it was given.

Every point is validated (types and ranges of :mod:`sim.limits`, no coercion) before any runs;
an error names the point and the dotted path. A sweep of more than ``max_points`` points
(default :data:`sim.limits.DEFAULT_MAX_POINTS`) is refused before it is expanded.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from sim import limits as lim
from sim.config import ConfigError, error_at, read_yaml, validate, validation_error
from sim.dataflow import SimulationOptions
from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.presets import load_hardware_arg
from sim.simulate import config_hash
from sim.workload.io import network_to_dict, resolve_network
from sim.workload.network import Network

SCALAR_PATHS = ("network", "hardware", "dataflow", "objective", "dtype", "technique.tile",
                "technique.buffer_channels", "technique.halo_reuse",
                "network_options.resolution", "network_options.num_classes",
                "network_options.width_mult")
MAX_AXIS_VALUES = 10_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TechniqueSpec(_Strict):
    tile: lim.bounded_int(1, lim.MAX_TILE) = 32  # type: ignore[valid-type]
    buffer_channels: lim.bounded_int_or("auto", 1, lim.MAX_BUFFER_CHANNELS) = "auto"  # type: ignore[valid-type]
    halo_reuse: StrictBool = True


class NetworkOptionsSpec(_Strict):
    resolution: lim.bounded_int(1, lim.MAX_RESOLUTION) | None = None  # type: ignore[valid-type]
    num_classes: lim.bounded_int(1, lim.MAX_FEATURES) | None = None  # type: ignore[valid-type]
    width_mult: lim.bounded_float(0, lim.MAX_WIDTH_MULT, low_open=True) | None = None  # type: ignore[valid-type]


class BaseSpec(_Strict):
    network: str = Field(min_length=1)
    hardware: str = Field(min_length=1)
    dataflow: Literal["layerwise", "tiled", "buffered", "fused", "full", "auto"] = "layerwise"
    objective: Literal["dram_bytes", "energy", "latency", "edp"] = "dram_bytes"  # for auto
    dtype: Literal["int8", "int16", "fp16", "fp32"] = "int8"
    technique: TechniqueSpec = TechniqueSpec()
    network_options: NetworkOptionsSpec = NetworkOptionsSpec()


class SweepSpec(_Strict):
    name: str
    base: BaseSpec
    grid: dict[str, list[Any]] = Field(default={}, max_length=64)
    points: list[dict[str, Any]] = Field(default=[], max_length=MAX_AXIS_VALUES)


@dataclass(frozen=True)
class DesignPoint:
    """One resolved point: the full config (what is hashed) and the axis values it varies."""

    key: str
    config: dict[str, Any]
    labels: dict[str, Any]


def _flatten(base: BaseSpec) -> dict[str, Any]:
    flat: dict[str, Any] = {"network": base.network, "hardware": base.hardware,
                            "dataflow": base.dataflow, "objective": base.objective,
                            "dtype": base.dtype}
    for name, value in base.technique.model_dump().items():
        flat[f"technique.{name}"] = value
    for name, value in base.network_options.model_dump(exclude_none=True).items():
        flat[f"network_options.{name}"] = value
    return flat


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """The flat dotted paths (without ``hardware.*`` fields) as a :class:`BaseSpec` mapping."""
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        if path.startswith("hardware."):
            continue
        head, _, tail = path.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = value
        else:
            nested[head] = value
    return nested


def _check_path(path: str, spec_path: Path, node, loc: tuple) -> None:
    if path in SCALAR_PATHS or (path.startswith("hardware.") and len(path) > len("hardware.")):
        return
    raise error_at(spec_path, node, loc, f"unknown axis {path!r}",
                   allowed=", ".join(SCALAR_PATHS) + ", hardware.<field>")


def count_points(spec: SweepSpec) -> int:
    """Points before merging duplicates: the grid's product plus the listed points."""
    grid = math.prod(len(values) for values in spec.grid.values()) if spec.grid else 0
    return max(1, grid + len(spec.points))


def load_sweep(path: str | Path, max_points: int = lim.DEFAULT_MAX_POINTS
               ) -> tuple[SweepSpec, list[DesignPoint]]:
    """Validate the sweep file and resolve every design point (errors name file:line:path)."""
    path = Path(path)
    data, node = read_yaml(path)
    spec = validate(path, data, node, SweepSpec)
    base = _flatten(spec.base)
    for axis, values in spec.grid.items():
        _check_path(axis, path, node, ("grid", axis))
        if not values:
            raise error_at(path, node, ("grid", axis), "an axis needs at least one value")
    for index, point in enumerate(spec.points):
        for axis in point:
            _check_path(axis, path, node, ("points", index, axis))
    total = count_points(spec)
    if total > max_points:
        raise error_at(path, node, ("grid",) if spec.grid else ("points",),
                       f"the sweep has {total:,} points",
                       allowed=f"at most {max_points:,}; raise it with --max-points")
    overrides: list[tuple[dict[str, Any], dict[str, tuple]]] = []
    if spec.grid:
        axes = list(spec.grid)
        for combination in itertools.product(*(enumerate(spec.grid[a]) for a in axes)):
            values = {a: value for a, (_, value) in zip(axes, combination, strict=True)}
            where = {a: ("grid", a, i) for a, (i, _) in zip(axes, combination, strict=True)}
            overrides.append((values, where))
    for index, point in enumerate(spec.points):
        overrides.append((point, {a: ("points", index, a) for a in point}))
    if not overrides:
        overrides.append(({}, {}))
    points: dict[str, DesignPoint] = {}
    for number, (override, where) in enumerate(overrides, start=1):
        context = _PointContext(path, node, number, len(overrides), override, where)
        point = resolve_point({**base, **override}, context)
        known = points.get(point.key)
        if known is not None:  # the same design twice: one point, every label it was given
            point = DesignPoint(point.key, point.config, {**known.labels, **point.labels})
        points[point.key] = point
    return spec, list(points.values())


@dataclass(frozen=True)
class _PointContext:
    """Where a point comes from, for its errors: file, node tree, number and the axes' places."""

    path: Path
    node: yaml.Node | None
    number: int
    total: int
    labels: dict[str, Any]
    where: dict[str, tuple]

    def fail(self, axis: str, message: str, allowed: str = "") -> ConfigError:
        """An error at the file place of ``axis`` (its value, or the base when not varied)."""
        if axis in self.where:
            loc = self.where[axis]
        else:
            loc = ("base", *axis.split(".")) if not axis.startswith("hardware.") \
                else ("base", "hardware")
        varied = ", ".join(f"{k}={v!r}" for k, v in self.labels.items())
        name = f"point {self.number} of {self.total}" + (f" ({varied})" if varied else "")
        return error_at(self.path, self.node, loc, f"{name}: {axis}: {message}", allowed)


@lru_cache(maxsize=64)
def _hardware_data(name: str) -> dict[str, Any]:
    return load_hardware_arg(name).model_dump(by_alias=True)


@lru_cache(maxsize=256)
def _network(name: str, options: tuple[tuple[str, Any], ...]) -> tuple[Network, dict[str, Any]]:
    network = resolve_network(name, **dict(options))
    return network, network_to_dict(network)


def resolve_point(flat: dict[str, Any], context: _PointContext) -> DesignPoint:
    """Validate a flat dotted-path point and turn it into the full config the simulator runs."""
    try:
        base = BaseSpec.model_validate(_nest(flat))
    except ValidationError as error:
        problem = validation_error(context.path, None, BaseSpec, error)
        raise context.fail(problem.field, problem.message, problem.allowed) from None
    options_kw = tuple(sorted(base.network_options.model_dump(exclude_none=True).items()))
    try:
        network, network_data = _network(base.network, options_kw)
    except ConfigError as error:
        axis = next((f"network_options.{k}" for k, _ in options_kw
                     if f"network_options.{k}" in context.where and k in error.message),
                    "network")
        raise context.fail(axis, error.message, error.allowed) from None
    try:
        hardware_data = copy.deepcopy(_hardware_data(base.hardware))
    except ConfigError as error:
        raise context.fail("hardware", str(error)) from None
    for axis, value in flat.items():
        if axis.startswith("hardware."):
            _set(hardware_data, axis.split(".")[1:], value,
                 lambda m, a=axis: context.fail(a, m))
    try:
        hardware = HardwareSpec.model_validate(hardware_data)
    except ValidationError as error:
        problem = validation_error(context.path, None, HardwareSpec, error)
        field = f"hardware.{problem.field}"
        axis = field if field in flat else next(
            (a for a in context.labels if a.startswith("hardware.")), "hardware")
        message = problem.message if axis == field else f"{field}: {problem.message}"
        raise context.fail(axis, message, problem.allowed) from None
    if base.dtype not in hardware.energy.mac_pj:
        raise context.fail("dtype", f"the hardware has no MAC energy for {base.dtype}",
                           allowed=", ".join(hardware.energy.mac_pj))
    technique = base.technique
    channels = technique.buffer_channels
    options = SimulationOptions(base.dataflow, technique.tile, technique.halo_reuse,
                                None if channels == "auto" else channels, DType(base.dtype),
                                objective=base.objective)
    config = {"network": network_data, "hardware": hardware.model_dump(by_alias=True),
              "options": options.to_dict()}
    del network  # resolved only to validate; the config carries it
    return DesignPoint(config_hash(config), config, dict(context.labels))


def _set(data: dict[str, Any], path: list[str], value: Any, fail) -> None:
    target = data
    for step in path[:-1]:
        if not isinstance(target, dict) or step not in target or target[step] is None:
            raise fail(f"no hardware field {'.'.join(path)!r}")
        target = target[step]
    if not isinstance(target, dict) or path[-1] not in target:
        raise fail(f"no hardware field {'.'.join(path)!r}")
    target[path[-1]] = copy.deepcopy(value)
