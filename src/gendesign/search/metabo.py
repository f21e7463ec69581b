"""Meta-Bayesian optimisation: Bayesian optimisation with a learned (meta-trained) surrogate.

``metabo`` runs the usual BO loop with any :class:`~gendesign.core.protocols.Surrogate` named by
its ``generator`` option (by default the transformer neural process shipped with gendesign,
trained on GP/HEBO priors; Müller et al. 2023, "PFNs4BO"; Maraval et al. 2023, "NAP"). A learned
surrogate predicts at a whole pool of candidates in one forward pass, with no hyperparameter
fitting, which is where its speed comes from.

One ``ask(q)``:

1. until ``initial_points`` designs are evaluated (one of them valid), designs are drawn at random
   (scrambled Sobol points on a box); invalid evaluations later enter the model with the worst
   valid value of each column;
2. observations are encoded into the unit cube (:class:`~gendesign.search.metabo_inputs.DesignInputs`)
   and outputs standardised: objective columns in the maximise view, constraint columns as
   ``sign * (value - threshold)`` so that ``c >= 0`` is feasible;
3. the distribution-shift guard (:mod:`gendesign.search.metabo_guard`) compares the surrogate's
   leave-one-out NLL with a fitted GP's and uses the GP for this step when the surrogate is worse;
4. a candidate pool is scored: Sobol points plus Gaussian perturbations of the incumbents on a
   box, draws from the space plus mutants of the incumbents elsewhere (:func:`~gendesign.search.candidate_pool.candidate_pool`). The acquisition is EI
   (exact on the model's own marginals when its posterior offers
   :class:`~gendesign.core.protocols.ImprovementPosterior`, Gaussian otherwise), UCB (one objective), Monte-Carlo hypervolume improvement with a fixed reference point (several
   objectives), each times the probability of feasibility, or the learned NAP policy's scores;
5. on a box the best ``restarts`` pool points are refined by gradient ascent on the acquisition
   (Adam in the unit cube);
6. for ``q > 1`` the chosen point is added with its predicted mean as a fantasy observation
   ("kriging believer", Ginsbourger et al. 2010) and steps 4-5 repeat, so a batch spreads out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.pareto import pareto_mask
from gendesign.core.protocols import AcquisitionPolicy, ImprovementPosterior, Surrogate, conforms, require_protocol
from gendesign.core.strategy import ProposalMemory, SearchStrategy, StrategyOptions
from gendesign.search.candidate_pool import candidate_pool
from gendesign.search.gp_surrogate import GPSurrogate
from gendesign.search.metabo_acquisition import (
    expected_improvement,
    hypercell_bounds,
    mc_hypervolume_improvement,
    probability_of_feasibility,
    upper_confidence_bound,
)
from gendesign.search.metabo_guard import check_shift
from gendesign.search.metabo_inputs import DesignInputs

logger = logging.getLogger(__name__)


def shipped_surrogate() -> GeneratorSpec:
    """``{ name = "tnp", path = <the shipped model> }``, located without importing the model's code."""
    import importlib.util

    spec = importlib.util.find_spec("gendesign.generators")
    root = Path(next(iter(spec.submodule_search_locations or [])))  # type: ignore[union-attr]
    return GeneratorSpec(name="tnp", path=str(root / "tnp" / "pretrained" / "gp_hebo_small"))


