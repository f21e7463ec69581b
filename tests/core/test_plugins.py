"""The plugin system: every hook, entry-point discovery, broken plugins, collisions, env filters, check_pending."""

from __future__ import annotations

import ast
import itertools
import textwrap
from pathlib import Path

import click
import pytest

from gendesign.core import hookspecs
from gendesign.core.errors import ConfigError, PluginError, UnknownNameError
from gendesign.core.plugins import BUILTIN_PLUGINS, PluginSystem
from gendesign.core.registry import Registry

TESTS = Path(__file__).resolve().parents[1]
_ids = itertools.count()

PARTS = '''
import numpy as np
from gendesign import hookimpl
from gendesign.core.designs import DesignSpace
from gendesign.core.generator import Generator
from gendesign.core.objective import FunctionObjective
from gendesign.core.executor import InlineExecutor
from gendesign.core.strategy import SearchStrategy


class Coins(DesignSpace):
    """Tuples of three coin flips."""

    def validate(self, design):
        return tuple(int(x) for x in design)

    def sample(self, n, rng):
        return [tuple(int(v) for v in rng.integers(0, 2, size=3)) for _ in range(n)]

    def mutate(self, design, rng):
        return design

    def crossover(self, a, b, rng):
        return a


class Tiny(Generator):
    """A generator with one weight."""


def heads():
    """Number of heads."""
    return FunctionObjective(lambda xs: [sum(x) for x in xs], names="heads")


class First(SearchStrategy):
    """Always the same design."""

    def ask(self, n):
        return [(1, 1, 0)] * n

    def tell(self, designs, scores):
        pass


@hookimpl
def register_design_spaces(register):
    register("coins_NAME", Coins)


@hookimpl
def register_generators(register):
    register("tiny_NAME", Tiny)


@hookimpl
def register_objectives(register):
    register("heads_NAME", heads, aliases=("h_NAME",))


@hookimpl
def register_search_strategies(register):
    register("first_NAME", First)


class Reversed(InlineExecutor):
    """Scores each batch in reverse order, then puts it back."""

    def __init__(self, workers=1, flip=True):
        super().__init__()
        self.workers = workers
        self.flip = flip


@hookimpl
def register_executors(register):
    register("reversed_NAME", Reversed)


@hookimpl
def register_commands(cli):
    import click

    @cli.command(name="hello-NAME")
    def hello():
        """Say hello."""
        click.echo("hello from NAME")
'''


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    name = f"gd_test_plugin_{next(_ids)}_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source).replace("NAME", name))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def _distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dist: str, entries: dict[str, str]) -> None:
    """A fake installed distribution whose ``gendesign`` entry points are ``entries`` (name -> module)."""
    info = tmp_path / f"{dist}-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[gendesign]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()))
    monkeypatch.syspath_prepend(str(tmp_path))


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("GENDESIGN_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("GENDESIGN_DISABLE_PLUGINS", raising=False)


def _system(name: str) -> PluginSystem:
    return PluginSystem(builtins=(*BUILTIN_PLUGINS, name), entry_points=False)


def hook_names() -> list[str]:
    return sorted(n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "gendesign_spec"))


def test_every_hook_has_a_test_named_after_it():
    hooks = hook_names()
    assert set(hooks) >= {"register_design_spaces", "register_generators", "register_objectives", "register_search_strategies", "register_commands"}
    tested: set[str] = set()
    for path in TESTS.rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_"):
                tested.add(node.name.removeprefix("test_hook_"))
    missing = [h for h in hooks if h not in tested]
    assert not missing, f"hooks without a test_hook_<name> test under tests/: {missing}"


def test_hook_register_design_spaces(tmp_path, monkeypatch, clean_env):
    name = _module(tmp_path, monkeypatch, PARTS)
    system = _system(name)
    entry = system.spaces.get(f"coins_{name}")
    assert entry.plugin == name and entry.summary == "Tuples of three coin flips."
    space = system.spaces.build(f"coins_{name}", {})
    assert space.validate([1, 0, True]) == (1, 0, 1)
    assert {"sequence", "box"} <= {e.name for e in system.spaces}, "built-ins register through the same hook"


def test_hook_register_generators(tmp_path, monkeypatch, clean_env):
    name = _module(tmp_path, monkeypatch, PARTS)
    system = _system(name)
    entry = system.generators.get(f"tiny_{name}")
    assert entry.plugin == name and entry.factory.__name__ == "Tiny"
    info = {i.name: i for i in system.plugins(include_builtins=True)}[name]
    assert info.registers["generators"] == [f"tiny_{name}"] and "register_generators" in info.hooks


def test_hook_register_objectives(tmp_path, monkeypatch, clean_env):
    name = _module(tmp_path, monkeypatch, PARTS)
    system = _system(name)
    obj = system.objectives.build(f"h_{name}", {})
    assert obj([(1, 1, 0), (1, 1, 1)]).values.squeeze(-1).tolist() == [2.0, 3.0]
    assert system.objectives.get(f"h_{name}").name == f"heads_{name}"


