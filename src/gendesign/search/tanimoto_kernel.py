"""The Tanimoto (Jaccard) kernel on non-negative feature vectors, as a gpytorch kernel.

For count or bit vectors ``x, x' >= 0`` (e.g. Morgan fingerprints),

    k(x, x') = <x, x'> / (||x||^2 + ||x'||^2 - <x, x'>),

which for bit vectors is ``|x & x'| / |x | x'|``, the Tanimoto similarity of chemistry. It is
positive semi-definite on non-negative vectors (Ralaivola, Swamidass, Saigo & Baldi 2005) and has
no hyperparameters; wrap it in a ``ScaleKernel`` for an output scale. Two all-zero vectors are
identical designs as far as the features know, so their similarity is 1.

References:
    L. Ralaivola, S. J. Swamidass, H. Saigo, P. Baldi. "Graph kernels for chemical informatics."
    Neural Networks 18(8), 2005.

    R.-R. Griffiths et al. "GAUCHE: a library for Gaussian processes in chemistry." NeurIPS 2023
    (Tanimoto-kernel GPs as a Bayesian-optimisation baseline on molecules).
"""

from __future__ import annotations

from typing import Any

import torch
from gpytorch.kernels import Kernel
from torch import Tensor


class TanimotoKernel(Kernel):
    """``k(x, x') = <x, x'> / (||x||^2 + ||x'||^2 - <x, x'>)`` for non-negative inputs `[..., n, d]`.

    ``forward`` returns `[..., n, m]` (or the diagonal `[..., n]` with ``diag=True``).
    """

    has_lengthscale = False

    def forward(self, x1: Tensor, x2: Tensor, diag: bool = False, **params: Any) -> Tensor:
        if diag:
            dot = (x1 * x2).sum(-1)
            sq1, sq2 = (x1 * x1).sum(-1), (x2 * x2).sum(-1)
        else:
            dot = x1 @ x2.transpose(-2, -1)
            sq1 = (x1 * x1).sum(-1, keepdim=True)
            sq2 = (x2 * x2).sum(-1, keepdim=True).transpose(-2, -1)
        den = sq1 + sq2 - dot
        safe = torch.where(den > 0, den, torch.ones_like(den))
        return torch.where(den > 0, dot / safe, torch.ones_like(den))
