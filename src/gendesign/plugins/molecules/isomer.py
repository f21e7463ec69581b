"""Isomer (molecular formula) score: how closely a molecule's atom counts match a target formula.

GuacaMol's definition (Brown et al., "GuacaMol: benchmarking models for de novo molecular design",
J. Chem. Inf. Model. 59, 1096, 2019, section "Isomers"): for a target formula with element counts
``n_e`` and total atom count ``N = sum_e n_e`` (hydrogens included),

    score = mean( g(c_e(m); n_e, 1) for each element e of the formula,  g(c(m); N, 2) )

where ``c_e(m)`` counts atoms of element ``e`` in molecule ``m`` with its hydrogens made explicit,
``c(m)`` counts all its atoms (hydrogens included), ``g(x; mu, sigma) = exp(-(x - mu)^2 / (2 sigma^2))``
and the mean is geometric by default (GuacaMol v2, PMO) or arithmetic. Elements absent from the
formula are penalised only through the total count. A molecule with exactly the formula scores 1.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from gendesign.core.errors import ConfigError
from gendesign.core.objective import ObjectiveSpec
from gendesign.plugins.molecules.mols import MoleculeObjective

_FORMULA_TERM = re.compile(r"([A-Z][a-z]?)(\d*)")


def parse_formula(formula: str) -> list[tuple[str, int]]:
    """``[(element, count), ...]`` of a Hill-style formula such as ``"C9H10N2O2PF2Cl"`` (counts of repeated elements add)."""
    if not isinstance(formula, str) or not formula or _FORMULA_TERM.sub("", formula):
        raise ConfigError(f"formula={formula!r} is not a molecular formula like 'C7H8N2O2' (element symbols, each with an optional count)")
    counts: dict[str, int] = {}
    for element, number in _FORMULA_TERM.findall(formula):
        counts[element] = counts.get(element, 0) + (int(number) if number else 1)
    if any(n == 0 for n in counts.values()):
        raise ConfigError(f"formula={formula!r} gives an element a count of 0; leave the element out instead")
    return list(counts.items())


def gaussian(x: float, mu: float, sigma: float) -> float:
    """``exp(-(x - mu)^2 / (2 sigma^2))``."""
    return math.exp(-0.5 * ((x - mu) / sigma) ** 2)


def isomer_terms(mol: Any, formula: list[tuple[str, int]]) -> list[float]:
    """The per-element Gaussian terms of ``mol`` then the total-atom term (see the module docstring)."""
    from rdkit import Chem

    with_h = Chem.AddHs(mol)
    symbols = [atom.GetSymbol() for atom in with_h.GetAtoms()]
    terms = [gaussian(symbols.count(element), n, 1.0) for element, n in formula]
    terms.append(gaussian(len(symbols), sum(n for _, n in formula), 2.0))
    return terms


def combine(terms: list[float], mean: Literal["geometric", "arithmetic"]) -> float:
    """Geometric or arithmetic mean of ``terms``."""
    if mean == "arithmetic":
        return sum(terms) / len(terms)
    return math.prod(terms) ** (1.0 / len(terms))


def isomer_value(mol: Any, formula: list[tuple[str, int]], mean: Literal["geometric", "arithmetic"] = "geometric") -> float:
    """Isomer score of ``mol`` for a parsed formula, in ``[0, 1]``."""
    return combine(isomer_terms(mol, formula), mean)


class IsomerScore(MoleculeObjective):
    """Closeness of a molecule's atom counts to a molecular formula, 1 for an exact isomer (GuacaMol, Brown et al. 2019).

    Args:
        formula: target formula, e.g. ``"C7H8N2O2"``.
        mean: ``"geometric"`` (GuacaMol v2, PMO) or ``"arithmetic"`` mean of the terms.
        name: the column name (default ``isomer_<formula>``).
    """

    def __init__(self, formula: str, mean: Literal["geometric", "arithmetic"] = "geometric", name: str | None = None) -> None:
        self.formula = parse_formula(formula)
        if mean not in ("geometric", "arithmetic"):
            raise ConfigError(f"mean={mean!r}; use 'geometric' or 'arithmetic'")
        self.mean = mean
        self.specs = (ObjectiveSpec(name or f"isomer_{formula.lower()}", "max", bounds=(0.0, 1.0), description=f"isomer score for {formula} (GuacaMol)"),)

    def score_mol(self, mol: Any) -> list[float]:
        return [isomer_value(mol, self.formula, self.mean)]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "formula": self.formula, "mean": self.mean}
