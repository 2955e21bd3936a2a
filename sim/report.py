"""Human tables and JSON-ready summaries of networks."""

from __future__ import annotations

import csv
import io
from typing import Any

from sim.peak import PeakReport
from sim.units import kb_kib
from sim.workload.network import Network


def _shape(values: tuple[int, int, int]) -> list[int]:
    return list(values)


# Where `network show`'s figures come from (under the table's title; ``*_source`` in JSON).
MACS_SOURCE = ("derived from the layer shapes: multiply-accumulates of conv and fc layers; "
               "pooling, add, mul, concat, slice, shuffle, LRN and activations count 0")
PARAMS_SOURCE = "weights and biases, plus a batch norm's scale and shift (as torchvision counts)"


def network_summary(network: Network) -> dict[str, Any]:
    """Per-layer shapes (H, W, C elements), parameters and MACs, and the totals, as plain data."""
    return {
        "network": network.name,
        "input_shape": _shape(network.input_shape.as_tuple()),
        "layers": [
            {
                "name": info.name,
                "kind": info.kind,
                "inputs": list(info.inputs),
                "input_shape": _shape(info.input_shapes[0].as_tuple()),
                "output_shape": _shape(info.output_shape.as_tuple()),
                "params": info.params,
                "macs": info.macs,
            }
            for info in network.infos
        ],
        "total_params": network.total_params,
        "total_macs": network.total_macs,
        "params_source": PARAMS_SOURCE,
        "macs_source": MACS_SOURCE,
    }


def network_table(network: Network) -> str:
    """A fixed-width table: one row per layer, then the totals."""
    header = ("layer", "kind", "input (HxWxC)", "output (HxWxC)", "params", "MACs")
    rows = [
        (
            info.name,
            info.kind,
            " + ".join("x".join(map(str, s.as_tuple())) for s in info.input_shapes),
            "x".join(map(str, info.output_shape.as_tuple())),
            f"{info.params:,}",
            f"{info.macs:,}",
        )
        for info in network.infos
    ]
    rows.append((
        "total", f"{len(network.infos)} layers", "", "",
        f"{network.total_params:,}", f"{network.total_macs:,}",
    ))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {4, 5}

    def line(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    title = (
        f"{network.name}: input {'x'.join(map(str, network.input_shape.as_tuple()))}, "
        f"{network.total_params / 1e6:.3f} M params, {network.total_macs / 1e6:.1f} M MACs"
    )
    sources = [f"MACs: {MACS_SOURCE}.", f"params: {PARAMS_SOURCE}."]
    return "\n".join([title, *sources, line(header), rule, *map(line, rows[:-1]), rule,
                      line(rows[-1])])


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *map(line, rows)]


def peak_table(report: PeakReport, budget_bytes: int | None = None) -> str:
    """Per-layer live memory with the peak marked, then the summary lines."""
    rows = [
        (layer.name, f"{layer.live_bytes:,}", f"{layer.live_bytes / 1000:,.1f}",
         "<- peak" if layer.name == report.peak_layer else
         ("over budget" if budget_bytes is not None and layer.live_bytes > budget_bytes else ""))
        for layer in report.per_layer
    ]
    lines = [f"{report.network} ({report.dtype}): live memory per layer"]
    lines += _table(("layer", "live bytes", "KB", ""), rows, {1, 2})
    lines.append(f"peak: {kb_kib(report.peak_bytes)} at {report.peak_layer}")
    if report.extra_macs:
        lines.append(f"extra MACs: {report.extra_macs:,}")
    return "\n".join(lines)


def margin_table_text(rows: list[dict], dtypes: tuple[str, ...]) -> str:
    """Seed 001 Table 6 style: margin, patch size and peak per dtype (KB and KiB)."""
    header = ("margin", "patch", *(f"peak {d} (KB / KiB)" for d in dtypes))
    body = [
        (str(row["margin"]), "x".join(map(str, row["patch"])),
         *(f"{row[f'peak_bytes_{d}'] / 1000:,.1f} / {row[f'peak_bytes_{d}'] / 1024:,.1f}"
           for d in dtypes))
        for row in rows
    ]
    return "\n".join(_table(header, body, set(range(2, 2 + len(dtypes)))))


