"""The 20 RDKit-only PMO oracles: QED and the GuacaMol v2 goal-directed objectives, with their components.

Written from the definitions of GuacaMol (Brown et al., "GuacaMol: benchmarking models for de novo
molecular design", J. Chem. Inf. Model. 59, 1096, 2019, Table 1 and the supporting information)
and named as the PMO benchmark names them (Gao et al., "Sample efficiency matters: a benchmark for
practical molecular optimization", NeurIPS Datasets and Benchmarks 2022). ``docs/molecules.md``
lists every task term by term.

A task is a list of *components* and a way to combine them. A component is a raw molecular value
(a fingerprint similarity, a descriptor, a SMARTS match, an isomer score) passed through a
*modifier* that maps it to a desirability in ``[0, 1]``:

* ``identity``: the raw value (already in ``[0, 1]``);
* ``clipped(t)``: ``min(x / t, 1)`` for ``x >= 0``;
* ``gaussian(mu, sigma)``: ``exp(-(x - mu)^2 / (2 sigma^2))``;
* ``min_gaussian(mu, sigma)``: 1 for ``x <= mu``, else ``gaussian(mu, sigma)`` (rewards at most ``mu``);
* ``max_gaussian(mu, sigma)``: 1 for ``x >= mu``, else ``gaussian(mu, sigma)`` (rewards at least ``mu``).

The task score is the geometric mean (``(prod d_i)^(1/n)``) or the arithmetic mean of the
desirabilities. Fingerprints are GuacaMol's unfolded count fingerprints (:mod:`.similarity`);
logP is Crippen's, TPSA Ertl's, Bertz the Bertz CT index, all from RDKit.

Each oracle objective has one column, the task score in ``[0, 1]``, maximised. With
``components=True`` it has one column per component instead, each a desirability in ``[0, 1]``
named ``<task>_<component>`` (e.g. ``osimertinib_mpo_tpsa``): the decomposition the
multi-objective benchmark optimises as a Pareto problem with reference point 0.

A SMILES RDKit cannot parse is ``valid=False`` with the reason (PMO counts such a call as score 0;
a benchmark harness applies that rule, not the oracle).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.plugins.molecules.isomer import isomer_value, parse_formula
from gendesign.plugins.molecules.mols import MoleculeObjective, mol_from_smiles
from gendesign.plugins.molecules.similarity import fingerprint, tanimoto
from gendesign.plugins.molecules.substructure import has_match

Modifier = Callable[[float], float]


def identity() -> Modifier:
    return lambda x: x


def clipped(t: float) -> Modifier:
    """``min(max(x / t, 0), 1)``: linear from 0 at ``x = 0`` to 1 at ``x = t``."""
    return lambda x: min(max(x / t, 0.0), 1.0)


def gaussian(mu: float, sigma: float) -> Modifier:
    """``exp(-(x - mu)^2 / (2 sigma^2))``."""
    return lambda x: math.exp(-0.5 * ((x - mu) / sigma) ** 2)


def min_gaussian(mu: float, sigma: float) -> Modifier:
    """1 for ``x <= mu``, the Gaussian above: rewards values at most ``mu``."""
    return lambda x: gaussian(mu, sigma)(max(x, mu))


def max_gaussian(mu: float, sigma: float) -> Modifier:
    """1 for ``x >= mu``, the Gaussian below: rewards values at least ``mu``."""
    return lambda x: gaussian(mu, sigma)(min(x, mu))


@dataclass(frozen=True)
class Component:
    """One term of a task: ``modifier(raw(mol))``, with a name and a one-line definition for docs and specs."""

    name: str
    raw: Callable[[Any], float]
    modifier: Modifier
    definition: str

    def __call__(self, mol: Any) -> float:
        return float(self.modifier(float(self.raw(mol))))


@dataclass(frozen=True)
class Task:
    """A PMO/GuacaMol task: its components, how they combine, and what it asks for."""

    name: str
    components: tuple[Component, ...]
    mean: Literal["geometric", "arithmetic"]
    description: str

    def desirabilities(self, mol: Any) -> list[float]:
        return [c(mol) for c in self.components]

    def score(self, mol: Any) -> float:
        d = self.desirabilities(mol)
        if self.mean == "arithmetic":
            return sum(d) / len(d)
        return math.prod(d) ** (1.0 / len(d))


# Raw values.


def _similarity_to(smiles: str, kind: str) -> Callable[[Any], float]:
    target = fingerprint(mol_from_smiles(smiles, "oracle target"), kind)
    return lambda mol: tanimoto(fingerprint(mol, kind), target)


def _descriptor(name: str) -> Callable[[Any], float]:
    from rdkit.Chem import QED, Crippen, GraphDescriptors, rdMolDescriptors

    functions: dict[str, Callable[[Any], float]] = {
        "logp": Crippen.MolLogP,
        "tpsa": rdMolDescriptors.CalcTPSA,
        "bertz": GraphDescriptors.BertzCT,
        "rings": rdMolDescriptors.CalcNumRings,
        "aromatic_rings": rdMolDescriptors.CalcNumAromaticRings,
        "qed": QED.qed,
    }
    return functions[name]


def _element_count(element: str) -> Callable[[Any], float]:
    return lambda mol: float(sum(atom.GetSymbol() == element for atom in mol.GetAtoms()))


def _smarts(pattern: str, present: bool) -> Callable[[Any], float]:
    return lambda mol: float(has_match(mol, pattern) == present)


def _isomer(formula: str) -> Callable[[Any], float]:
    parsed = parse_formula(formula)
    return lambda mol: isomer_value(mol, parsed, "geometric")


def _of(smiles: str, name: str) -> float:
    return float(_descriptor(name)(mol_from_smiles(smiles, "oracle target")))


# Target molecules (GuacaMol's SMILES).
CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
TROGLITAZONE = "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O"
THIOTHIXENE = "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1"
ALBUTEROL = "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1"
MESTRANOL = "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1"
CAMPHOR = "CC1(C)C2CCC1(C)C(=O)C2"
MENTHOL = "CC(C)C1CCC(C)CC1O"
TADALAFIL = "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C"
SILDENAFIL = "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
FEXOFENADINE = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
RANOLAZINE = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
PERINDOPRIL = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
AMLODIPINE = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
DECO_HOP_START = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
VALSARTAN_SMARTS = "CN(C=O)Cc1ccc(c2ccccc2)cc1"
HOP_SCAFFOLD_SMARTS = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"


def _rediscovery(name: str, smiles: str, drug: str) -> Task:
    return Task(
        name,
        (Component("ecfp4_similarity", _similarity_to(smiles, "ecfp4"), identity(), f"Tanimoto(ECFP4) to {drug}"),),
        "geometric",
        f"rediscover {drug}: ECFP4 Tanimoto similarity to {drug}",
    )


_LABELS = {"ecfp4": "ECFP4", "ecfp6": "ECFP6", "fcfp4": "FCFP4", "atom_pair": "atom pairs"}


def _similarity_task(name: str, smiles: str, drug: str, kind: str, t: float) -> Task:
    short = "ap" if kind == "atom_pair" else kind
    label = _LABELS[kind]
    return Task(
        name,
        (Component(f"{short}_similarity", _similarity_to(smiles, kind), clipped(t), f"Tanimoto({label}) to {drug}, clipped at {t}"),),
        "geometric",
        f"molecules similar to {drug}: {label} Tanimoto similarity, full score from {t}",
    )


def _isomer_task(name: str, formula: str) -> Task:
    return Task(
        name,
        (Component(f"isomer_{formula.lower()}", _isomer(formula), identity(), f"isomer score for {formula}"),),
        "geometric",
        f"isomers of {formula}: closeness of the atom counts to the formula",
    )


@functools.cache
def tasks() -> dict[str, Task]:
    """The 20 tasks by PMO name (built once per process; reference fingerprints are computed here)."""
    sita_logp, sita_tpsa, sita_bertz = _of(SITAGLIPTIN, "logp"), _of(SITAGLIPTIN, "tpsa"), _of(SITAGLIPTIN, "bertz")
    defined = [
        Task("qed", (Component("qed", _descriptor("qed"), identity(), "QED (Bickerton 2012)"),), "geometric", "QED drug-likeness"),
        _rediscovery("celecoxib_rediscovery", CELECOXIB, "celecoxib"),
        _rediscovery("troglitazone_rediscovery", TROGLITAZONE, "troglitazone"),
        _rediscovery("thiothixene_rediscovery", THIOTHIXENE, "thiothixene"),
        _similarity_task("albuterol_similarity", ALBUTEROL, "albuterol", "fcfp4", 0.75),
        _similarity_task("mestranol_similarity", MESTRANOL, "mestranol", "atom_pair", 0.75),
        _isomer_task("isomers_c7h8n2o2", "C7H8N2O2"),
        _isomer_task("isomers_c9h10n2o2pf2cl", "C9H10N2O2PF2Cl"),
        Task(
            "median1",
            (
                Component("camphor_similarity", _similarity_to(CAMPHOR, "ecfp4"), identity(), "Tanimoto(ECFP4) to camphor"),
                Component("menthol_similarity", _similarity_to(MENTHOL, "ecfp4"), identity(), "Tanimoto(ECFP4) to menthol"),
            ),
            "geometric",
            "a median molecule between camphor and menthol",
        ),
        Task(
            "median2",
            (
                Component("tadalafil_similarity", _similarity_to(TADALAFIL, "ecfp6"), identity(), "Tanimoto(ECFP6) to tadalafil"),
                Component("sildenafil_similarity", _similarity_to(SILDENAFIL, "ecfp6"), identity(), "Tanimoto(ECFP6) to sildenafil"),
            ),
            "geometric",
            "a median molecule between tadalafil and sildenafil",
        ),
        Task(
            "osimertinib_mpo",
            (
                Component("fcfp4_similarity", _similarity_to(OSIMERTINIB, "fcfp4"), clipped(0.8), "Tanimoto(FCFP4) to osimertinib, clipped at 0.8"),
                Component("ecfp6_similarity", _similarity_to(OSIMERTINIB, "ecfp6"), min_gaussian(0.85, 0.1), "Tanimoto(ECFP6) to osimertinib, min-Gaussian(0.85, 0.1)"),
                Component("tpsa", _descriptor("tpsa"), max_gaussian(100, 10), "TPSA, max-Gaussian(100, 10)"),
                Component("logp", _descriptor("logp"), min_gaussian(1, 1), "Crippen logP, min-Gaussian(1, 1)"),
            ),
            "geometric",
            "similar to osimertinib but not too similar, more polar (TPSA >= 100) and less lipophilic (logP <= 1)",
        ),
        Task(
            "fexofenadine_mpo",
            (
                Component("ap_similarity", _similarity_to(FEXOFENADINE, "atom_pair"), clipped(0.8), "Tanimoto(atom pairs) to fexofenadine, clipped at 0.8"),
                Component("tpsa", _descriptor("tpsa"), max_gaussian(90, 10), "TPSA, max-Gaussian(90, 10)"),
                Component("logp", _descriptor("logp"), min_gaussian(4, 1), "Crippen logP, min-Gaussian(4, 1)"),
            ),
            "geometric",
            "fexofenadine made less greasy: similar, TPSA >= 90, logP <= 4",
        ),
        Task(
            "ranolazine_mpo",
            (
                Component("ap_similarity", _similarity_to(RANOLAZINE, "atom_pair"), clipped(0.7), "Tanimoto(atom pairs) to ranolazine, clipped at 0.7"),
                Component("logp", _descriptor("logp"), max_gaussian(7, 1), "Crippen logP, max-Gaussian(7, 1)"),
                Component("tpsa", _descriptor("tpsa"), max_gaussian(95, 20), "TPSA, max-Gaussian(95, 20)"),
                Component("fluorine", _element_count("F"), gaussian(1, 1), "number of fluorine atoms, Gaussian(1, 1)"),
            ),
            "geometric",
            "ranolazine with higher logP, kept polar, with one fluorine",
        ),
        Task(
            "perindopril_mpo",
            (
                Component("ecfp4_similarity", _similarity_to(PERINDOPRIL, "ecfp4"), identity(), "Tanimoto(ECFP4) to perindopril"),
                Component("aromatic_rings", _descriptor("aromatic_rings"), gaussian(2, 0.5), "aromatic rings, Gaussian(2, 0.5)"),
            ),
            "geometric",
            "perindopril with two aromatic rings",
        ),
        Task(
            "amlodipine_mpo",
            (
                Component("ecfp4_similarity", _similarity_to(AMLODIPINE, "ecfp4"), identity(), "Tanimoto(ECFP4) to amlodipine"),
                Component("rings", _descriptor("rings"), gaussian(3, 0.5), "rings, Gaussian(3, 0.5)"),
            ),
            "geometric",
            "amlodipine with three rings",
        ),
        Task(
            "sitagliptin_mpo",
            (
                Component("ecfp4_similarity", _similarity_to(SITAGLIPTIN, "ecfp4"), gaussian(0, 0.1), "Tanimoto(ECFP4) to sitagliptin, Gaussian(0, 0.1)"),
                Component("logp", _descriptor("logp"), gaussian(sita_logp, 0.2), f"Crippen logP, Gaussian(sitagliptin's {sita_logp:.4f}, 0.2)"),
                Component("tpsa", _descriptor("tpsa"), gaussian(sita_tpsa, 5), f"TPSA, Gaussian(sitagliptin's {sita_tpsa:.2f}, 5)"),
                Component("isomer_c16h15f6n5o", _isomer("C16H15F6N5O"), identity(), "isomer score for C16H15F6N5O"),
            ),
            "geometric",
            "an isomer of sitagliptin, dissimilar to it, with its logP and TPSA",
        ),
        Task(
            "zaleplon_mpo",
            (
                Component("ecfp4_similarity", _similarity_to(ZALEPLON, "ecfp4"), identity(), "Tanimoto(ECFP4) to zaleplon"),
                Component("isomer_c19h17n3o2", _isomer("C19H17N3O2"), identity(), "isomer score for C19H17N3O2"),
            ),
            "geometric",
            "similar to zaleplon with the formula C19H17N3O2",
        ),
        Task(
            "valsartan_smarts",
            (
                Component("smarts", _smarts(VALSARTAN_SMARTS, True), identity(), f"1 if the molecule contains SMARTS {VALSARTAN_SMARTS}, else 0"),
                Component("logp", _descriptor("logp"), gaussian(sita_logp, 0.2), f"Crippen logP, Gaussian(sitagliptin's {sita_logp:.4f}, 0.2)"),
                Component("tpsa", _descriptor("tpsa"), gaussian(sita_tpsa, 5), f"TPSA, Gaussian(sitagliptin's {sita_tpsa:.2f}, 5)"),
                Component("bertz", _descriptor("bertz"), gaussian(sita_bertz, 30), f"Bertz CT, Gaussian(sitagliptin's {sita_bertz:.2f}, 30)"),
            ),
            "geometric",
            "valsartan's substructure with sitagliptin's logP, TPSA and Bertz complexity",
        ),
        Task(
            "deco_hop",
            (
                Component("phco_similarity", _similarity_to(DECO_HOP_START, "phco"), clipped(0.85), "Tanimoto(Gobbi 2-D pharmacophore) to the start, clipped at 0.85"),
                Component("no_sulfone", _smarts("CS([#6])(=O)=O", False), identity(), "1 if no SMARTS CS([#6])(=O)=O"),
                Component("no_benzothiazole", _smarts("[#7]-c1ccc2ncsc2c1", False), identity(), "1 if no SMARTS [#7]-c1ccc2ncsc2c1"),
                Component("scaffold", _smarts(HOP_SCAFFOLD_SMARTS, True), identity(), f"1 if SMARTS {HOP_SCAFFOLD_SMARTS} (the quinazoline scaffold)"),
            ),
            "arithmetic",
            "keep the scaffold of the start molecule, change its decorations",
        ),
        Task(
            "scaffold_hop",
            (
                Component("phco_similarity", _similarity_to(DECO_HOP_START, "phco"), clipped(0.75), "Tanimoto(Gobbi 2-D pharmacophore) to the start, clipped at 0.75"),
                Component(
                    "decoration",
                    _smarts("[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1", True),
                    identity(),
                    "1 if SMARTS [#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1 (the decorations)",
                ),
                Component("no_scaffold", _smarts(HOP_SCAFFOLD_SMARTS, False), identity(), f"1 if no SMARTS {HOP_SCAFFOLD_SMARTS}"),
            ),
            "arithmetic",
            "keep the decorations of the start molecule, change its scaffold",
        ),
    ]
    return {t.name: t for t in defined}


TASK_NAMES: tuple[str, ...] = (
    "qed",
    "celecoxib_rediscovery",
    "troglitazone_rediscovery",
    "thiothixene_rediscovery",
    "albuterol_similarity",
    "mestranol_similarity",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "median1",
    "median2",
    "osimertinib_mpo",
    "fexofenadine_mpo",
    "ranolazine_mpo",
    "perindopril_mpo",
    "amlodipine_mpo",
    "sitagliptin_mpo",
    "zaleplon_mpo",
    "valsartan_smarts",
    "deco_hop",
    "scaffold_hop",
)
"""The PMO names of the 20 RDKit-only tasks, in the order of the PMO paper's groups."""


