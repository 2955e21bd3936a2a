"""Amaranth hardware components (PEs, arrays, buffers, line buffers, conv engine)."""
