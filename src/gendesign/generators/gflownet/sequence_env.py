"""Autoregressive, variable-length sequence environment over a token space.

A state is a prefix of token ids, right-padded with the space's ``pad_id`` to width ``L_max``:
`[B, L_max]`. Forward action ``v < V`` appends token ``v`` (allowed while the prefix is shorter
than ``L_max``); action ``V`` exits (allowed once the prefix is at least ``L_min`` long). Each
non-empty prefix has exactly one parent, so the single backward action "remove the last token"
has probability one and ``log P_B = 0``: trajectory balance reduces to the autoregressive
likelihood. Terminal states are the prefixes of admissible length, i.e. the id rows of the
:class:`~gendesign.core.protocols.TokenSpace` (for a :class:`~gendesign.core.sequence_space.SequenceSpace`
exactly its designs; for a space with further rules, such as the peptide spaces, a superset that
``space.validate`` filters). For the ``selfies`` molecule space ``decode`` maps many token strings to
one molecule, so the policy samples a molecule with probability proportional to its reward times the
number of token strings that decode to it.

Reference: M. Jain et al. "Biological sequence design with GFlowNets." ICML 2022 (the
autoregressive sequence MDP).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from gendesign.core.protocols import TokenSpace
from gendesign.generators.gflownet.env import DiscreteEnv


class SequenceEnv(DiscreteEnv):
    """Append tokens left to right until the exit action, within ``[min_length, max_length]``.

    Features are one-hot tokens per position with the padding as an extra class,
    `[B, L_max * (V + 1)]`.

    Args:
        space: the token space; its ``vocab_size``, ``pad_id``, ``min_length`` and ``max_length`` define the MDP.
    """

    def __init__(self, space: TokenSpace) -> None:
        self.space = space
        self.vocab_size = space.vocab_size
        self.pad_id = space.pad_id
        self.min_length = space.min_length
        self.state_dim = space.max_length
        self.max_length = space.max_length
        self.n_actions = self.vocab_size + 1
        self.n_backward_actions = 1
        self.feature_dim = self.state_dim * (self.vocab_size + 1)
        self.token_dim = self.vocab_size + 1

    def config(self) -> dict[str, Any]:
        return {"class": type(self).__name__, "space": self.space.config()}  # type: ignore[attr-defined]

    def lengths(self, states: Tensor) -> Tensor:
        """`[B]` number of tokens in each prefix."""
        return (states != self.pad_id).sum(dim=-1)

    def last_tokens(self, states: Tensor) -> Tensor:
        """`[B]` the last token id of each prefix, ``-1`` for the empty prefix."""
        length = self.lengths(states)
        rows = torch.arange(states.shape[0], device=states.device)
        last = states[rows, (length - 1).clamp(min=0)]
        return torch.where(length > 0, last, torch.full_like(last, -1))

    def initial_states(self, n: int) -> Tensor:
        return torch.full((n, self.state_dim), self.pad_id, dtype=torch.long)

    def is_initial(self, states: Tensor) -> Tensor:
        return self.lengths(states) == 0

    def forward_mask(self, states: Tensor) -> Tensor:
        length = self.lengths(states).unsqueeze(1)
        grow = (length < self.max_length).expand(-1, self.vocab_size)
        stop = length >= self.min_length
        return torch.cat([grow, stop], dim=1)

    def backward_mask(self, states: Tensor) -> Tensor:
        return (self.lengths(states) > 0).unsqueeze(1)

    def step(self, states: Tensor, actions: Tensor) -> Tensor:
        out = states.clone()
        rows = torch.arange(states.shape[0], device=states.device)
        out[rows, self.lengths(states)] = actions
        return out

    def backward_step(self, states: Tensor, actions: Tensor) -> Tensor:
        out = states.clone()
        rows = torch.arange(states.shape[0], device=states.device)
        out[rows, self.lengths(states) - 1] = self.pad_id
        return out

    def backward_action_of(self, parents: Tensor, actions: Tensor) -> Tensor:
        return torch.zeros_like(actions)

    def forward_action_of(self, children: Tensor, backward_actions: Tensor) -> Tensor:
        rows = torch.arange(children.shape[0], device=children.device)
        return children[rows, self.lengths(children) - 1]

    def featurize(self, states: Tensor) -> Tensor:
        onehot = torch.nn.functional.one_hot(states, self.vocab_size + 1).to(torch.float32)
        return onehot.reshape(states.shape[0], -1)

    def to_designs(self, states: Tensor) -> list[Any]:
        return self.space.decode(states)

    def from_designs(self, designs: Sequence[Any]) -> Tensor:
        return self.space.encode([self.space.validate(d) for d in designs], length=self.state_dim)  # type: ignore[attr-defined]