class Oracle(MoleculeObjective):
    """A PMO/GuacaMol oracle by task name: the task score in ``[0, 1]``, or its component desirabilities.

    Args:
        task: one of :data:`TASK_NAMES`.
        components: one column per component (``<task>_<component>``, each a desirability in
            ``[0, 1]``) instead of the combined score.
    """

    def __init__(self, task: str, components: bool = False) -> None:
        if task not in TASK_NAMES:
            raise ConfigError(f"unknown PMO oracle {task!r}; choose from {list(TASK_NAMES)}")
        self.task = task
        self.components = bool(components)
        spec = tasks()[task]
        if self.components:
            self.specs = tuple(
                ObjectiveSpec(f"{task}_{c.name}", "max", bounds=(0.0, 1.0), description=c.definition) for c in spec.components
            )
        else:
            self.specs = (ObjectiveSpec(task, "max", bounds=(0.0, 1.0), description=f"PMO/GuacaMol: {spec.description}"),)

    def score_mol(self, mol: Any) -> list[float]:
        # The task table (lambdas, reference fingerprints) is looked up per process, never pickled.
        spec = tasks()[self.task]
        return spec.desirabilities(mol) if self.components else [spec.score(mol)]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "task": self.task, "components": self.components}


def celecoxib_rediscovery(components: bool = False) -> Oracle:
    """PMO ``celecoxib_rediscovery``: ECFP4 count Tanimoto similarity to celecoxib (GuacaMol)."""
    return Oracle("celecoxib_rediscovery", components)


