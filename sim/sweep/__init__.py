"""Design-space sweeps: YAML grids, executors, a resumable SQLite store, plots."""