def test_hook_register_search_strategies(tmp_path, monkeypatch, clean_env):
    name = _module(tmp_path, monkeypatch, PARTS)
    system = _system(name)
    space = system.spaces.build(f"coins_{name}", {})
    obj = system.objectives.build(f"heads_{name}", {})
    strategy = system.strategies.build(f"first_{name}", {}, space=space, specs=obj.specs, seed=1, device="cpu")
    assert strategy.ask(2) == [(1, 1, 0), (1, 1, 0)] and strategy.seed == 1


def test_hook_register_executors(tmp_path, monkeypatch, clean_env):
    from gendesign.api.parts import build_executor

    name = _module(tmp_path, monkeypatch, PARTS)
    system = _system(name)
    executor = build_executor(f"reversed_{name}", {"flip": False}, workers=3, plugins=system)
    assert type(executor).__name__ == "Reversed" and executor.workers == 3 and executor.flip is False
    with pytest.raises(ConfigError, match="flop"):
        build_executor(f"reversed_{name}", {"flop": True}, plugins=system)
    assert {"inline", "process", "ray"} <= {e.name for e in system.executors}, "built-ins register through the same hook"


def test_hook_register_commands(tmp_path, monkeypatch, clean_env):
    from click.testing import CliRunner

    name = _module(tmp_path, monkeypatch, PARTS)
    system = _system(name)
    group = click.Group()
    for impl in system.pm.hook.register_commands.get_hookimpls():
        impl.function(cli=group)
    result = CliRunner().invoke(group, [f"hello-{name}"])
    assert result.exit_code == 0 and result.output.strip() == f"hello from {name}"


def test_entry_point_plugins_are_discovered_with_version(tmp_path, monkeypatch, clean_env):
    name = _module(tmp_path, monkeypatch, PARTS)
    _distribution(tmp_path, monkeypatch, "gendesign_fake", {"fake": name})
    system = PluginSystem()
    info = {i.name: i for i in system.plugins()}
    assert info["fake"].version == "0.3" and not info["fake"].builtin
    assert system.objectives.get(f"heads_{name}").plugin == "fake"
    assert all(i.builtin is False for i in system.plugins()), "built-ins are hidden without include_builtins"


def test_broken_plugins_are_listed_and_the_rest_keeps_working(tmp_path, monkeypatch, clean_env):
    good = _module(tmp_path, monkeypatch, PARTS)
    broken_import = _module(tmp_path, monkeypatch, "import gendesign_no_such_module_xyz\n")
    broken_hook = _module(
        tmp_path,
        monkeypatch,
        """
        from gendesign import hookimpl

        @hookimpl
        def register_objectives(register):
            raise RuntimeError("cannot register today")
        """,
    )
    _distribution(tmp_path, monkeypatch, "gendesign_mixed", {"good": good, "noimport": broken_import, "badhook": broken_hook, "missing": "gd_absent_module_q"})
    system = PluginSystem()
    failures = {f.name: f.error for f in system.failures}
    assert "ModuleNotFoundError" in failures["noimport"] and "gendesign_no_such_module_xyz" in failures["noimport"]
    assert failures["badhook"] == "RuntimeError: cannot register today"
    assert "gd_absent_module_q" in failures["missing"]
    assert f"heads_{good}" in system.objectives and "evolution" in system.strategies


def test_name_collisions_are_rejected_with_both_plugins_named(tmp_path, monkeypatch, clean_env):
    first = _module(tmp_path, monkeypatch, PARTS)
    clash = _module(
        tmp_path,
        monkeypatch,
        f"""
        from gendesign import hookimpl

        @hookimpl
        def register_objectives(register):
            register("heads_{first}", lambda: None)
        """,
    )
    system = PluginSystem(builtins=(*BUILTIN_PLUGINS, first, clash), entry_points=False)
    failure = {f.name: f.error for f in system.failures}[clash]
    assert f"'heads_{first}'" in failure and repr(first) in failure and repr(clash) in failure and "collides" in failure
    assert system.objectives.get(f"heads_{first}").plugin == first
    registry: Registry = Registry("objective")
    registry.register("a", len, plugin="p", aliases=("b",))
    with pytest.raises(PluginError, match="'b'.*collides"):
        registry.register("b", len, plugin="q")
    registry.register("a", abs, plugin="q", override=True)
    assert registry.get("a").factory is abs
    with pytest.raises(PluginError, match="not callable"):
        registry.register("c", 3, plugin="q")


def test_lookup_error_lists_available_names(clean_env):
    system = PluginSystem(entry_points=False)
    with pytest.raises(UnknownNameError) as err:
        system.strategies.get("evolutoin")
    msg = str(err.value)
    assert "'evolutoin'" in msg and "Did you mean 'evolution'" in msg and "random" in msg and "evolution" in msg
    with pytest.raises(PluginError, match="spaces, generators, objectives, strategies"):
        system.registry("widgets")


