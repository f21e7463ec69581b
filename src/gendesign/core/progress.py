"""The campaign progress bar: evaluations against the budget, best values and hypervolume.

Drawn with ``tqdm`` on standard error. It is off when ``enabled=False`` or when standard error is
not a terminal (logs and CI stay clean).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any


class Progress:
    """A thin wrapper around ``tqdm`` that formats the campaign's running statistics.

    Args:
        total: the budget (unique evaluations).
        initial: evaluations already done (a resumed run).
        enabled: draw at all; still off when standard error is not a TTY.
        description: the bar's label (usually the strategy name).
    """

    def __init__(self, total: int, *, initial: int = 0, enabled: bool = True, description: str = "") -> None:
        self.enabled = bool(enabled) and sys.stderr.isatty()
        self._bar: Any = None
        if self.enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=description, unit="eval", file=sys.stderr, dynamic_ncols=True)

    def update(self, evaluations: int, best: Mapping[str, float], hypervolume: float | None) -> None:
        """Advance by ``evaluations`` and show ``best`` (column -> natural value) and the hypervolume."""
        if self._bar is None:
            return
        post = {name: f"{value:.4g}" for name, value in best.items() if not math.isnan(value)}
        if hypervolume is not None:
            post["hv"] = f"{hypervolume:.4g}"
        self._bar.set_postfix(post, refresh=False)
        self._bar.update(evaluations)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
