"""Antimicrobial-peptide (AMP) classifier: a small MLP on composition and physicochemical features.

Data: the ``AMPvsUniProt`` set shipped inside the ``modlamp`` wheel (Mueller et al.,
Bioinformatics 33, 2753, 2017; BSD-3-Clause): 2,600 antimicrobial peptides from APD/CAMP/DBAASP
and 2,600 length-matched UniProt sequences without annotated antimicrobial activity. The shipped
weights (``data/amp_classifier/``) were trained by ``python -m gendesign.plugins.peptides.train_amp``
on a stratified 70/15/15 train/validation/test split of the de-duplicated sequences; the test
ROC-AUC is stored in ``metrics.json`` next to the weights.

Features `[B, F]`, ``F = 20 + 49 + 8 = 77``, computed on canonical parents (see
:mod:`~gendesign.plugins.peptides.descriptors`):

* amino-acid composition (20 fractions);
* reduced-alphabet dipeptide composition over 7 physicochemical classes (49 fractions), the
  conjoint-triad grouping of Shen et al., PNAS 104, 4337 (2007);
* 8 globals: length / 50, net charge / 10, GRAVY / 4, Eisenberg ``H`` and ``muH``, Boman / 5,
  instability / 100, hydrophobic fraction.

Model: ``x -> standardise -> Linear(F, h) -> GELU -> Dropout -> Linear(h, 1)`` gives a raw logit
``z`` and ``P(AMP) = sigmoid(z / T)``. The temperature ``T`` is fitted after training by minimising
the validation negative log-likelihood (temperature scaling, Guo et al., "On Calibration of Modern
Neural Networks", ICML 2017); it leaves the ranking, hence ROC-AUC, unchanged and only makes the
probabilities honest, which matters when they are traded off against other objectives.
Non-canonical monomers are scored through their parents, which is an
approximation: the training data contain canonical L-peptides only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gendesign.core.errors import GendesignError
from gendesign.core.files import file_in
from gendesign.plugins.peptides.descriptors import (
    boman_index,
    gravy,
    hydrophobic_moment,
    instability_index,
    mean_hydrophobicity,
    net_charge,
    parents,
)
from gendesign.plugins.peptides.notation import Peptide
from gendesign.plugins.peptides.proxies import HYDROPHOBIC_PARENTS

AA = "ACDEFGHIKLMNPQRSTVWY"
CONJOINT_CLASSES = ("AGV", "ILFP", "YMTS", "HNQW", "RK", "DE", "C")
_CLASS_OF = {aa: i for i, group in enumerate(CONJOINT_CLASSES) for aa in group}
NUM_FEATURES = 20 + 49 + 8

SHIPPED_DIR = "amp_classifier"
HELDOUT_DIR = "amp_heldout"


def featurize(peptides: Sequence[Peptide]) -> Tensor:
    """Feature matrix `[B, 77]` float32 (see the module docstring)."""
    rows = []
    for pep in peptides:
        p = parents(pep)
        n = len(p)
        aac = [p.count(a) / n for a in AA]
        dpc = [0.0] * 49
        for a, b in zip(p[:-1], p[1:]):
            dpc[_CLASS_OF[a] * 7 + _CLASS_OF[b]] += 1.0
        pairs = max(n - 1, 1)
        dpc = [v / pairs for v in dpc]
        glob = [
            n / 50.0,
            net_charge(pep) / 10.0,
            gravy(pep) / 4.0,
            mean_hydrophobicity(pep),
            hydrophobic_moment(pep),
            boman_index(pep) / 5.0,
            instability_index(pep) / 100.0,
            sum(x in HYDROPHOBIC_PARENTS for x in p) / n,
        ]
        rows.append(aac + dpc + glob)
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), NUM_FEATURES)


class AMPClassifier(nn.Module):
    """MLP ``P(AMP | features)``; the constructor arguments are its saved JSON config.

    Args:
        num_features: input width ``F``.
        hidden: hidden units ``h``.
        dropout: dropout rate during training.
    """

    def __init__(self, num_features: int = NUM_FEATURES, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        self.config = {"num_features": num_features, "hidden": hidden, "dropout": dropout}
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.register_buffer("temperature", torch.ones(()))
        self.net = nn.Sequential(nn.Linear(num_features, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, 1))

    def set_standardisation(self, x: Tensor) -> None:
        """Store per-feature mean and std of the training features ``x`` `[N, F]`."""
        self.mean.copy_(x.mean(0))
        self.std.copy_(x.std(0).clamp_min(1e-6))

    def forward(self, x: Tensor) -> Tensor:
        """Calibrated logits ``z / T`` `[B]` for features ``x`` `[B, F]`."""
        return self.net((x - self.mean) / self.std).squeeze(-1) / self.temperature

    def fit_temperature(self, x: Tensor, y: Tensor) -> float:
        """Set ``T`` to the minimiser of the NLL of labels ``y`` `[N]` (0/1) given features ``x`` `[N, F]`; return it.

        The ranking of predictions is unchanged. Fit on held-out (validation) data, never on training data.
        """
        self.temperature.fill_(1.0)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            z = self(x).double()
        self.train(was_training)
        log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([log_t], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")
        target = y.double()

        def closure() -> Tensor:
            opt.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(z / log_t.exp(), target)
            loss.backward()
            return loss

        opt.step(closure)
        self.temperature.fill_(float(log_t.detach().exp()))
        return float(self.temperature)

    @torch.no_grad()
    def predict_proba(self, peptides: Sequence[Peptide]) -> Tensor:
        """``P(AMP)`` `[B]` for ``peptides``."""
        was_training = self.training
        self.eval()
        out = torch.sigmoid(self(featurize(peptides)))
        self.train(was_training)
        return out

    def save_pretrained(self, directory: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors`` and (optionally) ``metrics.json``."""
        from safetensors.torch import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True))
        save_file({k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}, str(out / "model.safetensors"))
        if metrics is not None:
            (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True))
        return out

    @classmethod
    def from_pretrained(cls, directory: str | Path | None = None) -> AMPClassifier:
        """Load from a local directory written by :meth:`save_pretrained` (default: the shipped weights)."""
        from safetensors.torch import load_file

        path = Path(directory) if directory is not None else shipped_path()
        cfg = file_in(path, "config.json", what="AMP classifier config")
        if not cfg.is_file():
            raise GendesignError(f"{cfg} does not exist; pass a directory written by AMPClassifier.save_pretrained")
        model = cls(**json.loads(cfg.read_text()))
        state = load_file(str(file_in(path, "model.safetensors", what="AMP classifier weights")))
        state.setdefault("temperature", torch.ones(()))
        model.load_state_dict(state)
        return model.eval()


def shipped_path() -> Path:
    """Directory of the classifier weights shipped in the package."""
    return Path(str(resources.files("gendesign.plugins.peptides") / "data" / SHIPPED_DIR))


def heldout_path() -> Path:
    """Directory of the held-out evaluation oracle: the same architecture trained on modlAMP's AMPvsTMset (AMPs vs transmembrane helices)."""
    return Path(str(resources.files("gendesign.plugins.peptides") / "data" / HELDOUT_DIR))


def shipped_metrics() -> dict[str, Any]:
    """Training metrics of the shipped classifier (split sizes, validation and test ROC-AUC)."""
    return json.loads((shipped_path() / "metrics.json").read_text())
