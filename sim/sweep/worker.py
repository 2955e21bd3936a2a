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

    A point whose schedule cannot fit the declared buffers (a feature-map request larger than
    the buffer, a layer that does not fit) is recorded as ``{"infeasible": reason}``.
    """
    options = config["options"]
    channels = options.get("buffer_channels", "auto")
    network = network_from_dict(config["network"])
    hardware = HardwareSpec.model_validate(config["hardware"])
    try:
        result = simulate(
            network, hardware,
            SimulationOptions(options["dataflow"], options.get("tile", 32),
                              options.get("halo_reuse", True),
                              None if channels == "auto" else channels,
                              DType(options["dtype"]), options.get("weights", "dense")))
    except ConfigError as error:
        return key, {"infeasible": f"{error.field}: {error.message}" if error.field
                     else error.message,
                     "network": network.name, "hardware": hardware.name,
                     "dataflow": options["dataflow"], "dtype": options["dtype"]}
    result.pop("config")
    return key, result
