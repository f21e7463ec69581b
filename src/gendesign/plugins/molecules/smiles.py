"""A SMILES design space checked and canonicalised by RDKit.

A design is a SMILES string. :meth:`SmilesSpace.validate` parses and sanitises it with RDKit and
returns the canonical SMILES, so the canonical key of two spellings of one molecule is equal.
Variation operators act on the molecular graph and always return sanitisable molecules:

* :meth:`SmilesSpace.mutate`: one of (1) change an atom's element, (2) append an atom to an atom
  with a free hydrogen, (3) delete a terminal atom, (4) raise or lower a bond order (no triple
  bonds in rings), (5) insert an atom into a single bond, (6) close a ring between two atoms with
  free hydrogens 4 or 5 bonds apart (mostly; 2 or 3 otherwise), (7) break a ring bond, (8) remove
  an atom with two neighbours and bond them; chosen uniformly and retried until RDKit sanitises the
  result (the move set of the graph GA of Jensen 2019, Chem. Sci. 10, 3567);
* :meth:`SmilesSpace.crossover`: cut one acyclic single bond in each parent and join one fragment
  of each (Jensen 2019's non-ring cut-and-join).

Initial samples come from a pool: a SMILES file given by ``pool`` (one per line), or by default
RDKit's packaged NCI subset ``rdkit/Data/NCI/first_5K.smi`` (5,000 molecules from the NCI open
database, shipped in the RDKit wheel, BSD 3-clause licence).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError, require, short_repr

ELEMENTS = ("C", "N", "O", "S", "F", "Cl", "Br")


def rdkit_chem() -> Any:
    """``rdkit.Chem`` with RDKit's log output silenced, or :class:`MissingDependencyError`."""
    chem = require("rdkit.Chem", "molecules")
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    return chem


def nci_smiles_path() -> Path:
    """Path of RDKit's packaged NCI subset (``first_5K.smi``, BSD licence)."""
    require("rdkit", "molecules")
    import rdkit

    path = Path(rdkit.__file__).parent / "Data" / "NCI" / "first_5K.smi"
    if not path.is_file():
        raise ConfigError(f"RDKit's packaged NCI set is missing at {path}; pass pool=PATH to a SMILES file")
    return path


MAX_SMILES_LENGTH = 1000
"""Default longest SMILES (characters) handed to RDKit; far longer strings crash or stall its parser."""


def smiles_text_problem(smiles: str, max_length: int = MAX_SMILES_LENGTH) -> str | None:
    """Why ``smiles`` must not reach RDKit's parser, or None.

    RDKit reads a SMILES only up to the first whitespace and skips some non-ASCII characters, so
    ``"CCO garbage"`` and ``"CCOΩ"`` would both read as ethanol; they are refused here instead.
    """
    if len(smiles) > max_length:
        return f"has {len(smiles)} characters, more than max_smiles_length={max_length}"
    bad = next((c for c in smiles if not c.isascii() or not c.isprintable() or c.isspace()), None)
    if bad is not None:
        return f"contains {bad!r} at position {smiles.index(bad)}; a SMILES is printable ASCII without spaces"
    return None


def canonical_smiles(smiles: str, max_length: int = MAX_SMILES_LENGTH) -> str | None:
    """RDKit canonical SMILES of ``smiles``, or None when it is too long, does not parse or sanitise."""
    chem = rdkit_chem()
    if not isinstance(smiles, str) or not smiles or smiles_text_problem(smiles, max_length) is not None:
        return None
    mol = chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    return chem.MolToSmiles(mol)


def read_seed_file(path: str | None, validate: Callable[[str], str]) -> list[str]:
    """The distinct valid designs of a seed SMILES file in file order (bad lines warned about by number); none for ``None``."""
    if path is None:
        return []
    from gendesign.plugins.molecules.smiles_file import read_smiles_file

    return list(dict.fromkeys(read_smiles_file(path, validate, what="initial_designs_file")))