def test_load_and_disable_environment_variables(tmp_path, monkeypatch, clean_env):
    a = _module(tmp_path, monkeypatch, PARTS)
    b = _module(tmp_path, monkeypatch, PARTS)
    _distribution(tmp_path, monkeypatch, "gendesign_two", {"plug_a": a, "plug_b": b})
    both = {i.name for i in PluginSystem().plugins()}
    assert {"plug_a", "plug_b"} <= both
    monkeypatch.setenv("GENDESIGN_LOAD_PLUGINS", "plug_b")
    only_b = PluginSystem()
    assert {i.name for i in only_b.plugins()} == {"plug_b"} and f"heads_{a}" not in only_b.objectives
    monkeypatch.setenv("GENDESIGN_LOAD_PLUGINS", "")
    assert PluginSystem().plugins() == []
    monkeypatch.delenv("GENDESIGN_LOAD_PLUGINS")
    monkeypatch.setenv("GENDESIGN_DISABLE_PLUGINS", f"plug_a, {BUILTIN_PLUGINS[0]}")
    system = PluginSystem()
    names = {i.name for i in system.plugins(include_builtins=True)}
    assert "plug_a" not in names and "plug_b" in names and BUILTIN_PLUGINS[0] not in names
    assert "evolution" not in system.strategies


def test_check_pending_catches_a_misspelled_hook(tmp_path, monkeypatch, clean_env):
    typo = _module(
        tmp_path,
        monkeypatch,
        """
        from gendesign import hookimpl

        @hookimpl
        def register_objective(register):
            register("x", len)
        """,
    )
    with pytest.raises(PluginError) as err:
        PluginSystem(builtins=(*BUILTIN_PLUGINS, typo), entry_points=False)
    assert "register_objective" in str(err.value) and "register_objectives" in str(err.value)


def test_a_third_party_plugin_cannot_shadow_a_builtin(tmp_path, monkeypatch, clean_env):
    shadow = _module(
        tmp_path,
        monkeypatch,
        """
        from gendesign import hookimpl

        @hookimpl
        def register_search_strategies(register):
            register("evolution", lambda: None)
        """,
    )
    _distribution(tmp_path, monkeypatch, "gendesign_shadow", {"shadow": shadow})
    system = PluginSystem()
    assert system.strategies.get("evolution").plugin == BUILTIN_PLUGINS[0]
    assert "collides" in {f.name: f.error for f in system.failures}["shadow"]


def _registers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str, name: str = "shared") -> str:
    return _module(
        tmp_path,
        monkeypatch,
        f"""
        from gendesign import hookimpl

        @hookimpl{marker}
        def register_objectives(register):
            register("{name}", lambda: None)
        """,
    )


@pytest.mark.parametrize("marker", ["(tryfirst=True)", "", "(trylast=True)"])
def test_hooks_are_called_through_pluggy_so_tryfirst_and_trylast_order_the_plugins(tmp_path, monkeypatch, clean_env, marker):
    """Two plugins register the same name; the one pluggy calls first owns it and the other fails with a collision."""
    loaded_first = _registers(tmp_path, monkeypatch, "")
    loaded_second = _registers(tmp_path, monkeypatch, marker)
    system = PluginSystem(builtins=("gendesign.plugins.core_parts", loaded_first, loaded_second), entry_points=False)
    owner, loser = (loaded_second, loaded_first) if "tryfirst" in marker else (loaded_first, loaded_second)
    assert system.objectives.get("shared").plugin == owner
    assert [f.name for f in system.failures] == [loser] and "collides" in system.failures[0].error
    assert "evolution" in system.strategies and "branin_currin" in system.objectives


def test_hook_wrappers_wrap_each_plugin_and_a_raising_plugin_does_not_stop_the_others(tmp_path, monkeypatch, clean_env):
    wrapper = _module(
        tmp_path,
        monkeypatch,
        """
        from gendesign import hookimpl

        CALLS = []
        ERRORS = []

        @hookimpl(wrapper=True)
        def register_objectives(register):
            CALLS.append(register)
            try:
                return (yield)
            except RuntimeError as exc:
                ERRORS.append(str(exc))
                raise
        """,
    )
    raising = _module(
        tmp_path,
        monkeypatch,
        """
        from gendesign import hookimpl

        @hookimpl(tryfirst=True)
        def register_objectives(register):
            raise RuntimeError("cannot register today")
        """,
    )
    after = _registers(tmp_path, monkeypatch, "", name="after_the_raise")
    system = PluginSystem(builtins=("gendesign.plugins.core_parts", wrapper, raising, after), entry_points=False)
    module = __import__(wrapper)
    plain = [i for i in system.pm.hook.register_objectives.get_hookimpls() if not i.wrapper]
    assert len(plain) == 3 and len(module.CALLS) == 3 and len(set(map(id, module.CALLS))) == 3
    assert module.ERRORS == ["cannot register today"]
    assert {f.name: f.error for f in system.failures} == {raising: "RuntimeError: cannot register today"}
    assert system.objectives.get("after_the_raise").plugin == after and "branin_currin" in system.objectives