CSV_FIELDS = ("name", "kind", "macs", "dram_read_bytes", "dram_write_bytes", "dram_ifmap_bytes",
              "dram_weight_bytes", "dram_ofmap_bytes", "dram_burst_bytes", "compulsory_bytes",
              "lower_bound_bytes", "traffic_to_bound", "peak_onchip_bytes", "sram_read_bytes",
              "sram_write_bytes", "cycles", "compute_cycles", "stall_cycles",
              "buffer_stall_cycles", "dram_stall_cycles", "dram_busy_cycles", "row_hits",
              "row_misses", "latency_s", "energy_total_pj")


def _flat(layer: dict[str, Any]) -> dict[str, Any]:
    row = {key: layer[key] for key in CSV_FIELDS if key in layer}
    for operand, size in layer["dram_bytes_by_operand"].items():
        row[f"dram_{operand}_bytes"] = size
    for component, value in layer["energy_pj"].items():
        row[f"energy_{component}_pj"] = value
    return row


def layers_csv(result: dict[str, Any]) -> str:
    """One CSV row per layer; energy has one column per component."""
    rows = [_flat(layer) for layer in result["layers"]]
    energy_fields = [key for key in rows[0] if key.startswith("energy_") and key not in CSV_FIELDS]
    stream = io.StringIO()
    writer = csv.DictWriter(stream, fieldnames=[*CSV_FIELDS, *energy_fields], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return stream.getvalue()


def simulation_table(result: dict[str, Any]) -> str:
    """Per-layer DRAM traffic against its lower bound, cycles, stalls, on-chip peak and energy,
    then the totals."""
    def row(name: str, record: dict[str, Any]) -> tuple[str, ...]:
        dram = record["dram_read_bytes"] + record["dram_write_bytes"]
        return (name, f"{record['macs']:,}", f"{dram / 1e3:,.1f}",
                f"{record['dram_burst_bytes'] / 1e3:,.1f}",
                f"{record['lower_bound_bytes'] / 1e3:,.1f}", f"{record['traffic_to_bound']:.2f}",
                f"{record['cycles']:,}", f"{record['buffer_stall_cycles']:,}",
                f"{record['dram_stall_cycles']:,}", f"{record['peak_onchip_bytes'] / 1e3:,.1f}",
                f"{record['energy_pj']['total'] / 1e6:,.3f}")

    header = ("layer", "MACs", "DRAM KB", "bursts KB", "bound KB", "x bound", "cycles",
              "buffer stall", "DRAM stall", "on-chip KB", "energy uJ")
    totals = result["totals"]
    lines = [f"{result['network']} on {result['hardware']}: {result['dataflow']} "
             f"({result['dtype']})"]
    lines += _table(header, [row(layer["name"], layer) for layer in result["layers"]]
                    + [row("total", totals)], set(range(1, len(header))))
    operands = ", ".join(f"{op} {size / 1e6:.3f}" for op, size in
                         totals["dram_bytes_by_operand"].items())
    energy = totals["energy_pj"]
    room = result.get("feature_map_room") or {}
    peaks = ", ".join(f"{name} {size:,}" for name, size in
                      totals["peak_onchip_bytes_by_buffer"].items())
    lines += [
        f"DRAM traffic: {(totals['dram_read_bytes'] + totals['dram_write_bytes']) / 1e6:.3f} MB "
        f"requested ({operands} MB), {totals['dram_burst_bytes'] / 1e6:.3f} MB in whole "
        f"bursts; row hits {totals['row_hits']:,}, misses {totals['row_misses']:,}",
        f"lower bound: {totals['lower_bound_bytes'] / 1e6:.3f} MB (compulsory "
        f"{totals['compulsory_bytes'] / 1e6:.3f} MB); traffic / bound "
        f"{totals['traffic_to_bound']:.2f}",
        f"on chip: peak {totals['peak_onchip_bytes']:,} B ({peaks} B)"
        + (f"; feature maps kept in {room['channels']} channels ({room['bytes']:,} B) of "
           f"{room['buffer']!r}" if room.get("buffer") else ""),
        f"latency: {totals['latency_s'] * 1e3:.3f} ms ({totals['cycles']:,} cycles: compute "
        f"{totals['compute_cycles']:,}, buffer stalls {totals['buffer_stall_cycles']:,}, DRAM "
        f"stalls {totals['dram_stall_cycles']:,}); energy {energy['total'] / 1e9:.4f} mJ "
        f"(DRAM {sum(v for k, v in energy.items() if k.startswith('dram')) / 1e9:.4f} mJ)",
    ]
    return "\n".join(lines)
