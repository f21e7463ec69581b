"""The built-in plugin for the core parts: generic spaces, strategies and benchmark objectives.

It registers through the same hooks as any third-party plugin:

* spaces: ``sequence`` (:class:`~gendesign.core.sequence_space.SequenceSpace`),
  ``box`` (:class:`~gendesign.core.box_space.BoxSpace`);
* strategies: ``random`` (:class:`~gendesign.search.random.RandomSearch`),
  ``evolution`` (:class:`~gendesign.search.evolution.Evolution`), ``best_of_n`` (alias
  ``mdlm_sample``; :class:`~gendesign.search.best_of_n.BestOfN`, over any sequence sampler);
* the generator-backed space ``infill`` (alias ``mdlm``; :class:`~gendesign.search.infill_space.InfillSpace`)
  and objective ``naturalness`` (alias ``mdlm_naturalness``; :class:`~gendesign.objectives.naturalness.Naturalness`);
* objectives: ``ehrlich`` (:class:`~gendesign.objectives.ehrlich.Ehrlich`), and BoTorch's
  ``branin_currin``, ``dtlz2``, ``zdt1``, ``zdt2``, ``zdt3``
  (:mod:`gendesign.objectives.botorch_problems`).

BoTorch itself is imported only when a BoTorch problem is built, so listing plugins stays cheap.
"""

from __future__ import annotations

from gendesign.core.box_space import BoxSpace
from gendesign.core.hookspecs import Register, hookimpl
from gendesign.core.sequence_space import SequenceSpace
from gendesign.objectives.botorch_problems import DTLZ2, ZDT1, ZDT2, ZDT3, BraninCurrin
from gendesign.objectives.ehrlich import Ehrlich
from gendesign.objectives.naturalness import Naturalness
from gendesign.search.best_of_n import BestOfN
from gendesign.search.evolution import Evolution
from gendesign.search.infill_space import InfillSpace
from gendesign.search.random import RandomSearch


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("sequence", SequenceSpace)
    register("box", BoxSpace)
    register("infill", InfillSpace, aliases=("mdlm",))


@hookimpl
def register_search_strategies(register: Register) -> None:
    register("random", RandomSearch)
    register("evolution", Evolution, aliases=("ga", "nsga2"))
    register("best_of_n", BestOfN, aliases=("mdlm_sample",))


@hookimpl
def register_objectives(register: Register) -> None:
    register("ehrlich", Ehrlich)
    register("naturalness", Naturalness, aliases=("mdlm_naturalness",))
    register("branin_currin", BraninCurrin)
    register("dtlz2", DTLZ2)
    register("zdt1", ZDT1)
    register("zdt2", ZDT2)
    register("zdt3", ZDT3)
