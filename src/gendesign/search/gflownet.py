"""Campaign strategy ``gflownet``: GFlowNet active learning on any objective, ``K >= 1``.

Each round:

* ``ask(n)`` first returns the ``initial_designs``, then ``initial_random`` designs from the space's own sampler (an optional
  warm start), then samples trajectories from the current policy (exploration ``ask_epsilon``, logit
  temperature ``ask_temperature``) and returns up to ``n`` designs that were neither asked nor told
  before. When a draw yields too few unseen designs it draws again, up to ``max_ask_draws`` times,
  with exploration rising linearly from ``ask_epsilon`` to 1 (uniformly random actions) on the
  last draw and the draw size doubling (up to 4096 trajectories), so a concentrated policy still finds new designs;
  what is still missing then comes from the space's own sampler. The forward trajectories are kept
  until their scores arrive.
* ``tell(designs, scores)`` stores the scored designs in the replay buffer (with its Pareto archive)
  and takes ``train_steps`` gradient steps. The first step trains on the new designs (on their
  forward trajectories when this strategy proposed them, on backward-sampled trajectories
  otherwise) plus ``replay_fraction`` replay; each further step trains on a fresh replay draw of
  ``train_batch_size`` designs, ``pareto_fraction`` of which come from the Pareto archive. With
  ``augment_top_k > 0`` it then takes OP-GFN's backward-augmentation steps on the best designs.

On sequence spaces proposals are tilted by a learned model of which adjacent token pairs make
designs invalid (``pair_feasibility``, on by default; the model of
:mod:`gendesign.search.feasibility`): the policy's logits for appending ``b`` after ``a`` get
``log(1 - theta_ab)`` for a Thompson-sampled failure rate ``theta_ab`` of every pair that no valid
design has shown. This matters for heavily constrained spaces such as Ehrlich functions, where a
uniformly random sequence is almost never feasible. Training always scores the untilted policy.

Rewards follow ``reward`` (``"order_preserving"`` by default, which needs no reward scale and
handles any ``K`` through Pareto dominance). Constraint columns never enter the reward: a design
that violates a constraint or failed to evaluate counts as invalid (the lowest reward, or ranked
below every valid design).

The environment is chosen from the design space: any
:class:`~gendesign.core.protocols.TokenSpace` (e.g. :class:`~gendesign.core.sequence_space.SequenceSpace`,
the peptide spaces, the ``selfies`` molecule space, whose token rows always decode to a molecule)
gives the autoregressive
:class:`~gendesign.generators.gflownet.sequence_env.SequenceEnv`, a
:class:`~gendesign.core.grid_space.GridSpace` the
:class:`~gendesign.generators.gflownet.hypergrid.HyperGridEnv`.

References: M. Jain et al. "Biological sequence design with GFlowNets", ICML 2022 (the active
learning loop); Y. Chen, L. Mauch. "Order-preserving GFlowNets", ICLR 2024.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from pydantic import Field

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.grid_space import GridSpace
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.protocols import TokenSpace, require_protocol
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.generators.gflownet.env import DiscreteEnv, Trajectories
from gendesign.generators.gflownet.hypergrid import HyperGridEnv
from gendesign.generators.gflownet.sequence_env import SequenceEnv
from gendesign.generators.gflownet.trainer import GFlowNetOptions, GFlowNetTrainer
from gendesign.search.feasibility import PairFeasibilityModel


class GFlowNetStrategyOptions(StrategyOptions, GFlowNetOptions):
    """Options of :class:`GFlowNetStrategy`: every :class:`GFlowNetOptions` field plus the loop's own.

    Attributes:
        train_steps: gradient steps per ``tell``.
        ask_epsilon: exploration while proposing designs.
        ask_temperature: logit temperature while proposing designs.
        max_ask_draws: sampling rounds ``ask`` may spend looking for unseen designs.
        augment_top_k: best stored designs used for backward augmentation after each ``tell`` (0: off).
        augment_per_state: backward trajectories per augmented design.
        pair_feasibility: on sequence spaces, learn which adjacent token pairs make designs invalid
            (:class:`~gendesign.search.feasibility.PairFeasibilityModel`) and tilt proposals away
            from them: appending ``b`` after ``a`` gets the log-weight ``log(1 - theta_ab)`` for a
            Thompson-sampled failure rate ``theta_ab`` of every pair no valid design has shown.
        initial_designs: designs proposed first, before anything else (e.g. a known feasible start).
        initial_random: designs drawn from the space's own sampler before the policy proposes
            anything (an offline warm start that the policy then learns from through backward
            trajectories).
    """

    train_steps: int = Field(8, ge=1, le=100_000)
    ask_epsilon: float = Field(0.05, ge=0, le=1)
    ask_temperature: float = Field(1.0, gt=0)
    max_ask_draws: int = Field(8, ge=1, le=10_000)
    augment_top_k: int = Field(0, ge=0, le=1_000_000)
    augment_per_state: int = Field(4, ge=1, le=10_000)
    pair_feasibility: bool = True
    initial_designs: list[Any] = Field(default_factory=list)
    initial_random: int = Field(0, ge=0, le=10_000_000)
    replay_fraction: float = Field(0.5, ge=0, lt=1)
    train_batch_size: int = Field(64, ge=1, le=1_000_000)


def make_env(space: DesignSpace) -> DiscreteEnv:
    """The GFlowNet environment for ``space``: a grid, or any :class:`~gendesign.core.protocols.TokenSpace`."""
    if isinstance(space, GridSpace):
        return HyperGridEnv(space.ndim, space.height)
    return SequenceEnv(require_protocol(
        space, TokenSpace, what=f"the space {type(space).__name__}",
        needed_by="strategy 'gflownet' (on token spaces such as 'sequence' or 'peptide'; or on the HyperGrid objectives' grid)",
    ))


class GFlowNetStrategy(SearchStrategy):
    """GFlowNet active learning: sample from the policy, train on the scores plus replay."""

    Options = GFlowNetStrategyOptions

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: GFlowNetStrategyOptions | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        o: GFlowNetStrategyOptions = self.options  # type: ignore[assignment]
        self.objective_columns = [k for k, s in enumerate(self.specs) if s.kind == "objective"]
        if not self.objective_columns:
            raise ConfigError(
                f"strategy 'gflownet' needs at least one objective column; got only constraints {[s.name for s in self.specs]}"
            )
        self.env = make_env(space)
        gfn_options = GFlowNetOptions(**{k: getattr(o, k) for k in GFlowNetOptions.model_fields})
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.trainer = GFlowNetTrainer(
                self.env, tuple(self.specs[k] for k in self.objective_columns), gfn_options, generator=self.torch_generator
            )
        self.trainer.policy.to(self.device)
        self.seen: set[str] = set()
        self.pending: dict[str, tuple[Trajectories, int]] = {}
        self.rounds = 0
        self._queued = [space.validate(d) for d in [*o.initial_designs, *space.initial_designs()]]
        self.feasibility = (
            PairFeasibilityModel(self.env.vocab_size) if o.pair_feasibility and isinstance(self.env, SequenceEnv) else None
        )

    def ask(self, n: int) -> list[Any]:
        o: GFlowNetStrategyOptions = self.options  # type: ignore[assignment]
        out: list[Any] = []
        self.pending = {}
        if self._queued:
            out, self._queued = self._queued[:n], self._queued[n:]
            return out
        if len(self.seen) < o.initial_random:
            return self._random_designs(min(n, o.initial_random - len(self.seen)))
        for draw in range(o.max_ask_draws):
            share = draw / (o.max_ask_draws - 1) if o.max_ask_draws > 1 else 0.0
            epsilon = o.ask_epsilon + (1.0 - o.ask_epsilon) * share
            size = min(max(n, 1) * 2**draw, max(n, 4096))
            trajs = self.trainer.sample(size, epsilon=epsilon, temperature=o.ask_temperature, logit_bias=self._feasibility_bias())
            for i, design in enumerate(self.env.to_designs(trajs.terminals.cpu())):
                key = self._key(design)
                if key in self.seen or key in self.pending:
                    continue
                self.pending[key] = (trajs, i)
                out.append(design)
                if len(out) == n:
                    return out
        return out + self._random_designs(n - len(out))

    def _key(self, design: Any) -> str:
        """The space's key of ``design``, or for one the space rejects (a token row may decode to an inadmissible design) a key naming it."""
        try:
            return self.space.key(design)
        except InvalidDesignError:
            return f"invalid:{design!r}"

    def _feasibility_bias(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """Additive log-weights from one Thompson sample of the pair-feasibility posterior (``None`` when off)."""
        if self.feasibility is None:
            return None
        assert isinstance(self.env, SequenceEnv)
        env, model = self.env, self.feasibility
        theta = np.minimum(model.sample_failure(self.rng), 1.0 - 1e-6)
        log_ok = np.log1p(-theta)
        log_ok[model.successes > 0] = 0.0
        table = torch.from_numpy(log_ok.reshape(env.vocab_size, env.vocab_size)).to(torch.float32)

        def bias(states: torch.Tensor) -> torch.Tensor:
            last = env.last_tokens(states).cpu()
            out = torch.zeros(states.shape[0], env.n_actions)
            has = last >= 0
            out[has, : env.vocab_size] = table[last[has]]
            return out.to(states.device)

        return bias

    def _random_designs(self, m: int) -> list[Any]:
        """Up to ``m`` unseen, distinct designs from the space's sampler (the warm start)."""
        out: list[Any] = []
        keys: set[str] = set()
        for design in self.space.sample(4 * m, self.rng):
            key = self.space.key(design)
            if key in self.seen or key in keys or key in self.pending:
                continue
            keys.add(key)
            out.append(design)
            if len(out) == m:
                break
        return out

    def _trajectories_for(self, designs: Sequence[Any], keys: list[str]) -> Trajectories:
        """Trajectories ending in ``designs``, in order: the asked forward ones where known, backward samples otherwise."""
        known = [i for i, k in enumerate(keys) if k in self.pending]
        fresh = [i for i, k in enumerate(keys) if k not in self.pending]
        parts = [_select(*self._pending_batch([keys[i] for i in known]))] if known else []
        if fresh:
            states = self.env.from_designs([designs[i] for i in fresh]).to(self.device)
            parts.append(self.trainer.backward_trajectories(states))
        merged = Trajectories.cat(parts)
        inverse = torch.empty(len(keys), dtype=torch.long)
        inverse[torch.tensor(known + fresh, dtype=torch.long)] = torch.arange(len(keys))
        return _select(merged, inverse)

    def _pending_batch(self, keys: list[str]) -> tuple[Trajectories, torch.Tensor]:
        """The asked trajectories of ``keys`` as one batch and the positions within it (all come from one ``ask``)."""
        batches = {id(self.pending[k][0]): self.pending[k][0] for k in keys}
        if len(batches) == 1:
            return next(iter(batches.values())), torch.tensor([self.pending[k][1] for k in keys], dtype=torch.long)
        merged = Trajectories.cat(list(batches.values()))
        offsets, start = {}, 0
        for key_id, batch in batches.items():
            offsets[key_id] = start
            start += len(batch)
        cols = [offsets[id(self.pending[k][0])] + self.pending[k][1] for k in keys]
        return merged, torch.tensor(cols, dtype=torch.long)

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        o: GFlowNetStrategyOptions = self.options  # type: ignore[assignment]
        designs = list(designs)
        if not designs:
            return
        keys = [self._key(d) for d in designs]
        self.seen.update(keys)
        canonical = scores.canonical()[:, self.objective_columns].detach().cpu().to(torch.float64)
        valid = scores.feasible().detach().cpu()
        trajs = self._trajectories_for(designs, keys)
        if self.feasibility is not None:
            pad = self.env.pad_id  # type: ignore[attr-defined]
            for row, ok in zip(trajs.terminals.cpu().tolist(), scores.valid.tolist()):
                self.feasibility.observe([i for i in row if i != pad], bool(ok))
        self.pending = {}
        self.trainer.train_on_trajectories(trajs, canonical, valid)
        for _ in range(o.train_steps - 1):
            batch = self.trainer.replay_batch(o.train_batch_size)
            if batch is None:
                break
            r_trajs, r_values, r_valid = batch
            loss, _ = self.trainer.loss(r_trajs, r_values, r_valid)
            self.trainer.step(loss)
        if o.augment_top_k:
            self.trainer.augment(o.augment_top_k, o.augment_per_state, steps=1)
        self.rounds += 1

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "trainer": self.trainer.state_dict(),
            "seen": sorted(self.seen),
            "rounds": self.rounds,
            "queued": [self.space.to_json(d) for d in self._queued],
            "feasibility": None if self.feasibility is None else self.feasibility.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.trainer.load_state_dict(state["trainer"])
        self.seen = set(state["seen"])
        self.rounds = int(state["rounds"])
        self._queued = [self.space.from_json(t) for t in state["queued"]]
        if self.feasibility is not None and state.get("feasibility") is not None:
            self.feasibility.load_state_dict(state["feasibility"])
        self.pending = {}


def _select(trajs: Trajectories, cols: int | torch.Tensor) -> Trajectories:
    """The trajectories at batch positions ``cols`` (an index or a `[M]` index tensor)."""
    idx = torch.as_tensor([cols] if isinstance(cols, int) else cols, dtype=torch.long)
    horizon = int(trajs.lengths[idx].max()) + 1
    return Trajectories(
        states=trajs.states[: horizon + 1, idx],
        actions=trajs.actions[:horizon, idx],
        backward_actions=trajs.backward_actions[:horizon, idx],
        lengths=trajs.lengths[idx],
        terminals=trajs.terminals[idx],
        conditions=None if trajs.conditions is None else trajs.conditions[idx],
    )
