"""Conformance tests for the protocols of :mod:`gendesign.core.protocols`.

One pytest mixin per protocol. A test class inherits the mixins its part should pass and provides
the part with ``make_generator()`` (or ``make_space()`` / ``make_surrogate()`` /
``make_pipeline()``); pytest collects the ``test_*`` methods::

    from gendesign.testing.generators import LikelihoodScorerConformance, StepwiseDenoiserConformance

    class TestMyDenoiser(StepwiseDenoiserConformance, LikelihoodScorerConformance):
        def make_generator(self):
            return MyDenoiser.from_pretrained("tests/data/my_model")

        def make_designs(self):
            return ["ACDE", "KLMN"]

A capability the part does not have (an anchored step, an exact reveal schedule, unreadable
designs to test) is skipped with :func:`pytest.skip`, never passed silently. The checks are
semantic: revealed tokens never change, log-probabilities are finite and ``<= 0``, ``s = 0``
reveals every mask, ``decode(encode(x)) == x``, infill keeps fixed positions, exact sampler
log-probabilities agree with the scorer, a surrogate interpolates its data, and every random
operation repeats under the same seed.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

from gendesign.core.protocols import (
    AnchoredDenoiser,
    FineTunableDiffusion,
    Infiller,
    LikelihoodScorer,
    Posterior,
    SequenceSampler,
    StepwiseDenoiser,
    Surrogate,
    TokenSpace,
    conforms,
    missing_members,
)

__all__ = [
    "FineTunableDiffusionConformance",
    "InfillerConformance",
    "LikelihoodScorerConformance",
    "SequenceSamplerConformance",
    "StepwiseDenoiserConformance",
    "SurrogateConformance",
    "TokenSpaceConformance",
]


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _conforms(obj: Any, protocol: type) -> None:
    missing = missing_members(obj, protocol)
    assert not missing, f"{type(obj).__name__} is not a {protocol.__name__}: it lacks {missing}"


class _GeneratorMixin:
    seed: int = 0

    @abstractmethod
    def make_generator(self) -> Any:
        """The model under test; called afresh by each test."""
        raise NotImplementedError(f"{type(self).__name__} must define make_generator() returning the model under test")


class TokenSpaceConformance:
    """Pytest mixin: the :class:`~gendesign.core.protocols.TokenSpace` contract.

    Provide ``make_space()``; ``make_designs()`` defaults to ``space.sample(num_designs, rng)``.
    """

    num_designs: int = 16
    seed: int = 0

    @abstractmethod
    def make_space(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define make_space() returning the TokenSpace under test")

    def make_designs(self) -> Sequence[Any]:
        """Canonical designs of the space (at least two, of more than one length when the space allows)."""
        return self.make_space().sample(self.num_designs, np.random.default_rng(self.seed))

    def test_token_space_conforms(self) -> None:
        space = self.make_space()
        _conforms(space, TokenSpace)
        assert 1 <= space.min_length <= space.max_length
        assert not 0 <= space.pad_id < space.vocab_size, f"pad_id={space.pad_id} is a real token id (0..{space.vocab_size - 1})"

    def test_encode_pads_on_the_right_with_real_ids(self) -> None:
        space = self.make_space()
        designs = list(self.make_designs())
        ids = space.encode(designs)
        assert ids.dtype == torch.long and ids.ndim == 2 and ids.shape[0] == len(designs)
        real = ids != space.pad_id
        assert bool(((ids >= 0) & (ids < space.vocab_size))[real].all()), "encode produced ids outside 0..vocab_size-1"
        lengths = real.sum(-1)
        assert bool((real == (torch.arange(ids.shape[1]) < lengths.unsqueeze(-1))).all()), "pads must all come after the tokens"
        assert int(lengths.max()) <= ids.shape[1]
        assert bool(((lengths >= space.min_length) & (lengths <= space.max_length)).all())
        wide = space.encode(designs, length=space.max_length)
        assert wide.shape == (len(designs), space.max_length) and torch.equal(wide[:, : ids.shape[1]], ids)

    def test_decode_inverts_encode(self) -> None:
        space = self.make_space()
        designs = list(self.make_designs())
        assert space.decode(space.encode(designs)) == designs
        assert space.decode(space.encode(designs, length=space.max_length)) == designs


class SequenceSamplerConformance(_GeneratorMixin):
    """Pytest mixin: the :class:`~gendesign.core.protocols.SequenceSampler` contract.

    ``sample_options`` are passed to ``sample_designs``.
    """

    num_samples: int = 12
    sample_options: dict[str, Any] = {}

    def test_sampler_conforms(self) -> None:
        _conforms(self.make_generator(), SequenceSampler)

    def test_sample_designs_counts_and_log_probs(self) -> None:
        model = self.make_generator()
        designs, log_probs = model.sample_designs(self.num_samples, generator=_gen(self.seed), **self.sample_options)
        assert isinstance(designs, list) and len(designs) == self.num_samples
        if log_probs is not None:
            assert log_probs.shape == (self.num_samples,) and log_probs.dtype.is_floating_point
            assert bool(torch.isfinite(log_probs).all()) and bool((log_probs <= 1e-6).all()), f"log-probabilities must be finite and <= 0, got {log_probs}"
        empty, _ = model.sample_designs(0, generator=_gen(self.seed), **self.sample_options)
        assert list(empty) == []

    def test_sample_designs_repeat_under_a_seed(self) -> None:
        a, la = self.make_generator().sample_designs(self.num_samples, generator=_gen(self.seed), **self.sample_options)
        b, lb = self.make_generator().sample_designs(self.num_samples, generator=_gen(self.seed), **self.sample_options)
        assert a == b
        assert (la is None) == (lb is None) and (la is None or torch.allclose(la, lb))

    def test_exact_log_probs_agree_with_the_scorer(self) -> None:
        model = self.make_generator()
        designs, log_probs = model.sample_designs(self.num_samples, generator=_gen(self.seed), **self.sample_options)
        if log_probs is None or not conforms(model, LikelihoodScorer):
            pytest.skip("the sampler gives no exact log-probabilities, or the model is not a LikelihoodScorer")
        scored = model.log_likelihood(designs, seed=self.seed)
        assert torch.allclose(scored.double(), log_probs.double(), atol=1e-4), "sample_designs' log-probabilities differ from log_likelihood of the same designs"


class StepwiseDenoiserConformance(_GeneratorMixin):
    """Pytest mixin: the :class:`~gendesign.core.protocols.StepwiseDenoiser` (and :class:`AnchoredDenoiser`) contract.

    Attributes:
        batch: rows per step.
        reveal_probability: ``q(t, s)``, the probability that a mask at ``t`` is revealed by ``s``
            under the model's schedule (``(t - s) / t`` for the log-linear one) when it does not
            depend on the token; ``None`` skips the reveal-rate check.
    """

    batch: int = 64
    reveal_probability: Callable[[float, float], float] | None = None

    def _canvas(self, model: Any, fill: float, seed: int) -> Tensor:
        """Ids `[batch, max_length]`: lengths from the histogram, a share ``fill`` of the positions revealed at random."""
        g = _gen(seed)
        counts = model.length_counts.detach().cpu().double()
        lengths = torch.multinomial(counts / counts.sum(), self.batch, replacement=True, generator=g)
        width = model.max_length
        pos = torch.arange(width)
        x = torch.full((self.batch, width), model.mask_id, dtype=torch.long)
        tokens = torch.randint(0, model.vocab_size, (self.batch, width), generator=g)
        revealed = torch.rand((self.batch, width), generator=g) < fill
        x = torch.where(revealed, tokens, x)
        return x.masked_fill(pos.unsqueeze(0) >= lengths.unsqueeze(1), model.pad_id)

    def _step(self, model: Any, x: Tensor, t: float, s: float, seed: int, anchor: Tensor | None = None) -> tuple[Tensor, Tensor]:
        tt, ss = torch.full((x.shape[0],), t), torch.full((x.shape[0],), s)
        dev = model.device
        with torch.no_grad():
            if anchor is None:
                out, lp = model.reverse_step(x.to(dev), tt, ss, generator=_gen(seed))
            else:
                out, lp = model.anchored_step(x.to(dev), tt, ss, anchor.to(dev), generator=_gen(seed))
        return out.cpu(), lp.cpu()

    def test_denoiser_conforms(self) -> None:
        model = self.make_generator()
        _conforms(model, StepwiseDenoiser)
        ids = {model.mask_id, model.pad_id}
        assert len(ids) == 2 and all(not 0 <= i < model.vocab_size for i in ids), "mask_id and pad_id must be distinct and not real tokens"
        counts = model.length_counts
        assert counts.shape == (model.max_length + 1,) and bool((counts >= 0).all()) and float(counts.sum()) > 0
        assert float(counts[0]) == 0, "no design has length 0"

    def test_reverse_step_keeps_revealed_tokens_and_pads(self) -> None:
        model = self.make_generator()
        x = self._canvas(model, fill=0.4, seed=self.seed)
        x_s, lp = self._step(model, x, 0.8, 0.5, self.seed)
        assert x_s.shape == x.shape and x_s.dtype == torch.long and lp.shape == x.shape and lp.dtype.is_floating_point
        kept = x != model.mask_id
        assert torch.equal(x_s[kept], x[kept]), "reverse_step changed a revealed token or a pad"
        new = ~kept & (x_s != model.mask_id)
        assert bool(((x_s[new] >= 0) & (x_s[new] < model.vocab_size)).all()), "revealed positions must hold real tokens"
        assert bool(torch.isfinite(lp).all()) and bool((lp <= 1e-6).all()), "step log-probabilities must be finite and <= 0"
        assert bool((lp[kept] == 0).all()), "positions that could not change must have log-probability 0"

    def test_reverse_step_to_zero_reveals_every_mask(self) -> None:
        model = self.make_generator()
        x = self._canvas(model, fill=0.0, seed=self.seed)
        x_s, lp = self._step(model, x, 0.3, 0.0, self.seed)
        assert not bool((x_s == model.mask_id).any()), "a step to s = 0 must reveal every mask"
        assert torch.equal(x_s == model.pad_id, x == model.pad_id)
        assert bool(torch.isfinite(lp).all())

    def test_reverse_step_repeats_under_a_seed(self) -> None:
        x = self._canvas(self.make_generator(), fill=0.2, seed=self.seed)
        a = self._step(self.make_generator(), x, 1.0, 0.5, self.seed + 1)
        b = self._step(self.make_generator(), x, 1.0, 0.5, self.seed + 1)
        assert torch.equal(a[0], b[0]) and torch.allclose(a[1], b[1])

    def test_reveal_rate_follows_the_schedule(self) -> None:
        if self.reveal_probability is None:
            pytest.skip("no reveal_probability given for this denoiser's schedule")
        model = self.make_generator()
        t, s = 1.0, 0.6
        hits, total = 0, 0
        for rep in range(8):
            x = self._canvas(model, fill=0.0, seed=self.seed + rep)
            x_s, _ = self._step(model, x, t, s, self.seed + 100 + rep)
            masked = x == model.mask_id
            hits += int((x_s[masked] != model.mask_id).sum())
            total += int(masked.sum())
        q = self.reveal_probability(t, s)
        sd = (q * (1 - q) / total) ** 0.5
        assert abs(hits / total - q) < 5 * sd + 1e-3, f"revealed {hits / total:.3f} of the masks; the schedule says {q:.3f}"

    def test_anchored_step_reveals_anchor_tokens(self) -> None:
        model = self.make_generator()
        if not conforms(model, AnchoredDenoiser):
            pytest.skip("the denoiser has no anchored_step")
        x = self._canvas(model, fill=0.3, seed=self.seed)
        anchor = torch.where(x == model.mask_id, torch.randint(0, model.vocab_size, x.shape, generator=_gen(self.seed + 7)), x)
        x_s, lp = self._step(model, x, 0.9, 0.4, self.seed, anchor=anchor)
        masked = x == model.mask_id
        assert torch.equal(x_s[~masked], x[~masked]), "anchored_step changed a revealed token or a pad"
        revealed = masked & (x_s != model.mask_id)
        assert torch.equal(x_s[revealed], anchor[revealed]), "anchored_step revealed a token that is not the anchor's"
        assert bool(torch.isfinite(lp).all()) and bool((lp <= 1e-6).all())
        full, _ = self._step(model, x, 0.9, 0.0, self.seed, anchor=anchor)
        assert torch.equal(full[masked], anchor[masked]), "an anchored step to s = 0 must copy the anchor into every mask"


class InfillerConformance(_GeneratorMixin):
    """Pytest mixin: the :class:`~gendesign.core.protocols.Infiller` contract.

    Provide ``make_designs()``: canonical designs the model reads (at least two).
    """

    infill_options: dict[str, Any] = {}

    @abstractmethod
    def make_designs(self) -> Sequence[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define make_designs() returning designs the model reads")

    def test_infiller_conforms(self) -> None:
        _conforms(self.make_generator(), Infiller)

    def test_model_decode_inverts_encode(self) -> None:
        model = self.make_generator()
        designs = list(self.make_designs())
        ids = model.encode(designs)
        assert ids.dtype == torch.long and ids.shape[0] == len(designs) and ids.shape[1] <= model.max_length
        assert model.decode(ids) == designs

    def test_infill_keeps_fixed_positions(self) -> None:
        model = self.make_generator()
        x = model.encode(list(self.make_designs())).cpu()
        fixed = torch.rand(x.shape, generator=_gen(self.seed)) < 0.5
        out = model.infill(x, fixed, generator=_gen(self.seed), **self.infill_options).cpu()
        keep = fixed | (x == model.pad_id)
        assert out.shape == x.shape and torch.equal(out[keep], x[keep]), "infill changed a fixed position or a pad"
        assert bool(((out[~keep] >= 0) & (out[~keep] != model.pad_id)).all()), "infilled positions must hold real tokens"
        again = model.infill(x, fixed, generator=_gen(self.seed), **self.infill_options).cpu()
        assert torch.equal(out, again), "infill does not repeat under the same seed"


class LikelihoodScorerConformance(_GeneratorMixin):
    """Pytest mixin: the :class:`~gendesign.core.protocols.LikelihoodScorer` contract.

    Provide ``make_designs()`` (readable designs, at least two) and optionally
    ``make_unreadable_designs()``.
    """

    @abstractmethod
    def make_designs(self) -> Sequence[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define make_designs() returning designs the model reads")

    def make_unreadable_designs(self) -> Sequence[Any]:
        """Designs the model cannot read (they must score NaN); empty skips that check."""
        return []

    def test_scorer_conforms(self) -> None:
        _conforms(self.make_generator(), LikelihoodScorer)

    def test_log_likelihood_is_a_finite_non_positive_score_per_design(self) -> None:
        model = self.make_generator()
        designs = list(self.make_designs())
        ll = model.log_likelihood(designs, seed=self.seed)
        assert ll.shape == (len(designs),) and ll.dtype.is_floating_point
        assert bool(torch.isfinite(ll).all()) and bool((ll <= 1e-6).all()), f"log-likelihoods (or lower bounds) of discrete designs are finite and <= 0, got {ll}"

    def test_log_likelihood_is_deterministic_and_batch_independent(self) -> None:
        designs = list(self.make_designs())
        a = self.make_generator().log_likelihood(designs, seed=self.seed)
        b = self.make_generator().log_likelihood(list(reversed(designs)), seed=self.seed).flip(0)
        single = torch.cat([self.make_generator().log_likelihood([d], seed=self.seed) for d in designs])
        assert torch.allclose(a, b, atol=1e-5) and torch.allclose(a, single, atol=1e-5)

    def test_per_token_divides_by_the_length(self) -> None:
        model = self.make_generator()
        designs = list(self.make_designs())
        if not conforms(model, Infiller):
            pytest.skip("the scorer has no encode to count tokens with")
        lengths = (model.encode(designs).cpu() != model.pad_id).sum(-1)
        total = model.log_likelihood(designs, seed=self.seed)
        per = model.log_likelihood(designs, seed=self.seed, per_token=True)
        assert torch.allclose(per * lengths, total, atol=1e-4)

    def test_unreadable_designs_score_nan(self) -> None:
        bad = list(self.make_unreadable_designs())
        if not bad:
            pytest.skip("no unreadable designs given")
        model = self.make_generator()
        good = list(self.make_designs())[:1]
        ll = model.log_likelihood(good + bad, seed=self.seed)
        assert bool(torch.isfinite(ll[:1]).all()) and bool(torch.isnan(ll[1:]).all())


class SurrogateConformance:
    """Pytest mixin: the :class:`~gendesign.core.protocols.Surrogate` contract.

    Provide ``make_surrogate()``. The data are ``N`` points in ``[0, 1]^D`` with ``K`` smooth
    outputs; an interpolating surrogate must reproduce them (``atol``). Set ``interpolates = False``
    for one that treats observations as noisy (a prior-fitted network): its mean at the data must
    then explain them clearly better than their average does (mean absolute error at most
    ``smoothing_ratio`` times the mean absolute deviation).
    """

    num_points: int = 12
    dim: int = 2
    num_outputs: int = 2
    atol: float = 1e-3
    interpolates: bool = True
    smoothing_ratio: float = 0.5
    seed: int = 0

    @abstractmethod
    def make_surrogate(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define make_surrogate() returning the Surrogate under test")

    def make_data(self, seed: int | None = None) -> tuple[Tensor, Tensor]:
        g = _gen(self.seed if seed is None else seed)
        X = torch.rand((self.num_points, self.dim), generator=g, dtype=torch.float64)
        freq = torch.arange(1, self.num_outputs + 1, dtype=torch.float64)
        y = torch.sin(3.0 * X.sum(-1, keepdim=True) * freq) + X[:, :1]
        return X, y

    def test_surrogate_conforms(self) -> None:
        _conforms(self.make_surrogate(), Surrogate)

    def test_posterior_shapes_and_non_negative_variance(self) -> None:
        model = self.make_surrogate()
        X, y = self.make_data()
        model.condition(X, y)
        cand = torch.rand((7, self.dim), generator=_gen(self.seed + 1), dtype=torch.float64)
        post = model.posterior(cand)
        assert isinstance(post, Posterior)
        assert post.mean.shape == (7, self.num_outputs) and post.variance.shape == (7, self.num_outputs)
        assert bool((post.variance >= 0).all()) and bool(torch.isfinite(post.mean).all())
        lo, hi = post.quantile(0.1), post.quantile(0.9)
        assert bool((lo <= post.mean).all()) and bool((post.mean <= hi).all())

    def test_posterior_interpolates_and_is_surest_at_the_data(self) -> None:
        model = self.make_surrogate()
        X, y = self.make_data()
        model.condition(X, y)
        at = model.posterior(X)
        if self.interpolates:
            assert torch.allclose(at.mean.double(), y, atol=self.atol), "the posterior mean at observed inputs must reproduce the observations"
        else:
            error = (at.mean.double() - y).abs().mean(0)
            spread = (y - y.mean(0)).abs().mean(0)
            assert bool((error <= self.smoothing_ratio * spread).all()), f"the posterior mean at the data is off by {error.tolist()}, not clearly better than their mean ({spread.tolist()})"
        far = model.posterior(X + 10.0)
        assert bool((far.variance.mean(0) > at.variance.mean(0)).all()), "variance far from the data must exceed variance at the data"

    def test_one_output_column_accepts_a_vector(self) -> None:
        model = self.make_surrogate()
        X, y = self.make_data()
        model.condition(X, y[:, 0])
        assert model.posterior(X[:3]).mean.shape == (3, 1)

    def test_condition_replaces_the_data(self) -> None:
        X1, y1 = self.make_data(seed=self.seed + 5)
        X2, y2 = self.make_data()
        model = self.make_surrogate()
        model.condition(X1, y1)
        model.condition(X2, y2)
        fresh = self.make_surrogate()
        fresh.condition(X2, y2)
        cand = torch.rand((5, self.dim), generator=_gen(self.seed + 2), dtype=torch.float64)
        assert torch.allclose(model.posterior(cand).mean, fresh.posterior(cand).mean)


class FineTunableDiffusionConformance:
    """Pytest mixin: the :class:`~gendesign.core.protocols.FineTunableDiffusion` contract.

    Provide ``make_pipeline()`` and set ``image_size`` and ``prompts`` (a prompt list it understands).
    """

    image_size: int = 8
    prompts: tuple[str, ...] = ("a", "b")

    @abstractmethod
    def make_pipeline(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define make_pipeline() returning the backbone under test")

    def test_pipeline_conforms(self) -> None:
        _conforms(self.make_pipeline(), FineTunableDiffusion)

    def test_noise_prediction_and_decoding_shapes(self) -> None:
        pipe = self.make_pipeline()
        b = len(self.prompts)
        shape = pipe.latent_shape(b, self.image_size)
        x = torch.randn(shape, generator=_gen(0))
        cond = pipe.encode_prompts(list(self.prompts))
        with torch.no_grad():
            eps = pipe.predict_noise(x, torch.full((b,), pipe.num_train_timesteps - 1), cond)
            images = pipe.decode(x)
        assert eps.shape == x.shape and bool(torch.isfinite(eps).all())
        assert images.shape[0] == b and images.shape[-3] == 3 and images.shape[-1] == self.image_size
        assert bool((images >= 0).all()) and bool((images <= 1).all()), "decoded pixels must lie in [0, 1]"

    def test_save_pretrained_round_trips(self, tmp_path: Any) -> None:
        pipe = self.make_pipeline()
        if not hasattr(type(pipe), "from_pretrained"):
            pytest.skip("the pipeline class has no from_pretrained to load it back with")
        out = pipe.save_pretrained(tmp_path / "base")
        loaded = type(pipe).from_pretrained(out)
        x = torch.randn(pipe.latent_shape(1, self.image_size), generator=_gen(1))
        cond_a, cond_b = pipe.encode_prompts(list(self.prompts[:1])), loaded.encode_prompts(list(self.prompts[:1]))
        with torch.no_grad():
            assert torch.allclose(pipe.predict_noise(x, torch.tensor([10]), cond_a), loaded.predict_noise(x, torch.tensor([10]), cond_b), atol=1e-5)
