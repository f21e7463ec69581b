"""Distribution metrics of a set of generated molecules: uniqueness, novelty, internal diversity, scaffolds.

For a list of canonical SMILES ``S`` (duplicates allowed) and its distinct members ``U``:

* uniqueness ``|U| / |S|`` (MOSES, Polykovskiy et al. 2020, Front. Pharmacol. 11:565644);
* novelty against a reference set ``R``: ``|U \\ R| / |U|``, the share of distinct molecules that are
  not in ``R`` (compared as RDKit canonical SMILES);
* internal diversity ``IntDiv = 1 - (2 / (n (n - 1))) sum_{i<j} T(f_i, f_j)`` over the ``n = |U|``
  distinct molecules, with ``T`` the Tanimoto similarity ``|a & b| / |a | b|`` of binary ECFP4
  fingerprints (Morgan radius 2, 2048 bits; Rogers and Hahn 2010) - the mean pairwise
  ``1 - T``. Above ``max_molecules`` molecules, an evenly spaced subset of that size is used;
* scaffold counts: distinct Bemis-Murcko and topological scaffolds
  (:mod:`~gendesign.plugins.molecules.scaffolds`) and the most frequent ones.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence, Set
from pathlib import Path

from gendesign.core.errors import ConfigError
from gendesign.plugins.molecules.mols import parse_smiles
from gendesign.plugins.molecules.scaffolds import ScaffoldKind, scaffold_of
from gendesign.plugins.molecules.similarity import fingerprint
from gendesign.plugins.molecules.smiles import canonical_smiles, nci_smiles_path

__all__ = ["internal_diversity", "novelty", "read_reference", "scaffold_counts", "uniqueness"]

DIVERSITY_MAX_MOLECULES = 2000
"""Largest set whose internal diversity is computed over every pair (about 2 million pairs)."""


def uniqueness(smiles: Sequence[str]) -> float | None:
    """``|distinct| / |smiles|``; ``None`` for an empty list."""
    return len(set(smiles)) / len(smiles) if smiles else None


def novelty(smiles: Iterable[str], reference: Set[str]) -> float | None:
    """Share of the distinct molecules of ``smiles`` that are not in ``reference`` (canonical SMILES); ``None`` when empty."""
    distinct = set(smiles)
    return sum(s not in reference for s in distinct) / len(distinct) if distinct else None


def internal_diversity(smiles: Iterable[str], max_molecules: int = DIVERSITY_MAX_MOLECULES) -> float | None:
    """Mean pairwise ``1 - Tanimoto`` of binary ECFP4 fingerprints over the distinct molecules; ``None`` below two.

    Molecules RDKit cannot parse are skipped. Above ``max_molecules`` distinct molecules, an evenly
    spaced subset (in sorted order, so the result does not depend on input order) is used.
    """
    from rdkit import DataStructs

    distinct = sorted(set(smiles))
    if len(distinct) > max_molecules:
        step = len(distinct) / max_molecules
        distinct = [distinct[int(i * step)] for i in range(max_molecules)]
    fps = []
    for s in distinct:
        mol, _ = parse_smiles(s)
        if mol is not None:
            fps.append(fingerprint(mol, "ecfp4", counts=False, fp_size=2048))
    n = len(fps)
    if n < 2:
        return None
    total = sum(sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1 :])) for i in range(n - 1))
    return 1.0 - total / (n * (n - 1) / 2)


def scaffold_counts(smiles: Iterable[str], kind: ScaffoldKind = "murcko") -> Counter[str]:
    """How many distinct molecules have each ``kind`` scaffold (``""``: acyclic); unparsable ones are skipped."""
    counts: Counter[str] = Counter()
    for s in set(smiles):
        scaffold = scaffold_of(s, kind)
        if scaffold is not None:
            counts[scaffold] += 1
    return counts


def read_reference(source: str) -> frozenset[str]:
    """Canonical SMILES of a reference set: ``"nci"`` (RDKit's packaged NCI set) or a SMILES file (first field per line).

    Lines that do not parse are skipped; a file with no molecule at all is a :class:`ConfigError`.
    The packaged NCI set is read once per process.
    """
    if source == "nci":
        return _nci_reference()
    return _read_reference(source)


@functools.cache
def _nci_reference() -> frozenset[str]:
    return _read_reference("nci")


def _read_reference(source: str) -> frozenset[str]:
    path = nci_smiles_path() if source == "nci" else Path(source)
    if not path.is_file():
        raise ConfigError(f"reference = {source!r}: no such file; give a SMILES file (one molecule per line) or \"nci\"")
    out: set[str] = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        if fields:
            canon = canonical_smiles(fields[0])
            if canon is not None:
                out.add(canon)
    if not out:
        raise ConfigError(f"reference = {source!r} holds no molecule RDKit can read")
    return frozenset(out)
