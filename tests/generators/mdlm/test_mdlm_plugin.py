"""MDLM inside campaigns: the infill space, best-of-N strategy, naturalness objective, sample command."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gendesign.core.objective import ObjectiveSpec
from gendesign.core.plugins import get_plugins
from gendesign.core.sequence_space import SequenceSpace
from gendesign.generators.mdlm.likelihood import nelbo_per_design
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.tokenizers import ResidueTokenizer
from gendesign.objectives.naturalness import Naturalness
from gendesign.search.best_of_n import BestOfN, BestOfNOptions
from gendesign.search.infill_space import InfillSpace

ALPHABET = "ACDEFG"
BASE = {"name": "sequence", "options": {"alphabet": ALPHABET, "min_length": 4, "max_length": 8}}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    tok = ResidueTokenizer(list(ALPHABET))
    model = MaskedDiffusionLM(len(ALPHABET), 8, d_model=16, n_layers=1, n_heads=2, dropout=0.0, tokenizer=tok.to_config())
    model.set_length_distribution([4, 5, 6, 7, 8])
    out = tmp_path_factory.mktemp("mdlm") / "model"
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def model(model_dir):
    return MaskedDiffusionLM.from_pretrained(model_dir)


def _space(model, **options):
    return InfillSpace(SequenceSpace(ALPHABET, min_length=4, max_length=8), model=model, **options)


def test_registered_parts_and_the_old_names(model_dir):
    from gendesign.api import _build

    plugins = get_plugins()
    assert plugins.generators.get("mdlm").factory is MaskedDiffusionLM
    space = _build(plugins, "spaces", "[space]", "mdlm", {"base": BASE, "generator": {"name": "mdlm", "path": str(model_dir)}, "num_masked": 2})
    assert isinstance(space, InfillSpace) and isinstance(space.base, SequenceSpace) and isinstance(space.model, MaskedDiffusionLM)
    assert not space.model.training
    assert space.config()["generator"]["path"] == str(model_dir.resolve())
    assert plugins.strategies.get("mdlm_sample").factory is BestOfN
    assert plugins.objectives.get("mdlm_naturalness").factory is Naturalness


def test_space_samples_valid_designs_reproducibly(model):
    space = _space(model)
    a = space.sample(20, np.random.default_rng(0))
    b = space.sample(20, np.random.default_rng(0))
    assert a == b and len(a) == 20
    assert all(space.base.is_valid(d) for d in a)
    assert space.fallbacks["sample"] == 0
    assert space.key(a[0]) == space.base.key(a[0])


def test_learned_mutation_changes_only_k_positions(model):
    space = _space(model, num_masked=2, sampling={"temperature": 3.0})
    rng = np.random.default_rng(1)
    parents = space.base.sample(30, rng)
    children = space.mutate_many(parents, rng)
    assert space.fallbacks["mutate"] == 0
    for p, c in zip(parents, children):
        assert len(c) == len(p) and c != p
        assert 1 <= sum(x != y for x, y in zip(p, c)) <= 2
    one = space.mutate(parents[0], rng)
    assert sum(x != y for x, y in zip(parents[0], one)) in (1, 2)


def test_naturalness_is_deterministic_and_matches_the_bound(model_dir, model):
    obj = Naturalness(model=model, likelihood_options={"num_samples": 8}, seed=3)
    designs = ["ACDE", "GGFFAA", "ACDEFGAC"]
    a = obj(designs)
    b = obj(list(reversed(designs)) + ["CCCC"])
    assert torch.allclose(a.values[:, 0], b.values[:3, 0].flip(0))
    x = model.encode(designs)
    expected = -nelbo_per_design(model, x, num_samples=8, seed=3) / (x != model.pad_id).sum(-1)
    assert torch.allclose(a.values[:, 0], expected.float(), atol=1e-5)
    bad = obj(["ACXX", "ACDEFGACDE"])
    assert not bool(bad.valid.any()) and bad.errors[0] is not None
    assert obj.specs[0].direction == "max"


def test_best_of_n_strategy_never_repeats_and_ranks_by_nelbo(model_dir, model):
    space = SequenceSpace(ALPHABET, min_length=4, max_length=8)
    opts = BestOfNOptions(model_dir=str(model_dir), oversample=3, nelbo_samples=4)
    assert opts.generator.path == str(model_dir) and opts.likelihood_options == {"num_samples": 4}
    strategy = BestOfN(space, [ObjectiveSpec("f")], seed=0, options=opts, model=model)
    first = strategy.ask(10)
    second = strategy.ask(10)
    keys = [space.key(d) for d in first + second]
    assert len(first) == 10 and len(set(keys)) == len(keys)
    from gendesign.generators.mdlm.likelihood import naturalness

    scores = naturalness(model, first, num_samples=4, seed=0)
    assert bool((scores[:-1] >= scores[1:] - 1e-6).all())
    state = strategy.state_dict()
    clone = BestOfN(space, [ObjectiveSpec("f")], seed=0, options=opts, model=model)
    clone.ask(7)
    clone.load_state_dict(state)
    assert clone.ask(5) == strategy.ask(5)


def test_sample_command_writes_designs(model_dir, tmp_path):
    from gendesign.cli import cli

    out = tmp_path / "designs.txt"
    result = CliRunner().invoke(cli, ["sample", str(model_dir), "-n", "12", "--steps", "4", "--out", str(out), "--seed", "1"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 12 and all(set(line) <= set(ALPHABET) and 4 <= len(line) <= 8 for line in lines)
    again = CliRunner().invoke(cli, ["sample", str(model_dir), "-n", "12", "--steps", "4", "--seed", "1"])
    assert again.output.splitlines()[-12:] == lines


def test_evolution_and_best_of_n_run_through_the_campaign_loop(model_dir, model):
    from gendesign.api import optimize

    def count_a(designs):
        return [d.count("A") for d in designs]

    space = _space(model, num_masked=1, sampling={"temperature": 2.0})
    result = optimize(count_a, space=space, strategy="evolution", budget=60, batch_size=20, seed=0, progress=False, plots=False)
    scored = [r for r in result.history if r.evaluation is not None]
    assert len({r.key for r in scored}) == len(scored) == 60
    assert all(space.base.is_valid(r.design) for r in scored)
    assert space.fallbacks["sample"] == 0
    assert all(r.values["f"] == r.design.count("A") for r in scored), "a recorded value belongs to another design"
    top = max(scored, key=lambda r: r.values["f"])
    assert result.best["f"].values["f"] == top.values["f"] == result.best["f"].design.count("A")
    sampled = optimize(
        count_a, space=SequenceSpace(ALPHABET, min_length=4, max_length=8), strategy="mdlm_sample",
        model_dir=str(model_dir), budget=30, batch_size=10, seed=0, progress=False, plots=False,
    )
    keys = [r.key for r in sampled.history if r.evaluation is not None]
    assert len(keys) == 30 == len(set(keys))
