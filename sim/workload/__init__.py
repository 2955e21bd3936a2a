"""CNN workloads: layers, networks as graphs, the network zoo and YAML input/output."""

from sim.workload.layers import Shape
from sim.workload.network import Network

__all__ = ["Network", "Shape"]
