"""Train the shipped AMP classifiers: ``python -m gendesign.plugins.peptides.train_amp [--dataset NAME] [--out DIR]``.

``--dataset AMPvsUniProt.csv`` (default) trains the guide classifier (``data/amp_classifier``);
``--dataset AMPvsTMset.csv`` trains the held-out evaluation oracle (``data/amp_heldout``): modlAMP's
second AMP set, 206 AMPs against 206 transmembrane helices, whose negatives (hydrophobic membrane
helices, not random UniProt sequences) draw a different decision boundary.

Reads the chosen CSV from the installed ``modlamp`` wheel (nothing is downloaded), removes
duplicate sequences and sequences with a conflicting label, splits the rest 70/15/15 stratified by
label with a fixed seed, trains :class:`~gendesign.plugins.peptides.amp.AMPClassifier` with AdamW
on the binary cross-entropy, keeps the epoch with the best validation ROC-AUC, fits the temperature
of :meth:`~gendesign.plugins.peptides.amp.AMPClassifier.fit_temperature` on the validation split,
and writes the weights, ``metrics.json`` (split sizes, validation and test ROC-AUC / accuracy, test
NLL and expected calibration error before and after temperature scaling), the held-out test
sequences ``test_split.csv`` and the modlAMP licence into the output directory.
"""

from __future__ import annotations

import argparse
import csv
import json
from importlib import resources
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gendesign.core.errors import GendesignError, require
from gendesign.plugins.peptides.amp import AA, AMPClassifier, featurize, heldout_path, shipped_path
from gendesign.plugins.peptides.notation import Peptide

DATASET = "AMPvsUniProt.csv"
HELDOUT_DATASET = "AMPvsTMset.csv"
DATASETS = (DATASET, HELDOUT_DATASET)


def load_amp_vs_uniprot(dataset: str = DATASET) -> tuple[list[str], np.ndarray]:
    """Sequences and labels (1 = AMP) of a modlAMP AMP set (default AMPvsUniProt), de-duplicated, canonical letters only."""
    require("modlamp", "peptides")
    if dataset not in DATASETS:
        raise GendesignError(f"dataset {dataset!r} is not a modlAMP AMP set this script knows; choose from {list(DATASETS)}")
    text = (resources.files("modlamp") / "data" / dataset).read_text()
    labels: dict[str, set[int]] = {}
    rows = list(csv.reader(text.splitlines()))
    for row in rows[1:]:
        if len(row) < 2:
            continue
        seq, lab = row[0].strip().upper(), int(row[1])
        if seq and all(c in AA for c in seq):
            labels.setdefault(seq, set()).add(lab)
    seqs = sorted(s for s, ls in labels.items() if len(ls) == 1)
    y = np.array([next(iter(labels[s])) for s in seqs], dtype=np.int64)
    return seqs, y


