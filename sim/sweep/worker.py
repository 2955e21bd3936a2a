"""Running one design point from its config alone (so any process or Dask worker can)."""

from __future__ import annotations

from typing import Any

from sim.config import ConfigError
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
    """Simulate one point; returns its key and the result without the (already known) config.

    A point the simulator refuses (a :class:`ConfigError`, e.g. a layer that fits no buffer)
    returns ``{"error": "one line"}``, which pickles across processes where the error may not.
    """
    options = config["options"]
    try:
        result = _simulate(config, options)
    except ConfigError as error:
        if error.path != "--hardware":
            return key, {"error": str(error)}
        # Raised about the hardware while simulating: name its field, not a CLI flag.
        field = f"hardware.{error.field}" if error.field else "hardware"
        allowed = f" (allowed: {error.allowed})" if error.allowed else ""
        return key, {"error": f"{field}: {error.message}{allowed}"}
    result.pop("config")
    return key, result


def _simulate(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    return simulate(
        network_from_dict(config["network"]), HardwareSpec.model_validate(config["hardware"]),
        SimulationOptions(options["dataflow"], options.get("tile", 32),
                          options.get("halo_reuse", True), options.get("buffer_channels", 64),
                          DType(options["dtype"]), options.get("weights", "dense")),
    )
