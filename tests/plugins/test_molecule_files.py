"""Seeding molecule spaces from a SMILES file, and the ``gendesign score`` command."""

from __future__ import annotations

import csv
import io
import warnings

import pytest

pytest.importorskip("rdkit")

from click.testing import CliRunner  # noqa: E402
from rdkit import Chem  # noqa: E402
from rdkit.Chem import QED  # noqa: E402

from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.core.objective import ObjectiveSpec  # noqa: E402
from gendesign.plugins.molecules.smiles import SmilesSpace  # noqa: E402
from gendesign.plugins.molecules.smiles_file import SmilesFileWarning  # noqa: E402
from gendesign.search.evolution import Evolution  # noqa: E402
from gendesign.search.random import RandomSearch  # noqa: E402

SEEDS = "smiles name\nCCO ethanol\nC1CC broken\n# a comment\nc1ccccc1O phenol\n\nOCC again\nC.C salt\n"
SPECS = (ObjectiveSpec("qed"),)


@pytest.fixture
def seed_file(tmp_path):
    path = tmp_path / "seeds.smi"
    path.write_text(SEEDS)
    return path


def test_bad_seed_lines_are_skipped_with_their_line_numbers(seed_file):
    with pytest.warns(SmilesFileWarning) as caught:
        space = SmilesSpace(initial_designs_file=str(seed_file))
    message = str(caught[0].message)
    assert str(seed_file) in message and "skipped 2 of 5" in message
    assert "line 3: 'C1CC': RDKit cannot parse" in message
    assert "line 8: 'C.C': SMILES 'C.C' is disconnected" in message
    assert space.initial_designs() == ["CCO", "Oc1ccccc1"]  # canonical, the duplicate OCC dropped
    assert space.config()["initial_designs_file"] == str(seed_file)
    assert "initial_designs_file" not in SmilesSpace().config()


def test_strategies_propose_the_seeds_first(seed_file):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmilesFileWarning)
        space = SmilesSpace(initial_designs_file=str(seed_file))
    random = RandomSearch(space, SPECS, seed=0, options=RandomSearch.Options(initial_designs=["CC(=O)O"]))
    assert random.ask(3) == ["CC(=O)O", "CCO", "Oc1ccccc1"]
    evolution = Evolution(space, SPECS, seed=0)
    assert evolution.initial_samples == 0 and evolution.ask(2) == ["CCO", "Oc1ccccc1"]


def test_a_seed_file_without_valid_lines_is_an_error(tmp_path):
    bad = tmp_path / "bad.smi"
    bad.write_text("C1CC\nnot_smiles x\n")
    with pytest.raises(ConfigError, match=r"initial_designs_file '.*bad.smi' holds no valid SMILES: line 1: 'C1CC'.*line 2: 'not_smiles'"):
        SmilesSpace(initial_designs_file=str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        SmilesSpace(initial_designs_file=str(tmp_path / "missing.smi"))


def test_selfies_space_skips_seeds_longer_than_its_length(seed_file):
    pytest.importorskip("selfies")
    from gendesign.plugins.molecules.selfies_space import SelfiesSpace

    with pytest.warns(SmilesFileWarning, match=r"line 5: 'c1ccccc1O': molecule 'Oc1ccccc1' has 9 SELFIES symbols"):
        space = SelfiesSpace(initial_designs_file=str(seed_file), max_length=8)
    assert space.initial_designs() == ["CCO"]


def run_score(args):
    from gendesign.cli import cli

    return CliRunner().invoke(cli, ["score", *args], catch_exceptions=False)


def test_score_command_round_trip_writes_every_line_with_values_and_reasons(seed_file, tmp_path):
    out = tmp_path / "scores.csv"
    result = run_score([str(seed_file), "--objective", "qed", "-O", "isomer_score", "--options", 'isomer_score={"formula": "C2H6O"}', "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert [r["line"] for r in rows] == ["2", "3", "5", "7", "8"]
    assert [r["name"] for r in rows] == ["ethanol", "broken", "phenol", "again", "salt"]
    assert list(rows[0]) == ["line", "smiles", "name", "qed", "isomer_c2h6o", "valid", "error"]
    for row in rows:
        if row["smiles"] == "C1CC":
            assert row["valid"] == "false" and row["qed"] == ""
            assert row["error"] == f"{seed_file}:3: RDKit cannot parse or sanitise SMILES 'C1CC'"
        else:
            assert row["valid"] == "true" and row["error"] == ""
            assert float(row["qed"]) == pytest.approx(QED.qed(Chem.MolFromSmiles(row["smiles"])), abs=1e-12)
    assert float(rows[0]["isomer_c2h6o"]) == 1.0 and float(rows[3]["isomer_c2h6o"]) == 1.0
    assert "1 invalid" in result.stderr and f"{seed_file}:3" in result.stderr


def test_score_command_reads_csv_columns_and_writes_to_stdout(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("id,mol\n1,CC(=O)Oc1ccccc1C(=O)O\n2,CCN\n")
    result = run_score([str(path), "--column", "mol", "-O", "lipinski_violations"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["line"], r["lipinski_violations"]) for r in rows] == [("2", "0.0"), ("3", "0.0")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-O", "qedd"], "--objective 'qedd': unknown objective 'qedd'. Did you mean 'qed'?"),
        (["-O", "similarity"], "--objective 'similarity' with options {}: similarity needs at least one reference"),
        (["-O", "qed", "--options", "sa={}"], "names 'sa', which is not one of the --objective names"),
        (["-O", "qed", "--options", "qed=[1]"], "must be a JSON object"),
        (["-O", "qed", "-O", "descriptors"], "objective columns ['qed'] appear twice"),
    ],
)
def test_score_command_errors_name_the_objective(seed_file, args, message):
    from gendesign.cli import cli

    result = CliRunner().invoke(cli, ["score", str(seed_file), *args])
    assert isinstance(result.exception, ConfigError)
    assert message in str(result.exception)


def test_score_command_refuses_a_file_without_valid_molecules(tmp_path):
    from gendesign.cli import cli

    path = tmp_path / "bad.smi"
    path.write_text("C1CC\nxyz\n")
    result = CliRunner().invoke(cli, ["score", str(path), "-O", "qed"])
    assert isinstance(result.exception, ConfigError)
    assert f"{path}: none of its 2 molecules could be scored; first: {path}:1: RDKit cannot parse" in str(result.exception)
