"""Human tables and JSON-ready summaries of networks."""

from __future__ import annotations

from typing import Any

from sim.workload.network import Network


def _shape(values: tuple[int, int, int]) -> list[int]:
    return list(values)


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
    return "\n".join([title, line(header), rule, *map(line, rows[:-1]), rule, line(rows[-1])])
