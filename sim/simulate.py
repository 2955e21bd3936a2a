"""Workload x hardware x dataflow -> schedule -> cycle-level run -> per-layer records.

Every record is plain data with the resolved configuration and its stable hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from sim.dataflow import SimulationOptions, build_schedule
from sim.dtypes import DType
from sim.energy import layer_energy_pj
from sim.hardware import HardwareSpec
from sim.pipeline import LayerCounters, run_pipeline
from sim.schedule import OPERANDS
from sim.techniques.centralization import regeneration_energy_pj
from sim.workload.io import network_to_dict
from sim.workload.network import Network


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of a resolved configuration (canonical JSON, SHA-256, 16 hex digits)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def simulate(network: Network, hardware: HardwareSpec, options: SimulationOptions,
             overlap: bool = True) -> dict[str, Any]:
    """Run the network; returns ``{"config", "config_hash", "totals", "layers"}``.

    ``overlap=False`` runs the same schedule with nothing overlapped (an upper bound).
    """
    tiles = build_schedule(network, hardware, options)
    result = run_pipeline(tiles, hardware, overlap)
    layers = []
    storage = options.weight_storage
    for info in network.infos:
        counters = result.layers.get(info.name, LayerCounters())
        regeneration = 0.0
        if storage.kind == "centralized" and info.params:
            # Each weight loaded from DRAM is regenerated once into the weight buffer.
            stored = storage.stored_bytes(info.params, options.dtype.bytes)
            dense_loaded = counters.dram_read_bytes["weight"] * info.params / stored
            regeneration = regeneration_energy_pj(round(dense_loaded), options.dtype)
        layers.append({"name": info.name, "kind": info.kind,
                       **_record(counters, hardware, options.dtype, regeneration)})
    totals = run_totals(layers, result.cycles, hardware)
    config = {
        "network": network_to_dict(network),
        "hardware": hardware.model_dump(by_alias=True),
        "options": options.to_dict(),
    }
    return {"config": config, "config_hash": config_hash(config), "network": network.name,
            "hardware": hardware.name, **options.to_dict(), "totals": totals, "layers": layers}


def _record(counters: LayerCounters, hardware: HardwareSpec, dtype: DType,
            regeneration_pj: float) -> dict[str, Any]:
    energy = layer_energy_pj(counters, hardware, dtype, regeneration_pj)
    by_operand = {op: counters.dram_read_bytes[op] + counters.dram_write_bytes[op]
                  for op in OPERANDS}
    return {
        "macs": counters.macs,
        "dram_read_bytes": sum(counters.dram_read_bytes.values()),
        "dram_write_bytes": sum(counters.dram_write_bytes.values()),
        "dram_bytes_by_operand": by_operand,
        "sram_read_bytes": sum(counters.sram_read_bytes.values()),
        "sram_write_bytes": sum(counters.sram_write_bytes.values()),
        "cycles": counters.cycles,
        "compute_cycles": counters.compute_cycles,
        "stall_cycles": counters.cycles - counters.compute_cycles,
        "dram_busy_cycles": counters.dram_busy_cycles,
        "row_hits": counters.row_hits,
        "row_misses": counters.row_misses,
        "energy_pj": energy,
        "latency_s": counters.cycles / hardware.clock_hz,
    }


SUMMED = ("macs", "dram_read_bytes", "dram_write_bytes", "sram_read_bytes", "sram_write_bytes",
          "compute_cycles", "dram_busy_cycles", "row_hits", "row_misses")


def run_totals(layers: list[dict[str, Any]], cycles: int, hardware: HardwareSpec
               ) -> dict[str, Any]:
    """Totals of a run: the layer records added up, and the run's ``cycles`` (fewer than the
    layers' sum when the pipeline overlaps layers) with the latency and bandwidth they imply."""
    totals: dict[str, Any] = {key: sum(layer[key] for layer in layers) for key in SUMMED}
    by_operand: Counter = Counter()
    energy: Counter = Counter()
    for layer in layers:
        by_operand.update(layer["dram_bytes_by_operand"])
        energy.update(layer["energy_pj"])
    totals["dram_bytes_by_operand"] = {op: by_operand[op] for op in OPERANDS}
    totals["energy_pj"] = dict(energy)
    totals["cycles"] = cycles
    totals["stall_cycles"] = cycles - totals["compute_cycles"]
    totals["latency_s"] = cycles / hardware.clock_hz
    totals["achieved_dram_bytes_per_s"] = (
        (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / totals["latency_s"]
        if cycles else 0.0
    )
    return totals
