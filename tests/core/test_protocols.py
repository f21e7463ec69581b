"""Generator protocols: structural checks with named missing members, registry-built generators, conformance of the built-ins."""

import math

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.generator import GeneratorSpec, build_generator, generator_context
from gendesign.core.protocols import (
    AnchoredDenoiser,
    Posterior,
    StepwiseDenoiser,
    TokenSpace,
    conforms,
    missing_members,
    protocol_members,
    require_protocol,
)
from gendesign.core.registry import Registry
from gendesign.core.sequence_space import SequenceSpace
from gendesign.testing.generators import SurrogateConformance, TokenSpaceConformance


class TestCharSequenceSpace(TokenSpaceConformance):
    def make_space(self):
        return SequenceSpace("ACGT", min_length=2, max_length=9)


class TestTokenSequenceSpace(TokenSpaceConformance):
    def make_space(self):
        return SequenceSpace(["Ala", "dK", "Orn", "G"], length=5, separator="-")


class ExactGP:
    """Independent exact GP regression per output: RBF kernel, fixed lengthscale and noise (Rasmussen & Williams 2006, Eq. 2.25-2.26).

    ``mean = K_*^T (K + s^2 I)^{-1} y``, ``var = k_** - K_*^T (K + s^2 I)^{-1} K_*``.
    """

    def __init__(self, lengthscale: float = 0.3, noise: float = 1e-6) -> None:
        self.lengthscale, self.noise = lengthscale, noise

    def _k(self, a, b):
        return torch.exp(-0.5 * torch.cdist(a, b).pow(2) / self.lengthscale**2)

    def condition(self, X, y):
        self.X = X.double()
        self.y = (y if y.ndim == 2 else y.unsqueeze(-1)).double()
        self.chol = torch.linalg.cholesky(self._k(self.X, self.X) + self.noise * torch.eye(len(X), dtype=torch.float64))

    def posterior(self, X):
        ks = self._k(self.X, X.double())
        mean = ks.T @ torch.cholesky_solve(self.y, self.chol)
        v = torch.linalg.solve_triangular(self.chol, ks, upper=False)
        var = (1.0 - v.pow(2).sum(0)).clamp_min(0).unsqueeze(-1).expand_as(mean)
        return Posterior(mean, var.clone())


class TestExactGPSurrogate(SurrogateConformance):
    def make_surrogate(self):
        return ExactGP()


def test_exact_gp_matches_the_one_point_closed_form():
    gp = ExactGP(lengthscale=0.5, noise=0.1)
    gp.condition(torch.tensor([[0.0]]), torch.tensor([2.0]))
    post = gp.posterior(torch.tensor([[0.3]]))
    k = math.exp(-0.5 * 0.3**2 / 0.5**2)
    assert post.mean.item() == pytest.approx(k / 1.1 * 2.0)
    assert post.variance.item() == pytest.approx(1.0 - k * k / 1.1)
    assert post.quantile(0.5).item() == pytest.approx(post.mean.item())
    assert post.quantile(0.975).item() == pytest.approx(post.mean.item() + 1.959964 * post.variance.sqrt().item(), rel=1e-5)


def test_require_names_the_missing_members():
    class HalfDenoiser:
        vocab_size, pad_id, mask_id, max_length = 3, 3, 4, 8

        def reverse_step(self, x_t, t, s, **kw):
            return x_t, torch.zeros(x_t.shape)

    assert "anchored_step" in protocol_members(AnchoredDenoiser) and "reverse_step" in protocol_members(AnchoredDenoiser)
    assert missing_members(HalfDenoiser(), StepwiseDenoiser) == ["device", "length_counts"]
    with pytest.raises(ConfigError, match=r"strategy 'x' needs a StepwiseDenoiser, but my model \(HalfDenoiser\) lacks device, length_counts"):
        require_protocol(HalfDenoiser(), StepwiseDenoiser, what="my model", needed_by="strategy 'x'")
    space = SequenceSpace("AB", length=2)
    assert require_protocol(space, TokenSpace, what="s", needed_by="n") is space and conforms(space, TokenSpace)


class Saved:
    """A generator class that records how it was loaded."""

    def __init__(self, width: int = 1) -> None:
        self.width = width

    @classmethod
    def from_pretrained(cls, directory, *, device="cpu", width: int = 2):
        out = cls(width)
        out.directory, out.device = str(directory), device
        return out


def test_build_generator_loads_through_the_registered_class(tmp_path):
    reg = Registry("generator")
    reg.register("saved", Saved, plugin="test")
    model = build_generator(reg, {"name": "saved", "path": str(tmp_path), "options": {"width": 5}}, device="cpu")
    assert (model.directory, model.width) == (str(tmp_path), 5)
    assert build_generator(reg, GeneratorSpec(name="saved", options={"width": 3})).width == 3
    with pytest.raises(ConfigError, match="unknown generator 'saaved'. Did you mean 'saved'"):
        build_generator(reg, {"name": "saaved", "path": str(tmp_path)})
    with pytest.raises(ConfigError, match="not a local directory"):
        build_generator(reg, {"name": "saved", "path": str(tmp_path / "nope")})
    with pytest.raises(ConfigError, match=r"options \['depth'\] are not options of its from_pretrained; allowed: width"):
        build_generator(reg, {"name": "saved", "path": str(tmp_path), "options": {"depth": 1}})
    with pytest.raises(ConfigError, match="pth"):
        build_generator(reg, {"name": "saved", "pth": "x"})
    with pytest.raises(ConfigError, match="needs a StepwiseDenoiser, but generator .saved. \\(Saved\\) lacks length_counts, mask_id, max_length"):
        build_generator(reg, {"name": "saved", "path": str(tmp_path)}, protocol=StepwiseDenoiser, needed_by="strategy 'mcts'")


def test_generator_context_uses_the_space_default_and_says_what_is_missing(tmp_path):
    from gendesign.core.plugins import PluginSystem
    from gendesign.search.mcts import MCTS

    system = PluginSystem(entry_points=False)
    space = SequenceSpace("AB", length=2)
    assert generator_context(system, SequenceSpace, {}) == {}
    with pytest.raises(ConfigError, match="needs a generator: add generator = "):
        generator_context(system, MCTS, {"steps": 2}, space=space, needed_by="[strategy] 'mcts'")


def test_conforms_sees_module_buffers_and_submodules():
    """``conforms`` finds members served by ``nn.Module.__getattr__`` (``isinstance`` does not from Python 3.12)."""
    from typing import Protocol, runtime_checkable

    @runtime_checkable
    class HasCountsAndHead(Protocol):
        length_counts: torch.Tensor
        head: torch.nn.Module

    module = torch.nn.Module()
    assert not conforms(module, HasCountsAndHead)
    module.register_buffer("length_counts", torch.ones(3))
    assert not conforms(module, HasCountsAndHead)
    module.head = torch.nn.Linear(2, 2)
    assert conforms(module, HasCountsAndHead)
