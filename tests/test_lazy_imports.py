"""Listing and help never import the heavy libraries; lazily registered references resolve and keep their docs."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gendesign.core.errors import MissingDependencyError, PluginError
from gendesign.core.plugins import KINDS, PluginSystem
from gendesign.core.registry import Registry

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("torch", "botorch", "rdkit", "diffusers", "lightning", "transformers")

PROBE = textwrap.dedent(
    """
    import json, sys
    from click.testing import CliRunner
    import gendesign.cli
    loaded = {"import gendesign.cli": [m for m in HEAVY if m in sys.modules]}
    for args in (["--help"], ["list", "strategies"], ["list", "objectives"], ["list", "spaces"], ["list", "generators"], ["plugins", "--all"]):
        result = CliRunner().invoke(gendesign.cli.cli, args)
        assert result.exit_code == 0, (args, result.output)
        loaded[" ".join(args)] = [m for m in HEAVY if m in sys.modules]
    print(json.dumps(loaded))
    """
)


def test_cli_import_help_list_and_plugins_do_not_import_heavy_libraries():
    env = {**os.environ, "PYTHONPATH": str(SRC), "GENDESIGN_LOAD_PLUGINS": ""}
    env.pop("GENDESIGN_DISABLE_PLUGINS", None)
    code = f"HEAVY = {HEAVY!r}\n{PROBE}"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out.strip().splitlines()[-1])
    assert loaded == {step: [] for step in loaded}, loaded


def test_every_builtin_reference_resolves_and_its_listed_summary_is_its_docstring(monkeypatch):
    monkeypatch.delenv("GENDESIGN_DISABLE_PLUGINS", raising=False)
    system = PluginSystem(entry_points=False)
    references = [e for kind in KINDS for e in system.registry(kind) if isinstance(e.target, str)]
    assert len(references) >= 30
    for entry in references:
        summary = entry.summary
        try:
            factory = entry.factory
        except MissingDependencyError:
            continue
        doc = inspect.getdoc(factory) or ""
        assert summary == (doc.strip().splitlines()[0] if doc.strip() else ""), entry.name
        assert callable(factory) and factory.__name__ == entry.target.split(":")[1]


def test_a_reference_is_imported_on_first_build_and_listed_without_importing(tmp_path, monkeypatch):
    name = "gd_lazy_part_module"
    (tmp_path / f"{name}.py").write_text('class Part:\n    """A part built late.\n\n    More text."""\n\n    def __init__(self, size: int = 1):\n        self.size = size\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    registry: Registry = Registry("objective")
    registry.register("late", f"{name}:Part", plugin="p")
    registry.register("described", f"{name}:Part", plugin="p", summary="given at registration")
    assert registry.get("late").summary == "A part built late." and name not in sys.modules
    assert registry.get("described").summary == "given at registration"
    assert registry.build("late", {"size": 3}).size == 3 and name in sys.modules
    with pytest.raises(PluginError, match="'package.module:Name'"):
        registry.register("bad", "no_colon_here", plugin="p")
    registry.register("gone", "gd_no_such_module_q:Part", plugin="p")
    registry.register("typo", f"{name}:Prat", plugin="p")
    assert registry.get("gone").summary == ""
    with pytest.raises(PluginError, match="plugin 'p' refers to 'gd_no_such_module_q:Part', whose module cannot be imported"):
        registry.build("gone")
    with pytest.raises(PluginError, match="has no 'Prat'"):
        registry.build("typo")


def test_the_lazy_facade_resolves_every_public_name():
    import gendesign
    from gendesign.api.facade import optimize
    from gendesign.core.objective import Objective

    assert sorted(gendesign.__all__) == sorted(gendesign._EXPORTS)
    assert all(getattr(gendesign, name) is not None for name in gendesign.__all__)
    assert gendesign.optimize is optimize and gendesign.Objective is Objective
    with pytest.raises(AttributeError, match="no attribute 'optimise'"):
        gendesign.optimise  # noqa: B018
