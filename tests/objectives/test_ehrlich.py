"""Ehrlich functions against the paper's definition, brute force and an independent reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from gendesign.core.errors import ConfigError
from gendesign.objectives.ehrlich import ALPHABET, Ehrlich, band_mask, is_primitive, quantize
from gendesign.testing.objectives import ObjectiveConformance


def reference_value(f: Ehrlich, seq: str) -> float:
    """Direct-loop Ehrlich value from the paper's definition, sharing only the instance's parameters."""
    x = [ALPHABET.index(ch) for ch in seq]
    for a, b in zip(x, x[1:]):
        if f.transition[a, b].item() == 0.0:
            return math.nan
    k, q = f.motif_length, f.quantization
    step = math.ceil(k / q)
    value = 1.0
    for motif, offsets in zip(f.motifs.tolist(), f.offsets.tolist()):
        best = 0
        for start in range(len(x) - offsets[-1]):
            best = max(best, sum(1 for a, o in zip(motif, offsets) if x[start + o] == a))
        h = (best // step) / (k / step)
        value *= (1 + f.epistasis * h * (h - 1)) * h
    return value


class TestEhrlichConformance(ObjectiveConformance):
    expect_invalid = True

    def make_objective(self) -> Ehrlich:
        return Ehrlich(num_states=8, length=12, num_motifs=2, motif_length=3, random_seed=3)

    def make_designs(self) -> list[str]:
        f = self.make_objective()
        return [f.optimal_solution(), f.initial_solution(), *f.space.sample(6, np.random.default_rng(0))]


@pytest.mark.parametrize(
    ("v", "length", "c", "k", "q", "seed"),
    [
        (32, 32, 2, 4, 4, 0),
        (32, 32, 2, 4, 4, 1),
        (32, 128, 4, 4, 4, 0),
        (32, 256, 4, 8, 8, 2),
        (4, 6, 2, 2, 2, 5),
        (20, 8, 2, 2, 2, 7),
    ],
)
def test_optimal_solution_is_feasible_and_scores_one(v: int, length: int, c: int, k: int, q: int, seed: int) -> None:
    f = Ehrlich(num_states=v, length=length, num_motifs=c, motif_length=k, quantization=q, random_seed=seed)
    opt = f.optimal_solution()
    assert len(opt) == length
    scores = f([opt])
    assert bool(scores.valid[0]) and scores.values.item() == 1.0
    assert torch.isfinite(f.log_likelihood(f.encode([opt])))[0]


@pytest.mark.parametrize("length", [4, 6])
def test_brute_force_matches_independent_reference(length: int) -> None:
    f = Ehrlich(num_states=4, length=length, num_motifs=2, motif_length=2, quantization=2, random_seed=1)
    designs = ["".join(p) for p in itertools.product(ALPHABET[:4], repeat=length)]
    scores = f(designs)
    expected = torch.tensor([reference_value(f, d) for d in designs], dtype=torch.float32)
    assert torch.equal(torch.isnan(expected), ~scores.valid)
    assert torch.equal(scores.values[:, 0][scores.valid], expected[scores.valid])
    assert scores.values[scores.valid].max().item() == 1.0
    optima = {d for d, v, ok in zip(designs, scores.values[:, 0].tolist(), scores.valid.tolist()) if ok and v == 1.0}
    assert f.optimal_solution() in optima


def test_epistasis_matches_reference_and_response_closed_form() -> None:
    f = Ehrlich(num_states=6, length=8, num_motifs=2, motif_length=4, quantization=4, epistasis=0.8, random_seed=4)
    designs = f.random_feasible(64, np.random.default_rng(0))
    expected = torch.tensor([reference_value(f, d) for d in designs], dtype=torch.float32)
    assert torch.allclose(f(designs).values[:, 0], expected, atol=1e-6)
    h = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    assert torch.allclose(
        f.response(h), torch.tensor([0.0, 0.25 * (1 - 0.8 * 0.1875), 0.5 * (1 - 0.8 * 0.25), 1.0], dtype=torch.float64)
    )


def test_quantisation_levels() -> None:
    counts = torch.arange(5)
    assert quantize(counts, 4, 4).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert quantize(counts, 4, 2).tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert quantize(counts, 4, 1).tolist() == [0.0, 0.0, 0.0, 0.0, 1.0]
    f = Ehrlich(num_states=8, length=16, num_motifs=2, motif_length=4, quantization=2, random_seed=0)
    levels = set(f.motif_qualities(f.encode(f.random_feasible(300, np.random.default_rng(1)))).flatten().tolist())
    assert levels <= {0.0, 0.5, 1.0} and 0.5 in levels


def test_infeasible_design_is_invalid_with_reason() -> None:
    f = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, quantization=4, random_seed=0)
    opt = [ALPHABET.index(ch) for ch in f.optimal_solution()]
    a = opt[9]
    b = int(torch.nonzero(~f.allowed[a]).flatten()[0])
    broken = opt.copy()
    broken[10] = b
    scores = f([f.optimal_solution(), broken])
    assert scores.valid.tolist() == [True, False]
    assert math.isnan(scores.values[1, 0].item())
    assert f"{ALPHABET[a]!r} -> {ALPHABET[b]!r} at positions 9->10" in scores.errors[1]
    assert f.log_likelihood(f.encode([broken])).item() == -math.inf


def test_transition_matrix_structure() -> None:
    f = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, random_seed=0)
    w = f.bandwidth
    assert w == int(0.4 * 32) == 12
    assert torch.allclose(f.transition.sum(-1), torch.ones(32, dtype=torch.float64))
    assert torch.equal(f.transition > 0, f.allowed)
    assert bool(f.allowed.diagonal().all())
    per_row = f.allowed.sum(-1)
    assert bool(((per_row == 2 * w + 1) | (per_row == 2 * w + 2)).all())
    assert is_primitive(f.allowed)
    assert torch.allclose(f.stationary @ f.transition, f.stationary, atol=1e-10)
    assert sorted(band_mask(5, 1).sum(-1).tolist()) == [3] * 5
    assert not is_primitive(torch.eye(3, dtype=torch.bool))
    assert not is_primitive(torch.tensor([[0, 1], [1, 0]], dtype=torch.bool))


def test_uniform_feasibility_rate_matches_band_width() -> None:
    v, w = 32, 12
    f = Ehrlich(num_states=v, length=2, num_motifs=1, motif_length=2, random_seed=2)
    designs = f.space.sample(8000, np.random.default_rng(0))
    rate = f(designs).valid.float().mean().item()
    assert (2 * w + 1) / v - 0.02 < rate < (2 * w + 2) / v + 0.02


def test_motifs_are_a_feasible_chain_and_spacings_fit() -> None:
    for seed in range(5):
        f = Ehrlich(num_states=32, length=128, num_motifs=4, motif_length=4, random_seed=seed)
        chain = f.motifs.flatten().tolist()
        assert all(bool(f.allowed[a, b]) for a, b in zip(chain, chain[1:]))
        assert f.offsets[:, 0].eq(0).all()
        assert bool((f.offsets.diff(dim=-1) >= 1).all())
        assert int(f.offsets[:, -1].max()) + 1 <= 128 // 4


def test_seeding_reproducibility() -> None:
    a, b, c = (Ehrlich(num_states=16, length=24, num_motifs=2, motif_length=3, random_seed=s) for s in (5, 5, 6))
    assert torch.equal(a.transition, b.transition) and torch.equal(a.motifs, b.motifs) and torch.equal(a.offsets, b.offsets)
    assert a.initial_solution() == b.initial_solution() and a.fingerprint() == b.fingerprint()
    assert not torch.equal(a.transition, c.transition) and a.fingerprint() != c.fingerprint()
    assert bool(a([a.initial_solution()]).valid[0])


def test_multi_objective_variant_columns_multiply_to_product() -> None:
    kwargs = {"num_states": 32, "length": 32, "num_motifs": 2, "motif_length": 4, "quantization": 4, "random_seed": 0}
    single, multi = Ehrlich(**kwargs), Ehrlich(**kwargs, objectives="motifs")
    designs = single.random_feasible(50, np.random.default_rng(3)) + [single.optimal_solution()]
    s, m = single(designs), multi(designs)
    assert [spec.name for spec in multi.specs] == ["motif_0", "motif_1"]
    assert all(spec.direction == "max" and spec.bounds == (0.0, 1.0) for spec in multi.specs)
    assert torch.allclose(m.values.prod(-1), s.values[:, 0])
    assert m.values[-1].tolist() == [1.0, 1.0]


def test_integer_token_designs_and_default_space() -> None:
    f = Ehrlich(num_states=8, length=10, num_motifs=2, motif_length=2, random_seed=0)
    opt = f.optimal_solution()
    assert f([[ALPHABET.index(ch) for ch in opt]]).values.item() == 1.0
    space = f.default_space()
    assert space.tokens == list(ALPHABET[:8]) and space.min_length == space.max_length == 10
    bad = f(["ABC", opt])
    assert bad.valid.tolist() == [False, True] and "length 3" in bad.errors[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_states": 1}, "num_states"),
        ({"num_states": 63}, "num_states"),
        ({"length": 7, "num_motifs": 2, "motif_length": 4}, "shorter"),
        ({"quantization": 5, "motif_length": 4}, "quantization"),
        ({"epistasis": 1.5}, "epistasis"),
        ({"objectives": "sum"}, "objectives"),
    ],
)
def test_bad_configuration(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Ehrlich(**kwargs)


# Expected values below were produced by pytorch-holo 0.0.5 (holo.test_functions.closed_form.Ehrlich,
# torch 2.13) with the same arguments; benchmarks/ehrlich_semantics.py repeats the comparison on 58 instances.
HOLO_SEED0 = {
    "motifs": ["KRNe", "OVcN"],
    "spacings": [[1, 3, 9], [1, 3, 10]],
    "initial": "LBNQaTMJBbAYCUNTMJMJAbAdFKRJLGFA",
    "optimal": "KRRRNNNNNNNNNeOVVVccccccccccNNNN",
    "allowed_row0": [0, *range(8, 32)],
    "values": {
        "LBNQaTMJBbAYCUNTMJMJAbAdFKRJLGFA": 0.0625,
        "KRRRNNNNNNNNNeOVVVccccccccccNNNN": 1.0,
        "NLBbAXddCFMJEGKRdCFEUPNTHBbANLTH": 0.125,
        "RRRRNNNNNNNNNeOVVVccccccccccNNNN": 0.75,
        "DOPdGWQJIEHebQeQHMPRVHQbMNLBPeUW": None,
        "dSeZJKJJeBSHQOFaAQEOEJTbfCEGJTTS": None,
    },
}
HOLO_SEED3_Q2_E05 = {
    "motifs": ["BebD", "NBWZ"],
    "spacings": [[6, 2, 5], [2, 7, 5]],
    "initial": "fAVQXfZWWWFUfJaOcfJaTdcFUPFUfELE",
    "values": {
        "BBBBBBeebbbbbDNNBBBBBBBWWWWWZZZZ": 1.0,
        "BBBBBBeebbbbbbNNBBBBBBBWWWWWZZZZ": None,
        "BBBBBBeeeeeeeeNNBBBBBBBWWWWWZZZZ": 0.4375,
        "BBBBBBeeeeeeeeNNBBBBBBBBBBBBZZZZ": 0.19140625,
        "BBBBBBBBBBBBBBNNBBBBBBBWWWWWZZZZ": 0.0,
        "BBBBBBeebbbbbDNNNNNNNNNWWWWWZZZZ": 0.4375,
        "fAVQXfZWWWFUfJaOcfJaTdcFUPFUfELE": 0.0,
    },
}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"quantization": 4, "random_seed": 0}, HOLO_SEED0),
        ({"quantization": 2, "epistasis": 0.5, "random_seed": 3}, HOLO_SEED3_Q2_E05),
    ],
)
def test_same_seed_gives_holo_instance_and_values(kwargs: dict, expected: dict) -> None:
    """Instance draws and values equal pytorch-holo's (quantisation q=2 < k and epistasis 0.5 in the second case)."""
    f = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, **kwargs)
    assert ["".join(ALPHABET[t] for t in m) for m in f.motifs.tolist()] == expected["motifs"]
    assert (f.offsets[:, 1:] - f.offsets[:, :-1]).tolist() == expected["spacings"]
    assert f.initial_solution() == expected["initial"]
    if "optimal" in expected:
        assert f.optimal_solution() == expected["optimal"]
        assert torch.nonzero(f.allowed[0]).flatten().tolist() == expected["allowed_row0"]
    designs = list(expected["values"])
    scores = f(designs)
    for i, want in enumerate(expected["values"].values()):
        if want is None:
            assert not bool(scores.valid[i]), designs[i]
        else:
            assert bool(scores.valid[i]) and scores.values[i, 0].item() == want, designs[i]
