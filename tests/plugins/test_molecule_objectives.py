"""RDKit molecule objectives and the 20 PMO oracles against values computed independently here.

Reference values come from RDKit's own descriptor functions and from the legacy fingerprint API
(``AllChem.GetMorganFingerprint``, ``GetAtomPairFingerprint``) that GuacaMol and PMO call, with
the modifiers and means written out in this file from the GuacaMol paper.
"""

from __future__ import annotations

import math
import pickle
import warnings

import pytest

pytest.importorskip("rdkit")

from rdkit import Chem, DataStructs  # noqa: E402
from rdkit.Chem import QED, AllChem, Crippen, Descriptors, rdMolDescriptors  # noqa: E402

from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.core.plugins import PluginSystem  # noqa: E402
from gendesign.plugins.molecules import oracles as O  # noqa: E402
from gendesign.plugins.molecules.isomer import IsomerScore, parse_formula  # noqa: E402
from gendesign.plugins.molecules.objectives import DESCRIPTORS, MoleculeDescriptors, lipinski_violations, sa, veber_violations  # noqa: E402
from gendesign.plugins.molecules.oracles import TASK_NAMES, Oracle  # noqa: E402
from gendesign.plugins.molecules.plugin import DESCRIPTOR_OBJECTIVES, ORACLES  # noqa: E402
from gendesign.plugins.molecules.similarity import Similarity  # noqa: E402
from gendesign.plugins.molecules.substructure import SmartsFilter, StructuralAlerts  # noqa: E402

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1cnc2c1c(=O)n(C)c(=O)n2C"
IBUPROFEN = "CC(C)Cc1ccc(cc1)C(C)C(=O)O"
MOLS = [ASPIRIN, CAFFEINE, IBUPROFEN, O.OSIMERTINIB, O.FEXOFENADINE, O.RANOLAZINE]


def mol(smiles: str) -> Chem.Mol:
    return Chem.MolFromSmiles(smiles)


def legacy_sim(a: str, b: str, kind: str) -> float:
    def fp(m: Chem.Mol) -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "atom_pair":
                return AllChem.GetAtomPairFingerprint(m, maxLength=10)
            radius = {"ecfp4": 2, "ecfp6": 3, "fcfp4": 2}[kind]
            return AllChem.GetMorganFingerprint(m, radius, useFeatures=kind.startswith("fcfp"))

    return DataStructs.TanimotoSimilarity(fp(mol(a)), fp(mol(b)))


def gauss(x: float, mu: float, sigma: float) -> float:
    return math.exp(-((x - mu) ** 2) / (2 * sigma**2))


def one(objective, smiles: str) -> list[float]:
    scores = objective([smiles])
    assert bool(scores.valid.all()), scores.errors
    return scores.values[0].tolist()


# Descriptors.


def test_qed_of_aspirin_is_rdkits():
    from gendesign.plugins.molecules.objectives import qed

    assert one(qed(), ASPIRIN)[0] == pytest.approx(QED.qed(mol(ASPIRIN)), abs=1e-12)
    assert QED.qed(mol(ASPIRIN)) == pytest.approx(0.5501, abs=1e-4)


def test_descriptor_columns_match_rdkit_descriptors():
    names = ["logp", "tpsa", "mw", "hbd", "hba", "rotatable_bonds", "rings", "aromatic_rings", "formal_charge", "heavy_atoms"]
    objective = MoleculeDescriptors(names)
    for smiles in [*MOLS, "[NH3+]CC(=O)[O-]", "C[N+](C)(C)C"]:
        m = mol(smiles)
        expected = [
            Crippen.MolLogP(m),
            Descriptors.TPSA(m),
            Descriptors.MolWt(m),
            Descriptors.NumHDonors(m),
            Descriptors.NumHAcceptors(m),
            Descriptors.NumRotatableBonds(m),
            Descriptors.RingCount(m),
            Descriptors.NumAromaticRings(m),
            sum(a.GetFormalCharge() for a in m.GetAtoms()),
            Descriptors.HeavyAtomCount(m),
        ]
        assert one(objective, smiles) == pytest.approx(expected, abs=1e-9), smiles


