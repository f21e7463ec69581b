"""Molecule run metrics against brute force, scaffold keys, the Pareto grid, and the report-extension hook."""

from __future__ import annotations

import csv
import itertools
import json
import textwrap
import tomllib
from pathlib import Path

import pytest
import torch

pytest.importorskip("rdkit")

from gendesign.api import dump_toml, run_config  # noqa: E402
from gendesign.core.config import load_config, parse_config  # noqa: E402
from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.core.plugins import PluginSystem  # noqa: E402
from gendesign.plugins.molecules.metrics import internal_diversity, novelty, read_reference, scaffold_counts, uniqueness  # noqa: E402
from gendesign.plugins.molecules.mols import parse_smiles  # noqa: E402
from gendesign.plugins.molecules.scaffolds import ScaffoldKey, scaffold_of  # noqa: E402
from gendesign.plugins.molecules.similarity import fingerprint  # noqa: E402
from gendesign.plugins.molecules.smiles import canonical_smiles  # noqa: E402

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"
MOLS = [CELECOXIB, "Cc1ccc(-c2cc(C)nn2-c2ccc(S(N)(=O)=O)cc2)cc1", "c1ccccc1", "c1ccncc1", "CCO", "CC(=O)Oc1ccccc1C(=O)O"]


def _brute_intdiv(smiles):
    bits = []
    for s in sorted(set(smiles)):
        mol, _ = parse_smiles(s)
        bits.append(set(fingerprint(mol, "ecfp4", counts=False, fp_size=2048).GetOnBits()))
    sims = [len(a & b) / len(a | b) for a, b in itertools.combinations(bits, 2)]
    return sum(1 - s for s in sims) / len(sims)


def test_internal_diversity_matches_brute_force_and_ignores_duplicates_and_order():
    assert internal_diversity(MOLS) == pytest.approx(_brute_intdiv(MOLS), abs=1e-12)
    assert internal_diversity(list(reversed(MOLS)) + MOLS[:2]) == pytest.approx(_brute_intdiv(MOLS), abs=1e-12)
    subset = sorted(set(MOLS))[::2]  # evenly spaced: indices 0, 2, 4 of 6
    assert internal_diversity(MOLS, max_molecules=3) == pytest.approx(_brute_intdiv(subset), abs=1e-12)
    assert internal_diversity(["CCO", "CCO"]) is None


def test_uniqueness_novelty_and_scaffolds_by_hand(tmp_path):
    assert uniqueness(["CCO", "CCO", "c1ccccc1"]) == pytest.approx(2 / 3) and uniqueness([]) is None
    ref = tmp_path / "ref.smi"
    ref.write_text("OCC ethanol\nnot_a_smiles\n\nC1=CC=CC=C1\n")  # two spellings that canonicalise, one bad line
    reference = read_reference(str(ref))
    assert reference == {"CCO", "c1ccccc1"}
    assert novelty(MOLS, reference) == pytest.approx(4 / 6)
    murcko = scaffold_counts(MOLS, "murcko")
    assert murcko == {"c1ccc(-c2ccnn2-c2ccccc2)cc1": 2, "c1ccccc1": 2, "c1ccncc1": 1, "": 1}
    topo = scaffold_counts(MOLS, "topological")
    assert topo["C1CCCCC1"] == 3 and len(topo) == 3, "benzene, pyridine and aspirin share the generic ring"
    assert ScaffoldKey("murcko")([CELECOXIB, "CCO", "xyz", 5]) == ["c1ccc(-c2ccnn2-c2ccccc2)cc1", "", None, None]
    assert scaffold_of("c1ccncc1CCc1ccccc1", "topological") == "C1CCC(CCC2CCCCC2)CC1"
    with pytest.raises(ConfigError, match="no such file"):
        read_reference(str(tmp_path / "missing.smi"))


def _example(tmp_path, budget=40):
    data = tomllib.loads((ROOT / "examples" / "molecule_design.toml").read_text())
    data["campaign"].update(budget=budget, batch_size=20, run_dir=str(tmp_path / "run"), progress=False)
    data["strategy"]["options"]["population_size"] = 20
    return data


