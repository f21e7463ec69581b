"""Morgan fingerprints of molecules: the feature encoder the molecule spaces give to ``bo``.

A design (a SMILES string, as both molecule spaces store it) becomes the ``n_bits``-wide Morgan
(extended-connectivity) fingerprint of radius ``radius`` (Rogers & Hahn 2010, "Extended-connectivity
fingerprints", J. Chem. Inf. Model. 50(5)), as bits or, with ``counts=True``, as hashed counts.
Its :attr:`MorganFingerprints.kernel` is ``"tanimoto"``: the features are non-negative and the
Tanimoto similarity is the standard similarity of fingerprints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.plugins.molecules.smiles import rdkit_chem


class MorganFingerprints:
    """`[B, n_bits]` float64 Morgan fingerprints of SMILES designs (a :class:`~gendesign.core.protocols.FeatureEncoder`).

    Args:
        radius: bond radius of the circular environments (2 is ECFP4).
        n_bits: fingerprint width.
        counts: hashed environment counts instead of bits.
    """

    kernel = "tanimoto"

    def __init__(self, radius: int = 2, n_bits: int = 2048, counts: bool = False) -> None:
        if radius < 0 or n_bits < 1:
            raise ConfigError(f"Morgan fingerprints need radius >= 0 and n_bits >= 1, got radius={radius}, n_bits={n_bits}")
        self.chem = rdkit_chem()
        from rdkit.Chem import rdFingerprintGenerator

        self.radius, self.n_bits, self.counts = int(radius), int(n_bits), bool(counts)
        self.generator = rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)

    @property
    def dim(self) -> int:
        return self.n_bits

    def features(self, designs: Sequence[Any]) -> Tensor:
        rows = np.zeros((len(designs), self.n_bits), dtype=np.float64)
        for i, smiles in enumerate(designs):
            mol = self.chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
            if mol is None:
                raise InvalidDesignError(f"cannot compute a fingerprint of {smiles!r}: RDKit cannot parse it")
            fp = self.generator.GetCountFingerprintAsNumPy(mol) if self.counts else self.generator.GetFingerprintAsNumPy(mol)
            rows[i] = fp
        return torch.from_numpy(rows)