def stratified_split(
    y: np.ndarray, fractions: tuple[float, float, float], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index arrays (train, val, test) with the label ratio preserved in each part."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[], [], []]
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_train = int(round(fractions[0] * len(idx)))
        n_val = int(round(fractions[1] * len(idx)))
        parts[0] += idx[:n_train].tolist()
        parts[1] += idx[n_train : n_train + n_val].tolist()
        parts[2] += idx[n_train + n_val :].tolist()
    return tuple(np.sort(np.array(p)) for p in parts)  # type: ignore[return-value]


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic ``P(score_pos > score_neg) + 0.5 P(tie)``."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        raise GendesignError("ROC-AUC needs both classes")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def expected_calibration_error(y: np.ndarray, prob: np.ndarray, bins: int = 15) -> float:
    """ECE ``sum_b (n_b / N) |mean(y_b) - mean(p_b)|`` over ``bins`` equal-width bins of ``P(y = 1)`` (Guo et al. 2017)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(prob, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            ece += sel.mean() * abs(float(y[sel].mean()) - float(prob[sel].mean()))
    return float(ece)


def binary_nll(y: np.ndarray, logit: np.ndarray) -> float:
    """Mean negative log-likelihood (nats) of labels ``y`` under ``sigmoid(logit)``."""
    return float(np.mean(np.logaddexp(0.0, logit) - y * logit))


def train(
    out: Path,
    *,
    seed: int = 0,
    epochs: int = 150,
    hidden: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    dataset: str = DATASET,
) -> dict[str, Any]:
    """Train, select by validation ROC-AUC, evaluate on test, write everything to ``out``; return the metrics."""
    torch.manual_seed(seed)
    seqs, y = load_amp_vs_uniprot(dataset)
    tr, va, te = stratified_split(y, (0.7, 0.15, 0.15), seed)
    x = featurize([Peptide(tuple(s)) for s in seqs])
    yt = torch.tensor(y, dtype=torch.float32)
    model = AMPClassifier(hidden=hidden)
    model.set_standardisation(x[tr])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    best: tuple[float, int, dict[str, torch.Tensor]] = (-1.0, -1, {})
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        perm = torch.as_tensor(tr)[torch.randperm(len(tr), generator=gen)]
        for batch in perm.split(256):
            opt.zero_grad()
            loss = loss_fn(model(x[batch]), yt[batch])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val_auc = roc_auc(y[va], model(x[va]).numpy())
        if val_auc > best[0]:
            best = (val_auc, epoch, {k: v.clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    model.eval()
    with torch.no_grad():
        raw_logit = model(x[te]).double().numpy()
    temperature = model.fit_temperature(x[va], yt[va])
    with torch.no_grad():
        test_logit = model(x[te]).double().numpy()
    calibration = {
        "temperature": round(temperature, 4),
        "fitted_on": "validation split, minimum NLL",
        "test_nll_before": round(binary_nll(y[te], raw_logit), 4),
        "test_nll_after": round(binary_nll(y[te], test_logit), 4),
        "test_ece_before": round(expected_calibration_error(y[te], 1 / (1 + np.exp(-raw_logit))), 4),
        "test_ece_after": round(expected_calibration_error(y[te], 1 / (1 + np.exp(-test_logit))), 4),
    }
    metrics = {
        "dataset": f"modlamp {distribution('modlamp').version} data/{dataset} (BSD-3-Clause)",
        "n_sequences": len(seqs),
        "split": {"train": len(tr), "validation": len(va), "test": len(te), "seed": seed},
        "best_epoch": best[1],
        "validation_roc_auc": round(best[0], 4),
        "test_roc_auc": round(roc_auc(y[te], test_logit), 4),
        "test_accuracy": round(float(((test_logit > 0).astype(int) == y[te]).mean()), 4),
        "calibration": calibration,
        "hyperparameters": {"epochs": epochs, "hidden": hidden, "lr": lr, "weight_decay": weight_decay},
        "command": "python -m gendesign.plugins.peptides.train_amp" + ("" if dataset == DATASET else f" --dataset {dataset} --seed {seed}"),
    }
    model.save_pretrained(out, metrics=metrics)
    with open(out / "test_split.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sequence", "label"])
        for i in te:
            w.writerow([seqs[i], int(y[i])])
    licence = next((f for f in distribution("modlamp").files or [] if f.name == "LICENSE"), None)
    if licence is not None:
        (out / "LICENSE-modlAMP-data.txt").write_text(
            "The training and test data come from modlAMP (https://github.com/alexarnimueller/modlAMP), data/"
            f"{dataset}, under this licence:\n\n" + Path(str(licence.locate())).read_text()
        )
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default=DATASET, help="modlAMP data set (AMPvsTMset.csv: the held-out oracle)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: the package's shipped weights for --dataset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--hidden", type=int, default=64)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out = args.out or (shipped_path() if args.dataset == DATASET else heldout_path())
    metrics = train(out, seed=args.seed, epochs=args.epochs, hidden=args.hidden, dataset=args.dataset)
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
