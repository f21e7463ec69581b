"""The PMO harness and the multi-objective molecule benchmark on tiny budgets; every PMO strategy runs on molecules."""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

pytest.importorskip("rdkit")
pytest.importorskip("selfies")

from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.generators.mdlm.train_config import resolve_corpus_path  # noqa: E402
from gendesign.plugins.molecules import pmo  # noqa: E402
from gendesign.plugins.molecules.mo_benchmark import hypervolume_at  # noqa: E402
from gendesign.plugins.molecules.pmo_auc import pmo_auc  # noqa: E402
from gendesign.plugins.molecules.smiles import rdkit_chem  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

if importlib.util.find_spec("moses") is None:
    pytest.skip("MOSES data: pip install --no-deps molsets", allow_module_level=True)


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> str:
    """The first 200 molecules of the MOSES training split (the harness's pool source)."""
    path = tmp_path_factory.mktemp("pool") / "moses_head.smi"
    with gzip.open(resolve_corpus_path("package:moses/dataset/data/train.csv.gz"), "rt") as fh:
        next(fh)
        path.write_text("".join(next(fh) for _ in range(200)))
    return str(path)


@pytest.mark.parametrize("strategy", ["evolution", "mdlm_sample", "mcts", pytest.param("gflownet", marks=pytest.mark.slow), "evolution_infill"])
def test_every_strategy_runs_a_pmo_task_and_its_auc_is_that_of_its_trace(strategy, pool, monkeypatch):
    torch.set_num_threads(1)
    traces = []
    real = pmo.pmo_auc

    def spy(values, top_k, budget=10_000, log_every=100):
        traces.append(list(values))
        return real(values, top_k, budget=budget, log_every=log_every)

    monkeypatch.setattr(pmo, "pmo_auc", spy)
    row = pmo.run_one("qed", strategy, seed=0, budget=12, pool=pool)
    trace = traces[0]
    assert row.calls == len(trace) == 12
    assert all(0.0 <= v <= 1.0 for v in trace) and row.best == max(trace)
    assert row.auc["top10"] == pytest.approx(pmo_auc(trace, 10, budget=12))
    assert row.auc["top1"] >= row.auc["top10"] >= row.auc["top100"]
    chem = rdkit_chem()
    mol = chem.MolFromSmiles(row.best_design)
    assert mol is not None
    from rdkit.Chem import QED

    assert QED.qed(mol) == pytest.approx(row.best, abs=1e-5)


def test_run_pmo_writes_runs_resumes_and_reports(tmp_path, pool, monkeypatch):
    monkeypatch.setattr(pmo, "write_pool", lambda path, size, seed=0: Path(path).write_text(Path(pool).read_text()))
    rows = pmo.run_pmo(tmp_path, tasks=["qed"], strategies=["evolution"], seeds=[0, 1], budget=10)
    assert [r["seed"] for r in rows] == [0, 1]
    assert (tmp_path / "runs" / "evolution" / "qed" / "seed1.json").is_file()

    def boom(*args, **kwargs):
        raise AssertionError("a finished run was run again")

    monkeypatch.setattr(pmo, "run_one", boom)
    again = pmo.run_pmo(tmp_path, tasks=["qed"], strategies=["evolution"], seeds=[0, 1], budget=10)
    assert again == rows
    report = pmo.write_report(tmp_path, rows, {"budget": 10, "seeds": [0, 1]})
    cell = report["summary"]["evolution"]["tasks"]["qed"]
    assert cell["auc_top10"] == pytest.approx((rows[0]["auc"]["top10"] + rows[1]["auc"]["top10"]) / 2)
    assert report["summary"]["evolution"]["sum_auc_top10"] == pytest.approx(cell["auc_top10"])
    assert report["published_sums"]["REINVENT"] == pytest.approx(0.941)
    md = (tmp_path / "pmo.md").read_text()
    assert "| qed | " in md and "Genetic GFN" in md and f"{cell['auc_top10']:.3f}" in md
    assert json.loads((tmp_path / "pmo.json").read_text())["runs"] == [{k: v for k, v in r.items() if k != "trace"} for r in rows]
    assert pmo_auc(rows[0]["trace"], 10, budget=10) == pytest.approx(rows[0]["auc"]["top10"], abs=1e-5)


def test_published_sums_over_the_20_tasks_match_the_reference_notes():
    sums = {m: sum(pmo.PUBLISHED[m][t] for t in pmo.PMO_TASKS) for m in pmo.PUBLISHED_METHODS}
    # REINVENT's leaderboard sum 14.18 less drd2 0.945, gsk3b 0.865 and jnk3 0.783; Graph GA 13.74 less 0.964, 0.788, 0.553.
    assert sums["REINVENT"] == pytest.approx(14.18 - 0.945 - 0.865 - 0.783, abs=0.01)
    assert sums["Graph GA"] == pytest.approx(13.74 - 0.964 - 0.788 - 0.553, abs=0.01)
    assert len(pmo.PMO_TASKS) == 20 and not {"drd2", "gsk3b", "jnk3"} & set(pmo.PMO_TASKS)


