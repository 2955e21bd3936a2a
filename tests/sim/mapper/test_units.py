"""The units ``auto`` is compared on, and the count of units above the fixed runs' fewest,
checked on hand-worked cases."""

from sim.mapper.fixed_runs import FixedRun
from sim.mapper.fused_segments import FusedSegment
from sim.mapper.units import FixedMinimum, compared_units, fixed_minimum, units_above
from sim.workload.zoo import ZOO


def test_blocks_are_units_and_a_fused_run_merges_the_blocks_it_touches():
    """By hand from the lightweight CNN's layer list: b1 has no expansion, so its two layers
    are units of their own; b2 and b3 are inverted-residual blocks; a run fused from
    ``b1_project`` to ``b2_dw`` takes all of b2 into its unit."""
    network = ZOO["lightweight_cnn"].build()
    plain = compared_units(network, ())
    assert list(plain)[:5] == ["stem", "b1_dw", "b1_project", "b2", "b3"]
    assert plain["b2"] == ["b2_expand", "b2_dw", "b2_project"]
    fused = compared_units(network, (FusedSegment("b1_project", "b2_dw", 8),))
    assert fused["b1_project..b2_dw"] == ["b1_project", "b2_expand", "b2_dw", "b2_project"]
    assert "b2" not in fused and fused["b3"] == plain["b3"]
    # Every layer is in exactly one unit, in network order.
    names = [info.name for info in network.infos]
    assert [name for layers in fused.values() for name in layers] == names


def test_a_unit_is_above_only_when_every_run_moves_less_there():
    """Hand-worked: two runs, bytes per part; a block's bytes may sit under any of its
    layers (a reordered block's under its expansion layer)."""
    network = ZOO["lightweight_cnn"].build()
    units = compared_units(network, ())
    one = {"stem": 100, "b1_dw": 50, "b2_expand": 30}
    other = {"stem": 80, "b1_dw": 60, "b2_expand": 10, "b2_dw": 10, "b2_project": 10}
    least = fixed_minimum(units, [one, other])
    assert (least["stem"], least["b1_dw"], least["b2"]) == (80, 50, 30)
    mine = {"stem": 80, "b1_dw": 51, "b2_project": 30}
    assert units_above(units, mine, least) == ["b1_dw"]
    fixed = FixedMinimum(network, {"one": FixedRun(one), "other": FixedRun(other)})
    assert fixed.units_above((), mine) == ["b1_dw"]
    assert fixed.least_run((), "b1_dw").parts is one
    assert fixed.least_run((), "b2").parts is one  # 30 each: the first in run order
