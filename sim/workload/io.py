"""Reading and writing networks as YAML, and resolving a ``NAME|FILE`` argument to a network."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from sim.config import ConfigError, error_at, read_yaml, validate
from sim.limits import network_size_problem
from sim.workload.layers import Activation, Layer, Shape
from sim.workload.network import INPUT, Network, NetworkError
from sim.workload.schema import NetworkSpec, required_fields
from sim.workload.zoo import ZOO


def load_network(path: str | Path, resolution: int | None = None) -> Network:
    """Load a network YAML file; ``resolution`` overrides the input height and width."""
    data, node = read_yaml(path)
    spec = validate(path, data, node, NetworkSpec)
    shape = spec.input_shape()
    if resolution is not None:
        shape = Shape(resolution, resolution, shape.channels)
    try:
        network = Network(spec.name, shape, spec.build_layers())
    except NetworkError as error:
        loc = (("layers",) if error.layer_index is None
               else ("layers", error.layer_index, error.field))
        raise error_at(path, node, loc, error.message) from None
    problem = network_size_problem(network.infos)
    if problem is not None:
        index, message, allowed = problem
        name = network.infos[index].name
        raise error_at(path, node, ("layers", index), f"{name}: {message}", allowed) from None
    return network


def network_to_dict(network: Network) -> dict[str, Any]:
    """Plain data for YAML: only the fields that differ from their defaults, pairs folded."""
    shape = network.input_shape
    previous = INPUT
    layers = []
    for layer in network.layers:
        layers.append(_layer_to_dict(layer, previous))
        previous = layer.name
    return {
        "name": network.name,
        "input": {"height": shape.height, "width": shape.width, "channels": shape.channels},
        "layers": layers,
    }


# Written after the geometry, so each YAML line reads as "what it is, then how it ends".
_TRAILING = ("bias", "batchnorm", "activation")


def _layer_to_dict(layer: Layer, previous: str) -> dict[str, Any]:
    names = [field.name for field in dataclasses.fields(layer)]
    # Fields the schema requires are written always and build the defaults to compare with.
    required = {name: getattr(layer, name) for name in required_fields(str(layer.kind))}
    defaults = type(layer)(name=layer.name, **required)
    entry: dict[str, Any] = {"name": layer.name, "kind": str(layer.kind)}
    if layer.inputs and layer.inputs != (previous,):
        entry["inputs"] = list(layer.inputs)
    ordered = [n for n in names if n not in _TRAILING] + [n for n in _TRAILING if n in names]
    for name in ordered:
        if name in ("name", "inputs"):
            continue
        value = getattr(layer, name)
        if name in required or value != getattr(defaults, name):
            entry[name] = _plain(value)
    return entry


def _plain(value: Any) -> Any:
    if isinstance(value, Activation):
        return str(value)
    if isinstance(value, tuple):
        if len(value) == 4 and value[0] == value[1] and value[2] == value[3]:
            value = (value[0], value[2])
        if len(value) == 2 and value[0] == value[1]:
            return value[0]
        return list(value)
    return value


def dump_network(network: Network) -> str:
    """YAML text that :func:`load_network` reads back into an equal network."""
    header = (
        f"# {network.name}: {network.total_params:,} parameters, {network.total_macs:,} MACs at "
        f"{network.input_shape.height}x{network.input_shape.width}\n"
    )
    return header + yaml.safe_dump(network_to_dict(network), sort_keys=False,
                                   default_flow_style=None,
                                   width=100)


def resolve_network(
    name_or_file: str, *, resolution: int | None = None, num_classes: int | None = None,
    width_mult: float | None = None,
) -> Network:
    """A zoo network by name (with builder options) or a network YAML file by path."""
    options = {"resolution": resolution, "num_classes": num_classes, "width_mult": width_mult}
    given = {key: value for key, value in options.items() if value is not None}
    if name_or_file in ZOO:
        entry = ZOO[name_or_file]
        for key in given:
            if key not in entry.options:
                flag = "--" + key.replace("_", "-")
                users = ", ".join(name for name, e in ZOO.items() if key in e.options)
                raise ConfigError(
                    name_or_file, f"{flag} does not apply to this network", allowed=users,
                )
        try:
            network = entry.build(**given)
        except NetworkError as error:
            raise ConfigError(name_or_file, f"cannot be built with {given}: {error.message}"
                              ) from None
        problem = network_size_problem(network.infos)
        if problem is not None:
            index, message, allowed = problem
            raise ConfigError(name_or_file, f"layer {network.infos[index].name}: {message}",
                              allowed=allowed)
        return network
    if name_or_file.endswith(".csv"):
        raise ConfigError(
            name_or_file, "a SCALE-Sim topology is a list of independent layers, not one network",
            allowed="edgeaccel simulate --network FILE.csv, or edgeaccel import scalesim",
        )
    looks_like_file = name_or_file.endswith((".yaml", ".yml")) or Path(name_or_file).exists()
    if not looks_like_file:
        raise ConfigError(
            name_or_file, "unknown network: not a zoo name or a YAML file",
            allowed=", ".join(ZOO) + ", or a path to a .yaml file",
        )
    for key in ("num_classes", "width_mult"):
        if key in given:
            raise ConfigError(
                name_or_file, f"--{key.replace('_', '-')} applies to zoo networks only; "
                "edit the file's layers instead",
            )
    return load_network(name_or_file, resolution)
