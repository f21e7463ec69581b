"""Peptide design: monomers, residue- and SMILES-level spaces, descriptors, proxies, AMP classifier, user models.

Modules: :mod:`.monomers` (the monomer library), :mod:`.notation` (peptide strings),
:mod:`.smiles` (exact SMILES and the strict backbone parser), :mod:`.space` (the ``peptide`` and
``peptide_smiles`` spaces), :mod:`.descriptors`, :mod:`.proxies`, :mod:`.amp` (the shipped AMP
classifier; training in :mod:`.train_amp`), :mod:`.user_models`, :mod:`.objectives`, :mod:`.plugin`
(the registrations) and :mod:`.train_mdlm` (the shipped peptide MDLM). See ``docs/peptides.md``.
"""
