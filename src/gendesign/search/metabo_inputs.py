"""How ``metabo`` turns designs into surrogate inputs in the unit cube ``[0, 1]^D``.

* A box space (:class:`~gendesign.core.protocols.ContinuousSpace`) maps affinely:
  ``u = (x - low) / (high - low)``, and back, so gradient refinement can move points.
* Any other space goes through its feature encoder (:func:`~gendesign.search.features.feature_encoder_for`:
  the space's own fingerprints, else one-hot ids). A learned surrogate reads a bounded number of
  input dimensions, so with ``projection_dim = P`` the features ``f`` `[F]` are projected by a
  fixed seeded Gaussian matrix ``W`` `[F, P]` and squashed: ``u = Phi(f W / sqrt(max(|f|_1, 1)))``.
  For binary features with ``|f|_1`` ones each coordinate of ``f W / sqrt(|f|_1)`` is standard
  normal, so ``u`` is spread over ``[0, 1]``, and close designs (few differing features) stay close
  (Johnson-Lindenstrauss).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.protocols import ContinuousSpace, conforms
from gendesign.search.features import feature_encoder_for


class DesignInputs:
    """Encoder of designs into `[B, D]` float64 inputs in ``[0, 1]``.

    Args:
        space: the design space.
        projection_dim: for non-box spaces, project features to this many dimensions (``None``: keep them).
        seed: seeds the projection matrix.
    """

    def __init__(self, space: DesignSpace, projection_dim: int | None = None, seed: int = 0) -> None:
        self.space = space
        self.continuous = conforms(space, ContinuousSpace)
        if self.continuous:
            self.low = torch.as_tensor(np.asarray(space.low), dtype=torch.float64)  # type: ignore[attr-defined]
            self.high = torch.as_tensor(np.asarray(space.high), dtype=torch.float64)  # type: ignore[attr-defined]
            self.dim = int(self.low.shape[0])
            self.projection = None
            return
        self.encoder = feature_encoder_for(space)
        width = int(self.encoder.dim)
        self.projection = None
        self.dim = width
        if projection_dim is not None:
            g = torch.Generator().manual_seed(seed)
            self.projection = torch.randn(width, projection_dim, generator=g, dtype=torch.float64)
            self.dim = projection_dim

    def encode(self, designs: Sequence[Any]) -> Tensor:
        """`[B, D]` inputs of canonical designs."""
        if self.continuous:
            x = self.space.to_tensor(list(designs), dtype=torch.float64)  # type: ignore[attr-defined]
            return ((x - self.low) / (self.high - self.low)).clamp(0.0, 1.0)
        f = self.encoder.features(list(designs)).double()
        if self.projection is None:
            return f
        scale = f.abs().sum(-1, keepdim=True).clamp_min(1.0).sqrt()
        return torch.special.ndtr(f @ self.projection / scale)

    def decode(self, u: Tensor) -> list[Any]:
        """Box designs of unit-cube points `[B, D]` (box spaces only)."""
        x = self.low + u.detach().double().clamp(0.0, 1.0) * (self.high - self.low)
        return [self.space.validate(tuple(float(v) for v in row)) for row in x]