class MetaBOOptions(StrategyOptions):
    """Options of :class:`MetaBO`.

    Attributes:
        generator: the surrogate, ``{ name = "tnp", path = "..." }``: any registered generator
            offering :class:`~gendesign.core.protocols.Surrogate` (``{ name = "gp" }`` is an exact GP).
            Default: the shipped TNP.
        acquisition: ``"ei"``, ``"ucb"`` (one objective; several use hypervolume improvement) or
            ``"nap"`` (the model's learned acquisition head; it must offer
            :class:`~gendesign.core.protocols.AcquisitionPolicy`).
        beta: UCB exploration weight (``mean + sqrt(beta) * sigma``).
        initial_points: random designs before the model is used.
        pool_size: random candidates per step (Sobol points on a box, space draws elsewhere).
        local_pool: extra candidates near the incumbents (Gaussian steps of ``local_scale`` of the
            range on a box, mutations elsewhere).
        local_scale: the largest Gaussian step of local candidates on a box, as a fraction of each
            range (steps are log-uniform between a tenth of it and it).
        restarts: pool points refined by gradient ascent on a box (0 switches refinement off).
        refine_steps: Adam steps per refinement.
        refine_lr: Adam step size in unit-cube coordinates.
        mc_samples: posterior samples of the hypervolume improvement (several objectives).
        reference_point: hypervolume reference point in natural units, one value per objective
            column; default: the specs' worst bounds, else the first model step's nadir minus 10 %
            of the observed range (then fixed for the run).
        guard: compare the surrogate with a fitted GP every ``guard_every`` steps and use the GP
            when the surrogate's leave-one-out NLL is worse by more than ``guard_margin``.
        guard_max_points: held-out points per check.
        gp_fit: fit the fallback GP's hyperparameters (``false``: fixed RBF, for tests).
        horizon: the evaluation budget the NAP policy's ``t / T`` feature assumes.
        projection_dim: on non-box spaces, project the features to this many dimensions
            (learned surrogates read a bounded number of inputs; ``None`` keeps every feature).
        initial_designs: designs proposed first.
    """

    generator: GeneratorSpec = Field(default_factory=shipped_surrogate)
    acquisition: Literal["ei", "ucb", "nap"] = "ei"
    beta: float = Field(2.0, gt=0)
    initial_points: int = Field(5, ge=1)
    pool_size: int = Field(256, ge=1)
    local_pool: int = Field(64, ge=0)
    local_scale: float = Field(0.05, gt=0)
    restarts: int = Field(2, ge=0)
    refine_steps: int = Field(10, ge=1)
    refine_lr: float = Field(0.02, gt=0)
    mc_samples: int = Field(64, ge=1)
    reference_point: list[float] | None = None
    guard: bool = True
    guard_every: int = Field(4, ge=1)
    guard_margin: float = 0.0
    guard_max_points: int = Field(16, ge=2)
    gp_fit: bool = True
    horizon: int = Field(64, ge=1)
    projection_dim: int | None = Field(None, ge=1)
    initial_designs: list[Any] = Field(default_factory=list)


