"""TransformerNeuralProcess: the attention mask, invariances, natural units, save/load, surrogate conformance."""

from pathlib import Path

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.protocols import Surrogate, Trainable, conforms
from gendesign.generators.tnp import BarPosterior, TransformerNeuralProcess
from gendesign.generators.tnp.architecture import history_mask
from gendesign.testing.generators import SurrogateConformance


def _model(seed: int = 0, max_dim: int = 4) -> TransformerNeuralProcess:
    torch.manual_seed(seed)
    return TransformerNeuralProcess(max_dim=max_dim, num_buckets=16, d_model=16, n_layers=2, n_heads=2, d_ff=32).eval()


def _data(n: int, m: int, d: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, n, d, generator=g), torch.randn(1, n, generator=g), torch.rand(1, m, d, generator=g)


def test_mask_lets_tokens_see_history_and_themselves_only() -> None:
    blocked = history_mask(2, 3)
    allowed = ~blocked
    assert allowed[:, :2].all()
    assert torch.equal(allowed[2:, 2:], torch.eye(3, dtype=torch.bool))
    assert torch.equal(allowed[:2, 2:], torch.zeros(2, 3, dtype=torch.bool))


def test_candidate_prediction_ignores_other_candidates() -> None:
    model = _model()
    xh, yh, xc = _data(6, 9)
    with torch.no_grad():
        full = model(xh, yh, xc)
        alone = torch.cat([model(xh, yh, xc[:, i : i + 1]) for i in range(9)], dim=1)
        perm = torch.randperm(9, generator=torch.Generator().manual_seed(1))
        permuted = model(xh, yh, xc[:, perm])
        extra = model(xh, yh, torch.cat([xc, torch.rand(1, 20, 3)], dim=1))[:, :9]
    assert torch.allclose(full, alone, atol=1e-5)
    assert torch.allclose(full[:, perm], permuted, atol=1e-5)
    assert torch.allclose(full, extra, atol=1e-5)
    with torch.no_grad():
        chunked = model(xh, yh, xc, chunk_size=4)
    assert torch.allclose(full, chunked, atol=1e-5)


def test_prediction_ignores_the_order_of_the_history_but_not_its_content() -> None:
    model = _model()
    xh, yh, xc = _data(7, 4)
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a = model(xh, yh, xc)
        b = model(xh[:, perm], yh[:, perm], xc)
        c = model(xh, yh.flip(-1), xc)
    assert torch.allclose(a, b, atol=1e-5)
    assert not torch.allclose(a, c, atol=1e-3)


def test_posterior_is_affine_equivariant_in_y() -> None:
    model = _model()
    xh, yh, xc = _data(8, 5)
    model.condition(xh[0].double(), yh[0].double())
    base = model.posterior(xc[0].double())
    model.condition(xh[0].double(), 3.0 * yh[0].double() - 7.0)
    moved = model.posterior(xc[0].double())
    assert torch.allclose(moved.mean, 3.0 * base.mean - 7.0, atol=1e-6)
    assert torch.allclose(moved.variance, 9.0 * base.variance, atol=1e-6)
    assert torch.allclose(moved.expected_improvement(3.0 * 0.2 - 7.0), 3.0 * base.expected_improvement(0.2), atol=1e-6)
    assert torch.allclose(moved.quantile(0.9), 3.0 * base.quantile(0.9) - 7.0, atol=1e-6)


def test_outputs_are_predicted_column_by_column() -> None:
    model = _model()
    xh, yh, xc = _data(8, 5)
    y2 = torch.stack([yh[0], yh[0].exp()], dim=-1)
    model.condition(xh[0], y2)
    both = model.posterior(xc[0])
    model.condition(xh[0], y2[:, 1])
    second = model.posterior(xc[0])
    assert isinstance(both, BarPosterior) and both.logits.shape == (5, 2, 16) and both.borders.shape == (2, 17)
    assert torch.allclose(both.mean[:, 1:], second.mean, atol=1e-6)
    assert torch.allclose(both.logits[:, 1:], second.logits, atol=1e-6)


def test_posterior_is_differentiable_in_the_candidates() -> None:
    model = _model()
    xh, yh, xc = _data(5, 3)
    model.condition(xh[0], yh[0])
    x = xc[0].clone().requires_grad_(True)
    model.posterior(x).expected_improvement(float(yh.max())).sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0


def test_bad_inputs_name_the_fix() -> None:
    model = _model(max_dim=2)
    with pytest.raises(ConfigError, match="max_dim=2"):
        model.condition(torch.rand(4, 3), torch.rand(4))
    with pytest.raises(ConfigError, match="call condition"):
        model.posterior(torch.rand(2, 2))
    model.condition(torch.rand(4, 2), torch.rand(4))
    with pytest.raises(ConfigError, match=r"\[M, 2\]"):
        model.posterior(torch.rand(2, 1))
    with pytest.raises(ConfigError, match="NaN"):
        model.condition(torch.rand(2, 2), torch.tensor([0.0, float("nan")]))


def test_save_and_load_round_trip_exactly(tmp_path: Path) -> None:
    model = _model(seed=3)
    model.set_borders(torch.linspace(-2.0, 3.0, 17))
    model.register_config(**{**model.config, "prior": {"name": "gp", "options": {"lengthscale": 0.3}}})
    model.save_pretrained(tmp_path / "m")
    loaded = TransformerNeuralProcess.from_pretrained(tmp_path / "m")
    assert loaded.config == model.config and loaded.config["prior"]["options"]["lengthscale"] == 0.3
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a, b), k
    xh, yh, xc = _data(6, 4)
    with torch.no_grad():
        assert torch.equal(model(xh, yh, xc), loaded(xh, yh, xc))


def test_the_class_is_trainable_and_the_model_a_surrogate() -> None:
    assert conforms(TransformerNeuralProcess, Trainable)
    assert conforms(_model(), Surrogate)


class TestShippedModelIsASurrogate(SurrogateConformance):
    """The shipped model (GP/HEBO prior, noisy observations) as a surrogate.

    The second output, ``sin(6 (x1 + x2))`` seen at 12 points, is rough for the shipped prior, which
    smooths it to a mean absolute error of 0.6 times the data's spread; the first gets 0.47.
    """

    interpolates = False
    smoothing_ratio = 0.7

    def make_surrogate(self) -> TransformerNeuralProcess:
        return TransformerNeuralProcess.shipped()
