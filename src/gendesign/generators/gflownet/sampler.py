"""Trajectory sampling (forward with epsilon-exploration and temperature, backward from terminals)
and batched re-scoring of trajectories under the policy.

Forward sampling draws action ``a`` in state ``s`` from the exploration mixture

    pi(a | s) = (1 - eps) * softmax(logits(s) / tau)_a + eps * Uniform(allowed actions of s)_a,

with ``tau`` the logit temperature. Sampling runs under ``torch.no_grad``; the losses re-score the
finished batch with :func:`score_trajectories` in one batched forward pass over all visited states,
which is both cheaper than keeping a graph per step and the only way to train on trajectories that
did not come from the current policy (replay, backward augmentation, off-policy exploration).

Backward sampling starts at given terminal states and walks to ``s_0`` with ``P_B``; it turns a
bare terminal design (an evaluated design, a preference pair, an archive member) into a trajectory
that TB, DB and SubTB can train on (Shen et al. 2023, "Towards understanding and improving
GFlowNet training", ICML; the -AUG trick of Chen & Mauch 2024).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError
from gendesign.generators.gflownet.env import DiscreteEnv, Trajectories
from gendesign.generators.gflownet.policy import GFlowNetPolicy, masked_log_softmax


def _check_knobs(epsilon: float, temperature: float) -> None:
    if not 0.0 <= epsilon <= 1.0:
        raise ConfigError(f"epsilon={epsilon} must lie in [0, 1]")
    if temperature <= 0.0:
        raise ConfigError(f"temperature={temperature} must be > 0")


def _draw(probs: Tensor, generator: torch.Generator | None) -> Tensor:
    """One draw per row of ``probs`` `[N, A]`; rows go to the generator's device when they differ (a CPU generator keeps runs reproducible on CUDA)."""
    if generator is not None and generator.device != probs.device:
        return torch.multinomial(probs.to(generator.device), 1, generator=generator).squeeze(1).to(probs.device)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def sample_forward(
    env: DiscreteEnv,
    policy: GFlowNetPolicy,
    n: int,
    *,
    conditions: Tensor | None = None,
    epsilon: float = 0.0,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    logit_bias: Callable[[Tensor], Tensor] | None = None,
) -> Trajectories:
    """Sample ``n`` complete trajectories from ``s_0`` with the forward policy.

    With ``logit_bias`` the policy part of the mixture becomes ``softmax(logits / tau + b(s))``: a
    proposal tilted by prior knowledge (e.g. learned feasibility of token pairs). The trajectories
    are then off-policy, which TB, DB and SubTB accept; the losses always re-score them under the
    untilted policy.

    Args:
        env: the environment.
        policy: the policy network.
        n: number of trajectories.
        conditions: `[n, C]` conditioning vectors for a conditional policy.
        epsilon: probability of a uniformly random allowed action at each step.
        temperature: logit temperature ``tau``.
        generator: source of randomness.
        logit_bias: maps states `[N, D]` to additive log-weights `[N, A]` (finite), or ``None``.

    Returns:
        :class:`Trajectories` with ``B = n``.
    """
    _check_knobs(epsilon, temperature)
    device = next(policy.parameters()).device
    conditions = None if conditions is None else conditions.to(device)
    state = env.initial_states(n).to(device)
    states = [state]
    actions: list[Tensor] = []
    back: list[Tensor] = []
    lengths = torch.zeros(n, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    exit_id = env.exit_action
    for _ in range(env.max_length + 1):
        active = torch.nonzero(~done).squeeze(1)
        act = torch.full((n,), -1, dtype=torch.long, device=device)
        bact = torch.full((n,), -1, dtype=torch.long, device=device)
        nxt = state.clone()
        if active.numel():
            s = state[active]
            mask = env.forward_mask(s)
            logits, _, _ = policy(env.featurize(s), None if conditions is None else conditions[active])
            if logit_bias is not None:
                logits = logits + temperature * logit_bias(s).to(logits.dtype)
            probs = masked_log_softmax(logits, mask, temperature).exp()
            if epsilon > 0:
                uniform = mask.to(probs.dtype) / mask.sum(dim=1, keepdim=True)
                probs = (1 - epsilon) * probs + epsilon * uniform
            a = _draw(probs, generator)
            act[active] = a
            moving = a != exit_id
            mv = active[moving]
            if mv.numel():
                nxt[mv] = env.step(s[moving], a[moving])
                bact[mv] = env.backward_action_of(s[moving], a[moving])
                lengths[mv] += 1
            done[active[~moving]] = True
        actions.append(act)
        back.append(bact)
        states.append(nxt)
        state = nxt
        if bool(done.all()):
            break
    if not bool(done.all()):
        raise ConfigError(f"{type(env).__name__} did not allow the exit action within max_length={env.max_length} steps")
    return Trajectories(
        states=torch.stack(states),
        actions=torch.stack(actions),
        backward_actions=torch.stack(back),
        lengths=lengths,
        terminals=state,
        conditions=conditions,
    )


@torch.no_grad()
def sample_backward(
    env: DiscreteEnv,
    policy: GFlowNetPolicy,
    terminals: Tensor,
    *,
    conditions: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Trajectories:
    """Sample one trajectory ending in each terminal state by walking back to ``s_0`` with ``P_B``.

    Args:
        env: the environment.
        policy: supplies ``P_B`` when it is learned; otherwise parents are drawn uniformly.
        terminals: `[B, D]` terminal states.
        conditions: `[B, C]` for a conditional policy.
        generator: source of randomness.

    Returns:
        :class:`Trajectories` in forward order, ending with the exit action at each terminal.
    """
    device = next(policy.parameters()).device
    conditions = None if conditions is None else conditions.to(device)
    b = terminals.shape[0]
    state = terminals.to(device)
    rev_states = [state]
    rev_fwd: list[Tensor] = []
    rev_back: list[Tensor] = []
    lengths = torch.zeros(b, dtype=torch.long, device=device)
    for _ in range(env.max_length):
        active = torch.nonzero(~env.is_initial(state)).squeeze(1)
        if active.numel() == 0:
            break
        s = state[active]
        mask = env.backward_mask(s)
        if policy.learned_backward:
            _, blogits, _ = policy(env.featurize(s), None if conditions is None else conditions[active])
            assert blogits is not None
            probs = masked_log_softmax(blogits, mask).exp()
        else:
            probs = mask.to(torch.float32) / mask.sum(dim=1, keepdim=True)
        ba = _draw(probs, generator)
        fa = env.forward_action_of(s, ba)
        prev = state.clone()
        prev[active] = env.backward_step(s, ba)
        fwd = torch.full((b,), -1, dtype=torch.long, device=device)
        bwd = torch.full((b,), -1, dtype=torch.long, device=device)
        fwd[active], bwd[active] = fa, ba
        lengths[active] += 1
        rev_fwd.append(fwd)
        rev_back.append(bwd)
        rev_states.append(prev)
        state = prev
    if not bool(env.is_initial(state).all()):
        raise ConfigError(
            f"backward walk did not reach s_0 within max_length={env.max_length} steps; are these terminal states of the env?"
        )
    m = len(rev_fwd)
    horizon = m + 1
    t = torch.arange(horizon + 1, device=device).unsqueeze(1)
    cols = torch.arange(b, device=device).unsqueeze(0).expand(horizon + 1, b)
    states = torch.stack(rev_states)[(lengths.unsqueeze(0) - t).clamp(min=0), cols]
    actions = torch.full((horizon, b), -1, dtype=torch.long, device=device)
    back = torch.full((horizon, b), -1, dtype=torch.long, device=device)
    if m:
        tt = t[:horizon]
        src = (lengths.unsqueeze(0) - 1 - tt).clamp(min=0)
        inside = tt < lengths.unsqueeze(0)
        actions = torch.where(inside, torch.stack(rev_fwd)[src.clamp(max=m - 1), cols[:horizon]], actions)
        back = torch.where(inside, torch.stack(rev_back)[src.clamp(max=m - 1), cols[:horizon]], back)
    actions[lengths, torch.arange(b, device=device)] = env.exit_action
    return Trajectories(
        states=states,
        actions=actions,
        backward_actions=back,
        lengths=lengths,
        terminals=terminals.to(device),
        conditions=conditions,
    )


@dataclass
class TrajectoryScores:
    """Per-step log-probabilities and flows of a trajectory batch under the policy (with gradients).

    Attributes:
        log_pf: `[T, B]` ``log P_F(a_t | s_t)``, the exit step included; 0 on padding.
        log_pb: `[T, B]` ``log P_B(s_t | s_{t+1})`` for non-exit steps; 0 at the exit and on padding.
        log_flow: `[T + 1, B]` ``log F(s_t)`` for ``t <= n``; 0 elsewhere; ``None`` without a flow head.
        log_pb_all: `[M, A_b]` backward log-probabilities at the ``M`` visited non-initial states
            (for the KL-to-uniform regulariser); ``None`` for a uniform ``P_B``.
        pb_mask: `[M, A_b]` the allowed backward actions at those states.
        log_z: `[B]` ``log Z`` (per condition).
        lengths: `[B]` non-exit steps per trajectory.
    """

    log_pf: Tensor
    log_pb: Tensor
    log_flow: Tensor | None
    log_pb_all: Tensor | None
    pb_mask: Tensor | None
    log_z: Tensor
    lengths: Tensor

    def sum_log_pf(self) -> Tensor:
        """`[B]` ``sum_t log P_F``."""
        return self.log_pf.sum(dim=0)

    def sum_log_pb(self) -> Tensor:
        """`[B]` ``sum_t log P_B``."""
        return self.log_pb.sum(dim=0)

    def log_reward_hat(self) -> Tensor:
        """`[B]` the TB-implied log-reward ``log Z + sum log P_F - sum log P_B`` (OP-TB's ``log R_hat``)."""
        return self.log_z + self.sum_log_pf() - self.sum_log_pb()

    def terminal_log_flow(self) -> Tensor:
        """`[B]` ``log F(x) + log P_F(exit | x)``: the flow into the sink, the DB/SubTB ``log R_hat``."""
        if self.log_flow is None:
            raise ConfigError("terminal_log_flow needs a policy with state_flow=True")
        cols = torch.arange(self.lengths.shape[0], device=self.lengths.device)
        return self.log_flow[self.lengths, cols] + self.log_pf[self.lengths, cols]


def score_trajectories(env: DiscreteEnv, policy: GFlowNetPolicy, trajs: Trajectories) -> TrajectoryScores:
    """Re-score ``trajs`` under ``policy`` in one batched forward pass (gradients kept).

    Args:
        env: the environment the trajectories live in.
        policy: the policy to score with.
        trajs: a batch of ``B`` trajectories with horizon ``T``.

    Returns:
        :class:`TrajectoryScores`.
    """
    t_steps, b = trajs.horizon, len(trajs)
    smask = trajs.state_mask()
    flat_states = trajs.states[smask]
    idx_t, idx_b = torch.nonzero(smask, as_tuple=True)
    conds = None if trajs.conditions is None else trajs.conditions[idx_b]
    fwd_logits, bwd_logits, flow = policy(env.featurize(flat_states), conds)
    fmask = env.forward_mask(flat_states)
    log_pf_states = masked_log_softmax(fwd_logits, fmask)
    pos = torch.full((t_steps + 1, b), -1, dtype=torch.long, device=flat_states.device)
    pos[idx_t, idx_b] = torch.arange(flat_states.shape[0], device=flat_states.device)

    step = trajs.step_mask()
    st, sb = torch.nonzero(step, as_tuple=True)
    log_pf = torch.zeros(t_steps, b, dtype=log_pf_states.dtype, device=flat_states.device)
    log_pf = log_pf.index_put((st, sb), log_pf_states[pos[st, sb], trajs.actions[st, sb]])

    log_pb = torch.zeros_like(log_pf)
    log_pb_all = pb_mask = None
    trans = trajs.transition_mask()
    tt, tb = torch.nonzero(trans, as_tuple=True)
    child = pos[tt + 1, tb]
    if bwd_logits is not None:
        non_initial = ~env.is_initial(flat_states)
        bmask = env.backward_mask(flat_states)
        safe_mask = bmask | ~non_initial.unsqueeze(1)
        log_pb_states = masked_log_softmax(bwd_logits, safe_mask)
        log_pb = log_pb.index_put((tt, tb), log_pb_states[child, trajs.backward_actions[tt, tb]])
        log_pb_all, pb_mask = log_pb_states[non_initial], bmask[non_initial]
    else:
        n_parents = env.backward_mask(flat_states[child]).sum(dim=1).to(log_pf.dtype)
        log_pb = log_pb.index_put((tt, tb), -torch.log(n_parents))

    log_flow = None
    if flow is not None:
        log_flow = torch.zeros(t_steps + 1, b, dtype=flow.dtype, device=flow.device).index_put((idx_t, idx_b), flow)
    return TrajectoryScores(
        log_pf=log_pf,
        log_pb=log_pb,
        log_flow=log_flow,
        log_pb_all=log_pb_all,
        pb_mask=pb_mask,
        log_z=policy.log_z(b, trajs.conditions),
        lengths=trajs.lengths,
    )
