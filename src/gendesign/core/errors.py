"""The exception hierarchy. Every error gendesign raises derives from :class:`GendesignError`."""

from __future__ import annotations


class GendesignError(Exception):
    """Root of every gendesign error; catch this to catch them all."""


class ConfigError(GendesignError, ValueError):
    """A configuration value is missing, misspelled or out of range."""


class PluginError(GendesignError):
    """A plugin failed to load, registered a clashing name, or implemented an unknown hook."""


class UnknownNameError(GendesignError, KeyError):
    """A registry lookup missed; the message lists the names that exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidDesignError(GendesignError, ValueError):
    """A design is not a member of its design space (bad token, bad length, unparsable SMILES)."""


class ObjectiveError(GendesignError):
    """An objective broke its contract (wrong output shape, wrong dtype) in a way that is not per-item."""


class MissingDependencyError(GendesignError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class CampaignError(GendesignError):
    """A campaign cannot start or resume (corrupt run directory, config that changed under a resume)."""


class RunDirLockedError(CampaignError):
    """Another live process holds the run directory's lock (a second ``run`` or ``resume`` on it)."""


def short_repr(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to about ``limit`` characters, so a huge bad input does not flood a message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 25]}... ({len(text)} characters)"


def require(module: str, extra: str) -> object:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is not installed; install it with pip install 'gendesign[{extra}]'"
        ) from exc
