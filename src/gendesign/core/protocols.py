"""The structural protocols that search strategies consume from spaces and generators.

A strategy never imports a concrete model class: it names the capability it needs, and anything
that offers the members below (checked structurally, :func:`typing.runtime_checkable`) can be
handed to it through the generator registry. :func:`require_protocol` turns a failed check into a
:class:`~gendesign.core.errors.ConfigError` that names the missing members.

Ids. Every token-level protocol shares one id convention: real tokens are ``0 .. V-1``
(``V = vocab_size``), ``pad_id`` pads rows on the right, and a denoiser's ``mask_id`` marks
positions whose token is not decided yet. A design of ``n`` tokens is a row ``[L]`` with its tokens
in the first ``n`` places and ``pad_id`` after them.

Time. A stepwise denoiser runs a masked (absorbing-state) diffusion backwards on the time axis
``1 -> 0``: at ``t = 1`` every real position is masked, at ``t = 0`` none is (Austin et al. 2021,
"Structured denoising diffusion models in discrete state-spaces"; Sahoo et al. 2024, MDLM).

| protocol | members | consumed by |
|---|---|---|
| :class:`TokenSpace` | ``encode``, ``decode``, ``vocab_size``, ``pad_id``, ``min_length``, ``max_length`` | ``mcts``, ``gflownet`` |
| :class:`SequenceSampler` | ``sample_designs(n) -> (designs, log_probs or None)`` | best-of-N, the infill space's ``sample`` |
| :class:`StepwiseDenoiser` | ``reverse_step``, ``mask_id``, ``pad_id``, ``vocab_size``, ``max_length``, ``length_counts``, ``device`` | ``mcts`` |
| :class:`AnchoredDenoiser` | + ``anchored_step`` | ``mcts`` with ``anchored_children > 0`` |
| :class:`Infiller` | ``encode``, ``decode``, ``infill``, ``pad_id``, ``max_length`` + :class:`SequenceSampler` | the infill space (``evolution`` mutations) |
| :class:`LikelihoodScorer` | ``log_likelihood(designs) -> [B]`` | naturalness objectives, best-of-N ranking |
| :class:`Surrogate` | ``condition(X, y)``, ``posterior(X_cand) -> Posterior`` | Bayesian optimisation |
| :class:`ImprovementPosterior` | ``expected_improvement(best)`` (exact, not Gaussian) | ``metabo`` EI |
| :class:`DensityPosterior` | ``log_prob(y)`` (the model's own predictive density) | ``metabo``'s shift guard |
| :class:`AcquisitionPolicy` | ``acquisition_scores(X_cand, budget_fraction)`` after ``condition`` | ``metabo`` with ``acquisition = "nap"`` |
| :class:`FeatureEncoder` | ``features(designs) -> [B, D]``, ``dim``, ``kernel`` | ``bo`` on discrete spaces |
| :class:`FeaturizedSpace` | ``feature_encoder() -> FeatureEncoder`` | ``bo`` (a space's own features, e.g. Morgan fingerprints) |
| :class:`ContinuousSpace` | ``low``, ``high``, ``dim``, ``to_tensor`` | ``bo`` (gradient-based acquisition optimisation in the box) |
| :class:`FineTunableDiffusion` | ``unet``, ``scheduler``, ``predict_noise``, ``encode_prompts``, ``decode``, ``save_pretrained`` ... | ``finetune`` |
| :class:`Pretrained` | ``from_pretrained(path, *, device)`` (a class member) | the parts builder |
| :class:`Trainable` | ``train_from_config(config, *, plugins)`` (a class member) | ``gendesign train CONFIG`` |
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

import torch
from torch import Tensor

from gendesign.core.errors import ConfigError

T = TypeVar("T")


@runtime_checkable
class TokenSpace(Protocol):
    """A design space whose designs are rows of token ids.

    ``decode(encode(designs)) == designs`` for canonical designs; ``encode`` pads with
    :attr:`pad_id` and ``decode`` cuts a row at its first :attr:`pad_id`. ``decode`` returns a
    design for every row, admissible or not, so a search can count and penalise bad rows
    (``space.validate`` says which are admissible).
    """

    @property
    def vocab_size(self) -> int:
        """``V``, the number of real tokens (ids ``0 .. V-1``)."""
        ...

    @property
    def pad_id(self) -> int:
        """The padding id (``V`` by convention, never a real token)."""
        ...

    @property
    def min_length(self) -> int:
        """Fewest tokens of an admissible design."""
        ...

    @property
    def max_length(self) -> int:
        """Most tokens of an admissible design."""
        ...

    def encode(self, designs: Sequence[Any], length: int | None = None) -> Tensor:
        """Ids `[B, L]` (long) of ``designs``, right-padded; ``L`` is ``length`` when given."""
        ...

    def decode(self, ids: Tensor) -> list[Any]:
        """``B`` designs from ids `[B, L]`."""
        ...


@runtime_checkable
class SequenceSampler(Protocol):
    """A generator that draws whole designs.

    ``log_probs`` `[n]` (float, ``<= 0``) are the exact log-probabilities of the drawn designs under
    the model when it can compute them (an autoregressive or GFlowNet policy on a tree-shaped
    state space), else ``None`` (a diffusion model only bounds them; see :class:`LikelihoodScorer`).
    The same ``generator`` state gives the same designs.
    """

    def sample_designs(self, n: int, *, generator: torch.Generator | None = None, **options: Any) -> tuple[list[Any], Tensor | None]:
        """``(designs, log_probs)``: ``n`` designs and their log-probabilities `[n]` or ``None``.

        ``options`` are the sampler's own knobs (e.g. ``temperature``); an unknown one raises.
        """
        ...


@runtime_checkable
class StepwiseDenoiser(Protocol):
    """A masked diffusion model that exposes single reverse steps (what tree search branches on).

    ``reverse_step(x_t, t, s)`` draws ``x_s`` from the model's reverse kernel
    ``p(x_s | x_t)`` for ``0 <= s < t <= 1``: positions that are not ``mask_id`` in ``x_t`` are
    copied unchanged (pads stay pads), masked positions are revealed or stay masked, and at
    ``s = 0`` every mask is revealed. ``log_probs`` `[B, L]` hold, per position, the
    log-probability of the drawn transition (0 where nothing could change); their sum over ``L``
    is the step's log-probability. The model must be in inference mode as loaded
    (``from_pretrained``), and its randomness comes only from ``generator``.
    """

    @property
    def vocab_size(self) -> int:
        """``V``, real tokens ``0 .. V-1``."""
        ...

    @property
    def pad_id(self) -> int:
        """Padding id."""
        ...

    @property
    def mask_id(self) -> int:
        """The absorbing mask id."""
        ...

    @property
    def max_length(self) -> int:
        """Widest row ``L`` the model reads."""
        ...

    @property
    def length_counts(self) -> Tensor:
        """`[max_length + 1]` training length histogram (counts of designs with ``n`` tokens; index 0 unused)."""
        ...

    @property
    def device(self) -> torch.device:
        """Where ``reverse_step`` wants its ids."""
        ...

    def reverse_step(
        self,
        x_t: Tensor,
        t: Tensor,
        s: Tensor,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(x_s [B, L], log_probs [B, L])`` from ids ``x_t`` `[B, L]` at times ``t`` `[B]` to ``s`` `[B]`."""
        ...


