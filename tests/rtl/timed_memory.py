"""A memory for the DRAM engine's port that answers with the timing of ``sim.memory``'s DRAM
model (same hardware preset, same address mapping), cycle by cycle, for any testbench.

A read request that arrives in cycle t is served by the DRAM model at DRAM cycle
ceil(t x f_dram / f_acc); its beats can be taken from the accelerator cycle its last DRAM data
beat has arrived in (no earlier than t + 1), one per cycle. A write is served when its last
data beat arrives and acknowledged from the cycle the DRAM model has written it.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

from sim.hardware import HardwareSpec
from sim.memory.dram import DramModel


class TimedMemory:
    """A byte image served through ``beat_bytes``-wide beats with DRAM-model timing."""

    def __init__(self, hardware: HardwareSpec, size_bytes: int, beat_bytes: int) -> None:
        self.image = bytearray(size_bytes)
        self.beat_bytes = beat_bytes
        self.dram = DramModel(hardware.dram)
        self._ratio = Fraction(str(hardware.dram.clock_hz)) / Fraction(str(hardware.clock_hz))
        self.read_beats: deque[tuple[int, int]] = deque()   # (first cycle it may go, value)
        self.write_requests: deque[tuple[int, int]] = deque()  # (address, beats)
        self.write_beats: list[int] = []
        self.acks: deque[int] = deque()                      # first cycle it may go

    def _dram_cycle(self, cycle: int) -> int:
        return -(-cycle * self._ratio.numerator // self._ratio.denominator)

    def _accelerator_cycle(self, dram_cycle: int) -> int:
        return -(-dram_cycle * self._ratio.denominator // self._ratio.numerator)

    def _done(self, address: int, size: int, write: bool, cycle: int) -> int:
        result = self.dram.access(address, size, write, self._dram_cycle(cycle))
        return max(cycle + 1, self._accelerator_cycle(result.end_cycle))

    def read_request(self, cycle: int, address: int, beats: int) -> None:
        ready = self._done(address, beats * self.beat_bytes, False, cycle)
        size = self.beat_bytes
        for index in range(beats):
            start = address + index * size
            self.read_beats.append(
                (ready, int.from_bytes(self.image[start:start + size], "little")))

    def read_beat(self, cycle: int) -> int | None:
        """The beat the memory offers in ``cycle``, or None."""
        if self.read_beats and self.read_beats[0][0] <= cycle:
            return self.read_beats[0][1]
        return None

    def take_read_beat(self) -> None:
        self.read_beats.popleft()

    def write_request(self, address: int, beats: int) -> None:
        self.write_requests.append((address, beats))

    def write_beat(self, cycle: int, value: int) -> None:
        """A write data beat taken in ``cycle``; completes a request when it is its last."""
        self.write_beats.append(value)
        self._complete(cycle)

    def _complete(self, cycle: int) -> None:
        while self.write_requests and len(self.write_beats) >= self.write_requests[0][1]:
            address, beats = self.write_requests.popleft()
            size = self.beat_bytes
            for index in range(beats):
                start = address + index * size
                self.image[start:start + size] = self.write_beats[index].to_bytes(size,
                                                                                  "little")
            del self.write_beats[:beats]
            self.acks.append(self._done(address, beats * size, True, cycle))

    def after_write_request(self, cycle: int) -> None:
        """A write request taken after its data (the port allows either order)."""
        self._complete(cycle)

    def ack(self, cycle: int) -> bool:
        return bool(self.acks) and self.acks[0] <= cycle

    def take_ack(self) -> None:
        self.acks.popleft()
