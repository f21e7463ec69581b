"""A genetic algorithm for discrete and continuous design spaces, with learned feasibility.

Survival is (mu + lambda): parents and offspring compete, the best ``population_size`` distinct
designs survive. "Best" is the constrained-domination order of Deb (2000) combined with NSGA-II
(Deb, Pratap, Agarwal & Meyarivan 2002):

1. valid designs that satisfy every constraint column, ordered by the objective columns: for
   ``K = 1`` by the canonical (maximised) value, for ``K > 1`` by non-domination rank, then by
   crowding distance (larger first);
2. valid designs that violate a constraint, by total violation
   ``sum_c max(0, -sign_c (y_c - threshold_c))`` (smaller first);
3. invalid designs (the objective failed or the design is infeasible). They are kept only while
   no valid design exists; the first valid design culls them, so infeasible offspring can never
   flood the population.

Ties go to the younger design, so the population drifts across fitness plateaus (neutral moves
are accepted), which matters on plateau-rich landscapes such as Ehrlich functions.

Parents are chosen by tournament on that order (size ``tournament_size``; NSGA-II's binary
crowded tournament for ``K > 1``, an elitist tournament for ``K = 1``). A child is a crossover of
two parents with probability ``crossover_rate`` and otherwise a copy of one; it then receives
``1 + Poisson(mean_mutations - 1)`` applications of the space's ``mutate_many`` (always without
crossover, with probability ``mutation_after_crossover`` after it).

On sequence spaces a :class:`~gendesign.search.feasibility.PairFeasibilityModel` learns which
adjacent token pairs break feasibility from every reported result; a proposal is accepted with its
Thompson-sampled probability of being feasible and otherwise redrawn (up to ``proposal_tries``
times), so edits with a high estimated failure rate are rarely spent on the oracle. Proposals whose
canonical key was already proposed or reported are never made again. Pairs that are probably
forbidden are repaired by redrawing one of their two tokens among tokens likely to fit both
neighbours, which gives the two-site moves needed to cross feasibility gaps.

For ``K = 1`` on a fixed-length sequence space the search works on the best *plateau*: parents are
the members sharing the best value, and substitutions come from a
:class:`~gendesign.search.plateau.SiteNovelty` that prefers substitutions not yet tried on that
plateau (sampling nearly without replacement instead of waiting geometrically for the few improving
moves). While no valid design exists, new designs are walks on the feasibility model with many
repeats (few distinct pairs: often feasible, and sharp blame when not).

For ``K = 1`` a stagnating search (no strict improvement for ``restart_patience`` reported designs,
or an exhausted plateau) restarts, keeping the seen set and the feasibility model: from fresh walks
on pairs proven feasible when there is a feasibility model, from its founders otherwise.

References:
    K. Deb. "An efficient constraint handling method for genetic algorithms." Computer Methods in
    Applied Mechanics and Engineering 186, 2000.

    K. Deb, A. Pratap, S. Agarwal, T. Meyarivan. "A fast and elitist multiobjective genetic
    algorithm: NSGA-II." IEEE Trans. Evol. Comput. 6(2), 2002.

    W. R. Thompson. "On the likelihood that one unknown probability exceeds another in view of the
    evidence of two samples." Biometrika 25, 1933.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.pareto import nsga2_rank
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import ProposalMemory, SearchStrategy, StrategyOptions
from gendesign.search.feasibility import PairFeasibilityModel
from gendesign.search.plateau import SiteNovelty


class EvolutionOptions(StrategyOptions):
    """Options of :class:`Evolution`.

    Attributes:
        population_size: survivors kept after each ``tell`` (``mu``).
        tournament_size: contestants per parent selection; 1 is uniform parent choice.
        crossover_rate: probability that a child comes from crossover of two parents.
        mean_mutations: mean number of mutations per child, ``1 + Poisson(mean_mutations - 1)``.
        mutation_after_crossover: probability that a crossover child is also mutated.
        initial_designs: designs proposed first (e.g. a known feasible start).
        initial_samples: random designs drawn from the space before breeding starts; default is
            ``population_size`` without initial designs (these or the space's, e.g. a seed file) and 0
            with them (breed from the seeds).
        learn_feasibility: on sequence spaces, learn which adjacent token pairs break feasibility
            and steer proposals away from them.
        feasibility_prior: ``(alpha, beta)`` Beta prior on a pair's failure probability.
        proposal_tries: redraws per child when the feasibility model rejects a proposal.
        repair_threshold: on sequence spaces with a feasibility model, a child pair never seen in a
            valid design whose posterior failure mean exceeds this is repaired: one of its two
            tokens (chosen at random) is redrawn among tokens likely to fit both neighbours.
            1.0 disables repair.
        restart_patience: single-objective runs only: after this many reported designs without a
            strict improvement of the best value, the population is reset to the founders: the
            feasible members of the population at the moment breeding began or, when there were
            none (a random start on a tightly constrained space), the first ``population_size``
            feasible designs reported afterwards. The seen set and the feasibility model are
            kept, so the restarted search neither repeats designs nor relearns constraints. This
            escapes deep local optima such as interleaved motifs on Ehrlich functions. ``"auto"``
            uses ``ceil(1.5 L (V - 1))`` on a sequence space (1.5 times the number of single-site
            substitutions, so a search that is still finding improving point mutations is not cut
            short) and 1500 elsewhere; ``None`` disables restarts.
        site_novelty: single-objective runs on a fixed-length sequence space: mutate by single-site
            substitutions drawn from :class:`~gendesign.search.plateau.SiteNovelty`, which prefers
            substitutions not yet tried on the current best plateau, and restart as soon as every
            substitution of the best design was tried without improvement (a local optimum),
            without waiting for ``restart_patience``.
        novelty_decay: weight factor per failed try of a substitution (smaller: closer to sampling
            without replacement).
        walk_repeat: with a feasibility model and no valid design in the population
            (an infeasible cold start), new designs are walks on the learned pair plausibility
            that repeat the current token with this probability
            (:meth:`~gendesign.search.feasibility.PairFeasibilityModel.sample_walks`): few distinct
            pairs, so they are often feasible and their failures teach the model precisely.
        restart_sharpness: with a feasibility model, a restart replaces the population by
            ``population_size`` fresh walks with ``ok ** restart_sharpness`` transition weights
            (mostly pairs proven feasible), a new independent start, instead of the founders.
        max_tries: extra redraws per child to find a design not proposed before.
    """

    population_size: int = Field(default=64, ge=2, le=10_000_000)
    tournament_size: int = Field(default=2, ge=1)
    crossover_rate: float = Field(default=0.5, ge=0.0, le=1.0)
    mean_mutations: float = Field(default=1.5, ge=1.0)
    mutation_after_crossover: float = Field(default=0.5, ge=0.0, le=1.0)
    initial_designs: list[Any] = Field(default_factory=list)
    initial_samples: int | None = Field(default=None, ge=0, le=10_000_000)
    learn_feasibility: bool = True
    feasibility_prior: tuple[float, float] = (0.25, 0.75)
    proposal_tries: int = Field(default=8, ge=1)
    repair_threshold: float = Field(default=0.5, gt=0.0, le=1.0)
    restart_patience: int | Literal["auto"] | None = "auto"
    site_novelty: bool = True
    novelty_decay: float = Field(default=0.05, gt=0.0, lt=1.0)
    walk_repeat: float = Field(default=0.85, ge=0.0, le=1.0)
    restart_sharpness: float = Field(default=16.0, ge=0.0)
    max_tries: int = Field(default=20, ge=1)


@dataclass
class _Member:
    design: Any
    key: str
    values: list[float]
    valid: bool
    birth: int


class Evolution(SearchStrategy):
    """Elitist GA (``K = 1``) / NSGA-II (``K > 1``) with constrained domination and learned feasibility.

    See the module docstring for the algorithm. Options are :class:`EvolutionOptions`.
    """

    Options = EvolutionOptions
    options: EvolutionOptions

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: StrategyOptions | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        opts = self.options
        self.objective_columns = [k for k, s in enumerate(self.specs) if s.kind == "objective"]
        self.constraint_columns = [k for k, s in enumerate(self.specs) if s.kind == "constraint"]
        self.memory = ProposalMemory(space, opts.initial_designs)
        self.initial_samples = (
            opts.initial_samples if opts.initial_samples is not None else (0 if self.memory.queue else opts.population_size)
        )
        self.initial_drawn = 0
        self.births = 0
        self.population: list[_Member] = []
        self.feasibility: PairFeasibilityModel | None = None
        if opts.learn_feasibility and isinstance(space, SequenceSpace):
            self.feasibility = PairFeasibilityModel(space.vocab_size, opts.feasibility_prior)
        self.proposals_rejected = 0
        self.restart_patience = self._patience()
        self.founders: list[_Member] = []
        self.collect_founders = False
        self.breeding_started = False
        self.best_value = -math.inf
        self.stagnation = 0
        self.restarts = 0
        self.walks_pending = 0
        self.novelty: SiteNovelty | None = None
        if opts.site_novelty and len(self.objective_columns) == 1 and isinstance(space, SequenceSpace) and space.fixed_length:
            self.novelty = SiteNovelty(space.max_length, space.vocab_size, opts.novelty_decay)

    def _patience(self) -> int | None:
        value = self.options.restart_patience
        if value != "auto":
            if value is not None and value < 1:
                raise ConfigError(f"restart_patience={value} must be >= 1, 'auto' or None")
            return value
        if isinstance(self.space, SequenceSpace):
            return math.ceil(1.5 * self.space.max_length * (self.space.vocab_size - 1))
        return 1500

    def ask(self, n: int) -> list[Any]:
        """Initial designs first, then initial random samples, then bred children; never a design seen before."""
        out = self.memory.initial(n)
        if len(out) < n and self.initial_drawn < self.initial_samples:
            drawn = self._sample(min(n - len(out), self.initial_samples - self.initial_drawn))
            self.initial_drawn += len(drawn)
            out.extend(drawn)
        if len(out) < n and self.walks_pending > 0:
            drawn = self._walks(min(n - len(out), self.walks_pending), repeat=0.0, sharpness=self.options.restart_sharpness)
            self.walks_pending -= len(drawn)
            out.extend(drawn)
        if len(out) < n and self.feasibility is not None and self.population and not any(m.valid for m in self.population):
            out.extend(self._walks(n - len(out), repeat=self.options.walk_repeat, sharpness=1.0))
        if len(out) < n and self.population:
            if not self.breeding_started:
                self.breeding_started = True
                self.founders = [m for m in self.population if m.valid and self._violation(m) == 0.0]
                self.collect_founders = not self.founders
            out.extend(self._breed(n - len(out)))
        if len(out) < n and not self.population and not out:
            out.extend(self._sample(n - len(out)))
        return out

    def _sample(self, n: int) -> list[Any]:
        out: list[Any] = []
        budget = n * self.options.max_tries
        while len(out) < n and budget > 0:
            draws = self.space.sample(min(budget, n - len(out)), self.rng)
            budget -= len(draws)
            for design in draws:
                if len(out) < n and self.memory.mark(self.space.key(design)):
                    out.append(self.space.validate(design))
        return out

    def _walks(self, n: int, *, repeat: float, sharpness: float) -> list[Any]:
        """Up to ``n`` unseen walks from the feasibility model (random samples when there is none)."""
        space = self.space
        if self.feasibility is None or not isinstance(space, SequenceSpace):
            return self._sample(n)
        out: list[Any] = []
        for _ in range(self.options.max_tries):
            if len(out) >= n:
                break
            lengths = self.rng.integers(space.min_length, space.max_length + 1, size=n - len(out))
            for m in lengths.tolist():
                ids = self.feasibility.sample_walks(1, int(m), self.rng, repeat=repeat, sharpness=sharpness)[0]
                design = space.validate(ids.tolist())
                if self.memory.mark(space.key(design)):
                    out.append(design)
        return out

    def _tournament(self) -> _Member:
        size = self._plateau_size() if self.novelty is not None else len(self.population)
        picks = self.rng.integers(0, size, size=self.options.tournament_size)
        return self.population[int(picks.min())]

    def _plateau_size(self) -> int:
        """How many leading population members share the best value (the whole population when none is feasible)."""
        top = self._canonical(self.population[0])
        if top == -math.inf:
            return len(self.population)
        size = 1
        while size < len(self.population) and self._canonical(self.population[size]) == top:
            size += 1
        return size

    def _offspring(self, count: int) -> tuple[list[Any], list[_Member]]:
        """``count`` raw children (crossover or copy, then mutations) and, per child, its first parent."""
        opts = self.options
        children: list[Any] = []
        parents: list[_Member] = []
        mutations: list[int] = []
        for _ in range(count):
            p1 = self._tournament()
            crossed = len(self.population) > 1 and self.rng.random() < opts.crossover_rate
            child = self.space.crossover(p1.design, self._tournament().design, self.rng) if crossed else p1.design
            m = 1 + int(self.rng.poisson(opts.mean_mutations - 1.0))
            if crossed and self.novelty is None and self.rng.random() >= opts.mutation_after_crossover:
                m = 0
            children.append(child)
            parents.append(p1)
            mutations.append(m)
        if self.novelty is not None:
            children = [self._substitute(c, m) for c, m in zip(children, mutations, strict=True)]
        else:
            remaining = np.asarray(mutations)
            while (remaining > 0).any():
                idx = np.nonzero(remaining > 0)[0].tolist()
                mutated = self.space.mutate_many([children[i] for i in idx], self.rng)
                for i, c in zip(idx, mutated, strict=True):
                    children[i] = c
                remaining = remaining - 1
        if self.feasibility is not None and opts.repair_threshold < 1.0:
            ok = self.feasibility.ok_matrix()
            children = [self._repair(c, ok) for c in children]
        return children, parents

    def _substitute(self, design: Any, count: int) -> Any:
        """``count`` single-site substitutions drawn by :class:`SiteNovelty` (untried on this plateau first)."""
        if count == 0:
            return design
        assert self.novelty is not None
        ids = self.space.ids(design)  # type: ignore[attr-defined]
        for _ in range(count):
            pos, token = self.novelty.propose(ids, self.rng)
            ids[pos] = token
        return self.space.validate(ids)

    def _repair(self, design: Any, ok: np.ndarray) -> Any:
        """Redraw one token of every pair that is probably forbidden (two-site moves across feasibility gaps).

        For a suspect pair at positions ``(t - 1, t)`` (``1 - ok[a, b] > repair_threshold``) one side
        ``u`` is picked uniformly and its token redrawn with probability proportional to
        ``ok[x_{u-1}, b] ok[b, x_{u+1}]``, where ``ok`` `[V, V]` is
        :meth:`PairFeasibilityModel.ok_matrix` (1 for proven pairs, ``1 - E[theta]`` otherwise).
        """
        space: SequenceSpace = self.space  # type: ignore[assignment]
        ids = space.ids(design)
        v = ok.shape[0]
        changed = False
        for t in range(1, len(ids)):
            if 1.0 - ok[ids[t - 1], ids[t]] <= self.options.repair_threshold:
                continue
            u = t - 1 if self.rng.random() < 0.5 else t
            weight = np.ones(v)
            if u > 0:
                weight = weight * ok[ids[u - 1], :]
            if u + 1 < len(ids):
                weight = weight * ok[:, ids[u + 1]]
            weight[ids[u]] = 0.0
            if weight.sum() <= 0:
                continue
            ids[u] = int(self.rng.choice(v, p=weight / weight.sum()))
            changed = True
        return space.validate(ids) if changed else design

    def _breed(self, n: int) -> list[Any]:
        """Up to ``n`` unseen children; with a feasibility model each slot keeps a Thompson sample of ``theta``."""
        opts = self.options
        model = self.feasibility
        thetas = [model.sample_failure(self.rng) for _ in range(n)] if model is not None else []
        chosen: list[tuple[Any, str, _Member | None] | None] = [None] * n
        fallback: list[tuple[float, Any, str, _Member | None] | None] = [None] * n
        taken: set[str] = set()
        open_slots = list(range(n))
        for attempt in range(opts.proposal_tries + opts.max_tries):
            if not open_slots:
                break
            judging = model is not None and attempt < opts.proposal_tries
            children, parents = self._offspring(len(open_slots))
            for slot, child, parent in zip(open_slots, children, parents, strict=True):
                design = self.space.validate(child)
                key = self.space.key(design)
                if key in self.memory or key in taken:
                    continue
                if not judging:
                    chosen[slot] = (design, key, parent)
                    taken.add(key)
                    continue
                assert model is not None
                log_p = model.log_accept(self.space.ids(design), thetas[slot])  # type: ignore[attr-defined]
                if math.log(max(self.rng.random(), 1e-300)) < log_p:
                    chosen[slot] = (design, key, parent)
                    taken.add(key)
                else:
                    self.proposals_rejected += 1
                    best = fallback[slot]
                    if best is None or log_p > best[0]:
                        fallback[slot] = (log_p, design, key, parent)
            if model is not None and attempt == opts.proposal_tries - 1:
                for slot in open_slots:
                    best = fallback[slot]
                    if chosen[slot] is None and best is not None and best[2] not in taken:
                        chosen[slot] = (best[1], best[2], best[3])
                        taken.add(best[2])
            open_slots = [s for s in open_slots if chosen[s] is None]
        out = []
        for item in chosen:
            if item is not None:
                design, key, parent = item
                self.memory.mark(key)
                out.append(design)
                if self.novelty is not None and parent is not None and self._canonical(parent) == self.best_value > -math.inf:
                    # Counted when proposed, so the rest of the batch avoids it; an improvement clears all counts anyway.
                    self.novelty.record(self.space.ids(parent.design), self.space.ids(design))  # type: ignore[attr-defined]
        return out

    def _canonical(self, member: _Member) -> float:
        """The single objective of ``member`` in the maximised view (``-inf`` when it is invalid or violates a constraint)."""
        if not member.valid or self._violation(member) > 0.0:
            return -math.inf
        col = self.objective_columns[0]
        return float(member.values[col]) * self.specs[col].sign

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        """Add the reported designs to the population and run survival; designs outside the space are ignored."""
        values = scores.values.detach().to("cpu", torch.float64)
        valid = scores.valid.detach().cpu()
        present = {m.key for m in self.population}
        for i, raw in enumerate(designs):
            try:
                design = self.space.validate(raw)
            except InvalidDesignError:
                continue
            key = self.space.key(design)
            self.memory.mark(key)
            ok = bool(valid[i])
            if self.feasibility is not None:
                self.feasibility.observe(self.space.ids(design), ok)  # type: ignore[attr-defined]
            if key in present:
                continue
            present.add(key)
            member = _Member(design, key, values[i].tolist(), ok, self.births)
            self.population.append(member)
            self.births += 1
            if (
                self.collect_founders
                and ok
                and len(self.founders) < self.options.population_size
                and self._violation(member) == 0.0
            ):
                self.founders.append(member)
        level = self.best_value
        if self._track_stagnation(values, valid):
            return
        self._survive()
        if self.novelty is None or len(self.objective_columns) != 1:
            return
        if self.best_value > level:
            self.novelty.reset()
            return
        elite = self.population[0] if self.population else None
        if elite is not None and self._canonical(elite) == level > -math.inf and self.novelty.exhausted(self.space.ids(elite.design)):  # type: ignore[attr-defined]
            self._restart()

    def _track_stagnation(self, values: torch.Tensor, valid: torch.Tensor) -> bool:
        """Update the best value and the stagnation count; restart (and return True) when patience runs out."""
        if len(self.objective_columns) != 1:
            return False
        col = self.objective_columns[0]
        candidates = [
            float(values[i, col]) * self.specs[col].sign
            for i in range(values.shape[0])
            if bool(valid[i]) and self._violation_of(values[i].tolist()) == 0.0
        ]
        top = max(candidates, default=-math.inf)
        if top > self.best_value:
            self.best_value = top
            self.stagnation = 0
            return False
        patience = self.restart_patience
        if patience is None or self.best_value == -math.inf:
            return False
        self.stagnation += int(values.shape[0])
        if self.stagnation >= patience:
            self._restart()
            return True
        return False

    def _restart(self) -> None:
        """Start over, keeping the seen set and the feasibility model.

        With a feasibility model the new population comes from ``population_size`` fresh walks on
        mostly proven pairs (an independent start); otherwise it is the founders.
        """
        if self.feasibility is not None and isinstance(self.space, SequenceSpace):
            self.population = []
            self.walks_pending = self.options.population_size
        else:
            self.population = list(self.founders)
        if self.novelty is not None:
            self.novelty.reset()
        self.best_value = -math.inf
        self.stagnation = 0
        self.restarts += 1

    def _violation(self, member: _Member) -> float:
        return self._violation_of(member.values)

    def _violation_of(self, values: list[float]) -> float:
        """Total constraint violation ``sum_c max(0, -sign_c (y_c - threshold_c))`` of one row."""
        total = 0.0
        for k in self.constraint_columns:
            spec = self.specs[k]
            total += max(0.0, -spec.sign * (values[k] - float(spec.threshold)))  # type: ignore[arg-type]
        return total

    def _order(self, members: list[_Member]) -> list[int]:
        """Indices of ``members`` best first (constrained domination, NSGA-II keys, younger on ties)."""
        keys: list[tuple[float, float, float, float]] = [(0.0, 0.0, 0.0, 0.0)] * len(members)
        feasible: list[int] = []
        model = self.feasibility
        mean_fail = model.mean_failure() if model is not None else None
        for i, m in enumerate(members):
            if not m.valid:
                # Invalid designs rank by their estimated -log P(feasible) under the posterior mean.
                penalty = 0.0 if model is None else -model.log_accept(self.space.ids(m.design), mean_fail)  # type: ignore[attr-defined, arg-type]
                keys[i] = (2.0, penalty, 0.0, -m.birth)
                continue
            violation = self._violation(m)
            if violation > 0:
                keys[i] = (1.0, violation, 0.0, -m.birth)
            else:
                feasible.append(i)
        if feasible:
            cols = self.objective_columns
            canon = torch.tensor(
                [[members[i].values[k] * self.specs[k].sign for k in cols] for i in feasible], dtype=torch.float64
            ).reshape(len(feasible), len(cols))
            if len(cols) == 0:
                primary, secondary = torch.zeros(len(feasible)), torch.zeros(len(feasible))
            elif len(cols) == 1:
                primary, secondary = -canon[:, 0], torch.zeros(len(feasible))
            else:
                rank, crowd = nsga2_rank(canon)
                primary, secondary = rank.to(torch.float64), -crowd
            for j, i in enumerate(feasible):
                keys[i] = (0.0, float(primary[j]), float(secondary[j]), -members[i].birth)
        return sorted(range(len(members)), key=lambda i: keys[i])

    def _survive(self) -> None:
        if any(m.valid for m in self.population):
            self.population = [m for m in self.population if m.valid]
        order = self._order(self.population)[: self.options.population_size]
        self.population = [self.population[i] for i in order]

    def best(self) -> list[Any]:
        """Current population in survival order, best first."""
        return [m.design for m in self.population]

    def _members_state(self, members: list[_Member]) -> dict[str, Any]:
        return {
            "designs": [self.space.to_json(m.design) for m in members],
            "values": torch.tensor([m.values for m in members], dtype=torch.float64).reshape(len(members), len(self.specs)),
            "valid": torch.tensor([m.valid for m in members], dtype=torch.bool),
            "birth": torch.tensor([m.birth for m in members], dtype=torch.long),
        }

    def _members_from_state(self, state: dict[str, Any]) -> list[_Member]:
        out = []
        rows = zip(state["designs"], state["values"].tolist(), state["valid"].tolist(), state["birth"].tolist(), strict=True)
        for text, vals, ok, birth in rows:
            design = self.space.from_json(text)
            out.append(_Member(design, self.space.key(design), [float(v) for v in vals], bool(ok), int(birth)))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            **self.memory.state_dict(),
            "initial_samples": self.initial_samples,
            "initial_drawn": self.initial_drawn,
            "births": self.births,
            "proposals_rejected": self.proposals_rejected,
            "population": self._members_state(self.population),
            "feasibility": self.feasibility.state_dict() if self.feasibility is not None else None,
            "founders": self._members_state(self.founders),
            "collect_founders": self.collect_founders,
            "breeding_started": self.breeding_started,
            "best_value": self.best_value,
            "stagnation": self.stagnation,
            "restarts": self.restarts,
            "walks_pending": self.walks_pending,
            "novelty": self.novelty.state_dict() if self.novelty is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.memory.load_state_dict(state)
        self.initial_samples = int(state["initial_samples"])
        self.initial_drawn = int(state["initial_drawn"])
        self.births = int(state["births"])
        self.proposals_rejected = int(state["proposals_rejected"])
        self.population = self._members_from_state(state["population"])
        self.founders = self._members_from_state(state["founders"])
        self.collect_founders = bool(state["collect_founders"])
        self.breeding_started = bool(state["breeding_started"])
        self.best_value = float(state["best_value"])
        self.stagnation = int(state["stagnation"])
        self.restarts = int(state["restarts"])
        self.walks_pending = int(state.get("walks_pending", 0))
        if self.novelty is not None and state.get("novelty") is not None:
            self.novelty.load_state_dict(state["novelty"])
        if self.feasibility is not None and state.get("feasibility") is not None:
            self.feasibility.load_state_dict(state["feasibility"])