@runtime_checkable
class AnchoredDenoiser(StepwiseDenoiser, Protocol):
    """A stepwise denoiser that can also step the forward-process posterior towards a given clean sequence.

    ``anchored_step(x_t, t, s, anchor)`` draws ``x_s ~ q(x_s | x_t, x_0 = anchor)``: each masked
    position is revealed with the schedule's probability (``(t - s) / t`` for the log-linear
    schedule, 1 at ``s = 0``) and then holds ``anchor``'s token; nothing else changes. Its
    ``log_probs`` `[B, L]` are those of the drawn transition under the *model's* own step, so a
    search keeps the model's prior for proposals it did not draw from the model.
    """

    def anchored_step(
        self,
        x_t: Tensor,
        t: Tensor,
        s: Tensor,
        anchor: Tensor,
        *,
        temperature: float = 1.0,
        top_p: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, Tensor]:
        """``(x_s [B, L], log_probs [B, L])`` stepping towards ``anchor`` `[B, L]` (real tokens wherever ``x_t`` is masked)."""
        ...


@runtime_checkable
class Infiller(SequenceSampler, Protocol):
    """A generator that regenerates chosen positions of designs given the rest (a learned mutation).

    It reads and writes designs through its own ``encode``/``decode``; ``infill`` keeps every
    position where ``fixed_mask`` is True (and every pad) and draws the others.
    """

    @property
    def pad_id(self) -> int:
        """Padding id of :meth:`encode`."""
        ...

    @property
    def max_length(self) -> int:
        """Longest design in tokens."""
        ...

    def encode(self, designs: Sequence[Any]) -> Tensor:
        """Ids `[B, L]` (long) of ``designs``; a design the model cannot read raises."""
        ...

    def decode(self, ids: Tensor) -> list[Any]:
        """``B`` designs from ids `[B, L]`."""
        ...

    def infill(self, x: Tensor, fixed_mask: Tensor, *, generator: torch.Generator | None = None, **options: Any) -> Tensor:
        """Ids `[B, L]` equal to ``x`` `[B, L]` where ``fixed_mask`` `[B, L]` (bool) is True or ``x`` is a pad."""
        ...


