"""Generate the layer engine from configs/hardware/fpga_4x4_os.yaml, fpga_4x4_ws.yaml and
fpga_4x4_os_db.yaml (the files `simulate` also reads) and run its cocotb tests on Icarus Verilog
against the simulator's DRAM model; the total cycles of each layer must equal what
``sim.rtl_schedule`` predicts with the simulator's tile pipeline (measured by the engine's
counter and counted by the testbench); the single-buffered output-stationary engine's PE
utilization must stay under the bound its declared buffers set (:func:`utilization_bound`),
and the double-buffered one's must reach issue 15's floors."""

import json
from math import ceil
from pathlib import Path

from hls_gen.generate import generate
from sim.hardware import load_hardware
from sim.rtl_schedule import EngineLayer, EngineLimits, choose_tiling, predict_cycles
from tests.rtl.cocotb_run import run_cocotb

PRESETS = Path(__file__).resolve().parents[2] / "configs" / "hardware"
FPGA = PRESETS / "fpga_4x4_os.yaml"
LAYERS = ("3x3_s1", "3x3_s2_pad", "1x1", "depthwise_3x3", "tiled_3x3")
WS_LAYERS = ("3x3_s1", "3x3_s2_pad", "1x1", "tiled_3x3")
SHAPES = {"3x3_s1": (16, 16, 8, 8, 3, 1, 1), "3x3_s2_pad": (15, 15, 8, 8, 3, 2, 1),
          "1x1": (12, 12, 8, 12, 1, 1, 0), "depthwise_3x3": (16, 16, 8, 8, 3, 1, 1),
          "tiled_3x3": (24, 16, 8, 24, 3, 1, 1)}   # as cocotb_dram_engine.LAYERS


def utilization_bound(shape, band_rows: int, rows: int = 4, cols: int = 4,
                      max_channels: int = 8) -> float:
    """The highest PE utilization the fpga_4x4_os buffers allow, from the layer's geometry
    alone (a second derivation, not the predictor's): every fold streams 4 bias words + K
    (the array is idle for the bias words), the single-buffered ofmap keeps each tile's store
    (a beat per output word of 4 lanes) out of the next tile's compute, and the first tile's
    input and weights must be in before anything computes, a beat (4 B) per cycle."""
    height, width, channels, filters, kernel, stride, padding = shape
    out_h = (height + 2 * padding - kernel) // stride + 1
    out_w = (width + 2 * padding - kernel) // stride + 1
    folds = ceil(filters / cols)
    fold = kernel * kernel * channels + 4
    compute = sum(ceil(min(band_rows, out_h - first) * out_w / rows) * folds * fold
                  for first in range(0, out_h, band_rows))
    store = out_h * out_w * folds
    first_rows = min(height, (min(band_rows, out_h) - 1) * stride + kernel - padding)
    first_load = first_rows * width * max_channels // cols + min(folds, 288 // fold) * fold
    macs = out_h * out_w * filters * kernel * kernel * channels
    return macs / (rows * cols * (compute + store + first_load))


def run_preset(path: Path, layers: tuple[str, ...], tmp_path: Path,
               settings: dict[str, str] | None = None) -> dict:
    figures = tmp_path / "figures.json"
    generated = generate(path, tmp_path / "limits")["parameters"]
    limits = {"rows": generated["rows"], "cols": generated["cols"],
              "max_height": generated["max_height"], "max_width": generated["max_width"],
              "max_channels": generated["max_channels"],
              "input_depth": generated["input_depth"],
              "output_depth": generated["output_depth"],
              "weight_depth": generated["weight_depth"],
              "dataflow": generated.get("dataflow", "os"),
              "accumulator_depth": generated.get("accumulator_depth", 0),
              "double_input": generated.get("double_input", False),
              "double_output": generated.get("double_output", False)}
    manifest, counts = run_cocotb(path, "cocotb_dram_engine", tmp_path,
                                  {"HARDWARE": str(path), "ENGINE_REPORT": str(figures),
                                   "ENGINE_LIMITS": json.dumps(limits),
                                   "ENGINE_LAYERS": ",".join(layers), **(settings or {})})
    assert manifest["component"] == "dram_conv_engine"
    assert counts == {"passed": 3, "failed": 0, "skipped": 0}
    return json.loads(figures.read_text())


def summary(run: dict) -> str:
    """A measured layer's MACs, RTL and predicted cycles and tiling, as the tests print it."""
    return (f"{run['macs']} MACs, RTL {run['cycles']} cycles, simulator "
            f"{run['predicted_cycles']} ({run['tiles']} tiles: {run['band_rows']}-row bands x "
            f"{run['block_filters']}-filter blocks")


