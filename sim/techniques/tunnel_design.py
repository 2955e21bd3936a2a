"""Budget-driven design of a patch tunnel (seed 001, Eq. 2 and Eq. 3).

Given a memory budget ``m_b``, the image, ``k``, the margin and the data type, build a tunnel
whose every layer fits the budget, greedily and deterministically:

1. a 3x3 stem without padding (seed 001's example: s = 1, p = 0), with as many output channels
   (up to 16) as Eq. 2 allows; stride 2 if stride 1 cannot fit even 3 channels;
2. stages of inverted-residual blocks (expansion ``t``), each starting with a stride-2 block and
   followed by stride-1 residual blocks, until the map is at most ``final_size`` pixels high and
   wide. Each stage takes the widest channel count (a multiple of 8, at most 16 * 2**stage and
   ``max_channels``) for which the whole partial tunnel still fits. With reordering the blocks
   are held to Eq. 3 (counting the projection accumulator at its real width); without, every
   layer is held to Eq. 2;
3. a 1x1 head to the widest feature count (up to 4x the last stage, at most 1280) that fits,
   then global pooling.

The pooled-feature sum kept across tunnels is part of the budget. The result is checked with the
same peak analysis the rest of the project uses; no design means a :class:`TunnelError` that
says which layer could not fit.
"""

from __future__ import annotations

from sim.dtypes import DType
from sim.techniques.tunnels import TunnelError, TunnelNetwork, patch_size, tunnel_peak
from sim.workload.layers import (
    Activation,
    Conv2d,
    GlobalAvgPool,
    Layer,
    LayerError,
    Shape,
)
from sim.workload.network import Network, NetworkError
from sim.workload.zoo import inverted_residual

MAX_HEAD_FEATURES = 1280
STEM_MAX_CHANNELS = 16


class _Designer:
    """Grows a tunnel layer by layer, checking the whole partial tunnel against the budget."""

    def __init__(self, budget_bytes: int, image: Shape, patch: Shape, dtype: DType, k: int,
                 margin: int, central: bool, reorder: bool, num_classes: int, expansion: int,
                 final_size: int) -> None:
        self.budget_bytes = budget_bytes
        self.expansion = expansion
        self.final_size = final_size
        self.patch = patch
        self.dtype = dtype
        self.reorder = reorder
        self.shape = dict(image=image, k=k, margin=margin, central=central,
                          num_classes=num_classes)
        self.layers: list[Layer] = []

    def design(self, layers: list[Layer]) -> TunnelNetwork | None:
        """The tunnel made of ``layers`` + global pooling, or None if its shapes do not work."""
        try:
            tunnel = Network("designed_tunnel", self.patch,
                             layers + [GlobalAvgPool(name="pool")])
        except (NetworkError, LayerError):
            return None
        return TunnelNetwork(tunnel, **self.shape)

    def last_shape(self) -> Shape:
        """Output shape of the layers so far (before the pooling the tunnel ends with)."""
        design = self.design(self.layers)
        assert design is not None
        return design.tunnel.infos[-2].output_shape

    def peak(self, layers: list[Layer]) -> int | None:
        design = self.design(layers)
        if design is None:
            return None
        return tunnel_peak(design, self.dtype, reorder=self.reorder).peak_bytes

    def fits(self, layers: list[Layer]) -> bool:
        peak = self.peak(layers)
        return peak is not None and peak <= self.budget_bytes

    def leaves_room(self, layers: list[Layer]) -> bool:
        """``layers`` fit, and so does the narrowest stride-2 block after them if one is due.

        Without this look-ahead a greedy wide layer can leave no room for the next stage.
        """
        if not self.fits(layers):
            return False
        design = self.design(layers)
        assert design is not None
        shape = design.tunnel.infos[-2].output_shape
        if min(shape.height, shape.width) <= self.final_size:
            return True
        narrowest = inverted_residual("next", layers[-1].name, shape.channels, 8, 2,
                                      self.expansion)
        return self.fits(layers + narrowest)

    def widest(self, candidates: list[int], build) -> list[Layer] | None:
        """The first (widest) candidate whose layers, appended, fit and leave room to go on."""
        for channels in candidates:
            extra = build(channels)
            if self.leaves_room(self.layers + extra):
                return extra
        return None


def design_tunnel(
    budget_bytes: int, image: Shape, k: int, margin: int, dtype: DType | str,
    central: bool = True, reorder: bool = True, expansion: int = 6, num_classes: int = 1000,
    final_size: int = 4, blocks_per_stage: int = 2, max_channels: int = 320,
) -> TunnelNetwork:
    """The widest greedy tunnel whose peak memory stays within ``budget_bytes``."""
    dtype = DType(dtype)
    height, width = patch_size(image.height, image.width, k, margin)
    patch = Shape(height, width, image.channels)
    designer = _Designer(budget_bytes, image, patch, dtype, k, margin, central, reorder,
                         num_classes,
                         expansion, final_size)
    need = f"under {budget_bytes:,} B ({dtype})"

    stem = None
    for stride in (1, 2):
        stem = designer.widest(
            list(range(STEM_MAX_CHANNELS, 2, -1)),
            lambda c, s=stride: [Conv2d(name="stem", out_channels=c, kernel=3, stride=s,
                                        activation=Activation.RELU6)],
        )
        if stem:
            break
    if not stem:
        raise TunnelError(
            f"no design fits: a 3x3 stem on the {height}x{width}x{image.channels} patch needs more "
            f"than {budget_bytes:,} B in {dtype} even with stride 2 and 3 channels "
            f"(the patch alone is {patch.elements * dtype.bytes:,} B)"
        )
    designer.layers = stem
    size = designer.last_shape()
    stage = 0
    while min(size.height, size.width) > final_size:
        stage += 1
        cap = min(max_channels, 16 * 2 ** stage)
        first_block = blocks_per_stage * (stage - 1) + 1

        def build_stage(channels: int, source: str = designer.layers[-1].name,
                        in_channels: int = size.channels, first: int = first_block) -> list[Layer]:
            layers = inverted_residual(f"b{first}", source, in_channels, channels, 2, expansion)
            for block in range(first + 1, first + blocks_per_stage):
                layers += inverted_residual(f"b{block}", layers[-1].name, channels, channels, 1,
                                            expansion)
            return layers

        chosen = designer.widest(list(range(cap, 7, -8)), build_stage)
        if chosen is None:
            raise TunnelError(
                f"no design fits: stage {stage} (blocks b{first_block}.., stride 2) on a "
                f"{size.height}x{size.width}x{size.channels} map cannot stay {need} even with 8 "
                f"channels{'' if reorder else '; try bottleneck reordering'}"
            )
        designer.layers = designer.layers + chosen
        size = designer.last_shape()
    head_cap = min(MAX_HEAD_FEATURES, 4 * size.channels)
    head = designer.widest(
        list(range(head_cap, size.channels - 1, -8)),
        lambda c: [Conv2d(name="head", out_channels=c, kernel=1, activation=Activation.RELU6)],
    )
    if head:
        designer.layers = designer.layers + head
    design = designer.design(designer.layers)
    assert design is not None and designer.fits(designer.layers)
    return design
