"""The PE array's SRAM access counts (`sim.mapping.tile_compute`) against a brute-force
loop-nest count, for each array dataflow.

The brute force walks the loop nest of each dataflow fold by fold and records, as sets, which
operand elements each fold must fetch from the buffer given what the array holds: an element
that enters the array is read once per fold and passed PE to PE (systolic arrays) or read
every cycle it is used (a vector engine has no operand registers); stationary elements are
loaded once per fold; partial sums leave the array once per fold and are read back for every
fold of the reduction but the first. Energy is words x pJ per access; the acceptance bound is
10 %, the counts agree exactly.
"""

from itertools import product
from math import ceil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.hardware import PeArraySpec, load_hardware
from sim.mapping import running_sums, tile_compute
from sim.techniques.layer_tiles import make_tile
from sim.workload.layers import Conv2d, Shape
from sim.workload.network import Network

ROOT = Path(__file__).resolve().parents[2]


def _blocks(size: int, step: int):
    return [range(start, min(size, start + step)) for start in range(0, size, step)]


def brute_force(pe: PeArraySpec, pixels: int, k: int, filters: int) -> dict[str, int]:
    """Reads of inputs, weights and partial sums, and output writes, of one GEMM."""
    inputs = weights = psum_reads = writes = 0
    if pe.kind == "vector":
        for _pixel in range(pixels):
            for m_block in _blocks(filters, pe.vector_outputs):
                for k_block in _blocks(k, pe.vector_inputs):
                    # One cycle: Tin inputs and Tin x Tout weights from the buffers.
                    inputs += len(k_block)
                    weights += len(k_block) * len(m_block)
            writes += filters  # outputs accumulate in the adder tree's registers
        return {"ifmap": inputs, "weight": weights, "psum": psum_reads, "writes": writes}
    rows, cols = pe.rows, pe.cols
    if pe.dataflow == "os":
        for p_block, m_block in product(_blocks(pixels, rows), _blocks(filters, cols)):
            fetched_in, fetched_w = set(), set()
            for kk in range(k):
                for p, m in product(p_block, m_block):
                    fetched_in.add((p, kk))  # enters the row's first PE, then shifts
                    fetched_w.add((kk, m))  # enters the column's first PE, then shifts
            inputs += len(fetched_in)
            weights += len(fetched_w)
            writes += len(p_block) * len(m_block)  # each PE drains its sum once
    elif pe.dataflow == "ws":
        for index, (k_block, m_block) in enumerate(product(_blocks(k, rows),
                                                           _blocks(filters, cols))):
            first = index < len(_blocks(filters, cols))  # the first reduction fold
            weights += len(k_block) * len(m_block)  # pinned in the PEs for the fold
            fetched_in, sums = set(), set()
            for p in range(pixels):
                for kk, m in product(k_block, m_block):
                    fetched_in.add((p, kk))
                    sums.add((p, m))
            inputs += len(fetched_in)
            writes += len(sums)
            psum_reads += 0 if first else len(sums)
    else:  # is
        for index, (k_block, p_block) in enumerate(product(_blocks(k, rows),
                                                           _blocks(pixels, cols))):
            first = index < len(_blocks(pixels, cols))
            inputs += len(k_block) * len(p_block)  # pinned in the PEs for the fold
            fetched_w, sums = set(), set()
            for m in range(filters):
                for kk, p in product(k_block, p_block):
                    fetched_w.add((kk, m))
                    sums.add((p, m))
            weights += len(fetched_w)
            writes += len(sums)
            psum_reads += 0 if first else len(sums)
    return {"ifmap": inputs, "weight": weights, "psum": psum_reads, "writes": writes}


arrays = st.one_of(
    st.builds(lambda r, c, d: PeArraySpec(kind="systolic", rows=r, cols=c, dataflow=d),
              st.integers(1, 6), st.integers(1, 6), st.sampled_from(["os", "ws", "is"])),
    st.builds(lambda i, o: PeArraySpec(kind="vector", vector_inputs=i, vector_outputs=o),
              st.integers(1, 8), st.integers(1, 8)))


@settings(max_examples=300, deadline=None)
@given(pe=arrays, pixels=st.integers(1, 20), k=st.integers(1, 20), filters=st.integers(1, 20),
       pj=st.floats(1, 100))
def test_sram_accesses_equal_the_loop_nest_count(pe, pixels, k, filters, pj):
    counts = tile_compute(pe, pixels, k, filters)
    brute = brute_force(pe, pixels, k, filters)
    assert (counts.ifmap_reads, counts.weight_reads, counts.ofmap_reads, counts.ofmap_writes) \
        == (brute["ifmap"], brute["weight"], brute["psum"], brute["writes"])
    model = pj * (counts.ifmap_reads + counts.weight_reads + counts.ofmap_reads
                  + counts.ofmap_writes)
    reference = pj * sum(brute.values())
    assert abs(model - reference) <= 0.1 * reference
    assert ceil(counts.macs) == pixels * k * filters


def brute_force_waiting_sums(pe: PeArraySpec, pixels: int, k: int, filters: int) -> int:
    """The most output sums that have left the array but are not yet final, walking the folds in
    SCALE-Sim's order (ws: column folds outer, reduction folds inner; is: pixel folds outer,
    reduction folds inner). os folds and vector steps finish their sums inside the array."""
    if pe.kind == "vector" or pe.dataflow == "os":
        return 0
    k_blocks = _blocks(k, pe.rows)
    outer = _blocks(filters if pe.dataflow == "ws" else pixels, pe.cols)
    done: dict[tuple[int, int], int] = {}
    most = 0
    for block in outer:
        for _k_block in k_blocks:
            for p, m in product(range(pixels) if pe.dataflow == "ws" else block,
                                block if pe.dataflow == "ws" else range(filters)):
                done[(p, m)] = done.get((p, m), 0) + 1
            most = max(most, sum(1 for count in done.values() if count < len(k_blocks)))
    return most


@settings(max_examples=300, deadline=None)
@given(pe=arrays, pixels=st.integers(1, 20), k=st.integers(1, 20), filters=st.integers(1, 20))
def test_running_sums_equal_the_fold_walk(pe, pixels, k, filters):
    """:func:`sim.mapping.running_sums` (what a tile's footprint reserves at accumulator width)
    against the brute-force walk of the folds."""
    assert running_sums(pe, pixels, k, filters) == brute_force_waiting_sums(pe, pixels, k,
                                                                            filters)


def test_partial_sums_move_at_accumulator_width_in_the_buffer():
    """By hand, int8 with int32 sums on a 2 x 2 ws array: P = 3 pixels, K = 5, M = 3 filters.
    K takes 3 reduction folds, so each of the 9 sums is written 3 times and read back twice:
    18 reads x 4 B = 72 B; 18 writes x 4 B of partial sums + 9 final writes x 1 B = 81 B."""
    pe = PeArraySpec(kind="systolic", rows=2, cols=2, dataflow="ws")
    hardware = load_hardware(ROOT / "configs" / "hardware" / "fpga_4x4_ws.yaml")
    hardware = hardware.model_copy(update={"pe_array": pe})
    network = Network("one", Shape(1, 3, 5), [Conv2d(name="conv", out_channels=3, kernel=1)])
    tile = make_tile(network.infos[0], [], [], tile_compute(pe, 3, 5, 3), 3, 3, 1, 4, hardware)
    assert tile.sram_read_bytes["ofmap"] == 72
    assert tile.sram_write_bytes["ofmap"] == 81
