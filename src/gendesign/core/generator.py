"""Generators: trainable models that propose designs, saved and loaded diffusers-style.

A generator is a :class:`torch.nn.Module` whose constructor arguments are its configuration.
``save_pretrained(dir)`` writes ``config.json`` and ``model.safetensors``; ``from_pretrained(dir)``
rebuilds the module from the JSON and loads the weights. Loading is from a local directory only:
nothing is downloaded, nothing is unpickled, and files that resolve outside the directory are refused
(:func:`gendesign.core.files.file_in`).

A part that consumes a generator (a strategy such as ``mcts``, a model-backed space) declares the
protocol it needs as ``generator_protocol`` and names the model in its options as a
:class:`GeneratorSpec`; :func:`generator_context` builds it through the generator registry
(:func:`build_generator`) when the parts builder builds the part.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from gendesign.core.errors import ConfigError, GendesignError, UnknownNameError
from gendesign.core.files import file_in
from gendesign.core.registry import Registry, format_validation_error, options_model

if TYPE_CHECKING:
    from gendesign.core.plugins import PluginSystem

G = TypeVar("G", bound="Generator")

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class Generator(nn.Module):
    """Base class: records constructor arguments as :attr:`config` and saves/loads them.

    Subclasses call ``super().__init__()`` first and then :meth:`register_config` with their
    JSON-able constructor arguments (``self.register_config(**locals())`` style helpers are
    deliberately avoided: the config is spelled out).
    """

    config_name: ClassVar[str] = CONFIG_NAME

    def __init__(self) -> None:
        super().__init__()
        self.config: dict[str, Any] = {}

    def register_config(self, **config: Any) -> None:
        json.dumps(config)
        self.config = dict(config)

    def save_pretrained(self, directory: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` (plus ``extra`` metadata under ``"_meta"``) and ``model.safetensors``."""
        from safetensors.torch import save_file

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        payload = {"_class": type(self).__name__, **self.config}
        if extra:
            payload["_meta"] = extra
        (out / CONFIG_NAME).write_text(json.dumps(payload, indent=2, sort_keys=True))
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(out / WEIGHTS_NAME))
        return out

    @classmethod
    def from_pretrained(cls: type[G], directory: str | Path, *, device: str | torch.device = "cpu") -> G:
        """Rebuild from a local directory written by :meth:`save_pretrained`, in eval mode (call ``.train()`` to train it further)."""
        from safetensors.torch import load_file

        path = Path(directory)
        cfg_path = file_in(path, CONFIG_NAME, what="generator config")
        if not cfg_path.is_file():
            raise GendesignError(
                f"{cfg_path} does not exist; from_pretrained needs a local directory written by save_pretrained"
            )
        config = json.loads(cfg_path.read_text())
        saved_class = config.pop("_class", cls.__name__)
        config.pop("_meta", None)
        if saved_class != cls.__name__:
            raise GendesignError(f"{path} holds a {saved_class}, not a {cls.__name__}; load it with {saved_class}.from_pretrained")
        params = inspect.signature(cls.__init__).parameters
        unknown = sorted(set(config) - set(params))
        if unknown:
            raise ConfigError(f"{cfg_path}: unknown config keys {unknown} for {cls.__name__}")
        model = cls(**config)
        model.load_state_dict(load_file(str(file_in(path, WEIGHTS_NAME, what="generator weights"))))
        return model.to(device).eval()

    @staticmethod
    def load_meta(directory: str | Path) -> dict[str, Any]:
        """The ``"_meta"`` block saved with :meth:`save_pretrained` (empty when absent)."""
        return json.loads(file_in(directory, CONFIG_NAME, what="generator config").read_text()).get("_meta", {})


