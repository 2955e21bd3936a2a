"""Workload x hardware x dataflow -> schedule -> cycle-level run -> per-layer records.

Every record is plain data with the resolved configuration and its stable hash.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from sim.bounds import layer_compulsory_bytes, layer_lower_bound_bytes, network_compulsory_bytes
from sim.capacity import audit
from sim.collection import collection_paused
from sim.config import ConfigError
from sim.dataflow import Schedule, SimulationOptions, plan_schedule
from sim.dtypes import DType
from sim.energy import layer_energy_pj
from sim.hardware import HardwareSpec
from sim.mapper.network_mapping import mapping_to_dict
from sim.pipeline import CapacityError, LayerCounters, run_pipeline
from sim.schedule import OPERANDS
from sim.techniques.centralization import regeneration_energy_pj
from sim.workload.io import network_to_dict
from sim.workload.network import Network


def config_hash(config: dict[str, Any]) -> str:
    """A stable hash of a resolved configuration (canonical JSON, SHA-256, 16 hex digits)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def simulate(network: Network, hardware: HardwareSpec, options: SimulationOptions,
             overlap: bool = True, schedule: Schedule | None = None) -> dict[str, Any]:
    """Run the network; returns ``{"config", "config_hash", "totals", "layers", ...}``.

    Every run is audited: no declared buffer ever holds more than its size
    (:func:`sim.capacity.audit`). ``overlap=False`` runs the same schedule with nothing
    overlapped (an upper bound). ``schedule``: the plan of this network, hardware and options
    when the caller already has it (:func:`sim.dataflow.plan_schedule`). The cyclic garbage
    collector is paused for the whole run (:mod:`sim.collection`), so a schedule planned here
    is freed before it ever walks it.
    """
    with collection_paused():
        return _simulate(network, hardware, options, overlap, schedule)


def _simulate(network: Network, hardware: HardwareSpec, options: SimulationOptions,
              overlap: bool, schedule: Schedule | None) -> dict[str, Any]:
    """:func:`simulate`."""
    if schedule is None:
        schedule = plan_schedule(network, hardware, options)
    try:
        result = run_pipeline(schedule.tiles, hardware, overlap)
        spans = {name: (counters.first_start, counters.last_end)
                 for name, counters in result.layers.items()}
        onchip = audit(result.occupancy, hardware, spans)
    except CapacityError as error:
        raise ConfigError("--hardware", f"{hardware.name}: {error}", field="buffers") from None
    layers = []
    storage = options.weight_storage
    dtype_bytes = options.dtype.bytes
    burst = hardware.dram.burst_bytes
    for info in network.infos:
        counters = result.layers.get(info.name, LayerCounters())
        regeneration = 0.0
        if storage.kind == "centralized" and info.params:
            # Each weight loaded from DRAM is regenerated once into the weight buffer.
            stored = storage.stored_bytes(info.params, options.dtype.bytes)
            dense_loaded = counters.dram_read_bytes["weight"] * info.params / stored
            regeneration = regeneration_energy_pj(round(dense_loaded), options.dtype)
        record = _record(counters, hardware, options.dtype, regeneration, burst)
        record["compulsory_bytes"] = layer_compulsory_bytes(info, dtype_bytes, storage)
        record["lower_bound_bytes"] = layer_lower_bound_bytes(info, hardware, dtype_bytes,
                                                              storage)
        record["traffic_to_bound"] = _ratio(record["dram_read_bytes"]
                                            + record["dram_write_bytes"],
                                            record["lower_bound_bytes"])
        record["peak_onchip_bytes"] = onchip.peak_bytes_by_layer.get(info.name, 0)
        record["peak_onchip_bytes_by_buffer"] = onchip.peak_bytes_by_layer_and_buffer.get(
            info.name, dict.fromkeys(onchip.peak_bytes_by_buffer, 0))
        layers.append({"name": info.name, "kind": info.kind, **record})
    totals = run_totals(layers, result.cycles, hardware)
    totals["compulsory_bytes"] = network_compulsory_bytes(network, dtype_bytes, storage)
    # Across layers fusion can beat every per-layer bound, so a network's bound is its
    # compulsory traffic; a network of one layer has that layer's.
    totals["lower_bound_bytes"] = (layers[0]["lower_bound_bytes"] if len(layers) == 1
                                   else totals["compulsory_bytes"])
    totals["traffic_to_bound"] = _ratio(totals["dram_read_bytes"] + totals["dram_write_bytes"],
                                        totals["lower_bound_bytes"])
    totals["peak_onchip_bytes"] = onchip.peak_bytes
    totals["peak_onchip_bytes_by_buffer"] = onchip.peak_bytes_by_buffer
    config = {
        "network": network_to_dict(network),
        "hardware": hardware.model_dump(by_alias=True),
        "options": options.to_dict(),
    }
    return {"config": config, "config_hash": config_hash(config), "network": network.name,
            "hardware": hardware.name, **options.to_dict(),
            "feature_map_room": {"buffer": schedule.fmap_buffer,
                                 "channels": schedule.buffer_channels,
                                 "bytes": schedule.fmap_bytes},
            "reordered_blocks": list(schedule.reordered),
            **({"mapping": mapping_to_dict(schedule.mapping)} if schedule.mapping else {}),
            "totals": totals, "layers": layers}


