"""Unmasking orders of the MDLM sampler; torch-free so the CLI can list them without importing the model."""

from __future__ import annotations

from typing import Literal, get_args

from gendesign.core.errors import ConfigError

UnmaskOrder = Literal["ancestral", "confidence", "margin"]
"""Which masked positions a reverse step reveals: independently at random, or by model confidence."""

ORDERS: tuple[str, ...] = get_args(UnmaskOrder)


def check_order(order: str) -> None:
    if order not in ORDERS:
        raise ConfigError(f"order={order!r} is not one of {list(ORDERS)}")