def troglitazone_rediscovery(components: bool = False) -> Oracle:
    """PMO ``troglitazone_rediscovery``: ECFP4 count Tanimoto similarity to troglitazone (GuacaMol)."""
    return Oracle("troglitazone_rediscovery", components)


def thiothixene_rediscovery(components: bool = False) -> Oracle:
    """PMO ``thiothixene_rediscovery``: ECFP4 count Tanimoto similarity to thiothixene (GuacaMol)."""
    return Oracle("thiothixene_rediscovery", components)


def albuterol_similarity(components: bool = False) -> Oracle:
    """PMO ``albuterol_similarity``: FCFP4 Tanimoto similarity to albuterol, full score from 0.75 (GuacaMol)."""
    return Oracle("albuterol_similarity", components)


def mestranol_similarity(components: bool = False) -> Oracle:
    """PMO ``mestranol_similarity``: atom-pair Tanimoto similarity to mestranol, full score from 0.75 (GuacaMol)."""
    return Oracle("mestranol_similarity", components)


def isomers_c7h8n2o2(components: bool = False) -> Oracle:
    """PMO ``isomers_c7h8n2o2``: isomer score for C7H8N2O2 (GuacaMol)."""
    return Oracle("isomers_c7h8n2o2", components)


def isomers_c9h10n2o2pf2cl(components: bool = False) -> Oracle:
    """PMO ``isomers_c9h10n2o2pf2cl``: isomer score for C9H10N2O2PF2Cl (GuacaMol)."""
    return Oracle("isomers_c9h10n2o2pf2cl", components)


