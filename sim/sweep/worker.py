"""Running one design point from its config alone (so any process or Dask worker can).

A worker keeps what points share: the network built from its config, and the schedule of a
(network, hardware, options) whose hardware differs only in DRAM timing and energy (the
planners read neither), so a sweep over DRAM timings plans each schedule once per worker.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from sim.config import ConfigError
from sim.dataflow import Schedule, SimulationOptions, plan_schedule
from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.simulate import simulate
from sim.workload.network import Network
from sim.workload.schema import NetworkSpec

CACHED_SCHEDULES = 32  # schedules a worker keeps (least recently used dropped first)
_networks: dict[str, Network] = {}
_schedules: OrderedDict[str, Schedule] = OrderedDict()


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


def planning_key(config: dict[str, Any], options: SimulationOptions | None = None) -> str:
    """What a schedule depends on: the point's config without DRAM timing and energy (the
    whole config for ``auto`` with an objective the engine measures: it chooses by them)."""
    if options is not None and options.dataflow == "auto" and options.objective != "dram_bytes":
        return json.dumps(config, sort_keys=True, default=str)
    hardware = dict(config["hardware"])
    hardware["dram"] = {name: value for name, value in hardware["dram"].items()
                        if name not in ("timing", "energy")}
    return json.dumps([config["network"], hardware, config["options"]], sort_keys=True,
                      default=str)


def _network(data: dict[str, Any]) -> Network:
    text = json.dumps(data, sort_keys=True)
    network = _networks.get(text)
    if network is None:
        network = _networks[text] = network_from_dict(data)
    return network


def _simulate(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    channels = options.get("buffer_channels", "auto")
    network = _network(config["network"])
    hardware = HardwareSpec.model_validate(config["hardware"])
    simulation = SimulationOptions(options["dataflow"], options.get("tile", 32),
                                   options.get("halo_reuse", True),
                                   None if channels == "auto" else channels,
                                   DType(options["dtype"]), options.get("weights", "dense"),
                                   options.get("objective", "dram_bytes"))
    key = planning_key(config, simulation)
    schedule = _schedules.get(key)
    if schedule is None:
        schedule = plan_schedule(network, hardware, simulation)
        _schedules[key] = schedule
        while len(_schedules) > CACHED_SCHEDULES:
            _schedules.popitem(last=False)
    else:
        _schedules.move_to_end(key)
    return simulate(network, hardware, simulation, schedule=schedule)
