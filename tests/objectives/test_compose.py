"""Stacking, relabelling, constraints, ensembles and the LRU cache."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, Objective, ObjectiveSpec, Scores
from gendesign.objectives.cache import Cached, default_design_key
from gendesign.objectives.compose import Constrained, Ensemble, Respecified, Stacked, as_constraint
from gendesign.objectives.transforms import Sigmoid, Transformed
from gendesign.testing.objectives import ObjectiveConformance

NAN = math.nan


def _length(designs):
    return [float(len(d)) if "X" not in d else NAN for d in designs]


def _charge(designs):
    return [float(d.count("K") - d.count("D")) if "Z" not in d else NAN for d in designs]


def length_obj():
    return FunctionObjective(_length, specs=[ObjectiveSpec("length", "min", bounds=(0.0, 30.0))])


def charge_obj():
    return FunctionObjective(_charge, specs=[ObjectiveSpec("charge", "max", bounds=(-30.0, 30.0))])


class Counting(Objective):
    """A deterministic oracle that records every design it is asked to score."""

    specs = (ObjectiveSpec("a"), ObjectiveSpec("b", "min"))

    def __init__(self, differentiable: bool = False, with_std: bool = False) -> None:
        self.counts: Counter[str] = Counter()
        self.batches: list[int] = []
        self.differentiable = differentiable
        self.with_std = with_std

    def evaluate(self, designs):
        self.batches.append(len(designs))
        self.counts.update(designs)
        values = torch.tensor([[float(len(d)), float(d.count("A"))] if d != "bad" else [NAN, NAN] for d in designs])
        std = torch.full_like(values, 0.5) if self.with_std else None
        return Scores(values=values, valid=torch.ones(len(designs), dtype=torch.bool), specs=self.specs, std=std)


# ----- Stacked ---------------------------------------------------------------------------------


def test_stacked_concatenates_columns_and_ands_validity():
    obj = Stacked([length_obj(), charge_obj()])
    assert [s.name for s in obj.specs] == ["length", "charge"]
    out = obj(["KKD", "AXA", "ZK", "XZ", "D"])
    assert out.valid.tolist() == [True, False, False, False, True]
    assert out.values[0].tolist() == [3.0, 1.0] and out.values[4].tolist() == [1.0, -1.0]
    assert bool(torch.isnan(out.values[1:4]).all()), "an item invalid in any part is NaN in every column"
    assert "length" in out.errors[1] and "charge" not in out.errors[1]
    assert "charge" in out.errors[2]
    assert "length" in out.errors[3] and "charge" in out.errors[3]


def test_stacked_names_must_be_unique_and_std_merges():
    with pytest.raises(ConfigError, match=r"\['length'\].*Respecified"):
        Stacked([length_obj(), length_obj()])
    renamed = Respecified(length_obj(), {"length": {"name": "length2"}})
    assert [s.name for s in Stacked([length_obj(), renamed]).specs] == ["length", "length2"]
    mixed = Stacked([Counting(with_std=True), charge_obj()])
    out = mixed(["AK", "KK"])
    assert out.std.tolist() == [[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]]
    assert Stacked([length_obj(), charge_obj()])(["A"]).std is None


def test_stacked_flags_follow_parts():
    nondet = FunctionObjective(_charge, names="c2", deterministic=False)
    assert not Stacked([length_obj(), nondet]).deterministic
    diff = FunctionObjective(lambda xs: torch.stack([x.sum() for x in xs]), names="s", differentiable=True)
    assert Stacked([diff]).differentiable and not Stacked([diff, length_obj()]).differentiable
    assert Stacked([length_obj(), charge_obj()]).fingerprint() != Stacked([charge_obj(), length_obj()]).fingerprint()


# ----- Respecified and constraints ------------------------------------------------------------


def test_respecified_changes_specs_not_values():
    r = Respecified(length_obj(), {"length": {"direction": "max", "description": "longer is better"}})
    assert r.specs[0].direction == "max" and r.specs[0].bounds == (0.0, 30.0)
    assert r(["AAA"]).values.tolist() == [[3.0]]
    with pytest.raises(ConfigError, match=r"\['size'\] do not exist"):
        Respecified(length_obj(), {"size": {"name": "x"}})
    with pytest.raises(ConfigError, match="not ObjectiveSpec fields"):
        Respecified(length_obj(), {"length": {"colour": "red"}})
    assert r.fingerprint() != length_obj().fingerprint()


def test_as_constraint_and_feasibility():
    con = as_constraint(charge_obj(), "charge", 0.0, name="net_charge")
    assert con.specs[0] == ObjectiveSpec("net_charge", "max", bounds=(-30.0, 30.0), kind="constraint", threshold=0.0)
    obj = Constrained(length_obj(), [con])
    out = obj(["KKD", "DDK", "KD"])
    assert out.valid.tolist() == [True, True, True]
    assert out.feasible().tolist() == [True, False, True], "charge >= 0 is feasible; the threshold is inclusive"
    upper = as_constraint(charge_obj(), "charge", 1.0, direction="min")
    assert Constrained(length_obj(), [upper])(["KKK", "KD", "K"]).feasible().tolist() == [False, True, True]


def test_constrained_invalid_mode_names_the_violation():
    obj = Constrained(length_obj(), [as_constraint(charge_obj(), "charge", 1.0)], on_violation="invalid")
    out = obj(["KKD", "DDK", "ZZ"])
    assert out.valid.tolist() == [True, False, False]
    assert bool(torch.isnan(out.values[1]).all())
    assert "constraint 'charge' violated: -1 is not >= 1" in out.errors[1]
    assert "charge" in out.errors[2]
    with pytest.raises(ConfigError, match="not constraints"):
        Constrained(length_obj(), [charge_obj()])
    with pytest.raises(ConfigError, match="no constraint columns"):
        Constrained(length_obj())


# ----- Ensemble --------------------------------------------------------------------------------


class Affine(Objective):
    """``a * len(d) + b`` on a max column and ``c * len(d)`` on a min column."""

    def __init__(self, a: float, b: float, c: float, std: float | None = None) -> None:
        self.a, self.b, self.c, self.std = a, b, c, std
        self.specs = (ObjectiveSpec("up"), ObjectiveSpec("down", "min"))

    def evaluate(self, designs):
        n = torch.tensor([float(len(d)) if d else NAN for d in designs])
        values = torch.stack([self.a * n + self.b, self.c * n], dim=-1)
        std = None if self.std is None else torch.full_like(values, self.std)
        errors = [None if d else "empty design" for d in designs]
        return Scores(values=values, valid=~torch.isnan(n), specs=self.specs, std=std, errors=errors)

    def config(self):
        return {**super().config(), "abc": [self.a, self.b, self.c, self.std]}


def _members(std=None):
    return [Affine(1.0, 0.0, 1.0, std), Affine(2.0, 1.0, 3.0, std), Affine(3.0, -1.0, 2.0, std)]


def test_ensemble_mean_std_and_members():
    ens = Ensemble(_members())
    out = ens(["AB", "ABCD"])
    # len 2: up = 2, 5, 5 -> mean 4, population std sqrt(2); down = 2, 6, 4 -> mean 4, std sqrt(8/3).
    assert out.values[0].tolist() == pytest.approx([4.0, 4.0])
    assert out.std[0].tolist() == pytest.approx([math.sqrt(2.0), math.sqrt(8 / 3)], rel=1e-6)
    assert tuple(out.info["members"].shape) == (3, 2, 2)
    assert out.info["members"][1, 1].tolist() == [9.0, 12.0]


def test_ensemble_aggregates_respect_direction():
    members = _members()
    designs = ["AB"]
    worst = Ensemble(members, "min")(designs).values[0].tolist()
    assert worst == [2.0, 6.0], "worst case is the smallest 'up' and the largest 'down'"
    assert Ensemble(members, "median")(designs).values[0].tolist() == [5.0, 4.0]
    pess = Ensemble(members, "mean_minus_std", lam=1.0)(designs).values[0].tolist()
    assert pess == pytest.approx([4.0 - math.sqrt(2.0), 4.0 + math.sqrt(8 / 3)], rel=1e-6)
    var = Ensemble(members, "mean_minus_var", lam=0.5)(designs).values[0].tolist()
    assert var == pytest.approx([4.0 - 1.0, 4.0 + 4 / 3], rel=1e-6)
    assert Ensemble(members, "mean_minus_std", lam=0.0)(designs).values.tolist() == Ensemble(members)(designs).values.tolist()
    same = [Affine(1.0, 0.0, 1.0)] * 3
    assert Ensemble(same, "mean_minus_std", lam=5.0)(designs).values.tolist() == [[2.0, 2.0]]


def test_ensemble_total_variance_and_validation():
    out = Ensemble(_members(std=1.0))(["AB"])
    assert out.std[0].tolist() == pytest.approx([math.sqrt(1 + 2.0), math.sqrt(1 + 8 / 3)], rel=1e-6)
    bad = Respecified(Affine(1, 0, 1), {"down": {"direction": "max"}})
    with pytest.raises(ConfigError, match="same columns and directions"):
        Ensemble([Affine(1, 0, 1), bad])
    with pytest.raises(ConfigError, match="aggregate='max'"):
        Ensemble(_members(), "max")  # type: ignore[arg-type]
    assert Ensemble(_members())(["", "A"]).valid.tolist() == [False, True]


def test_ensemble_keeps_gradients_of_differentiable_members():
    members = [
        FunctionObjective(lambda xs, s=s: torch.stack([s * x.sum() for x in xs]), names="f", differentiable=True)
        for s in (1.0, 3.0)
    ]
    ens = Ensemble(members, "mean_minus_std", lam=1.0)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    out = ens([x], grad=True)
    out.values.sum().backward()
    # mean = 2 * sum(x), spread = |3 - 1| / 2 * sum(x) = sum(x): value = sum(x), gradient 1.
    assert x.grad.tolist() == pytest.approx([1.0, 1.0])


# ----- Cached ----------------------------------------------------------------------------------


def test_cached_evaluates_each_unique_key_once_and_matches_uncached():
    oracle = Counting()
    cached = Cached(oracle, maxsize=100)
    batches = [["AA", "B", "AA", "CAC"], ["B", "DD", "AA"], ["DD", "DD"], ["EAE", "B"]]
    reference = Counting()
    for batch in batches:
        got = cached(batch)
        want = reference(batch)
        assert torch.equal(got.values, want.values) and torch.equal(got.valid, want.valid)
    assert all(c == 1 for c in oracle.counts.values()), oracle.counts
    assert set(oracle.counts) == {"AA", "B", "CAC", "DD", "EAE"}
    assert oracle.batches == [3, 1, 1], "duplicates removed in-batch; fully cached batches never reach the oracle"
    info = cached.cache_info()
    assert info["misses"] == 5 and info["hits"] == 11 - 5 and info["size"] == 5
    assert cached.fingerprint() == oracle.fingerprint()


def test_cached_lru_eviction_and_failures():
    oracle = Counting()
    cached = Cached(oracle, maxsize=2)
    cached(["A"])
    cached(["B"])
    cached(["A"])  # A is now most recent; B is evicted next
    cached(["C"])
    cached(["A"])
    cached(["B"])
    assert oracle.counts == Counter({"A": 1, "B": 2, "C": 1})
    out = cached(["bad", "bad"])
    assert out.valid.tolist() == [False, False] and oracle.counts["bad"] == 1
    cached(["bad"])
    assert oracle.counts["bad"] == 2, "failures are not cached by default"
    sticky = Cached(Counting(), cache_failures=True)
    sticky(["bad"])
    sticky(["bad"])
    assert sticky.inner.counts["bad"] == 1


def test_cached_never_caches_gradient_calls_and_rejects_nondeterministic():
    fn = FunctionObjective(lambda xs: torch.stack([x.pow(2).sum() for x in xs]), names="sq", differentiable=True)
    cached = Cached(fn)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    out = cached([x], grad=True)
    assert out.values.requires_grad
    out.values.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    assert len(cached) == 0, "a gradient call must not fill the cache"
    with pytest.raises(ConfigError, match="not deterministic"):
        Cached(FunctionObjective(_length, names="n", deterministic=False))


def test_cached_keys_change_with_fingerprint():
    class Scaled(Counting):
        def __init__(self):
            super().__init__()
            self.scale = 1.0

        def evaluate(self, designs):
            s = super().evaluate(designs)
            s.values = s.values * self.scale
            return s

        def config(self):
            return {**super().config(), "scale": self.scale}

    inner = Scaled()
    cached = Cached(inner)
    assert cached(["AAA"]).values[0, 0].item() == 3.0
    inner.scale = 2.0
    assert cached(["AAA"]).values[0, 0].item() == 6.0, "a changed configuration must not be served stale values"


def test_default_design_key():
    assert default_design_key("ACD") == "ACD"
    assert default_design_key([1, 2]) == default_design_key([1, 2]) != default_design_key([2, 1])
    assert default_design_key({"b": 1, "a": 2}) == default_design_key({"a": 2, "b": 1})
    t = torch.tensor([1.0, 2.0])
    assert default_design_key(t) == default_design_key(t.clone()) != default_design_key(t.double())
    with pytest.raises(ConfigError, match="key_fn"):
        default_design_key(object())


# ----- conformance of every composite ---------------------------------------------------------


class TestStackedConformance(ObjectiveConformance):
    expect_invalid = True

    def make_objective(self):
        return Stacked([length_obj(), charge_obj()])

    def make_designs(self):
        return ["KKD", "AXA", "ZK", "D", "KKKKK"]


class TestConstrainedConformance(ObjectiveConformance):
    expect_invalid = True

    def make_objective(self):
        return Constrained(length_obj(), [as_constraint(charge_obj(), "charge", 0.0)], on_violation="invalid")

    def make_designs(self):
        return ["KKD", "DDK", "ZZ", "K"]


class TestEnsembleConformance(ObjectiveConformance):
    expect_invalid = True
    atol = 1e-6

    def make_objective(self):
        return Ensemble(_members(std=0.1), "mean_minus_std")

    def make_designs(self):
        return ["AB", "", "ABCDE", "A"]


class TestCachedConformance(ObjectiveConformance):
    def make_objective(self):
        return Cached(Transformed(Stacked([length_obj(), charge_obj()]), {"charge": Sigmoid(low=-2.0, high=2.0)}), maxsize=3)

    def make_designs(self):
        return ["KKD", "KKD", "AXA", "D", "KKKKK", "DDK"]


def test_docs_objectives_example_runs(capsys):
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "objectives.md"
    example = re.findall(r"```python\n(.*?)```", doc.read_text(), re.S)[0]
    exec(compile(example, str(doc), "exec"), {"__name__": "docs_example"})
    assert "constraint 'hydrophobic' violated" in capsys.readouterr().out
