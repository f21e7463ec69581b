"""A transformer neural process (TNP / PFN) for meta-Bayesian optimisation.

Modules:

* :mod:`~gendesign.generators.tnp.bar_distribution` - the Riemann ("bar") distribution head: mean,
  variance, quantiles, CDF, log-density, analytic EI, PI, UCB;
* :mod:`~gendesign.generators.tnp.architecture` - history/candidate tokens under the PFN attention mask;
* :mod:`~gendesign.generators.tnp.posterior` - :class:`BarPosterior`, the predictive distribution at a pool;
* :mod:`~gendesign.generators.tnp.model` - :class:`TransformerNeuralProcess`, the generator and surrogate;
* :mod:`~gendesign.generators.tnp.priors` - function priors sampled on the fly (GP, HEBO, random MLP, BoTorch);
* :mod:`~gendesign.generators.tnp.train_config` and :mod:`~gendesign.generators.tnp.training` -
  ``gendesign train`` with a ``generator = "tnp"`` config (Lightning).

See ``docs/metabo.md``.
"""

from gendesign.generators.tnp.bar_distribution import BarDistribution, borders_from_samples
from gendesign.generators.tnp.model import TransformerNeuralProcess, shipped_model_dir, standardise
from gendesign.generators.tnp.posterior import BarPosterior

__all__ = [
    "BarDistribution",
    "BarPosterior",
    "TransformerNeuralProcess",
    "borders_from_samples",
    "shipped_model_dir",
    "standardise",
]
