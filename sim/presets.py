"""Hardware presets by name (``jetson_nano``) from any directory.

The presets are the YAML files of ``configs/hardware/``. A source checkout (or an editable
install) reads them there; a normal install ships them as data files under
``<prefix>/share/edgeaccel/hardware/`` (``[tool.setuptools.data-files]`` in pyproject.toml).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sim.config import ConfigError
from sim.hardware import HardwareSpec, load_hardware

_HERE = Path(__file__).resolve()
_CHECKOUT = _HERE.parents[1] / "configs" / "hardware"
_DATA = Path("share") / "edgeaccel" / "hardware"
# A normal install: PREFIX/lib/pythonX.Y/site-packages/sim/presets.py and PREFIX/share/...
_INSTALLED = [Path(sys.prefix) / _DATA] + (
    [_HERE.parents[4] / _DATA] if len(_HERE.parents) > 4 else [])
_NAME = re.compile(r"[A-Za-z0-9_\-]+")


def preset_folders() -> list[Path]:
    """Where presets are looked for, first match wins."""
    return [folder for folder in (_CHECKOUT, *_INSTALLED) if folder.is_dir()]


def preset_names() -> list[str]:
    """Every preset name, sorted."""
    return sorted({path.stem for folder in preset_folders() for path in folder.glob("*.yaml")})


def hardware_path(text: str) -> Path:
    """The file ``text`` names: an existing path, else a preset by name.

    ``configs/hardware/NAME.yaml`` given outside the checkout also finds preset ``NAME``.
    A name that is neither raises :class:`ConfigError` listing the presets.
    """
    path = Path(text)
    if path.exists():
        return path
    looks_like_preset = _NAME.fullmatch(text) or (
        path.suffix in (".yaml", ".yml") and path.parent.name == "hardware")
    if looks_like_preset:
        for folder in preset_folders():
            candidate = folder / f"{path.stem}.yaml"
            if candidate.is_file():
                return candidate
    if _NAME.fullmatch(text):
        raise ConfigError(text, "no such hardware preset or file",
                          allowed=", ".join(preset_names()) + ", or a path to a .yaml file")
    return path  # load_hardware says "file not found"


def load_hardware_arg(text: str) -> HardwareSpec:
    """Load the hardware a ``--hardware`` argument or a sweep's ``hardware`` names."""
    return load_hardware(hardware_path(text))
