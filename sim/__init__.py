"""edgeaccel's model: workloads, golden reference ops, memory techniques and the simulator."""
