"""Policy and partition-function estimators: ``P_F(. | s)``, ``P_B(. | s)``, ``log F(s)``, ``log Z``.

One network with a shared torso maps state features `[N, F]` (optionally concatenated with a
conditioning vector `[N, C]`) to forward logits `[N, A]`, and, when enabled, backward logits
`[N, A_b]` and a state log-flow `[N]`. Masked actions get ``-inf`` before the softmax.

``log Z`` is a learned scalar, or, for conditional GFlowNets (preference or temperature
conditioning), a small MLP of the condition `[B, C] -> [B]` (Jain et al. 2023, "Multi-objective
GFlowNets", ICML).

The torso is an MLP (``architecture="mlp"``, the standard HyperGrid choice of Malkin et al. 2022)
or, for sequence environments, a small transformer encoder over the per-position one-hot features
(``architecture="transformer"``; ``token_dim`` is the one-hot width of one position).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from gendesign.core.errors import ConfigError
from gendesign.core.generator import Generator


def masked_log_softmax(logits: Tensor, mask: Tensor, temperature: float = 1.0) -> Tensor:
    """``log softmax(logits / temperature)`` over the allowed entries of ``mask``; ``-inf`` elsewhere.

    Args:
        logits: `[N, A]`.
        mask: `[N, A]` bool, at least one True per row.
        temperature: ``> 0``; ``< 1`` sharpens, ``> 1`` flattens.

    Returns:
        `[N, A]` log-probabilities.
    """
    scaled = logits / temperature if temperature != 1.0 else logits
    return torch.log_softmax(scaled.masked_fill(~mask, float("-inf")), dim=-1)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU())
    return nn.Sequential(*layers)


class _TransformerTorso(nn.Module):
    """Embed `[N, P * token_dim]` one-hot positions, add learned positions, encode, mean-pool."""

    def __init__(self, feature_dim: int, token_dim: int, condition_dim: int, hidden: int, layers: int, heads: int) -> None:
        super().__init__()
        if feature_dim % token_dim:
            raise ConfigError(f"transformer policy: feature_dim={feature_dim} is not a multiple of token_dim={token_dim}")
        self.token_dim = token_dim
        self.positions = feature_dim // token_dim
        self.embed = nn.Linear(token_dim, hidden)
        self.position = nn.Parameter(torch.zeros(self.positions, hidden))
        self.condition = nn.Linear(condition_dim, hidden) if condition_dim else None
        block = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)

    def forward(self, features: Tensor, conditions: Tensor | None) -> Tensor:
        tokens = self.embed(features.reshape(features.shape[0], self.positions, self.token_dim)) + self.position
        if self.condition is not None and conditions is not None:
            tokens = tokens + self.condition(conditions).unsqueeze(1)
        return self.encoder(tokens).mean(dim=1)


class GFlowNetPolicy(Generator):
    """GFlowNet policy network: forward policy, optional learned backward policy and state flow, and ``log Z``.

    Args:
        feature_dim: ``F``, width of the environment's state features.
        n_actions: ``A``, forward actions including exit.
        n_backward_actions: ``A_b``.
        condition_dim: ``C``; 0 for an unconditional GFlowNet.
        hidden: width of the hidden layers.
        layers: number of hidden layers (MLP) or encoder blocks (transformer).
        learned_backward: learn ``P_B``; otherwise ``P_B`` is uniform over allowed parents.
        state_flow: add a ``log F(s)`` head (needed by DB and SubTB).
        architecture: ``"mlp"`` or ``"transformer"``.
        token_dim: per-position one-hot width, for ``architecture="transformer"``.
        heads: attention heads, for ``architecture="transformer"``.
        log_z_init: initial value of the unconditional ``log Z``.
    """

    def __init__(
        self,
        feature_dim: int,
        n_actions: int,
        n_backward_actions: int,
        condition_dim: int = 0,
        hidden: int = 256,
        layers: int = 2,
        learned_backward: bool = False,
        state_flow: bool = False,
        architecture: Literal["mlp", "transformer"] = "mlp",
        token_dim: int = 0,
        heads: int = 4,
        log_z_init: float = 0.0,
    ) -> None:
        super().__init__()
        if architecture not in ("mlp", "transformer"):
            raise ConfigError(f"GFlowNetPolicy: architecture={architecture!r}; use 'mlp' or 'transformer'")
        if architecture == "transformer" and token_dim <= 0:
            raise ConfigError("GFlowNetPolicy: architecture='transformer' needs token_dim > 0 (the one-hot width per position)")
        if architecture == "transformer" and (heads < 1 or hidden % heads):
            raise ConfigError(f"GFlowNetPolicy: hidden={hidden} must be a multiple of heads={heads} for the transformer")
        if hidden < 1 or layers < 1:
            raise ConfigError(f"GFlowNetPolicy: hidden={hidden} and layers={layers} must both be >= 1")
        self.register_config(
            feature_dim=feature_dim,
            n_actions=n_actions,
            n_backward_actions=n_backward_actions,
            condition_dim=condition_dim,
            hidden=hidden,
            layers=layers,
            learned_backward=learned_backward,
            state_flow=state_flow,
            architecture=architecture,
            token_dim=token_dim,
            heads=heads,
            log_z_init=log_z_init,
        )
        self.n_actions = n_actions
        self.n_backward_actions = n_backward_actions
        self.condition_dim = condition_dim
        self.learned_backward = learned_backward
        self.state_flow = state_flow
        self.architecture = architecture
        if architecture == "mlp":
            self.torso: nn.Module = _mlp([feature_dim + condition_dim] + [hidden] * layers)
            self.torso.append(nn.LeakyReLU())
        else:
            self.torso = _TransformerTorso(feature_dim, token_dim, condition_dim, hidden, layers, heads)
        n_out = n_actions + (n_backward_actions if learned_backward else 0) + (1 if state_flow else 0)
        self.head = nn.Linear(hidden, n_out)
        if condition_dim:
            self.log_z_net: nn.Module | None = _mlp([condition_dim, hidden // 2 or 1, hidden // 2 or 1, 1])
            self.log_z_param = None
        else:
            self.log_z_net = None
            self.log_z_param = nn.Parameter(torch.tensor(float(log_z_init)))

    def forward(self, features: Tensor, conditions: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Heads of the policy network.

        Args:
            features: `[N, F]` state features.
            conditions: `[N, C]` conditioning vectors when ``condition_dim > 0``.

        Returns:
            forward logits `[N, A]`, backward logits `[N, A_b]` (or ``None`` for a uniform ``P_B``),
            state log-flows `[N]` (or ``None`` without a flow head).
        """
        if self.condition_dim:
            if conditions is None:
                raise ConfigError(f"this policy is conditional (condition_dim={self.condition_dim}); pass conditions [N, C]")
        if self.architecture == "mlp":
            x = torch.cat([features, conditions], dim=-1) if self.condition_dim else features
            h = self.torso(x)
        else:
            h = self.torso(features, conditions)
        out = self.head(h)
        fwd = out[:, : self.n_actions]
        pos = self.n_actions
        bwd = None
        if self.learned_backward:
            bwd = out[:, pos : pos + self.n_backward_actions]
            pos += self.n_backward_actions
        flow = out[:, pos] if self.state_flow else None
        return fwd, bwd, flow

    def log_z(self, batch: int, conditions: Tensor | None = None) -> Tensor:
        """`[batch]` estimate of ``log Z`` (per condition when conditional)."""
        if self.log_z_net is not None:
            if conditions is None:
                raise ConfigError("this policy has a conditional log Z; pass conditions [B, C]")
            return self.log_z_net(conditions).squeeze(-1)
        assert self.log_z_param is not None
        return self.log_z_param.expand(batch)

    def log_z_parameters(self) -> list[nn.Parameter]:
        """The parameters of the ``log Z`` estimator (trained with their own, larger learning rate)."""
        return list(self.log_z_net.parameters()) if self.log_z_net is not None else [self.log_z_param]  # type: ignore[list-item]

    def policy_parameters(self) -> list[nn.Parameter]:
        """Every parameter except the ``log Z`` estimator's."""
        z = {id(p) for p in self.log_z_parameters()}
        return [p for p in self.parameters() if id(p) not in z]
