"""Strict option models: a bool is not a number, a string is not a number, and numbers are finite.

Pydantic's lax mode reads ``True`` as ``1``, ``"0.5"`` as ``0.5`` and ``"yes"`` as ``True``; a
config file that says ``budget = true`` or ``length = "8"`` is almost always a mistake, so every
options model in gendesign derives from :class:`StrictOptions`, which refuses those conversions
and non-finite floats (``inf``, ``nan``). Integral floats still read as integers (``1e3`` is
``1000``); ``2.5`` for an integer is refused.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from gendesign.core.errors import ConfigError, short_repr

MAX_SEED = 2**32 - 1
"""Largest seed: numpy's and torch's generators both take every seed in ``0..MAX_SEED``."""


def check_seed(seed: Any) -> int:
    """``seed`` as an int, or :class:`ConfigError` unless it is an integer in ``0..MAX_SEED``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed={seed!r} must be an integer in 0..{MAX_SEED}")
    return int(seed)


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set, collections.abc.Iterable)
_MAPPINGS = (dict, collections.abc.Mapping)


def check_value(value: Any, annotation: Any) -> None:
    """Raise :class:`ValueError` when ``value`` would only fit ``annotation`` through a lossy conversion.

    Refused: a bool where a number is expected, a number or string where a bool is expected, a
    non-string where a string is expected, and a string or bytes where a number is expected, at any
    depth of unions, lists, tuples and dicts. Other annotations are left to pydantic.
    """
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {type(value).__name__} {short_repr(value)}")
        return
    if annotation in (int, float):
        if isinstance(value, bool) or isinstance(value, (str, bytes)):
            raise ValueError(f"expected a number, got {type(value).__name__} {short_repr(value)}")
        return
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__} {short_repr(value)}")
        return
    if annotation is type(None):
        if value is not None:
            raise ValueError(f"expected nothing (omit the key), got {short_repr(value)}")
        return
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        check_value(value, args[0])
    elif origin in (typing.Union, types.UnionType):
        errors = []
        for member in args:
            try:
                check_value(value, member)
                return
            except ValueError as exc:
                errors.append(exc)
        raise errors[0]
    elif origin in _MAPPINGS and len(args) == 2 and isinstance(value, dict):
        for item in value.values():
            check_value(item, args[1])
    elif origin in _SEQUENCES and args and isinstance(value, (list, tuple)):
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            for item, member in zip(value, args):
                check_value(item, member)
        else:
            for item in value:
                check_value(item, args[0])


class StrictOptions(BaseModel):
    """Base for options models: unknown keys, lossy conversions and non-finite floats are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_lossy_conversion(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            check_value(value, field.annotation)
        return value