@runtime_checkable
class LikelihoodScorer(Protocol):
    """A model that scores how likely designs are.

    ``log_likelihood(designs)`` `[B]` (float) is ``log p(x)`` in nats, or a lower bound on it (the
    negative ELBO of a diffusion model, MDLM Eq. 11), deterministic per design for a fixed
    ``seed``; designs the model cannot read score NaN. ``per_token=True`` divides by the number of
    tokens.
    """

    def log_likelihood(self, designs: Sequence[Any], *, seed: int = 0, per_token: bool = False, **options: Any) -> Tensor:
        """`[B]` log-likelihoods (or lower bounds) of ``designs``; NaN for unreadable ones."""
        ...


@dataclass(frozen=True)
class Posterior:
    """A surrogate's predictive distribution at ``M`` candidates with ``K`` outputs.

    Attributes:
        mean: `[M, K]` predictive means.
        variance: `[M, K]` predictive variances (``>= 0``).
    """

    mean: Tensor
    variance: Tensor

    def quantile(self, q: float) -> Tensor:
        """`[M, K]` the ``q`` quantile of a Gaussian with this mean and variance: ``mean + sqrt(var) * Phi^{-1}(q)``."""
        if not 0.0 < q < 1.0:
            raise ConfigError(f"quantile q={q} must lie in (0, 1)")
        z = torch.special.ndtri(torch.tensor(q, dtype=self.mean.dtype))
        return self.mean + self.variance.clamp_min(0).sqrt() * z