def test_example_runs_end_to_end_with_grid_and_metrics_equal_to_brute_force(tmp_path):
    data = _example(tmp_path)
    data["reports"] = [{"name": "molecules", "options": {"reference": str(ROOT / "tests" / "plugins" / "data" / "tiny_reference.smi"), "columns": 3, "image_size": 200}}]
    result = run_config(parse_config(data))
    run = tmp_path / "run"
    assert (run / "pareto_molecules.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    front = list(csv.DictReader((run / "pareto.csv").open()))
    with Image.open(run / "pareto_molecules.png") as img:
        rows = -(-min(len(front), 24) // 3)
        assert img.size == (3 * 200, rows * 200)
    summary = json.loads((run / "summary.json").read_text())
    assert "pareto_molecules.png" in summary["files"] and "report_errors" not in summary
    rows_ = list(csv.DictReader((run / "evaluations.csv").open()))
    valid = [r["design"] for r in rows_ if r["valid"] == "1"]
    mol = summary["molecules"]
    assert mol["valid_molecules"] == len(valid) == result.summary["evaluations"]
    assert mol["internal_diversity"] == pytest.approx(_brute_intdiv(valid), abs=1e-9)
    assert mol["internal_diversity_pareto"] == pytest.approx(_brute_intdiv([r["design"] for r in front]), abs=1e-9)
    reference = {canonical_smiles(line.split()[0]) for line in (ROOT / "tests/plugins/data/tiny_reference.smi").read_text().splitlines()}
    assert mol["novelty"] == pytest.approx(sum(v not in reference for v in valid) / len(valid))
    assert mol["novelty"] < 1.0, "celecoxib (the seed) is in the reference file"
    assert mol["scaffolds"]["murcko"] == len({scaffold_of(v) for v in valid})
    assert mol["scaffolds"]["pareto_murcko"] == len({scaffold_of(r["design"]) for r in front})
    assert mol["uniqueness"] == pytest.approx(1 - summary["duplicates"] / summary["raw_calls"])
    # Desirabilities sit beside their raw values, and the PAINS filter zeroes all three.
    header = list(front[0])
    assert header[header.index("qed") + 1] == "qed_raw" and header[header.index("sa") + 1] == "sa_raw"
    for r in rows_:
        if r["valid"] == "1" and float(r["pains"]) > 0:
            assert float(r["similarity"]) == float(r["qed"]) == float(r["sa"]) == 0.0


PLUGIN = '''
from gendesign.core.hookspecs import hookimpl
from gendesign.core.report import ReportSection

class Count:
    """Counts the Pareto rows."""

    def __init__(self, suffix: str = "txt"):
        self.suffix = suffix

    def write(self, run_dir, data, front, space, plots):
        (run_dir / f"count.{self.suffix}").write_text(str(len(front)))
        return ReportSection({"front": len(front)}, [f"count.{self.suffix}"])

class Broken:
    """Raises."""

    def write(self, run_dir, data, front, space, plots):
        raise RuntimeError("no ink")

@hookimpl
def register_report_extensions(register):
    register("count", Count)
    register("broken", Broken)
'''


def test_hook_register_report_extensions(tmp_path, monkeypatch):
    (tmp_path / "report_plugin.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    system = PluginSystem(entry_points=False, builtins=("gendesign.plugins.core_parts", "report_plugin"))
    assert system.reports.get("count").plugin == "report_plugin"
    text = """
    [campaign]
    budget = 8
    batch_size = 4
    progress = false
    plots = false
    [objective]
    name = "zdt1"
    options = { dim = 2 }
    [[reports]]
    name = "count"
    options = { suffix = "log" }
    [[reports]]
    name = "broken"
    [strategy]
    name = "random"
    """
    (tmp_path / "c.toml").write_text(textwrap.dedent(text))
    result = run_config(load_config(tmp_path / "c.toml"), run_dir=tmp_path / "run", plugins=system)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["count"] == {"front": result.summary["pareto_size"]} and "count.log" in summary["files"]
    assert (tmp_path / "run" / "count.log").read_text() == str(result.summary["pareto_size"])
    assert summary["report_errors"] == {"broken": "RuntimeError: no ink"} and (tmp_path / "run" / "pareto.csv").is_file()
    (tmp_path / "c.toml").write_text(textwrap.dedent(text).replace('name = "broken"', 'name = "brokn"'))
    with pytest.raises(ConfigError, match=r"\[\[reports\]\].*'brokn'.*broken"):
        run_config(load_config(tmp_path / "c.toml"), run_dir=tmp_path / "run2", plugins=system)


def test_example_config_is_what_docs_promise():
    data = tomllib.loads((ROOT / "examples" / "molecule_design.toml").read_text())
    assert data["scoring"]["aggregate"] == "pareto" and data["diversity"]["key"] == "murcko"
    assert {c["column"] for c in data["scoring"]["components"]} == {"similarity", "qed", "sa"}
    assert data["scoring"]["filters"] == [{"column": "pains", "high": 0}]
    assert dump_toml(data)


def test_docs_molecules_scoring_config_runs_and_scores_as_documented(tmp_path):
    import re

    blocks = [b for b in re.findall(r"```toml\n(.*?)```", (ROOT / "docs" / "molecules.md").read_text(), flags=re.S) if "[strategy]" in b and "[scoring]" in b]
    assert len(blocks) == 1
    data = tomllib.loads(blocks[0])
    data["campaign"].update(budget=16, batch_size=8, run_dir=str(tmp_path / "run"), progress=False, plots=False)
    run_config(parse_config(data))
    rows = list(csv.DictReader((tmp_path / "run" / "evaluations.csv").open()))
    from gendesign.objectives.transforms import ReverseSigmoid, Sigmoid

    for r in (r for r in rows if r["valid"] == "1"):
        d_qed = float(Sigmoid(low=0.4, high=0.9)(torch.tensor(float(r["qed_raw"]))))
        d_sa = float(ReverseSigmoid(low=2.5, high=5.0)(torch.tensor(float(r["sa_raw"]))))
        m = (float(r["structural_alerts"]) == 0) * float(torch.exp(torch.tensor(-0.7 * float(r["lipinski_violations"]))))
        assert float(r["score"]) == pytest.approx(m * d_qed ** (2 / 3) * d_sa ** (1 / 3), abs=1e-6)
