"""Check that gendesign's Ehrlich equals pytorch-holo's reference ``Ehrlich`` (run in a venv that has holo).

For every instance below both objects are built with the same ``random_seed`` and compared on

* the instance: transition matrix (max abs difference), feasibility mask, motifs, spacings,
  ``initial_solution()`` and ``optimal_solution()``;
* values, on a batch of feasible sequences (DMP samples, the optimum, the optimum with one motif
  element knocked out per motif, the initial solution) and infeasible ones (uniform random
  sequences): holo's ``-inf`` must be exactly our invalid items, and every feasible value must be
  equal (quantisation ``q < k`` and epistasis ``e > 0`` included).

Usage (pytorch-holo is not a gendesign dependency; it pins numpy<2, so it lives in its own venv)::

    python3 -m venv /work/venvs/holo && /work/venvs/holo/bin/pip install torch==2.13.0 pytorch-holo pydantic pluggy
    PYTHONPATH=src /work/venvs/holo/bin/python benchmarks/ehrlich_semantics.py

Exit status 0 when every instance agrees; the report goes to standard output.
"""

from __future__ import annotations

import sys

import torch
from holo.test_functions.closed_form import Ehrlich as HoloEhrlich

from gendesign.objectives.ehrlich import ALPHABET, Ehrlich

INSTANCES = [
    # (v, L, c, k, q, epistasis, seeds)
    (32, 32, 2, 4, 4, 0.0, range(0, 30)),
    (32, 128, 4, 4, 4, 0.0, range(0, 5)),
    (32, 256, 4, 8, 8, 0.0, range(0, 3)),
    (32, 64, 2, 8, 4, 0.0, range(0, 5)),
    (32, 32, 2, 4, 2, 0.5, range(0, 5)),
    (20, 24, 3, 4, 4, 1.0, range(0, 5)),
    (8, 16, 2, 3, 3, 0.3, range(0, 5)),
]


def check(v: int, length: int, c: int, k: int, q: int, e: float, seed: int) -> list[str]:
    ours = Ehrlich(num_states=v, length=length, num_motifs=c, motif_length=k, quantization=q, epistasis=e, random_seed=seed)
    holo = HoloEhrlich(num_states=v, dim=length, num_motifs=c, motif_length=k, quantization=q, epistasis_factor=e, random_seed=seed)
    problems = []
    gap = (ours.transition - holo.transition_matrix.double()).abs().max().item()
    if gap > 1e-7:
        problems.append(f"transition matrices differ by {gap:.2e}")
    if not torch.equal(ours.allowed, holo.transition_matrix > 0):
        problems.append("feasibility masks differ")
    if not torch.equal(ours.motifs, torch.stack(list(holo.motifs))):
        problems.append(f"motifs differ: {ours.motifs.tolist()} vs {[m.tolist() for m in holo.motifs]}")
    if not torch.equal(ours.offsets[:, 1:] - ours.offsets[:, :-1], torch.stack(holo.spacings)):
        problems.append(f"spacings differ: {ours.offsets.tolist()} vs {[s.tolist() for s in holo.spacings]}")
    init = torch.tensor([ALPHABET.index(ch) for ch in ours.initial_solution()])
    if not torch.equal(init, holo.initial_solution()):
        problems.append("initial_solution() differs")
    opt = torch.tensor([ALPHABET.index(ch) for ch in ours.optimal_solution()])
    if not torch.equal(opt, holo.optimal_solution()):
        problems.append("optimal_solution() differs")
    gen = torch.Generator().manual_seed(1000 + seed)
    feasible = holo.initial_solution(n=64)
    knocked = []
    for i in range(c):
        for j in range(k):
            x = opt.clone()
            pos = int(ours.offsets[i, j]) + sum(int(ours.offsets[m, -1]) + 1 for m in range(i))
            x[pos] = x[pos - 1] if pos > 0 else x[pos + 1]
            knocked.append(x)
    uniform = torch.randint(0, v, (256, length), generator=gen)
    batch = torch.cat([feasible, torch.stack([opt, init, *knocked]), uniform])
    theirs = holo(batch).double()
    scores = ours([ours._to_text(row) for row in batch])
    infeasible = torch.isinf(theirs)
    if not torch.equal(infeasible, ~scores.valid):
        problems.append(f"feasibility disagrees on {int((infeasible != ~scores.valid).sum())} of {len(batch)} sequences")
    both = ~infeasible & scores.valid
    diff = (scores.values[:, 0].double()[both] - theirs[both]).abs().max().item() if both.any() else 0.0
    if diff > 1e-6:
        problems.append(f"values differ by up to {diff:.2e}")
    levels = sorted({round(x, 6) for x in theirs[both].tolist()})
    return problems + [f"ok: {int(both.sum())} feasible, {int(infeasible.sum())} infeasible, value levels {levels[:8]}"]


def main() -> int:
    torch.set_num_threads(1)
    failures = 0
    for v, length, c, k, q, e, seeds in INSTANCES:
        for seed in seeds:
            report = check(v, length, c, k, q, e, seed)
            bad = [r for r in report if not r.startswith("ok")]
            failures += bool(bad)
            print(f"v={v} L={length} c={c} k={k} q={q} e={e} seed={seed}: " + ("; ".join(bad) if bad else report[-1]), flush=True)
    print(f"{failures} instance(s) disagree")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