class GeneratorSpec(BaseModel):
    """A generator named in a config: ``generator = { name = "mdlm", path = "models/x", options = {...} }``.

    Attributes:
        name: a registered generator (``gendesign list generators``).
        path: a local directory the generator class's ``from_pretrained`` reads; ``None`` builds the
            class from ``options`` (an untrained model).
        options: keyword arguments of ``from_pretrained`` (or of the constructor when ``path`` is ``None``).
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    def resolved(self) -> GeneratorSpec:
        """The same spec with ``path`` made absolute (for fingerprints and resolved configs)."""
        return self.model_copy(update={"path": None if self.path is None else str(Path(self.path).resolve())})

    def fingerprint(self) -> dict[str, Any]:
        """The resolved spec plus the latest modification time (ns) of the files under ``path``, so retraining changes a fingerprint."""
        root = Path(self.path) if self.path is not None else None
        files = [f for f in root.iterdir() if f.is_file()] if root is not None and root.is_dir() else []
        return {**self.resolved().model_dump(), "mtime_ns": max((f.stat().st_mtime_ns for f in files), default=None)}


def build_generator(
    generators: Registry[Any],
    spec: GeneratorSpec | Mapping[str, Any],
    *,
    device: str | torch.device = "cpu",
    protocol: type | None = None,
    needed_by: str = "this part",
) -> Any:
    """Build the generator ``spec`` names through the ``generators`` registry and check it offers ``protocol``.

    With a ``path`` the registered class's ``from_pretrained(path, device=device, **options)`` loads
    it (the class must satisfy :class:`~gendesign.core.protocols.Pretrained`); without one the
    registry builds it from ``options``.

    Raises:
        ConfigError: unknown name (listing the registered ones), a path that is not a local
            directory, options ``from_pretrained`` does not take, or a model that lacks members of
            ``protocol`` (named).
    """
    from gendesign.core.protocols import Pretrained, require_protocol

    try:
        spec = spec if isinstance(spec, GeneratorSpec) else GeneratorSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=f"the generator of {needed_by}", model=GeneratorSpec)) from None
    try:
        entry = generators.get(spec.name)
    except UnknownNameError as exc:
        raise ConfigError(f"{needed_by}: generator name = {spec.name!r}: {exc}") from None
    what = f"generator {spec.name!r}"
    if spec.path is None:
        model = generators.build(spec.name, spec.options, device=device)
    else:
        if not Path(spec.path).is_dir():
            raise ConfigError(f"{needed_by}: generator path {spec.path!r} is not a local directory; give the directory a trained {spec.name!r} model was saved to")
        loader = require_protocol(entry.factory, Pretrained, what=what, needed_by=needed_by).from_pretrained
        params = inspect.signature(loader).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        unknown = sorted(k for k in spec.options if k not in params and not takes_any)
        if unknown:
            first = next(iter(params), None)
            allowed = sorted(k for k, p in params.items() if k not in (first, "device") and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
            raise ConfigError(f"{needed_by}: generator {spec.name!r} options {unknown} are not options of its from_pretrained; allowed: {', '.join(allowed) or '(none)'}")
        model = loader(spec.path, device=device, **spec.options)
    return model if protocol is None else require_protocol(model, protocol, what=what, needed_by=needed_by)


def generator_context(
    plugins: PluginSystem,
    factory: Any,
    options: Mapping[str, Any],
    *,
    space: Any = None,
    device: str | torch.device = "cpu",
    needed_by: str = "this part",
) -> dict[str, Any]:
    """Build-time context for a part (space, strategy, objective) whose class declares ``generator_protocol``.

    The part's ``generator`` option names the model (:class:`GeneratorSpec`); without one the
    ``space``'s ``default_generator()`` supplies it, unless the part declares ``generator_optional``
    (it then runs without a model when none is named). Returns ``{"model": built, "plugins": plugins}``
    (the factory receives the entries it accepts by name), or ``{}`` for parts that need no generator.
    """
    from gendesign.core.objective import resolve_device

    protocol = getattr(factory, "generator_protocol", None)
    if protocol is None:
        return {}
    schema = options_model(factory, {"model", "plugins", "space", "specs", "seed", "device"})
    try:
        spec = getattr(schema(**options), "generator", None)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=needed_by, model=schema)) from None
    if spec is None and getattr(factory, "generator_optional", False):
        return {}
    if spec is None and space is not None:
        spec = space.default_generator()
    if spec is None:
        raise ConfigError(
            f"{needed_by} needs a generator: add generator = {{ name = \"mdlm\", path = \"path/to/model\" }} to its options "
            f"(registered generators: {', '.join(e.name for e in plugins.generators) or '(none)'})"
        )
    where = options.get("device", device)
    model = build_generator(plugins.generators, spec, device=resolve_device(where), protocol=protocol, needed_by=needed_by)
    return {"model": model, "plugins": plugins}
