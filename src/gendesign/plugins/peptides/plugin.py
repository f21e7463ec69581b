"""The built-in peptide plugin: peptide design spaces and peptide objectives.

* spaces: ``peptide`` (:class:`~gendesign.plugins.peptides.space.PeptideSpace`, residue level) and
  ``peptide_smiles`` (:class:`~gendesign.plugins.peptides.space.PeptideSmilesSpace`);
* objectives: ``amp_probability``, ``amp_heldout`` (held-out evaluation oracle), ``peptide_descriptors``, ``solubility_proxy``,
  ``hemolysis_proxy``, ``permeability_proxy``,
  ``protease_resistance_proxy`` and ``user_model``.

Nothing heavy is imported here: RDKit, modlAMP and the classifier weights load when a part is built.
"""

from __future__ import annotations

from gendesign.core.hookspecs import Register, hookimpl


@hookimpl
def register_design_spaces(register: Register) -> None:
    register("peptide", "gendesign.plugins.peptides.space:PeptideSpace")
    register("peptide_smiles", "gendesign.plugins.peptides.space:PeptideSmilesSpace")


@hookimpl
def register_objectives(register: Register) -> None:
    register("amp_probability", "gendesign.plugins.peptides.objectives:AMPProbability")
    register("amp_heldout", "gendesign.plugins.peptides.objectives:amp_heldout")
    register("peptide_descriptors", "gendesign.plugins.peptides.objectives:PeptideDescriptors")
    register("solubility_proxy", "gendesign.plugins.peptides.objectives:solubility_proxy")
    register("hemolysis_proxy", "gendesign.plugins.peptides.objectives:hemolysis_proxy")
    register("permeability_proxy", "gendesign.plugins.peptides.objectives:permeability_proxy")
    register("protease_resistance_proxy", "gendesign.plugins.peptides.objectives:protease_resistance_proxy")
    register("user_model", "gendesign.plugins.peptides.objectives:UserModelObjective")
