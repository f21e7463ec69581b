"""Masked discrete diffusion (MDLM): schedules, denoiser, model, sampler, training and likelihoods.

See ``docs/mdlm.md``. Importing this package does not import Lightning; ``training`` does, lazily.
"""

from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.sampler import Sampler, reverse_step
from gendesign.generators.mdlm.schedule import LogLinearSchedule, PolynomialSchedule, StateDependentSchedule

__all__ = ["LogLinearSchedule", "MaskedDiffusionLM", "PolynomialSchedule", "Sampler", "StateDependentSchedule", "reverse_step"]
