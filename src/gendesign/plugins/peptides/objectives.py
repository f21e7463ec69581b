"""Peptide objectives: AMP probability, descriptors, property proxies and user models.

Every objective accepts designs of both peptide spaces: peptide notation (``"Ac-GLW[dK]-NH2"``),
peptide SMILES, or :class:`~gendesign.plugins.peptides.notation.Peptide` objects. A design that does
not decode into a peptide is returned ``valid=False`` with the parser's message, never an exception.
"""

from __future__ import annotations

import hashlib
import math
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gendesign.core.errors import GendesignError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.plugins.peptides.descriptors import DEFAULT_DIRECTIONS, as_peptide, check_names, descriptors
from gendesign.plugins.peptides.notation import Peptide
from gendesign.plugins.peptides.proxies import PROXIES, PROXY_FUNCTIONS


class PeptideObjective(Objective):
    """Base: decodes every design into a :class:`Peptide` and scores the decodable ones in one batch."""

    @abstractmethod
    def score(self, peptides: Sequence[Peptide]) -> Tensor:
        """Values `[B, K]` for ``B`` decoded peptides."""
        raise NotImplementedError

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        peps: list[Peptide] = []
        rows: list[int] = []
        errors: list[str | None] = [None] * len(designs)
        for i, d in enumerate(designs):
            try:
                peps.append(as_peptide(d))
                rows.append(i)
            except GendesignError as exc:
                errors[i] = f"{type(exc).__name__}: {exc}"
        k = len(self.specs)
        values = torch.full((len(designs), k), math.nan)
        valid = torch.zeros(len(designs), dtype=torch.bool)
        if peps:
            values[rows] = self.score(peps).to(torch.float32).reshape(len(peps), k)
            valid[rows] = True
        return Scores(values=values, valid=valid, specs=self.specs, errors=errors)


class AMPProbability(PeptideObjective):
    """Calibrated probability that a peptide is antimicrobial (MLP trained on modlAMP's AMP vs UniProt set, temperature-scaled).

    Args:
        model_path: local directory of an :class:`~gendesign.plugins.peptides.amp.AMPClassifier`;
            default: the weights shipped in the package (test ROC-AUC in their ``metrics.json``).
        column: the output column's name.
        training_set: the training data named in the column's description.
    """

    def __init__(self, model_path: str | None = None, column: str = "amp_probability", training_set: str = "modlAMP AMP vs UniProt") -> None:
        from gendesign.plugins.peptides.amp import AMPClassifier, shipped_path

        self.model_path = Path(model_path) if model_path else shipped_path()
        self.model = AMPClassifier.from_pretrained(self.model_path)
        self.specs = (
            ObjectiveSpec(
                column,
                "max",
                bounds=(0.0, 1.0),
                description=f"P(antimicrobial), MLP on composition + physicochemical features ({training_set})",
            ),
        )

    def score(self, peptides: Sequence[Peptide]) -> Tensor:
        return self.model.predict_proba(peptides).unsqueeze(-1)

    def config(self) -> dict[str, Any]:
        digest = hashlib.sha256((self.model_path / "model.safetensors").read_bytes()).hexdigest()[:16]
        return {**super().config(), "weights": digest}


def amp_heldout() -> AMPProbability:
    """Held-out AMP evaluation oracle ``amp_heldout``: the AMP classifier retrained on modlAMP's AMPvsTMset (AMPs vs transmembrane helices).

    Meant for ``[[evaluate]]``, not for guiding: it shares no negatives with the guide classifier
    ``amp_probability`` (AMPvsUniProt), so designs that exploit the guide's blind spots score lower here.
    """
    from gendesign.plugins.peptides.amp import heldout_path

    return AMPProbability(str(heldout_path()), column="amp_heldout", training_set="modlAMP AMP vs transmembrane helices")


