"""Feature encoders that let a surrogate model read designs of discrete spaces.

A space chooses its own encoder by offering ``feature_encoder()``
(:class:`~gendesign.core.protocols.FeaturizedSpace`; the molecule spaces give Morgan
fingerprints). Any other token space (:class:`~gendesign.core.protocols.TokenSpace`: sequences,
SELFIES) is one-hot encoded. :func:`feature_encoder_for` applies that order; a Python caller can
pass any :class:`~gendesign.core.protocols.FeatureEncoder` to the ``bo`` strategy instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError
from gendesign.core.protocols import FeatureEncoder, FeaturizedSpace, TokenSpace, conforms


class OneHotFeatures:
    """One-hot rows of a token space's ids: `[B, L (V + 1)]`, one block of ``V + 1`` per position.

    The extra category is the pad, so sequences of different lengths differ at the positions one
    of them lacks. The squared Euclidean distance of two rows is twice their Hamming distance,
    which is what the ``"hamming"`` kernel reads.

    Args:
        space: a :class:`~gendesign.core.protocols.TokenSpace`; rows are ``max_length`` wide.
    """

    kernel = "hamming"

    def __init__(self, space: TokenSpace) -> None:
        self.space = space
        self.length = int(space.max_length)
        self.categories = int(space.vocab_size) + 1

    @property
    def dim(self) -> int:
        return self.length * self.categories

    def features(self, designs: Sequence[Any]) -> Tensor:
        ids = self.space.encode(list(designs), length=self.length).long().clamp(0, self.categories - 1)
        onehot = torch.nn.functional.one_hot(ids, self.categories)
        return onehot.reshape(len(designs), self.dim).to(torch.float64)


def feature_encoder_for(space: DesignSpace) -> FeatureEncoder:
    """The encoder of ``space``: its own ``feature_encoder()``, else one-hot ids of a token space.

    Raises:
        ConfigError: the space offers neither, naming it and the ways out.
    """
    if conforms(space, FeaturizedSpace):
        return space.feature_encoder()  # type: ignore[attr-defined]
    if conforms(space, TokenSpace):
        return OneHotFeatures(space)  # type: ignore[arg-type]
    raise ConfigError(
        f"strategy 'bo' cannot encode designs of the space {type(space).__name__}: it is not a box (low/high bounds), "
        "offers no feature_encoder() and is not a token space (encode/vocab_size/max_length). Give the space a "
        "feature_encoder() method returning a gendesign.core.protocols.FeatureEncoder, pass encoder=... to "
        "gendesign.search.bo.BayesianOptimization, or use strategy 'evolution' or 'random'"
    )