class MetaBO(SearchStrategy):
    """Bayesian optimisation with a learned surrogate, a GP fallback guard, pools, refinement and kriging-believer batches."""

    Options = MetaBOOptions
    options: MetaBOOptions
    generator_protocol = Surrogate

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: MetaBOOptions | None = None,
        model: Surrogate | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        if model is None:
            raise ConfigError("strategy 'metabo' got no model: build it from a config (generator = { name = \"tnp\", path = ... }) or pass model= a Surrogate")
        self.model = require_protocol(model, Surrogate, what="its model", needed_by="strategy 'metabo'")
        if self.options.acquisition == "nap":
            require_protocol(model, AcquisitionPolicy, what="its model", needed_by="strategy 'metabo' with acquisition = 'nap' (or use 'ei')")
        self.objective_cols = [k for k, s in enumerate(self.specs) if s.kind == "objective"]
        self.constraint_cols = [k for k, s in enumerate(self.specs) if s.kind == "constraint"]
        if not self.objective_cols:
            raise ConfigError("strategy 'metabo' needs at least one objective column (kind = 'objective')")
        ref = self.options.reference_point
        if ref is not None and len(ref) != len(self.objective_cols):
            raise ConfigError(f"strategy 'metabo': reference_point = {ref} has {len(ref)} values but there are {len(self.objective_cols)} objective columns")
        self.inputs = DesignInputs(space, self.options.projection_dim, seed=seed)
        self.gp = GPSurrogate(fit=self.options.gp_fit, seed=seed)
        self.memory = ProposalMemory(space, self.options.initial_designs)
        self.observed: list[tuple[str, list[float]]] = []  # (design json, raw values) of valid evaluations
        self.failed: list[str] = []  # design json of invalid evaluations
        self.ref_point: list[float] | None = self._spec_reference()
        self.step = 0
        self.guard_log: list[dict[str, Any]] = []
        self.steps_on_gp = 0
        self.on_gp = False

    # -- bookkeeping -------------------------------------------------------------------------

    def _spec_reference(self) -> list[float] | None:
        """The canonical reference point from the option or the specs' bounds (``None``: infer at the first model step)."""
        objs = [self.specs[k] for k in self.objective_cols]
        if self.options.reference_point is not None:
            return [s.sign * v for s, v in zip(objs, self.options.reference_point)]
        if len(objs) > 1 and all(s.bounds is not None for s in objs):
            return [min(s.sign * s.bounds[0], s.sign * s.bounds[1]) for s in objs]  # type: ignore[index]
        return None

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        """Record valid evaluations (finite values) as observations and invalid ones apart; no reported design is proposed again."""
        values = scores.values.detach().double()
        for i, design in enumerate(designs):
            try:
                canonical = self.space.validate(design)
            except InvalidDesignError:
                continue
            self.memory.mark(self.space.key(canonical))
            row = values[i]
            if bool(scores.valid[i]) and bool(torch.isfinite(row).all()):
                self.observed.append((self.space.to_json(canonical), row.tolist()))
            else:
                self.failed.append(self.space.to_json(canonical))

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            **self.memory.state_dict(),
            "observed": [[d, v] for d, v in self.observed],
            "failed": list(self.failed),
            "ref_point": self.ref_point,
            "step": self.step,
            "guard_log": list(self.guard_log),
            "steps_on_gp": self.steps_on_gp,
            "on_gp": self.on_gp,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.memory.load_state_dict(state)
        self.observed = [(d, list(v)) for d, v in state["observed"]]
        self.failed = list(state["failed"])
        self.ref_point = state["ref_point"]
        self.step = int(state["step"])
        self.guard_log = list(state["guard_log"])
        self.steps_on_gp = int(state["steps_on_gp"])
        self.on_gp = bool(state["on_gp"])

    def report(self) -> dict[str, Any]:
        """Guard outcomes for ``summary.json``: checks, fallbacks, the steps that used the GP and the last NLLs."""
        fallbacks = [g for g in self.guard_log if g["fallback"]]
        return {
            "metabo": {
                "model_steps": self.step,
                "steps_on_gp_fallback": self.steps_on_gp,
                "guard_checks": len(self.guard_log),
                "guard_fallbacks": len(fallbacks),
                "first_fallback_step": fallbacks[0]["step"] if fallbacks else None,
                "last_guard": self.guard_log[-1] if self.guard_log else None,
                "reference_point": self.ref_point,
            }
        }

    # -- proposing ---------------------------------------------------------------------------

    def _random(self, n: int) -> list[Any]:
        out: list[Any] = []
        tries = 20 * n
        while len(out) < n and tries > 0:
            if self.inputs.continuous:
                seed = int(self.rng.integers(2**31))
                u = torch.quasirandom.SobolEngine(self.inputs.dim, scramble=True, seed=seed).draw(n - len(out), dtype=torch.float64)
                draws = self.inputs.decode(u)
            else:
                draws = [self.space.validate(d) for d in self.space.sample(n - len(out), self.rng)]
            tries -= len(draws)
            for d in draws:
                if len(out) < n and self.memory.mark(self.space.key(d)):
                    out.append(d)
        return out

    def ask(self, n: int) -> list[Any]:
        out = self.memory.initial(n)
        if len(out) == n:
            return out
        if len(self.observed) + len(self.failed) < self.options.initial_points or not self.observed:
            return out + self._random(n - len(out))
        return out + self._model_step(n - len(out))

    def _training_data(self) -> tuple[Tensor, Tensor, int]:
        """Unit-cube inputs `[N, D]`, canonical outputs `[N, K_obj + K_con]` (constraints as ``sign * (value - threshold)``) and ``K_obj``."""
        designs = [self.space.from_json(d) for d, _ in self.observed]
        X = self.inputs.encode(designs)
        raw = torch.tensor([v for _, v in self.observed], dtype=torch.float64)
        cols = []
        for k in self.objective_cols:
            cols.append(self.specs[k].sign * raw[:, k])
        for k in self.constraint_cols:
            spec = self.specs[k]
            cols.append(spec.sign * (raw[:, k] - float(spec.threshold)))  # type: ignore[arg-type]
        Y = torch.stack(cols, -1)
        if self.failed:
            # an invalid design is believed as bad as the worst valid one in every column, so the model steers away from its region
            X = torch.cat([X, self.inputs.encode([self.space.from_json(d) for d in self.failed])])
            Y = torch.cat([Y, Y.min(0).values.expand(len(self.failed), -1)])
        return X, Y, len(self.objective_cols)

    def _choose_model(self, X: Tensor, Z: Tensor) -> Surrogate:
        """The surrogate for this step: the guard's verdict on check steps, the last verdict in between."""
        opts = self.options
        if not opts.guard or (self.step - 1) % opts.guard_every:
            return self.gp if self.on_gp else self.model
        result = check_shift(self.model, self.gp, X, Z, max_points=opts.guard_max_points, margin=opts.guard_margin, generator=self.torch_generator)
        entry = {"step": self.step, "observations": len(X), "model_nll": result.model_nll, "gp_nll": result.gp_nll, "fallback": result.fallback}
        previous = self.guard_log[-1]["fallback"] if self.guard_log else False
        self.guard_log.append(entry)
        if result.fallback and not previous:
            logger.warning(
                "metabo step %d: the surrogate's leave-one-out NLL %.3f is worse than a fitted GP's %.3f on %d observations; "
                "falling back to the GP (distribution shift)", self.step, result.model_nll, result.gp_nll, len(X)
            )
        elif previous and not result.fallback:
            logger.warning("metabo step %d: the surrogate's NLL %.3f is back within the GP's %.3f; using the surrogate again", self.step, result.model_nll, result.gp_nll)
        self.on_gp = result.fallback
        return self.gp if result.fallback else self.model

    def _standardise(self, Y: Tensor, k_obj: int) -> tuple[Tensor, Tensor]:
        """``(center, scale)`` `[K]`: objectives are centred and scaled, constraints only scaled (their boundary stays at 0)."""
        scale = Y.std(0) if len(Y) > 1 else torch.ones(Y.shape[1], dtype=Y.dtype)
        scale = torch.where(scale > 1e-12, scale, torch.ones_like(scale))
        center = Y.mean(0)
        center[k_obj:] = 0.0
        return center, scale

    def _incumbent_rows(self, Y: Tensor, k_obj: int, count: int) -> list[int]:
        """Rows of the best feasible observations: the top ``count`` of one objective, or up to ``count`` Pareto points."""
        feasible = (Y[:, k_obj:] >= 0).all(-1)
        rows = torch.nonzero(feasible).flatten() if bool(feasible.any()) else torch.arange(len(Y))
        if k_obj == 1:
            order = torch.argsort(Y[rows, 0], descending=True)
            return rows[order[:count]].tolist()
        front = rows[pareto_mask(Y[rows, :k_obj])].tolist()
        if len(front) > count:
            front = [front[i] for i in self.rng.choice(len(front), size=count, replace=False)]
        return front

    def _pool(self, Y: Tensor, k_obj: int) -> tuple[list[Any] | None, Tensor]:
        """Candidates: ``(None, unit-cube points)`` on a box, ``(designs, inputs)`` elsewhere (never-proposed designs only)."""
        opts = self.options
        best = self._incumbent_rows(Y[: len(self.observed)], k_obj, 5)
        if self.inputs.continuous:
            seed = int(self.rng.integers(2**31))
            sobol = torch.quasirandom.SobolEngine(self.inputs.dim, scramble=True, seed=seed).draw(opts.pool_size, dtype=torch.float64)
            X_obs = self.inputs.encode([self.space.from_json(self.observed[i][0]) for i in best])
            centres = X_obs[torch.arange(opts.local_pool) % len(best)]
            # step sizes log-uniform in [local_scale / 10, local_scale]: coarse and fine moves around the incumbents
            scales = opts.local_scale * 10 ** -torch.rand(opts.local_pool, 1, generator=self.torch_generator, dtype=torch.float64)
            noise = torch.randn(opts.local_pool, self.inputs.dim, generator=self.torch_generator, dtype=torch.float64) * scales
            return None, torch.cat([sobol, (centres + noise).clamp(0.0, 1.0)])
        parents = [self.space.from_json(self.observed[i][0]) for i in best]
        size = opts.pool_size + opts.local_pool
        designs = candidate_pool(self.space, parents, size=size, exclude=self.memory.keys, rng=self.rng, random_fraction=opts.pool_size / size)
        return designs, self.inputs.encode(designs) if designs else torch.empty(0, self.inputs.dim, dtype=torch.float64)

    def _acquisition(self, model: Surrogate, X: Tensor, Z: Tensor, k_obj: int, ref: Tensor | None) -> Any:
        """The acquisition ``X [M, D] -> [M]`` (higher is better) of ``model`` conditioned on ``X``, ``Z``."""
        opts = self.options
        if opts.acquisition == "nap" and model is self.model:
            fraction = min(1.0, len(self.observed) / max(opts.horizon, 1))
            return lambda cand: self.model.acquisition_scores(cand, budget_fraction=fraction)  # type: ignore[attr-defined]
        feasible = (Z[:, k_obj:] >= 0).all(-1)
        if k_obj > 1:
            front = Z[feasible, :k_obj] if bool(feasible.any()) else ref.unsqueeze(0)  # type: ignore[union-attr]
            cells = hypercell_bounds(front, ref)  # type: ignore[arg-type]
            base = torch.randn(opts.mc_samples, k_obj, generator=self.torch_generator, dtype=torch.float64)

            def hvi(cand: Tensor) -> Tensor:
                post = model.posterior(cand)
                m, v = post.mean.double(), post.variance.double()
                return mc_hypervolume_improvement(m[:, :k_obj], v[:, :k_obj], cells, base) * probability_of_feasibility(m[:, k_obj:], v[:, k_obj:])

            return hvi
        best = Z[feasible, 0].max() if bool(feasible.any()) else Z[:, 0].min()

        def single(cand: Tensor) -> Tensor:
            post = model.posterior(cand)
            m, v = post.mean.double(), post.variance.double()
            pof = probability_of_feasibility(m[:, 1:], v[:, 1:])
            if opts.acquisition == "ucb":
                return upper_confidence_bound(m[:, 0], v[:, 0], opts.beta) + torch.log(pof.clamp_min(1e-12))
            if conforms(post, ImprovementPosterior):
                return post.expected_improvement(best.to(post.mean.dtype))[:, 0].double() * pof  # type: ignore[attr-defined]
            return expected_improvement(m[:, 0], v[:, 0], best) * pof

        return single

    def _refine(self, acq: Any, starts: Tensor) -> tuple[Tensor, Tensor]:
        """Adam ascent on ``acq`` from ``starts`` `[R, D]` inside the unit cube; ``(points, values)``."""
        u = starts.clone().requires_grad_(True)
        value = acq(u)
        if not value.requires_grad:  # the surrogate is not differentiable in its inputs: keep the pool points
            return starts, value.detach()
        opt = torch.optim.Adam([u], lr=self.options.refine_lr)
        for _ in range(self.options.refine_steps):
            opt.zero_grad()
            (-acq(u).sum()).backward()
            opt.step()
            with torch.no_grad():
                u.clamp_(0.0, 1.0)
        with torch.no_grad():
            return u.detach(), acq(u).detach()

    def _model_step(self, q: int) -> list[Any]:
        self.step += 1
        X, Y, k_obj = self._training_data()
        center, scale = self._standardise(Y, k_obj)
        Z = (Y - center) / scale
        model = self._choose_model(X, Z)
        self.steps_on_gp += int(model is self.gp)
        if k_obj > 1 and self.ref_point is None:
            objs = Y[:, :k_obj]
            nadir = objs.min(0).values
            self.ref_point = (nadir - 0.1 * (objs.max(0).values - nadir).clamp_min(1e-9)).tolist()
        ref = (torch.tensor(self.ref_point, dtype=torch.float64) - center[:k_obj]) / scale[:k_obj] if k_obj > 1 else None
        designs, pool = self._pool(Y, k_obj)
        available = torch.ones(len(pool), dtype=torch.bool)
        out: list[Any] = []
        for j in range(q):
            model.condition(X, Z)
            acq = self._acquisition(model, X, Z, k_obj, ref)
            with torch.no_grad():
                scores = acq(pool).double() if len(pool) else torch.empty(0, dtype=torch.float64)
            scores = torch.where(available, scores, torch.full_like(scores, -torch.inf))
            picked = self._pick_design(acq, designs, pool, scores, available)
            if picked is None:
                break
            design, x = picked
            out.append(design)
            if j + 1 < q:
                with torch.no_grad():
                    believed = model.posterior(x.unsqueeze(0)).mean.double()
                X, Z = torch.cat([X, x.unsqueeze(0)]), torch.cat([Z, believed])
        return out

    def _pick_design(self, acq: Any, designs: list[Any] | None, pool: Tensor, scores: Tensor, available: Tensor) -> tuple[Any, Tensor] | None:
        """The best never-proposed candidate (refined on a box), marked as proposed; ``None`` when the pool is used up."""
        cand, values = pool, scores
        if designs is None and self.options.restarts and len(pool):
            top = torch.argsort(scores, descending=True)[: self.options.restarts]
            top = top[torch.isfinite(scores[top])]
            if len(top):
                refined, refined_values = self._refine(acq, pool[top])
                cand, values = torch.cat([pool, refined]), torch.cat([scores, refined_values])
        for i in torch.argsort(values, descending=True).tolist():
            if i < len(available):
                if not bool(available[i]):
                    continue
                available[i] = False
            design = designs[i] if designs is not None else self.inputs.decode(cand[i : i + 1])[0]
            if self.memory.mark(self.space.key(design)):
                return design, self.inputs.encode([design])[0]
        return None
