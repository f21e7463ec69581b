"""Bayesian optimisation on BoTorch: GP + qLogNEI / qLogNEHVI, on boxes and on discrete spaces.

Each ``ask(n)`` after the initial design fits a :func:`~gendesign.search.bo_model.fit_gp` surrogate
to every valid observation and maximises an acquisition function
(:func:`~gendesign.search.bo_acquisition.build_acquisition`) for a batch of ``q = n`` designs:

* one objective column: ``qLogNoisyExpectedImprovement``;
* several: ``qLogNoisyExpectedHypervolumeImprovement`` above a fixed reference point (the
  ``ref_point`` option, else :func:`gendesign.core.pareto.reference_point`: the specs' worst bounds,
  or BoTorch's rule on the observed front when a column has no bounds);
* constraint columns (``ObjectiveSpec(kind="constraint", threshold=...)``) become outcome
  constraints: the model predicts each margin ``sign (y - threshold)`` and the acquisition weighs
  a design by its probability of feasibility.

All columns are taken in the maximised view (``sign * value``), so ``direction="min"`` needs no
option. Where the acquisition is maximised depends on the space:

* a box (:class:`~gendesign.core.protocols.ContinuousSpace`): ``optimize_acqf``, multi-start
  L-BFGS-B from the best of ``raw_samples`` random batches; inputs are normalised to the unit cube;
* any other space: ``optimize_acqf_discrete`` over a
  :func:`~gendesign.search.candidate_pool.candidate_pool` of mutants of the best designs, random
  draws and, with a ``generator``, samples of a :class:`~gendesign.core.protocols.SequenceSampler`,
  read through a :class:`~gendesign.core.protocols.FeatureEncoder`
  (:func:`~gendesign.search.features.feature_encoder_for`: one-hot with a Hamming kernel for
  sequences, Morgan fingerprints with a Tanimoto kernel for molecules).

Designs asked but not yet told are *pending*: they join the acquisition as ``X_pending``, so an
asynchronous caller (or a lab that measures batches late) can ask again before telling and gets
designs that complement those in flight. The initial design is a scrambled Sobol sequence in a box
and random draws elsewhere.

The surrogate and the acquisition run on CPU in float64 (BoTorch's recommended precision; at BO
history sizes a GPU does not pay for itself), whatever ``device`` is.

Resuming is exact: the state holds the observations, the pending designs and the random
generators; every step runs under a seed drawn from the strategy's generator, with the global
torch generator forked, so a restored strategy refits the same model and asks the same designs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor
from torch.quasirandom import SobolEngine

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.generator import GeneratorSpec
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.core.pareto import nsga2_rank, reference_point
from gendesign.core.protocols import ContinuousSpace, FeatureEncoder, SequenceSampler, conforms, require_protocol
from gendesign.core.strategy import ProposalMemory, SearchStrategy, StrategyOptions
from gendesign.search.candidate_pool import candidate_pool
from gendesign.search.features import feature_encoder_for

_SEED_RANGE = 2**31 - 1


class BayesianOptimizationOptions(StrategyOptions):
    """Options of :class:`BayesianOptimization`.

    Attributes:
        initial_samples: designs proposed before the first model (Sobol points in a box, random
            draws elsewhere); ``None`` means ``2 (d + 1)`` in a ``d``-dimensional box and 10 elsewhere.
            ``initial_designs`` and designs told without being asked (earlier data) count towards it.
        initial_designs: designs proposed first, in order.
        mc_samples: quasi-Monte-Carlo posterior samples of the acquisition function.
        num_restarts: box only: L-BFGS-B restarts of ``optimize_acqf``.
        raw_samples: box only: random batches scored to pick the restarts' starting points.
        max_iter: box only: L-BFGS-B iterations per restart.
        kernel: ``"auto"`` (the box's or the feature encoder's choice), or one of
            :data:`gendesign.search.bo_model.KERNELS` (``"default"``, ``"hamming"``, ``"tanimoto"``).
        ref_point: several objectives: the hypervolume reference point in natural units, one value
            per objective column (constraint columns excluded); default
            :func:`gendesign.core.pareto.reference_point`.
        pool_size: discrete spaces: candidates scored per ask.
        pool_parents: discrete spaces: best observed designs whose mutants fill the pool.
        random_fraction: discrete spaces: share of the pool drawn at random from the space.
        generator: discrete spaces: a :class:`~gendesign.core.protocols.SequenceSampler`
            (``{ name = "mdlm", path = "models/x" }``) whose samples join the pool.
        generator_fraction: share of the pool drawn from ``generator``.
        sampling: keyword options of the generator's ``sample_designs``.
    """

    initial_samples: int | None = Field(default=None, ge=1)
    initial_designs: list[Any] = Field(default_factory=list)
    mc_samples: int = Field(default=128, ge=8, le=4096)
    num_restarts: int = Field(default=8, ge=1)
    raw_samples: int = Field(default=256, ge=1)
    max_iter: int = Field(default=200, ge=1)
    kernel: Literal["auto", "default", "hamming", "tanimoto"] = "auto"
    ref_point: list[float] | None = None
    pool_size: int = Field(default=512, ge=1, le=1_000_000)
    pool_parents: int = Field(default=16, ge=1)
    random_fraction: float = Field(default=0.25, ge=0.0, le=1.0)
    generator: GeneratorSpec | None = None
    generator_fraction: float = Field(default=0.5, ge=0.0, le=1.0)
    sampling: dict[str, Any] = Field(default_factory=dict)


class BayesianOptimization(SearchStrategy):
    """GP-based Bayesian optimisation (BoTorch) with qLogNEI / qLogNEHVI, outcome constraints and pending designs.

    See the module docstring. Options are :class:`BayesianOptimizationOptions`.

    Args:
        model: the pool's generator (built by the parts builder from ``options.generator``).
        encoder: a :class:`~gendesign.core.protocols.FeatureEncoder` for a discrete space
            (default :func:`~gendesign.search.features.feature_encoder_for`).

    Attributes:
        last_step_seconds: seconds of the latest model step: wall time ``fit`` and ``acquisition``,
            and the process's CPU time ``fit_cpu`` and ``acquisition_cpu`` (equal to wall time on
            an idle machine with one thread, and unaffected by other processes).
    """

    Options = BayesianOptimizationOptions
    options: BayesianOptimizationOptions
    generator_protocol = SequenceSampler
    generator_optional = True

    def __init__(
        self,
        space: DesignSpace,
        specs: Sequence[ObjectiveSpec],
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        options: StrategyOptions | None = None,
        model: SequenceSampler | None = None,
        encoder: FeatureEncoder | None = None,
    ) -> None:
        super().__init__(space, specs, seed=seed, device=device, options=options)
        opts = self.options
        self.objective_columns = [k for k, s in enumerate(self.specs) if s.kind == "objective"]
        self.constraint_columns = [k for k, s in enumerate(self.specs) if s.kind == "constraint"]
        if not self.objective_columns:
            raise ConfigError("strategy 'bo' needs at least one objective column (kind='objective'); every column is a constraint")
        if opts.ref_point is not None and len(opts.ref_point) != len(self.objective_columns):
            raise ConfigError(
                f"strategy 'bo': ref_point={opts.ref_point} has {len(opts.ref_point)} values; give one per objective column "
                f"({[self.specs[k].name for k in self.objective_columns]})"
            )
        self.continuous = conforms(space, ContinuousSpace)
        self.encoder: FeatureEncoder | None = None
        self.bounds: Tensor | None = None
        if self.continuous:
            if model is not None or opts.generator is not None:
                raise ConfigError(f"strategy 'bo' on the box space {type(space).__name__} optimises the acquisition by gradient; remove the generator option")
            self.bounds = torch.tensor(np.stack([space.low, space.high]), dtype=torch.float64)  # type: ignore[attr-defined]
            self.kernel = "default" if opts.kernel == "auto" else opts.kernel
        else:
            self.encoder = encoder if encoder is not None else feature_encoder_for(space)
            require_protocol(self.encoder, FeatureEncoder, what="its feature encoder", needed_by="strategy 'bo'")
            self.kernel = self.encoder.kernel if opts.kernel == "auto" else opts.kernel
        self.sampler = None if model is None else require_protocol(model, SequenceSampler, what="its generator", needed_by="strategy 'bo'")
        dim = space.dim if self.continuous else 0  # type: ignore[attr-defined]
        self.initial_samples = opts.initial_samples if opts.initial_samples is not None else (2 * (dim + 1) if self.continuous else 10)
        self.memory = ProposalMemory(space, opts.initial_designs)
        self.sobol_drawn = 0
        self.observed: set[str] = set()
        self.obs_designs: list[Any] = []
        self.obs_values: list[list[float]] = []
        self.obs_valid: list[bool] = []
        self.pending: dict[str, Any] = {}
        self._features: dict[str, Tensor] = {}
        self.last_step_seconds: dict[str, float] = {}

    # -- observations -----------------------------------------------------------------------

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        """Record results; a design told again (a cached duplicate) and designs outside the space are ignored."""
        values = scores.values.detach().to("cpu", torch.float64)
        valid = scores.valid.to("cpu", torch.bool)
        for i, design in enumerate(designs):
            try:
                canonical = self.space.validate(design)
                key = self.space.key(canonical)
            except InvalidDesignError:
                continue
            self.pending.pop(key, None)
            self.memory.mark(key)
            if key in self.observed:
                continue
            self.observed.add(key)
            self.obs_designs.append(canonical)
            self.obs_values.append(values[i].tolist())
            self.obs_valid.append(bool(valid[i]))

    def _inputs(self, designs: Sequence[Any]) -> Tensor:
        """`[B, D]` float64 model inputs of canonical designs."""
        if self.continuous:
            return self.space.to_tensor(designs, dtype=torch.float64)  # type: ignore[attr-defined]
        assert self.encoder is not None
        keys = [self.space.key(d) for d in designs]
        todo = [(k, d) for k, d in zip(keys, designs, strict=True) if k not in self._features]
        if todo:
            rows = self.encoder.features([d for _, d in todo]).to(torch.float64)
            for (k, _), row in zip(todo, rows, strict=True):
                self._features[k] = row
        if not keys:
            return torch.zeros(0, self.encoder.dim, dtype=torch.float64)
        return torch.stack([self._features[k] for k in keys])

    def _training_data(self) -> tuple[list[Any], Tensor] | None:
        """Designs and `[N, K + C]` outputs ``[sign y_k, sign_c (y_c - threshold_c)]`` of the usable observations."""
        if not self.obs_designs:
            return None
        values = torch.tensor(self.obs_values, dtype=torch.float64)
        cols = []
        for k in self.objective_columns:
            cols.append(self.specs[k].sign * values[:, k])
        for k in self.constraint_columns:
            spec = self.specs[k]
            cols.append(spec.sign * (values[:, k] - float(spec.threshold)))  # type: ignore[arg-type]
        Y = torch.stack(cols, dim=-1)
        usable = torch.tensor(self.obs_valid) & torch.isfinite(Y).all(dim=-1)
        if int(usable.sum()) < 2:
            return None
        rows = usable.nonzero().flatten().tolist()
        return [self.obs_designs[i] for i in rows], Y[usable]

    def _ref_point(self, Y: Tensor) -> Tensor:
        """`[K]` reference point in the maximised view."""
        specs = [self.specs[k] for k in self.objective_columns]
        if self.options.ref_point is not None:
            return torch.tensor([s.sign * r for s, r in zip(specs, self.options.ref_point, strict=True)], dtype=torch.float64)
        natural = Y[:, : len(specs)] * torch.tensor([s.sign for s in specs], dtype=torch.float64)
        return reference_point(specs, natural)

    # -- asking -----------------------------------------------------------------------------

    def ask(self, n: int) -> list[Any]:
        out = self.memory.initial(n)
        initial_left = max(0, self.initial_samples - len(self.memory))
        if len(out) < n and initial_left:
            out.extend(self._initial(min(n - len(out), initial_left)))
        if len(out) < n:
            data = self._training_data()
            out.extend(self._random(n - len(out)) if data is None else self._bo_step(n - len(out), data, out))
        for design in out:
            self.pending[self.space.key(design)] = design
        return out

    def _initial(self, n: int) -> list[Any]:
        if not self.continuous:
            return self._random(n)
        assert self.bounds is not None
        engine = SobolEngine(self.bounds.shape[1], scramble=True, seed=self.seed)
        engine.fast_forward(self.sobol_drawn)
        unit = engine.draw(n, dtype=torch.float64)
        self.sobol_drawn += n
        points = self.bounds[0] + unit * (self.bounds[1] - self.bounds[0])
        return self._fresh([p.tolist() for p in points], fill=True)

    def _random(self, n: int) -> list[Any]:
        out: list[Any] = []
        for _ in range(20):
            if len(out) >= n:
                break
            out.extend(self._fresh(self.space.sample(n - len(out), self.rng)))
        return out[:n]

    def _fresh(self, designs: Sequence[Any], *, fill: bool = False) -> list[Any]:
        """Canonical designs never proposed or told before (marking them); with ``fill``, random draws replace the others."""
        out: list[Any] = []
        missing = 0
        for design in designs:
            try:
                canonical = self.space.validate(design)
            except InvalidDesignError:
                missing += 1
                continue
            if self.memory.mark(self.space.key(canonical)):
                out.append(canonical)
            else:
                missing += 1
        if fill and missing:
            out.extend(self._random(missing))
        return out

    def _bo_step(self, q: int, data: tuple[list[Any], Tensor], chosen: Sequence[Any]) -> list[Any]:
        from gendesign.search.bo_acquisition import build_acquisition
        from gendesign.search.bo_model import fit_gp

        designs, Y = data
        seed = int(self.rng.integers(_SEED_RANGE))
        pending = list(self.pending.values()) + list(chosen)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            start, start_cpu = time.perf_counter(), time.process_time()
            X = self._inputs(designs)
            model = fit_gp(X, Y, kernel=self.kernel, bounds=self.bounds)
            fitted, fitted_cpu = time.perf_counter(), time.process_time()
            acq = build_acquisition(
                model,
                X,
                num_objectives=len(self.objective_columns),
                num_constraints=len(self.constraint_columns),
                ref_point=self._ref_point(Y) if len(self.objective_columns) > 1 else None,
                X_pending=self._inputs(pending) if pending else None,
                mc_samples=self.options.mc_samples,
                seed=seed,
            )
            out = self._optimize_box(acq, q) if self.continuous else self._optimize_pool(acq, q, designs, Y)
            self.last_step_seconds = {
                "fit": fitted - start,
                "acquisition": time.perf_counter() - fitted,
                "fit_cpu": fitted_cpu - start_cpu,
                "acquisition_cpu": time.process_time() - fitted_cpu,
            }
        return out

    def _optimize_box(self, acq: Any, q: int) -> list[Any]:
        from botorch.optim import optimize_acqf

        assert self.bounds is not None
        opts = self.options
        candidates, _ = optimize_acqf(
            acq,
            bounds=self.bounds,
            q=q,
            num_restarts=opts.num_restarts,
            raw_samples=opts.raw_samples,
            options={"maxiter": opts.max_iter, "batch_limit": opts.num_restarts},
        )
        points = torch.minimum(torch.maximum(candidates.detach(), self.bounds[0]), self.bounds[1])
        return self._fresh([p.tolist() for p in points], fill=True)

    def _parents(self, designs: list[Any], Y: Tensor) -> list[Any]:
        """The ``pool_parents`` best observed designs: feasible first, then by value (``K = 1``) or NSGA-II rank."""
        k = len(self.objective_columns)
        feasible = (Y[:, k:] >= 0).all(dim=-1) if Y.shape[1] > k else torch.ones(len(designs), dtype=torch.bool)
        if k == 1:
            score = Y[:, 0].clone()
            order = sorted(range(len(designs)), key=lambda i: (not bool(feasible[i]), -float(score[i])))
        else:
            rank, crowd = nsga2_rank(Y[:, :k])
            order = sorted(range(len(designs)), key=lambda i: (not bool(feasible[i]), int(rank[i]), -float(crowd[i])))
        return [designs[i] for i in order[: self.options.pool_parents]]

    def _optimize_pool(self, acq: Any, q: int, designs: list[Any], Y: Tensor) -> list[Any]:
        from botorch.optim import optimize_acqf_discrete

        opts = self.options
        pool = candidate_pool(
            self.space,
            self._parents(designs, Y),
            size=opts.pool_size,
            exclude=self.memory.keys,
            rng=self.rng,
            random_fraction=opts.random_fraction,
            sampler=self.sampler,
            sampler_fraction=opts.generator_fraction,
            sampler_options=opts.sampling,
            torch_generator=self.torch_generator,
        )
        if not pool:
            return []
        choices = self._inputs(pool)
        first: dict[bytes, int] = {}
        for i, row in enumerate(choices):
            first.setdefault(row.numpy().tobytes(), i)
        unique = torch.tensor(sorted(first.values()), dtype=torch.long)
        candidates, _ = optimize_acqf_discrete(acq, q=min(q, len(unique)), choices=choices[unique], unique=True)
        picked = [pool[first[row.numpy().tobytes()]] for row in candidates.detach()]
        return self._fresh(picked)

    # -- state ------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            **self.memory.state_dict(),
            "sobol_drawn": self.sobol_drawn,
            "observations": [self.space.to_json(d) for d in self.obs_designs],
            "values": torch.tensor(self.obs_values, dtype=torch.float64).reshape(len(self.obs_values), len(self.specs)),
            "valid": list(self.obs_valid),
            "pending": [self.space.to_json(d) for d in self.pending.values()],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.memory.load_state_dict(state)
        self.sobol_drawn = int(state["sobol_drawn"])
        self.obs_designs = [self.space.from_json(t) for t in state["observations"]]
        self.obs_values = state["values"].tolist()
        self.obs_valid = [bool(v) for v in state["valid"]]
        self.observed = {self.space.key(d) for d in self.obs_designs}
        self.pending = {self.space.key(d): d for d in (self.space.from_json(t) for t in state["pending"])}
        self._features = {}
