"""Train the shipped peptide MDLM: ``python -m gendesign.plugins.peptides.train_mdlm [--out DIR]``.

Corpus (offline, built in memory):

* every antimicrobial peptide of modlAMP's ``AMPvsUniProt`` and ``AMPvsTMset`` sets (BSD-3-Clause)
  with 8 to 48 residues, de-duplicated;
* one chemically modified copy of each, generated the way CycloPs-style corpora are (PepTune's
  corpus mixes 10 % D-amino acids and 20 % N-methylation into canonical peptides): every residue
  independently becomes its D enantiomer with probability 0.1, its N-methyl form (where the
  library has one) with probability 0.05, and K -> Orn/Dab/Dap, R -> Har, L -> Nle, V -> Nva,
  A -> Aib/Abu, P -> Hyp, F -> Cha/Nal, G -> Sar with probability 0.1 each where they apply.

Model: :class:`~gendesign.generators.mdlm.model.MaskedDiffusionLM` over the monomer codes of
``PeptideSpace(monomers="all")`` (ids agree with the space), trained on the NELBO with AdamW and
a cosine learning-rate schedule; 5 % of the corpus is held out to report the validation NELBO per
token. The weights, ``config.json`` (with the tokenizer and the length histogram) and
``training.json`` (corpus sizes, hyperparameters, losses, command) are written to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gendesign.core.errors import require
from gendesign.plugins.peptides.monomers import MONOMERS
from gendesign.plugins.peptides.space import PeptideSpace

SHIPPED_DIR = "peptide_mdlm"
MIN_LENGTH, MAX_LENGTH = 8, 48
_SWAPS = {
    "K": ["Orn", "Dab", "Dap"],
    "R": ["Har"],
    "L": ["Nle"],
    "V": ["Nva"],
    "A": ["Aib", "Abu"],
    "P": ["Hyp"],
    "F": ["Cha", "Nal"],
    "G": ["Sar"],
}


def shipped_path() -> Path:
    """Directory of the peptide MDLM shipped in the package."""
    return Path(str(resources.files("gendesign.plugins.peptides") / "data" / SHIPPED_DIR))


def load_amp_sequences() -> list[str]:
    """Canonical AMP sequences (label 1) from modlAMP's AMPvsUniProt and AMPvsTMset, 8-48 residues, unique, sorted."""
    require("modlamp", "peptides")
    out: set[str] = set()
    for name in ("AMPvsUniProt.csv", "AMPvsTMset.csv"):
        rows = list(csv.reader((resources.files("modlamp") / "data" / name).read_text().splitlines()))
        for row in rows[1:]:
            if len(row) >= 2 and row[1].strip() == "1":
                seq = row[0].strip().upper()
                if MIN_LENGTH <= len(seq) <= MAX_LENGTH and all(c in "ACDEFGHIKLMNPQRSTVWY" for c in seq):
                    out.add(seq)
    return sorted(out)


def modify(seq: str, rng: np.random.Generator) -> tuple[str, ...]:
    """A chemically modified copy of ``seq`` (rates in the module docstring)."""
    out = []
    for aa in seq:
        code = aa
        u = rng.random()
        if aa != "G" and u < 0.1:
            code = "d" + aa
        elif u < 0.15 and "me" + aa in MONOMERS:
            code = "me" + aa
        elif u < 0.25 and aa in _SWAPS:
            options = _SWAPS[aa]
            code = options[int(rng.integers(len(options)))]
        out.append(code)
    return tuple(out)


def build_corpus(seed: int = 0) -> list[tuple[str, ...]]:
    """The training corpus as monomer-code tuples: canonical AMPs plus one modified copy of each."""
    rng = np.random.default_rng(seed)
    amps = load_amp_sequences()
    return [tuple(s) for s in amps] + [modify(s, rng) for s in amps]


def train(
    out: Path,
    *,
    seed: int = 0,
    steps: int = 1200,
    batch_size: int = 32,
    lr: float = 1e-3,
    d_model: int = 64,
    n_layers: int = 2,
    n_heads: int = 4,
) -> dict[str, Any]:
    """Train the peptide MDLM and save it to ``out``; return the training record."""
    from gendesign.generators.mdlm.lit_module import nelbo_step
    from gendesign.generators.mdlm.model import MaskedDiffusionLM
    from gendesign.generators.tokenizers import ResidueTokenizer

    torch.manual_seed(seed)
    space = PeptideSpace(monomers="all", min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    corpus = build_corpus(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(corpus))
    n_val = max(1, len(corpus) // 20)
    val = [corpus[i] for i in order[:n_val]]
    tr = [corpus[i] for i in order[n_val:]]
    tok = ResidueTokenizer(space.tokens, separator=" ")
    model = MaskedDiffusionLM(
        vocab_size=space.vocab_size,
        max_length=MAX_LENGTH,
        d_model=d_model,
        n_layers=n_layers,
        n_heads=n_heads,
        dropout=0.1,
        tokenizer=tok.to_config(),
    )
    model.set_length_distribution([len(s) for s in tr])
    x_tr = space.chain.encode([list(s) for s in tr], MAX_LENGTH)
    x_val = space.chain.encode([list(s) for s in val], MAX_LENGTH)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = min(200, steps // 10)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gen = torch.Generator().manual_seed(seed)
    history = []
    start = time.perf_counter()
    running = 0.0
    for step in range(steps):
        idx = torch.randint(len(x_tr), (batch_size,), generator=gen)
        running += nelbo_step(model, opt, x_tr[idx], generator=gen)
        sched.step()
        if (step + 1) % 200 == 0 or step + 1 == steps:
            model.eval()
            with torch.no_grad():
                vgen = torch.Generator().manual_seed(1234)
                vt = sum(float(model.loss(b, generator=vgen)[0]) for b in x_val.split(256))
                vn = int((x_val != model.pad_id).sum())
            history.append({"step": step + 1, "train_nelbo_per_token": running / 200, "val_nelbo_per_token": vt / vn})
            print(json.dumps(history[-1]), flush=True)
            running = 0.0
    record = {
        "corpus": {
            "source": "modlAMP AMPvsUniProt + AMPvsTMset AMPs (BSD-3-Clause) plus one generated non-canonical copy each",
            "train_sequences": len(tr),
            "validation_sequences": len(val),
            "min_length": MIN_LENGTH,
            "max_length": MAX_LENGTH,
        },
        "hyperparameters": {
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "d_model": d_model,
            "n_layers": n_layers,
            "n_heads": n_heads,
            "seed": seed,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "history": history,
        "train_seconds": round(time.perf_counter() - start, 1),
        "command": "python -m gendesign.plugins.peptides.train_mdlm",
    }
    model.eval()
    model.save_pretrained(out, extra={"training": "see training.json"})
    (out / "training.json").write_text(json.dumps(record, indent=2))
    write_data_licence(out)
    return record


def write_data_licence(out: Path) -> None:
    """Copy modlAMP's BSD-3-Clause licence next to weights trained on its data."""
    from importlib.metadata import distribution

    licence = next((f for f in distribution("modlamp").files or [] if f.name == "LICENSE"), None)
    if licence is not None:
        (out / "LICENSE-modlAMP-data.txt").write_text(
            "The training data come from modlAMP (https://github.com/alexarnimueller/modlAMP), data/AMPvsUniProt.csv and "
            "data/AMPvsTMset.csv, under this licence:\n\n" + Path(str(licence.locate())).read_text()
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=shipped_path())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train(args.out, seed=args.seed, steps=args.steps, batch_size=args.batch_size)


if __name__ == "__main__":
    main()
