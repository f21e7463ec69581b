"""Learned image reward models loaded from a local directory: a CLIP image encoder plus an MLP head.

This is the shape of the LAION aesthetic predictor that DDPO and AlignProp use (an MLP over
L2-normalised CLIP ViT-L/14 image embeddings, Schuhmann et al. 2022), stored in a plain folder::

    reward_dir/
      reward_config.json      # {"format": "clip_mlp_head", "hidden_sizes": [...], "activation": ..., ...}
      clip/                   # transformers CLIPVisionModelWithProjection.save_pretrained(...)
      head.safetensors        # layers.{i}.weight / layers.{i}.bias

Nothing is downloaded: ``transformers`` loads with ``local_files_only=True`` and ``use_safetensors=True``
(no pickled ``.bin`` weights), and every entry of the directory must resolve inside it
(:func:`gendesign.core.files.check_tree`). The reward is
``r(x) = head(e(x) / ||e(x)||)`` with ``e`` the projected CLIP image embedding of ``x`` resized to the
encoder's resolution and normalised with its mean and std; it is differentiable in the pixels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import Tensor, nn

from gendesign.core.errors import ConfigError, GendesignError, require
from gendesign.core.files import check_tree, file_in
from gendesign.core.objective import Objective, ObjectiveSpec
from gendesign.core.registry import format_validation_error
from gendesign.objectives.image_rewards import stack_images

CONFIG_FILE = "reward_config.json"
HEAD_FILE = "head.safetensors"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class HeadConfig(BaseModel):
    """The ``reward_config.json`` of a CLIP + MLP reward directory."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["clip_mlp_head"] = "clip_mlp_head"
    name: str = "aesthetic"
    clip_subfolder: str = "clip"
    embedding_dim: int = Field(gt=0)
    hidden_sizes: list[int] = Field(default_factory=list)
    activation: Literal["identity", "relu", "gelu"] = "identity"
    normalize_embeddings: bool = True
    image_mean: tuple[float, float, float] = CLIP_MEAN
    image_std: tuple[float, float, float] = CLIP_STD
    source: str = ""
    license: str = ""


class MLPHead(nn.Module):
    """Linear layers ``D -> h_1 -> ... -> 1`` with an activation between them (identity in LAION's head)."""

    def __init__(self, embedding_dim: int, hidden_sizes: Sequence[int], activation: str = "identity") -> None:
        super().__init__()
        sizes = [embedding_dim, *hidden_sizes, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = {"identity": nn.Identity(), "relu": nn.ReLU(), "gelu": nn.GELU()}[activation]

    def forward(self, embeddings: Tensor) -> Tensor:
        """`[B, D]` embeddings to `[B]` scores."""
        h = embeddings
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.activation(h)
        return h.squeeze(-1)


def read_head_config(directory: Path) -> HeadConfig:
    path = file_in(directory, CONFIG_FILE, what="reward config")
    if not path.is_file():
        raise GendesignError(f"{path} does not exist; a learned reward directory needs {CONFIG_FILE}, {HEAD_FILE} and a CLIP folder")
    try:
        return HeadConfig.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=str(path), model=HeadConfig)) from None


def save_clip_head_reward(directory: str | Path, vision_model: nn.Module, head: MLPHead, config: HeadConfig) -> Path:
    """Write a reward directory that :class:`CLIPHeadReward` loads (used to package trained heads)."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    vision_model.save_pretrained(out / config.clip_subfolder)  # type: ignore[operator]
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(out / HEAD_FILE))
    (out / CONFIG_FILE).write_text(config.model_dump_json(indent=2))
    return out


class CLIPHeadReward(Objective):
    """A learned reward: an MLP head over CLIP image embeddings, loaded from a local directory.

    Args:
        path: the reward directory (see the module docstring).
        column: output column name; defaults to the ``name`` in ``reward_config.json``.
    """

    differentiable = True
    deterministic = True

    def __init__(self, path: str, column: str | None = None) -> None:
        transformers = require("transformers", "vision")
        from safetensors.torch import load_file

        self.path = Path(path)
        check_tree(self.path, what="learned reward directory")
        self.head_config = read_head_config(self.path)
        clip_dir = file_in(self.path, self.head_config.clip_subfolder, what="clip_subfolder")
        if not clip_dir.is_dir():
            raise GendesignError(f"{clip_dir} does not exist; save the CLIP vision model there with save_pretrained")
        self.encoder = transformers.CLIPVisionModelWithProjection.from_pretrained(
            str(clip_dir), local_files_only=True, use_safetensors=True
        ).eval()
        cfg = self.head_config
        if self.encoder.config.projection_dim != cfg.embedding_dim:
            raise ConfigError(
                f"{self.path / CONFIG_FILE}: embedding_dim={cfg.embedding_dim} but the CLIP projection_dim is "
                f"{self.encoder.config.projection_dim}; make them equal"
            )
        self.head = MLPHead(cfg.embedding_dim, cfg.hidden_sizes, cfg.activation).eval()
        self.head.load_state_dict(load_file(str(file_in(self.path, HEAD_FILE, what="reward head"))))
        for p in [*self.encoder.parameters(), *self.head.parameters()]:
            p.requires_grad_(False)
        self.image_size = int(self.encoder.config.image_size)
        self.specs = (ObjectiveSpec(name=column or cfg.name, direction="max"),)
        self._digest = _digest_dir(self.path)

    def to(self, device: str | torch.device) -> CLIPHeadReward:
        super().to(device)
        self.encoder.to(self.device)
        self.head.to(self.device)
        return self

    def embed(self, images: Tensor) -> Tensor:
        """Projected CLIP embeddings `[B, D]` of `[B, 3, H, W]` images in ``[0, 1]`` (L2-normalised if configured)."""
        x = F.interpolate(images, size=(self.image_size, self.image_size), mode="bicubic", align_corners=False)
        mean = torch.tensor(self.head_config.image_mean, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.head_config.image_std, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
        emb = self.encoder(pixel_values=(x - mean) / std).image_embeds
        return F.normalize(emb, dim=-1) if self.head_config.normalize_embeddings else emb

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        images = stack_images(designs, where="CLIPHeadReward").to(self.device)
        return self.head(self.embed(images)).unsqueeze(-1)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "path": str(self.path), "sha256": self._digest, "head": self.head_config.model_dump()}


def _digest_dir(directory: Path) -> str:
    """SHA-256 over the config and every weight file in ``directory`` (sorted relative paths)."""
    h = hashlib.sha256()
    for f in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix in {".json", ".safetensors", ".bin"}):
        h.update(str(f.relative_to(directory)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def describe_reward_dir(directory: str | Path) -> dict[str, Any]:
    """Config and digest of a reward directory, for provenance records."""
    d = check_tree(directory, what="learned reward directory")
    return {"config": json.loads((d / CONFIG_FILE).read_text()), "sha256": _digest_dir(d)}
