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
    the buffer, a layer that does not fit: any :class:`ConfigError` the simulator raises) is
    recorded as ``{"infeasible": "one line"}`` with its network, hardware, dataflow and dtype.
    """
    options = config["options"]
    try:
        result = _simulate(config, options)
    except ConfigError as error:
        if error.path == "--hardware":
            # Raised about the hardware while simulating: name its field, not a CLI flag.
            field = f"hardware.{error.field}" if error.field else "hardware"
            allowed = f" (allowed: {error.allowed})" if error.allowed else ""
            reason = f"{field}: {error.message}{allowed}"
        else:
            reason = str(error)
        return key, {"infeasible": reason,
                     "network": config["network"]["name"],
                     "hardware": config["hardware"]["name"],
                     "dataflow": options["dataflow"], "dtype": options["dtype"]}
    result.pop("config")
    return key, result


def _simulate(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    channels = options.get("buffer_channels", "auto")
    return simulate(
        network_from_dict(config["network"]), HardwareSpec.model_validate(config["hardware"]),
        SimulationOptions(options["dataflow"], options.get("tile", 32),
                          options.get("halo_reuse", True),
                          None if channels == "auto" else channels,
                          DType(options["dtype"]), options.get("weights", "dense"),
                          options.get("objective", "dram_bytes")),
    )
