"""A schedule that needs more DRAM than the hardware has is refused (exit 2, the hardware
file, ``dram.capacity_bytes``), at the boundary worked out by hand below."""

import yaml

from sim.cli import main
from sim.schedule import DramLayout
from sim.workload.io import load_network
from tests.sim.test_cli_simulate import NANO

# One 3x3 convolution, int8: every region is rounded up to a 4 KiB page of the layout.
# input 8 x 8 x 3 = 192 B -> 4,096; output 8 x 8 x 8 = 512 B -> 4,096; weights
# 3 x 3 x 3 x 8 = 216 B -> 4,096: 12,288 B. The conv's partial-sum scratch, 8 x 8 x 8 x 4 B
# = 2,048 B -> 4,096, counts only for a mapping that spills partial sums (16,384 B in all).
NETWORK = """name: one_conv
input: {height: 8, width: 8, channels: 3}
layers:
  - {name: c1, kind: conv2d, out_channels: 8, kernel: 3, padding: 1}
"""
NEEDED = 12_288


def run(tmp_path, capsys, capacity: int, command: str = "simulate") -> tuple[int, str]:
    with open(NANO) as handle:
        hardware = yaml.safe_load(handle)
    hardware["dram"]["capacity_bytes"] = capacity
    (tmp_path / "hw.yaml").write_text(yaml.safe_dump(hardware))
    (tmp_path / "net.yaml").write_text(NETWORK)
    arguments = [command, "--network", str(tmp_path / "net.yaml"), "--hardware",
                 str(tmp_path / "hw.yaml")]
    if command == "map":
        arguments += ["--out", str(tmp_path / "mapping.yaml")]
    code = main(arguments)
    return code, capsys.readouterr().err


def test_a_dram_one_byte_short_is_refused(tmp_path, capsys):
    code, err = run(tmp_path, capsys, NEEDED - 1)
    assert code == 2
    assert err == (f"error: {tmp_path / 'hw.yaml'}: dram.capacity_bytes: one_conv takes 12,288 B"
                   " of DRAM (its tensors and weights, each region rounded up to 4,096 B), "
                   "more than the 12,287 B the DRAM holds (allowed: at least 12,288)\n")


def test_a_dram_that_holds_it_runs(tmp_path, capsys):
    assert run(tmp_path, capsys, NEEDED)[0] == 0


def test_map_refuses_it_and_writes_nothing(tmp_path, capsys):
    code, err = run(tmp_path, capsys, NEEDED - 1, "map")
    assert code == 2 and "dram.capacity_bytes" in err
    assert not (tmp_path / "mapping.yaml").exists()


def test_the_scratch_counts_for_layers_that_spill(tmp_path):
    (tmp_path / "net.yaml").write_text(NETWORK)
    layout = DramLayout(load_network(tmp_path / "net.yaml"), 1)
    assert layout.used_bytes([]) == 12_288
    assert layout.used_bytes(["c1"]) == 16_384
