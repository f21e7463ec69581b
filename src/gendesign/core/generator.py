"""Generators: trainable models that propose designs, saved and loaded diffusers-style.

A generator is a :class:`torch.nn.Module` whose constructor arguments are its configuration.
``save_pretrained(dir)`` writes ``config.json`` and ``model.safetensors``; ``from_pretrained(dir)``
rebuilds the module from the JSON and loads the weights. Loading is from a local directory only:
nothing is downloaded, nothing is unpickled, and files that resolve outside the directory are refused
(:func:`gendesign.core.files.file_in`).
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.core.files import file_in

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
        """Rebuild from a local directory written by :meth:`save_pretrained`."""
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
        return model.to(device)

    @staticmethod
    def load_meta(directory: str | Path) -> dict[str, Any]:
        """The ``"_meta"`` block saved with :meth:`save_pretrained` (empty when absent)."""
        return json.loads(file_in(directory, CONFIG_NAME, what="generator config").read_text()).get("_meta", {})
