"""AutoDock Vina docking on the receptors shipped in the ``dockstring`` wheel (extra ``docking``).

The objective ``docking`` scores a molecule by the Vina energy of its best pose in the binding
site of one of DOCKSTRING's 58 prepared targets (García-Ortegón et al., "DOCKSTRING: easy
molecular docking yields better benchmarks for ligand design", J. Chem. Inf. Model. 62, 3486,
2022): the receptor PDBQT and the search box (``<TARGET>_target.pdbqt``, ``<TARGET>_conf.txt``)
are read from the installed ``dockstring`` package; nothing is downloaded. The value is in
kcal/mol and minimised (more negative binds better in Vina's scoring function, Trott and Olson,
J. Comput. Chem. 31, 455, 2010; Eberhardt et al., JCIM 61, 3891, 2021 for Vina 1.2).

Route: RDKit (hydrogens, ETKDG conformer, MMFF) -> Meeko (PDBQT) -> Vina 1.2 Python bindings
(:mod:`.dock_worker`). Open Babel is not used: ``openbabel-wheel`` and ``vina`` abort when loaded
in one process (``terminate called after throwing an instance of 'swig::stop_iteration'``), and
Meeko is the ligand preparation Vina 1.2's authors maintain. Unlike DOCKSTRING's own pipeline
(Vina 1.1.2 binary, Open Babel protonation at pH 7.4) the molecule is docked in the protonation
state its SMILES writes, so energies differ slightly from DOCKSTRING's published scores.

Each molecule docks in its own child process with a wall-clock ``timeout_s``; a molecule that
cannot be prepared, crashes Vina or runs out of time is ``valid=False`` with the reason. Docking
takes seconds to minutes per molecule: run campaigns with ``executor = "process"`` (``workers``
molecules at a time) or ``gendesign score --workers N``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from gendesign.core.errors import ConfigError, MissingDependencyError, short_repr
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.plugins.molecules.mols import parse_smiles

DOCKING_MODULES = ("vina", "meeko", "gemmi", "dockstring")


def _require_docking() -> None:
    missing = [m for m in DOCKING_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(f"docking needs {missing}, which are not installed; install them with pip install 'gendesign[docking]'")


def targets_dir() -> Path:
    """The ``dockstring`` package's folder of prepared targets."""
    _require_docking()
    spec = importlib.util.find_spec("dockstring")
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).parent / "resources" / "targets"


def available_targets() -> list[str]:
    """Names of the targets shipped in ``dockstring`` (``ABL1``, ``DRD2``, ``ESR2``, ...)."""
    return sorted(p.name.removesuffix("_target.pdbqt") for p in targets_dir().glob("*_target.pdbqt"))


def read_box(conf: Path) -> tuple[list[float], list[float]]:
    """``(center, size)`` in Å of a DOCKSTRING ``<TARGET>_conf.txt`` (``center_x = ...`` lines)."""
    values: dict[str, float] = {}
    for line in conf.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = float(value)
    try:
        return [values[f"center_{a}"] for a in "xyz"], [values[f"size_{a}"] for a in "xyz"]
    except KeyError as exc:
        raise ConfigError(f"{conf} lacks {exc.args[0]!r}; it is not a DOCKSTRING box file") from None


class VinaDocking(Objective):
    """AutoDock Vina docking energy (kcal/mol, minimised) of a molecule against a DOCKSTRING target.

    Args:
        target: a DOCKSTRING target name (``ABL1``, ``DRD2``, ``ESR2``, ``PGR``, ...; 58 in all).
        exhaustiveness: Vina's search effort (8 is Vina's and DOCKSTRING's default).
        seed: seed of the conformer embedding and of Vina's search.
        timeout_s: wall-clock seconds allowed per molecule; a molecule that takes longer is invalid.
        cpu: threads Vina uses per molecule.
        name: the column name (default ``docking_<target>``).
    """

    def __init__(
        self, target: str = "ABL1", exhaustiveness: int = 8, seed: int = 0, timeout_s: float = 600.0, cpu: int = 1, name: str | None = None
    ) -> None:
        known = available_targets()
        if target not in known:
            raise ConfigError(f"docking target {target!r} is not shipped in dockstring; choose from {known}")
        if not 1 <= exhaustiveness <= 64:
            raise ConfigError(f"exhaustiveness={exhaustiveness} must lie in 1..64")
        if not timeout_s > 0:
            raise ConfigError(f"timeout_s={timeout_s} must be > 0")
        if cpu < 1:
            raise ConfigError(f"cpu={cpu} must be >= 1")
        self.target = target
        self.receptor = targets_dir() / f"{target}_target.pdbqt"
        self.center, self.box_size = read_box(targets_dir() / f"{target}_conf.txt")
        self.exhaustiveness = int(exhaustiveness)
        self.seed = int(seed)
        self.timeout_s = float(timeout_s)
        self.cpu = int(cpu)
        self.specs = (ObjectiveSpec(name or f"docking_{target.lower()}", "min", description=f"AutoDock Vina energy in kcal/mol against {target} (DOCKSTRING)"),)

    def dock_one(self, smiles: str) -> tuple[float, str | None]:
        """``(energy, None)`` or ``(nan, reason)`` for one parsable SMILES, docked in a child process."""
        request = {
            "smiles": smiles,
            "receptor": str(self.receptor),
            "center": self.center,
            "box_size": self.box_size,
            "exhaustiveness": self.exhaustiveness,
            "seed": self.seed,
            "cpu": self.cpu,
        }
        command = [sys.executable, "-m", "gendesign.plugins.molecules.dock_worker"]
        try:
            done = subprocess.run(command, input=json.dumps(request), capture_output=True, text=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            return math.nan, f"docking {short_repr(smiles)} against {self.target} took longer than timeout_s={self.timeout_s:g}"
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return math.nan, f"docking {short_repr(smiles)} against {self.target} failed (exit code {done.returncode}): {tail}"
        result = json.loads(lines[-1])
        if "error" in result:
            return math.nan, f"docking {short_repr(smiles)} against {self.target} failed: {result['error']}"
        return float(result["energy"]), None

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        values = torch.full((len(designs), 1), math.nan, dtype=torch.float64)
        errors: list[str | None] = [None] * len(designs)
        for i, design in enumerate(designs):
            mol, error = parse_smiles(design)
            if mol is None:
                errors[i] = error
                continue
            values[i, 0], errors[i] = self.dock_one(design.strip())
        return Scores(values=values, valid=torch.tensor([e is None for e in errors]), specs=self.specs, errors=errors)

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "target": self.target,
            "exhaustiveness": self.exhaustiveness,
            "seed": self.seed,
            "cpu": self.cpu,
            "route": "rdkit-etkdg-mmff/meeko/vina",
        }
