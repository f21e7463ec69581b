"""The built-in molecules plugin: molecule design spaces and small RDKit objectives.

* spaces: ``smiles`` (:class:`~gendesign.plugins.molecules.smiles.SmilesSpace`) and ``selfies``
  (:class:`~gendesign.plugins.molecules.selfies_space.SelfiesSpace`, a token space whose default
  generator is the shipped SELFIES MDLM);
* objectives: ``qed``, ``heavy_atoms`` and ``logp``
  (:mod:`~gendesign.plugins.molecules.objectives`).

RDKit and ``selfies`` load when a part is built, not here.
"""

from __future__ import annotations

from typing import Any

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("smiles", "gendesign.plugins.molecules.smiles:SmilesSpace")
    register("selfies", "gendesign.plugins.molecules.selfies_space:SelfiesSpace")


@hookimpl
def register_objectives(register: Register) -> None:
    register("qed", "gendesign.plugins.molecules.objectives:qed")
    register("heavy_atoms", "gendesign.plugins.molecules.objectives:heavy_atoms")
    register("logp", "gendesign.plugins.molecules.objectives:logp")


@hookimpl
def register_commands(cli: Any) -> None:
    from gendesign.plugins.molecules.commands import benchmark_group, molecules_mo_command, pmo_command

    group = benchmark_group(cli)
    group.add_command(pmo_command)
    group.add_command(molecules_mo_command)
