"""The third-party plugin template in examples/plugin-template: discovered through its entry point and usable in a campaign.

CI installs the template (the README's test command does `pip install ... ./examples/plugin-template`);
without it installed these tests are skipped with the command that installs it.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

from gendesign.core.objective import FunctionObjective
from gendesign.testing.generators import (
    InfillerConformance,
    LikelihoodScorerConformance,
    SequenceSamplerConformance,
    StepwiseDenoiserConformance,
)
from gendesign.testing.objectives import ObjectiveConformance
from gendesign.testing.spaces import DesignSpaceConformance
from gendesign.testing.strategies import SearchStrategyConformance

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "examples" / "plugin-template"

try:
    importlib.metadata.distribution("gendesign-plugin-template")
    import gendesign_plugin_template as template
except (importlib.metadata.PackageNotFoundError, ImportError):  # pragma: no cover - depends on the environment
    pytest.skip(f"the plugin template is not installed; pip install {TEMPLATE}", allow_module_level=True)


def test_discovered_through_its_entry_point(installed_plugins, monkeypatch, capsys):
    from gendesign.cli import main

    (ep,) = [e for e in importlib.metadata.entry_points(group="gendesign") if e.name == "template"]
    assert ep.value == "gendesign_plugin_template.plugin"
    monkeypatch.setattr(sys, "argv", ["gendesign", "plugins", "--json"])
    main()
    data = json.loads(capsys.readouterr().out)
    assert "template" not in {f["name"] for f in data["failed"]}
    plugins = {p["name"]: p for p in data["plugins"]}
    info = plugins["template"]
    assert info["version"] == "0.1.0" and not info["builtin"]
    assert info["registers"] == {
        "spaces": ["lattice"], "generators": ["bigram"], "objectives": ["lattice_distance", "token_count"], "strategies": ["hill_climb"],
    }


def test_campaign_with_the_template_parts_finds_the_target(tmp_path, installed_plugins):
    from gendesign.api import run_config
    from gendesign.core.config import load_config

    config = load_config(TEMPLATE / "campaign.toml")
    config.campaign.progress = False
    result = run_config(config, run_dir=tmp_path / "run")
    assert result.best["closeness"].design == (3, -4, 7) and result.best["closeness"].values["closeness"] == 0.0
    assert result.summary["evaluations"] == 200 and result.summary["strategy"] == "hill_climb"
    header = (tmp_path / "run" / "pareto.csv").read_text().splitlines()[0]
    assert header.startswith("design,l1_norm,closeness"), "the space's describe() columns reach pareto.csv"


class TestLatticeSpace(DesignSpaceConformance):
    def make_space(self):
        return template.LatticeSpace(dim=3, low=-2, high=2)

    def make_invalid_designs(self):
        return [(0, 0), (0, 0, 3), (0.5, 0, 0), "abc"]


class TestLatticeDistance(ObjectiveConformance):
    def make_objective(self):
        return template.LatticeDistance([1, 2])

    def make_designs(self):
        return [(0, 0), (1, 2), (-3, 4)]

    def test_closed_form(self):
        assert self.make_objective()(self.make_designs()).values.squeeze(-1).tolist() == [-3.0, 0.0, -6.0]


class TestHillClimb(SearchStrategyConformance):
    def make_space(self):
        return template.LatticeSpace(dim=2, low=-5, high=5)

    def make_objective(self, space):
        return FunctionObjective(lambda xs: [-(abs(x[0] - 2) + abs(x[1] + 1)) for x in xs], names="closeness")

    def make_strategy(self, space, specs, seed):
        return template.HillClimb(space, specs, seed=seed)


# ---------------------------------------------------------------- the bigram generator
def _corpus(n=500, seed=0):
    """Strings over ABCD of 6-8 letters in which B never follows A."""
    import random

    rng = random.Random(seed)
    out = []
    while len(out) < n:
        s = "".join(rng.choice("ABCD") for _ in range(rng.randint(6, 8)))
        if "AB" not in s:
            out.append(s)
    return out


def _bigram():
    return template.BigramDenoiser.fit(_corpus(), "ABCD", 8, smoothing=0.01)


@pytest.fixture
def template_only(monkeypatch):
    """A plugin system with the built-ins and the template only (no other installed plugins)."""
    from gendesign.core.plugins import PluginSystem

    monkeypatch.setenv("GENDESIGN_LOAD_PLUGINS", "template")
    return PluginSystem()


class TestBigramProtocols(StepwiseDenoiserConformance, SequenceSamplerConformance, InfillerConformance, LikelihoodScorerConformance):
    reveal_probability = staticmethod(lambda t, s: (t - s) / t)

    def make_generator(self):
        return _bigram()

    def make_designs(self):
        return ["ACDCAD", "BBCDAD", "DDDDCCBA"]

    def make_unreadable_designs(self):
        return ["ABXD", "ACDCACDCA"]


def test_bigram_likelihood_is_a_distribution_over_all_designs():
    import itertools

    import torch

    model = template.BigramDenoiser.fit(["ab", "abb", "ba", "a"], "ab", 3, smoothing=0.5)
    designs = ["".join(p) for n in (1, 2, 3) for p in itertools.product("ab", repeat=n)]
    assert float(model.log_likelihood(designs).exp().sum()) == pytest.approx(1.0)
    assert model.log_likelihood(["aaa"]).item() == pytest.approx(model.log_likelihood(["aaa"], per_token=True).item() * 3)
    assert torch.isnan(model.log_likelihood(["abc"])).all()


def test_bigram_saves_and_loads_through_the_generator_registry(tmp_path, template_only):
    from gendesign.core.generator import build_generator
    from gendesign.core.protocols import AnchoredDenoiser

    model = _bigram()
    model.save_pretrained(tmp_path / "bigram")
    loaded = build_generator(template_only.generators, {"name": "bigram", "path": str(tmp_path / "bigram")}, protocol=AnchoredDenoiser)
    assert isinstance(loaded, template.BigramDenoiser) and not loaded.training
    assert loaded.tokens == model.tokens and bool((loaded.transitions() == model.transitions()).all())


def test_infill_mutation_with_the_bigram_keeps_its_learned_constraint(template_only):
    import numpy as np

    from gendesign.core.sequence_space import SequenceSpace
    from gendesign.search.infill_space import InfillSpace

    space = InfillSpace(SequenceSpace("ABCD", min_length=6, max_length=8), model=_bigram(), num_masked=3)
    rng = np.random.default_rng(0)
    parents = [p for p in _corpus(200, seed=1)][:60]
    children = space.mutate_many(parents, rng)
    assert space.fallbacks["mutate"] == 0
    assert not any("AB" in c for c in children)
    assert all(len(c) == len(p) and 1 <= sum(a != b for a, b in zip(p, c)) <= 3 for p, c in zip(parents, children))


def _doc_blocks(lang):
    import re

    text = (ROOT / "docs" / "generators.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_mcts_drives_the_bigram_generator_from_the_documented_config(tmp_path, template_only, monkeypatch):
    """docs/generators.md's runnable example: MCTS over the bigram's reverse steps.

    It climbs the A/B count without ever writing the pair AB the corpus never shows. Uniform random
    strings of these lengths contain AB about a third of the time and the objective rewards both
    letters, so only the model keeps the pair out.
    """
    from gendesign.api import run_config
    from gendesign.core.config import load_config

    monkeypatch.chdir(tmp_path)
    (fit,) = [b for b in _doc_blocks("python") if "save_pretrained" in b]
    exec(compile(fit, "docs/generators.md", "exec"), {})
    (config,) = [b for b in _doc_blocks("toml") if 'name = "bigram"' in b and "[campaign]" in b]
    (tmp_path / "bigram_mcts.toml").write_text(config)
    cfg = load_config(tmp_path / "bigram_mcts.toml")
    cfg.campaign.progress = False
    cfg.campaign.plots = False
    result = run_config(cfg, run_dir=tmp_path / "run", plugins=template_only)
    scored = [r for r in result.history if r.evaluation is not None]
    values = [r.values["count"] for r in scored]
    assert len(scored) == 160 and result.summary["strategy"] == "mcts"
    assert not any("AB" in r.design for r in scored)
    first, last = sum(values[:16]) / 16, sum(values[-48:]) / 48
    assert last > first + 0.5, f"MCTS did not improve: first batch mean {first}, last three batches {last}"
    assert (round(first, 1), round(last, 1)) == (3.8, 4.7), "the numbers quoted in docs/generators.md"


def test_best_of_n_ranks_bigram_samples_by_their_likelihood(tmp_path, template_only):
    from gendesign.core.generator import generator_context
    from gendesign.core.objective import ObjectiveSpec
    from gendesign.core.sequence_space import SequenceSpace

    model = _bigram()
    model.save_pretrained(tmp_path / "bigram")
    space = SequenceSpace("ABCD", min_length=6, max_length=8)
    options = {"generator": {"name": "bigram", "path": str(tmp_path / "bigram")}, "oversample": 4}
    built = generator_context(template_only, template_only.strategies.get("best_of_n").factory, options, space=space)
    strategy = template_only.strategies.build("best_of_n", options, space=space, specs=(ObjectiveSpec("f"),), seed=0, **built)
    designs = strategy.ask(10)
    ll = model.log_likelihood(designs, per_token=True)
    assert len(designs) == 10 and not any("AB" in d for d in designs)
    assert bool((ll[:-1] >= ll[1:]).all())
