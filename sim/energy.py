"""Energy of a simulated run, by component and operand, in pJ.

MACs x energy per MAC (by dtype) + SRAM accesses x energy per access (one access moves one
buffer word) + DRAM bits x energy per bit (whole bursts, as the DRAM moves them) + activates x
energy per activate/precharge + weight regeneration (centralized weights) + static power x time.
"""

from __future__ import annotations

from sim.dtypes import DType
from sim.hardware import HardwareSpec
from sim.pipeline import LayerCounters
from sim.schedule import OPERANDS

COMPONENTS = ("mac", *(f"sram_{op}" for op in OPERANDS), *(f"dram_{op}" for op in OPERANDS),
              "dram_activate", "weight_regen", "static")


def layer_energy_pj(counters: LayerCounters, hardware: HardwareSpec, dtype: DType,
                    regeneration_pj: float = 0.0) -> dict[str, float]:
    """Energy breakdown of one layer; ``total`` is the sum of the components.

    ``regeneration_pj`` is what the weight generators spent (centralized weights).
    """
    dram = hardware.dram
    burst_bits = dram.burst_bytes * 8
    energy = {"mac": counters.macs * hardware.energy.mac_pj[str(dtype)]}
    for operand in OPERANDS:
        buffer = hardware.buffers.for_operand(operand)
        energy[f"sram_{operand}"] = (
            counters.sram_read_bytes[operand] / buffer.word_bytes * buffer.read_pj
            + counters.sram_write_bytes[operand] / buffer.word_bytes * buffer.write_pj
        )
        energy[f"dram_{operand}"] = (
            counters.dram_bursts_read[operand] * burst_bits * dram.energy.read_pj_per_bit
            + counters.dram_bursts_written[operand] * burst_bits * dram.energy.write_pj_per_bit
        )
    energy["dram_activate"] = sum(counters.dram_activates.values()) * dram.energy.activate_pj
    energy["weight_regen"] = regeneration_pj
    seconds = counters.cycles / hardware.clock_hz
    energy["static"] = hardware.energy.static_mw * 1e-3 * seconds * 1e12
    energy["total"] = sum(energy[name] for name in COMPONENTS)
    return energy
