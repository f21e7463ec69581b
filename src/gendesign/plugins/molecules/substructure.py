"""Substructure objectives: SMARTS patterns a molecule must contain or avoid, and structural-alert catalogs.

* :class:`SmartsFilter` (``smarts``): 1.0 when the molecule matches every ``require`` pattern and
  no ``avoid`` pattern, else 0.0; with ``fraction=True`` the fraction of the patterns satisfied
  (a softer signal). Use it as a constraint column with ``threshold = 1``.
* :class:`StructuralAlerts` (``structural_alerts``): the number of alerts of RDKit's
  ``FilterCatalog`` that match, minimised. Catalogs: ``pains_a``, ``pains_b``, ``pains_c`` (PAINS
  families of Baell and Holloway, J. Med. Chem. 53, 2719, 2010; ``pains`` is all three), ``brenk``
  (unwanted groups, Brenk et al., ChemMedChem 3, 435, 2008), ``nih`` (NCGC reactive and
  assay-interfering groups, Jadhav et al., J. Med. Chem. 53, 37, 2010), and also ``zinc`` and
  ``chembl`` (ChEMBL's collected alert sets). The names of the matching alerts are in
  ``Scores.info["alerts"]``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec, Scores
from gendesign.plugins.molecules.mols import MoleculeObjective, parse_smiles


@functools.lru_cache(maxsize=1024)
def smarts_pattern(smarts: str) -> Any:
    """The RDKit query molecule of ``smarts``, or :class:`ConfigError` naming the pattern."""
    from gendesign.plugins.molecules.smiles import rdkit_chem

    pattern = rdkit_chem().MolFromSmarts(smarts) if isinstance(smarts, str) and smarts else None
    if pattern is None:
        raise ConfigError(f"SMARTS {smarts!r} does not parse; check it, e.g. with rdkit.Chem.MolFromSmarts")
    return pattern


def has_match(mol: Any, smarts: str) -> bool:
    """Whether ``mol`` contains the SMARTS pattern."""
    return bool(mol.HasSubstructMatch(smarts_pattern(smarts)))


class SmartsFilter(MoleculeObjective):
    """1 when a molecule contains every ``require`` SMARTS and no ``avoid`` SMARTS, else 0 (or the fraction satisfied).

    Args:
        require: SMARTS patterns that must be present.
        avoid: SMARTS patterns that must be absent.
        fraction: report the fraction of patterns satisfied instead of all-or-nothing.
        name: the column name.
    """

    def __init__(self, require: Sequence[str] = (), avoid: Sequence[str] = (), fraction: bool = False, name: str = "smarts") -> None:
        if not require and not avoid:
            raise ConfigError("smarts needs at least one pattern: give require = ['SMARTS', ...] and/or avoid = [...]")
        for smarts in (*require, *avoid):
            smarts_pattern(smarts)
        self.require = tuple(require)
        self.avoid = tuple(avoid)
        self.fraction = bool(fraction)
        self.specs = (
            ObjectiveSpec(
                name, "max", bounds=(0.0, 1.0), description=f"SMARTS: requires {len(self.require)}, avoids {len(self.avoid)} patterns"
            ),
        )

    def score_mol(self, mol: Any) -> list[float]:
        ok = [has_match(mol, s) for s in self.require] + [not has_match(mol, s) for s in self.avoid]
        return [sum(ok) / len(ok) if self.fraction else float(all(ok))]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "require": list(self.require), "avoid": list(self.avoid), "fraction": self.fraction}


AlertCatalog = Literal["pains", "pains_a", "pains_b", "pains_c", "brenk", "nih", "zinc", "chembl"]
_CATALOGS = {
    "pains": "PAINS",
    "pains_a": "PAINS_A",
    "pains_b": "PAINS_B",
    "pains_c": "PAINS_C",
    "brenk": "BRENK",
    "nih": "NIH",
    "zinc": "ZINC",
    "chembl": "CHEMBL",
}


@functools.lru_cache(maxsize=32)
def _catalog(names: tuple[str, ...]) -> Any:
    from rdkit.Chem import FilterCatalog

    params = FilterCatalog.FilterCatalogParams()
    for name in names:
        params.AddCatalog(getattr(FilterCatalog.FilterCatalogParams.FilterCatalogs, _CATALOGS[name]))
    return FilterCatalog.FilterCatalog(params)


class StructuralAlerts(MoleculeObjective):
    """Number of structural alerts (PAINS, Brenk, NIH, ... through RDKit's FilterCatalog) a molecule matches; minimised.

    Args:
        catalogs: alert sets to use: ``pains`` (= ``pains_a`` + ``pains_b`` + ``pains_c``), ``brenk``,
            ``nih``, ``zinc``, ``chembl``.
        name: the column name.
    """

    def __init__(self, catalogs: Sequence[AlertCatalog] = ("pains",), name: str = "structural_alerts") -> None:
        unknown = [c for c in catalogs if c not in _CATALOGS]
        if unknown or not catalogs:
            raise ConfigError(f"unknown alert catalog(s) {unknown or list(catalogs)}; choose from {sorted(_CATALOGS)}")
        self.catalogs = tuple(dict.fromkeys(catalogs))
        self.specs = (ObjectiveSpec(name, "min", description=f"structural alerts matched ({', '.join(self.catalogs)}), RDKit FilterCatalog"),)

    def alerts(self, mol: Any) -> list[str]:
        """Descriptions of the alerts that ``mol`` matches."""
        return [entry.GetDescription() for entry in _catalog(self.catalogs).GetMatches(mol)]

    def score_mol(self, mol: Any) -> list[float]:
        return [float(len(self.alerts(mol)))]

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        found: list[list[str]] = []
        counts: list[float] = []
        errors: list[str | None] = []
        for design in designs:
            mol, error = parse_smiles(design)
            names = self.alerts(mol) if mol is not None else []
            found.append(names)
            counts.append(float(len(names)) if mol is not None else math.nan)
            errors.append(error)
        values = torch.tensor(counts, dtype=torch.float64).unsqueeze(-1)
        valid = torch.tensor([e is None for e in errors], dtype=torch.bool)
        return Scores(values=values, valid=valid, specs=self.specs, errors=errors, info={"alerts": found})

    def config(self) -> dict[str, Any]:
        return {**super().config(), "catalogs": list(self.catalogs)}
