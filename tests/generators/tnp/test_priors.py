"""Function priors: GP covariances match the kernels, HEBO drops features, seeds repeat, settings rebuild the prior."""

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.generators.tnp.priors import PRIORS, build_prior


def _g(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("kernel", "k"),
    [
        ("rbf", lambda r, ls: math.exp(-0.5 * (r / ls) ** 2)),
        ("matern52", lambda r, ls: (1 + math.sqrt(5) * r / ls + 5 * r**2 / (3 * ls**2)) * math.exp(-math.sqrt(5) * r / ls)),
        ("matern12", lambda r, ls: math.exp(-r / ls)),
    ],
)
def test_gp_prior_draws_have_the_kernel_covariance(kernel, k) -> None:
    prior = build_prior({"name": "gp", "options": {"kernels": [kernel], "lengthscale": 0.5, "outputscale": 2.0, "noise": 0.1}})
    b = 4000
    X = torch.tensor([[0.2], [0.6]], dtype=torch.float64).expand(b, 2, 1)
    y = prior.evaluate(X, _g())
    cov = torch.cov(y.T)
    assert float(cov[0, 0]) == pytest.approx(2.1, abs=0.2) and float(cov[1, 1]) == pytest.approx(2.1, abs=0.2)
    assert float(cov[0, 1]) == pytest.approx(2.0 * k(0.4, 0.5), abs=0.2)
    assert abs(float(y.mean())) < 0.1


def test_hebo_prior_ignores_unused_features() -> None:
    prior = build_prior({"name": "hebo", "options": {"unused_feature_probability": 0.99999, "warp_probability": 0.0, "noise": 0.0, "outputscale": 1.0, "lengthscale": 0.3}})
    b = 64
    pts = torch.tensor([[0.2, 0.3], [0.2, 0.8], [0.7, 0.3]], dtype=torch.float64).expand(b, 3, 2)
    y = prior.evaluate(pts, _g(1))
    only_x1 = (y[:, 0] - y[:, 2]).abs() < 0.02  # x0 ignored: same x1, same value
    only_x0 = (y[:, 0] - y[:, 1]).abs() < 0.02  # x1 ignored
    assert bool((only_x0 ^ only_x1).all()), "with p(unused) ~ 1 exactly one feature should drive each function"
    assert 0 < int(only_x0.sum()) < b


def test_hebo_warping_changes_the_function() -> None:
    opts = {"unused_feature_probability": 0.0, "noise": 0.0, "outputscale": 1.0, "lengthscale": 0.3}
    X = torch.rand(8, 20, 2, generator=_g(2), dtype=torch.float64)
    plain = build_prior({"name": "hebo", "options": {**opts, "warp_probability": 0.0}}).evaluate(X, _g(3))
    warped = build_prior({"name": "hebo", "options": {**opts, "warp_probability": 1.0}}).evaluate(X, _g(3))
    assert not torch.allclose(plain, warped, atol=1e-2)


@pytest.mark.parametrize("name", sorted(PRIORS))
def test_every_prior_is_seeded_and_rebuilds_from_its_settings(name: str) -> None:
    prior = build_prior({"name": name})
    X, y = prior.sample(6, 15, 3, _g(4))
    assert X.shape == (6, 15, 3) and y.shape == (6, 15) and bool(torch.isfinite(y).all())
    assert bool((X >= 0).all() and (X <= 1).all())
    again = build_prior(prior.settings()).sample(6, 15, 3, _g(4))
    assert torch.equal(again[1], y)
    other = prior.sample(6, 15, 3, _g(5))[1]
    assert not torch.allclose(other, y)


def test_botorch_prior_scales_outputs_and_checks_dimensions() -> None:
    prior = build_prior({"name": "botorch", "options": {"functions": ["rosenbrock", "griewank"], "log_scale_range": 0.0, "offset_std": 0.0, "noise_std": 0.0}})
    _, y = prior.sample(5, 30, 2, _g(6))
    assert torch.allclose(y.std(-1), torch.ones(5, dtype=torch.float64), atol=1e-9)
    with pytest.raises(ConfigError, match="d=1"):
        build_prior({"name": "botorch", "options": {"functions": ["rosenbrock"]}}).sample(2, 5, 1, _g())


def test_mixture_settings_and_errors() -> None:
    spec = {"name": "mixture", "components": [{"name": "gp", "weight": 3.0}, {"name": "bnn", "weight": 1.0}]}
    prior = build_prior(spec)
    settings = prior.settings()
    assert [c["name"] for c in settings["components"]] == ["gp", "bnn"] and settings["components"][0]["weight"] == 3.0
    assert torch.equal(build_prior(settings).sample(3, 7, 2, _g(7))[1], prior.sample(3, 7, 2, _g(7))[1])
    with pytest.raises(ConfigError, match="lengthscal"):
        build_prior({"name": "gp", "options": {"lengthscal": 0.2}})
    with pytest.raises(ConfigError, match="mixture"):
        build_prior({"name": "gp", "components": [{"name": "gp"}]})
