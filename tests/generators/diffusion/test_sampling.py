"""DDIM step and log-probabilities against diffusers' scheduler and torch.distributions."""

from __future__ import annotations

import torch

from gendesign.generators.diffusion.instructvideo import editing_timesteps
from gendesign.generators.diffusion.sampling import add_noise, ddim_step, ddim_timesteps, gaussian_log_prob


def test_ddim_step_matches_diffusers_scheduler(pixel_backbone):
    sched = pixel_backbone.scheduler
    timesteps = ddim_timesteps(pixel_backbone, 5)
    g = torch.Generator().manual_seed(0)
    x, eps, z = (torch.randn(2, 3, 8, 8, generator=g) for _ in range(3))
    for t in timesteps:
        for eta in (0.0, 1.0):
            ours, mean, sigma = ddim_step(pixel_backbone, eps, x, t, eta, z)
            ref = sched.step(eps, t, x, eta=eta, variance_noise=z).prev_sample
            torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
            prev_t = t - 1000 // 5
            expected_sigma = eta * sched._get_variance(t, prev_t) ** 0.5
            torch.testing.assert_close(sigma.float(), torch.as_tensor(expected_sigma).float(), atol=1e-6, rtol=1e-5)


def test_gaussian_log_prob_is_the_per_dimension_mean_of_normal_log_density():
    g = torch.Generator().manual_seed(1)
    x, mean = torch.randn(3, 2, 4, 4, generator=g), torch.randn(3, 2, 4, 4, generator=g)
    sigma = torch.tensor(0.37)
    ref = torch.distributions.Normal(mean, sigma).log_prob(x).flatten(1).mean(1)
    torch.testing.assert_close(gaussian_log_prob(x, mean, sigma), ref)


def test_add_noise_matches_scheduler(pixel_backbone):
    g = torch.Generator().manual_seed(2)
    x0, noise = torch.randn(2, 3, 8, 8, generator=g), torch.randn(2, 3, 8, 8, generator=g)
    t = torch.tensor([10, 700])
    torch.testing.assert_close(add_noise(pixel_backbone, x0, noise, t), pixel_backbone.scheduler.add_noise(x0, noise, t))


def test_instructvideo_editing_grid_matches_the_paper_defaults(pixel_backbone):
    grid = ddim_timesteps(pixel_backbone, 20)
    run = editing_timesteps(grid, 0.6)
    assert len(run) == 12 and int(run[0]) == 551 and int(run[-1]) == 1
    assert len(editing_timesteps(grid, 0.01)) == 1 and len(editing_timesteps(grid, 1.0)) == 20
