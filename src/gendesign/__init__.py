"""gendesign: reward-guided generative design.

The public facade::

    import gendesign
    result = gendesign.optimize(objective=f, space=space, strategy="evolution", budget=500)

The names below are imported on first access (PEP 562 module ``__getattr__``), so ``import
gendesign`` (and with it ``gendesign --help``, ``list`` and ``plugins``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Campaign": "gendesign.core.campaign",
    "CampaignResult": "gendesign.core.campaign",
    "ParetoPoint": "gendesign.core.campaign",
    "Record": "gendesign.core.campaign",
    "Ledger": "gendesign.core.ledger",
    "HeldOut": "gendesign.core.evaluate",
    "OptimizationResult": "gendesign.api.facade",
    "optimize": "gendesign.api.facade",
    "DesignSpace": "gendesign.core.designs",
    "CampaignError": "gendesign.core.errors",
    "ConfigError": "gendesign.core.errors",
    "GendesignError": "gendesign.core.errors",
    "InvalidDesignError": "gendesign.core.errors",
    "MissingDependencyError": "gendesign.core.errors",
    "ObjectiveError": "gendesign.core.errors",
    "PluginError": "gendesign.core.errors",
    "UnknownNameError": "gendesign.core.errors",
    "FunctionObjective": "gendesign.core.objective",
    "Objective": "gendesign.core.objective",
    "ObjectiveSpec": "gendesign.core.objective",
    "Scores": "gendesign.core.objective",
    "Generator": "gendesign.core.generator",
    "hookimpl": "gendesign.core.hookspecs",
    "get_plugins": "gendesign.core.plugins",
    "SearchStrategy": "gendesign.core.strategy",
    "StrategyOptions": "gendesign.core.strategy",
    "finetune": "gendesign.api.facade",
    "load_finetuned": "gendesign.generators.diffusion.checkpoint",
    "export_finetuned": "gendesign.generators.diffusion.export",
}

__all__ = [
    "Campaign",
    "CampaignError",
    "CampaignResult",
    "ConfigError",
    "DesignSpace",
    "FunctionObjective",
    "GendesignError",
    "Generator",
    "HeldOut",
    "InvalidDesignError",
    "Ledger",
    "MissingDependencyError",
    "Objective",
    "ObjectiveError",
    "ObjectiveSpec",
    "OptimizationResult",
    "ParetoPoint",
    "PluginError",
    "Record",
    "Scores",
    "SearchStrategy",
    "StrategyOptions",
    "UnknownNameError",
    "export_finetuned",
    "finetune",
    "get_plugins",
    "hookimpl",
    "load_finetuned",
    "optimize",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gendesign' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:
    from gendesign.api.facade import OptimizationResult, finetune, optimize
    from gendesign.core.campaign import Campaign, CampaignResult, ParetoPoint, Record
    from gendesign.core.designs import DesignSpace
    from gendesign.core.errors import (
        CampaignError,
        ConfigError,
        GendesignError,
        InvalidDesignError,
        MissingDependencyError,
        ObjectiveError,
        PluginError,
        UnknownNameError,
    )
    from gendesign.core.evaluate import HeldOut
    from gendesign.core.generator import Generator
    from gendesign.core.hookspecs import hookimpl
    from gendesign.core.ledger import Ledger
    from gendesign.core.objective import FunctionObjective, Objective, ObjectiveSpec, Scores
    from gendesign.core.plugins import get_plugins
    from gendesign.core.strategy import SearchStrategy, StrategyOptions
    from gendesign.generators.diffusion.checkpoint import load_finetuned
    from gendesign.generators.diffusion.export import export_finetuned