def test_sa_score_is_rdkit_contribs_and_orders_simple_before_complex(monkeypatch):
    import os
    import sys

    from rdkit import RDConfig

    monkeypatch.syspath_prepend(os.path.join(RDConfig.RDContribDir, "SA_Score"))
    monkeypatch.delitem(sys.modules, "sascorer", raising=False)
    import sascorer

    taxol_core = "CC1=C2C(C(=O)C3(C(CC4C(C3C(C(C2(C)C)(CC1O)O)OC(=O)C5=CC=CC=C5)(CO4)OC(=O)C)O)C)OC(=O)C"
    values = sa()([ASPIRIN, O.MESTRANOL, taxol_core]).values[:, 0].tolist()
    assert values == pytest.approx([sascorer.calculateScore(mol(s)) for s in (ASPIRIN, O.MESTRANOL, taxol_core)], abs=1e-12)
    assert values[0] == pytest.approx(1.58, abs=0.01)  # Ertl and Schuffenhauer's scale: aspirin is easy
    assert 1.0 <= values[0] < values[1] < values[2] <= 10.0
    assert sa().specs[0].direction == "min" and sa().specs[0].bounds == (1.0, 10.0)


def test_rule_of_five_and_veber_violations_count_each_broken_criterion():
    long_alkane = "C" * 40  # MW 563 > 500, logP 15.7 > 5, 37 rotatable bonds > 10
    polyol = "OCC(O)C(O)C(O)C(O)C(O)C(O)C(O)C(O)CO"  # 10 OH donors > 5; TPSA 202 > 140; 9 rotatable bonds
    assert one(lipinski_violations(), long_alkane) == [2.0]
    assert one(veber_violations(), long_alkane) == [1.0]
    assert one(lipinski_violations(), polyol) == [1.0]
    assert one(veber_violations(), polyol) == [1.0]
    assert one(lipinski_violations(), ASPIRIN) == [0.0] and one(veber_violations(), ASPIRIN) == [0.0]


def test_descriptor_errors_name_the_choices():
    with pytest.raises(ConfigError, match="choose from"):
        MoleculeDescriptors(["qed", "colour"])
    with pytest.raises(ConfigError, match="one per name"):
        MoleculeDescriptors(["qed", "sa"], directions=["max"])


def test_unparsable_designs_are_invalid_with_the_reason_and_pickled_objectives_agree():
    objective = MoleculeDescriptors(list(DESCRIPTORS))
    scores = pickle.loads(pickle.dumps(objective))([ASPIRIN, "C1CC", 5, ""])
    assert scores.valid.tolist() == [True, False, False, False]
    assert "cannot parse" in scores.errors[1] and "C1CC" in scores.errors[1]
    assert "non-empty SMILES" in scores.errors[2]
    assert scores.values[0].tolist() == objective([ASPIRIN]).values[0].tolist()


# Similarity and substructures.


@pytest.mark.parametrize("kind", ["ecfp4", "ecfp6", "fcfp4", "atom_pair"])
def test_similarity_equals_the_legacy_count_fingerprint_tanimoto(kind):
    objective = Similarity([ASPIRIN, CAFFEINE], fingerprint=kind, aggregate="max")
    mean = Similarity([ASPIRIN, CAFFEINE], fingerprint=kind, aggregate="mean")
    for smiles in (IBUPROFEN, O.OSIMERTINIB):
        sims = [legacy_sim(smiles, ASPIRIN, kind), legacy_sim(smiles, CAFFEINE, kind)]
        assert one(objective, smiles)[0] == pytest.approx(max(sims), abs=1e-12)
        assert one(mean, smiles)[0] == pytest.approx(sum(sims) / 2, abs=1e-12)
    assert one(objective, CAFFEINE) == [1.0]


