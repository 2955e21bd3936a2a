"""Running one design point from its config alone (so any process or Dask worker can)."""

from __future__ import annotations

from typing import Any

from sim.dataflow import SimulationOptions
from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.simulate import simulate
from sim.workload.network import Network
from sim.workload.schema import NetworkSpec


def network_from_dict(data: dict[str, Any]) -> Network:
    spec = NetworkSpec.model_validate(data)
    return Network(spec.name, spec.input_shape(), spec.build_layers())


def run_point(key: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Simulate one point; returns its key and the result without the (already known) config."""
    options = config["options"]
    result = simulate(
        network_from_dict(config["network"]), HardwareSpec.model_validate(config["hardware"]),
        SimulationOptions(options["dataflow"], options.get("tile", 32),
                          options.get("halo_reuse", True), options.get("buffer_channels", 64),
                          DType(options["dtype"]), options.get("weights", "dense")),
    )
    result.pop("config")
    return key, result
