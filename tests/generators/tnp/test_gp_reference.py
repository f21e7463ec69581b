"""A tiny neural process trained on a fixed-hyperparameter GP prior against the exact GP posterior.

The exact reference is gpytorch's ``ExactGP`` with the prior's own kernel, outputscale and noise,
so its predictive NLL on held-out prior draws is the Bayes-optimal value the neural process
approaches as it trains (Müller et al. 2022, Sec. 3). The margins below are what these budgets
reach on a laptop CPU; see docs/metabo.md for the measured numbers.
"""

import math

import pytest
import torch

from gendesign.generators.tnp import TransformerNeuralProcess
from gendesign.generators.tnp.priors import build_prior
from gendesign.generators.tnp.tasks import TRAIN_STREAM, TaskSampler
from gendesign.generators.tnp.training import prior_borders, task_nll

LENGTHSCALE, NOISE = 0.3, 0.1
N_HISTORY, N_TARGET = 10, 8


def _prior():
    return build_prior({"name": "gp", "options": {"kernels": ["rbf"], "lengthscale": LENGTHSCALE, "outputscale": 1.0, "noise": NOISE}})


def _train(steps: int, d_model: int) -> TransformerNeuralProcess:
    prior = _prior()
    sampler = TaskSampler(prior, batch_size=32, num_targets=32, min_dim=1, max_dim=1, min_context=2, max_context=12, seed=0)
    torch.manual_seed(0)
    model = TransformerNeuralProcess(max_dim=1, max_context=12, num_buckets=48, d_model=d_model, n_layers=2, n_heads=2, d_ff=2 * d_model)
    model.set_borders(prior_borders(sampler, 48, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 20) * 0.5 * (1 + math.cos(math.pi * i / steps)))
    for i in range(steps):
        loss = task_nll(model, sampler.task(TRAIN_STREAM, i)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


def _exact_gp_nll(xh: torch.Tensor, yh: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor) -> float:
    """Mean predictive NLL of ``yt`` under gpytorch's exact GP posterior with the prior's hyper-parameters."""
    import gpytorch

    class GP(gpytorch.models.ExactGP):
        def __init__(self, x, y, likelihood):
            super().__init__(x, y, likelihood)
            self.mean_module = gpytorch.means.ZeroMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel())

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))

    total = 0.0
    for b in range(xh.shape[0]):
        likelihood = gpytorch.likelihoods.GaussianLikelihood().double()
        likelihood.noise = NOISE
        gp = GP(xh[b], yh[b], likelihood).double()
        gp.covar_module.outputscale = 1.0
        gp.covar_module.base_kernel.lengthscale = LENGTHSCALE
        gp.eval()
        likelihood.eval()
        with torch.no_grad(), gpytorch.settings.fast_computations(False, False, False):
            pred = likelihood(gp(xt[b]))
            total += float(-torch.distributions.Normal(pred.mean, pred.variance.sqrt()).log_prob(yt[b]).mean())
    return total / xh.shape[0]


def _compare(model: TransformerNeuralProcess, tasks: int = 64) -> tuple[float, float, float]:
    """``(tnp, exact GP, context-free Gaussian)`` mean NLL per target on held-out prior draws (natural units)."""
    X, y = _prior().sample(tasks, N_HISTORY + N_TARGET, 1, torch.Generator().manual_seed(12345))
    xh, yh, xt, yt = X[:, :N_HISTORY], y[:, :N_HISTORY], X[:, N_HISTORY:], y[:, N_HISTORY:]
    with torch.no_grad():
        tnp = float(-model.predict(xh, yh, xt).log_prob(yt).mean())
    naive = torch.distributions.Normal(yh.mean(-1, keepdim=True), yh.std(-1, keepdim=True))
    return tnp, _exact_gp_nll(xh, yh, xt, yt), float(-naive.log_prob(yt).mean())


def test_tiny_tnp_learns_to_use_the_history_quickly() -> None:
    tnp, gp, naive = _compare(_train(steps=150, d_model=32))
    assert gp < tnp < naive, f"TNP NLL {tnp:.3f} should lie between the exact GP's {gp:.3f} and the context-free Gaussian's {naive:.3f}"
    assert tnp - gp < 0.75, f"TNP NLL {tnp:.3f} vs exact GP {gp:.3f}"


@pytest.mark.slow
def test_tnp_gets_close_to_the_exact_gp_posterior() -> None:
    tnp, gp, _ = _compare(_train(steps=1000, d_model=32))
    assert tnp - gp < 0.25, f"TNP NLL {tnp:.3f} vs exact GP {gp:.3f}"