class SmilesSpace(DesignSpace):
    """Molecules as SMILES strings, canonicalised and validated by RDKit.

    Args:
        pool: SMILES file (one per line, first field) that :meth:`sample` draws from; default
            RDKit's packaged NCI set.
        max_heavy_atoms: designs with more heavy atoms are invalid (``None``: no limit).
        allow_fragments: accept disconnected molecules (``"."`` in the SMILES).
        max_tries: attempts per mutation/crossover before returning the parent unchanged.
        max_smiles_length: longer SMILES strings are invalid before RDKit sees them (RDKit's
            parser crashes or stalls on strings of tens of thousands of characters).
        initial_designs_file: a SMILES file of seed molecules that strategies propose first
            (:meth:`initial_designs`); lines that are not valid designs of this space are skipped
            with a warning naming the file, each line's number, value and reason, and a file with
            no valid line is a :class:`ConfigError`.
    """

    report_extensions = ("molecules",)

    def __init__(
        self,
        pool: str | None = None,
        max_heavy_atoms: int | None = None,
        allow_fragments: bool = False,
        max_tries: int = 32,
        max_smiles_length: int = MAX_SMILES_LENGTH,
        initial_designs_file: str | None = None,
    ) -> None:
        self.chem = rdkit_chem()
        if max_heavy_atoms is not None and max_heavy_atoms < 1:
            raise ConfigError(f"max_heavy_atoms={max_heavy_atoms} must be >= 1")
        if not 1 <= max_smiles_length <= 10 * MAX_SMILES_LENGTH:
            raise ConfigError(f"max_smiles_length={max_smiles_length} must lie in 1..{10 * MAX_SMILES_LENGTH}")
        self.max_smiles_length = int(max_smiles_length)
        if max_tries < 1:
            raise ConfigError(f"max_tries={max_tries} must be >= 1")
        self.pool_path = str(pool) if pool is not None else None
        self.max_heavy_atoms = max_heavy_atoms
        self.allow_fragments = allow_fragments
        self.max_tries = max_tries
        self._pool: list[str] | None = None
        self._canonical: dict[str, str] = {}
        self.initial_designs_file = str(initial_designs_file) if initial_designs_file is not None else None
        self._seeds = read_seed_file(self.initial_designs_file, self.validate)

    def initial_designs(self) -> list[str]:
        """The valid molecules of ``initial_designs_file`` (canonical, duplicates dropped, file order)."""
        return list(self._seeds)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "pool": self.pool_path,
            "max_heavy_atoms": self.max_heavy_atoms,
            "allow_fragments": self.allow_fragments,
            "max_smiles_length": self.max_smiles_length,
            **({"initial_designs_file": self.initial_designs_file} if self.initial_designs_file else {}),
        }

    def _mol(self, design: Any) -> Any:
        if not isinstance(design, str) or not design.strip():
            raise InvalidDesignError(f"a molecule design must be a non-empty SMILES string, got {short_repr(design)}")
        problem = smiles_text_problem(design.strip(), self.max_smiles_length)
        if problem is not None:
            raise InvalidDesignError(f"SMILES {short_repr(design)} {problem}")
        mol = self.chem.MolFromSmiles(design.strip())
        if mol is None:
            raise InvalidDesignError(f"RDKit cannot parse or sanitise SMILES {design!r}")
        return mol

    def _check(self, mol: Any, design: Any) -> None:
        if mol.GetNumAtoms() == 0:
            raise InvalidDesignError(f"SMILES {design!r} has no atoms")
        if any(atom.GetAtomicNum() == 0 for atom in mol.GetAtoms()):
            raise InvalidDesignError(f"SMILES {design!r} has a wildcard atom '*'; a design must be a complete molecule")
        if not self.allow_fragments and len(self.chem.GetMolFrags(mol)) > 1:
            raise InvalidDesignError(f"SMILES {design!r} is disconnected; set allow_fragments=true to accept it")
        if self.max_heavy_atoms is not None and mol.GetNumHeavyAtoms() > self.max_heavy_atoms:
            raise InvalidDesignError(f"SMILES {design!r} has {mol.GetNumHeavyAtoms()} heavy atoms > max_heavy_atoms={self.max_heavy_atoms}")

    def validate(self, design: Any) -> str:
        # Search loops validate the same strings many times (keys, storage, survival); RDKit parsing dominates.
        if isinstance(design, str) and (hit := self._canonical.get(design)) is not None:
            return hit
        mol = self._mol(design)
        self._check(mol, design)
        smiles = self.chem.MolToSmiles(mol)
        if len(self._canonical) >= 1 << 17:
            self._canonical.clear()
        self._canonical[design] = smiles
        return smiles

    def key(self, design: Any) -> str:
        return self.validate(design)

    def to_json(self, design: Any) -> str:
        import json

        return json.dumps(self.validate(design))

    def display(self, design: Any) -> str:
        return design if isinstance(design, str) else repr(design)

    def pool(self) -> list[str]:
        """The canonical, valid SMILES of the sampling pool (loaded once)."""
        if self._pool is None:
            path = Path(self.pool_path) if self.pool_path else nci_smiles_path()
            if not path.is_file():
                raise ConfigError(f"pool file {str(path)!r} does not exist")
            seen: dict[str, None] = {}
            for line in path.read_text().splitlines():
                fields = line.split()
                if not fields or fields[0].startswith("#"):
                    continue
                try:
                    seen[self.validate(fields[0])] = None
                except InvalidDesignError:
                    continue
            if not seen:
                raise ConfigError(f"pool file {str(path)!r} holds no valid SMILES for this space")
            self._pool = list(seen)
        return self._pool

    def feature_encoder(self) -> Any:
        """Morgan fingerprints (radius 2, 2048 bits) read with a Tanimoto kernel by the ``bo`` strategy."""
        from gendesign.plugins.molecules.fingerprints import MorganFingerprints

        return MorganFingerprints()

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        pool = self.pool()
        return [pool[i] for i in rng.integers(0, len(pool), size=n)]

    def _finish(self, rw: Any) -> str | None:
        try:
            mol = rw.GetMol()
            self.chem.SanitizeMol(mol)
            return self.validate(self.chem.MolToSmiles(mol))
        except Exception:  # noqa: BLE001 - RDKit raises several exception types for bad valences
            return None

    def _mutate_once(self, mol: Any, rng: np.random.Generator) -> str | None:
        chem = self.chem
        rw = chem.RWMol(mol)
        chem.Kekulize(rw, clearAromaticFlags=True)
        moves = (
            self._change_atom,
            self._append_atom,
            self._delete_terminal,
            self._bond_order,
            self._insert_atom,
            self._add_ring,
            self._break_ring,
            self._delete_chain_atom,
        )
        if not moves[int(rng.integers(len(moves)))](rw, rng):
            return None
        return self._finish(rw)

    def _change_atom(self, rw: Any, rng: np.random.Generator) -> bool:
        atoms = list(rw.GetAtoms())
        atom = atoms[int(rng.integers(len(atoms)))]
        element = ELEMENTS[int(rng.integers(len(ELEMENTS)))]
        if element == atom.GetSymbol():
            return False
        atom.SetAtomicNum(self.chem.GetPeriodicTable().GetAtomicNumber(element))
        atom.SetFormalCharge(0)
        atom.SetNoImplicit(False)
        atom.SetNumExplicitHs(0)
        return True

    def _append_atom(self, rw: Any, rng: np.random.Generator) -> bool:
        hosts = [a.GetIdx() for a in rw.GetAtoms() if a.GetTotalNumHs() > 0]
        if not hosts:
            return False
        host = hosts[int(rng.integers(len(hosts)))]
        new = rw.AddAtom(self.chem.Atom(ELEMENTS[int(rng.integers(3))]))
        rw.AddBond(host, new, self.chem.BondType.SINGLE)
        return True

    def _delete_terminal(self, rw: Any, rng: np.random.Generator) -> bool:
        leaves = [a.GetIdx() for a in rw.GetAtoms() if a.GetDegree() == 1]
        if not leaves or rw.GetNumAtoms() <= 1:
            return False
        rw.RemoveAtom(leaves[int(rng.integers(len(leaves)))])
        return True

    def _bond_order(self, rw: Any, rng: np.random.Generator) -> bool:
        chem = self.chem
        bonds = list(rw.GetBonds())
        if not bonds:
            return False
        bond = bonds[int(rng.integers(len(bonds)))]
        order = {chem.BondType.SINGLE: 1, chem.BondType.DOUBLE: 2, chem.BondType.TRIPLE: 3}.get(bond.GetBondType())
        if order is None:
            return False
        order = max(1, min(2 if bond.IsInRing() else 3, order + (1 if rng.random() < 0.5 else -1)))
        bond.SetBondType({1: chem.BondType.SINGLE, 2: chem.BondType.DOUBLE, 3: chem.BondType.TRIPLE}[order])
        return True

    def _insert_atom(self, rw: Any, rng: np.random.Generator) -> bool:
        single = [b for b in rw.GetBonds() if b.GetBondType() == self.chem.BondType.SINGLE]
        if not single:
            return False
        bond = single[int(rng.integers(len(single)))]
        a, b = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        rw.RemoveBond(a, b)
        new = rw.AddAtom(self.chem.Atom(ELEMENTS[int(rng.integers(3))]))
        rw.AddBond(a, new, self.chem.BondType.SINGLE)
        rw.AddBond(new, b, self.chem.BondType.SINGLE)
        return True

    def _add_ring(self, rw: Any, rng: np.random.Generator) -> bool:
        # Closing a path of 4 or 5 bonds makes a 5- or 6-membered ring (mostly), 2 or 3 a small ring (rarely).
        distance = self.chem.GetDistanceMatrix(rw)
        free = [a.GetIdx() for a in rw.GetAtoms() if a.GetTotalNumHs() > 0]
        lengths = (4, 5) if rng.random() < 0.8 else (2, 3)
        pairs = [(i, j) for n, i in enumerate(free) for j in free[n + 1 :] if int(distance[i, j]) in lengths]
        if not pairs:
            return False
        i, j = pairs[int(rng.integers(len(pairs)))]
        rw.AddBond(i, j, self.chem.BondType.SINGLE)
        return True

    def _break_ring(self, rw: Any, rng: np.random.Generator) -> bool:
        ring = [b for b in rw.GetBonds() if b.IsInRing()]
        if not ring:
            return False
        bond = ring[int(rng.integers(len(ring)))]
        rw.RemoveBond(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx())
        return True

    def _delete_chain_atom(self, rw: Any, rng: np.random.Generator) -> bool:
        """Remove an atom with two neighbours and bond the neighbours (contracts a chain or a ring by one)."""
        middle = [a for a in rw.GetAtoms() if a.GetDegree() == 2]
        if not middle:
            return False
        atom = middle[int(rng.integers(len(middle)))]
        a, b = (n.GetIdx() for n in atom.GetNeighbors())
        if rw.GetBondBetweenAtoms(a, b) is not None:
            return False
        rw.AddBond(a, b, self.chem.BondType.SINGLE)
        rw.RemoveAtom(atom.GetIdx())
        return True

    def mutate(self, design: Any, rng: np.random.Generator) -> str:
        parent = self.validate(design)
        mol = self.chem.MolFromSmiles(parent)
        for _ in range(self.max_tries):
            child = self._mutate_once(mol, rng)
            if child is not None and child != parent:
                return child
        return parent

    def _fragments(self, mol: Any, rng: np.random.Generator) -> Any | None:
        chem = self.chem
        cuttable = [b.GetIdx() for b in mol.GetBonds() if not b.IsInRing() and b.GetBondType() == chem.BondType.SINGLE]
        if not cuttable:
            return None
        bond = cuttable[int(rng.integers(len(cuttable)))]
        pieces = chem.GetMolFrags(chem.FragmentOnBonds(mol, [bond], addDummies=True, dummyLabels=[(1, 1)]), asMols=True, sanitizeFrags=False)
        return pieces[int(rng.integers(len(pieces)))]

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> str:
        chem = self.chem
        pa, pb = self.validate(a), self.validate(b)
        ma, mb = chem.MolFromSmiles(pa), chem.MolFromSmiles(pb)
        for _ in range(self.max_tries):
            fa, fb = self._fragments(ma, rng), self._fragments(mb, rng)
            if fa is None or fb is None:
                break
            for atom in fa.GetAtoms():
                if atom.GetAtomicNum() == 0:
                    atom.SetAtomMapNum(1)
            for atom in fb.GetAtoms():
                if atom.GetAtomicNum() == 0:
                    atom.SetAtomMapNum(1)
            try:
                joined = chem.molzip(fa, fb)
                chem.SanitizeMol(joined)
                child = self.validate(chem.MolToSmiles(joined))
            except Exception:  # noqa: BLE001 - invalid joins are retried
                continue
            return child
        return pa

    def validate_many(self, designs: Sequence[Any]) -> list[Any]:
        return [self.validate(d) for d in designs]
