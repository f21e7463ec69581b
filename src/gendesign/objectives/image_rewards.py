"""Weight-free image rewards for diffusion fine-tuning.

Every reward here is an :class:`~gendesign.core.objective.Objective` over images: a design is a
tensor `[3, H, W]` with values in ``[0, 1]`` (RGB), and a batch of ``B`` designs scores to
`[B, 1]`. Rewards marked differentiable return values that carry gradients to the pixels when
called with ``grad=True`` (AlignProp, DRaFT, InstructVideo, Ctrl-U); the JPEG rewards are black
boxes for policy-gradient methods (DDPO).

Conditional rewards (:class:`SobelEdgeAgreement`) score :class:`ConditionedImage` designs, which
carry the condition map next to the image, and also expose a per-pixel *dense* interface
(:class:`DenseReward`) that Ctrl-U uses for its uncertainty-weighted pixel loss.
"""

from __future__ import annotations

import io
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

from gendesign.core.errors import ConfigError, ObjectiveError
from gendesign.core.objective import Objective, ObjectiveSpec

LUMA_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass
class ConditionedImage:
    """An image together with the condition map it was generated for.

    Attributes:
        image: `[3, H, W]` RGB in ``[0, 1]``.
        condition: `[1, H, W]` or `[H, W]` condition map in ``[0, 1]`` (e.g. an edge map), or None
            for rewards that read only the prompt.
        prompt: the text prompt, when there is one.
    """

    image: Tensor
    condition: Tensor | None
    prompt: str | None = None


def stack_images(designs: Sequence[Any], *, where: str) -> Tensor:
    """Stack image designs into `[B, 3, H, W]`; :class:`ConditionedImage` contributes its image."""
    images = [d.image if isinstance(d, ConditionedImage) else d for d in designs]
    for img in images:
        if not isinstance(img, Tensor) or img.ndim != 3 or img.shape[0] != 3:
            shape = list(img.shape) if isinstance(img, Tensor) else type(img).__name__
            raise ObjectiveError(f"{where} scores RGB images [3, H, W] in [0, 1]; got {shape}")
    return torch.stack(images).float()


def luminance(images: Tensor) -> Tensor:
    """Rec. 601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of `[B, 3, H, W]` images, shape `[B, H, W]`."""
    w = torch.tensor(LUMA_WEIGHTS, dtype=images.dtype, device=images.device)
    return torch.einsum("bchw,c->bhw", images, w)


class SingleColumnReward(Objective):
    """Base of the weight-free rewards: one column named :attr:`column`, differentiable unless overridden."""

    differentiable = True
    deterministic = True
    column: str = "reward"
    direction: str = "max"

    def __init__(self) -> None:
        self.specs = (ObjectiveSpec(name=self.column, direction=self.direction),)  # type: ignore[arg-type]

    def config(self) -> dict[str, Any]:
        return {**super().config(), **self.options()}

    def options(self) -> dict[str, Any]:
        """Constructor options that change the values (feeds the fingerprint)."""
        return {}


class ImageReward(SingleColumnReward):
    """Base class for single-column image rewards; subclasses implement :meth:`score` on `[B, 3, H, W]`."""

    @abstractmethod
    def score(self, images: Tensor) -> Tensor:
        """`[B]` reward of `[B, 3, H, W]` images in ``[0, 1]``."""

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        images = stack_images(designs, where=type(self).__name__).to(self.device)
        return self.score(images).unsqueeze(-1)


def jpeg_kilobytes(images: Tensor, quality: int) -> Tensor:
    """Size in kB (1 kB = 1000 bytes) of each `[B, 3, H, W]` image saved as a PIL JPEG at ``quality``."""
    from PIL import Image

    arr = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    sizes = []
    for a in arr:
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="JPEG", quality=quality)
        sizes.append(buf.tell() / 1000.0)
    return torch.tensor(sizes, dtype=torch.float32)


class JpegCompressibility(ImageReward):
    """JPEG compressibility: minus the size in kB of the image as a quality-``q`` JPEG (DDPO, Black et al. 2023).

    ``r(x) = -|jpeg_q(x)| / 1000``. Not differentiable: use it with DDPO.

    Args:
        quality: PIL JPEG quality (DDPO uses 95).
    """

    differentiable = False
    column = "jpeg_compressibility"

    def __init__(self, quality: int = 95) -> None:
        if not 1 <= quality <= 100:
            raise ConfigError(f"JpegCompressibility: quality={quality}; use an integer in [1, 100]")
        self.quality = quality
        super().__init__()

    def score(self, images: Tensor) -> Tensor:
        return -jpeg_kilobytes(images, self.quality).to(images.device)

    def options(self) -> dict[str, Any]:
        return {"quality": self.quality}


