"""A template gendesign plugin: a lattice design space, a distance objective and a hill climber."""

from gendesign_plugin_template.objective import LatticeDistance
from gendesign_plugin_template.space import LatticeSpace
from gendesign_plugin_template.strategy import HillClimb

__all__ = ["HillClimb", "LatticeDistance", "LatticeSpace"]
__version__ = "0.1.0"
