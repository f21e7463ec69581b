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
    assert info["registers"] == {"spaces": ["lattice"], "objectives": ["lattice_distance"], "strategies": ["hill_climb"]}


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