def test_similarity_bits_differ_from_counts_and_references_file_is_read(tmp_path):
    path = tmp_path / "refs.smi"
    path.write_text(f"smiles\n{ASPIRIN} aspirin\nnot_a_smiles\n")
    with pytest.warns(UserWarning, match=r"line 3: 'not_a_smiles'"):
        objective = Similarity(references_file=str(path), counts=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = (AllChem.GetMorganFingerprintAsBitVect(mol(s), 2, nBits=2048) for s in (IBUPROFEN, ASPIRIN))
    assert one(objective, IBUPROFEN)[0] == pytest.approx(DataStructs.TanimotoSimilarity(a, b), abs=1e-12)
    assert one(objective, IBUPROFEN)[0] != pytest.approx(legacy_sim(IBUPROFEN, ASPIRIN, "ecfp4"), abs=1e-3)
    with pytest.raises(ConfigError, match="at least one reference"):
        Similarity()
    with pytest.raises(ConfigError, match="not a valid molecule"):
        Similarity(["C1CC"])


def test_smarts_require_and_avoid():
    objective = SmartsFilter(require=["c1ccccc1"], avoid=["[N+](=O)[O-]"])
    soft = SmartsFilter(require=["c1ccccc1", "C(=O)O"], avoid=["[N+](=O)[O-]"], fraction=True)
    values = objective(["c1ccccc1O", "CCO", "c1ccccc1[N+](=O)[O-]"]).values[:, 0].tolist()
    assert values == [1.0, 0.0, 0.0]
    assert one(soft, ASPIRIN) == [1.0] and one(soft, "c1ccccc1[N+](=O)[O-]") == [pytest.approx(1 / 3)]
    with pytest.raises(ConfigError, match="does not parse"):
        SmartsFilter(require=["c1ccc(("])


def test_structural_alerts_flag_known_pains_brenk_and_nih_motifs():
    catechol, azo_phenol = "Oc1ccccc1O", "Oc1ccc(N=Nc2ccccc2)cc1"
    pains = StructuralAlerts(["pains"])([catechol, azo_phenol, ASPIRIN])
    assert pains.values[:, 0].tolist() == [1.0, 1.0, 0.0]
    assert pains.info["alerts"] == [["catechol_A(92)"], ["azo_A(324)"], []]
    assert StructuralAlerts(["pains_a"])([catechol]).values.item() == 0.0  # catechol_A is a PAINS B family
    assert StructuralAlerts(["brenk"])([catechol]).info["alerts"] == [["catechol"]]
    assert StructuralAlerts(["nih"])([azo_phenol]).info["alerts"] == [["azo_aryl"]]
    assert StructuralAlerts(["pains"]).specs[0].direction == "min"


# Isomers.


def test_isomer_score_is_one_on_the_exact_formula_and_matches_a_hand_computation():
    c7 = "Cc1ccc(N)cc1[N+](=O)[O-]"
    c9 = "CCC(=O)Nc1cc(F)c(F)cc1P(=O)(Cl)N"
    assert rdMolDescriptors.CalcMolFormula(mol(c7)) == "C7H8N2O2"
    assert rdMolDescriptors.CalcMolFormula(mol(c9)) == "C9H10ClF2N2O2P"
    assert one(Oracle("isomers_c7h8n2o2"), c7) == [1.0]
    assert one(Oracle("isomers_c9h10n2o2pf2cl"), c9) == [1.0]
    # methanol CH4O against C2H6O: C 1 vs 2, H 4 vs 6, O 1 vs 1, all atoms 6 vs 9 (sigma 2)
    terms = [gauss(1, 2, 1), gauss(4, 6, 1), 1.0, gauss(6, 9, 2)]
    assert one(IsomerScore("C2H6O"), "CO") == [pytest.approx(math.prod(terms) ** 0.25, abs=1e-12)]
    assert one(IsomerScore("C2H6O", mean="arithmetic"), "CO") == [pytest.approx(sum(terms) / 4, abs=1e-12)]
    assert parse_formula("C9H10N2O2PF2Cl") == [("C", 9), ("H", 10), ("N", 2), ("O", 2), ("P", 1), ("F", 2), ("Cl", 1)]
    with pytest.raises(ConfigError, match="molecular formula"):
        IsomerScore("c7h8")


# The PMO oracles.


@pytest.mark.parametrize(
    ("task", "target"),
    [
        ("celecoxib_rediscovery", O.CELECOXIB),
        ("troglitazone_rediscovery", O.TROGLITAZONE),
        ("thiothixene_rediscovery", O.THIOTHIXENE),
        ("albuterol_similarity", O.ALBUTEROL),
        ("mestranol_similarity", O.MESTRANOL),
    ],
)
def test_rediscovery_and_similarity_tasks_score_one_on_their_target(task, target):
    canonical = Chem.MolToSmiles(mol(target))  # another spelling of the same molecule
    assert one(Oracle(task), canonical) == [pytest.approx(1.0, abs=1e-12)]
    assert one(Oracle(task), ASPIRIN)[0] < 0.5


def test_rediscovery_below_the_target_is_the_raw_ecfp4_similarity_and_similarity_tasks_clip_at_075():
    assert one(Oracle("celecoxib_rediscovery"), IBUPROFEN)[0] == pytest.approx(legacy_sim(IBUPROFEN, O.CELECOXIB, "ecfp4"), abs=1e-12)
    raw = legacy_sim(IBUPROFEN, O.ALBUTEROL, "fcfp4")
    assert one(Oracle("albuterol_similarity"), IBUPROFEN)[0] == pytest.approx(min(raw / 0.75, 1.0), abs=1e-12)
    raw = legacy_sim(IBUPROFEN, O.MESTRANOL, "atom_pair")
    assert one(Oracle("mestranol_similarity"), IBUPROFEN)[0] == pytest.approx(min(raw / 0.75, 1.0), abs=1e-12)


def test_qed_task_and_medians_by_hand():
    assert one(Oracle("qed"), ASPIRIN) == [pytest.approx(QED.qed(mol(ASPIRIN)), abs=1e-12)]
    for smiles in (ASPIRIN, "CC1CCC(C(C)C)C(=O)C1"):
        m1 = math.sqrt(legacy_sim(smiles, O.CAMPHOR, "ecfp4") * legacy_sim(smiles, O.MENTHOL, "ecfp4"))
        m2 = math.sqrt(legacy_sim(smiles, O.TADALAFIL, "ecfp6") * legacy_sim(smiles, O.SILDENAFIL, "ecfp6"))
        assert one(Oracle("median1"), smiles) == [pytest.approx(m1, abs=1e-12)]
        assert one(Oracle("median2"), smiles) == [pytest.approx(m2, abs=1e-12)]


def min_gauss(x: float, mu: float, sigma: float) -> float:
    return 1.0 if x <= mu else gauss(x, mu, sigma)


def max_gauss(x: float, mu: float, sigma: float) -> float:
    return 1.0 if x >= mu else gauss(x, mu, sigma)


def hand_osimertinib(smiles: str) -> list[float]:
    m = mol(smiles)
    return [
        min(legacy_sim(smiles, O.OSIMERTINIB, "fcfp4") / 0.8, 1.0),
        min_gauss(legacy_sim(smiles, O.OSIMERTINIB, "ecfp6"), 0.85, 0.1),
        max_gauss(Descriptors.TPSA(m), 100, 10),
        min_gauss(Crippen.MolLogP(m), 1, 1),
    ]


def hand_fexofenadine(smiles: str) -> list[float]:
    m = mol(smiles)
    return [
        min(legacy_sim(smiles, O.FEXOFENADINE, "atom_pair") / 0.8, 1.0),
        max_gauss(Descriptors.TPSA(m), 90, 10),
        min_gauss(Crippen.MolLogP(m), 4, 1),
    ]


def hand_ranolazine(smiles: str) -> list[float]:
    m = mol(smiles)
    return [
        min(legacy_sim(smiles, O.RANOLAZINE, "atom_pair") / 0.7, 1.0),
        max_gauss(Crippen.MolLogP(m), 7, 1),
        max_gauss(Descriptors.TPSA(m), 95, 20),
        gauss(sum(a.GetSymbol() == "F" for a in m.GetAtoms()), 1, 1),
    ]


@pytest.mark.parametrize(
    ("task", "hand", "k"),
    [("osimertinib_mpo", hand_osimertinib, 4), ("fexofenadine_mpo", hand_fexofenadine, 3), ("ranolazine_mpo", hand_ranolazine, 4)],
)
def test_mpo_and_its_components_by_hand(task, hand, k):
    parts = Oracle(task, components=True)
    assert len(parts.specs) == k and all(s.bounds == (0.0, 1.0) and s.direction == "max" for s in parts.specs)
    assert all(s.name.startswith(f"{task}_") for s in parts.specs)
    for smiles in MOLS:
        expected = hand(smiles)
        assert one(parts, smiles) == pytest.approx(expected, abs=1e-12)
        assert one(Oracle(task), smiles) == [pytest.approx(math.prod(expected) ** (1 / k), abs=1e-12)]


def test_perindopril_amlodipine_zaleplon_by_hand():
    for smiles in MOLS:
        m = mol(smiles)
        perindopril = legacy_sim(smiles, O.PERINDOPRIL, "ecfp4") * gauss(rdMolDescriptors.CalcNumAromaticRings(m), 2, 0.5)
        amlodipine = legacy_sim(smiles, O.AMLODIPINE, "ecfp4") * gauss(rdMolDescriptors.CalcNumRings(m), 3, 0.5)
        assert one(Oracle("perindopril_mpo"), smiles) == [pytest.approx(math.sqrt(perindopril), abs=1e-12)]
        assert one(Oracle("amlodipine_mpo"), smiles) == [pytest.approx(math.sqrt(amlodipine), abs=1e-12)]
    zaleplon = one(Oracle("zaleplon_mpo", components=True), O.ZALEPLON)
    # zaleplon itself is C17H15N5O (38 atoms) against C19H17N3O2 (41): C, H, N off by 2, O by 1, total by 3 (sigma 2)
    isomer = math.exp(-(2 + 2 + 2 + 0.5 + 9 / 8) / 5)
    assert zaleplon == [pytest.approx(1.0, abs=1e-12), pytest.approx(isomer, abs=1e-12)]
    assert one(Oracle("zaleplon_mpo"), O.ZALEPLON) == [pytest.approx(math.sqrt(isomer), abs=1e-12)]


def test_sitagliptin_scores_exp_minus_12_5_on_itself():
    # isomer 1, logP and TPSA at their own targets 1, similarity 1 -> Gaussian(1; 0, 0.1) = exp(-50); the 4th root is exp(-12.5)
    parts = one(Oracle("sitagliptin_mpo", components=True), O.SITAGLIPTIN)
    assert parts == pytest.approx([math.exp(-50), 1.0, 1.0, 1.0], rel=1e-9)
    assert one(Oracle("sitagliptin_mpo"), O.SITAGLIPTIN) == [pytest.approx(math.exp(-12.5), rel=1e-9)]


def test_valsartan_smarts_needs_the_substructure():
    assert one(Oracle("valsartan_smarts"), ASPIRIN) == [0.0]
    with_smarts = "CCCCC(=O)N(Cc1ccc(-c2ccccc2)cc1)C(C(C)C)C(=O)O"  # valsartan without its tetrazole
    parts = one(Oracle("valsartan_smarts", components=True), with_smarts)
    m = mol(with_smarts)
    sita = mol(O.SITAGLIPTIN)
    expected = [
        1.0,
        gauss(Crippen.MolLogP(m), Crippen.MolLogP(sita), 0.2),
        gauss(Descriptors.TPSA(m), Descriptors.TPSA(sita), 5),
        gauss(Descriptors.BertzCT(m), Descriptors.BertzCT(sita), 30),
    ]
    assert parts == pytest.approx(expected, abs=1e-12)


def test_hop_tasks_on_their_start_molecule():
    # deco_hop: similarity 1, sulfone present (0), benzothiazole amine present (0), scaffold kept (1) -> 2/4
    assert one(Oracle("deco_hop", components=True), O.DECO_HOP_START) == [1.0, 0.0, 0.0, 1.0]
    assert one(Oracle("deco_hop"), O.DECO_HOP_START) == [0.5]
    # scaffold_hop: similarity 1, decorations kept (1), scaffold present (0) -> 2/3
    assert one(Oracle("scaffold_hop"), O.DECO_HOP_START) == [pytest.approx(2 / 3)]


def test_every_oracle_is_registered_bounded_and_survives_pickling():
    assert len(TASK_NAMES) == 20 and set(ORACLES) | {"qed"} == set(TASK_NAMES)
    system = PluginSystem(entry_points=False)
    registry = system.registry("objectives")
    for name in TASK_NAMES:
        objective = registry.build(name)
        scores = pickle.loads(pickle.dumps(objective))([*MOLS, "C1CC"])
        assert objective.specs[0].name == name
        assert scores.valid.tolist() == [True] * len(MOLS) + [False]
        assert bool(((scores.values[:-1] >= 0) & (scores.values[:-1] <= 1)).all()), name
    for name in DESCRIPTOR_OBJECTIVES:
        assert registry.build(name).specs[0].name == name
    assert registry.build("pmo_oracle", {"task": "fexofenadine_mpo", "components": True}).num_outputs == 3
    with pytest.raises(ConfigError, match="unknown PMO oracle"):
        Oracle("drd2")
