"""The built-in plugin for the core parts: generic spaces, strategies and benchmark objectives.

It registers through the same hooks as any third-party plugin:

* spaces: ``sequence`` (:class:`~gendesign.core.sequence_space.SequenceSpace`),
  ``box`` (:class:`~gendesign.core.box_space.BoxSpace`);
* strategies: ``random`` (:class:`~gendesign.search.random.RandomSearch`),
  ``evolution`` (:class:`~gendesign.search.evolution.Evolution`), ``best_of_n`` (alias
  ``mdlm_sample``; :class:`~gendesign.search.best_of_n.BestOfN`, over any sequence sampler),
  ``bo`` (alias ``botorch``; :class:`~gendesign.search.bo.BayesianOptimization`);
* the generator-backed space ``infill`` (alias ``mdlm``; :class:`~gendesign.search.infill_space.InfillSpace`)
  and objective ``naturalness`` (alias ``mdlm_naturalness``; :class:`~gendesign.objectives.naturalness.Naturalness`);
* objectives: ``ehrlich`` (:class:`~gendesign.objectives.ehrlich.Ehrlich`), ``lab``
  (:class:`~gendesign.objectives.lab.LabMeasurement`, columns measured outside gendesign), and BoTorch's
  ``branin_currin``, ``dtlz2``, ``zdt1``, ``zdt2``, ``zdt3``
  (:mod:`gendesign.objectives.botorch_problems`); the composites ``ensemble``
  (:func:`~gendesign.objectives.image_ensemble.build_ensemble`) and ``constrained_reward``
  (:class:`~gendesign.objectives.constrained_reward.ConstrainedReward`);
* executors: ``inline``, ``process`` (:mod:`gendesign.core.executor`) and ``ray``
  (:mod:`gendesign.core.ray_executor`; Ray is imported only when a Ray executor is built);
* the memory key ``identical`` for diversity filters (:class:`~gendesign.core.memory.IdenticalKey`);
* the command ``gendesign compare-objectives`` (:mod:`gendesign.objectives.commands`).

BoTorch itself is imported only when a BoTorch problem is built, so listing plugins stays cheap.
"""

from __future__ import annotations

from typing import Any

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("sequence", "gendesign.core.sequence_space:SequenceSpace")
    register("box", "gendesign.core.box_space:BoxSpace")
    register("infill", "gendesign.search.infill_space:InfillSpace", aliases=("mdlm",))


@hookimpl
def register_search_strategies(register: Register) -> None:
    register("random", "gendesign.search.random:RandomSearch")
    register("evolution", "gendesign.search.evolution:Evolution", aliases=("ga", "nsga2"))
    register("best_of_n", "gendesign.search.best_of_n:BestOfN", aliases=("mdlm_sample",))
    register("bo", "gendesign.search.bo:BayesianOptimization", aliases=("botorch",))


@hookimpl
def register_objectives(register: Register) -> None:
    register("ehrlich", "gendesign.objectives.ehrlich:Ehrlich")
    register("lab", "gendesign.objectives.lab:LabMeasurement")
    register("naturalness", "gendesign.objectives.naturalness:Naturalness", aliases=("mdlm_naturalness",))
    register("branin_currin", "gendesign.objectives.botorch_problems:BraninCurrin")
    register("dtlz2", "gendesign.objectives.botorch_problems:DTLZ2")
    register("zdt1", "gendesign.objectives.botorch_problems:ZDT1")
    register("zdt2", "gendesign.objectives.botorch_problems:ZDT2")
    register("zdt3", "gendesign.objectives.botorch_problems:ZDT3")
    register("synthetic", "gendesign.objectives.synthetic:SyntheticFunction")
    register("ensemble", "gendesign.objectives.image_ensemble:build_ensemble")
    register("constrained_reward", "gendesign.objectives.constrained_reward:ConstrainedReward")


@hookimpl
def register_executors(register: Register) -> None:
    register("inline", "gendesign.core.executor:InlineExecutor")
    register("process", "gendesign.core.executor:ProcessPoolExecutor")
    register("ray", "gendesign.core.ray_executor:RayExecutor")


@hookimpl
def register_memory_keys(register: Register) -> None:
    register("identical", "gendesign.core.memory:IdenticalKey")


@hookimpl
def register_commands(cli: Any) -> None:
    from gendesign.objectives.commands import compare_objectives_command

    cli.add_command(compare_objectives_command)
