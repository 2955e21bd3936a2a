"""The capacity audit's array sweep against its event-by-event reference (a second
implementation of the same replay, kept in ``sim.capacity``): the same report, or the same
error, on random reservations in DianNao's three buffers, on a hand-worked case, and on a whole
network's run."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.capacity import audit, audit_reference
from sim.dataflow import SimulationOptions, plan_schedule
from sim.hardware import load_hardware
from sim.pipeline import CapacityError, Reservation, run_pipeline
from sim.workload.zoo import lightweight_cnn

DIANNAO = load_hardware("configs/hardware/diannao.yaml")  # NBin, SB and NBout
BUFFERS = sorted(DIANNAO.buffers.declared())


def _outcome(function, reservations, spans):
    try:
        return function(reservations, DIANNAO, spans)
    except CapacityError as error:
        return str(error)


reservation = st.builds(
    lambda buffer, start, length, size, layer: Reservation(buffer, start, start + length, size,
                                                           layer, "tile"),
    st.sampled_from(BUFFERS), st.integers(0, 60), st.integers(0, 30), st.integers(0, 20_000),
    st.sampled_from(["a", "b", "c"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(reservation, max_size=40),
       st.dictionaries(st.sampled_from(["a", "b", "c"]),
                       st.tuples(st.integers(0, 90), st.integers(0, 90))))
def test_the_array_sweep_equals_the_event_by_event_replay(reservations, spans):
    assert _outcome(audit, reservations, spans) == _outcome(audit_reference, reservations,
                                                            spans)


def test_a_hand_worked_overflow_names_the_first_event_over():
    # DianNao's NBin ("ifmap") holds 2,048 B: 1,500 B over [0, 6) and 600 B from cycle 5 hold
    # 2,100 B at cycle 5.
    reservations = [Reservation("ifmap", 0, 6, 1_500, "a", "tile"),
                    Reservation("ifmap", 5, 9, 600, "b", "tile")]
    with pytest.raises(CapacityError, match=r"layer 'b': buffer 'ifmap' holds 2,100 B at "
                                            r"cycle 5, more than its 2,048 B"):
        audit(reservations, DIANNAO, {})
    # With the first ending at 5, its release comes first: the peak is 1,500 B, and 600 B
    # in NBin over b's span.
    reservations[0] = Reservation("ifmap", 0, 5, 1_500, "a", "tile")
    report = audit(reservations, DIANNAO, {"a": (0, 5), "b": (5, 9)})
    assert report.peak_bytes == 1_500
    assert report.peak_bytes_by_layer["b"] == 600


def test_a_whole_run_gives_the_same_report():
    network = lightweight_cnn()
    schedule = plan_schedule(network, DIANNAO, SimulationOptions("tiled"))
    result = run_pipeline(schedule.tiles, DIANNAO)
    spans = {name: (c.first_start, c.last_end) for name, c in result.layers.items()}
    assert audit(result.occupancy, DIANNAO, spans) == audit_reference(result.occupancy,
                                                                      DIANNAO, spans)