class PeptideDescriptors(PeptideObjective):
    """Physicochemical descriptors as objective columns (net charge, GRAVY, hydrophobic moment, ...).

    Args:
        descriptors: names from :data:`~gendesign.plugins.peptides.descriptors.DESCRIPTORS`.
        directions: optional direction per descriptor; default from
            :data:`~gendesign.plugins.peptides.descriptors.DEFAULT_DIRECTIONS`.
    """

    def __init__(self, descriptors: list[str] | None = None, directions: list[str] | None = None) -> None:
        names = check_names(descriptors or ["net_charge", "hydrophobic_moment"])
        if directions is not None and len(directions) != len(names):
            from gendesign.core.errors import ConfigError

            raise ConfigError(
                f"directions={directions} has {len(directions)} entries for descriptors {list(names)}; give one per descriptor"
            )
        dirs = directions or [DEFAULT_DIRECTIONS[n] for n in names]
        self.names_ = names
        self.specs = tuple(ObjectiveSpec(n, d, description=f"peptide descriptor {n}") for n, d in zip(names, dirs))  # type: ignore[arg-type]

    def score(self, peptides: Sequence[Peptide]) -> Tensor:
        return torch.tensor([[descriptors(p, self.names_)[n] for n in self.names_] for p in peptides], dtype=torch.float32)


class PropertyProxy(PeptideObjective):
    """A literature-rule PROXY (not a trained model) for solubility, hemolysis or permeability.

    Args:
        proxy: ``"solubility_proxy"``, ``"hemolysis_proxy"``, ``"permeability_proxy"`` or
            ``"protease_resistance_proxy"``; formulas and
            sources in :mod:`~gendesign.plugins.peptides.proxies`.
    """

    def __init__(self, proxy: str) -> None:
        if proxy not in PROXIES:
            from gendesign.core.errors import ConfigError

            raise ConfigError(f"unknown proxy {proxy!r}; choose from {sorted(PROXIES)}")
        self.proxy = proxy
        self.fn = PROXY_FUNCTIONS[proxy]
        doc = (self.fn.__doc__ or "").strip().splitlines()[0]
        self.specs = (ObjectiveSpec(proxy, PROXIES[proxy], bounds=(0.0, 1.0), description=doc),)  # type: ignore[arg-type]

    def score(self, peptides: Sequence[Peptide]) -> Tensor:
        return torch.tensor([[self.fn(p)] for p in peptides], dtype=torch.float32)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "proxy": self.proxy}


def solubility_proxy() -> PropertyProxy:
    """PROXY for aqueous solubility in [0, 1] (GRAVY, net charge, hydrophobic fraction rules)."""
    return PropertyProxy("solubility_proxy")


def hemolysis_proxy() -> PropertyProxy:
    """PROXY for hemolysis risk in [0, 1], lower is safer (hydrophobicity and amphipathicity rules)."""
    return PropertyProxy("hemolysis_proxy")


def permeability_proxy() -> PropertyProxy:
    """PROXY for passive membrane permeability in [0, 1] (soft beyond-rule-of-5 limits on MW, logP, HBD, TPSA)."""
    return PropertyProxy("permeability_proxy")


def protease_resistance_proxy() -> PropertyProxy:
    """PROXY for protease resistance in [0, 1] (trypsin, chymotrypsin and exopeptidase sites; D, N-methyl and Pro protection)."""
    return PropertyProxy("protease_resistance_proxy")


class UserModelObjective(PeptideObjective):
    """A user-supplied property model loaded from a local directory (torch state dict or scikit-learn).

    Args:
        path: local model directory (format in :mod:`~gendesign.plugins.peptides.user_models`).
        trust_pickle: allow joblib/pickle scikit-learn files, which run code on load.
        trusted_types: type names a ``.skops`` file may hold beyond the built-in allow-list
            (:data:`~gendesign.plugins.peptides.user_models.SKLEARN_TRUSTED_TYPES`); the
            loader's error lists the ones a file needs. See ``docs/security.md``.
    """

    def __init__(self, path: str, trust_pickle: bool = False, trusted_types: list[str] | None = None) -> None:
        from gendesign.plugins.peptides.user_models import load_user_model

        self.model = load_user_model(path, trust_pickle=trust_pickle, trusted_types=trusted_types or ())
        cfg = self.model.cfg
        dirs = cfg.directions or ["max"] * len(cfg.outputs)
        bounds = cfg.bounds or [None] * len(cfg.outputs)
        self.specs = tuple(
            ObjectiveSpec(n, d, bounds=b, description=f"user model {self.model.path.name}")  # type: ignore[arg-type]
            for n, d, b in zip(cfg.outputs, dirs, bounds)
        )

    def score(self, peptides: Sequence[Peptide]) -> Tensor:
        return self.model.predict(peptides)

    def config(self) -> dict[str, Any]:
        weights = self.model.path / self.model.cfg.weights
        return {
            **super().config(),
            "weights": hashlib.sha256(weights.read_bytes()).hexdigest()[:16],
            "model": self.model.cfg.model_dump(),
        }
