"""The campaign engine: budget and cache semantics, invalid designs, stop rules, outputs, optimize()."""

from __future__ import annotations

import csv
import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
import torch

from gendesign import optimize
from gendesign.api import report_run
from gendesign.core.campaign import Campaign, load_checkpoint
from gendesign.core.errors import ConfigError
from gendesign.core.ledger import Ledger
from gendesign.core.objective import FunctionObjective, ObjectiveSpec, Scores
from gendesign.core.pareto import hypervolume
from gendesign.core.sequence_space import SequenceSpace
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.testing.fixtures import CountingObjective

BITS = SequenceSpace("01", length=6)


class Scripted(SearchStrategy):
    """Asks a fixed list of batches and remembers everything it was told."""

    class Options(StrategyOptions):
        batches: list[list[Any]] = []

    def __init__(self, space, specs, *, seed=0, device="cpu", options=None):
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.position = 0
        self.told: list[tuple[Any, list[float], bool, str | None]] = []

    def ask(self, n):
        if self.position >= len(self.options.batches):
            return []
        batch = self.options.batches[self.position]
        self.position += 1
        return list(batch)

    def tell(self, designs, scores: Scores):
        assert len(designs) == len(scores)
        for d, v, ok, err in zip(designs, scores.values.tolist(), scores.valid.tolist(), scores.errors):
            self.told.append((d, v, ok, err))

    def state_dict(self):
        return {**super().state_dict(), "position": self.position}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.position = state["position"]


class Uniform(SearchStrategy):
    """Uniform samples from the space (may repeat)."""

    def ask(self, n):
        return self.space.sample(n, self.rng)

    def tell(self, designs, scores):
        pass


def ones_zeros(xs):
    return [[x.count("1"), int(x, 2) / 63.0] for x in xs]


def _campaign(objective, batches, *, budget=100, batch_size=4, space=BITS, **kw):
    strategy = Scripted(space, objective.specs, options=Scripted.Options(batches=batches))
    return Campaign(objective, space, strategy, budget=budget, batch_size=batch_size, progress=False, **kw), strategy


def test_duplicates_are_free_and_raw_calls_count_them():
    obj = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    batches = [["000001", "000001", "000011"], ["000011", "000111", [0, 0, 0, 0, 0, 1]], ["001111"]]
    campaign, strategy = _campaign(obj, batches)
    result = campaign.run()
    assert obj.repeated() == {}
    assert sorted(obj.counts) == ["000001", "000011", "000111", "001111"]
    s = result.summary
    assert s["evaluations"] == 4 and s["raw_calls"] == 7 and s["duplicates"] == 3 and s["paid_evaluations"] == 4
    assert s["stop_reason"] == "strategy_exhausted" and s["rounds"] == 3
    # every asked design is told, duplicates included, with its cached scores
    assert [d for d, *_ in strategy.told] == ["000001", "000001", "000011", "000011", "000111", "000001", "001111"]
    assert strategy.told[1][1] == strategy.told[0][1] == [1.0, float(np.float32(1 / 63.0))]
    assert [r.evaluation for r in result.history] == [1, 2, 3, 4]


def test_budget_is_unique_evaluations_and_cuts_a_round():
    obj = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    batches = [["000001", "000010", "000001"], ["000100", "001000", "010000", "100000"]]
    result = _campaign(obj, batches, budget=4)[0].run()
    assert obj.total == 4 and result.summary["evaluations"] == 4 and result.summary["stop_reason"] == "budget"
    assert "010000" not in obj.counts and "100000" not in obj.counts


def test_objective_batches_never_exceed_batch_size():
    sizes = []

    def f(xs):
        sizes.append(len(xs))
        return [x.count("1") for x in xs]

    obj = FunctionObjective(f, names="ones")
    all_bits = ["".join(b) for b in itertools.product("01", repeat=6)]
    strategy = Scripted(BITS, obj.specs, options=Scripted.Options(batches=[all_bits[:23], all_bits[23:64]]))
    Campaign(obj, BITS, strategy, budget=64, batch_size=5, progress=False).run()
    assert max(sizes) <= 5 and sum(sizes) == 64


