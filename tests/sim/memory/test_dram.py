"""The DRAM model: streaming near peak, random accesses missing rows, hand-worked timing."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.hardware import load_hardware
from sim.memory.dram import DramModel, energy_pj

SPEC = load_hardware("configs/hardware/jetson_nano.yaml").dram
T = SPEC.timing
BURST_CYCLES = SPEC.burst_length // 2


def ideal_cycles(size_bytes: int) -> float:
    """size / (bus bytes x data rate), in DRAM clock cycles."""
    return size_bytes / SPEC.peak_bytes_per_s * SPEC.clock_hz


@pytest.mark.parametrize("write", [False, True])
@pytest.mark.parametrize("size", [1 << 20, 8 << 20])
def test_streaming_is_within_5_percent_of_peak(size, write):
    model = DramModel(SPEC)
    result = model.access(0, size, write, 0)
    assert result.end_cycle <= 1.05 * ideal_cycles(size)
    assert result.end_cycle >= ideal_cycles(size)
    assert model.stats.refreshes > 0  # refresh is part of the figure


def test_random_32_byte_accesses_miss_rows_and_lose_bandwidth():
    generator = random.Random(7)
    model = DramModel(SPEC)
    count = 4000
    for _ in range(count):
        address = generator.randrange(0, 256 << 20) // 32 * 32
        model.access(address, 32, False, 0)
    assert model.stats.row_misses > 0.95 * count
    achieved = count * 32 / model.stats.last_end_cycle  # bytes per DRAM cycle
    peak = SPEC.peak_bytes_per_s / SPEC.clock_hz
    # A row miss costs rp + rcd per 32 B burst in a bank; four channels and 8 banks overlap
    # some of it, but nowhere near streaming.
    assert achieved < peak / 3


def test_row_hit_then_row_miss_by_hand():
    model = DramModel(SPEC)
    burst = SPEC.burst_bytes
    # Bank 1 of channel 0 at address page_bytes * channels (no refresh before its offset).
    base = SPEC.page_bytes * SPEC.channels
    page_stride = SPEC.page_bytes * SPEC.channels * SPEC.banks  # next row, same bank
    first = model.access(base, burst, False, 0)
    activate = 0
    assert first.row_misses == 1 and first.start_cycle == activate + T.rcd
    assert first.end_cycle == activate + T.rcd + T.rl + BURST_CYCLES
    hit = model.access(base + burst, burst, False, 0)
    assert hit.row_hits == 1 and hit.row_misses == 0
    assert hit.start_cycle == first.start_cycle + T.ccd
    miss = model.access(base + page_stride, burst, False, 0)
    # Precharge waits for tRAS after the activate (and the last column command), then tRP, tRCD.
    precharge = max(activate + T.ras, hit.start_cycle + T.ccd)
    assert miss.row_misses == 1
    assert miss.start_cycle == precharge + T.rp + T.rcd
    assert miss.end_cycle == miss.start_cycle + T.rl + BURST_CYCLES


@given(requests=st.lists(st.tuples(st.integers(0, 1 << 22), st.integers(1, 5000),
                                   st.booleans(), st.integers(0, 2000)), min_size=1, max_size=30))
@settings(max_examples=50, deadline=None)
def test_invariants_over_random_request_streams(requests):
    model = DramModel(SPEC)
    arrival = 0
    totals = {"bursts": 0, "hits": 0, "misses": 0, "busy": 0}
    for address, size, write, gap in requests:
        arrival += gap
        result = model.access(address, size, write, arrival)
        assert result.end_cycle >= result.start_cycle >= arrival
        assert result.busy_cycles == result.bursts * BURST_CYCLES
        assert result.row_hits + result.row_misses == result.bursts
        assert result.activates == result.row_misses
        totals["bursts"] += result.bursts
        totals["hits"] += result.row_hits
        totals["misses"] += result.row_misses
        totals["busy"] += result.busy_cycles
    stats = model.stats
    assert stats.bursts_read + stats.bursts_written == totals["bursts"]
    assert (stats.row_hits, stats.row_misses) == (totals["hits"], totals["misses"])
    assert sum(stats.busy_cycles) == totals["busy"]


def test_arrivals_must_not_go_back_in_time():
    model = DramModel(SPEC)
    model.access(0, 64, False, 100)
    with pytest.raises(ValueError, match="arrivals must not decrease"):
        model.access(0, 64, False, 99)


def test_energy_counts_whole_bursts_and_activates():
    model = DramModel(SPEC)
    model.access(1, 40, False, 0)  # bytes 1..40 touch two 32 B bursts
    assert model.stats.bursts_read == 2
    bits = 2 * SPEC.burst_bytes * 8
    assert energy_pj(model.stats, SPEC) == pytest.approx(
        bits * SPEC.energy.read_pj_per_bit + model.stats.activates * SPEC.energy.activate_pj)
