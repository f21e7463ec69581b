"""Fail fast, lose nothing: systemic failures stop a campaign; single bad designs are recorded and the run goes on."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from torch import Tensor

from gendesign.api import optimize
from gendesign.core.errors import CampaignError, ConfigError
from gendesign.core.failures import FailurePolicy, common_error
from gendesign.core.ledger import Ledger
from gendesign.core.objective import Objective, Scores, make_specs
from gendesign.core.sequence_space import SequenceSpace

SPACE = SequenceSpace("01", length=8)


class Scripted(Objective):
    """Two columns (ones, length); ``behave(call_index, designs)`` may return a broken result instead.

    Attributes:
        calls: ``evaluate`` calls, per-item retries included.
        seen: every design ``evaluate`` was given, in order.
    """

    def __init__(self, behave: Any = None) -> None:
        self.specs = make_specs(["ones", "zeros"])
        self.behave = behave
        self.calls = 0
        self.seen: list[str] = []

    def evaluate(self, designs: Sequence[Any]) -> Tensor:
        self.calls += 1
        self.seen += list(designs)
        good = torch.tensor([[d.count("1"), d.count("0")] for d in designs], dtype=torch.float32)
        return good if self.behave is None else self.behave(self.calls, list(designs), good)


def run(objective: Objective, **kw: Any):
    kw = {"budget": 40, "batch_size": 8, "seed": 0, "progress": False, "plots": False, **kw}
    return optimize(objective, SPACE, "random", **kw)


@pytest.mark.parametrize(
    ("returned", "shape"),
    [(lambda good: torch.cat([good, good[:, :1]], dim=1), "[8, 3]"), (lambda good: good[:, 0], "[8]")],
    ids=["B,K+1", "B"],
)
def test_wrong_shape_stops_within_the_first_batch_with_both_shapes(returned, shape):
    obj = Scripted(lambda call, designs, good: returned(good))
    with pytest.raises(CampaignError) as err:
        run(obj)
    assert obj.calls == 1, "the campaign scored a second batch after a wrong-shape batch"
    msg = str(err.value)
    assert f"returned values of shape {shape}; expected [8, 2] (2 columns from its specs: ones, zeros)" in msg
    assert "first batch (8)" in msg and "in memory" in msg


def test_first_batch_failing_for_one_reason_stops_and_a_fixed_objective_resumes(tmp_path):
    broken = {"on": True}

    def behave(call, designs, good):
        if broken["on"]:
            raise RuntimeError("weights file models/x.pt not found")
        return good

    obj = Scripted(behave)
    with pytest.raises(CampaignError) as err:
        run(obj, run_dir=tmp_path / "run")
    assert "RuntimeError: weights file models/x.pt not found" in str(err.value) and "round 1" in str(err.value)
    assert f"gendesign resume {tmp_path / 'run'}" in str(err.value)
    assert len(set(obj.seen)) == 8, "only the first batch was scored"
    with Ledger(tmp_path / "run" / "ledger.sqlite") as ledger:
        assert ledger.count() == 0, "the failed batch must not poison the cache that a resume reads"
    broken["on"] = False
    result = run(obj, run_dir=tmp_path / "run")
    assert result.summary["evaluations"] == 40 and all(r.valid for r in result.history)


def test_one_bad_design_among_good_ones_is_recorded_and_the_campaign_goes_on(tmp_path):
    def behave(call, designs, good):
        if any(d.endswith("11") for d in designs):
            raise ValueError("ends in 11")
        return good

    result = run(Scripted(behave), run_dir=tmp_path / "run")
    assert result.summary["evaluations"] == 40
    bad = [r for r in result.history if not r.valid]
    good = [r for r in result.history if r.valid]
    assert bad and good and all(r.design.endswith("11") for r in bad) and not any(r.design.endswith("11") for r in good)
    assert all("raised ValueError: ends in 11" in r.error for r in bad)
    with Ledger(tmp_path / "run" / "ledger.sqlite") as ledger:
        rows = {ev.key: ev for _, ev in ledger}
    assert {r.key for r in bad} <= set(rows) and all(not rows[r.key].valid and rows[r.key].error == r.error for r in bad)


def test_max_failed_batches_in_a_row_stop_and_keep_what_was_scored(tmp_path):
    outage = {"on": True}

    def behave(call, designs, good):
        if call > 2 and outage["on"]:
            return Scores.failed(len(designs), make_specs(["ones", "zeros"]), "scoring service unavailable")
        return good

    obj = Scripted(behave)
    with pytest.raises(CampaignError, match=r"3 batches in a row \(max_failed_batches = 3\).*scoring service unavailable") as err:
        run(obj, budget=64, max_failed_batches=3, run_dir=tmp_path / "run")
    assert obj.calls == 5 and "round 5" in str(err.value)
    with Ledger(tmp_path / "run" / "ledger.sqlite") as ledger:
        evs = [ev for _, ev in ledger]
    assert len(evs) == 32 and sum(ev.valid for ev in evs) == 16, "batches 1-4 stay in the ledger; the fifth is not recorded"
    outage["on"] = False
    seen_before = list(obj.seen)
    result = run(obj, budget=64, max_failed_batches=3, run_dir=tmp_path / "run")
    assert result.summary["evaluations"] == 64
    assert not set(obj.seen[len(seen_before) :]) & set(seen_before[:32]), "a resume re-scored a design the ledger already held"


def test_max_failed_batches_zero_never_stops():
    obj = Scripted(lambda call, designs, good: Scores.failed(len(designs), make_specs(["ones", "zeros"]), "always down"))
    result = run(obj, max_failed_batches=0)
    assert result.summary["evaluations"] == 40 and obj.calls == 5 and not any(r.valid for r in result.history)


def test_non_finite_values_are_infeasible_designs_not_a_broken_first_batch():
    def behave(call, designs, good):
        return torch.full_like(good, math.nan) if call <= 2 else good

    result = run(Scripted(behave))
    assert result.summary["evaluations"] == 40 and sum(not r.valid for r in result.history) == 16


def test_policy_rules():
    specs = make_specs(["f"])

    def failed(n, error="boom"):
        return Scores.failed(n, specs, error)

    assert common_error([False, False], ["a", "a"]) == "a"
    assert common_error([False, True], ["a", None]) is None
    assert common_error([False, False], ["a", "b"]) is None
    assert common_error([], []) is None
    assert common_error([False, False], ["unknown token 'X' at 3", "unknown token 'B' at 0"]) == "unknown token 'X' at 3", (
        "errors that differ only in the design they quote are one reason"
    )
    assert common_error([False, False], ["raised KeyError: 'X'", "raised ValueError: 'X'"]) is None
    assert common_error([False, False], ["a", None]) is None
    assert FailurePolicy(5).observe(failed(2)) is not None, "a first batch failing for one reason stops"
    assert FailurePolicy(5).observe(failed(1)) is None, "one design is too little evidence to stop at once"
    policy = FailurePolicy(2)
    ok = Scores(values=torch.ones(2, 1), valid=torch.ones(2, dtype=torch.bool), specs=specs)
    assert policy.observe(ok) is None
    assert policy.observe(failed(2, "x")) is None and policy.observe(failed(2, "y")) is None, "different reasons are no streak"
    assert policy.observe(ok) is None and policy.observe(failed(2, "y")) is None, "a good batch resets the streak"
    assert policy.observe(failed(2, "y")) is not None
    with pytest.raises(ConfigError, match="max_failed_batches=-1"):
        FailurePolicy(-1)


def test_infeasible_designs_the_objective_marks_invalid_never_stop_a_run():
    """An Ehrlich-like objective that answers "infeasible" for every design of many batches is working, not broken."""

    def behave(call, designs, good):
        valid = torch.tensor([call > 6 and d.startswith("1") for d in designs])
        errors = [None if ok else "infeasible: transition '0' -> '0' has probability 0" for ok in valid.tolist()]
        values = torch.where(valid.unsqueeze(-1), good, torch.full_like(good, math.nan))
        return Scores(values=values, valid=valid, specs=make_specs(["ones", "zeros"]), errors=errors)

    obj = Scripted(behave)
    result = run(obj, budget=80, max_failed_batches=3)
    assert result.summary["evaluations"] == 80 and obj.calls == 10, "six all-infeasible batches in a row must not stop the run"
    assert any(r.valid for r in result.history) and sum(not r.valid for r in result.history) >= 48


def test_breakage_inside_wrappers_still_stops_the_first_batch():
    """``Scores.raised`` survives Stacked, Cached and the scalariser, so a wrapped objective that raises still stops."""
    from gendesign.objectives.cache import Cached
    from gendesign.objectives.compose import Stacked
    from gendesign.objectives.scalarize import Scalarized

    def raising(call, designs, good):
        raise KeyError("descriptor table missing")

    inner = Scripted(raising)
    for wrapped in (Stacked([inner]), Cached(Scripted(raising)), Scalarized(Scripted(raising), method="weighted_sum")):
        scores = wrapped(["0101", "0011"])
        assert scores.raised_mask().tolist() == [True, True], type(wrapped).__name__
        with pytest.raises(CampaignError, match="descriptor table missing"):
            run(wrapped)
    marked = Scores(values=torch.full((2, 1), math.nan), valid=torch.zeros(2, dtype=torch.bool), specs=make_specs(["f"]), errors=["x", "x"])
    assert FailurePolicy(1).observe(marked) is None, "items the objective marked invalid are not breakage"
    assert Scores.cat([marked, Scores.failed(1, make_specs(["f"]), "x")]).raised_mask().tolist() == [False, False, True]
    assert Scores.failed(3, make_specs(["f"]), "x").select([2, 0]).raised_mask().tolist() == [True, True]
