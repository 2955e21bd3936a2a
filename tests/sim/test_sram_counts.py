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

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.hardware import PeArraySpec
from sim.mapping import tile_compute


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
