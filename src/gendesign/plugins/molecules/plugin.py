"""The built-in molecules plugin: molecule design spaces and small RDKit objectives.

* spaces: ``smiles`` (:class:`~gendesign.plugins.molecules.smiles.SmilesSpace`) and ``selfies``
  (:class:`~gendesign.plugins.molecules.selfies_space.SelfiesSpace`, a token space whose default
  generator is the shipped SELFIES MDLM);
* objectives: ``qed``, ``heavy_atoms`` and ``logp``
  (:mod:`~gendesign.plugins.molecules.objectives`).

RDKit and ``selfies`` load when a part is built, not here.
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl
from gendesign.plugins.molecules.objectives import heavy_atoms, logp, qed
from gendesign.plugins.molecules.selfies_space import SelfiesSpace
from gendesign.plugins.molecules.smiles import SmilesSpace


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("smiles", SmilesSpace)
    register("selfies", SelfiesSpace)


@hookimpl
def register_objectives(register: Register) -> None:
    register("qed", qed)
    register("heavy_atoms", heavy_atoms)
    register("logp", logp)
