"""The fuzz corpus: every bad input ends in a clear one-line error, every documented input is accepted.

The corpus and the classification rule live in ``tests/fuzz_corpus.py`` (also run by
``benchmarks/fuzz_inputs.py``). No case may end in a non-gendesign traceback, a hang, a vague
message or silently accepted garbage.
"""

from __future__ import annotations

import pytest
import torch

from fuzz_corpus import GOOD, cases, classify

torch.set_num_threads(1)
CASES = cases()


def test_corpus_is_large_and_covers_every_kind():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 300 and kinds == {"config", "design", "output", "python"}
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fuzz_case(case):
    outcome, detail = classify(case)
    assert outcome in GOOD, f"{case.id}: {outcome}: {detail}"
