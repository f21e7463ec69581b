"""The shipped AMP classifier: loads, reproduces its held-out metric, ranks known AMPs first."""

import csv

import numpy as np
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("modlamp")

from gendesign.plugins.peptides.amp import AMPClassifier, shipped_metrics, shipped_path  # noqa: E402
from gendesign.plugins.peptides.notation import Peptide  # noqa: E402
from gendesign.plugins.peptides.objectives import AMPProbability  # noqa: E402
from gendesign.plugins.peptides.train_amp import roc_auc  # noqa: E402

KNOWN_AMPS = {
    "magainin 2": "GIGKFLHSAKKFGEFVGEIMNS",
    "LL-37": "LLGDFFRKSKEKIGKEFKRIVQRIKDFLRNLVPRTES",
    "melittin": "GIGAVLKVLTTGLPALISWIKRKRQQ",
    "cecropin A": "KWKLFKKIEKVGQNIRDGIIKAGPAVAVVGQATQIAK",
    "indolicidin": "ILPWKWPWWPWRR",
}


@pytest.fixture(scope="module")
def model():
    return AMPClassifier.from_pretrained()


def test_shipped_weights_reproduce_the_stored_test_roc_auc(model):
    with open(shipped_path() / "test_split.csv") as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([int(r["label"]) for r in rows])
    p = model.predict_proba([Peptide(tuple(r["sequence"])) for r in rows]).numpy()
    auc = roc_auc(y, p)
    assert auc == pytest.approx(shipped_metrics()["test_roc_auc"], abs=1e-3)
    assert auc > 0.9
    assert ((p > 0.5) == y).mean() > 0.85


def test_known_amps_score_above_held_out_non_amps(model):
    with open(shipped_path() / "test_split.csv") as fh:
        negatives = [r["sequence"] for r in csv.DictReader(fh) if r["label"] == "0"]
    p_amp = model.predict_proba([Peptide(tuple(s)) for s in KNOWN_AMPS.values()])
    p_neg = model.predict_proba([Peptide(tuple(s)) for s in negatives])
    assert float(p_amp.min()) > float(np.median(p_neg.numpy()))
    assert float(p_amp.mean()) > 0.8


def test_roc_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    s[:20] = s[20:40]
    assert roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))


def test_objective_scores_notation_and_smiles_and_flags_bad_designs():
    from gendesign.plugins.peptides.smiles import peptide_to_smiles

    obj = AMPProbability()
    mag = KNOWN_AMPS["magainin 2"]
    scores = obj([mag, peptide_to_smiles(Peptide(tuple(mag))), "GL[Xyz]K", "CC(=O)NCC"])
    assert scores.valid.tolist() == [True, True, False, False]
    assert scores.values[0, 0] == pytest.approx(scores.values[1, 0].item())
    assert 0.0 <= scores.values[0, 0].item() <= 1.0
    assert "unknown monomer 'Xyz'" in scores.errors[2]
    assert "not a known monomer" in scores.errors[3]
    assert obj.specs[0].bounds == (0.0, 1.0) and obj.specs[0].direction == "max"


def test_temperature_scaling_recovers_a_known_temperature_and_keeps_the_ranking():
    import torch

    from gendesign.plugins.peptides.amp import NUM_FEATURES

    g = torch.Generator().manual_seed(0)
    clf = AMPClassifier(dropout=0.0).eval()
    x = torch.randn(4000, NUM_FEATURES, generator=g)
    with torch.no_grad():
        scale = 4.0 / float(clf(x).std())
        clf.net[-1].weight.mul_(scale)
        clf.net[-1].bias.mul_(scale)
        raw = clf(x)
    y = torch.bernoulli(torch.sigmoid(raw / 3.0), generator=g)
    t = clf.fit_temperature(x, y)
    assert t == pytest.approx(3.0, rel=0.15)
    with torch.no_grad():
        assert torch.allclose(clf(x), raw / t, atol=1e-5)


def test_shipped_classifier_is_calibrated_on_held_out_data():
    from gendesign.plugins.peptides.train_amp import binary_nll, expected_calibration_error

    cal = shipped_metrics()["calibration"]
    assert cal["temperature"] > 1.0
    assert cal["test_nll_after"] < cal["test_nll_before"]
    assert cal["test_ece_after"] < cal["test_ece_before"]
    y = np.array([0, 1, 1, 0])
    assert expected_calibration_error(y, np.array([0.1, 0.9, 0.8, 0.3]), bins=2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.15)
    assert binary_nll(np.array([1, 0]), np.array([0.0, 0.0])) == pytest.approx(np.log(2))
