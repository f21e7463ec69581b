"""Evolution: conformance, selection order, constraint handling, learned feasibility, solving."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gendesign.core.box_space import BoxSpace
from gendesign.core.errors import ConfigError
from gendesign.core.objective import FunctionObjective, Objective, ObjectiveSpec
from gendesign.core.pareto import hypervolume
from gendesign.core.plugins import PluginSystem
from gendesign.core.sequence_space import SequenceSpace
from gendesign.objectives.botorch_problems import DTLZ2
from gendesign.objectives.ehrlich import Ehrlich
from gendesign.search.evolution import Evolution, _Member
from gendesign.search.feasibility import PairFeasibilityModel
from gendesign.search.random import RandomSearch
from gendesign.testing.strategies import SearchStrategyConformance


def forbid_ab(xs: list[str]) -> list[float]:
    """Count of 'A' (maximised); any adjacent 'AB' makes the design infeasible."""
    return [float("nan") if "AB" in x else float(x.count("A")) for x in xs]


def run(
    strategy, objective: Objective, budget: int, batch: int = 16, target: float | None = None
) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """Ask/tell until ``budget`` designs were scored (or a valid value reaches ``target``)."""
    keys, values, valid = [], [], []
    while len(keys) < budget:
        if target is not None and values and bool((torch.cat(values)[torch.cat(valid)] >= target).any()):
            break
        designs = strategy.ask(min(batch, budget - len(keys)))
        if not designs:
            break
        scores = objective(designs)
        strategy.tell(designs, scores)
        keys += [strategy.space.key(d) for d in designs]
        values.append(scores.values)
        valid.append(scores.valid)
    return keys, torch.cat(values), torch.cat(valid)


class TestEvolutionOnSequences(SearchStrategyConformance):
    def make_space(self) -> SequenceSpace:
        return SequenceSpace("ABCD", length=8)

    def make_objective(self, space):
        return FunctionObjective(forbid_ab)

    def make_strategy(self, space, specs, seed):
        return Evolution(space, specs, seed=seed, options=Evolution.Options(population_size=6, restart_patience=10))


class TestEvolutionMultiObjectiveBox(SearchStrategyConformance):
    def make_space(self) -> BoxSpace:
        return BoxSpace([[0, 1]] * 3)

    def make_objective(self, space):
        return DTLZ2(dim=3)

    def make_strategy(self, space, specs, seed):
        return Evolution(space, specs, seed=seed, options=Evolution.Options(population_size=6))


class TestEvolutionWithConstraint(SearchStrategyConformance):
    def make_space(self) -> SequenceSpace:
        return SequenceSpace("ABC", min_length=2, max_length=8)

    def make_objective(self, space):
        specs = [ObjectiveSpec("a", "max"), ObjectiveSpec("len", "min", kind="constraint", threshold=5.0)]
        return FunctionObjective(lambda xs: [[x.count("A"), len(x)] for x in xs], specs=specs)

    def make_strategy(self, space, specs, seed):
        return Evolution(space, specs, seed=seed, options=Evolution.Options(population_size=5))


def member(values: list[float], valid: bool = True, birth: int = 0) -> _Member:
    return _Member(design="AA", key=str(birth), values=values, valid=valid, birth=birth)


def test_single_objective_order_is_elitist_with_younger_on_ties() -> None:
    space = SequenceSpace("AB", length=2)
    ga = Evolution(space, [ObjectiveSpec("f", "min")], options=Evolution.Options(learn_feasibility=False))
    members = [member([3.0], birth=0), member([1.0], birth=1), member([math.nan], False, birth=2), member([1.0], birth=3)]
    assert ga._order(members) == [3, 1, 0, 2]


def test_constrained_domination_order_and_nsga2_fronts() -> None:
    specs = [ObjectiveSpec("f0", "max"), ObjectiveSpec("f1", "min"), ObjectiveSpec("c", "max", kind="constraint", threshold=0.0)]
    ga = Evolution(BoxSpace([[0, 1]]), specs)
    members = [
        member([math.nan, math.nan, math.nan], valid=False, birth=0),
        member([5.0, 0.0, -2.0], birth=1),
        member([5.0, 0.0, -1.0], birth=2),
        member([1.0, 1.0, 0.5], birth=3),
        member([2.0, 2.0, 0.0], birth=4),
        member([0.5, 1.5, 1.0], birth=5),
        member([1.5, 1.5, 1.0], birth=6),
    ]
    order = ga._order(members)
    # front 0 = {3, 4, 6} (6 is between 3 and 4 but interior, so it ranks after the two extremes),
    # front 1 = {5}; then the violators by violation 1 < 2; the invalid design last.
    assert set(order[:3]) == {3, 4, 6} and order[2] == 6
    assert order[3:] == [5, 2, 1, 0]


def test_invalid_designs_are_culled_once_a_valid_design_exists() -> None:
    space = SequenceSpace("ABCD", length=10)
    objective = FunctionObjective(forbid_ab)
    ga = Evolution(space, objective.specs, seed=0, options=Evolution.Options(population_size=12))
    for _ in range(15):
        designs = ga.ask(12)
        ga.tell(designs, objective(designs))
        if any(m.valid for m in ga.population):
            assert all(m.valid for m in ga.population)
    assert len(ga.population) == 12


def test_feasibility_model_pins_the_forbidden_pair() -> None:
    model = PairFeasibilityModel(3)
    model.observe([0, 0, 2], True)
    model.observe([1, 2, 0, 0], True)
    model.observe([0, 1, 2], False)
    model.observe([2, 2, 2, 2], False)
    assert model.known_bad() == [(0, 1), (2, 2)]
    mean = model.mean_failure()
    assert mean[0 * 3 + 1] == pytest.approx((0.25 + 1.0) / (1.0 + 1.0))
    assert mean[0 * 3 + 0] == pytest.approx(0.25 / 3.0)
    assert mean[2 * 3 + 2] == pytest.approx(0.625)
    model.observe([2, 2], True)
    assert model.known_bad() == [(0, 1)]
    restored = PairFeasibilityModel(3)
    restored.load_state_dict(model.state_dict())
    assert np.array_equal(restored.failures, model.failures) and np.array_equal(restored.successes, model.successes)


def test_learning_feasibility_cuts_wasted_evaluations() -> None:
    space = SequenceSpace("ABCD", length=12)
    objective = FunctionObjective(forbid_ab)
    rates = {}
    for learn in (True, False):
        invalid = []
        for seed in range(3):
            ga = Evolution(
                space, objective.specs, seed=seed, options=Evolution.Options(population_size=16, learn_feasibility=learn)
            )
            _, _, valid = run(ga, objective, 400)
            invalid.append(1.0 - valid[100:].float().mean().item())
            if learn:
                assert (0, 1) in ga.feasibility.known_bad()
        rates[learn] = float(np.mean(invalid))
    assert rates[True] < 0.5 * rates[False], rates


def test_solves_counting_problem_with_forbidden_pair() -> None:
    space = SequenceSpace("ABCD", length=12)
    objective = FunctionObjective(forbid_ab)
    for seed in range(2):
        ga = Evolution(space, objective.specs, seed=seed, options=Evolution.Options(population_size=16))
        _, values, valid = run(ga, objective, 600)
        assert values[valid].max().item() == 12.0


def test_solves_small_ehrlich_from_its_initial_solution_where_random_fails() -> None:
    f = Ehrlich(num_states=16, length=24, num_motifs=2, motif_length=4, quantization=4, random_seed=0)
    space = f.default_space()
    baseline = RandomSearch(space, f.specs, seed=0, options=RandomSearch.Options(initial_designs=[f.initial_solution()]))
    _, values, valid = run(baseline, f, 4000, batch=32)
    assert values[valid].max().item() < 1.0
    for seed in range(2):
        ga = Evolution(
            space, f.specs, seed=seed, options=Evolution.Options(initial_designs=[f.initial_solution()], population_size=32)
        )
        keys, values, valid = run(ga, f, 4000, batch=32, target=1.0)
        assert keys[0] == f.initial_solution()
        assert values[valid].max().item() == 1.0
        assert len(set(keys)) == len(keys)


def test_restart_resets_population_to_founders() -> None:
    """Without a feasibility model a restart returns to the founders (with one it draws walks: test_plateau.py)."""
    space = SequenceSpace("AB", length=8)
    objective = FunctionObjective(lambda xs: [1.0] * len(xs))
    options = Evolution.Options(population_size=4, restart_patience=8, learn_feasibility=False, site_novelty=False)
    ga = Evolution(space, objective.specs, seed=0, options=options)
    run(ga, objective, 4, batch=4)
    for _ in range(10):
        designs = ga.ask(4)
        founders = {m.key for m in ga.founders}
        before = ga.restarts
        ga.tell(designs, objective(designs))
        if ga.restarts > before:
            assert {m.key for m in ga.population} == founders
            break
    else:
        pytest.fail("no restart after 40 designs without improvement (patience 8)")


def test_nsga2_beats_random_hypervolume_on_dtlz2() -> None:
    problem = DTLZ2(dim=4)
    ref = -problem.ref_point
    hv = {}
    for name in ("evolution", "random"):
        results = []
        for seed in range(2):
            if name == "evolution":
                s = Evolution(problem.default_space(), problem.specs, seed=seed, options=Evolution.Options(population_size=20))
            else:
                s = RandomSearch(problem.default_space(), problem.specs, seed=seed)
            _, values, valid = run(s, problem, 300, batch=20)
            results.append(hypervolume(-values[valid].double(), ref))
        hv[name] = float(np.mean(results))
    assert hv["evolution"] > hv["random"]
    assert hv["evolution"] <= problem.max_hv


def test_registered_with_aliases_and_validated_options() -> None:
    system = PluginSystem(entry_points=False)
    space = SequenceSpace("AB", length=4)
    specs = FunctionObjective(lambda xs: [0.0] * len(xs)).specs
    ga = system.strategies.build("nsga2", {"population_size": 8}, space=space, specs=specs, seed=0, device="cpu")
    assert isinstance(ga, Evolution) and ga.options.population_size == 8
    with pytest.raises(ConfigError, match="population_size"):
        system.strategies.build("evolution", {"population_size": 1}, space=space, specs=specs, seed=0, device="cpu")
    with pytest.raises(ConfigError, match="crossover"):
        system.strategies.build("evolution", {"crossover": 0.5}, space=space, specs=specs, seed=0, device="cpu")


def test_tell_ignores_designs_outside_the_space() -> None:
    space = SequenceSpace("AB", length=4)
    objective = FunctionObjective(lambda xs: [float(len(x)) for x in xs])
    for strategy in (Evolution(space, objective.specs, seed=0), RandomSearch(space, objective.specs, seed=0)):
        scores = objective(["ABAB", "ABC"])
        strategy.tell(["ABAB", "ABC"], scores)
        assert "ABAB" not in [space.key(d) for d in strategy.ask(20)]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_solves_ehrlich_l32_within_10k_evaluations(seed: int) -> None:
    """Issue target 13a: Ehrlich v=32, L=32, c=2, k=4, q=4 reaches f = 1 within 10,000 evaluations."""
    f = Ehrlich(num_states=32, length=32, num_motifs=2, motif_length=4, quantization=4, random_seed=seed)
    ga = Evolution(f.default_space(), f.specs, seed=seed, options=Evolution.Options(initial_designs=[f.initial_solution()]))
    keys, values, valid = run(ga, f, 10_000, batch=50, target=1.0)
    assert values[valid].max().item() == 1.0
    assert len(keys) <= 10_000 and len(set(keys)) == len(keys)


def test_founders_are_the_first_feasible_designs_after_an_infeasible_start() -> None:
    space = SequenceSpace("ABCD", length=6)
    objective = FunctionObjective(lambda xs: [float(x.count("A")) if x.count("A") >= 2 else float("nan") for x in xs])
    options = Evolution.Options(population_size=4, initial_designs=["DDDDDD"], learn_feasibility=False)
    ga = Evolution(space, objective.specs, seed=0, options=options)
    first_valid: list[str] = []
    for _ in range(40):
        designs = ga.ask(4)
        scores = objective(designs)
        first_valid += [space.key(d) for d, ok in zip(designs, scores.valid.tolist()) if ok]
        ga.tell(designs, scores)
    assert ga.breeding_started and first_valid
    assert [m.key for m in ga.founders] == first_valid[:4]
    state = SearchStrategyConformance._round_trip(ga.state_dict())
    twin = Evolution(space, objective.specs, seed=9, options=options)
    twin.load_state_dict(state)
    assert [m.key for m in twin.founders] == first_valid[:4] and twin.collect_founders == ga.collect_founders
