"""The mapper: per-layer mappings (tiles, blocks, loop order), their DRAM traffic in closed form,
and the search for the best schedule of a network under its declared buffers."""
