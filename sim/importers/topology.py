"""Topologies: lists of independent layers, as SCALE-Sim runs them.

A SCALE-Sim topology row is a layer on its own: its IFMAP is read from memory, its OFMAP written
back, and nothing chains one row to the next (rows even carry padded IFMAP sizes and leave out
pooling). A :class:`Topology` keeps that meaning: one single-layer :class:`Network` per row.
Simulating it runs each network in turn and adds up the records.

YAML form (``edgeaccel import scalesim --out``): ``name`` and ``independent_layers``, a list of
network mappings in the network YAML format (``input`` and one-entry ``layers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim.config import ConfigError, read_yaml, validate
from sim.workload.io import network_to_dict
from sim.workload.network import Network, NetworkError
from sim.workload.schema import NetworkSpec

TOPOLOGY_KEY = "independent_layers"


@dataclass(frozen=True)
class Topology:
    name: str
    networks: tuple[Network, ...]

    @property
    def total_macs(self) -> int:
        return sum(network.total_macs for network in self.networks)

    @property
    def total_params(self) -> int:
        return sum(network.total_params for network in self.networks)


def dump_topology(topology: Topology, comment: str = "") -> str:
    header = (f"# {topology.name}: {len(topology.networks)} independent layers, "
              f"{topology.total_params:,} parameters, {topology.total_macs:,} MACs\n")
    if comment:
        header += "".join(f"# {line}\n" for line in comment.splitlines())
    data = {"name": topology.name,
            TOPOLOGY_KEY: [network_to_dict(network) for network in topology.networks]}
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def read_topology_yaml(path: str | Path) -> Topology | None:
    """The topology in ``path`` if it is a YAML file with a top-level ``independent_layers``
    key, else None (read once either way)."""
    path = Path(path)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        return None
    data, node = read_yaml(path)
    if not isinstance(data, dict) or TOPOLOGY_KEY not in data:
        return None
    return _topology(path, data, node)


def load_topology(path: str | Path) -> Topology:
    data, node = read_yaml(path)
    return _topology(path, data, node)


def _topology(path: str | Path, data: Any, node: yaml.Node | None) -> Topology:
    if not isinstance(data, dict) or not isinstance(data.get(TOPOLOGY_KEY), list) \
            or not data[TOPOLOGY_KEY]:
        raise ConfigError(path, f"{TOPOLOGY_KEY}: expected a non-empty list of networks",
                          line=1)
    if set(data) - {"name", TOPOLOGY_KEY}:
        extra = sorted(set(data) - {"name", TOPOLOGY_KEY})[0]
        raise ConfigError(path, "unknown field", field=extra, allowed=f"name, {TOPOLOGY_KEY}")
    items = _mapping_value(node, TOPOLOGY_KEY)
    networks = []
    for index, entry in enumerate(data[TOPOLOGY_KEY]):
        entry_node = items.value[index] if items is not None else None
        spec = validate(path, entry, entry_node, NetworkSpec)
        try:
            networks.append(Network(spec.name, spec.input_shape(), spec.build_layers()))
        except NetworkError as error:
            line = None if entry_node is None else entry_node.start_mark.line + 1
            raise ConfigError(path, error.message, line=line,
                              field=f"{TOPOLOGY_KEY}.{index}") from None
    return Topology(str(data.get("name", Path(path).stem)), tuple(networks))


def _mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if key_node.value == key:
            return value_node
    return None


def merge_results(name: str, results: list[dict[str, Any]], hardware) -> dict[str, Any]:
    """One record for layers run one after the other: layers listed in order, totals added
    (cycles too: nothing overlaps between independent layers)."""
    from sim.simulate import run_totals

    layers = [layer for result in results for layer in result["layers"]]
    cycles = sum(result["totals"]["cycles"] for result in results)
    common = {key: value for key, value in results[0].items()
              if key not in ("config", "config_hash", "network", "totals", "layers")}
    totals = run_totals(layers, cycles, hardware)
    for key in ("compulsory_bytes", "lower_bound_bytes"):
        totals[key] = sum(result["totals"][key] for result in results)
    traffic = totals["dram_read_bytes"] + totals["dram_write_bytes"]
    totals["traffic_to_bound"] = (traffic / totals["lower_bound_bytes"]
                                  if totals["lower_bound_bytes"] else 0.0)
    totals["peak_onchip_bytes"] = max(result["totals"]["peak_onchip_bytes"]
                                      for result in results)
    totals["peak_onchip_bytes_by_buffer"] = {
        name: max(result["totals"]["peak_onchip_bytes_by_buffer"][name] for result in results)
        for name in results[0]["totals"]["peak_onchip_bytes_by_buffer"]}
    return {"network": name, **common, "totals": totals, "layers": layers}


def simulate_topology(topology: Topology, hardware, options) -> dict[str, Any]:
    """Simulate every layer of the topology on its own; the merged record."""
    from sim.simulate import simulate  # the cycle-level engine

    return merge_results(topology.name, [simulate(network, hardware, options)
                                         for network in topology.networks], hardware)
