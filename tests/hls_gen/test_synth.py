"""`edgeaccel rtl synth` on the MAC PE, whose resources can be counted by hand: 50 flip-flops
(32-bit accumulator, 8-bit a and b pass-through, valid and first) and one multiplier."""

import json
from pathlib import Path

from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_mac_pe_resources_match_a_hand_count(capsys):
    assert main(["rtl", "synth", str(ROOT / "configs/rtl/mac_pe.yaml"), "--json",
                 "--target", "generic", "--target", "ice40"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["module"] == "mac_pe_d8_a32"
    generic, ice40 = report["targets"]["generic"], report["targets"]["ice40"]
    assert generic["ffs"] == 32 + 8 + 8 + 1 + 1
    assert generic["multipliers"] == 1 and generic["memories"] == 0
    assert ice40["ffs"] == 50
    assert ice40["dsps"] == 1     # the 8 x 8 multiply-add goes to one SB_MAC16
    assert ice40["brams_4k"] == 0
    assert ice40["luts"] > 0


def test_ping_pong_buffer_uses_block_ram(capsys):
    """Two 64 x 32-bit banks: 4 Kb of iCE40 block RAM each holds 128 x 32 bits at most
    (256 x 16), so the 4,096 bits take at least one and at most a few SB_RAM40_4K."""
    main(["rtl", "synth", str(ROOT / "configs/rtl/ping_pong_64x32.yaml"), "--json",
          "--target", "ice40"])
    ice40 = json.loads(capsys.readouterr().out)["targets"]["ice40"]
    assert 1 <= ice40["brams_4k"] <= 4
    assert ice40["ffs"] < 100      # the data lives in the RAM, not in flip-flops
