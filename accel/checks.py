"""Parameter checks for components, raised before an unusable component is left behind."""

from __future__ import annotations

from typing import Any


def require_int(component: Any, name: str, value: object, minimum: int) -> None:
    """Raise ``TypeError`` unless ``value`` is an int >= ``minimum``.

    ``component`` is the Amaranth elaboratable being constructed: it is marked as deliberately
    unused first, so a refused component does not also warn that it was never elaborated.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return
    component._MustUse__silence = True
    wording = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    raise TypeError(f"{name} must be {wording}, not {value!r}")
