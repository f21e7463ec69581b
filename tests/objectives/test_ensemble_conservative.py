"""Conservative ensemble aggregators, frozen member z-scoring and vmap-stacked members (issue 14, item 1)."""

from __future__ import annotations

import itertools

import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, ObjectiveSpec
from gendesign.objectives.compose import Ensemble, aggregate_members
from gendesign.objectives.stacked_members import StackedMembers

torch.set_num_threads(1)
AGGS = ("mean", "median", "min", "mean_minus_std", "uwo")


def _table(values: torch.Tensor) -> list[FunctionObjective]:
    """One objective per row of ``values`` `[M, N]`; design ``i`` scores ``values[m, i]``."""
    return [FunctionObjective(lambda xs, row=row: row[torch.tensor(xs)], names="r") for row in values]


def test_order_relations_and_lambda():
    g = torch.Generator().manual_seed(0)
    R = torch.randn(5, 40, 2, generator=g, dtype=torch.float64)
    for signs in (torch.tensor([1.0, 1.0], dtype=torch.float64), torch.tensor([1.0, -1.0], dtype=torch.float64)):
        c = R * signs
        mn, med, mean = (aggregate_members(R, signs, a, 1.0) * signs for a in ("min", "median", "mean"))
        mx = c.max(dim=0).values
        assert bool((mn <= med).all() and (med <= mx).all() and (mean <= mx).all() and (mn <= mean).all())
        for agg in ("mean_minus_std", "uwo"):
            assert torch.equal(aggregate_members(R, signs, agg, 0.0), R.mean(0))
            outs = [aggregate_members(R, signs, agg, lam) * signs for lam in (0.0, 0.5, 1.0, 3.0)]
            assert all(bool((b <= a).all()) for a, b in itertools.pairwise(outs)), f"{agg} rose with lambda"


def test_member_order_does_not_matter_and_identical_members_give_mean():
    g = torch.Generator().manual_seed(1)
    values = torch.randn(4, 6, generator=g, dtype=torch.float64)
    designs = list(range(6))
    for agg in AGGS:
        a = Ensemble(_table(values), agg, lam=2.0)(designs).values
        b = Ensemble(_table(values[[2, 0, 3, 1]]), agg, lam=2.0)(designs).values
        assert torch.allclose(a, b, atol=1e-12), agg
        same = Ensemble(_table(values[[1, 1, 1]]), agg, lam=7.0)(designs).values
        assert torch.allclose(same[:, 0], values[1], atol=1e-12), agg


def test_uwo_subtracts_the_variance_not_the_std():
    values = torch.tensor([[0.0], [4.0]], dtype=torch.float64)  # mean 2, population variance 4, std 2
    designs = [0]
    assert Ensemble(_table(values), "uwo", lam=0.5)(designs).values.item() == pytest.approx(2.0 - 0.5 * 4.0)
    assert Ensemble(_table(values), "mean_minus_std", lam=0.5)(designs).values.item() == pytest.approx(2.0 - 0.5 * 2.0)
    assert Ensemble(_table(values), "mean_minus_var", lam=0.5).aggregate == "uwo"


def test_zscore_makes_a_positive_affine_member_change_invisible():
    g = torch.Generator().manual_seed(2)
    values = torch.randn(3, 30, generator=g, dtype=torch.float64)
    changed = values.clone()
    changed[1] = 7.0 * changed[1] - 3.0
    ref, live = list(range(20)), list(range(20, 30))
    for agg in AGGS:
        a = Ensemble(_table(values), agg, member_norm="zscore", reference=ref)(live).values
        b = Ensemble(_table(changed), agg, member_norm="zscore", reference=ref)(live).values
        assert torch.allclose(a, b, atol=1e-9), agg
        raw_a = Ensemble(_table(values), agg)(live).values
        raw_b = Ensemble(_table(changed), agg)(live).values
        assert not torch.allclose(raw_a, raw_b, atol=1e-3), "without z-scoring the change must show"


def test_zscore_uses_the_frozen_reference_not_the_live_batch():
    values = torch.arange(12, dtype=torch.float64).reshape(2, 6) ** 1.5
    ens = Ensemble(_table(values), "mean", member_norm="zscore", reference=[0, 1, 2, 3])
    ref = values[:, :4]
    expect = ((values[:, 4] - ref.mean(1)) / ref.std(1, unbiased=False)).mean()
    assert ens([4]).values.item() == pytest.approx(float(expect))
    assert ens([4, 5]).values[0].item() == pytest.approx(ens([4]).values.item()), "a live batch must not move the statistics"
    assert ens.specs[0].bounds is None
    state = ens.state_dict()
    other = Ensemble(_table(values), "mean", member_norm="zscore", reference=[0, 5])
    other.load_state_dict(state)
    assert other([4]).values.item() == pytest.approx(ens([4]).values.item())