class JpegIncompressibility(JpegCompressibility):
    """JPEG incompressibility: the size in kB of the image as a quality-``q`` JPEG (DDPO, Black et al. 2023).

    ``r(x) = |jpeg_q(x)| / 1000``. Not differentiable: use it with DDPO.

    Args:
        quality: PIL JPEG quality (DDPO uses 95).
    """

    column = "jpeg_incompressibility"

    def score(self, images: Tensor) -> Tensor:
        return jpeg_kilobytes(images, self.quality).to(images.device)


class Colourfulness(ImageReward):
    """Hasler-Süsstrunk colourfulness (Hasler & Süsstrunk 2003, "Measuring colourfulness in natural images").

    With opponent channels ``rg = R - G`` and ``yb = (R + G)/2 - B`` over the pixels of one image,

    ``M = sqrt(σ_rg² + σ_yb²) + 0.3 · sqrt(μ_rg² + μ_yb²)``.

    Computed on ``[0, 1]`` pixels, so values are the paper's ``/255``. Differentiable; ``eps`` inside the
    square roots keeps the gradient finite on grey images.

    Args:
        eps: added under each square root.
    """

    column = "colourfulness"

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = eps
        super().__init__()

    def score(self, images: Tensor) -> Tensor:
        r, g, b = images[:, 0], images[:, 1], images[:, 2]
        rg = (r - g).flatten(1)
        yb = (0.5 * (r + g) - b).flatten(1)
        sigma = torch.sqrt(rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False) + self.eps)
        mu = torch.sqrt(rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2 + self.eps)
        return sigma + 0.3 * mu


class Brightness(ImageReward):
    """Mean Rec. 601 luma, or closeness to a target luma.

    ``r(x) = mean(Y)`` when ``target`` is None, else ``r(x) = -(mean(Y) - target)²``. Differentiable.

    Args:
        target: desired mean luma in ``[0, 1]``; None rewards brighter images.
    """

    column = "brightness"

    def __init__(self, target: float | None = None) -> None:
        if target is not None and not 0.0 <= target <= 1.0:
            raise ConfigError(f"Brightness: target={target}; use a luma in [0, 1] or leave it unset")
        self.target = target
        super().__init__()

    def score(self, images: Tensor) -> Tensor:
        mean = luminance(images).flatten(1).mean(dim=1)
        return mean if self.target is None else -((mean - self.target) ** 2)

    def options(self) -> dict[str, Any]:
        return {"target": self.target}


class PromptBrightness(SingleColumnReward):
    """Closeness of the mean luma to a per-prompt target: ``r(x, q) = -(mean(Y(x)) - target_q)²``.

    A prompt-conditioned reward with prompts of graded difficulty: a target near the base model's
    luma is easy, one at 0 or 1 is hard. Designs are :class:`ConditionedImage` carrying the prompt
    (fine-tuning supplies them, since the class sets ``needs_prompt``). Differentiable.

    Args:
        targets: target mean luma in ``[0, 1]`` per prompt.
    """

    column = "prompt_brightness"
    needs_prompt = True

    def __init__(self, targets: dict[str, float]) -> None:
        bad = {p: t for p, t in targets.items() if not 0.0 <= t <= 1.0}
        if not targets or bad:
            raise ConfigError(f"PromptBrightness: targets={bad or targets}; give each prompt a target luma in [0, 1]")
        self.targets = dict(targets)
        super().__init__()

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        prompts = [d.prompt if isinstance(d, ConditionedImage) else None for d in designs]
        missing = sorted({str(p) for p in prompts if p not in self.targets})
        if missing:
            raise ObjectiveError(f"PromptBrightness has no target for prompts {missing}; add them to options.targets (known: {sorted(self.targets)})")
        images = stack_images(designs, where="PromptBrightness").to(self.device)
        target = torch.tensor([self.targets[p] for p in prompts], dtype=images.dtype, device=images.device)  # type: ignore[index]
        mean = luminance(images).flatten(1).mean(dim=1)
        return (-((mean - target) ** 2)).unsqueeze(-1)

    def options(self) -> dict[str, Any]:
        return {"targets": self.targets}


class Contrast(ImageReward):
    """RMS contrast: the standard deviation of the Rec. 601 luma over the pixels (Peli 1990).

    ``r(x) = sqrt(mean((Y - mean(Y))²) + eps)``. Differentiable.

    Args:
        eps: added under the square root so a flat image has a finite gradient.
    """

    column = "contrast"

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = eps
        super().__init__()

    def score(self, images: Tensor) -> Tensor:
        y = luminance(images).flatten(1)
        return torch.sqrt(y.var(dim=1, unbiased=False) + self.eps)