def _ratio(traffic: int, bound: int) -> float:
    return traffic / bound if bound else 0.0


def _record(counters: LayerCounters, hardware: HardwareSpec, dtype: DType,
            regeneration_pj: float, burst_bytes: int) -> dict[str, Any]:
    energy = layer_energy_pj(counters, hardware, dtype, regeneration_pj)
    by_operand = {op: counters.dram_read_bytes[op] + counters.dram_write_bytes[op]
                  for op in OPERANDS}
    bursts = {op: (counters.dram_bursts_read[op] + counters.dram_bursts_written[op])
              * burst_bytes for op in OPERANDS}
    stall = counters.cycles - counters.compute_cycles
    return {
        "macs": counters.macs,
        "dram_read_bytes": sum(counters.dram_read_bytes.values()),
        "dram_write_bytes": sum(counters.dram_write_bytes.values()),
        "dram_bytes_by_operand": by_operand,
        "dram_burst_bytes": sum(bursts.values()),
        "dram_burst_bytes_by_operand": bursts,
        "sram_read_bytes": sum(counters.sram_read_bytes.values()),
        "sram_write_bytes": sum(counters.sram_write_bytes.values()),
        "cycles": counters.cycles,
        "compute_cycles": counters.compute_cycles,
        "stall_cycles": stall,
        "buffer_stall_cycles": counters.buffer_stall_cycles,
        "dram_stall_cycles": stall - counters.buffer_stall_cycles,
        "dram_busy_cycles": counters.dram_busy_cycles,
        "row_hits": counters.row_hits,
        "row_misses": counters.row_misses,
        "energy_pj": energy,
        "latency_s": counters.cycles / hardware.clock_hz,
    }


SUMMED = ("macs", "dram_read_bytes", "dram_write_bytes", "dram_burst_bytes", "sram_read_bytes",
          "sram_write_bytes", "compute_cycles", "buffer_stall_cycles", "dram_busy_cycles",
          "row_hits", "row_misses")


def run_totals(layers: list[dict[str, Any]], cycles: int, hardware: HardwareSpec
               ) -> dict[str, Any]:
    """Totals of a run: the layer records added up, and the run's ``cycles`` (equal to the
    layers' sum: each tile is charged from the previous tile's compute end to its own) with the
    latency and bandwidth they imply."""
    totals: dict[str, Any] = {key: sum(layer[key] for layer in layers) for key in SUMMED}
    by_operand: Counter = Counter()
    bursts: Counter = Counter()
    energy: Counter = Counter()
    for layer in layers:
        by_operand.update(layer["dram_bytes_by_operand"])
        bursts.update(layer["dram_burst_bytes_by_operand"])
        energy.update(layer["energy_pj"])
    totals["dram_bytes_by_operand"] = {op: by_operand[op] for op in OPERANDS}
    totals["dram_burst_bytes_by_operand"] = {op: bursts[op] for op in OPERANDS}
    totals["energy_pj"] = dict(energy)
    totals["cycles"] = cycles
    totals["stall_cycles"] = cycles - totals["compute_cycles"]
    totals["dram_stall_cycles"] = totals["stall_cycles"] - totals["buffer_stall_cycles"]
    totals["latency_s"] = cycles / hardware.clock_hz
    totals["achieved_dram_bytes_per_s"] = (
        (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / totals["latency_s"]
        if cycles else 0.0
    )
    return totals