def test_space_rejects_are_recorded_not_evaluated_and_told_invalid():
    obj = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    campaign, strategy = _campaign(obj, [["000001", "0120", "0120", [0, 7, 0, 0, 0, 0]]])
    result = campaign.run()
    assert sorted(obj.counts) == ["000001"]
    told = {str(d): (ok, err) for d, _, ok, err in strategy.told}
    assert told["000001"] == (True, None)
    assert told["0120"][0] is False and "unknown token '2'" in told["0120"][1]
    assert "outside 0..1" in told["[0, 7, 0, 0, 0, 0]"][1]
    s = result.summary
    assert s["evaluations"] == 1 and s["invalid"]["rejected_by_space"] == 2 and s["raw_calls"] == 4
    rows = {ev.key: ev for _, ev in campaign.ledger}
    assert rows['invalid:"0120"'].source == "space" and not rows['invalid:"0120"'].valid


def test_objective_failures_are_recorded_with_their_error():
    def f(xs):
        out = []
        for x in xs:
            if x == "111111":
                raise ValueError("cannot score all ones")
            out.append(math.nan if x == "000000" else x.count("1"))
        return out

    obj = FunctionObjective(f, names="ones")
    campaign, strategy = _campaign(obj, [["111111", "000000", "000001"]])
    result = campaign.run()
    told = {d: (ok, err) for d, _, ok, err in strategy.told}
    assert told["111111"][0] is False and "cannot score all ones" in told["111111"][1]
    assert told["000000"][0] is False and "non-finite" in told["000000"][1]
    assert told["000001"] == (True, None)
    assert result.summary["invalid"]["objective_failed"] == 2 and result.summary["evaluations"] == 3
    assert result.best["ones"].design == "000001"


def test_ledger_is_a_persistent_cache_across_campaigns(tmp_path):
    shared = tmp_path / "cache.sqlite"
    first = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    r1 = optimize(first, BITS, Uniform, budget=30, batch_size=8, seed=3, ledger=shared, progress=False)
    second = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    r2 = optimize(second, BITS, Uniform, budget=30, batch_size=8, seed=3, ledger=shared, progress=False)
    assert first.total == 30 and second.total == 0
    assert r2.summary["cache_hits"] == 30 and r2.summary["paid_evaluations"] == 0
    assert [r.key for r in r1.history] == [r.key for r in r2.history]
    assert all(r.cached for r in r2.history)
    third = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    third.deterministic = False
    optimize(third, BITS, Uniform, budget=30, batch_size=8, seed=3, ledger=shared, progress=False)
    assert third.total == 30, "a non-deterministic objective must not be served from another run's cache"
    with Ledger(shared) as ledger:
        assert ledger.count() == 30 and len(ledger.runs()) == 3


def test_stop_rules_patience_and_max_rounds():
    obj = FunctionObjective(lambda xs: [x.count("1") for x in xs], names="ones")
    same = Scripted(BITS, obj.specs, options=Scripted.Options(batches=[["000001"]] * 50))
    r = Campaign(obj, BITS, same, budget=10, patience_rounds=3, progress=False).run()
    assert r.summary["stop_reason"] == "patience" and r.summary["rounds"] == 4
    r = Campaign(obj, BITS, Uniform(BITS, obj.specs), budget=60, batch_size=2, max_rounds=5, progress=False).run()
    assert r.summary["stop_reason"] == "max_rounds" and r.summary["rounds"] == 5 and r.summary["evaluations"] <= 10


def test_pareto_and_hypervolume_match_brute_force_with_mixed_directions():
    def f(xs):
        return [[x.count("1"), int(x, 2) % 7, len(x.rstrip("0"))] for x in xs]

    space = BITS
    obj = FunctionObjective(f, names=["ones", "mod7", "last1"], directions=["max", "min", "max"])
    everything = ["".join(b) for b in itertools.product("01", repeat=6)]
    result = _campaign(obj, [everything[:40], everything[40:]], budget=64, batch_size=64, space=space)[0].run()
    assert result.summary["evaluations"] == 64
    values = {x: f([x])[0] for x in everything}
    canon = {x: (v[0], -v[1], v[2]) for x, v in values.items()}

    def dominated(a):
        return any(all(o >= s for o, s in zip(canon[b], canon[a])) and canon[b] != canon[a] for b in everything)

    expected = {x for x in everything if not dominated(x)}
    assert {p.design for p in result.pareto} == expected
    assert result.best["ones"].design == "111111" and result.best["mod7"].values["mod7"] == 0
    ref = result.summary["reference_point"]["canonical"]
    front = torch.tensor([canon[x] for x in expected], dtype=torch.float64)
    assert result.summary["hypervolume"] == pytest.approx(hypervolume(front, ref))


