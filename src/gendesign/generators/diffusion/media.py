"""Sample grids (PNG) and clips (GIF) written during fine-tuning."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor


def _to_uint8(images: Tensor) -> Tensor:
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()


def image_grid(images: Tensor, ncols: int | None = None, pad: int = 1) -> Tensor:
    """Tile `[N, 3, H, W]` images into one `[3, rows·(H+pad)+pad, cols·(W+pad)+pad]` image (white gaps)."""
    n, c, h, w = images.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    grid = torch.ones(c, nrows * (h + pad) + pad, ncols * (w + pad) + pad, dtype=images.dtype)
    for i, img in enumerate(images.cpu()):
        r, q = divmod(i, ncols)
        grid[:, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + q * (w + pad) : pad + q * (w + pad) + w] = img
    return grid


def save_grid(images: Tensor, path: str | Path, ncols: int | None = None) -> Path:
    """Save `[N, 3, H, W]` images in ``[0, 1]`` as one PNG grid."""
    from PIL import Image

    grid = _to_uint8(image_grid(images, ncols)).permute(1, 2, 0).numpy()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(out)
    return out


def save_gif(clips: Tensor, path: str | Path, fps: int = 8, ncols: int | None = None) -> Path:
    """Save `[N, F, 3, H, W]` clips in ``[0, 1]`` as one animated GIF whose frames are grids of the clips."""
    from PIL import Image

    frames = [_to_uint8(image_grid(clips[:, f], ncols)).permute(1, 2, 0).numpy() for f in range(clips.shape[1])]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pil = [Image.fromarray(f) for f in frames]
    pil[0].save(out, save_all=True, append_images=pil[1:], duration=int(1000 / fps), loop=0)
    return out
