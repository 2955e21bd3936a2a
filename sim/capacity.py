"""The on-chip capacity budget: what a tile may use, and the audit that proves a run fit.

Planners ask :class:`Budget` whether a tile fits: in each declared buffer, the feature maps kept
resident there + the bytes a group of tiles holds (weights loaded once for a layer) + the
tile's streamed bytes (input window, weight block, output tile), twice when the buffer is
double-buffered (the next tile fills the other half while this one computes).

The pipeline records every reservation it makes (:class:`sim.pipeline.Reservation`);
:func:`audit` replays them independently, as a sweep over time, and proves that no buffer ever
held more than its size. It also gives the peak on-chip bytes per buffer, of all buffers
together, and per layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from sim.hardware import HardwareSpec
from sim.pipeline import CapacityError, Occupancy, Reservation


class Budget:
    """The room a layer's tiles have, given what stays resident beside them."""

    def __init__(self, hardware: HardwareSpec) -> None:
        self.buffers = hardware.buffers
        self.declared = hardware.buffers.declared()
        self.pe_array = hardware.pe_array  # whose running sums wait in the output buffer
        self._resident = hardware.buffers.resident_name
        self._holder = {operand: hardware.buffers.name_for(operand)
                        for operand in ("ifmap", "weight", "ofmap")}
        # (name, size in bytes, copies of a tile's streamed bytes), in declaration order
        self._limits = [(name, spec.size_bytes, 2 if spec.double_buffered else 1)
                        for name, spec in self.declared.items()]

    @classmethod
    def of(cls, hardware: HardwareSpec) -> Budget:
        """The budget of ``hardware``, made once per hardware object (the mapper asks for it
        for every candidate)."""
        entry = _BUDGETS.get(id(hardware))
        if entry is None or entry[0] is not hardware:
            if len(_BUDGETS) >= 64:
                _BUDGETS.clear()
            entry = _BUDGETS[id(hardware)] = (hardware, cls(hardware))
        return entry[1]

    def fits(self, streamed: Mapping[str, int], once: Mapping[str, int] | None = None,
             resident_bytes: int = 0) -> bool:
        """True when a tile fits beside ``resident_bytes`` of resident feature maps.

        ``streamed`` and ``once`` map operands (ifmap, weight, ofmap) to bytes. Streamed bytes
        are the tile's own and take twice their size in a double-buffered buffer (the next
        tile's are there too); ``once`` bytes are shared by consecutive tiles (weights loaded
        once for a layer, an input window kept while filter blocks pass) and count once.
        """
        return self.overflow(streamed, once, resident_bytes) is None

    def overflow(self, streamed: Mapping[str, int], once: Mapping[str, int] | None = None,
                 resident_bytes: int = 0) -> str | None:
        """The first declared buffer such a tile overfills (None when it fits; see
        :meth:`fits`)."""
        need, held = self._per_buffer(streamed, once)
        resident = self._resident
        for name, size, copies in self._limits:
            taken = held.get(name, 0) + (resident_bytes if name == resident else 0)
            if taken + copies * need.get(name, 0) > size:
                return name
        return None


    def _per_buffer(self, streamed: Mapping[str, int], once: Mapping[str, int] | None
                    ) -> tuple[dict[str, int], dict[str, int]]:
        """Streamed and once-held bytes per declared buffer name."""
        holder = self._holder
        need: dict[str, int] = {}
        held: dict[str, int] = {}
        for operand, size in streamed.items():
            name = holder.get(operand) or self.buffers.name_for(operand)
            need[name] = need.get(name, 0) + size
        if once:
            for operand, size in once.items():
                name = holder.get(operand) or self.buffers.name_for(operand)
                held[name] = held.get(name, 0) + size
        return need, held

    def resident_room(self, streamed: Mapping[str, int], once: Mapping[str, int] | None = None
                      ) -> int | None:
        """The most bytes of resident feature maps a tile fits beside (see :meth:`fits`), or
        None when it does not fit beside none. ``fits(streamed, once, r)`` holds exactly for
        ``r <= resident_room(streamed, once)``."""
        need, held = self._per_buffer(streamed, once)
        resident = self._resident
        room = None
        for name, size, copies in self._limits:
            left = size - held.get(name, 0) - copies * need.get(name, 0)
            if left < 0:
                return None
            if name == resident:
                room = left
        return room if room is not None else 1 << 62


