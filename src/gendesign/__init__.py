"""gendesign: reward-guided generative design.

The public facade::

    import gendesign
    result = gendesign.optimize(objective=f, space=space, strategy="evolution", budget=500)
"""

from gendesign.api import OptimizationResult, optimize
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
from gendesign.core.generator import Generator
from gendesign.core.hookspecs import hookimpl
from gendesign.core.ledger import Ledger
from gendesign.core.objective import FunctionObjective, Objective, ObjectiveSpec, Scores
from gendesign.core.plugins import get_plugins
from gendesign.core.strategy import SearchStrategy, StrategyOptions

__version__ = "0.1.0"

__all__ = [
    "Campaign",
    "CampaignResult",
    "Ledger",
    "OptimizationResult",
    "ParetoPoint",
    "Record",
    "optimize",
    "CampaignError",
    "ConfigError",
    "DesignSpace",
    "FunctionObjective",
    "GendesignError",
    "Generator",
    "InvalidDesignError",
    "MissingDependencyError",
    "Objective",
    "ObjectiveError",
    "ObjectiveSpec",
    "PluginError",
    "Scores",
    "SearchStrategy",
    "StrategyOptions",
    "UnknownNameError",
    "get_plugins",
    "hookimpl",
]