def test_unknown_strategy_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown PMO strategies"):
        pmo.run_pmo(tmp_path, tasks=["qed"], strategies=["reinvent"], seeds=[0], budget=10)


def test_hypervolume_at_counts_calls_and_ignores_failed_rows():
    rows = [[0.5, 0.5], [float("nan"), float("nan")], [1.0, 0.2], [0.1, 0.1]]
    assert hypervolume_at(rows, 1) == pytest.approx(0.25)
    assert hypervolume_at(rows, 2) == pytest.approx(0.25)
    # Union of [0, 0.5]^2 and [0, 1] x [0, 0.2]: 0.25 + 0.5 * 0.2.
    assert hypervolume_at(rows, 4) == pytest.approx(0.35)
    assert hypervolume_at([], 10) == 0.0
    assert math.isclose(hypervolume_at([[1.0, 1.0, 1.0]], 1), 1.0)


def test_benchmark_commands_run_and_write_their_reports(tmp_path, pool, monkeypatch):
    from click.testing import CliRunner

    from gendesign.cli import cli

    monkeypatch.setattr(pmo, "write_pool", lambda path, size, seed=0: Path(path).write_text(Path(pool).read_text()))
    runner = CliRunner()
    out = tmp_path / "pmo"
    result = runner.invoke(cli, ["benchmark", "pmo", "-o", str(out), "--task", "qed", "--strategy", "evolution", "--seed", "0", "--budget", "10"])
    assert result.exit_code == 0, result.output
    assert "evolution: sum of AUC top-10 over 1 tasks" in result.output and (out / "pmo.md").is_file()
    out = tmp_path / "mo"
    args = ["benchmark", "molecules-mo", "-o", str(out), "--problem", "qed_sa", "--strategy", "evolution", "--seed", "0", "--budget", "12", "--checkpoint", "6", "--checkpoint", "12"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    row = json.loads((out / "runs" / "evolution" / "qed_sa" / "seed0.json").read_text())
    assert row["objectives"] == ["qed", "sa"] and row["calls"] == 12
    assert 0.0 < row["hypervolume"]["6"] <= row["hypervolume"]["12"] <= 1.0
    assert "qed_sa @12" in (out / "molecules_mo.md").read_text()


def test_qed_sa_problem_is_qed_and_the_sa_desirability():
    from rdkit.Chem import QED

    from gendesign.plugins.molecules.mo_benchmark import build_problem

    scores = build_problem("qed_sa")(["CC(=O)Oc1ccccc1C(=O)O"])
    sa = scores.values[0, 1].item()
    assert scores.values[0, 0].item() == pytest.approx(QED.qed(rdkit_chem().MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O")), abs=1e-6)
    import importlib.util

    from rdkit import RDConfig

    spec = importlib.util.spec_from_file_location("sascorer_reference", f"{RDConfig.RDContribDir}/SA_Score/sascorer.py")
    sascorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sascorer)

    assert sa == pytest.approx((10.0 - sascorer.calculateScore(rdkit_chem().MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O"))) / 9.0, abs=1e-5)
    with pytest.raises(ConfigError, match="unknown multi-objective"):
        build_problem("celecoxib")


def test_selfies_space_takes_alphabet_length_and_generator_from_its_model():
    from gendesign.plugins.molecules.selfies_space import SelfiesSpace, shipped_model_config, shipped_model_path

    config = shipped_model_config("selfies_mdlm_moses")
    space = SelfiesSpace(model="selfies_mdlm_moses")
    assert space.tokens == config["tokenizer"]["tokens"] and space.max_length == config["max_length"]
    assert space.default_generator().path == str(shipped_model_path("selfies_mdlm_moses"))
    assert space.config()["model"] == "selfies_mdlm_moses"
    # The MOSES alphabet is organic: no metal symbol of the NCI model.
    assert "[Cu]" not in space.tokens and "[Cu]" in SelfiesSpace().tokens
    with pytest.raises(ConfigError, match="neither a shipped model"):
        SelfiesSpace(model="no_such_model")


def test_moses_model_readme_records_its_training_run():
    from gendesign.plugins.molecules.selfies_space import shipped_model_config, shipped_model_path

    meta = shipped_model_config("selfies_mdlm_moses")["_meta"]
    readme = (shipped_model_path("selfies_mdlm_moses") / "README.md").read_text()
    assert meta["corpus"] == "package:moses/dataset/data/train.csv.gz"
    assert f"{meta['val_nelbo_per_token']:.3f}" in readme and f"{meta['global_step']:,}" in readme
    assert (shipped_model_path("selfies_mdlm_moses") / "model.safetensors").stat().st_size <= 20 * 2**20