def sobel_magnitude(images: Tensor, eps: float = 1e-6) -> Tensor:
    """Sobel gradient magnitude of the luma of `[B, 3, H, W]` images, shape `[B, 1, H, W]`.

    ``G = sqrt(G_x² + G_y² + eps)`` with the 3×3 Sobel kernels and replicate padding.
    """
    y = luminance(images).unsqueeze(1)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=y.dtype, device=y.device)
    kernels = torch.stack([kx, kx.T]).unsqueeze(1)
    grads = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kernels)
    return torch.sqrt((grads**2).sum(dim=1, keepdim=True) + eps)


def sobel_edges(images: Tensor, scale: float = 0.5) -> Tensor:
    """Soft edge map ``E = tanh(G / scale)`` in ``[0, 1)`` of `[B, 3, H, W]` images, shape `[B, 1, H, W]`."""
    return torch.tanh(sobel_magnitude(images) / scale)


@runtime_checkable
class DenseReward(Protocol):
    """A reward model with per-pixel outputs, as Ctrl-U needs (Zhang et al. 2025, arXiv 2410.11236).

    ``predict(images)`` is the "reward model" output `[B, C, H, W]` (edges, depth, class logits);
    ``pixel_loss(prediction, condition)`` is the per-pixel loss `[B, H, W]` against the condition map;
    ``uncertainty(pred_a, pred_b)`` is the per-pixel disagreement `[B, H, W]` of two predictions.
    """

    def predict(self, images: Tensor) -> Tensor: ...

    def pixel_loss(self, prediction: Tensor, condition: Tensor) -> Tensor: ...

    def uncertainty(self, pred_a: Tensor, pred_b: Tensor) -> Tensor: ...

    def condition_of(self, images: Tensor) -> Tensor: ...


class SobelEdgeAgreement(SingleColumnReward):
    """Agreement between the Sobel edges of an image and its condition edge map.

    The Sobel operator is the (weight-free) "reward model": ``E(x) = tanh(|∇Y(x)| / scale)``. With the
    condition map ``c`` `[1, H, W]` in ``[0, 1]``, the per-pixel loss is ``ℓ = |E(x) - c|`` and the reward
    is ``r = -mean(ℓ)`` in ``[-1, 0]``. Designs are :class:`ConditionedImage`. The dense interface
    (:class:`DenseReward`) follows Ctrl-U's HED/lineart variant: the uncertainty of two predictions is
    their absolute difference.

    Args:
        scale: gradient magnitude that maps to ``tanh(1) ≈ 0.76`` edge strength.
    """

    column = "edge_agreement"
    needs_condition = True

    def __init__(self, scale: float = 0.5) -> None:
        if scale <= 0:
            raise ConfigError(f"SobelEdgeAgreement: scale={scale}; use a positive number")
        self.scale = scale
        super().__init__()

    def predict(self, images: Tensor) -> Tensor:
        return sobel_edges(images, self.scale)

    def condition_of(self, images: Tensor) -> Tensor:
        """The condition map a real image implies: its own edge map `[B, 1, H, W]`."""
        return self.predict(images)

    def pixel_loss(self, prediction: Tensor, condition: Tensor) -> Tensor:
        if condition.ndim == 3:
            condition = condition.unsqueeze(1)
        if condition.shape[-2:] != prediction.shape[-2:]:
            raise ObjectiveError(
                f"SobelEdgeAgreement: condition map has size {list(condition.shape[-2:])} but the image has "
                f"{list(prediction.shape[-2:])}; give a condition of the image's size"
            )
        return (prediction - condition.to(prediction)).abs().mean(dim=1)

    def uncertainty(self, pred_a: Tensor, pred_b: Tensor) -> Tensor:
        return (pred_a[:, 0] - pred_b[:, 0]).abs()

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        for d in designs:
            if not isinstance(d, ConditionedImage):
                raise ObjectiveError(f"SobelEdgeAgreement scores ConditionedImage designs; got {type(d).__name__}")
        images = stack_images(designs, where="SobelEdgeAgreement").to(self.device)
        conditions = torch.stack([d.condition if d.condition.ndim == 3 else d.condition.unsqueeze(0) for d in designs])
        loss = self.pixel_loss(self.predict(images), conditions.to(images))
        return -loss.flatten(1).mean(dim=1).unsqueeze(-1)

    def options(self) -> dict[str, Any]:
        return {"scale": self.scale}
