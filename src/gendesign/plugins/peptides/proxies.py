"""Property *proxies*: literature rules over descriptors, not trained predictors.

Each function maps a peptide to a score in ``[0, 1]`` with a logistic link
``sigma(z) = 1 / (1 + exp(-z))`` over a linear rule in descriptors from
:mod:`~gendesign.plugins.peptides.descriptors`. The rules encode the direction and the rough
thresholds reported in the cited papers; the slopes are chosen so that a threshold crossing moves
the score by about one logit. They rank candidates sensibly and cost microseconds, but they are
not calibrated probabilities: replace them with a trained model (``user_model``) when one exists.

Solubility proxy (aqueous solubility of the free peptide)
    ``z = 1 - 1.5 GRAVY + 0.5 min(|Q|, 4) - 6 max(0, f_hphob - 0.5)``, where ``Q`` is the net
    charge at pH 7 and ``f_hphob`` the fraction of A, F, I, L, M, V, W, Y residues (parents).
    Rules: hydrophobic peptides (GRAVY > 0) and peptides with more than 50 % hydrophobic residues
    dissolve poorly; net charge improves water solubility (Kyte & Doolittle 1982; the solubility
    guidelines of peptide vendors, e.g. Bachem and Sigma-Aldrich "Peptide solubility
    guidelines"; Trevino, Scholtz & Pace, J. Mol. Biol. 366, 449, 2007, on charged residues).

Hemolysis risk proxy (lysis of red blood cells by amphipathic cationic peptides)
    ``z = 10 (f_bulky - 0.35) + 2 (H - 0.25)`` with ``f_bulky`` the fraction of large hydrophobic
    residues (parents L, I, F, W, V, M) and ``H`` the Eisenberg mean hydrophobicity. Hemolytic
    activity rises with hydrophobicity, above all with the bulk of the non-polar face (Chen et al.,
    J. Biol. Chem. 280, 12316, 2005; Dathe & Wieprecht, Biochim. Biophys. Acta 1462, 71, 1999;
    Tossi, Sandri & Giangaspero, Biopolymers 55, 4, 2000). An earlier version also rewarded the
    whole-chain hydrophobic moment ``muH`` and ranked melittin (HC50 about 1 uM) below the weakly
    hemolytic magainin 2: kinked helix-hinge-helix toxins (melittin, pardaxin) have a low
    whole-chain ``muH`` yet lyse red cells strongly. The rule is checked on a literature set
    (``docs/peptides.md``, ``tests/test_peptide_hemolysis.py``).

Membrane permeability proxy (passive permeability of beyond-rule-of-5 peptides)
    ``s = sigma((1000 - MW)/100) sigma(logP + 2) sigma(6.5 - HBD) sigma((250 - TPSA)/25)``, the
    soft version of the bRo5 space of orally available macrocycles, MW <= 1000, cLogP >= -2,
    HBD <= 6, TPSA <= 250 (Doak et al., Chem. Biol. 21, 1115, 2014). Backbone N-methylation
    removes amide donors and is the main lever on HBD (White et al., Nat. Chem. Biol. 7, 810, 2011;
    Chatterjee et al., Acc. Chem. Res. 41, 1331, 2008).

Protease resistance proxy (serum stability against the main endo- and exopeptidases)
    ``s = 1 - (n_sites + n_free_termini) / (n_bonds + n_termini)`` (``n_termini = 2``, or 0 when cyclic). A backbone amide ``P1-P1'`` is a
    predicted endoprotease site when P1 is an L residue recognised by trypsin (Lys, Arg,
    homoarginine, N-methyl-Lys) or by high-specificity chymotrypsin (Phe, Tyr, Trp and their
    N-methyl forms), unless P1' is a proline (Pro, Hyp, D-Pro; Keil's rule), a D residue or
    N-methylated (backbone N-methylation and D-amino acids at the scissile bond block cleavage).
    A free N-terminal amine and a free C-terminal acid count as one exopeptidase site each
    (aminopeptidases, carboxypeptidases); acetylation, amidation and head-to-tail cyclisation
    remove them. Rules: ExPASy PeptideCutter (Gasteiger et al., The Proteomics Protocols
    Handbook, 2005) and Keil, "Specificity of Proteolysis" (Springer, 1992); D-amino-acid and
    N-methyl protection: Hamamoto et al., Microbiol. Immunol. 46, 741 (2002), Werner et al.,
    ChemBioChem 17, 712 (2016); terminal protection: Gentilucci et al., Curr. Pharm. Des. 16,
    3185 (2010). Ornithine, Dab and Dap are not trypsin substrates (their side chains are too
    short), which is why they are used for stabilisation.
"""