@runtime_checkable
class Surrogate(Protocol):
    """A probabilistic regression model for Bayesian optimisation.

    ``condition(X, y)`` replaces what the model has seen with the observations ``X`` `[N, D]`,
    ``y`` `[N]` or `[N, K]`; ``posterior(X_cand)`` predicts at ``X_cand`` `[M, D]`. At an observed
    input the posterior mean of a noise-free model reproduces the observation and its variance
    shrinks to the noise level.
    """

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition on inputs `[N, D]` and outputs `[N]` or `[N, K]`."""
        ...

    def posterior(self, X: Tensor) -> Posterior:
        """The :class:`Posterior` (mean and variance `[M, K]`) at candidates `[M, D]`."""
        ...


@runtime_checkable
class ImprovementPosterior(Protocol):
    """A posterior that computes expected improvement from its own (possibly non-Gaussian) marginals."""

    def expected_improvement(self, best: float | Tensor) -> Tensor:
        """`[M, K]` ``E[max(Y - best, 0)]``."""
        ...


@runtime_checkable
class DensityPosterior(Protocol):
    """A posterior with a log-density of its own (e.g. a bar distribution), not only mean and variance."""

    def log_prob(self, y: Tensor) -> Tensor:
        """`[M, K]` log predictive density at ``y`` `[M, K]`."""
        ...


@runtime_checkable
class AcquisitionPolicy(Protocol):
    """A surrogate with a learned acquisition head over a candidate pool (NAP, Maraval et al. 2023).

    After ``condition(X, y)`` (:class:`Surrogate`), ``acquisition_scores(X_cand)`` `[M]` are the
    policy's logits over the candidates `[M, D]`: the candidate with the highest score is the one
    to evaluate. ``budget_fraction`` is ``t / T``, the spent share of the evaluation budget. A
    candidate's score does not depend on the other candidates.
    """

    def condition(self, X: Tensor, y: Tensor) -> None:
        """Condition on inputs `[N, D]` and outputs `[N]` or `[N, 1]`."""
        ...

    def acquisition_scores(self, X: Tensor, *, budget_fraction: float) -> Tensor:
        """`[M]` scores of candidates `[M, D]` (higher is better)."""
        ...


@runtime_checkable
class FeatureEncoder(Protocol):
    """Fixed-width real features of designs, for a surrogate model on a discrete space.

    ``features(designs)`` `[B, D]` (float64) is a function of each design alone, so equal designs
    get equal rows and a row does not depend on the batch. :attr:`kernel` names the covariance the
    features suit, a key of :data:`gendesign.search.bo_model.KERNELS`: ``"tanimoto"`` for
    non-negative fingerprints, ``"hamming"`` for one-hot rows, ``"default"`` for real features.
    """

    @property
    def dim(self) -> int:
        """``D``, the feature width."""
        ...

    @property
    def kernel(self) -> str:
        """The covariance kernel the features are meant for."""
        ...

    def features(self, designs: Sequence[Any]) -> Tensor:
        """`[B, D]` float64 features of ``B`` canonical designs."""
        ...


@runtime_checkable
class FeaturizedSpace(Protocol):
    """A design space that says how to turn its designs into features (e.g. molecules into fingerprints)."""

    def feature_encoder(self) -> FeatureEncoder:
        """The space's preferred :class:`FeatureEncoder`."""
        ...


@runtime_checkable
class ContinuousSpace(Protocol):
    """A box of real vectors: designs are points ``low <= x <= high`` (:class:`~gendesign.core.box_space.BoxSpace`)."""

    low: Any
    """`[d]` lower bounds (array-like)."""
    high: Any
    """`[d]` upper bounds (array-like)."""

    @property
    def dim(self) -> int:
        """``d``."""
        ...

    def to_tensor(self, designs: Sequence[Any], dtype: torch.dtype = torch.float64) -> Tensor:
        """Designs as `[B, d]`."""
        ...


