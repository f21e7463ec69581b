"""Masked discrete diffusion (MDLM): schedules, denoiser, model, sampler, training and likelihoods.

See ``docs/mdlm.md``. The names below are imported on first access, so importing a light module of
this package (``orders``, ``commands``) imports neither torch nor Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "LogLinearSchedule": "gendesign.generators.mdlm.schedule",
    "MaskedDiffusionLM": "gendesign.generators.mdlm.model",
    "PolynomialSchedule": "gendesign.generators.mdlm.schedule",
    "Sampler": "gendesign.generators.mdlm.sampler",
    "StateDependentSchedule": "gendesign.generators.mdlm.schedule",
    "reverse_step": "gendesign.generators.mdlm.sampler",
}

__all__ = ["LogLinearSchedule", "MaskedDiffusionLM", "PolynomialSchedule", "Sampler", "StateDependentSchedule", "reverse_step"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gendesign.generators.mdlm' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
