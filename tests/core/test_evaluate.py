"""Held-out evaluation objectives: never told to the strategy, computed once, resume-safe, in every output."""

from __future__ import annotations

import csv
import json
import math

import pytest

from gendesign import HeldOut, optimize
from gendesign.api import report_run
from gendesign.core.campaign import Campaign
from gendesign.core.config import parse_config
from gendesign.core.errors import ConfigError
from gendesign.core.objective import Scores
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy
from gendesign.testing.fixtures import CountingObjective

BITS = SequenceSpace("01", length=6)


def guide_fn(xs):
    return [[x.count("1"), x[:3].count("0")] for x in xs]


def zeros_fn(xs):
    return [x.count("0") for x in xs]


def tail_fn(xs):
    return [int(x[-2:], 2) for x in xs]


class Spy(SearchStrategy):
    """Enumerates the space in order and keeps every Scores it is told."""

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None):
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.next = 0
        self.told: list[Scores] = []

    def ask(self, n):
        out = [format(i, "06b") for i in range(self.next, min(self.next + n, 64))]
        self.next += len(out)
        return out

    def tell(self, designs, scores):
        self.told.append(scores)

    def state_dict(self):
        return {**super().state_dict(), "next": self.next}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.next = state["next"]


def _run(tmp_path, *, budget=32, resume_from=None):
    guide = CountingObjective(guide_fn, BITS, names=["ones", "z3"])
    final = CountingObjective(zeros_fn, BITS, names="zeros")
    batch = CountingObjective(tail_fn, BITS, names="tail")
    spy = Spy(BITS, guide.specs)
    campaign = Campaign(
        guide, BITS, spy, budget=budget, batch_size=8, progress=False, run_dir=tmp_path, evaluate=[final, HeldOut(batch, "batch")]
    )
    try:
        result = campaign.run()
    finally:
        campaign.close()
    return result, spy, final, batch


def test_strategy_never_sees_evaluation_columns(tmp_path):
    result, spy, _, _ = _run(tmp_path)
    assert spy.told
    for scores in spy.told:
        assert scores.names == ["ones", "z3"]
        assert scores.values.shape[1] == 2
        assert not any(name.startswith("eval:") for name in scores.info)


def test_final_scores_only_the_pareto_set_and_batch_scores_every_design_once(tmp_path):
    result, _, final, batch = _run(tmp_path)
    pareto_keys = {p.key for p in result.pareto}
    assert set(final.counts) == pareto_keys
    assert all(c == 1 for c in final.counts.values())
    assert set(batch.counts) == {format(i, "06b") for i in range(32)}
    assert all(c == 1 for c in batch.counts.values())


def test_outputs_carry_evaluation_columns(tmp_path):
    result, _, _, _ = _run(tmp_path)
    with open(tmp_path / "pareto.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"ones", "z3", "eval:zeros", "eval:tail"} <= set(rows[0])
    for row in rows:
        assert float(row["eval:zeros"]) == row["design"].count("0")
        assert float(row["eval:tail"]) == int(row["design"][-2:], 2)
    summary = json.loads((tmp_path / "summary.json").read_text())
    ev = summary["evaluate"]
    assert ev["eval:zeros"]["when"] == "final" and ev["eval:tail"]["when"] == "batch"
    assert ev["eval:zeros"]["designs_evaluated"] == len(result.pareto) == ev["eval:zeros"]["pareto"]["n"]
    assert ev["eval:tail"]["designs_evaluated"] == 32
    expected = sum(p.design.count("0") for p in result.pareto) / len(result.pareto)
    assert ev["eval:zeros"]["pareto"]["mean"] == pytest.approx(expected)
    # On the Pareto set "zeros" = 6 - "ones" exactly, so the rank correlation is -1.
    assert ev["eval:zeros"]["spearman_with_guide"]["ones"] == pytest.approx(-1.0)
    assert "guide_vs_evaluate.png" in summary["files"]
    with open(tmp_path / "evaluations.csv") as fh:
        erows = list(csv.DictReader(fh))
    assert all(r["eval:tail"] != "" for r in erows)


def test_resume_and_report_do_not_recompute(tmp_path):
    _run(tmp_path, budget=16)
    result, spy, final, batch = _run(tmp_path, budget=16)
    assert sum(final.counts.values()) == 0 and sum(batch.counts.values()) == 0
    before = (tmp_path / "pareto.csv").read_text()
    (tmp_path / "pareto.csv").unlink()
    report_run(tmp_path, plots=False)
    assert (tmp_path / "pareto.csv").read_text() == before
    # A larger budget evaluates only the new designs and the new front members.
    result, _, final, batch = _run(tmp_path, budget=24)
    assert set(batch.counts) == {format(i, "06b") for i in range(16, 24)}
    old = {row["key"] for row in csv.DictReader(before.splitlines())}
    assert set(final.counts) == {p.key for p in result.pareto} - old


def test_config_evaluate_tables_and_api(tmp_path):
    cfg = parse_config(
        {
            "objectives": [{"name": "branin_currin"}],
            "evaluate": [{"name": "branin_currin", "columns": {"branin": {"name": "b2"}, "currin": {"name": "c2"}}, "when": "batch"}],
        }
    )
    assert cfg.evaluate[0].when == "batch"
    with pytest.raises(ConfigError, match="when"):
        parse_config({"objectives": [{"name": "branin_currin"}], "evaluate": [{"name": "x", "when": "always"}]})
    result = optimize(
        guide_fn, BITS, "random", budget=16, batch_size=8, progress=False, names=["ones", "z3"], directions=["max", "max"],
        evaluate=[CountingObjective(zeros_fn, BITS, names="zeros")],
    )
    assert result.summary["evaluate"]["eval:zeros"]["designs_evaluated"] == len(result.pareto)
    with pytest.raises(ConfigError, match="appear twice"):
        optimize(guide_fn, BITS, "random", budget=8, progress=False, names=["a", "b"],
                 evaluate=[CountingObjective(zeros_fn, BITS, names="z"), CountingObjective(tail_fn, BITS, names="z")])


def test_invalid_evaluations_stay_nan(tmp_path):
    def picky(xs):
        return [math.nan if x.endswith("1") else 1.0 for x in xs]

    guide = CountingObjective(guide_fn, BITS, names=["ones", "z3"])
    campaign = Campaign(guide, BITS, Spy(BITS, guide.specs), budget=8, batch_size=8, progress=False, run_dir=tmp_path,
                        evaluate=[HeldOut(CountingObjective(picky, BITS, names="p"), "batch")])
    campaign.run()
    campaign.close()
    with open(tmp_path / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["eval:p"] == "" for r in rows] == [r["design"].endswith("1") for r in rows]


def test_async_mode_evaluates_every_batch_and_the_final_front(tmp_path):
    guide = CountingObjective(guide_fn, BITS, names=["ones", "z3"])
    final = CountingObjective(zeros_fn, BITS, names="zeros")
    batch = CountingObjective(tail_fn, BITS, names="tail")
    spy = Spy(BITS, guide.specs)
    campaign = Campaign(guide, BITS, spy, budget=24, batch_size=4, progress=False, run_dir=tmp_path, mode="async", max_in_flight=2,
                        evaluate=[final, HeldOut(batch, "batch")])
    try:
        result = campaign.run()
    finally:
        campaign.close()
    assert all(s.names == ["ones", "z3"] for s in spy.told)
    assert set(batch.counts) == {r.key for r in result.history} and all(c == 1 for c in batch.counts.values())
    assert set(final.counts) == {p.key for p in result.pareto}
