"""The bar distribution against brute-force integration of its piecewise-uniform density."""

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.generators.tnp.bar_distribution import BarDistribution, borders_from_samples


def _case(seed: int = 0, batch: int = 5, buckets: int = 7) -> tuple[BarDistribution, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    widths = torch.rand(buckets, generator=g, dtype=torch.float64) + 0.1
    borders = torch.cat([torch.tensor([-1.3], dtype=torch.float64), -1.3 + widths.cumsum(0)])
    logits = 2.0 * torch.randn(batch, buckets, generator=g, dtype=torch.float64)
    return BarDistribution(borders), logits


def _density_grid(bar: BarDistribution, logits: torch.Tensor, n: int = 200_001) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Midpoint grid over [b_0, b_K] and the density p_i / w_i evaluated bucket by bucket by hand."""
    lo, hi = float(bar.borders[0]), float(bar.borders[-1])
    h = (hi - lo) / n
    y = lo + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    p = torch.softmax(logits, -1)
    dens = torch.zeros(logits.shape[0], n, dtype=torch.float64)
    for i in range(bar.num_buckets):
        a, b = float(bar.borders[i]), float(bar.borders[i + 1])
        inside = (y >= a) & (y < b)
        dens[:, inside] = (p[:, i] / (b - a)).unsqueeze(-1)
    return y, dens, h


def test_mean_variance_and_total_mass_match_integration() -> None:
    bar, logits = _case()
    y, dens, h = _density_grid(bar, logits)
    assert torch.allclose(dens.sum(-1) * h, torch.ones(logits.shape[0], dtype=torch.float64), atol=1e-4)
    mean = (dens * y).sum(-1) * h
    var = (dens * (y - mean.unsqueeze(-1)).square()).sum(-1) * h
    assert torch.allclose(bar.mean(logits), mean, atol=1e-4)
    assert torch.allclose(bar.variance(logits), var, atol=1e-4)


@pytest.mark.parametrize("f", [-2.0, -1.3, -0.77, 0.0, 0.4321, 1.9, 5.0])
def test_cdf_ei_and_pi_match_integration(f: float) -> None:
    bar, logits = _case(seed=1)
    y, dens, h = _density_grid(bar, logits)
    cdf = (dens * (y <= f)).sum(-1) * h
    ei = (dens * (y - f).clamp_min(0.0)).sum(-1) * h
    fb = torch.full((logits.shape[0],), f, dtype=torch.float64)
    assert torch.allclose(bar.cdf(logits, fb), cdf, atol=1e-4)
    assert torch.allclose(bar.expected_improvement(logits, f), ei, atol=1e-4)
    assert torch.allclose(bar.probability_of_improvement(logits, f), 1.0 - cdf, atol=1e-4)


def test_log_prob_is_the_bucket_density_and_nll_clamps() -> None:
    bar, logits = _case(seed=2)
    p = torch.softmax(logits, -1)
    for i in range(bar.num_buckets):
        mid = 0.5 * (bar.borders[i] + bar.borders[i + 1])
        got = bar.log_prob(logits, mid.expand(logits.shape[0]))
        assert torch.allclose(got, (p[:, i] / bar.widths[i]).log())
    below = torch.full((logits.shape[0],), -50.0, dtype=torch.float64)
    assert bool(torch.isinf(bar.log_prob(logits, below)).all())
    edge = bar.borders[0].expand(logits.shape[0])
    assert torch.allclose(bar.nll(logits, below), -bar.log_prob(logits, edge))


def test_quantile_inverts_the_cdf() -> None:
    bar, logits = _case(seed=3)
    for q in (0.01, 0.2, 0.5, 0.77, 0.99):
        x = bar.quantile(logits, q)
        assert torch.allclose(bar.cdf(logits, x), torch.full_like(x, q), atol=1e-9)


def test_ucb_and_per_output_borders_broadcast() -> None:
    bar, logits = _case(seed=4)
    assert torch.allclose(bar.upper_confidence_bound(logits, beta=4.0), bar.mean(logits) + 2.0 * bar.variance(logits).sqrt())
    # Two border sets (one per output), shifted and scaled: statistics follow the affine map.
    stacked = BarDistribution(torch.stack([bar.borders, 3.0 * bar.borders + 1.0]))
    two = torch.stack([logits, logits], dim=1)  # [b, 2, K]
    assert torch.allclose(stacked.mean(two)[:, 1], 3.0 * bar.mean(logits) + 1.0)
    assert torch.allclose(stacked.variance(two)[:, 1], 9.0 * bar.variance(logits))
    f = torch.tensor([0.1, 3.0 * 0.1 + 1.0], dtype=torch.float64)
    ei = stacked.expected_improvement(two, f)
    assert torch.allclose(ei[:, 1], 3.0 * ei[:, 0])


def test_borders_from_samples_sit_at_quantiles() -> None:
    samples = torch.randn(50_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    borders = borders_from_samples(samples, 10, margin=0.0).double()
    inner = borders[1:-1]
    expected = torch.special.ndtri(torch.arange(1, 10, dtype=torch.float64) / 10)
    assert torch.allclose(inner, expected, atol=0.03)
    assert float(borders[0]) == pytest.approx(float(samples.min()), abs=1e-6)
    with pytest.raises(ConfigError, match="strictly increasing"):
        BarDistribution(torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64))
