"""A results store as a pandas DataFrame: one row per design point, one column per option and
per metric.

```python
from sim.sweep.frame import load_results
frame = load_results("results/default")          # the folder a sweep wrote
frame.groupby("dataflow")["energy_pj"].mean()
```

Option columns: ``network`` (name), ``resolution`` (input px), ``hardware`` (name),
``dataflow``, ``dtype``, ``tile``, ``buffer_channels``, ``halo_reuse``, ``weights`` (empty
where a dataflow does not use the option) and one column per varied ``hardware.<field>`` axis.
Metric columns are the ``totals`` of ``simulate --json`` with their units in the names
(``macs``, ``dram_read_bytes``, ``cycles``, ``latency_s``, ``energy_pj``, ...); a mapping such
as ``energy_pj`` gives ``energy_pj`` (its ``total``) and ``energy_pj.<component>``. ``key`` is
the config hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.sweep.store import ResultsStore

if TYPE_CHECKING:
    import pandas

OPTION_COLUMNS = ("network", "resolution", "hardware", "dataflow", "dtype", "tile",
                  "buffer_channels", "halo_reuse", "weights")


def record(row: dict[str, Any]) -> dict[str, Any]:
    """One stored point as a flat record: options first, then metrics."""
    config = row["config"]
    options = config["options"]
    flat: dict[str, Any] = {
        "key": row["key"], "network": config["network"]["name"],
        "resolution": config["network"]["input"]["height"],
        "hardware": config["hardware"]["name"],
    }
    for name in OPTION_COLUMNS[3:]:
        flat[name] = options.get(name)
    for axis, value in sorted(row["labels"].items()):
        if axis.startswith("hardware."):
            flat[axis] = value
    for name, value in row["result"]["totals"].items():
        if isinstance(value, dict):
            if "total" in value:
                flat[name] = value["total"]
            for part, number in value.items():
                if part != "total":
                    flat[f"{name}.{part}"] = number
        else:
            flat[name] = value
    return flat


def results_frame(rows: list[dict[str, Any]]) -> pandas.DataFrame:
    """The DataFrame of stored ``rows`` (as :meth:`ResultsStore.rows` returns them)."""
    import pandas

    return pandas.DataFrame.from_records([record(row) for row in rows])


def load_results(folder: str | Path) -> pandas.DataFrame:
    """Load the results store a sweep wrote into ``folder`` (``results.sqlite``)."""
    store = ResultsStore(folder, create=False)
    try:
        return results_frame(store.rows())
    finally:
        store.close()
