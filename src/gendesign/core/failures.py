"""The campaign's failure policy: when invalid designs mean that the campaign itself is broken.

One invalid design among valid ones is data: the ledger records it with its error and the
campaign goes on. A scored batch in which *every* design's evaluation broke with the *same* error
is the symptom of a broken setup (an objective that raises on every design or returns the wrong
shape, a model file that does not load, a missing dependency): scoring more batches would spend
the whole budget on that error. "Broke" is :attr:`~gendesign.core.objective.Scores.raised`: the
objective raised or broke its output contract. An infeasible design, one the objective itself
marks invalid (an Ehrlich sequence with a forbidden transition, a constraint violated), is an
answer, not a failure: a batch of them never counts, however many there are, since a search can
legitimately spend its first rounds among infeasible designs. The policy stops the campaign:

* at once when the first batch that a session scores (a fresh run, or a resume) fails for one
  reason, provided it holds at least two designs and the reason is not a non-finite value;
* after ``max_failed_batches`` scored batches in a row that failed for the same reason.

Two errors are the same reason when they match with quoted text and numbers masked
(:func:`error_template`): ``raised KeyError: 'X'`` and ``raised KeyError: 'B'`` are one reason, as
are the shape errors of two batches of different sizes, because messages often quote the design.

A non-finite value (:data:`~gendesign.core.objective.NON_FINITE`) is how an objective says that a
design is infeasible, so it never stops the first batch; it still counts towards
``max_failed_batches``. ``max_failed_batches = 0`` turns the policy off. Designs the space rejects
and designs served from the ledger's cache are not scored batches and are not counted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gendesign.core.errors import ConfigError
from gendesign.core.objective import NON_FINITE, Scores

DEFAULT_MAX_FAILED_BATCHES = 5


_QUOTED_OR_NUMBER = re.compile(r"'[^']*'|\"[^\"]*\"|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|\b(?:nan|inf)\b")


def error_template(error: str) -> str:
    """``error`` with quoted text and numbers masked: what stays is the reason, not the design it names."""
    return _QUOTED_OR_NUMBER.sub("_", error)


def common_error(valid: Sequence[bool], errors: Sequence[str | None], broke: Sequence[bool] | None = None) -> str | None:
    """The first item's error when no item is valid, every error has the same :func:`error_template`
    and every item broke (``broke[i]``: raised, or a non-finite value); else ``None``."""
    if not errors or any(valid) or not all(errors):
        return None
    if broke is not None and not all(broke):
        return None
    template = error_template(errors[0])  # type: ignore[arg-type]
    return errors[0] if all(error_template(e) == template for e in errors) else None  # type: ignore[arg-type]


class FailurePolicy:
    """Watches the scored batches of one campaign session and says when to stop.

    Args:
        max_failed_batches: consecutive batches that failed for the same reason before the
            campaign stops; ``0`` disables the policy.
    """

    def __init__(self, max_failed_batches: int = DEFAULT_MAX_FAILED_BATCHES) -> None:
        if max_failed_batches < 0:
            raise ConfigError(f"max_failed_batches={max_failed_batches}; use 0 (never stop) or more")
        self.max_failed_batches = int(max_failed_batches)
        self._first = True
        self._streak = 0
        self._reason: str | None = None

    def observe(self, scores: Scores) -> str | None:
        """Account for one scored batch; returns why the campaign must stop, or ``None`` to go on."""
        first, self._first = self._first, False
        if self.max_failed_batches == 0:
            return None
        raised = scores.raised_mask().tolist()
        broke = [r or (e is not None and NON_FINITE in e) for r, e in zip(raised, scores.errors)]
        reason = common_error(scores.valid.tolist(), scores.errors, broke)
        if reason is None:
            self._streak, self._reason = 0, None
            return None
        template = error_template(reason)
        self._streak = self._streak + 1 if template == self._reason else 1
        self._reason = template
        if first and len(scores) >= 2 and NON_FINITE not in reason:
            return f"every design of the first batch ({len(scores)}) failed with the same error, first: {reason}"
        if self._streak >= self.max_failed_batches:
            return (
                f"{self._streak} batches in a row (max_failed_batches = {self.max_failed_batches}) failed on every design "
                f"with the same error, last: {reason}"
            )
        return None