def median1(components: bool = False) -> Oracle:
    """PMO ``median1``: geometric mean of ECFP4 similarities to camphor and menthol (GuacaMol)."""
    return Oracle("median1", components)


def median2(components: bool = False) -> Oracle:
    """PMO ``median2``: geometric mean of ECFP6 similarities to tadalafil and sildenafil (GuacaMol)."""
    return Oracle("median2", components)


def osimertinib_mpo(components: bool = False) -> Oracle:
    """PMO ``osimertinib_mpo``: geometric mean of 4 desirabilities around osimertinib (GuacaMol)."""
    return Oracle("osimertinib_mpo", components)


def fexofenadine_mpo(components: bool = False) -> Oracle:
    """PMO ``fexofenadine_mpo``: geometric mean of 3 desirabilities around fexofenadine (GuacaMol)."""
    return Oracle("fexofenadine_mpo", components)


def ranolazine_mpo(components: bool = False) -> Oracle:
    """PMO ``ranolazine_mpo``: geometric mean of 4 desirabilities around ranolazine (GuacaMol)."""
    return Oracle("ranolazine_mpo", components)


def perindopril_mpo(components: bool = False) -> Oracle:
    """PMO ``perindopril_mpo``: ECFP4 similarity to perindopril and two aromatic rings, geometric mean (GuacaMol)."""
    return Oracle("perindopril_mpo", components)


