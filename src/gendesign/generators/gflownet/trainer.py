"""The GFlowNet training engine: sample, score, replay, and one gradient step per batch.

:class:`GFlowNetTrainer` ties an environment, a :class:`~gendesign.generators.gflownet.policy.GFlowNetPolicy`,
a reward strategy, a flow-consistency loss and a replay buffer together. One training step on a
batch of trajectories with canonical values `[B, K]` minimises

    L = L_balance(log R) + op_weight * L_OP(log R_hat) + kl_weight * KL(U || P_B)

where ``L_balance`` is TB, DB or SubTB(lambda) on the strategy's ``log R`` (absent for
order-preserving training, whose reward is the learned one), ``log R_hat`` is the TB-implied
``log Z + sum log P_F - sum log P_B`` for TB and the terminal flow ``log F(x) + log P_F(exit | x)``
for DB/SubTB, and ``op_weight`` is 1 for TB (OP-TB is the OP loss alone) and ``op_weight_flow``
(0.1 in OP-GFN) for DB/SubTB.

It serves three callers: synthetic online training against a tensor oracle (:meth:`train_online`,
used by the HyperGrid benchmarks), the active-learning strategy (:meth:`train_on_trajectories`
with evaluated designs), and stated preferences (:meth:`train_preferences`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.core.options import StrictOptions
from gendesign.generators.gflownet.env import DiscreteEnv, Trajectories
from gendesign.generators.gflownet.losses import LOSSES
from gendesign.generators.gflownet.policy import GFlowNetPolicy
from gendesign.generators.gflownet.replay import ReplayBuffer
from gendesign.generators.gflownet.rewards import RewardStrategy, backward_kl_to_uniform, build_reward, preference_pair_loss
from gendesign.generators.gflownet.sampler import sample_backward, sample_forward, score_trajectories

ScoreFn = Callable[[Tensor], tuple[Tensor, Tensor]]


class GFlowNetOptions(StrictOptions):
    """Everything that configures a GFlowNet; shared by the trainer and the ``gflownet`` strategy."""

    loss: Literal["tb", "db", "subtb"] = "tb"
    subtb_lambda: float = Field(0.9, gt=0, description="SubTB's lambda")
    reward: Literal["power", "exponential", "preference", "order_preserving"] = "order_preserving"
    reward_options: dict[str, Any] = Field(
        default_factory=dict, description="options of the reward strategy (beta, alpha, bins, order, ...)"
    )
    hidden: int = Field(256, ge=1, le=65_536)
    layers: int = Field(2, ge=1, le=256)
    architecture: Literal["mlp", "transformer"] = "mlp"
    learned_backward: bool = Field(False, description="learn P_B (else uniform); OP-GFN's KL regulariser acts on it")
    lr: float = Field(1e-3, gt=0)
    lr_log_z: float = Field(0.1, gt=0)
    train_batch_size: int = Field(128, ge=1, le=1_000_000, description="trajectories per gradient step")
    epsilon: float = Field(0.0, ge=0, le=1, description="exploration: chance of a uniform random action while training")
    temperature: float = Field(1.0, gt=0, description="logit temperature while training")
    replay_fraction: float = Field(
        0.0, ge=0, lt=1, description="share of each training batch replayed from the buffer (as backward trajectories)"
    )
    pareto_fraction: float = Field(0.1, ge=0, le=1, description="share of each replay draw taken from the Pareto archive")
    replay_capacity: int = Field(100_000, ge=1, le=100_000_000)
    kl_weight: float = Field(0.0, ge=0, description="weight of KL(U || P_B); OP-GFN uses 0.1 with a learned P_B")
    op_weight_flow: float = Field(0.1, ge=0, description="weight of the OP loss for DB/SubTB")
    grad_clip: float | None = Field(10.0, gt=0)


class GFlowNetTrainer:
    """Owns the policy, its optimiser, the reward strategy and the replay buffer.

    Args:
        env: the environment.
        specs: the objective columns (``K`` of them).
        options: :class:`GFlowNetOptions`.
        generator: torch generator for every random draw.
        policy: an existing policy to train (a new one is built from ``options`` otherwise).
    """

    def __init__(
        self,
        env: DiscreteEnv,
        specs: tuple[ObjectiveSpec, ...],
        options: GFlowNetOptions | None = None,
        generator: torch.Generator | None = None,
        policy: GFlowNetPolicy | None = None,
    ) -> None:
        self.env = env
        self.specs = tuple(specs)
        self.options = options or GFlowNetOptions()
        o = self.options
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.reward: RewardStrategy = build_reward(o.reward, self.specs, **o.reward_options)
        token_dim = env.token_dim if o.architecture == "transformer" else 0
        self.policy = policy or GFlowNetPolicy(
            feature_dim=env.feature_dim,
            n_actions=env.n_actions,
            n_backward_actions=env.n_backward_actions,
            condition_dim=self.reward.condition_dim,
            hidden=o.hidden,
            layers=o.layers,
            learned_backward=o.learned_backward,
            state_flow=o.loss in ("db", "subtb"),
            architecture=o.architecture,
            token_dim=token_dim,
        )
        if self.policy.condition_dim != self.reward.condition_dim:
            raise ConfigError(
                f"policy has condition_dim={self.policy.condition_dim} but reward {o.reward!r} needs {self.reward.condition_dim}"
            )
        self.optimizer = torch.optim.Adam(
            [
                {"params": self.policy.policy_parameters(), "lr": o.lr},
                {"params": self.policy.log_z_parameters(), "lr": o.lr_log_z},
            ]
        )
        self.replay = ReplayBuffer(env.state_dim, len(self.specs), o.replay_capacity, o.pareto_fraction)
        self.loss_fn = LOSSES[o.loss]
        self.steps = 0
        self.trajectories_seen = 0

    def sample(
        self,
        n: int,
        *,
        epsilon: float | None = None,
        temperature: float | None = None,
        conditions: Tensor | None = None,
        logit_bias: Callable[[Tensor], Tensor] | None = None,
    ) -> Trajectories:
        """``n`` forward trajectories; conditions are drawn from the reward strategy when it needs them."""
        if conditions is None:
            conditions = self.reward.sample_conditions(n, self.generator)
        return sample_forward(
            self.env,
            self.policy,
            n,
            conditions=conditions,
            epsilon=self.options.epsilon if epsilon is None else epsilon,
            temperature=self.options.temperature if temperature is None else temperature,
            generator=self.generator,
            logit_bias=logit_bias,
        )

    def sample_designs(self, n: int, *, generator: torch.Generator | None = None, temperature: float = 1.0) -> tuple[list[Any], Tensor | None]:
        """``n`` designs from the policy (no exploration) and their log-probabilities `[n]`, or ``None``.

        The log-probability of a design is ``sum_t log P_F`` along its trajectory when the design
        has exactly one trajectory (a tree-shaped environment such as
        :class:`~gendesign.generators.gflownet.sequence_env.SequenceEnv`), the policy is
        unconditional and ``temperature = 1``; otherwise it is not exact and ``None`` is returned.
        A :class:`~gendesign.core.protocols.SequenceSampler`.
        """
        gen = self.generator if generator is None else generator
        conditions = self.reward.sample_conditions(n, gen)
        if n == 0:
            return [], torch.zeros(0)
        trajs = sample_forward(self.env, self.policy, n, conditions=conditions, temperature=temperature, generator=gen)
        designs = self.env.to_designs(trajs.terminals.cpu())
        if self.env.n_backward_actions != 1 or conditions is not None or temperature != 1.0:
            return designs, None
        with torch.no_grad():
            log_probs = score_trajectories(self.env, self.policy, trajs).sum_log_pf()
        return designs, log_probs.cpu()

    def backward_trajectories(self, terminals: Tensor, conditions: Tensor | None = None) -> Trajectories:
        """Trajectories ending in ``terminals`` `[B, D]`, sampled backwards with ``P_B``."""
        if conditions is None:
            conditions = self.reward.sample_conditions(terminals.shape[0], self.generator)
        return sample_backward(self.env, self.policy, terminals, conditions=conditions, generator=self.generator)

    def loss(self, trajs: Trajectories, canonical: Tensor, valid: Tensor) -> tuple[Tensor, dict[str, float]]:
        """The training loss of one batch (see the module docstring) and its parts.

        Args:
            trajs: ``B`` trajectories.
            canonical: `[B, K]` canonical values of their terminal states.
            valid: `[B]` validity.
        """
        o = self.options
        scores = score_trajectories(self.env, self.policy, trajs)
        canonical = canonical.to(scores.log_pf.device)
        valid = valid.to(scores.log_pf.device)
        log_r = self.reward.log_rewards(canonical.to(torch.float32), valid, trajs.conditions)
        balance = self.loss_fn(scores, log_r, lam=o.subtb_lambda)
        parts = {"balance": float(balance.detach())}
        total = balance
        if self.reward.uses_order:
            log_r_hat = scores.log_reward_hat() if o.loss == "tb" else scores.terminal_log_flow()
            op = self.reward.order_loss(log_r_hat, canonical, valid, self.generator)
            total = total + (1.0 if o.loss == "tb" else o.op_weight_flow) * op
            parts["order"] = float(op.detach())
        if o.kl_weight > 0:
            kl = backward_kl_to_uniform(scores.log_pb_all, scores.pb_mask)
            total = total + o.kl_weight * kl
            parts["kl_pb"] = float(kl.detach())
        parts["log_z"] = float(scores.log_z.detach().mean())
        return total, parts

    def step(self, loss: Tensor) -> None:
        """One optimiser step on ``loss``."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.options.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.options.grad_clip)
        self.optimizer.step()
        self.steps += 1

    def replay_batch(self, n: int) -> tuple[Trajectories, Tensor, Tensor] | None:
        """``n`` replayed terminal states as backward trajectories with their values, or ``None`` when empty."""
        if n <= 0 or len(self.replay) == 0:
            return None
        states, values, valid = self.replay.sample(n, self.generator)
        return self.backward_trajectories(states), values, valid

    def train_on_trajectories(
        self, trajs: Trajectories, canonical: Tensor, valid: Tensor, *, store: bool = True
    ) -> dict[str, float]:
        """One gradient step on ``trajs`` plus replayed states; stores them in the replay first.

        With replay fraction ``f`` the step adds ``round(f * B / (1 - f))`` replayed states, so that
        they make up the share ``f`` of the combined batch.

        Args:
            trajs: ``B`` trajectories (forward-sampled or backward-sampled).
            canonical: `[B, K]` canonical values of their terminals.
            valid: `[B]` validity.
            store: add the terminals to the replay buffer.
        """
        if store:
            self.replay.add(trajs.terminals, canonical, valid)
        f = self.options.replay_fraction
        n_replay = round(f * len(trajs) / (1.0 - f))
        extra = self.replay_batch(n_replay)
        if extra is not None:
            r_trajs, r_values, r_valid = extra
            trajs = Trajectories.cat([trajs, r_trajs])
            canonical = torch.cat([canonical.to(torch.float64).cpu(), r_values.to(torch.float64)])
            valid = torch.cat([valid.cpu(), r_valid])
        loss, parts = self.loss(trajs, canonical, valid)
        self.step(loss)
        self.trajectories_seen += len(trajs)
        return parts

    def train_online(
        self, score_fn: ScoreFn, n_steps: int, callback: Callable[[int, dict[str, float]], None] | None = None
    ) -> dict[str, float]:
        """Synthetic online training: each step samples ``train_batch_size`` trajectories and scores them with ``score_fn``.

        Args:
            score_fn: maps terminal states `[B, D]` to (canonical values `[B, K]`, validity `[B]`).
            n_steps: gradient steps.
            callback: called as ``callback(step, parts)`` after each step.

        Returns:
            the loss parts of the last step.
        """
        parts: dict[str, float] = {}
        n_online = self.options.train_batch_size - round(self.options.replay_fraction * self.options.train_batch_size)
        for i in range(n_steps):
            trajs = self.sample(max(n_online, 1))
            values, valid = score_fn(trajs.terminals)
            parts = self.train_on_trajectories(trajs, values, valid)
            if callback is not None:
                callback(i, parts)
        return parts

    def augment(self, top_k: int = 20, per_state: int = 20, steps: int = 1) -> int:
        """Backward-trajectory augmentation: ``steps`` gradient steps on ``per_state`` backward trajectories of each of the ``top_k`` best stored states.

        This is OP-GFN's -AUG trick (Chen & Mauch 2024, App. D); with a learned ``P_B`` each state
        yields different trajectories. Returns the number of trajectories trained on.
        """
        states, values = self.replay.top(top_k)
        if states.shape[0] == 0:
            return 0
        reps = states.repeat_interleave(per_state, dim=0)
        vals = values.repeat_interleave(per_state, dim=0)
        valid = torch.ones(reps.shape[0], dtype=torch.bool)
        for _ in range(steps):
            trajs = self.backward_trajectories(reps)
            if self.reward.uses_order and len(self.replay) > reps.shape[0]:
                others, o_vals, o_valid = self.replay.sample(reps.shape[0], self.generator)
                trajs = Trajectories.cat([trajs, self.backward_trajectories(others)])
                loss, _ = self.loss(trajs, torch.cat([vals, o_vals]), torch.cat([valid, o_valid]))
            else:
                loss, _ = self.loss(trajs, vals, valid)
            self.step(loss)
        return reps.shape[0] * steps

    def preference_loss(self, winners: Tensor, losers: Tensor) -> Tensor:
        """Bradley-Terry loss of stated preferences on the learned ``log R_hat`` of backward trajectories.

        Args:
            winners: `[P, D]` terminal states stated to be better.
            losers: `[P, D]` the terminal states they beat.
        """
        if winners.shape != losers.shape:
            raise ConfigError(
                f"preference pairs need equal shapes, got winners {list(winners.shape)} and losers {list(losers.shape)}"
            )
        p = winners.shape[0]
        conditions = self.reward.sample_conditions(p, self.generator)
        both = torch.cat([winners, losers])
        conds = None if conditions is None else torch.cat([conditions, conditions])
        trajs = self.backward_trajectories(both, conds)
        scores = score_trajectories(self.env, self.policy, trajs)
        log_r_hat = scores.log_reward_hat() if self.options.loss == "tb" else scores.terminal_log_flow()
        return preference_pair_loss(log_r_hat[:p], log_r_hat[p:])

    def train_preferences(self, winners: Tensor, losers: Tensor, steps: int = 1) -> float:
        """``steps`` gradient steps on stated preference pairs; returns the last loss."""
        value = float("nan")
        for _ in range(steps):
            loss = self.preference_loss(winners, losers)
            self.step(loss)
            value = float(loss.detach())
        return value

    def state_dict(self) -> dict[str, Any]:
        """Policy, optimiser, replay and counters: tensors and JSON-able values."""
        return {
            "policy": {k: v.detach().cpu().clone() for k, v in self.policy.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "replay": self.replay.state_dict(),
            "steps": self.steps,
            "trajectories_seen": self.trajectories_seen,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.policy.load_state_dict(state["policy"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.replay.load_state_dict(state["replay"])
        self.steps = int(state["steps"])
        self.trajectories_seen = int(state["trajectories_seen"])