def test_constraints_exclude_infeasible_designs_from_front_and_best():
    specs = (ObjectiveSpec("ones"), ObjectiveSpec("zeros"), ObjectiveSpec("first", kind="constraint", threshold=0.5))
    obj = FunctionObjective(lambda xs: [[x.count("1"), x.count("0"), int(x[0])] for x in xs], specs=specs)
    everything = ["".join(b) for b in itertools.product("01", repeat=6)]
    result = _campaign(obj, [everything], budget=64, batch_size=64)[0].run()
    assert all(p.design.startswith("1") for p in result.pareto)
    assert result.best["zeros"].design == "100000"
    assert result.summary["invalid"]["infeasible_constraints"] == 32
    assert set(result.best) == {"ones", "zeros"}


def test_outputs_written_and_report_regenerates_them(tmp_run_dir):
    obj = FunctionObjective(ones_zeros, names=["ones", "value"])
    result = optimize(obj, BITS, Uniform, budget=40, batch_size=8, seed=1, run_dir=tmp_run_dir, progress=False)
    for name in ("ledger.sqlite", "checkpoint.pt", "evaluations.csv", "pareto.csv", "summary.json", "pareto_front.png", "hypervolume.png", "best.png"):
        assert (tmp_run_dir / name).is_file(), name
    assert (tmp_run_dir / "pareto_front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_run_dir / "evaluations.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 40 and [int(r["evaluation"]) for r in rows] == list(range(1, 41))
    assert {r["design"] for r in rows} == {r.design for r in result.history}
    with open(tmp_run_dir / "pareto.csv") as fh:
        front = list(csv.DictReader(fh))
    assert {r["design"] for r in front} == {p.design for p in result.pareto}
    assert all(float(r["ones"]) == r["design"].count("1") for r in front)
    summary = json.loads((tmp_run_dir / "summary.json").read_text())
    assert summary["evaluations"] == 40 and summary["budget"] == 40
    t = summary["time"]
    assert t["objective_seconds"] + t["strategy_seconds"] + t["engine_seconds"] == pytest.approx(t["wall_seconds"])
    before = {n: (tmp_run_dir / n).read_text() for n in ("evaluations.csv", "pareto.csv", "summary.json")}
    for n in ("evaluations.csv", "pareto.csv", "summary.json", "best.png"):
        (tmp_run_dir / n).unlink()
    report_run(tmp_run_dir)
    after = {n: (tmp_run_dir / n).read_text() for n in ("evaluations.csv", "pareto.csv", "summary.json")}
    assert after == before and (tmp_run_dir / "best.png").is_file()


def test_checkpoint_resume_in_process_continues_without_repeats(tmp_run_dir):
    obj = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    full = optimize(CountingObjective(ones_zeros, BITS, names=["ones", "value"]), BITS, Uniform, budget=40, batch_size=8, seed=5, progress=False)
    optimize(obj, BITS, Uniform, budget=40, batch_size=8, seed=5, max_rounds=2, run_dir=tmp_run_dir, progress=False)
    state = load_checkpoint(tmp_run_dir / "checkpoint.pt")
    assert state["counters"]["round"] == 2 and state["counters"]["stop_reason"] == "max_rounds"
    resumed = optimize(obj, BITS, Uniform, budget=40, batch_size=8, seed=5, run_dir=tmp_run_dir, progress=False)
    assert obj.repeated() == {} and obj.total == 40
    assert [r.key for r in resumed.history] == [r.key for r in full.history], "resume must continue the same random stream"
    assert resumed.summary["evaluations"] == 40 and resumed.summary["paid_evaluations"] == 40


def test_resume_with_a_changed_objective_is_refused(tmp_run_dir):
    optimize(FunctionObjective(ones_zeros, names=["ones", "value"]), BITS, Uniform, budget=8, run_dir=tmp_run_dir, progress=False)
    other = FunctionObjective(lambda xs: [[1.0, 2.0] for _ in xs], names=["ones", "value"])
    with pytest.raises(Exception, match="fingerprint"):
        optimize(other, BITS, Uniform, budget=8, run_dir=tmp_run_dir, progress=False)


def test_optimize_plain_callable_infers_k_and_accepts_token_ids():
    calls = []

    def f(xs):
        calls.append(list(xs))
        return np.array([[x.count("1"), -math.inf if x.startswith("11") else x.count("0")] for x in xs])

    r = optimize(f, SequenceSpace("01", length=4), Uniform, budget=12, batch_size=16, seed=0, progress=False)
    assert [s.name for s in r.specs] == ["f0", "f1"] and len(calls[0]) == 1, "K is probed with one sampled design"
    assert all(not rec.valid for rec in r.history if rec.design.startswith("11"))
    feasible_ones = [rec.values["f0"] for rec in r.history if rec.valid]
    assert r.best["f0"].values["f0"] == max(feasible_ones) and not r.best["f0"].design.startswith("11")
    obj = FunctionObjective(f, names=["a", "b"])
    strategy = Scripted(SequenceSpace("01", length=4), obj.specs, options=Scripted.Options(batches=[[[1, 0, 1, 0], "1010"]]))
    res = Campaign(obj, strategy.space, strategy, budget=5, progress=False).run()
    assert [rec.design for rec in res.history] == ["1010"] and res.summary["duplicates"] == 1


def test_optimize_rejects_bad_arguments():
    with pytest.raises(ConfigError, match=r"executor: name = 'threads': unknown executor 'threads'\. Available: inline, process, ray"):
        optimize(bit_scores, BITS, Uniform, budget=4, executor="threads", directions=["max", "max"], progress=False)
    with pytest.raises(ConfigError, match="budget"):
        optimize(lambda xs: [0.0] * len(xs), BITS, Uniform, budget=0, directions="max", progress=False)
    with pytest.raises(ConfigError, match="SearchStrategy"):
        optimize(lambda xs: [0.0] * len(xs), BITS, 42, directions="max", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="directions"):
        optimize(FunctionObjective(ones_zeros, names=["a", "b"]), BITS, Uniform, directions="max", progress=False)
    obj = FunctionObjective(ones_zeros, names=["a", "b"])
    with pytest.raises(ConfigError, match="specs"):
        Campaign(obj, BITS, Uniform(BITS, [ObjectiveSpec("x")]), budget=3)


def test_incremental_front_equals_pareto_mask():
    from gendesign.core.pareto import pareto_mask
    from gendesign.core.report import front_indices

    g = torch.Generator().manual_seed(0)
    for n, k, chunk in [(700, 2, 64), (500, 3, 100), (5, 2, 2), (129, 2, 128)]:
        Y = torch.rand(n, k, generator=g, dtype=torch.float64).round(decimals=1)
        Y[::7] = math.nan
        assert front_indices(Y, chunk=chunk) == torch.nonzero(pareto_mask(Y)).flatten().tolist()


def bit_scores(xs):
    return [[x.count("1"), int(x, 2) / 63.0] for x in xs]


@pytest.mark.slow
def test_process_pool_executor_gives_the_same_run_as_inline():
    """Spawned workers import torch: ~10-20 s on 2 shared cores, hence slow."""
    from gendesign.core.executor import ProcessPoolExecutor

    obj = FunctionObjective(bit_scores, names=["ones", "value"])
    inline = optimize(obj, BITS, Uniform, budget=24, batch_size=12, seed=4, progress=False)
    pool = ProcessPoolExecutor(workers=2)
    pooled = optimize(obj, BITS, Uniform, budget=24, batch_size=12, seed=4, progress=False, executor=pool)
    assert [(r.key, r.values) for r in pooled.history] == [(r.key, r.values) for r in inline.history]


def test_shared_ledger_in_config_serves_a_second_run_and_reports_stay_per_run(tmp_path, counting_objective, fresh_plugins):
    from gendesign.api import run_config
    from gendesign.core.config import parse_config

    made: list[CountingObjective] = []

    def counted(space):
        """Counts ones and zeros."""
        obj = counting_objective(ones_zeros, space, names=["ones", "value"])
        made.append(obj)
        return obj

    fresh_plugins.objectives.register("counted", counted, plugin="test")
    data = {
        "campaign": {"budget": 20, "batch_size": 5, "seed": 9, "progress": False, "plots": False, "ledger": str(tmp_path / "shared.sqlite")},
        "space": {"name": "sequence", "options": {"alphabet": "01", "length": 6}},
        "objectives": [{"name": "counted"}],
        "strategy": {"name": "random"},
    }
    first = run_config(parse_config(data), run_dir=tmp_path / "a")
    second = run_config(parse_config(data), run_dir=tmp_path / "b")
    assert made[0].total == 20 and made[1].total == 0
    assert second.summary["cache_hits"] == 20 and first.summary["paid_evaluations"] == 20
    assert not (tmp_path / "a" / "ledger.sqlite").exists()
    assert report_run(tmp_path / "a", plots=False)["paid_evaluations"] == 20
    assert report_run(tmp_path / "b", plots=False)["cache_hits"] == 20


def test_progress_statistics_agree_with_the_summary(tmp_run_dir):
    def f(xs):
        return [[x.count("1"), x.find("0"), -int(x, 2) % 5] for x in xs]

    obj = FunctionObjective(f, names=["ones", "first0", "mod5"], directions=["max", "min", "max"])
    campaign = Campaign(obj, BITS, Uniform(BITS, obj.specs, seed=2), budget=40, batch_size=8, run_dir=tmp_run_dir, progress=False)
    result = campaign.run()
    best, hv = campaign._progress_stats()
    assert best == {name: entry["value"] for name, entry in result.summary["best"].items()}
    assert hv == pytest.approx(result.summary["hypervolume"])
    assert (tmp_run_dir / "pareto_front.png").is_file(), "K = 3 draws the pairwise projections"


def test_progress_bar_is_off_without_a_terminal(capsys):
    from gendesign.core.progress import Progress

    bar = Progress(10, enabled=True)
    bar.update(3, {"f": 1.0}, 0.5)
    bar.close()
    assert not bar.enabled and capsys.readouterr().err == ""


@pytest.mark.gpu
def test_objective_on_cuda_is_stored_from_the_cpu():
    obj = FunctionObjective(lambda xs: torch.tensor([[x.count("1")] for x in xs], device="cuda"), names="ones", device="cuda")
    result = optimize(obj, BITS, Uniform, budget=16, batch_size=8, device="cuda", progress=False)
    assert result.summary["evaluations"] == 16 and all(r.valid for r in result.history)
    assert result.best["ones"].values["ones"] == max(r.values["ones"] for r in result.history)


def test_run_again_with_a_larger_budget_continues_in_memory():
    obj = CountingObjective(ones_zeros, BITS, names=["ones", "value"])
    campaign = Campaign(obj, BITS, Uniform(BITS, obj.specs, seed=8), budget=10, batch_size=4, progress=False)
    assert campaign.run().summary["evaluations"] == 10
    campaign.budget = 25
    result = campaign.run()
    assert result.summary["evaluations"] == 25 and len(result.history) == 25 and obj.total == 25 and obj.repeated() == {}


def test_scores_keep_float64_through_the_ledger_and_every_output(tmp_run_dir):
    """16777217 (2^24 + 1), 1e-50 and 1e300 are lost in float32 (16777216, 0, inf); the ledger and outputs keep them."""
    exact = {"a": 16777217.0, "b": 1e-50, "c": 1e300}
    rank = {"b": 3.0, "a": 2.0, "c": 1.0}  # decreasing in x: all three designs are on the (x, y) front

    def score(xs):
        return [[int(exact[x]) if x == "a" else exact[x], rank[x], exact[x]] for x in xs]

    obj = FunctionObjective(score, names=["x", "y", "z"], directions=["max", "max", "min"])
    space = SequenceSpace("abc", length=1)
    campaign, strategy = _campaign(obj, [["a", "b", "c"]], budget=3, batch_size=3, space=space, run_dir=tmp_run_dir)
    result = campaign.run()
    campaign.close()
    with Ledger(tmp_run_dir / "ledger.sqlite") as ledger:
        stored = {ev.key: ev.values[0] for _, ev in ledger}
    assert stored == exact
    with open(tmp_run_dir / "evaluations.csv") as fh:
        assert {row["design"]: float(row["x"]) for row in csv.DictReader(fh)} == exact
    with open(tmp_run_dir / "pareto.csv") as fh:
        assert {row["design"]: (float(row["x"]), float(row["z"])) for row in csv.DictReader(fh)} == {k: (v, v) for k, v in exact.items()}
    summary = json.loads((tmp_run_dir / "summary.json").read_text())
    assert summary["best"]["x"]["value"] == 1e300 and summary["best"]["z"]["value"] == 1e-50
    assert {r.key: r.values["x"] for r in result.history} == exact
    told = {d: v[0] for d, v, ok, _ in strategy.told if ok}
    assert told["a"] == 16777216.0 and told["c"] == torch.finfo(torch.float32).max, "the strategy gets float32, saturated, never inf"