# Budgets by id() of their hardware, with the hardware kept alive so that the id stays its own.
_BUDGETS: dict[int, tuple[HardwareSpec, Budget]] = {}


def largest_fitting(low: int, high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest ``n`` in ``[low, high]`` with ``fits(n)``, for a ``fits`` that holds up to
    some size and fails above it (bisection); None when not even ``low`` fits."""
    if not fits(low):
        return None
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


@dataclass(frozen=True)
class AuditReport:
    """Peak bytes held on chip: all buffers together, per buffer, and per layer."""

    peak_bytes: int
    peak_bytes_by_buffer: dict[str, int]
    peak_bytes_by_layer: dict[str, int]
    peak_bytes_by_layer_and_buffer: dict[str, dict[str, int]]


def audit(reservations: list[Reservation] | Occupancy, hardware: HardwareSpec,
          layer_spans: dict[str, tuple[int, int]]) -> AuditReport:
    """Replay ``reservations`` over time; raise :class:`CapacityError` if any buffer ever holds
    more than its size. ``layer_spans`` maps each layer to its (first compute start, last
    compute end), for the per-layer peaks.

    A reservation holds its bytes over ``[start, end)``; at equal times releases come first.
    The sweep runs as array operations (each buffer's occupancy a running sum over the sorted
    events); :func:`audit_reference` is the same sweep event by event, and tests compare the
    two on random reservations.
    """
    sizes = _declared_sizes(reservations, hardware)
    names = list(sizes)
    count = len(reservations)
    starts, ends, amounts, buffers = _columns(reservations, names)
    # Events in the order of the reference: by time, releases first, then as appended
    # (each reservation's hold at 2 i, its release at 2 i + 1).
    times = np.column_stack((starts, ends)).ravel()
    holds = np.tile(np.array([1, 0], dtype=np.int64), count)
    order = np.lexsort((np.arange(2 * count), holds, times))
    times = times[order]
    deltas = np.column_stack((amounts, -amounts)).ravel()[order]
    event_buffers = np.repeat(buffers, 2)[order]
    held = np.zeros((len(names), 2 * count), dtype=np.int64)
    for index in range(len(names)):
        held[index] = np.cumsum(np.where(event_buffers == index, deltas, 0))
    limits = np.array([sizes[name] for name in names], dtype=np.int64)
    changed = held[event_buffers, np.arange(2 * count)]
    over = np.flatnonzero(changed > limits[event_buffers])
    if over.size:
        event = int(over[0])
        reservation = reservations[int(order[event]) // 2]
        buffer = names[int(event_buffers[event])]
        raise CapacityError(
            f"layer {reservation.layer!r}: buffer {buffer!r} holds {int(changed[event]):,} B "
            f"at cycle {int(times[event]):,}, more than its {sizes[buffer]:,} B")
    total = held.sum(axis=0)
    peak_by_buffer = {name: int(held[index].max(initial=0)) for index, name in enumerate(names)}
    peak = int(total.max(initial=0))
    # Piecewise-constant occupancy after each instant: the state after its last event (an
    # event is the last of its instant where the next one's time differs, or it is the last).
    last_at_time = np.flatnonzero(np.append(times[1:] != times[:-1], count > 0))
    occupancy = np.vstack((total, held))[:, last_at_time].T
    return _layer_peaks(times[last_at_time], occupancy, names, peak, peak_by_buffer,
                        layer_spans)


def audit_reference(reservations: list[Reservation], hardware: HardwareSpec,
                    layer_spans: dict[str, tuple[int, int]]) -> AuditReport:
    """:func:`audit`, event by event: the reference its array form is tested against."""
    sizes = _declared_sizes(reservations, hardware)
    events: list[tuple[int, int, str, int, Reservation]] = []
    for reservation in reservations:
        events.append((reservation.start, 1, reservation.buffer, reservation.size_bytes,
                       reservation))
        events.append((reservation.end, 0, reservation.buffer, -reservation.size_bytes,
                       reservation))
    events.sort(key=lambda event: (event[0], event[1]))
    held = dict.fromkeys(sizes, 0)
    peak_by_buffer = dict.fromkeys(sizes, 0)
    total = peak = 0
    # Piecewise-constant occupancy after each instant: (time, total, per buffer).
    steps: list[tuple[int, int, tuple[int, ...]]] = []
    for time, _, buffer, delta, reservation in events:
        held[buffer] += delta
        total += delta
        if held[buffer] > sizes[buffer]:
            raise CapacityError(
                f"layer {reservation.layer!r}: buffer {buffer!r} holds {held[buffer]:,} B at "
                f"cycle {time:,}, more than its {sizes[buffer]:,} B")
        peak_by_buffer[buffer] = max(peak_by_buffer[buffer], held[buffer])
        peak = max(peak, total)
        step = (time, total, tuple(held.values()))
        if steps and steps[-1][0] == time:
            steps[-1] = step
        else:
            steps.append(step)
    times = np.array([step[0] for step in steps], dtype=np.int64)
    occupancy = np.array([[step[1], *step[2]] for step in steps], dtype=np.int64).reshape(
        len(steps), 1 + len(sizes))
    return _layer_peaks(times, occupancy, list(sizes), peak, peak_by_buffer, layer_spans)


def _columns(reservations: list[Reservation] | Occupancy, names: list[str]
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends, bytes and buffers (indices into ``names``) of the reservations, read
    from the columns of an :class:`sim.pipeline.Occupancy`."""
    slot = {name: index for index, name in enumerate(names)}
    if isinstance(reservations, Occupancy):
        buffer_of = np.array([slot[name] for name in reservations.buffer_names], dtype=np.int64)
        return (reservations.start, reservations.end, reservations.size_bytes,
                buffer_of[reservations.buffer] if len(reservations) else reservations.buffer)
    count = len(reservations)
    starts = np.fromiter((r.start for r in reservations), dtype=np.int64, count=count)
    ends = np.fromiter((r.end for r in reservations), dtype=np.int64, count=count)
    amounts = np.fromiter((r.size_bytes for r in reservations), dtype=np.int64, count=count)
    buffers = np.fromiter((slot[r.buffer] for r in reservations), dtype=np.int64, count=count)
    return starts, ends, amounts, buffers


def _declared_sizes(reservations: list[Reservation] | Occupancy, hardware: HardwareSpec
                    ) -> dict[str, int]:
    """Each declared buffer's size (bytes); a reservation in an undeclared buffer is an
    error."""
    sizes = {name: spec.size_bytes for name, spec in hardware.buffers.declared().items()}
    if isinstance(reservations, Occupancy):  # its buffers are the hardware's declared ones
        if not set(reservations.buffer_names) <= set(sizes):
            raise CapacityError(f"a run's buffers {reservations.buffer_names} are not the "
                                f"declared ones ({', '.join(sizes)})")
        return sizes
    for reservation in reservations:
        if reservation.buffer not in sizes:
            raise CapacityError(f"layer {reservation.layer!r} keeps {reservation.what} in "
                                f"buffer {reservation.buffer!r}, which the hardware does not "
                                f"declare (declared: {', '.join(sizes)})")
    return sizes


def _layer_peaks(times: np.ndarray, occupancy: np.ndarray, names: list[str], peak: int,
                 peak_by_buffer: dict[str, int], layer_spans: dict[str, tuple[int, int]]
                 ) -> AuditReport:
    """The report, with each layer's peaks over its span: ``occupancy`` holds, from each of
    ``times`` on, all buffers' bytes together and each buffer's (columns in ``names`` order)."""
    by_layer: dict[str, int] = {}
    by_layer_buffer: dict[str, dict[str, int]] = {}
    for layer, (start, end) in layer_spans.items():
        first = max(0, int(np.searchsorted(times, start, side="right")) - 1)
        last = int(np.searchsorted(times, end, side="right"))
        most = (occupancy[first:last].max(axis=0) if last > first
                else np.zeros(1 + len(names), dtype=np.int64))
        by_layer[layer] = int(most[0])
        by_layer_buffer[layer] = {name: int(value) for name, value in zip(names, most[1:],
                                                                         strict=True)}
    return AuditReport(peak, peak_by_buffer, by_layer, by_layer_buffer)
