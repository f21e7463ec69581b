"""The dependency direction of the package, checked on every import (module-level and inside functions).

``core`` <- ``objectives`` <- ``generators`` <- ``search`` <- ``plugins``, ``testing`` <- ``api`` <- ``cli``:
a package may import only the packages to its left. See docs/architecture.md ("Layers").
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS = (
    "gendesign.cli",
    "gendesign.api",
    grimp.Layer("gendesign.plugins", "gendesign.testing", independent=True),
    "gendesign.search",
    "gendesign.generators",
    "gendesign.objectives",
    "gendesign.core",
)


def test_imports_follow_the_layers():
    graph = grimp.build_graph("gendesign", cache_dir=None)
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS)
    found = sorted(
        f"{dep.importer} -> {dep.imported}: " + "; ".join(" -> ".join([*r.heads, *r.middle, *r.tails]) for r in dep.routes) for dep in illegal
    )
    assert found == [], "imports against the layers:\n" + "\n".join(found)


def test_the_layers_see_lazy_imports():
    """A function-level import counts: the check would miss half the violations otherwise."""
    graph = grimp.build_graph("gendesign", cache_dir=None)
    assert "gendesign.api" in graph.find_modules_directly_imported_by("gendesign.cli")


def _calls_get_plugins(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name == "get_plugins":
                lines.append(node.lineno)
    return lines


def test_only_the_cli_and_entry_points_use_the_process_wide_plugin_system():
    """Library code takes a ``PluginSystem`` (or a registry) as an argument; only entry points create the default one."""
    allowed_modules = {"gendesign.cli", "gendesign.api.facade", "gendesign.api.runs", "gendesign.core.plugins"}
    offenders = []
    for path in sorted((SRC / "gendesign").rglob("*.py")):
        module = ".".join(path.relative_to(SRC).with_suffix("").parts)
        command_glue = module.startswith("gendesign.plugins.") or module.rsplit(".", 1)[-1] == "commands"
        if module in allowed_modules or command_glue:
            continue
        offenders += [f"{module}:{line}" for line in _calls_get_plugins(path)]
    assert offenders == [], f"get_plugins() called from library code: {offenders}; take plugins= as an argument instead"
