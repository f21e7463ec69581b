"""Molecule design: SMILES and SELFIES design spaces, a shipped SELFIES MDLM, small RDKit objectives.

Modules: :mod:`.smiles` (the ``smiles`` space, RDKit helpers), :mod:`.selfies_space` (the
``selfies`` token space and its shipped model under ``models/``), :mod:`.objectives` (``qed``,
``heavy_atoms``, ``logp``) and :mod:`.plugin` (the registrations). See ``docs/spaces.md``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["SmilesSpace", "canonical_smiles", "nci_smiles_path", "rdkit_chem"]


def __getattr__(name: str) -> Any:
    # Lazy, so that loading the plugin glue (``.plugin``) for ``gendesign list`` imports no numpy or RDKit.
    if name not in __all__:
        raise AttributeError(f"module 'gendesign.plugins.molecules' has no attribute {name!r}")
    return getattr(importlib.import_module("gendesign.plugins.molecules.smiles"), name)
