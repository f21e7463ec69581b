"""Multi-objective Monte-Carlo tree search over the reverse process of a masked diffusion model.

The idea is PepTune's (Tang et al., "PepTune: De Novo Generation of Therapeutic Peptides with
Multi-Objective-Guided Discrete Diffusion", arXiv 2412.17780, Sec. 2.3 and Alg. 3-6); the
implementation fixes the flaws of its released code.

Tree. The root's children are all-mask canvases, one per candidate length (pads after the length,
drawn from the model's training length histogram or given). A node at depth ``d`` holds ids
``x`` `[L]` at time ``t_d`` of the global grid ``t_d = 1 - d / T`` (``d = 0 .. T``): the grid
*continues* across depth instead of restarting at ``t = 1`` for every expansion.

Expansion. ``M`` independent reverse steps from the leaf's time ``t_d`` give its children;
identical children are merged and their prior is
``P(c | parent) = exp(log p(c)) / sum_c' exp(log p(c'))`` over the distinct children, with
``log p`` the step's log-probability under the model. ``M - A`` steps are the model's own
``t_d -> t_{d+1}``; the other ``A = anchored_children`` step the posterior
``q(x_{t_e} | x_{t_d}, x_0 = a)`` whose clean sequence ``a`` is the best rollout scored below the
leaf so far (best under the walk's Chebyshev weights, below). The landing depth ``e`` is ``d + 1``,
or with ``anchored_depths`` a depth drawn from that list above ``d``: one reverse step over a
longer interval of the same grid. Such a child keeps a random share ``1 - t_e`` of ``a``'s tokens
and its rollout re-samples the rest from the model, so it is a move in the neighbourhood of a good
design in which every token still comes from the model's reverse process (for ``A = 0``, as in
PepTune, children of a node share nothing with the good rollouts found below it beyond the
node's own tokens). With progressive widening a visited node is expanded again and again, each
time around its current best rollout. At the last step (``d = T - 1``) every child is the model's
own: an anchored one would only copy ``a``.

Rollout. Every new child is denoised to ``t = 0`` along the rest of the grid (stochastic ancestral
sampling; the last step reveals every mask), decoded by the space, and scored through the
objective interface: :meth:`MCTS.ask` returns the rollout designs and :meth:`MCTS.tell` backs up
their scores. A rollout that decodes to an inadmissible design is not sent to the objective; it is
backed up at once with the penalty reward ``-invalid_penalty`` in every component.

Reward and backup. A rollout with canonical (maximise-view) values ``y`` `[K]` has reward
``r = (y - lo) / (hi - lo)`` per objective, where ``[lo, hi]`` are the spec bounds when given and
the observed range otherwise (re-read at every selection, so early and late rewards share one
scale). Every node on the path stores the *mean* of the rewards below it:
``Q(n) = (sum_valid r - invalid_penalty * n_invalid) / (n_valid + n_invalid)`` (PepTune sums the
children into the parent, which biases selection towards expanded nodes).

Selection (PUCT, Silver et al. 2017; PepTune Eq. 19-20). For each child ``c`` of ``n``

``U_k(c) = Q_k(c) + c_puct * P(c | n) * sqrt(N(n)) / (1 + N(c))``

where ``N`` counts rollouts below a node including those still waiting for scores (a virtual
visit, so one batch does not pile onto one path). The next node is one of the children whose
``U`` vectors are Pareto non-dominated. With ``selection="chebyshev"`` (default) every walk from
the root draws weights ``w ~ Dirichlet(1_K)`` (normalised standard exponentials) and takes, among
those children, the minimiser of the augmented Chebyshev distance to the ideal point
``max_k w_k (z_k - U_k(c)) + rho sum_k w_k (z_k - U_k(c))`` with ``z_k = max_c' U_k(c')`` and
``rho = 0.05`` (ParEGO's scalarisation, Knowles 2006, used as a random search direction per walk);
each walk then descends in one consistent direction of the front, where a uniform draw among the
non-dominated children (``selection="pareto"``, PepTune's rule) degenerates to a random walk once
``K >= 3`` makes most children mutually non-dominated. With ``K = 1`` both rules are plain PUCT.
Children that are exhausted (fully decoded and already scored, or whose subtree is) are skipped.

Archive. Scored designs enter a :class:`~gendesign.core.pareto.ParetoArchive` that keeps only
mutually non-dominated designs and, above ``archive_size``, drops the one with the smallest
hypervolume contribution (two objectives with bounds) or crowding distance.

Parts. The space is any :class:`~gendesign.core.protocols.TokenSpace` whose ``decode`` reads the
model's ids (real tokens ``0..V-1``, pad ``V``), e.g. :class:`~gendesign.core.sequence_space.SequenceSpace`
or the peptide spaces. The model is any :class:`~gendesign.core.protocols.StepwiseDenoiser` named by
the ``generator`` option (built through the generator registry), such as
:class:`~gendesign.generators.mdlm.model.MaskedDiffusionLM`; anchored children need an
:class:`~gendesign.core.protocols.AnchoredDenoiser`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from pydantic import Field, model_validator
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, GendesignError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.pareto import ParetoArchive, pareto_mask
from gendesign.core.protocols import AnchoredDenoiser, StepwiseDenoiser, TokenSpace, require_protocol
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.search.tree import Node, TreeStats


class MCTSOptions(StrategyOptions):
    """Options of :class:`MCTS`.

    Attributes:
        generator: the denoiser, ``{ name = "mdlm", path = "models/x", options = {...} }``: any
            registered generator that is a :class:`~gendesign.core.protocols.StepwiseDenoiser`;
            default: the space's ``default_generator()`` (the peptide spaces ship one).
        model: deprecated spelling of ``generator = { name = "mdlm", path = model }``.
        steps: ``T``, number of reverse steps from ``t = 1`` to ``t = 0`` (tree depth below a canvas).
        num_children: ``M``, reverse-step samples per expansion.
        c_puct: exploration constant of the PUCT rule.
        invalid_penalty: reward subtracted in every component for an inadmissible rollout.
        archive_size: capacity of the Pareto archive.
        lengths: canvas lengths (tokens) under the root; default: ``num_lengths`` draws from the
            model's training length histogram restricted to the space's ``min_length..max_length``.
        num_lengths: how many lengths to draw when ``lengths`` is not given.
        temperature: softmax temperature of the reverse steps.
        top_p: nucleus mass of the reverse steps.
        max_expansions_per_ask: cap on expansions while :meth:`MCTS.ask` looks for new designs.
        widening_c: progressive widening: a node with ``N`` visits may be expanded
            ``max(1, floor(widening_c * N ** widening_alpha))`` times, each adding up to ``M`` children;
            ``0`` expands every node once, as PepTune does.
        widening_alpha: exponent of progressive widening.
        anchored_children: ``A``, how many of the ``M`` children step the posterior given the best
            rollout below the leaf (see the module docstring); ``0`` draws all from the model.
        anchored_depths: grid depths (``1 .. steps - 1``) where anchored children land: each one
            steps from the leaf's depth ``d`` to a depth drawn uniformly from those above ``d``
            (``d + 1`` when none is), keeping that share of the anchor; ``None``: always ``d + 1``.
        selection: ``"chebyshev"``: per-walk random-weight Chebyshev choice among the non-dominated
            children; ``"pareto"``: a uniform draw among them (see the module docstring).
        torch_threads: intra-op threads while the model runs (restored afterwards); small models on
            a busy CPU are fastest with 1. ``None`` leaves PyTorch's setting alone.
    """

    generator: GeneratorSpec | None = None
    model: str | None = None
    steps: int = Field(32, ge=1)
    num_children: int = Field(8, ge=1)
    c_puct: float = Field(1.0, ge=0.0)
    invalid_penalty: float = Field(1.0, ge=0.0)
    archive_size: int = Field(128, ge=1)
    lengths: list[int] | None = None
    num_lengths: int = Field(4, ge=1)
    temperature: float = Field(1.0, gt=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_expansions_per_ask: int = Field(200, ge=1)
    widening_c: float = Field(1.0, ge=0.0)
    widening_alpha: float = Field(0.5, ge=0.0, le=1.0)
    anchored_children: int = Field(0, ge=0)
    anchored_depths: list[int] | None = None
    selection: Literal["chebyshev", "pareto"] = "chebyshev"
    torch_threads: int | None = Field(None, ge=1, le=1024)

    @model_validator(mode="after")
    def _model_alias(self) -> MCTSOptions:
        if self.model is not None:
            if self.generator is not None:
                raise ValueError("give generator = {...} or the deprecated model = 'path', not both")
            self.generator, self.model = GeneratorSpec(name="mdlm", path=self.model), None
        return self

    @model_validator(mode="after")
    def _check_anchored(self) -> MCTSOptions:
        if self.anchored_children > self.num_children:
            raise ValueError(
                f"anchored_children={self.anchored_children} exceeds num_children={self.num_children}; "
                "it counts how many of the num_children reverse steps are anchored"
            )
        bad = [d for d in self.anchored_depths or [] if not 1 <= d < self.steps]
        if bad:
            raise ValueError(
                f"anchored_depths {bad} are outside 1..steps-1 = 1..{self.steps - 1}; they are depths on the reverse grid"
            )
        return self


CHEBYSHEV_RHO = 0.05


def chebyshev_choice(u: ArrayLike, weights: ArrayLike) -> int:
    """Row of ``u`` `[C, K]` minimising ``max_k w_k (z_k - u_k) + rho sum_k w_k (z_k - u_k)``, ``z = max_c u`` (``w`` `[K]`)."""
    ut = np.ascontiguousarray(np.asarray(u, dtype=np.float64).T)
    gap = ut.max(1, keepdims=True) - ut
    gap *= np.asarray(weights, dtype=np.float64)[:, None]
    score = gap.max(0)
    score += CHEBYSHEV_RHO * gap.sum(0)
    return int(score.argmin())


def puct_scores(q: ArrayLike, prior: ArrayLike, parent_visits: int, child_visits: ArrayLike, c_puct: float) -> np.ndarray:
    """The PUCT selection vectors ``U`` `[C, K]` (float64 array).

    ``U_k(c) = Q_k(c) + c_puct * P(c) * sqrt(N_parent) / (1 + N(c))``.

    Args:
        q: mean rewards `[C, K]` of the ``C`` children.
        prior: `[C]` prior probabilities of the children.
        parent_visits: ``N_parent``.
        child_visits: `[C]` visit counts.
        c_puct: exploration constant ``>= 0``.
    """
    bonus = (c_puct * math.sqrt(max(parent_visits, 1))) * np.asarray(prior, dtype=np.float64) / (1.0 + np.asarray(child_visits))
    return np.asarray(q, dtype=np.float64) + bonus[:, None]


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class MCTS(SearchStrategy):
    """Pareto Monte-Carlo tree search over a masked diffusion model's denoising steps (PUCT selection, mean backups)."""

    Options = MCTSOptions
    options: MCTSOptions
    generator_protocol = StepwiseDenoiser

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: StrategyOptions | None = None,
        model: StepwiseDenoiser | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.token_space: TokenSpace = require_protocol(space, TokenSpace, what=f"the space {type(space).__name__}", needed_by="strategy 'mcts'")
        if model is None:
            raise ConfigError(
                "strategy 'mcts' got no model: build it from a config (generator = { name = ..., path = ... }) "
                "or pass model= a StepwiseDenoiser"
            )
        self.model = require_protocol(model, StepwiseDenoiser, what="its model", needed_by="strategy 'mcts'")
        if self.options.anchored_children:
            require_protocol(model, AnchoredDenoiser, what="its model", needed_by="strategy 'mcts' with anchored_children > 0")
        vocab = self.token_space.vocab_size
        if vocab != self.model.vocab_size:
            raise ConfigError(
                f"the model has {self.model.vocab_size} real tokens but the space {type(space).__name__} has {vocab}; "
                "use a model trained on this space's alphabet"
            )
        self.k = len(self.specs)
        objectives = [s for s in self.specs if s.kind == "objective"]
        if not objectives:
            raise ConfigError("MCTS needs at least one column with kind='objective'")
        self.archive = ParetoArchive(self.k, capacity=self.options.archive_size, prune="auto", ref_point=self._ref_point())
        self.nodes: list[Node] = []
        self.stats = TreeStats(self.k)
        self.pending: dict[str, list[int]] = {}
        self.queue: list[Any] = []
        self.scored: dict[str, np.ndarray | None] = {}
        self.rollout_of: dict[int, Tensor] = {}
        self.rollout_ids: list[Tensor] = []
        self.rollout_values: list[np.ndarray] = []
        self._value_matrix = np.zeros((0, self.k))
        self._norm: tuple[np.ndarray, np.ndarray] | None = None
        self.observed_lo = np.full(self.k, math.inf)
        self.observed_hi = np.full(self.k, -math.inf)
        self.timing = {"model_s": 0.0, "search_s": 0.0}
        self.counts = {"rollouts": 0, "invalid_rollouts": 0, "duplicate_rollouts": 0, "expansions": 0}
        self._build_root()

    # ------------------------------------------------------------------ setup
    def _ref_point(self) -> Tensor | None:
        if all(s.bounds is not None for s in self.specs):
            from gendesign.core.pareto import reference_point

            return reference_point(self.specs)
        return None

    def _canvas_lengths(self) -> list[int]:
        if self.options.lengths is not None:
            lengths = sorted(set(self.options.lengths))
        else:
            counts = self.model.length_counts
            if float(counts.sum()) <= 0:
                raise ConfigError("the model has no length histogram; give the MCTS option lengths = [...]")
            probs = counts.detach().cpu().double().clone()
            lo, hi = self.token_space.min_length, self.token_space.max_length
            outside = (torch.arange(probs.numel()) < lo) | (torch.arange(probs.numel()) > hi)
            probs[outside] = 0.0
            if float(probs.sum()) <= 0:
                raise ConfigError(
                    f"the model never saw lengths in the space's range {lo}..{hi}; give the MCTS option lengths = [...]"
                )
            probs = probs / probs.sum()
            draws = torch.multinomial(probs, self.options.num_lengths, replacement=True, generator=self.torch_generator)
            lengths = sorted(set(draws.tolist()))
        bad = [n for n in lengths if not 1 <= n <= self.model.max_length]
        if bad:
            raise ConfigError(f"MCTS lengths {bad} are outside 1..{self.model.max_length} (the model's max_length)")
        return lengths

    def _build_root(self) -> None:
        lengths = self._canvas_lengths()
        width = max(lengths)
        root = self.stats.extend(-1, [0.0], has_children=False).start
        self.nodes = [Node(x=torch.empty(0, dtype=torch.long), depth=-1, parent=-1, path=np.array([root]))]
        for n in lengths:
            x = torch.full((width,), self.model.mask_id, dtype=torch.long)
            x[n:] = self.model.pad_id
            self._add_node(root, x, log_step=-math.log(len(lengths)))

    def _add_nodes(
        self,
        parent: int,
        xs: Sequence[Tensor],
        log_steps: Sequence[float],
        depths: Sequence[int],
        masked: Sequence[bool],
        keys: Sequence[bytes],
    ) -> list[int]:
        """Append children of ``parent`` holding ids ``xs[i]`` `[L]` at grid depths ``depths[i]``; their ids.

        ``log_steps``: log-probabilities of the steps that made them; ``masked``: whether each has
        masks left; ``keys``: each ``x`` as bytes.
        """
        up = self.nodes[parent]
        ids = self.stats.extend(parent, log_steps, has_children=bool(up.children))
        steps = self.options.steps
        terminal = [depth >= 1 and (depth >= steps or not m) for depth, m in zip(depths, masked)]
        for idx, x, depth, end in zip(ids, xs, depths, terminal):
            path = np.empty(len(up.path) + 1, dtype=np.int64)
            path[:-1] = up.path
            path[-1] = idx
            self.nodes.append(Node(x=x, depth=depth, parent=parent, path=path, terminal=end))
        self.stats.exhausted[ids.start : ids.stop] = terminal
        up.children.extend(ids)
        up.child_keys.update(keys)
        return list(ids)

    def _add_node(self, parent: int, x: Tensor, *, log_step: float = 0.0, depth: int | None = None) -> int:
        """Append one child of ``parent`` holding ids ``x`` `[L]` (default depth: the parent's + 1); its id."""
        depth = self.nodes[parent].depth + 1 if depth is None else depth
        masked = bool((x == self.model.mask_id).any())
        return self._add_nodes(parent, [x], [log_step], [depth], [masked], [x.numpy().tobytes()])[0]

    # ------------------------------------------------------------------ grid
    def time_at(self, depth: int) -> float:
        """``t_d = 1 - d / T``: the time of a node at ``depth`` on the global grid."""
        return 1.0 - depth / self.options.steps

    # ------------------------------------------------------------------ rewards
    def _normaliser(self) -> tuple[np.ndarray, np.ndarray]:
        """``(lo, span)`` `[K]` mapping canonical values to rewards: spec bounds, else the observed range (cached until it changes; a change refreshes the tree's mean rewards)."""
        if self._norm is None:
            lo = self.observed_lo.copy()
            hi = self.observed_hi.copy()
            for k, s in enumerate(self.specs):
                if s.bounds is not None:
                    a, b = s.bounds
                    lo[k], hi[k] = (a, b) if s.direction == "max" else (-b, -a)
            with np.errstate(invalid="ignore"):
                span = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, 1.0)
            self._norm = (np.where(np.isfinite(lo), lo, 0.0), span)
            self.stats.set_normaliser(*self._norm, self.options.invalid_penalty)
        return self._norm

    def q_values(self, idx: int) -> Tensor:
        """Mean reward vector `[K]` of the scored rollouts below node ``idx`` (invalid ones count ``-invalid_penalty``)."""
        lo, span = self._normaliser()
        return torch.from_numpy(self.stats.q(np.array([idx]), lo, span, self.options.invalid_penalty)[0])

    # ------------------------------------------------------------------ tree policy
    def _select(self, weights: np.ndarray) -> int | None:
        """Walk from the root to an expandable leaf along Chebyshev ``weights`` `[K]`; ``None`` when the whole tree is exhausted.

        The augmented Chebyshev minimiser over all children is one of the non-dominated ones
        (a dominating child has a smaller gap in every weighted component, since ``w > 0``), so
        ``selection="chebyshev"`` needs no explicit front.
        """
        idx = 0
        self._normaliser()
        stats = self.stats
        while True:
            node = self.nodes[idx]
            if not node.children:
                return idx
            if idx != 0 and not node.terminal and node.expansions < self.allowed_expansions(idx):
                return idx
            live = node.child_ids[~stats.exhausted[node.child_ids]]
            if not live.size:
                if idx != 0 and not node.terminal:
                    return idx
                stats.exhausted[idx] = True
                if idx == 0:
                    return None
                idx = node.parent
                continue
            u = puct_scores(stats.q_mean[live], stats.prior(idx, live), int(stats.visits(idx)), stats.visits(live), self.options.c_puct)
            if self.options.selection == "chebyshev":
                idx = int(live[chebyshev_choice(u, weights)])
            else:
                front = np.flatnonzero(pareto_mask(torch.from_numpy(u)).numpy())
                idx = int(live[front[int(self.rng.integers(len(front)))]])

    def allowed_expansions(self, idx: int) -> int:
        """Progressive widening (Coulom 2007; Couetoux et al. 2011): ``max(1, floor(c * N^alpha))`` for node ``idx``."""
        return max(1, math.floor(self.options.widening_c * int(self.stats.visits(idx)) ** self.options.widening_alpha))

    def _anchor(self, node: Node, weights: np.ndarray) -> Tensor | None:
        """Ids `[L]` of the best scored rollout below ``node`` under the Chebyshev ``weights``, or ``None``."""
        if not node.rollouts:
            return None
        lo, span = self._normaliser()
        have = len(self._value_matrix)
        if have < len(self.rollout_values):
            self._value_matrix = np.concatenate([self._value_matrix, np.stack(self.rollout_values[have:])])
        rollouts = node.rollout_array
        values = (self._value_matrix[rollouts] - lo) / span
        return self.rollout_ids[int(rollouts[chebyshev_choice(values, weights)])]

    def _anchored_depths(self, depth: int, n: int) -> list[int]:
        """Landing depths of ``n`` anchored children of a node at ``depth`` (see ``anchored_depths``)."""
        above = [d for d in self.options.anchored_depths or [] if d > depth]
        if len(above) <= 1:
            return [above[0] if above else depth + 1] * n
        return [above[i] for i in self.rng.integers(len(above), size=n).tolist()]

    def _expand(self, idx: int, weights: np.ndarray) -> list[int]:
        """Sample ``M`` reverse steps from leaf ``idx`` (``A`` of them anchored); return the new distinct children."""
        node = self.nodes[idx]
        last_step = node.depth + 1 >= self.options.steps
        anchor = None if last_step or not self.options.anchored_children else self._anchor(node, weights)
        n_anchored = 0 if anchor is None else self.options.anchored_children
        n_free = self.options.num_children - n_anchored
        depths = [node.depth + 1] * n_free + self._anchored_depths(node.depth, n_anchored)
        draws, logps = [], []
        start = time.perf_counter()
        with torch.no_grad(), _threads(self.options.torch_threads):
            for rows, a in ((slice(0, n_free), None), (slice(n_free, None), anchor)):
                m = len(depths[rows])
                if m == 0:
                    continue
                args = (
                    node.x.to(self.model.device).unsqueeze(0).expand(m, -1),
                    torch.full((m,), self.time_at(node.depth)),
                    torch.tensor([max(self.time_at(d), 0.0) for d in depths[rows]]),
                )
                knobs = {"temperature": self.options.temperature, "top_p": self.options.top_p, "generator": self.torch_generator}
                if a is None:
                    x_s, logp = self.model.reverse_step(*args, **knobs)
                else:
                    anchor_ids = a.to(self.model.device).unsqueeze(0).expand(m, -1)
                    x_s, logp = self.model.anchored_step(*args, anchor_ids, **knobs)  # type: ignore[attr-defined]
                draws.append(x_s.cpu())
                logps.append(logp.sum(-1).double().cpu())
        self.timing["model_s"] += time.perf_counter() - start
        x_s, logp = torch.cat(draws), torch.cat(logps)
        node.expansions += 1
        self.counts["expansions"] += 1
        masked = (x_s == self.model.mask_id).any(-1).tolist()
        rows = x_s.numpy()
        fresh: dict[bytes, int] = {}
        for i in range(len(rows)):
            key = rows[i].tobytes()
            if key not in node.child_keys and key not in fresh:
                fresh[key] = i
        keep = list(fresh.values())
        if not keep:
            return []
        xs = x_s.unbind(0)
        log_steps = logp.tolist()
        return self._add_nodes(
            idx, [xs[i] for i in keep], [log_steps[i] for i in keep], [depths[i] for i in keep], [masked[i] for i in keep], list(fresh)
        )

    def _rollout(self, idxs: list[int]) -> Tensor:
        """Finish denoising the nodes ``idxs`` (any depths) along the rest of the grid; ids `[B, L]`."""
        x = torch.stack([self.nodes[i].x for i in idxs]).to(self.model.device)
        depth = torch.tensor([self.nodes[i].depth for i in idxs])
        steps = self.options.steps
        start = time.perf_counter()
        with torch.no_grad(), _threads(self.options.torch_threads):
            while True:
                rows = (x == self.model.mask_id).any(-1).cpu() & (depth < steps)
                if not bool(rows.any()):
                    break
                d = depth[rows].double()
                x[rows.to(x.device)], _ = self.model.reverse_step(
                    x[rows.to(x.device)],
                    1.0 - d / steps,
                    (1.0 - (d + 1) / steps).clamp(min=0.0),
                    temperature=self.options.temperature,
                    top_p=self.options.top_p,
                    generator=self.torch_generator,
                )
                depth[rows] += 1
        self.timing["model_s"] += time.perf_counter() - start
        return x.cpu()

    def _record(self, child: int, canonical: np.ndarray | None) -> int | None:
        """Store the rollout ids of ``child`` with their scores `[K]`; its index, or ``None`` when not feasible."""
        row = self.rollout_of.pop(child)
        if canonical is None:
            return None
        self.rollout_ids.append(row)
        self.rollout_values.append(canonical)
        return len(self.rollout_ids) - 1

    def _backup(self, children: Sequence[int], values: Sequence[np.ndarray | None], *, pending_resolved: bool) -> None:
        """Record the rollouts of ``children`` (canonical values `[K]`, or ``None`` for invalid) and add them to every ancestor."""
        paths = []
        for child, value in zip(children, values):
            node = self.nodes[child]
            paths.append(node.path)
            rollout = self._record(child, value)
            if rollout is not None:
                for i in node.path.tolist():
                    self.nodes[i].rollouts.append(rollout)
            self.stats.exhausted[child] = node.terminal
        if paths:
            self.stats.backup(paths, values, pending_resolved=pending_resolved)

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int) -> list[Any]:
        """Up to ``n`` new admissible rollout designs; expands until it has them or the tree is exhausted.

        An expansion rolls out all of its new children; admissible designs beyond ``n`` wait in a
        queue and are returned first by the next call.
        """
        start = time.perf_counter()
        model_before = self.timing["model_s"]
        out: list[Any] = self.queue[:n]
        self.queue = self.queue[n:]
        expansions = 0
        while len(out) < n and expansions < self.options.max_expansions_per_ask:
            weights = self.rng.standard_exponential(self.k)
            weights /= weights.sum()
            leaf = self._select(weights)
            if leaf is None:
                break
            node = self.nodes[leaf]
            if node.terminal:
                self.stats.exhausted[leaf] = True
                continue
            children = self._expand(leaf, weights)
            expansions += 1
            if not children:
                if self.stats.exhausted[node.child_ids].all():
                    self.stats.exhausted[leaf] = True
                continue
            ids = self._rollout(children)
            designs = self.token_space.decode(ids)
            known: tuple[list[int], list[np.ndarray | None]] = ([], [])
            waiting: list[int] = []
            self.counts["rollouts"] += len(children)
            for child, design, row in zip(children, designs, ids.unbind(0)):
                self.rollout_of[child] = row
                try:
                    canonical_design = self.space.validate(design)
                    key = self.space.key(canonical_design)
                except InvalidDesignError:
                    self.counts["invalid_rollouts"] += 1
                    known[0].append(child)
                    known[1].append(None)
                    continue
                if key in self.scored:
                    self.counts["duplicate_rollouts"] += 1
                    known[0].append(child)
                    known[1].append(self.scored[key])
                    continue
                waiting.append(child)
                if key in self.pending:
                    self.pending[key].append(child)
                    continue
                self.pending[key] = [child]
                if len(out) < n:
                    out.append(canonical_design)
                else:
                    self.queue.append(canonical_design)
            self._backup(*known, pending_resolved=False)
            if waiting:
                self.stats.mark_pending(node.path, waiting)
        elapsed = time.perf_counter() - start
        self.timing["search_s"] += elapsed - (self.timing["model_s"] - model_before)
        return out

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        """Back up the scores of rollout designs and add the feasible ones to the Pareto archive."""
        start = time.perf_counter()
        canonical = scores.canonical().detach().cpu().double().numpy()
        feasible = scores.feasible().cpu().tolist()
        keys: list[str] = []
        rows: list[int] = []
        resolved: tuple[list[int], list[np.ndarray | None]] = ([], [])
        for i, design in enumerate(designs):
            try:
                key = self.space.key(design)
            except InvalidDesignError:
                continue
            value = canonical[i] if feasible[i] else None
            if value is not None:
                keys.append(key)
                rows.append(i)
            self.scored[key] = value
            for child in self.pending.pop(key, []):
                resolved[0].append(child)
                resolved[1].append(value)
        self._backup(*resolved, pending_resolved=True)
        if rows:
            lo = np.minimum(self.observed_lo, canonical[rows].min(0))
            hi = np.maximum(self.observed_hi, canonical[rows].max(0))
            if not (np.array_equal(lo, self.observed_lo) and np.array_equal(hi, self.observed_hi)):
                self.observed_lo, self.observed_hi, self._norm = lo, hi, None
            self.archive.add(torch.from_numpy(canonical[rows]), keys)
        self.timing["search_s"] += time.perf_counter() - start

    # ------------------------------------------------------------------ results
    def pareto_keys(self) -> list[str]:
        """Canonical keys of the archived (mutually non-dominated) designs."""
        return [str(k) for k in self.archive.keys]

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """The whole tree, the pending and scored rollouts, the archive, the normaliser and the RNGs."""
        nodes = [
            {
                "x": n.x.tolist(),
                "depth": n.depth,
                "parent": n.parent,
                "expansions": n.expansions,
                "rollouts": list(n.rollouts),
            }
            for n in self.nodes
        ]
        return {
            **super().state_dict(),
            "nodes": nodes,
            "stats": self.stats.state_dict(),
            "pending": {k: list(v) for k, v in self.pending.items()},
            "queue": [self.space.to_json(d) for d in self.queue],
            "scored": {k: None if v is None else v.tolist() for k, v in self.scored.items()},
            "observed_lo": self.observed_lo.tolist(),
            "observed_hi": self.observed_hi.tolist(),
            "rollout_of": {str(k): v.tolist() for k, v in self.rollout_of.items()},
            "rollout_ids": [r.tolist() for r in self.rollout_ids],
            "rollout_values": [v.tolist() for v in self.rollout_values],
            "archive": {**self.archive.state_dict(), "values": self.archive.values.tolist()},
            "counts": dict(self.counts),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; the result continues exactly as the saved search would have."""
        missing = {"nodes", "stats", "pending", "scored", "observed_lo", "observed_hi", "archive"} - set(state)
        if missing:
            raise GendesignError(
                f"MCTS.load_state_dict: the state lacks {sorted(missing)}; it was not written by this version of MCTS.state_dict (start a new run for this version)"
            )
        super().load_state_dict(state)
        self.stats.load_state_dict(state["stats"])
        root = state["nodes"][0]
        self.nodes = [Node(x=torch.tensor(root["x"], dtype=torch.long), depth=-1, parent=-1, path=np.array([0]))]
        for i, d in enumerate(state["nodes"][1:], start=1):
            up = self.nodes[d["parent"]]
            node = Node(
                x=torch.tensor(d["x"], dtype=torch.long),
                depth=d["depth"],
                parent=d["parent"],
                path=np.append(up.path, i),
                expansions=d["expansions"],
                rollouts=list(d["rollouts"]),
            )
            node.terminal = node.depth >= self.options.steps or not bool((node.x == self.model.mask_id).any())
            self.nodes.append(node)
            up.children.append(i)
            up.child_keys.add(node.x.numpy().tobytes())
        self.pending = {k: list(v) for k, v in state["pending"].items()}
        self.queue = [self.space.from_json(t) for t in state.get("queue", [])]
        self.scored = {k: None if v is None else np.asarray(v, dtype=np.float64) for k, v in state["scored"].items()}
        self.observed_lo = np.asarray(state["observed_lo"], dtype=np.float64)
        self.observed_hi = np.asarray(state["observed_hi"], dtype=np.float64)
        self._norm = None
        self.rollout_of = {int(k): torch.tensor(v, dtype=torch.long) for k, v in state.get("rollout_of", {}).items()}
        self.rollout_ids = [torch.tensor(r, dtype=torch.long) for r in state.get("rollout_ids", [])]
        self.rollout_values = [np.asarray(v, dtype=np.float64) for v in state.get("rollout_values", [])]
        self._value_matrix = np.zeros((0, self.k))
        self.archive.load_state_dict(state["archive"])
        self.counts.update(state.get("counts", {}))
