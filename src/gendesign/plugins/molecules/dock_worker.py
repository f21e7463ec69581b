"""Dock one molecule with AutoDock Vina: the child process :class:`~gendesign.plugins.molecules.docking.VinaDocking` runs per molecule.

Reads a JSON request on standard input (``smiles``, ``receptor``, ``center``, ``box_size``,
``exhaustiveness``, ``seed``, ``cpu``) and prints one JSON line: ``{"energy": kcal_per_mol}`` or
``{"error": reason}``. Running each docking in its own process lets the parent enforce a
per-molecule timeout (killing the process) and survive a crash inside Vina's C++ code.

Ligand preparation: RDKit adds hydrogens, embeds one conformer with ETKDGv3 (seeded) and
relaxes it with MMFF94; Meeko writes the PDBQT (atom types, rotatable bonds). Vina (``sf_name =
"vina"``) computes the grid maps over the receptor's box, docks, and the best pose's total energy
is the result.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def prepare_ligand(smiles: str, seed: int) -> str:
    """PDBQT text of one embedded, MMFF-relaxed conformer of ``smiles`` (hydrogens added)."""
    from meeko import MoleculePreparation, PDBQTWriterLegacy
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {smiles!r}")
    mol = Chem.AddHs(mol)
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    if AllChem.EmbedMolecule(mol, params) != 0:
        raise ValueError("RDKit could not embed a 3-D conformer")
    if AllChem.MMFFHasAllMoleculeParams(mol):
        AllChem.MMFFOptimizeMolecule(mol, maxIters=500)
    setups = MoleculePreparation().prepare(mol)
    text, ok, error = PDBQTWriterLegacy.write_string(setups[0])
    if not ok:
        raise ValueError(f"Meeko could not write the ligand PDBQT: {error}")
    return str(text)


def dock(request: dict[str, Any]) -> float:
    """Best Vina energy (kcal/mol) of the request's molecule in the request's receptor box."""
    from vina import Vina

    ligand = prepare_ligand(request["smiles"], int(request["seed"]))
    vina = Vina(sf_name="vina", cpu=int(request["cpu"]), seed=int(request["seed"]), verbosity=0)
    vina.set_receptor(request["receptor"])
    vina.set_ligand_from_string(ligand)
    vina.compute_vina_maps(center=list(request["center"]), box_size=list(request["box_size"]))
    vina.dock(exhaustiveness=int(request["exhaustiveness"]), n_poses=1)
    return float(vina.energies(n_poses=1)[0][0])


def main() -> None:
    request = json.loads(sys.stdin.read())
    try:
        result: dict[str, Any] = {"energy": dock(request)}
    except (ValueError, RuntimeError, TypeError) as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
