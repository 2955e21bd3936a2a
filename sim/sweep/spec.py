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
preset path), ``hardware.<any field of the hardware YAML>``, ``dataflow``, ``dtype``,
``technique.tile|buffer_channels|halo_reuse``. Without ``grid`` and ``points`` the sweep is the
base alone; with both, the grid's points come first. A design reached twice is one point that
carries every label it was given.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from sim.config import ConfigError, error_at, read_yaml, validate
from sim.dataflow import SimulationOptions
from sim.dtypes import DType
from sim.hardware import HardwareSpec, load_hardware
from sim.simulate import config_hash
from sim.workload.io import network_to_dict, resolve_network

Positive = Annotated[StrictInt, Field(gt=0)]
SCALAR_PATHS = ("network", "hardware", "dataflow", "dtype", "technique.tile",
                "technique.buffer_channels", "technique.halo_reuse",
                "network_options.resolution", "network_options.num_classes",
                "network_options.width_mult")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TechniqueSpec(_Strict):
    tile: Positive = 32
    buffer_channels: Positive | Literal["auto"] = "auto"
    halo_reuse: StrictBool = True


class BaseSpec(_Strict):
    network: str
    hardware: str
    dataflow: Literal["layerwise", "tiled", "buffered", "fused", "full"] = "layerwise"
    dtype: Literal["int8", "int16", "fp16", "fp32"] = "int8"
    technique: TechniqueSpec = TechniqueSpec()
    network_options: dict[Literal["resolution", "num_classes", "width_mult"], float] = {}


class SweepSpec(_Strict):
    name: str
    base: BaseSpec
    grid: dict[str, list[Any]] = {}
    points: list[dict[str, Any]] = []


@dataclass(frozen=True)
class DesignPoint:
    """One resolved point: the full config (what is hashed) and the axis values it varies."""

    key: str
    config: dict[str, Any]
    labels: dict[str, Any]


def _flatten(base: BaseSpec) -> dict[str, Any]:
    flat: dict[str, Any] = {"network": base.network, "hardware": base.hardware,
                            "dataflow": base.dataflow, "dtype": base.dtype}
    for name, value in base.technique.model_dump().items():
        flat[f"technique.{name}"] = value
    for name, value in base.network_options.items():
        flat[f"network_options.{name}"] = value
    return flat


def _check_path(path: str, spec_path: Path, node, loc: tuple) -> None:
    if path in SCALAR_PATHS or path.startswith("hardware."):
        return
    raise error_at(spec_path, node, loc, f"unknown axis {path!r}",
                   allowed=", ".join(SCALAR_PATHS) + ", hardware.<field>")


def load_sweep(path: str | Path) -> tuple[SweepSpec, list[DesignPoint]]:
    """Validate the sweep file and resolve every design point (errors name file:line:path)."""
    path = Path(path)
    data, node = read_yaml(path)
    spec = validate(path, data, node, SweepSpec)
    base = _flatten(spec.base)
    overrides: list[tuple[dict[str, Any], tuple]] = []
    for axis, values in spec.grid.items():
        _check_path(axis, path, node, ("grid", axis))
        if not values:
            raise error_at(path, node, ("grid", axis), "an axis needs at least one value")
    if spec.grid:
        axes = list(spec.grid)
        for combination in itertools.product(*(spec.grid[a] for a in axes)):
            overrides.append((dict(zip(axes, combination, strict=True)), ("grid",)))
    for index, point in enumerate(spec.points):
        for axis in point:
            _check_path(axis, path, node, ("points", index, axis))
        overrides.append((point, ("points", index)))
    if not overrides:
        overrides.append(({}, ("base",)))
    points: dict[str, DesignPoint] = {}
    for override, loc in overrides:
        point = resolve_point({**base, **override}, override, path, node, loc)
        known = points.get(point.key)
        if known is not None:  # the same design twice: one point, every label it was given
            point = DesignPoint(point.key, point.config, {**known.labels, **point.labels})
        points[point.key] = point
    return spec, list(points.values())


def resolve_point(flat: dict[str, Any], labels: dict[str, Any], spec_path: Path, node,
                  loc: tuple) -> DesignPoint:
    """Turn a flat dotted-path point into the full config the simulator runs."""
    def fail(axis: str, message: str, allowed: str = "") -> ConfigError:
        where = (*loc, axis) if axis in labels else ("base",)
        return error_at(spec_path, node, where, message, allowed)

    options_kw = {k.split(".", 1)[1]: v for k, v in flat.items()
                  if k.startswith("network_options.")}
    for key in ("resolution", "num_classes"):
        if key in options_kw:
            options_kw[key] = int(options_kw[key])
    try:
        network = resolve_network(str(flat["network"]), **options_kw)
    except ConfigError as error:
        raise fail("network", error.message, error.allowed) from None
    try:
        hardware_data = load_hardware(flat["hardware"]).model_dump(by_alias=True)
    except ConfigError as error:
        raise fail("hardware", f"{error.path}: {error.message}") from None
    for axis, value in flat.items():
        if axis.startswith("hardware."):
            _set(hardware_data, axis.split(".")[1:], value, lambda m, a=axis: fail(a, m))
    try:
        hardware = HardwareSpec.model_validate(hardware_data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(step) for step in first["loc"])
        axis = next((a for a in labels if a.startswith("hardware.")), "hardware")
        raise fail(axis, f"hardware.{field}: {first['msg']}") from None
    try:
        options = SimulationOptions(
            flat["dataflow"], int(flat["technique.tile"]), bool(flat["technique.halo_reuse"]),
            None if flat["technique.buffer_channels"] == "auto"
            else int(flat["technique.buffer_channels"]), DType(flat["dtype"]))
    except ValueError as error:
        axis = next((a for a in labels if a in ("dataflow", "dtype")), "dataflow")
        raise fail(axis, str(error)) from None
    config = {"network": network_to_dict(network),
              "hardware": hardware.model_dump(by_alias=True), "options": options.to_dict()}
    return DesignPoint(config_hash(config), config, dict(labels))


def _set(data: dict[str, Any], path: list[str], value: Any, fail) -> None:
    target = data
    for step in path[:-1]:
        if not isinstance(target, dict) or step not in target or target[step] is None:
            raise fail(f"no hardware field {'.'.join(path)!r}")
        target = target[step]
    if not isinstance(target, dict) or path[-1] not in target:
        raise fail(f"no hardware field {'.'.join(path)!r}")
    target[path[-1]] = copy.deepcopy(value)
