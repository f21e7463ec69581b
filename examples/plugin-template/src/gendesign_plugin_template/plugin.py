"""The hook implementations gendesign calls; the entry point ``template`` points at this module."""

from __future__ import annotations

from gendesign import hookimpl
from gendesign_plugin_template.bigram import BigramDenoiser
from gendesign_plugin_template.objective import LatticeDistance
from gendesign_plugin_template.space import LatticeSpace
from gendesign_plugin_template.strategy import HillClimb
from gendesign_plugin_template.token_count import TokenCount


@hookimpl
def register_design_spaces(register):
    register("lattice", LatticeSpace)


@hookimpl
def register_objectives(register):
    register("lattice_distance", LatticeDistance)
    register("token_count", TokenCount)


@hookimpl
def register_generators(register):
    register("bigram", BigramDenoiser)


@hookimpl
def register_search_strategies(register):
    register("hill_climb", HillClimb)
