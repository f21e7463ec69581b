"""Synthetic accessibility (SA) score through RDKit's Contrib ``sascorer``, loaded from the RDKit wheel.

SA score (Ertl and Schuffenhauer, "Estimation of synthetic accessibility score of drug-like
molecules based on molecular complexity and fragment contributions", J. Cheminform. 1:8, 2009):
a fragment score (the mean contribution of the molecule's ECFP4 fragments, from their frequency
in PubChem) minus a complexity penalty (ring, stereo, macrocycle and size terms), rescaled to
``[1, 10]``: 1 is easy to make, 10 very hard.

The implementation is RDKit's ``Contrib/SA_Score/sascorer.py`` with its fragment table
``fpscores.pkl.gz``, both shipped inside the ``rdkit`` wheel under ``RDConfig.RDContribDir``
(BSD licence). It is imported from there, never copied; the table loads once per process.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from gendesign.core.errors import MissingDependencyError, require


@functools.cache
def sascorer() -> ModuleType:
    """RDKit's Contrib ``sascorer`` module, with its fragment scores loaded.

    Raises:
        MissingDependencyError: RDKit is missing, or this RDKit build ships no ``Contrib/SA_Score``.
    """
    require("rdkit", "molecules")
    from rdkit import RDConfig

    path = Path(RDConfig.RDContribDir) / "SA_Score" / "sascorer.py"
    if not path.is_file() or not (path.parent / "fpscores.pkl.gz").is_file():
        raise MissingDependencyError(
            f"RDKit's SA score (Contrib/SA_Score/sascorer.py and fpscores.pkl.gz) is missing under {path.parent}; "
            "install the PyPI rdkit wheel, which ships it: pip install 'gendesign[molecules]'"
        )
    spec = importlib.util.spec_from_file_location("gendesign_rdkit_sascorer", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.readFragmentScores()
    return module


def sa_score(mol: Any) -> float:
    """SA score of an RDKit molecule in ``[1, 10]`` (lower is easier to synthesise)."""
    return float(sascorer().calculateScore(mol))
