"""The hemolysis proxy on literature peptides, and the shipped held-out AMP oracle against its own metrics."""

from __future__ import annotations

import csv

import numpy as np
import pytest

pytest.importorskip("modlamp")

from gendesign.plugins.peptides.amp import AMPClassifier, heldout_path  # noqa: E402
from gendesign.plugins.peptides.notation import Peptide  # noqa: E402
from gendesign.plugins.peptides.proxies import hemolysis_proxy  # noqa: E402
from gendesign.plugins.peptides.train_amp import roc_auc  # noqa: E402

# Literature values are listed with their sources in docs/peptides.md ("Hemolysis check").
STRONGLY_HEMOLYTIC = {
    "melittin": "GIGAVLKVLTTGLPALISWIKRKRQQ-NH2",
    "delta-hemolysin": "MAQDIISTIGDLVKWIIDTVNKFTKK",
    "pardaxin P4": "GFFALIPKIISSPLFKTLLSAVGSALSSSGGQE",
    "mastoparan": "INLKALAALAKKIL-NH2",
}
WEAKLY_HEMOLYTIC = {
    "magainin 2": "GIGKFLHSAKKFGKAFVGEIMNS",
    "buforin II": "TRSSRAGLQFPVGRVHRLLRK",
    "cecropin A": "KWKLFKKIEKVGQNIRDGIIKAGPAVAVVGQATQIAK-NH2",
}


def test_every_strongly_hemolytic_peptide_ranks_above_every_weak_one():
    strong = {n: hemolysis_proxy(s) for n, s in STRONGLY_HEMOLYTIC.items()}
    weak = {n: hemolysis_proxy(s) for n, s in WEAKLY_HEMOLYTIC.items()}
    assert min(strong.values()) > max(weak.values()), (strong, weak)
    assert hemolysis_proxy(STRONGLY_HEMOLYTIC["melittin"]) > hemolysis_proxy(WEAKLY_HEMOLYTIC["magainin 2"])


def test_heldout_oracle_reproduces_its_test_metrics_offline():
    path = heldout_path()
    model = AMPClassifier.from_pretrained(path)
    import json

    metrics = json.loads((path / "metrics.json").read_text())
    assert "AMPvsTMset" in metrics["dataset"]
    with open(path / "test_split.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == metrics["split"]["test"]
    y = np.array([int(r["label"]) for r in rows])
    prob = model.predict_proba([Peptide(tuple(r["sequence"])) for r in rows]).numpy()
    assert roc_auc(y, prob) == pytest.approx(metrics["test_roc_auc"], abs=1e-3)
    assert float(((prob > 0.5).astype(int) == y).mean()) == pytest.approx(metrics["test_accuracy"], abs=1e-3)


def test_heldout_objective_is_registered_and_named():
    from gendesign.core.plugins import get_plugins

    obj = get_plugins().objectives.build("amp_heldout", {})
    assert [s.name for s in obj.specs] == ["amp_heldout"]
    scores = obj(["GIGKFLHSAKKFGKAFVGEIMNS", "AAGAATVLLVIVLLAGSYLAVLA"])
    assert scores.values[0, 0] > 0.5 > scores.values[1, 0]
