"""Weight experiments on real data (seed 003): small NumPy-trained models, weight augmentation
(scalar addition, scalar multiplication, bit flips), weight centralization and zero skipping.

Datasets ship inside scikit-learn (no downloads); training is plain NumPy and deterministic for a
seed. The storage and regeneration rules live in :mod:`sim.techniques.centralization` and
:mod:`sim.techniques.zero_skip`; this package measures what they cost in accuracy.
"""
