"""Network graphs: input resolution, validation and tensor liveness."""

import pytest

from sim.workload.layers import Add, Conv2d, PointwiseConv2d, Shape
from sim.workload.network import Network, NetworkError
from sim.workload.zoo import mobilenet_v2


def residual_net() -> Network:
    return Network("r", Shape(8, 8, 4), [
        Conv2d(name="a", out_channels=4, kernel=3, padding=1),
        Conv2d(name="b", out_channels=4, kernel=3, padding=1),
        Add(name="sum", inputs=("b", "a")),
        PointwiseConv2d(name="c", out_channels=2),
    ])


def test_default_input_is_previous_layer():
    network = residual_net()
    assert network["a"].inputs == ("input",)
    assert network["b"].inputs == ("a",)
    assert network["sum"].inputs == ("b", "a")


def test_consumers_and_last_use_keep_the_residual_edge():
    network = residual_net()
    assert network.consumers["a"] == (1, 2)
    assert network.last_use("a") == 2
    assert network.last_use("input") == 0
    assert network.last_use("c") == 3  # the output lives to the end


def test_duplicate_names_are_rejected():
    with pytest.raises(NetworkError, match="duplicate tensor name 'a'"):
        Network("n", Shape(4, 4, 1), [Conv2d(name="a", out_channels=1, kernel=1)] * 2)


def test_reading_a_later_layer_is_rejected():
    with pytest.raises(NetworkError, match="reads 'later'") as caught:
        Network("n", Shape(4, 4, 1), [
            Add(name="s", inputs=("input", "later")),
            Conv2d(name="later", out_channels=1, kernel=1),
        ])
    assert caught.value.layer_index == 0
    assert caught.value.field == "inputs"


def test_layer_errors_carry_index_and_field():
    with pytest.raises(NetworkError) as caught:
        Network("n", Shape(4, 4, 1), [
            Conv2d(name="ok", out_channels=2, kernel=1),
            Conv2d(name="big", out_channels=2, kernel=9),
        ])
    assert (caught.value.layer_index, caught.value.field) == (1, "kernel")


def test_empty_network_is_rejected():
    with pytest.raises(NetworkError, match="at least one layer"):
        Network("n", Shape(4, 4, 1), [])


def test_with_input_rederives_shapes():
    network = mobilenet_v2().with_input(Shape(96, 96, 3))
    assert network["stem"].output_shape.as_tuple() == (48, 48, 32)
    assert network.total_params == mobilenet_v2().total_params
