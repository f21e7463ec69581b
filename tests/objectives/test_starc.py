"""STARC distance and rank agreement: invariances, metric axioms, closed forms, brute force, and the CLI."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from gendesign.core.errors import ConfigError
from gendesign.objectives.starc import canonicalize, compare_rewards, standardize, starc_distance, top_k_overlap


def _rewards(rng: np.random.Generator, n: int = 12) -> np.ndarray:
    return rng.normal(size=n)


def test_positive_scale_and_per_context_shift_leave_the_distance_at_zero():
    rng = np.random.default_rng(0)
    contexts = np.repeat([0, 1, 2], 4)
    for _ in range(20):
        r = _rewards(rng)
        a = rng.uniform(0.01, 100.0)
        shift = rng.normal(size=3)[contexts] * 50
        assert starc_distance(r, a * r + shift, contexts) == pytest.approx(0.0, abs=1e-9)
    # A per-context shift is not invisible when all designs are one context: the global mean cannot absorb it.
    r = _rewards(rng)
    assert starc_distance(r, r + np.array([0.0, 5.0])[np.repeat([0, 1], 6)]) > 0.1


def test_negation_is_at_distance_two_and_degenerate_rewards_at_one():
    rng = np.random.default_rng(1)
    contexts = ["p", "q"] * 6
    r = _rewards(rng)
    assert starc_distance(r, -r, contexts) == pytest.approx(2.0)
    assert starc_distance(r, -3 * r + 7) == pytest.approx(2.0)
    constant = np.full(12, 0.1)
    assert np.all(standardize(constant) == 0.0)
    assert starc_distance(constant, r) == pytest.approx(1.0)
    assert starc_distance(constant, 2 * constant + 1) == 0.0
    per_context = np.array([1.0, 4.0] * 6)
    assert starc_distance(per_context, r, contexts) == pytest.approx(1.0)


def test_symmetry_range_and_triangle_inequality_on_random_triples():
    rng = np.random.default_rng(2)
    for trial in range(200):
        n = int(rng.integers(2, 15))
        contexts = rng.integers(0, 3, size=n) if trial % 2 else None
        x, y, z = (rng.normal(size=n) for _ in range(3))
        dxy, dyz, dxz = starc_distance(x, y, contexts), starc_distance(y, z, contexts), starc_distance(x, z, contexts)
        assert dxy == pytest.approx(starc_distance(y, x, contexts), abs=1e-12)
        assert 0.0 <= dxy <= 2.0
        assert dxz <= dxy + dyz + 1e-12


def test_a_hand_computed_example_and_the_correlation_identity():
    # Contexts {0,1} and {2,3}: a centres to [-1, 1, -2, 2] (norm sqrt(10)), b to [1, -1, -1, 1] (norm 2).
    a, b, ctx = [1.0, 3.0, 0.0, 4.0], [5.0, 3.0, 1.0, 3.0], ["x", "x", "y", "y"]
    assert canonicalize(a, ctx).tolist() == [-1.0, 1.0, -2.0, 2.0]
    sa = np.array([-1, 1, -2, 2]) / math.sqrt(10)
    sb = np.array([1, -1, -1, 1]) / 2
    assert starc_distance(a, b, ctx) == pytest.approx(float(np.linalg.norm(sa - sb)))
    rho = float(sa @ sb)  # = 2 / (2 sqrt(10))
    assert rho == pytest.approx(1 / math.sqrt(10))
    assert starc_distance(a, b, ctx) == pytest.approx(math.sqrt(2 * (1 - rho)))


def test_top_k_overlap_matches_brute_force_over_subsets():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(1, 9))
        a, b = rng.permutation(n).astype(float), rng.normal(size=n)
        for k in range(1, n + 1):
            # brute force: the k-subset with the largest sum is the top-k set (distinct values)
            best = [max(itertools.combinations(range(n), k), key=lambda s, v=v: sum(v[i] for i in s)) for v in (a, b)]
            assert top_k_overlap(a, b, k) == len(set(best[0]) & set(best[1])) / k
    assert top_k_overlap([1.0, 1.0, 0.0], [0.0, 1.0, 1.0], 1) == 0.0  # ties go to the earlier design
    assert top_k_overlap([3.0, 2.0], [2.0, 3.0], 10) == 1.0


def test_compare_rewards_reports_correlations_and_rejects_bad_input():
    r = np.arange(8, dtype=float) ** 2
    same = compare_rewards(r, 2 * r + 1, top_k=3)
    assert [same.distance, same.spearman, same.kendall, same.top_k_overlap] == pytest.approx([0.0, 1.0, 1.0, 1.0])
    assert (same.k, same.n, same.contexts) == (3, 8, 1)
    flipped = compare_rewards(r, -r, top_k=3)
    assert [flipped.distance, flipped.spearman, flipped.kendall, flipped.top_k_overlap] == pytest.approx([2.0, -1.0, -1.0, 0.0])
    assert compare_rewards(r, np.ones(8)).to_dict()["spearman"] is None
    with pytest.raises(ConfigError, match="not finite"):
        starc_distance([1.0, math.nan], [1.0, 2.0])
    with pytest.raises(ConfigError, match="score the same designs"):
        starc_distance([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="one context label per design"):
        starc_distance([1.0, 2.0], [1.0, 2.0], ["a"])


BOX_DESIGNS = ["[0.1, 0.2, 0.3, 0.4]", "[0.9, 0.1, 0.5, 0.5]", "[0.3, 0.3, 0.3, 0.3]", "[0.5, 0.6, 0.7, 0.2]", "[0.2, 0.9, 0.1, 0.8]", "[0.7, 0.4, 0.6, 0.1]"]


def _cli(*args: str) -> dict:
    from gendesign.cli import cli

    result = CliRunner().invoke(cli, ["compare-objectives", *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _dtlz2_values(column: int) -> np.ndarray:
    from gendesign.objectives.botorch_problems import DTLZ2

    objective = DTLZ2(dim=4)
    return objective([json.loads(d) for d in BOX_DESIGNS]).values[:, column].double().numpy()


def test_cli_identical_objectives_are_at_zero_and_a_negated_one_at_two(tmp_path):
    designs = tmp_path / "designs.txt"
    designs.write_text("\n".join(BOX_DESIGNS) + "\n\n")
    common = ["dtlz2", "dtlz2", "--designs", str(designs), "--options-a", '{"dim": 4}', "--options-b", '{"dim": 4}', "--column-a", "dtlz2_f0"]
    same = _cli(*common, "--column-b", "dtlz2_f0", "--top-k", "3")
    assert [same["distance"], same["spearman"], same["kendall"], same["top_k_overlap"]] == pytest.approx([0.0, 1.0, 1.0, 1.0])
    assert (same["n"], same["dropped"], same["k"]) == (6, 0, 3)
    negated = _cli(*common, "--column-b", "dtlz2_f0", "--direction-b", "max", "--top-k", "3")
    assert [negated["distance"], negated["spearman"], negated["kendall"], negated["top_k_overlap"]] == pytest.approx([2.0, -1.0, -1.0, 0.0])
    plot = tmp_path / "scatter.png"
    other = _cli(*common, "--column-b", "dtlz2_f1", "--plot", str(plot))
    expected = compare_rewards(-_dtlz2_values(0), -_dtlz2_values(1), top_k=10)
    assert other["distance"] == pytest.approx(expected.distance) and other["spearman"] == pytest.approx(expected.spearman)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_reads_contexts_from_a_csv_and_designs_from_a_run_directory(tmp_path):
    table = tmp_path / "designs.csv"
    contexts = ["p", "q", "p", "q", "p", "q"]
    table.write_text("design,prompt\n" + "".join(f'"{d}",{c}\n' for d, c in zip(BOX_DESIGNS, contexts)))
    out = _cli("dtlz2", "dtlz2", "--designs", str(table), "--options-a", '{"dim": 4}', "--options-b", '{"dim": 4}', "--column-a", "dtlz2_f0", "--column-b", "dtlz2_f1", "--context-column", "prompt")
    expected = compare_rewards(-_dtlz2_values(0), -_dtlz2_values(1), contexts)
    assert out["contexts"] == 2 and out["distance"] == pytest.approx(expected.distance)
    assert expected.distance != pytest.approx(compare_rewards(-_dtlz2_values(0), -_dtlz2_values(1)).distance)

    from gendesign.cli import cli

    config = tmp_path / "tiny.toml"
    config.write_text('[campaign]\nbudget = 16\nbatch_size = 8\nseed = 1\n\n[[objectives]]\nname = "branin_currin"\n\n[strategy]\nname = "random"\n')
    run_dir = tmp_path / "run"
    assert CliRunner().invoke(cli, ["run", str(config), "--run-dir", str(run_dir), "--no-progress"]).exit_code == 0
    out = _cli("branin_currin", "branin_currin", "--designs", str(run_dir), "--column-a", "branin_currin_f0", "--column-b", "branin_currin_f1")
    import csv

    rows = [r for r in csv.DictReader((run_dir / "evaluations.csv").open()) if r["valid"] == "1"]
    expected = compare_rewards([-float(r["branin_currin_f0"]) for r in rows], [-float(r["branin_currin_f1"]) for r in rows])
    assert out["n"] == 16 and out["distance"] == pytest.approx(expected.distance) and out["kendall"] == pytest.approx(expected.kendall)
    by_round = _cli("branin_currin", "branin_currin", "--designs", str(run_dir), "--column-a", "branin_currin_f0", "--column-b", "branin_currin_f1", "--context-column", "round")
    expected = compare_rewards([-float(r["branin_currin_f0"]) for r in rows], [-float(r["branin_currin_f1"]) for r in rows], [r["round"] for r in rows])
    assert by_round["contexts"] == 2 and by_round["distance"] == pytest.approx(expected.distance)


def test_cli_errors_name_the_fix(tmp_path):
    from gendesign.cli import cli

    designs = tmp_path / "designs.txt"
    designs.write_text("\n".join(BOX_DESIGNS) + "\n")
    result = CliRunner().invoke(cli, ["compare-objectives", "dtlz2", "dtlz2", "--designs", str(designs), "--options-a", '{"dim": 4}', "--options-b", '{"dim": 4}'])
    assert "choose one with --column-a NAME" in str(result.exception)
    result = CliRunner().invoke(cli, ["compare-objectives", "dtlz2", "dtlz2", "--designs", str(designs), "--column-a", "dtlz2_f0", "--column-b", "dtlz2_f0"])
    assert "is not in the space" in str(result.exception)  # 4-D designs, default dim is 6
    designs.write_text(BOX_DESIGNS[0] + "\n")
    result = CliRunner().invoke(cli, ["compare-objectives", "dtlz2", "dtlz2", "--designs", str(designs), "--options-a", '{"dim": 4}', "--options-b", '{"dim": 4}', "--column-a", "dtlz2_f0", "--column-b", "dtlz2_f0"])
    assert "holds 1 design(s)" in str(result.exception)


def _docs_section() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "objectives.md").read_text(encoding="utf-8")
    return text.split("## Comparing objectives: STARC distance", 1)[1]


def test_docs_python_example_runs():
    import re

    example = re.findall(r"```python\n(.*?)```", _docs_section(), re.S)[0]
    namespace: dict = {"__name__": "docs_example"}
    exec(compile(example, "docs/objectives.md", "exec"), namespace)
    starc_distance, proxy, prompts = namespace["starc_distance"], namespace["proxy"], namespace["prompts"]
    assert starc_distance(proxy, namespace["oracle"], prompts) < 1e-9
    assert abs(starc_distance(proxy, -proxy, prompts) - 2.0) < 1e-9
    assert 0.0 <= namespace["result"].to_dict()["distance"] <= 2.0


def test_docs_cli_example_prints_what_the_docs_show(tmp_path, monkeypatch):
    import re
    import shlex

    from gendesign.cli import cli

    block = re.findall(r"```bash\n(.*?)```", _docs_section(), re.S)[0]
    printf, rest = block.split("\n", 1)
    command = rest.split("\n#", 1)[0].replace("\\\n", " ")
    shown = [line[2:] for line in rest.splitlines() if line.startswith("# ")]
    monkeypatch.chdir(tmp_path)
    words = shlex.split(printf)
    assert words[0] == "printf" and words[-2:] == [">", "designs.txt"]
    (tmp_path / "designs.txt").write_text(words[1].replace("\\n", "\n"))
    args = shlex.split(command)
    assert args[0] == "gendesign"
    result = CliRunner().invoke(cli, args[1:], catch_exceptions=False)
    assert result.exit_code == 0 and result.output.splitlines() == shown
    assert (tmp_path / "scatter.png").is_file()
