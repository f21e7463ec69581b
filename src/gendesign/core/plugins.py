"""Plugin discovery and the typed facade over the hooks.

Built-in plugins are module paths in :data:`BUILTIN_PLUGINS`; third-party plugins are found through
the ``gendesign`` entry-point group. Both go through the same ``pm.register``. Environment:

* ``GENDESIGN_LOAD_PLUGINS=a,b``: load only these third-party plugins (empty string: none);
* ``GENDESIGN_DISABLE_PLUGINS=a,b``: skip these plugins (built-in or third-party).

A plugin that fails to import or register is recorded in :attr:`PluginSystem.failures` and
listed by ``gendesign plugins``; everything else keeps working.

Hooks are called through ``pm.hook``, one plugin at a time (:meth:`PluginSystem.call_each`), so
registrations are attributed to their plugin and a raising plugin does not stop the others. The
order is pluggy's: ``tryfirst`` implementations first, ``trylast`` last, the rest in load order
(built-ins, then entry points); hook wrappers (``hookwrapper=True`` or ``wrapper=True``) wrap each
plugin's call. A name registered twice is an error unless the later plugin passes ``override=True``.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from gendesign.core import hookspecs
from gendesign.core.errors import PluginError
from gendesign.core.registry import Registry

ENTRY_POINT_GROUP = "gendesign"

BUILTIN_PLUGINS: tuple[str, ...] = (
    "gendesign.plugins.core_parts",
    "gendesign.plugins.vision",
    "gendesign.plugins.peptides.plugin",
    "gendesign.plugins.mcts",
    "gendesign.plugins.gflownet",
    "gendesign.plugins.mdlm",
    "gendesign.plugins.metabo",
    "gendesign.plugins.molecules.plugin",
    "gendesign.plugins.tnp",
)

KINDS: dict[str, str] = {
    "spaces": "register_design_spaces",
    "generators": "register_generators",
    "objectives": "register_objectives",
    "strategies": "register_search_strategies",
    "executors": "register_executors",
    "memory_keys": "register_memory_keys",
    "reports": "register_report_extensions",
}


@dataclass
class PluginFailure:
    name: str
    error: str
    traceback: str = ""


@dataclass
class PluginInfo:
    name: str
    version: str | None
    builtin: bool
    hooks: list[str]
    registers: dict[str, list[str]] = field(default_factory=dict)


def _env_list(var: str) -> set[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


class PluginSystem:
    """A plugin manager plus the registries its hooks filled.

    Attributes:
        pm: the :class:`pluggy.PluginManager`.
        spaces, generators, objectives, strategies, executors, memory_keys, reports: :class:`Registry` of factories.
        failures: plugins that could not be loaded or registered, with their error.
    """

    def __init__(self, *, entry_points: bool = True, builtins: tuple[str, ...] = BUILTIN_PLUGINS) -> None:
        self.pm = pluggy.PluginManager("gendesign")
        self.pm.add_hookspecs(hookspecs)
        self.failures: list[PluginFailure] = []
        self.versions: dict[str, str | None] = {}
        self.builtin_names: set[str] = set()
        disabled = _env_list("GENDESIGN_DISABLE_PLUGINS") or set()
        loaded: list[tuple[str, Any]] = []
        for path in builtins:
            if path in disabled:
                continue
            try:
                loaded.append((path, importlib.import_module(path)))
            except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
                self._fail(path, exc)
                continue
            self.builtin_names.add(path)
            self.versions[path] = _own_version()
        if entry_points:
            loaded += self._load_entry_points(disabled, {name for name, _ in loaded})
        # pluggy calls the most recently registered plugin first; registering in reverse makes its
        # call order the load order, so built-ins register first and a later plugin may override.
        for name, module in reversed(loaded):
            try:
                self.pm.register(module, name=name)
            except Exception as exc:  # noqa: BLE001 - e.g. the same module under two entry-point names
                self._fail(name, exc)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"{exc}; hooks are: {', '.join(KINDS.values())}, register_commands") from exc
        self.spaces: Registry[Any] = Registry("design space", failures=self.failures)
        self.generators: Registry[Any] = Registry("generator", failures=self.failures)
        self.objectives: Registry[Any] = Registry("objective", failures=self.failures)
        self.strategies: Registry[Any] = Registry("search strategy", failures=self.failures)
        self.executors: Registry[Any] = Registry("executor", failures=self.failures)
        self.memory_keys: Registry[Any] = Registry("memory key", failures=self.failures)
        self.reports: Registry[Any] = Registry("report extension", failures=self.failures)
        for kind, hook in KINDS.items():
            registry = getattr(self, kind)
            registry.context["plugins"] = self
            self._collect(registry, hook)

    def _load_entry_points(self, disabled: set[str], taken: set[str]) -> list[tuple[str, Any]]:
        allow = _env_list("GENDESIGN_LOAD_PLUGINS")
        loaded: list[tuple[str, Any]] = []
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in disabled or (allow is not None and ep.name not in allow) or ep.name in taken:
                continue
            try:
                loaded.append((ep.name, ep.load()))
            except Exception as exc:  # noqa: BLE001
                self._fail(ep.name, exc)
                continue
            taken.add(ep.name)
            self.versions[ep.name] = ep.dist.version if ep.dist is not None else None
        return loaded

    def _fail(self, name: str, exc: BaseException) -> None:
        self.failures.append(PluginFailure(name, f"{type(exc).__name__}: {exc}", traceback.format_exc()))

    def call_each(self, hook: str, kwargs: Callable[[str], dict[str, Any]]) -> None:
        """Call ``hook`` through ``pm.hook`` once per implementing plugin, with ``kwargs(plugin_name)``.

        Plugins come in pluggy's call order, each through a subset caller that leaves out the other
        plain implementations (the hook wrappers stay), so each call knows its plugin; a plugin
        whose call raises is recorded in :attr:`failures` and the next one still runs.
        """
        caller = getattr(self.pm.hook, hook)
        plain = [impl for impl in reversed(caller.get_hookimpls()) if not (impl.hookwrapper or impl.wrapper)]
        for impl in plain:
            others = [other.plugin for other in plain if other is not impl]
            try:
                self.pm.subset_hook_caller(hook, remove_plugins=others)(**kwargs(impl.plugin_name))
            except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
                self._fail(impl.plugin_name, exc)

    def _collect(self, registry: Registry[Any], hook: str) -> None:
        def for_plugin(plugin: str) -> dict[str, Any]:
            def register(name: str, factory: Any, *, aliases: tuple[str, ...] = (), override: bool = False, summary: str | None = None) -> None:
                registry.register(name, factory, plugin=plugin, aliases=tuple(aliases), override=override, summary=summary)

            return {"register": register}

        self.call_each(hook, for_plugin)

    def plugins(self, *, include_builtins: bool = False) -> list[PluginInfo]:
        """What each plugin registered, for ``gendesign plugins``."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            builtin = name in self.builtin_names
            if builtin and not include_builtins:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            registers = {
                kind: sorted(e.name for e in getattr(self, kind) if e.plugin == name) for kind in KINDS
            }
            infos.append(PluginInfo(name, self.versions.get(name), builtin, hooks, {k: v for k, v in registers.items() if v}))
        return sorted(infos, key=lambda i: i.name)

    def registry(self, kind: str) -> Registry[Any]:
        if kind not in KINDS:
            raise PluginError(f"unknown registry kind {kind!r}; choose one of {', '.join(KINDS)}")
        return getattr(self, kind)


def _own_version() -> str | None:
    try:
        return importlib.metadata.version("gendesign")
    except importlib.metadata.PackageNotFoundError:
        return None


_SYSTEM: PluginSystem | None = None


def get_plugins() -> PluginSystem:
    """The process-wide :class:`PluginSystem`, built on first use."""
    global _SYSTEM
    if _SYSTEM is None:
        _SYSTEM = PluginSystem()
    return _SYSTEM


def reset_plugins() -> None:
    """Forget the process-wide plugin system (tests, or after installing a plugin at run time)."""
    global _SYSTEM
    _SYSTEM = None
