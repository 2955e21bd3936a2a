"""Cycle-level DRAM model: address mapping, per-bank row buffers, bus timing and refresh."""
