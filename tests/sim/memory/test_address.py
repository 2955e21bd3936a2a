"""Address mapping: every byte in exactly one run, runs inside a page, round-robin channels."""

from hypothesis import given
from hypothesis import strategies as st

from sim.hardware import load_hardware
from sim.memory.address import split

SPEC = load_hardware("configs/hardware/jetson_nano.yaml").dram


def reference_location(address: int) -> tuple[int, int, int, int]:
    """(channel, bank, row, burst in page) of one byte, straight from the documented mapping."""
    unit, channels = SPEC.interleave_bytes, SPEC.channels
    channel = (address // unit) % channels
    local = (address // (unit * channels)) * unit + address % unit
    page = local // SPEC.page_bytes
    burst = (local % SPEC.page_bytes) // SPEC.burst_bytes
    return channel, page % SPEC.banks, page // SPEC.banks, burst


@given(address=st.integers(0, 1 << 26), size=st.integers(1, 20_000))
def test_runs_cover_exactly_the_bursts_of_the_request(address, size):
    runs = split(SPEC, address, size)
    covered = [(r.channel, r.bank, r.row, r.first_burst + i) for r in runs for i in range(r.bursts)]
    assert len(covered) == len(set(covered))  # no burst twice
    expected = {reference_location(a) for a in range(address, address + size)}
    assert set(covered) == expected
    for run in runs:
        assert run.first_burst + run.bursts <= SPEC.page_bytes // SPEC.burst_bytes


def test_consecutive_interleave_units_rotate_over_channels():
    unit = SPEC.interleave_bytes
    channels = [split(SPEC, i * unit, unit)[0].channel for i in range(2 * SPEC.channels)]
    assert channels == list(range(SPEC.channels)) * 2


def test_a_large_request_splits_per_page_not_per_burst():
    size = 1 << 20
    runs = split(SPEC, 0, size)
    assert len(runs) == size // SPEC.page_bytes
    assert sum(r.bursts for r in runs) == size // SPEC.burst_bytes