def test_zscore_errors_name_the_fix():
    values = torch.ones(2, 4, dtype=torch.float64)
    with pytest.raises(ConfigError, match="needs reference"):
        Ensemble(_table(values), member_norm="zscore")
    with pytest.raises(ConfigError, match="constant on the reference"):
        Ensemble(_table(values), member_norm="zscore", reference=[0, 1])
    with pytest.raises(ConfigError, match="aggregate="):
        Ensemble(_table(values), "max")  # type: ignore[arg-type]


class _MLP(torch.nn.Module):
    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
        self.register_buffer("shift", torch.randn(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) + self.shift


def _featurize(xs):
    return torch.stack(list(xs))


def test_vmap_equals_the_member_loop_exactly():
    members = StackedMembers([_MLP(s) for s in range(5)], _featurize, names=["a", "b"])
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(3))
    # float32 batched matmul may sum in another order: agreement to rounding, and in float64 to 1e-15
    assert torch.allclose(members.forward(x), members.loop(x), atol=1e-6, rtol=0)
    wide = StackedMembers([_MLP(s).double() for s in range(5)], _featurize, names=["a", "b"])
    assert torch.allclose(wide.forward(x.double()), wide.loop(x.double()), atol=1e-15, rtol=0)
    assert not torch.allclose(members.forward(x)[0], members.forward(x)[1], atol=1e-3), "members must differ"
    objectives = [
        FunctionObjective(lambda xs, m=m: m(_featurize(xs)).detach(), names=["a", "b"]) for m in members.modules
    ]
    designs = list(x)
    for agg in AGGS:
        stacked = Ensemble(members, agg, lam=0.7)(designs)
        looped = Ensemble(objectives, agg, lam=0.7)(designs)
        assert torch.allclose(stacked.values, looped.values, atol=1e-6, rtol=0), agg
        assert torch.allclose(stacked.std, looped.std, atol=1e-6, rtol=0), agg


def test_stacked_members_refuse_mixed_architectures_and_hash_weights():
    with pytest.raises(ConfigError, match="same-architecture"):
        StackedMembers([torch.nn.Linear(4, 2), torch.nn.Linear(4, 3)], _featurize, names=["a", "b"])
    a = Ensemble(StackedMembers([_MLP(0), _MLP(1)], _featurize, names=["a", "b"]))
    b = Ensemble(StackedMembers([_MLP(0), _MLP(2)], _featurize, names=["a", "b"]))
    assert a.fingerprint() != b.fingerprint()
    spec = ObjectiveSpec("a", "min")
    c = StackedMembers([_MLP(0)], _featurize, specs=[spec, ObjectiveSpec("b")])
    assert Ensemble(c).specs[0].direction == "min"


def test_mean_minus_std_beats_one_proxy_in_best_of_n_unless_errors_are_shared():
    """Coste et al.'s setting: r_k = r* + e_k with heavy-tailed e_k; best-of-n picks by the proxy."""
    g = torch.Generator().manual_seed(4)
    n, trials, m = 1024, 60, 5
    true = torch.randn(trials, n, generator=g, dtype=torch.float64)
    t_noise = torch.distributions.StudentT(torch.tensor(1.5, dtype=torch.float64))
    torch.manual_seed(5)
    indep = true + t_noise.sample((m, trials, n))
    shared = true + t_noise.sample((1, trials, n)).expand(m, trials, n)

    def picked(proxy: torch.Tensor) -> torch.Tensor:
        return true.gather(1, proxy.argmax(dim=1, keepdim=True)).squeeze(1)

    def agg(R: torch.Tensor) -> torch.Tensor:
        return aggregate_members(R.unsqueeze(-1), torch.ones(1, dtype=R.dtype), "mean_minus_std", 1.0).squeeze(-1)

    gain = picked(agg(indep)) - picked(indep[0])
    # one-sided bootstrap: the 5% quantile of the mean gain must be above 0
    boot = torch.stack([gain[torch.randint(trials, (trials,), generator=g)].mean() for _ in range(400)])
    assert float(torch.quantile(boot, 0.05)) > 0.0
    herd = picked(agg(shared)) - picked(shared[0])
    assert float(herd.abs().max()) == 0.0, "with identical member errors the ensemble must herd with the single proxy"