def amlodipine_mpo(components: bool = False) -> Oracle:
    """PMO ``amlodipine_mpo``: ECFP4 similarity to amlodipine and three rings, geometric mean (GuacaMol)."""
    return Oracle("amlodipine_mpo", components)


def sitagliptin_mpo(components: bool = False) -> Oracle:
    """PMO ``sitagliptin_mpo``: an isomer of sitagliptin, dissimilar, with its logP and TPSA; geometric mean (GuacaMol)."""
    return Oracle("sitagliptin_mpo", components)


def zaleplon_mpo(components: bool = False) -> Oracle:
    """PMO ``zaleplon_mpo``: ECFP4 similarity to zaleplon and the formula C19H17N3O2, geometric mean (GuacaMol)."""
    return Oracle("zaleplon_mpo", components)


def valsartan_smarts(components: bool = False) -> Oracle:
    """PMO ``valsartan_smarts``: valsartan's SMARTS with sitagliptin's logP, TPSA and Bertz index; geometric mean (GuacaMol)."""
    return Oracle("valsartan_smarts", components)


def deco_hop(components: bool = False) -> Oracle:
    """PMO ``deco_hop``: keep a quinazoline scaffold, change its decorations; arithmetic mean of 4 terms (GuacaMol)."""
    return Oracle("deco_hop", components)


def scaffold_hop(components: bool = False) -> Oracle:
    """PMO ``scaffold_hop``: keep the decorations, change the scaffold; arithmetic mean of 3 terms (GuacaMol)."""
    return Oracle("scaffold_hop", components)
