"""Named registries of plugin factories, with provenance and helpful lookup errors."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from gendesign.core.errors import ConfigError, PluginError, UnknownNameError, short_repr
from gendesign.core.options import StrictOptions

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered factory: its name, the factory, the plugin that registered it, aliases."""

    name: str
    factory: T
    plugin: str
    aliases: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        doc = inspect.getdoc(self.factory) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""


class FailedPlugin(Protocol):
    """A plugin that could not be loaded: its name and the error, ``"Type: message"``."""

    name: str
    error: str


@dataclass
class Registry(Generic[T]):
    """Factories of one kind (``"objective"``, ``"generator"``, ...) keyed by name.

    Attributes:
        failures: the plugins that failed to load (shared with the plugin system, so later
            failures show too); a missed lookup names them, since the name may be one of theirs.
    """

    kind: str
    entries: dict[str, Entry[T]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    failures: Sequence[FailedPlugin] = field(default_factory=list)

    def register(self, name: str, factory: T, *, plugin: str, aliases: tuple[str, ...] = (), override: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {plugin!r} registered a {self.kind} with invalid name {name!r}; use a non-empty string")
        if not callable(factory):
            raise PluginError(f"plugin {plugin!r} registered {self.kind} {name!r} as {factory!r}, which is not callable")
        for n in (name, *aliases):
            owner = self.entries.get(self.aliases.get(n, n))
            if owner is not None and not override:
                raise PluginError(
                    f"{self.kind} name {n!r} from plugin {plugin!r} collides with the one from plugin {owner.plugin!r}; "
                    "rename it or pass override=True"
                )
        self.entries[name] = Entry(name, factory, plugin, tuple(aliases))
        for a in aliases:
            self.aliases[a] = name

    def get(self, name: str) -> Entry[T]:
        key = self.aliases.get(name, name)
        if key not in self.entries:
            import difflib

            close = difflib.get_close_matches(name, list(self.entries) + list(self.aliases), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            failed = "".join(f"; plugin {f.name!r} failed to load: {f.error}" for f in self.failures)
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{failed}.{hint} Available: {', '.join(sorted(self.entries)) or '(none)'}"
            )
        return self.entries[key]

    def build(self, name: str, options: Mapping[str, Any] | None = None, **context: Any) -> Any:
        """Validate ``options`` against the factory's signature and call it with ``options`` and ``context``."""
        entry = self.get(name)
        accepted = accepted_context(entry.factory, context)
        opts = validate_options(entry.factory, dict(options or {}), where=f"{self.kind} {name!r}", exclude=set(context))
        return entry.factory(**accepted, **opts)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self.entries or name in self.aliases)

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(sorted(self.entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self.entries)


def accepted_context(factory: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    """The subset of ``context`` (e.g. ``space``, ``specs``, ``seed``) that ``factory`` accepts by name."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    params = inspect.signature(target).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(context)
    return {k: v for k, v in context.items() if k in params}


def options_model(factory: Any, exclude: set[str] = frozenset()) -> type[BaseModel]:  # type: ignore[assignment]
    """A pydantic model (``extra="forbid"``, strict numbers) for ``factory``'s keyword options.

    A class with an ``Options`` attribute that is a pydantic model uses it as is; otherwise the
    model is derived from the signature of the factory (its ``__init__`` for classes), with string
    annotations (``from __future__ import annotations``) resolved by :func:`typing.get_type_hints`,
    so ``length: int`` refuses ``2.5`` and ``true`` (see :class:`~gendesign.core.options.StrictOptions`).
    """
    declared = getattr(factory, "Options", None)
    if isinstance(declared, type) and issubclass(declared, BaseModel):
        return declared
    target = factory.__init__ if inspect.isclass(factory) else factory
    hints = _type_hints(target)
    fields: dict[str, Any] = {}
    for pname, param in inspect.signature(target).parameters.items():
        if pname in ("self", *exclude) or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        ann = hints.get(pname, Any)
        default = param.default if param.default is not inspect.Parameter.empty else ...
        fields[pname] = (ann, default)
    return create_model(  # type: ignore[call-overload]
        f"{getattr(factory, '__name__', 'factory')}Options", __base__=_FactoryOptions, **fields
    )


class _FactoryOptions(StrictOptions):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True)


def _type_hints(target: Any) -> dict[str, Any]:
    """Resolved parameter annotations of ``target``; one that cannot be resolved (a name imported
    only under ``TYPE_CHECKING``) is ``Any`` rather than a failure."""
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - fall back to resolving annotation by annotation
        pass
    namespace = getattr(inspect.unwrap(target), "__globals__", {})
    hints: dict[str, Any] = {}
    for name, ann in getattr(target, "__annotations__", {}).items():
        if isinstance(ann, str):
            try:
                ann = eval(ann, namespace)  # noqa: S307 - an annotation of the factory's own module
            except Exception:  # noqa: BLE001
                ann = Any
        hints[name] = ann
    return hints


def validate_options(factory: Any, options: dict[str, Any], *, where: str, exclude: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    """Check ``options`` for ``factory``; a bad key or value raises :class:`ConfigError` naming it."""
    model = options_model(factory, exclude)
    try:
        validated = model(**options)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=where, model=model)) from None
    if getattr(factory, "Options", None) is model:
        return {"options": validated}
    return {k: getattr(validated, k) for k in options}


def format_validation_error(exc: ValidationError, *, where: str, model: type[BaseModel] | None = None) -> str:
    """One line per bad field: its path, the bad value, and what is allowed.

    Pydantic reports a value that fits no member of a union once per member; those reports are
    merged into one line (``alphabet = 5: Input should be a valid string or ...``).
    """
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for err in exc.errors():
        parts = [str(p) for p in err["loc"] if not _is_union_tag(p)]
        loc = ".".join(parts) or "(root)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = _fields_at(model, err["loc"]) if model is not None else []
            msg = f"unknown field; allowed fields: {', '.join(allowed)}" if allowed else "unknown field"
        ctx = err.get("ctx") or {}
        if "expected" in ctx and err["type"] != "extra_forbidden":
            msg = f"{msg} (allowed: {ctx['expected']})"
        groups.setdefault(parts[0] if parts else loc, []).append((loc, short_repr(err.get("input"), 200), msg))
    lines = []
    for problems in groups.values():
        places = list(dict.fromkeys((loc, value) for loc, value, _ in problems))
        if len(places) == 1:
            messages = list(dict.fromkeys(msg for _, _, msg in problems))
            lines.append(f"{places[0][0]} = {places[0][1]}: {' or '.join(messages)}")
        else:
            lines.append("; ".join(f"{loc} = {value}: {msg}" for loc, value, msg in problems))
    if len(lines) == 1:
        return f"invalid options for {where}: {lines[0]}"
    return f"invalid options for {where}:\n" + "\n".join(f"  {line}" for line in lines)


_UNION_TAGS = frozenset({"str", "int", "float", "bool", "bytes", "list", "tuple", "dict", "set", "none", "json-or-python", "lax-or-strict"})


def _is_union_tag(part: Any) -> bool:
    """Whether ``part`` of an error location names a union member (``str``, ``list[str]``) rather than a field."""
    return isinstance(part, str) and ("[" in part or part in _UNION_TAGS)





def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model that holds the last element of ``loc``."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None:
            return []
        if isinstance(part, int):
            continue
        field_info = current.model_fields.get(str(part))
        current = _model_in(field_info.annotation) if field_info is not None else None
    return sorted(current.model_fields) if current is not None else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``Model``, ``Model | None``, ``list[Model]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
