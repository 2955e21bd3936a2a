"""Verilog and ``manifest.json`` for an RTL spec.

The Verilog comes from Amaranth's backend with ``emit_src=False`` (no Python paths in the
output, so the file is reproducible). The manifest lists the top module's ports as they appear
in the Verilog (``__`` joins the levels of a port's path), the parameters and the expected
latency formula.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import amaranth
from amaranth import Shape, Value
from amaranth.back import verilog
from amaranth.lib import wiring

from hls_gen.build import Build, build, build_layer_engine
from hls_gen.from_hardware import BufferUse, audit_record, is_hardware_file, load_engine_spec
from hls_gen.spec import RtlSpec, load_rtl_spec
from sim.config import read_yaml
from sim.output import write_texts_atomic
from sim.presets import hardware_path


def verilog_text(target: Build) -> str:
    return verilog.convert(target.component, name=target.module_name, emit_src=False)


def ports(component: wiring.Component) -> list[dict[str, Any]]:
    """Top-level ports in Verilog: clock and reset, then the component's signature."""
    listed = [{"name": "clk", "direction": "input", "width": 1, "signed": False},
              {"name": "rst", "direction": "input", "width": 1, "signed": False}]
    for path, member, value in component.signature.flatten(component):
        shape = value.shape()
        listed.append({
            "name": "__".join(str(step) for step in path),
            "direction": "input" if member.flow == wiring.In else "output",
            "width": len(Value.cast(value)),
            "signed": isinstance(shape, Shape) and shape.signed,
        })
    return listed


def load_target(path: str | Path) -> tuple[Build, list[BufferUse] | None]:
    """The module an RTL component spec (``configs/rtl``, it names a ``component``) or a
    hardware YAML (``configs/hardware``, the file ``simulate`` reads: its layer engine)
    describes, with the buffer audit of the latter. A hardware preset may be named
    (``fpga_4x4_os``), as ``simulate --hardware`` takes it."""
    path = hardware_path(str(path))
    data, _ = read_yaml(path)
    if is_hardware_file(data):
        spec, _, uses = load_engine_spec(path)
        return build_layer_engine(spec), uses
    spec: RtlSpec = load_rtl_spec(path)
    return build(spec), None


def manifest(spec_path: str | Path, target: Build, text: str,
             uses: list[BufferUse] | None = None) -> dict[str, Any]:
    record = {
        "module": target.module_name,
        "component": target.kind,
        "spec": str(spec_path),
        "verilog": f"{target.module_name}.v",
        "verilog_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "parameters": target.parameters,
        "latency": target.latency,
        "ports": ports(target.component),
        "generator": {"amaranth": amaranth.__version__},
    }
    if uses is not None:
        record["buffers"] = audit_record(uses)
    return record


def generate(spec_path: str | Path, out_dir: str | Path) -> dict[str, Any]:
    """Write ``MODULE.v`` and ``manifest.json`` into ``out_dir``, both or neither; return the
    manifest. ``spec_path`` is an RTL component spec or a hardware YAML."""
    target, uses = load_target(spec_path)
    text = verilog_text(target)
    record = manifest(hardware_path(str(spec_path)), target, text, uses)
    out = Path(out_dir)
    write_texts_atomic([(out / record["verilog"], text),
                        (out / "manifest.json", json.dumps(record, indent=2) + "\n")])
    return record
