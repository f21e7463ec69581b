"""Vina docking on a DOCKSTRING receptor: one small molecule against one target (slow), and the failure paths (fast)."""

from __future__ import annotations

import math
import pickle

import pytest

pytest.importorskip("rdkit")
for module in ("vina", "meeko", "gemmi", "dockstring"):
    pytest.importorskip(module)

from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.core.executor import ProcessPoolExecutor  # noqa: E402
from gendesign.plugins.molecules.docking import VinaDocking, available_targets, read_box, targets_dir  # noqa: E402


def test_targets_and_boxes_come_from_the_dockstring_wheel():
    targets = available_targets()
    assert len(targets) == 58 and {"ABL1", "DRD2", "ESR2", "PGR"} <= set(targets)
    center, size = read_box(targets_dir() / "ABL1_conf.txt")
    assert center == [15.851, 14.647, 3.904] and size == [30.0, 30.0, 30.0]
    with pytest.raises(ConfigError, match="not shipped in dockstring"):
        VinaDocking(target="XYZ1")


def test_unparsable_molecules_and_timeouts_are_invalid_with_the_reason():
    objective = VinaDocking(target="ABL1", timeout_s=0.01)
    scores = objective(["C1CC", "CCO"])
    assert scores.valid.tolist() == [False, False]
    assert "cannot parse" in scores.errors[0]
    assert "took longer than timeout_s=0.01" in scores.errors[1]
    assert scores.raised is None or not bool(scores.raised.any())  # infeasible, not broken


@pytest.mark.slow
def test_docking_a_small_molecule_in_a_process_pool():
    objective = VinaDocking(target="ABL1", exhaustiveness=1, seed=0, timeout_s=300)
    assert objective.specs[0].name == "docking_abl1" and objective.specs[0].direction == "min"
    executor = ProcessPoolExecutor(workers=1)
    try:
        chunks = list(executor.chunks(pickle.loads(pickle.dumps(objective)), ["CC(=O)Oc1ccccc1C(=O)O"]))
    finally:
        executor.close()
    energy = chunks[0].scores.values.item()
    assert chunks[0].scores.valid.item(), chunks[0].scores.errors
    # aspirin binds weakly: Vina puts small drug-like fragments at about -5 to -8 kcal/mol
    assert math.isfinite(energy) and -9.0 < energy < -4.0
