"""A template gendesign plugin: a lattice design space, two objectives, a hill climber and a bigram generator."""

from gendesign_plugin_template.bigram import BigramDenoiser
from gendesign_plugin_template.objective import LatticeDistance
from gendesign_plugin_template.space import LatticeSpace
from gendesign_plugin_template.strategy import HillClimb
from gendesign_plugin_template.token_count import TokenCount

__all__ = ["BigramDenoiser", "HillClimb", "LatticeDistance", "LatticeSpace", "TokenCount"]
__version__ = "0.1.0"
