"""The built-in peptide plugin: peptide design spaces and peptide objectives.

* spaces: ``peptide`` (:class:`~gendesign.plugins.peptides.space.PeptideSpace`, residue level) and
  ``peptide_smiles`` (:class:`~gendesign.plugins.peptides.space.PeptideSmilesSpace`);
* objectives: ``amp_probability``, ``peptide_descriptors``, ``solubility_proxy``,
  ``hemolysis_proxy``, ``permeability_proxy``,
  ``protease_resistance_proxy`` and ``user_model``.

Nothing heavy is imported here: RDKit, modlAMP and the classifier weights load when a part is built.
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl
from gendesign.plugins.peptides.objectives import (
    AMPProbability,
    PeptideDescriptors,
    UserModelObjective,
    hemolysis_proxy,
    permeability_proxy,
    protease_resistance_proxy,
    solubility_proxy,
)
from gendesign.plugins.peptides.space import PeptideSmilesSpace, PeptideSpace


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("peptide", PeptideSpace)
    register("peptide_smiles", PeptideSmilesSpace)


@hookimpl
def register_objectives(register: Register) -> None:
    register("amp_probability", AMPProbability)
    register("peptide_descriptors", PeptideDescriptors)
    register("solubility_proxy", solubility_proxy)
    register("hemolysis_proxy", hemolysis_proxy)
    register("permeability_proxy", permeability_proxy)
    register("protease_resistance_proxy", protease_resistance_proxy)
    register("user_model", UserModelObjective)
