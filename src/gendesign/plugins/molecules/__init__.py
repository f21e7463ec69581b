"""Molecule design: SMILES and SELFIES design spaces, a shipped SELFIES MDLM, small RDKit objectives.

Modules: :mod:`.smiles` (the ``smiles`` space, RDKit helpers), :mod:`.selfies_space` (the
``selfies`` token space and its shipped model under ``models/``), :mod:`.objectives` (``qed``,
``heavy_atoms``, ``logp``) and :mod:`.plugin` (the registrations). See ``docs/spaces.md``.
"""

from gendesign.plugins.molecules.smiles import SmilesSpace, canonical_smiles, nci_smiles_path, rdkit_chem

__all__ = ["SmilesSpace", "canonical_smiles", "nci_smiles_path", "rdkit_chem"]
