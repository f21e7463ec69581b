"""Training images and clips for the editing-style algorithms (InstructVideo, Ctrl-U).

Two sources, both offline:

* ``folder``: PNG/JPEG images (or animated GIFs for clips) in a local directory, resized to the
  model's resolution;
* ``synthetic``: procedurally drawn scenes (coloured rectangles and discs on a flat background;
  for clips, the shapes move linearly), reproducible from a seed. They have clear edges, which the
  Sobel condition maps of Ctrl-U need.

Both return tensors in ``[0, 1]``: images `[N, 3, H, W]`, clips `[N, F, 3, H, W]`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from gendesign.core.errors import ConfigError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


class DataSettings(BaseModel):
    """Where training images/clips come from.

    Attributes:
        source: ``"synthetic"`` or ``"folder"``.
        path: the folder (``source = "folder"``).
        num_items: how many synthetic items to draw.
        seed: synthetic scene seed.
    """

    model_config = ConfigDict(extra="forbid")

    source: Literal["synthetic", "folder"] = "synthetic"
    path: str | None = None
    num_items: int = Field(64, ge=1)
    seed: int = 0


def synthetic_scene(generator: torch.Generator, size: int, num_frames: int | None = None, max_shapes: int = 3) -> Tensor:
    """One scene `[3, H, W]` (or a clip `[F, 3, H, W]` with moving shapes) of rectangles and discs."""
    frames = num_frames or 1
    u = lambda *s: torch.rand(s, generator=generator)  # noqa: E731
    background = u(3) * 0.5
    n = 1 + int(torch.randint(max_shapes, (1,), generator=generator))
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    clip = background.view(1, 3, 1, 1).repeat(frames, 1, size, size)
    for _ in range(n):
        colour = 0.3 + 0.7 * u(3)
        centre, velocity, half = 0.2 + 0.6 * u(2), (u(2) - 0.5) * 0.3, 0.1 + 0.2 * u(2)
        disc = bool(u(1) < 0.5)
        for f in range(frames):
            cy, cx = (centre + velocity * f / max(frames - 1, 1)).tolist()
            if disc:
                mask = ((yy - cy) ** 2 + (xx - cx) ** 2) <= half[0] ** 2
            else:
                mask = ((yy - cy).abs() <= half[0]) & ((xx - cx).abs() <= half[1])
            clip[f][:, mask] = colour.view(3, 1)
    return clip if num_frames else clip[0]


def load_training_data(settings: DataSettings, image_size: int, num_frames: int | None) -> Tensor:
    """All training items: `[N, 3, H, W]` images, or `[N, F, 3, H, W]` clips when ``num_frames`` is set."""
    if settings.source == "synthetic":
        g = torch.Generator().manual_seed(settings.seed)
        return torch.stack([synthetic_scene(g, image_size, num_frames) for _ in range(settings.num_items)])
    if settings.path is None:
        raise ConfigError("data.source = 'folder' needs data.path, a local directory of images (or GIF clips)")
    folder = Path(settings.path)
    if not folder.is_dir():
        raise ConfigError(f"data.path={settings.path!r} is not a directory")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | {".gif"})
    if not files:
        raise ConfigError(f"data.path={settings.path!r} holds no .png/.jpg/.gif files")
    items = [_read(p, image_size, num_frames) for p in files]
    return torch.stack(items)


def _read(path: Path, size: int, num_frames: int | None) -> Tensor:
    from PIL import Image, ImageSequence

    with Image.open(path) as im:
        frames = [torch.from_numpy(_rgb(f)).permute(2, 0, 1).float() / 255 for f in ImageSequence.Iterator(im)]
    frames_t = F.interpolate(torch.stack(frames), size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    if num_frames is None:
        return frames_t[0]
    if len(frames_t) < num_frames:
        raise ConfigError(f"{path} has {len(frames_t)} frames; the model generates {num_frames}; give clips at least that long")
    idx = torch.linspace(0, len(frames_t) - 1, num_frames).round().long()
    return frames_t[idx]


def _rgb(frame: object) -> object:
    import numpy as np

    return np.array(frame.convert("RGB"))  # type: ignore[attr-defined]
