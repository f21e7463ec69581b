"""Sample grids, GIFs and the folder/synthetic training-data loaders."""

from __future__ import annotations

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.generators.diffusion.data import DataSettings, load_training_data
from gendesign.generators.diffusion.media import image_grid, save_gif, save_grid


def test_image_grid_places_tiles_with_white_padding():
    tiles = torch.stack([torch.full((3, 2, 2), v) for v in (0.0, 0.5, 1.0)])
    grid = image_grid(tiles, ncols=2)
    assert grid.shape == (3, 7, 7)
    assert torch.all(grid[:, 1:3, 1:3] == 0.0) and torch.all(grid[:, 1:3, 4:6] == 0.5) and torch.all(grid[:, 4:6, 1:3] == 1.0)
    assert torch.all(grid[:, 0] == 1) and torch.all(grid[:, 4:6, 4:6] == 1)


def test_folder_data_round_trips_pngs_and_gif_clips(tmp_path):
    g = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 8, 8, generator=g)
    for i, img in enumerate(images):
        save_grid(img.unsqueeze(0), tmp_path / "imgs" / f"{i}.png", ncols=1)
    clip = torch.rand(1, 6, 3, 8, 8, generator=g)
    save_gif(clip, tmp_path / "clips" / "c.gif", ncols=1)
    loaded = load_training_data(DataSettings(source="folder", path=str(tmp_path / "imgs")), 6, None)
    assert loaded.shape == (2, 3, 6, 6) and 0 <= float(loaded.min()) and float(loaded.max()) <= 1
    assert loaded.var() > 0
    clips = load_training_data(DataSettings(source="folder", path=str(tmp_path / "clips")), 6, 3)
    assert clips.shape == (1, 3, 3, 6, 6)
    with pytest.raises(ConfigError, match="frames"):
        load_training_data(DataSettings(source="folder", path=str(tmp_path / "clips")), 6, 12)
    with pytest.raises(ConfigError, match="no .png"):
        load_training_data(DataSettings(source="folder", path=str(tmp_path)), 6, None)


def test_synthetic_scenes_are_seeded_and_clips_move():
    a = load_training_data(DataSettings(num_items=3, seed=4), 8, 4)
    b = load_training_data(DataSettings(num_items=3, seed=4), 8, 4)
    assert a.shape == (3, 4, 3, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a, load_training_data(DataSettings(num_items=3, seed=5), 8, 4))
    assert (a[:, 0] - a[:, -1]).abs().sum() > 0