@runtime_checkable
class FineTunableDiffusion(Protocol):
    """A latent diffusion backbone whose denoiser ``gendesign finetune`` trains with LoRA adapters.

    The trainer freezes ``unet`` (and ``controlnet``), attaches adapters to the module named by
    ``training.train_module``, samples latents (shape from ``latent_shape``) with
    ``predict_noise`` through ``scheduler``'s DDIM steps, decodes them to pixels in ``[0, 1]``, and
    saves the base model with ``save_pretrained`` next to the adapters.
    """

    @property
    def kind(self) -> str:
        """The model family (see :mod:`gendesign.generators.diffusion.backbone`)."""
        ...

    @property
    def unet(self) -> torch.nn.Module:
        """The noise-prediction network."""
        ...

    @property
    def controlnet(self) -> torch.nn.Module | None:
        """The control branch (``kind="controlnet"``) or ``None``."""
        ...

    @property
    def scheduler(self) -> Any:
        """The noise scheduler (``alphas_cumprod`` `[T]`)."""
        ...

    @property
    def num_train_timesteps(self) -> int:
        """``T``, the scheduler's training steps."""
        ...

    @property
    def num_frames(self) -> int | None:
        """Frames per video sample, ``None`` for images."""
        ...

    @property
    def device(self) -> torch.device:
        """Where the modules are."""
        ...

    def latent_shape(self, batch: int, image_size: int) -> tuple[int, ...]:
        """Shape of a batch of latents for ``image_size`` pixels."""
        ...

    def encode_prompts(self, prompts: list[str], *, guidance_scale: float = 1.0, control: Tensor | None = None) -> Any:
        """The conditioning of ``B`` prompts (plus control images `[B, 3, H, W]`)."""
        ...

    def predict_noise(self, x: Tensor, t: Tensor | int, cond: Any, *, unet: torch.nn.Module | None = None) -> Tensor:
        """Predicted noise, shaped like the latents ``x``, at timesteps ``t`` `[B]`."""
        ...

    def decode(self, x0: Tensor) -> Tensor:
        """Pixels `[B, 3, H, W]` (clips `[B, F, 3, H, W]`) in ``[0, 1]`` from clean latents."""
        ...

    def encode(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Latents of pixels in ``[0, 1]``."""
        ...

    def save_pretrained(self, directory: str | Path) -> Path:
        """Write the backbone to ``directory`` (diffusers layout)."""
        ...

    def to(self, device: str | torch.device) -> Any:
        """Move every module to ``device``."""
        ...


@runtime_checkable
class Pretrained(Protocol):
    """A generator class that rebuilds a saved model from a local directory (the registry entry of a generator)."""

    def from_pretrained(self, directory: str | Path, *, device: str | torch.device = "cpu") -> Any:
        """The model saved in ``directory``, on ``device``, ready for inference; nothing is downloaded."""
        ...


@runtime_checkable
class Trainable(Protocol):
    """A generator class that ``gendesign train CONFIG`` trains; the config's top-level ``generator`` key names it."""

    def train_from_config(self, config: str | Path, *, plugins: Any) -> str:
        """Train from the TOML file ``config``, save the model where the config says, and return a one-line report."""
        ...


@runtime_checkable
class OnlineReward(Protocol):
    """A reward that adapts to the batches it scores, e.g. learned Lagrange multipliers.

    Campaigns and fine-tuning keep its :meth:`state_dict` in their checkpoints. With
    :attr:`auto_update` every scored batch is also an update (campaigns); a fine-tuning loop turns it
    off and calls :meth:`observe` on training batches only, so held-out evaluation never moves it.
    """

    auto_update: bool

    def observe(self, scores: Any) -> None:
        """One update from a scored training batch (the :class:`~gendesign.core.objective.Scores` this reward returned)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state; :meth:`load_state_dict` of it resumes bit-identically."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def protocol_members(protocol: type) -> list[str]:
    """Names of the members ``protocol`` declares (its own and those of the protocols it extends), sorted."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (Protocol, object) or not getattr(cls, "_is_protocol", False):
            continue
        names.update(k for k in vars(cls) if not k.startswith("_"))
        names.update(k for k in getattr(cls, "__annotations__", {}) if not k.startswith("_"))
    return sorted(names)


def missing_members(obj: Any, protocol: type) -> list[str]:
    """The members of ``protocol`` that ``obj`` lacks (empty when it conforms)."""
    return [name for name in protocol_members(protocol) if not hasattr(obj, name)]


def conforms(obj: Any, protocol: type) -> bool:
    """Whether ``obj`` offers every member of ``protocol``.

    Use this rather than ``isinstance(obj, protocol)``: from Python 3.12 a runtime-checkable
    protocol's ``isinstance`` looks members up with ``inspect.getattr_static``, which does not see a
    :class:`torch.nn.Module`'s buffers and submodules (served by ``Module.__getattr__``), so a model
    whose ``length_counts`` is a buffer would fail the check although it has the member.
    """
    return not missing_members(obj, protocol)


def require_protocol(obj: T, protocol: type, *, what: str, needed_by: str) -> T:
    """Return ``obj`` if it offers every member of ``protocol``; otherwise raise a ConfigError naming the missing ones.

    Args:
        obj: the space, model or class to check.
        protocol: one of the protocols of this module.
        what: how the error names ``obj`` (e.g. ``"generator 'bigram'"``).
        needed_by: who needs it (e.g. ``"strategy 'mcts'"``).
    """
    missing = missing_members(obj, protocol)
    if missing:
        raise ConfigError(
            f"{needed_by} needs a {protocol.__name__}, but {what} ({type(obj).__name__ if not inspect.isclass(obj) else obj.__name__}) "
            f"lacks {', '.join(missing)}; see gendesign.core.protocols.{protocol.__name__} for what each member does"
        )
    return obj
