"""SiteNovelty counts, proposals and exhaustion; pair-model walks; the evolution restarts and cold start built on them."""

from __future__ import annotations

import numpy as np
import torch

from gendesign.core.objective import FunctionObjective
from gendesign.core.sequence_space import SequenceSpace
from gendesign.objectives.ehrlich import Ehrlich
from gendesign.search.evolution import Evolution
from gendesign.search.feasibility import PairFeasibilityModel
from gendesign.search.plateau import SiteNovelty


def test_record_splits_one_count_over_the_changed_sites_and_reset_clears() -> None:
    novelty = SiteNovelty(length=4, vocab_size=3)
    novelty.record([0, 0, 0, 0], [0, 2, 0, 0])
    novelty.record([0, 0, 0, 0], [1, 0, 0, 1])
    expected = np.zeros((4, 3))
    expected[1, 2] = 1.0
    expected[0, 1] = expected[3, 1] = 0.5
    assert np.array_equal(novelty.counts, expected)
    novelty.reset()
    assert not novelty.counts.any()


def test_proposals_prefer_untried_substitutions_and_never_keep_the_token() -> None:
    novelty = SiteNovelty(length=2, vocab_size=3, decay=0.05)
    novelty.record([0, 0], [1, 0])
    rng = np.random.default_rng(0)
    draws = [novelty.propose([0, 0], rng) for _ in range(3000)]
    assert all(token != 0 for _, token in draws)
    share = sum(d == (0, 1) for d in draws) / len(draws)
    assert abs(share - 0.0025 / 3.0025) < 0.004  # weight decay**2 against three untried moves of weight 1


def test_exhausted_once_the_coverage_of_tried_substitutions_is_reached() -> None:
    novelty = SiteNovelty(length=2, vocab_size=3)
    parent = [0, 2]
    moves = [(0, 1), (0, 2), (1, 0), (1, 1)]
    for pos, token in moves[:-1]:
        child = list(parent)
        child[pos] = token
        novelty.record(parent, child)
        assert not novelty.exhausted(parent)
    assert novelty.exhausted(parent, coverage=0.75)
    novelty.record(parent, [1, 1])  # a two-site child tries (0, 1) again and (1, 1) for the first time
    assert novelty.exhausted(parent)
    assert not novelty.exhausted([1, 1])  # from another design, (0, 0) and (1, 2) were never tried


def test_sharp_walks_stay_on_proven_pairs() -> None:
    model = PairFeasibilityModel(vocab_size=4)
    model.observe([0, 1, 2, 0, 1, 2], valid=True)  # proves 0->1, 1->2, 2->0
    walks = model.sample_walks(200, 10, np.random.default_rng(1), repeat=0.0, sharpness=60.0)
    proven = {(0, 1), (1, 2), (2, 0)}
    starts_on_cycle = walks[:, 0] != 3
    pairs = {(int(a), int(b)) for row in walks[starts_on_cycle] for a, b in zip(row[:-1], row[1:])}
    assert pairs == proven


def test_repeating_walks_have_few_distinct_pairs() -> None:
    model = PairFeasibilityModel(vocab_size=32)
    walks = model.sample_walks(500, 32, np.random.default_rng(2), repeat=0.85)
    changes = (walks[:, 1:] != walks[:, :-1]).sum(axis=1)
    # repeat probability 0.85 * (1 - prior mean 0.25) per step: about 31 * 0.36 = 11 changes.
    assert 9.0 < changes.mean() < 13.5


def test_plateau_exhaustion_restarts_without_patience_and_keeps_the_feasibility_model() -> None:
    space = SequenceSpace("ABC", length=4)
    objective = FunctionObjective(lambda xs: [1.0] * len(xs))
    ga = Evolution(space, objective.specs, seed=0, options=Evolution.Options(population_size=4, restart_patience=None))
    for _ in range(12):
        designs = ga.ask(4)
        model = ga.feasibility
        successes = model.successes.copy() if model is not None else None
        ga.tell(designs, objective(designs))
        if ga.restarts:
            break
    assert ga.restarts == 1
    assert ga.feasibility is model and successes is not None
    assert np.all(model.successes >= successes) and model.successes.sum() > 0
    assert ga.population == [] and ga.walks_pending == 4 and not ga.novelty.counts.any()
    fresh = ga.ask(4)
    assert len(fresh) == 4 and ga.walks_pending == 0


def test_cold_start_finds_feasible_ehrlich_designs_quickly() -> None:
    """Uniform sampling is feasible with probability about 5e-4 at (v=32, L=32); walks find feasibility at once."""
    torch.manual_seed(0)
    f = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, quantization=4, random_seed=0)
    ga = Evolution(f.default_space(), f.specs, seed=0)
    valid = 0
    for _ in range(4):
        designs = ga.ask(50)
        scores = f(designs)
        ga.tell(designs, scores)
        valid += int(scores.valid.sum())
    assert valid >= 10