from __future__ import annotations

import math
from typing import Any

from gendesign.plugins.peptides.descriptors import (
    as_peptide,
    gravy,
    mean_hydrophobicity,
    net_charge,
    parents,
    structure_descriptors,
)
from gendesign.plugins.peptides.monomers import MONOMERS
from gendesign.plugins.peptides.smiles import peptide_to_smiles

HYDROPHOBIC_PARENTS = frozenset("AFILMVWY")
ENDOPROTEASE_P1 = frozenset({"K", "R", "Har", "meK", "F", "Y", "W", "meF", "meY"})
"""L residues after which trypsin or high-specificity chymotrypsin cleaves."""
PROLINE_LIKE = frozenset({"P", "Hyp", "dP"})

PROXIES: dict[str, str] = {
    "solubility_proxy": "max",
    "hemolysis_proxy": "min",
    "permeability_proxy": "max",
    "protease_resistance_proxy": "max",
}
"""Proxy names and the direction in which they are good."""


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def solubility_proxy(design: Any) -> float:
    """PROXY for aqueous solubility in ``[0, 1]`` from GRAVY, net charge and hydrophobic fraction (rule in the module docstring)."""
    pep = as_peptide(design)
    p = parents(pep)
    f_hphob = sum(x in HYDROPHOBIC_PARENTS for x in p) / len(p)
    z = 1.0 - 1.5 * gravy(pep) + 0.5 * min(abs(net_charge(pep)), 4.0) - 6.0 * max(0.0, f_hphob - 0.5)
    return _sigmoid(z)


BULKY_HYDROPHOBIC_PARENTS = frozenset("LIFWVM")
"""Large hydrophobic residues whose share drives the hemolysis proxy."""


def hemolysis_proxy(design: Any) -> float:
    """PROXY for hemolysis risk in ``[0, 1]`` from the share of bulky hydrophobic residues and Eisenberg hydrophobicity (lower is safer)."""
    pep = as_peptide(design)
    p = parents(pep)
    f_bulky = sum(x in BULKY_HYDROPHOBIC_PARENTS for x in p) / len(p)
    z = 10.0 * (f_bulky - 0.35) + 2.0 * (mean_hydrophobicity(pep) - 0.25)
    return _sigmoid(z)


def permeability_proxy(design: Any) -> float:
    """PROXY for passive membrane permeability in ``[0, 1]``: soft bRo5 rules on MW, logP, HBD and TPSA."""
    pep = as_peptide(design)
    d = structure_descriptors(peptide_to_smiles(pep))
    return (
        _sigmoid((1000.0 - d["molecular_weight"]) / 100.0)
        * _sigmoid(d["logp"] + 2.0)
        * _sigmoid(6.5 - d["hbd"])
        * _sigmoid((250.0 - d["tpsa"]) / 25.0)
    )


def protease_sites(design: Any) -> tuple[int, int]:
    """``(vulnerable, positions)``: predicted endoprotease sites plus free termini, and backbone bonds plus the two termini (none when cyclic)."""
    pep = as_peptide(design)
    res = pep.residues
    bonds = [(res[i], res[i + 1]) for i in range(len(res) - 1)]
    if pep.cyclic:
        bonds.append((res[-1], res[0]))
    sites = 0
    for p1, p1_prime in bonds:
        after = MONOMERS[p1_prime]
        if p1 in ENDOPROTEASE_P1 and p1_prime not in PROLINE_LIKE and after.chirality != "D" and not after.n_methyl:
            sites += 1
    if pep.cyclic:
        return sites, len(bonds)
    return sites + (pep.n_cap == "H") + (pep.c_cap == "OH"), len(bonds) + 2


def protease_resistance_proxy(design: Any) -> float:
    """PROXY for protease resistance in ``[0, 1]``: the fraction of backbone bonds and termini that no trypsin, chymotrypsin or exopeptidase rule flags."""
    vulnerable, positions = protease_sites(design)
    return 1.0 - vulnerable / positions


PROXY_FUNCTIONS = {
    "solubility_proxy": solubility_proxy,
    "hemolysis_proxy": hemolysis_proxy,
    "permeability_proxy": permeability_proxy,
    "protease_resistance_proxy": protease_resistance_proxy,
}