def test_fpga_layer_engine_on_icarus(tmp_path, capsys):
    measured = run_preset(FPGA, LAYERS, tmp_path)
    with capsys.disabled():
        for name in LAYERS:
            run = measured[name]
            print(f"\nfpga_4x4_os layer engine {name}: {summary(run)}; last output at "
                  f"{run['computed']}): PE utilization {run['utilization']:.1%} "
                  f"(the buffers allow at most "
                  f"{utilization_bound(SHAPES[name], run['band_rows']):.1%})")
    for name in LAYERS:
        run = measured[name]
        assert run["cycles"] == run["counted_cycles"] == run["predicted_cycles"], name
        assert run["utilization"] <= utilization_bound(SHAPES[name], run["band_rows"]), name


def test_weight_stationary_layer_engine_on_icarus(tmp_path, capsys):
    """The ws engine generated from fpga_4x4_ws.yaml: bit-exact, and its cycles equal to the
    tile pipeline's prediction (SCALE-Sim's ws fold inside each tile)."""
    measured = run_preset(PRESETS / "fpga_4x4_ws.yaml", WS_LAYERS, tmp_path)
    with capsys.disabled():
        for name in WS_LAYERS:
            run = measured[name]
            print(f"\nfpga_4x4_ws layer engine {name}: {summary(run)}): PE utilization "
                  f"{run['utilization']:.1%}")
    for name in WS_LAYERS:
        run = measured[name]
        assert run["cycles"] == run["counted_cycles"] == run["predicted_cycles"], name


DB_LAYERS = ("3x3_c64", "1x1_c64")
DB_SHAPES = {"3x3_c64": (8, 8, 64, 16, 3, 1, 1), "1x1_c64": (16, 16, 64, 16, 1, 1, 0)}
FLOORS = {"3x3_c64": 0.90, "1x1_c64": 0.80}   # issue 15's acceptance floors


def single_buffered_predictions(tmp_path: Path) -> dict[str, int]:
    """The predicted cycles of each layer on fpga_4x4_os_db's bytes declared single-buffered
    (one input tile memory of 128 pixels, one output tile memory of 512 words, the same
    weight banks), for comparison: the prediction, not an RTL run."""
    path = PRESETS / "fpga_4x4_os_db.yaml"
    text = path.read_text().replace("double_buffered: true      # two",
                                    "double_buffered: false      # two")
    single = tmp_path / "single.yaml"
    single.write_text(text)
    hardware = load_hardware(single)
    generated = generate(single, tmp_path / "single")["parameters"]
    assert "double_input" not in generated and "double_output" not in generated
    limits = EngineLimits(**{key: generated[key] for key in (
        "rows", "cols", "max_height", "max_width", "max_channels", "input_depth",
        "output_depth", "weight_depth")})
    addresses = (0, 0x4000, 0x8000)
    predicted = {}
    for name, shape in DB_SHAPES.items():
        layer = EngineLayer(*shape)
        tiling = choose_tiling(hardware, layer, limits, addresses)
        predicted[name] = predict_cycles(hardware, layer, limits, tiling, addresses).cycles
    return predicted


def test_double_buffered_layer_engine_on_icarus(tmp_path, capsys):
    """fpga_4x4_os_db (ifmap and ofmap tile memories double-buffered, 64-channel pixels) at
    full memory rate: a 3x3 s1 layer of 64 channels and 16 filters (they fill the 4 x 4 array)
    and a 1x1 layer of 64 input channels and 16 filters, bit-exact and cycle for cycle with
    the prediction, over the utilization floors of issue 15 (>= 90% and >= 80%:
    MACs / (16 PEs x the RTL's measured total cycles)); then, bit-exact, a smaller 64-channel
    layer of several bands and filter blocks under random backpressure, and a reset in the
    middle of the 3x3 layer followed by that layer."""
    measured = run_preset(PRESETS / "fpga_4x4_os_db.yaml", DB_LAYERS, tmp_path, {
        "ENGINE_REGION": str(0x4000), "ENGINE_BACKPRESSURE_LAYERS": "tiled_c64",
        "ENGINE_RESET_LAYERS": "3x3_c64,tiled_c64"})
    single = single_buffered_predictions(tmp_path)
    with capsys.disabled():
        for name in DB_LAYERS:
            run = measured[name]
            print(f"\nfpga_4x4_os_db layer engine {name}: {summary(run)}): PE utilization "
                  f"{run['utilization']:.1%} (floor {FLOORS[name]:.0%}); the same bytes "
                  f"single-buffered: {single[name]} cycles predicted, "
                  f"{run['macs'] / (16 * single[name]):.1%}")
    for name in DB_LAYERS:
        run = measured[name]
        assert run["cycles"] == run["counted_cycles"] == run["predicted_cycles"], name
        assert run["utilization"] == run["macs"] / (16 * run["cycles"])
        assert run["utilization"] >= FLOORS[name], name
        assert run["cycles"] < single[name], name
