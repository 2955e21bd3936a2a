"""Patch-based inference (MCUNetV2 style): the first layers run one spatial patch at a time.

The stage's output map is split into ``rows x cols`` patches. For each patch, every tensor of the
stage is computed only over the region the patch needs: the exact receptive field, propagated
backwards layer by layer (the bounding box where a tensor feeds several layers). Overlapping
halos are recomputed, which costs extra MACs; in exchange only one patch's tensors are live at a
time, plus the stage's output map, which fills up patch by patch. After the stage the network
runs layer by layer.

Memory model: the network input is streamed patch by patch (only the region a patch reads is in
SRAM) unless ``input_resident`` is set, in which case the whole input image stays live for the
whole stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.dtypes import DType
from sim.golden.forward import run_layer, run_rest
from sim.peak import LayerMemory, PeakReport, layer_live_tensors, runs_in_place
from sim.techniques.receptive import Region, input_window, propagate, spatial_params, split
from sim.workload.layers import LayerError
from sim.workload.network import INPUT, Network


class PatchPlanError(ValueError):
    """A patch stage that cannot be cut out of the network."""


@dataclass(frozen=True)
class PatchPlan:
    """The regions each patch computes: ``regions[p][tensor]`` for patch ``p``."""

    network: Network
    stage_layers: int
    grid: tuple[int, int]
    regions: tuple[dict[str, Region], ...]

    @property
    def stage_output(self) -> str:
        return self.network.infos[self.stage_layers - 1].name

    def stage_tensors(self) -> list[str]:
        return [INPUT] + [info.name for info in self.network.infos[: self.stage_layers]]


def stage_cuts(network: Network) -> list[int]:
    """Layer counts after which exactly one tensor crosses into the rest of the network.

    A patch stage must end at such a cut, and contain only spatial layers.
    """
    cuts = []
    for count, info in enumerate(network.infos, start=1):
        try:
            spatial_params(info)
        except LayerError:
            break
        inside = [INPUT] + [other.name for other in network.infos[: count - 1]]
        if all(network.last_use(tensor) < count for tensor in inside):
            cuts.append(count)
    return cuts


def plan_patches(network: Network, stage_layers: int, rows: int, cols: int | None = None
                 ) -> PatchPlan:
    """Plan patch-based execution of the first ``stage_layers`` layers on a rows x cols grid."""
    cols = rows if cols is None else cols
    if not 1 <= stage_layers <= len(network.infos):
        raise PatchPlanError(
            f"patch layers must be between 1 and {len(network.infos)}, not {stage_layers}"
        )
    stage = network.infos[:stage_layers]
    if stage_layers not in stage_cuts(network):
        allowed = ", ".join(f"{c} ({network.infos[c - 1].name})" for c in stage_cuts(network))
        raise PatchPlanError(
            f"the patch stage cannot end after layer {stage[-1].name!r}: it must contain only "
            f"spatial layers and hand a single tensor to the rest (allowed: {allowed})"
        )
    output = stage[-1].name
    shape = network.tensor_shape(output)
    regions = tuple(propagate(stage, output, patch)
                    for patch in split(shape.height, shape.width, rows, cols))
    return PatchPlan(network, stage_layers, (rows, cols), regions)


def patch_macs(plan: PatchPlan) -> int:
    """MACs of the stage run patch by patch (halos recomputed) plus the rest layer by layer."""
    total = 0
    for info in plan.network.infos[: plan.stage_layers]:
        out_pixels = info.output_shape.height * info.output_shape.width
        per_pixel = info.macs // out_pixels if out_pixels else 0
        total += sum(regions[info.name].pixels * per_pixel
                     for regions in plan.regions if info.name in regions)
    return total + sum(info.macs for info in plan.network.infos[plan.stage_layers:])


def patch_peak(
    plan: PatchPlan, dtype: DType | str, inplace_depthwise: bool = True,
    input_resident: bool = False,
) -> PeakReport:
    """Live memory per layer (the worst patch for stage layers) of patch-based execution."""
    dtype = DType(dtype)
    network = plan.network
    output = plan.stage_output
    output_bytes = network.tensor_shape(output).elements * dtype.bytes
    input_bytes = network.input_shape.elements * dtype.bytes
    per_layer = []
    for info in network.infos[: plan.stage_layers]:
        worst: LayerMemory | None = None
        for regions in plan.regions:
            # The stage output fills up patch by patch, so it is whole and live all stage long.
            tensors = [(f"{output}[whole]", output_bytes)]
            if input_resident:
                tensors.append((f"{INPUT}[whole]", input_bytes))
            for name in plan.stage_tensors():
                if name == output or (name == INPUT and input_resident) or name not in regions:
                    continue
                if network.producer(name) <= info.index <= network.last_use(name):
                    size = regions[name].pixels * network.tensor_shape(name).channels
                    tensors.append((name, size * dtype.bytes))
            if inplace_depthwise and runs_in_place(network, info) and info.name != output:
                tensors = [(n, s) for n, s in tensors if n != info.name]
                tensors.append((f"{info.name}[scratch]", regions[info.name].pixels * dtype.bytes))
            memory = LayerMemory(info.name, sum(s for _, s in tensors), tuple(tensors))
            if worst is None or memory.live_bytes > worst.live_bytes:
                worst = memory
        assert worst is not None
        per_layer.append(worst)
    for info in network.infos[plan.stage_layers:]:
        tensors = layer_live_tensors(network, info, dtype, inplace_depthwise)
        per_layer.append(LayerMemory(info.name, sum(s for _, s in tensors), tensors))
    extra = patch_macs(plan) - network.total_macs
    details = {
        "patches": {"grid": list(plan.grid), "stage_layers": plan.stage_layers,
                    "stage_output": output, "input_resident": input_resident,
                    "macs": patch_macs(plan), "layerwise_macs": network.total_macs},
    }
    return PeakReport(network.name, dtype, tuple(per_layer), extra, details)


def run_patch_based(
    plan: PatchPlan, x: np.ndarray, weights: dict, dtype: DType | str,
) -> dict[str, np.ndarray]:
    """Execute the plan with the golden ops; returns the stage output and the network output."""
    network = plan.network
    output = plan.stage_output
    out_shape = network.tensor_shape(output)
    stage_out: np.ndarray | None = None
    for regions in plan.regions:
        stored: dict[str, tuple[Region, np.ndarray]] = {}
        whole_input = Region(0, x.shape[1], 0, x.shape[2])
        stored[INPUT] = (whole_input, x)
        for info in network.infos[: plan.stage_layers]:
            if info.name not in regions:
                continue
            region = regions[info.name]
            window = input_window(info, region)
            inputs = [_crop(*stored[source], window.region) for source in info.inputs]
            result = run_layer(info, inputs, weights.get(info.name), dtype,
                               padding=window.padding)
            stored[info.name] = (region, result)
        region, patch = stored[output]
        if stage_out is None:
            stage_out = np.zeros((x.shape[0], *out_shape.as_tuple()), dtype=patch.dtype)
        stage_out[:, region.row0:region.row1, region.col0:region.col1, :] = patch
    assert stage_out is not None
    final = run_rest(network, plan.stage_layers, {output: stage_out}, weights, dtype)
    return {output: stage_out, network.output_name: final}


def _crop(stored_region: Region, data: np.ndarray, wanted: Region) -> np.ndarray:
    """The ``wanted`` part of a tensor that holds ``stored_region`` of its map."""
    top = wanted.row0 - stored_region.row0
    left = wanted.col0 - stored_region.col0
    if top < 0 or left < 0 or wanted.row1 > stored_region.row1 or wanted.col1 > stored_region.col1:
        raise AssertionError(f"region {wanted} is not inside the stored {stored_region}")
    return data[:, top:top + wanted.height, left:left + wanted.width, :]
