"""MDLM on SMILES vs an autoregressive transformer of the same size, data and training budget.

Data (``--corpus``): ``nci`` is RDKit's packaged NCI subset ``rdkit/Data/NCI/first_5K.smi``
(5,000 molecules from the NCI open database, shipped inside the RDKit wheel, BSD 3-clause
licence); ``moses`` is the MOSES training set (Polykovskiy et al., Front. Pharmacol. 11, 565644,
2020; 1.58M drug-like ZINC molecules, MIT licence) read directly from the ``molsets`` wheel file
given by ``--moses-wheel`` (get it with ``pip download molsets==0.3.1 --no-deps -d DIR``; the wheel is
not installed, its dependencies are obsolete), shuffled with the seed and cut to ``--corpus-limit``.
Tokens (``--tokens``): ``smiles`` is atom-level SMILES (Schwaller et al. 2019 regex); ``selfies``
is SELFIES symbols (Krenn et al. 2020), which decode to valid molecules by construction, so with
them validity measures nothing and the size of the sampled molecules is reported next to it.
Designs over ``--max-tokens`` tokens are dropped; 5% (at most 2,000) are held out.

Both models: pre-norm transformers with the same width, depth, heads and MLP, trained with AdamW,
warmup + cosine decay, the same batch size, the same number of steps and the same wall-clock cap,
run side by side as two processes so they share the machine equally. The MDLM trains through
``gendesign.generators.mdlm.training.train`` (Lightning); the autoregressive baseline is a causal
transformer defined here (BOS token, EOS = pad).

Reported (``benchmarks/results/mdlm_smiles.json`` and ``.md``):

* validity (RDKit parses and sanitises), uniqueness (distinct canonical SMILES among valid) and
  novelty (valid distinct not in the training set) of 1,000 unconditional samples from each model;
* held-out NELBO per token of the MDLM (an upper bound) vs the AR held-out NLL per token (exact);
* MDLM sampling throughput against the number of reverse steps (with prediction caching);
* the cost of one uncached reverse step relative to one bare denoiser forward pass.

Run: ``nice -n 10 python benchmarks/mdlm_smiles.py --minutes 10``; results go to
``benchmarks/results/mdlm_smiles{--tag}.json`` and ``.md``.

Unmasking orders without retraining: ``--sample-only MODEL_DIR`` loads a trained MDLM and compares
the sampler's unmasking orders (``--orders ancestral,confidence,margin``; ``"ancestral"`` reveals
each mask independently with probability ``(t - s) / t``, ``"confidence"`` / ``"margin"`` reveal the
rounded expected number of positions with the highest top probability / top-1 minus top-2 margin,
after MaskGIT, Chang et al. 2022, and Kim et al. 2025) at each of ``--temperatures``, with
``--num-samples`` unconditional samples of ``--steps`` steps each; novelty is measured against
``--train-smi`` (default ``MODEL_DIR/../train.smi``). Results go to
``benchmarks/results/mdlm_smiles_orders.json`` and ``.md``:
``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/mdlm_smiles.py --sample-only /tmp/gendesign_mdlm_smiles_v2/mdlm``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gendesign.core.errors import InvalidDesignError

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"


SOURCES = {
    "nci": "rdkit/Data/NCI/first_5K.smi (RDKit wheel, BSD 3-clause)",
    "moses": "MOSES train.csv.gz from the molsets 0.3.1 wheel (MIT), read from the wheel file",
}


def read_moses(wheel: str) -> list[str]:
    import gzip
    import zipfile

    if not wheel or not Path(wheel).is_file():
        raise SystemExit(f"--moses-wheel {wheel!r} is not a file; run: pip download molsets==0.3.1 --no-deps -d DIR")
    with zipfile.ZipFile(wheel) as zf:
        text = gzip.decompress(zf.read("moses/dataset/data/train.csv.gz")).decode()
    return [line.strip() for line in text.splitlines()[1:] if line.strip()]


def fit_tokenizer(kind: str, smiles: list[str]):
    from gendesign.generators.tokenizers import SelfiesTokenizer, SmilesTokenizer

    return (SelfiesTokenizer if kind == "selfies" else SmilesTokenizer).fit(smiles)


def load_data(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    from gendesign.generators.mdlm.training import read_corpus
    from gendesign.generators.tokenizers import SelfiesTokenizer, SmilesTokenizer

    g = torch.Generator().manual_seed(args.seed)
    if args.corpus == "nci":
        smiles = read_corpus("package:rdkit/Data/NCI/first_5K.smi")
    else:
        smiles = read_moses(args.moses_wheel)
        smiles = [smiles[i] for i in torch.randperm(len(smiles), generator=g)[: args.corpus_limit].tolist()]
    if args.tokens == "selfies":
        probe = SelfiesTokenizer(["[C]"])
        kept = []
        for s in smiles:
            try:
                if len(probe.tokenize(s)) <= args.max_tokens:
                    kept.append(s)
            except InvalidDesignError:
                continue
        smiles = kept
    else:
        smiles = [s for s in smiles if len(SmilesTokenizer.pattern.findall(s)) <= args.max_tokens]
    order = torch.randperm(len(smiles), generator=g).tolist()
    n_val = min(len(smiles) // 20, 2000)
    return [smiles[i] for i in order[n_val:]], [smiles[i] for i in order[:n_val]]


class CausalTransformer(nn.Module):
    """Decoder-only transformer baseline: ids `[B, L]` to next-token logits `[B, L, V + 1]` (EOS = id V)."""

    def __init__(self, vocab_size: int, max_length: int, d_model: int, n_layers: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.bos = vocab_size + 1
        self.tok = nn.Embedding(vocab_size + 2, d_model)
        self.pos = nn.Parameter(torch.randn(1, max_length + 1, d_model) * 0.02)
        nn.init.normal_(self.tok.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout, activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size + 1)

    def forward(self, x: Tensor) -> Tensor:
        length = x.shape[1]
        causal = torch.triu(torch.full((length, length), float("-inf"), device=x.device), diagonal=1)
        h = self.blocks(self.tok(x) + self.pos[:, :length], mask=causal, is_causal=True)
        return self.head(self.norm(h))

    def nll(self, ids: Tensor, pad_id: int) -> tuple[Tensor, Tensor]:
        """Summed NLL (nats) of tokens plus EOS, and the number of predicted positions."""
        b = ids.shape[0]
        inp = torch.cat([torch.full((b, 1), self.bos), ids], 1)
        target = torch.cat([ids, torch.full((b, 1), pad_id)], 1)
        lengths = (ids != pad_id).sum(-1)
        pos = torch.arange(target.shape[1])
        live = pos[None] <= lengths[:, None]
        logits = self(inp)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none").view(b, -1)
        return (nll * live).sum(), live.sum()

    @torch.no_grad()
    def sample(self, num: int, max_length: int, pad_id: int, generator: torch.Generator) -> Tensor:
        x = torch.full((num, 1), self.bos)
        done = torch.zeros(num, dtype=torch.bool)
        out = torch.full((num, max_length), pad_id)
        for i in range(max_length):
            probs = torch.softmax(self(x)[:, -1].double(), -1)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            nxt = torch.where(done, torch.full_like(nxt, pad_id), nxt)
            out[:, i] = nxt
            done |= nxt == pad_id
            if bool(done.all()):
                break
            x = torch.cat([x, nxt.clamp(max=self.vocab_size).unsqueeze(1)], 1)
        return out


def lr_factor(step: int, warmup: int, total: int, floor: float = 0.1) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


def train_ar(args: argparse.Namespace) -> None:
    from gendesign.generators.mdlm.training import pad_batch

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    train_smiles, val_smiles = load_data(args)
    tok = fit_tokenizer(args.tokens, train_smiles + val_smiles)
    rows = [tok.ids(s) for s in train_smiles]
    val_rows = [tok.ids(s) for s in val_smiles]
    model = CausalTransformer(tok.vocab_size, args.max_tokens, args.d_model, args.n_layers, args.n_heads, 4 * args.d_model, args.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, args.warmup, args.max_steps))
    g = torch.Generator().manual_seed(args.seed)
    start, step = time.time(), 0
    while step < args.max_steps and time.time() - start < 60 * args.minutes:
        for idx in torch.randperm(len(rows), generator=g).split(args.batch_size):
            if len(idx) < args.batch_size or step >= args.max_steps or time.time() - start >= 60 * args.minutes:
                break
            total, count = model.nll(pad_batch([rows[i] for i in idx], tok.pad_id), tok.pad_id)
            opt.zero_grad()
            (total / count).backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
    model.eval()
    with torch.no_grad():
        tot, cnt = 0.0, 0
        for i in range(0, len(val_rows), 128):
            t, c = model.nll(pad_batch(val_rows[i : i + 128], tok.pad_id), tok.pad_id)
            tot, cnt = tot + float(t), cnt + int(c)
        samples = tok.decode(model.sample(args.num_samples, args.max_tokens, tok.pad_id, torch.Generator().manual_seed(args.seed + 1)))
    out = Path(args.workdir) / "ar.json"
    params = sum(p.numel() for p in model.parameters())
    out.write_text(json.dumps({"steps": step, "train_seconds": time.time() - start, "params": params, "val_nll_per_token": tot / cnt, "samples": samples}))


def train_mdlm(args: argparse.Namespace) -> None:
    from gendesign.generators.mdlm.training import train

    torch.set_num_threads(1)
    train_smiles, val_smiles = load_data(args)
    work = Path(args.workdir)
    (work / "train.smi").write_text("\n".join(train_smiles) + "\n")
    (work / "all.smi").write_text("\n".join(train_smiles + val_smiles) + "\n")
    start = time.time()
    cfg = {
        "data": {"corpus": str(work / "all.smi"), "tokenizer": args.tokens, "val_fraction": len(val_smiles) / (len(train_smiles) + len(val_smiles)), "seed": args.seed},
        "model": {"d_model": args.d_model, "n_layers": args.n_layers, "n_heads": args.n_heads, "dropout": args.dropout},
        "training": {
            "max_steps": args.max_steps,
            "max_minutes": args.minutes,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "warmup_steps": args.warmup,
            "val_every_steps": 10**6,
            "checkpoint_every_steps": 10**6,
            "estimator": args.estimator,
            "seed": args.seed,
        },
        "output": {"dir": str(work / "mdlm"), "resume": False},
    }
    train(cfg)
    (work / "mdlm_time.json").write_text(json.dumps({"train_seconds": time.time() - start}))


def heavy_atoms(smiles: str) -> int:
    from rdkit import Chem

    mol = Chem.MolFromSmiles(smiles)
    return 0 if mol is None else mol.GetNumHeavyAtoms()


def qed(smiles: str) -> float:
    """RDKit's quantitative estimate of drug-likeness (Bickerton et al. 2012); 0 for unparsable SMILES."""
    from rdkit import Chem
    from rdkit.Chem import QED

    mol = Chem.MolFromSmiles(smiles)
    return 0.0 if mol is None else float(QED.qed(mol))


def metrics(samples: list[str], train_set: set[str]) -> dict[str, float]:
    from gendesign.plugins.molecules import canonical_smiles

    canon = [canonical_smiles(s) for s in samples]
    valid = [c for c in canon if c]
    unique = set(valid)
    return {
        "n": len(samples),
        "validity": len(valid) / len(samples),
        "uniqueness": len(unique) / max(1, len(valid)),
        "novelty": len(unique - train_set) / max(1, len(unique)),
        "mean_heavy_atoms": sum(heavy_atoms(c) for c in valid) / max(1, len(valid)),
        "mean_qed": sum(qed(c) for c in valid) / max(1, len(valid)),
    }


def timing(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def evaluate(args: argparse.Namespace) -> dict:
    from gendesign.generators.mdlm.model import MaskedDiffusionLM
    from gendesign.generators.mdlm.sampler import Sampler
    from gendesign.plugins.molecules import canonical_smiles

    torch.set_num_threads(1)
    work = Path(args.workdir)
    train_smiles, val_smiles = load_data(args)
    train_set = {c for c in (canonical_smiles(s) for s in train_smiles) if c is not None}
    model = MaskedDiffusionLM.from_pretrained(work / "mdlm").eval()
    meta = MaskedDiffusionLM.load_meta(work / "mdlm")
    ar = json.loads((work / "ar.json").read_text())
    gen = torch.Generator().manual_seed(args.seed + 1)
    t0 = time.perf_counter()
    mdlm_samples = model.generate(args.num_samples, steps=args.steps, batch_size=250, generator=gen)
    mdlm_seconds = time.perf_counter() - t0
    result = {
        "data": {"source": SOURCES[args.corpus], "tokens": args.tokens, "train": len(train_smiles), "val": len(val_smiles), "max_tokens": args.max_tokens, "vocab": model.vocab_size, "train_mean_heavy_atoms": sum(heavy_atoms(s) for s in train_smiles[:2000]) / min(2000, len(train_smiles)), "train_mean_qed": sum(qed(s) for s in train_smiles[:2000]) / min(2000, len(train_smiles))},
        "model": {"d_model": args.d_model, "n_layers": args.n_layers, "n_heads": args.n_heads, "mdlm_params": sum(p.numel() for p in model.parameters()), "ar_params": ar["params"]},
        "budget": {"minutes_cap": args.minutes, "max_steps": args.max_steps, "batch_size": args.batch_size, "mdlm_steps": meta["global_step"], "ar_steps": ar["steps"], "mdlm_train_seconds": json.loads((work / "mdlm_time.json").read_text())["train_seconds"], "ar_train_seconds": ar["train_seconds"], "estimator": args.estimator},
        "mdlm": {**metrics(mdlm_samples, train_set), "sampling_steps": args.steps, "sampling_seconds": mdlm_seconds, "val_nelbo_per_token": meta["val_nelbo_per_token"], "val_ppl_bound": meta["val_ppl_bound"]},
        "ar": {**metrics(ar["samples"], train_set), "val_nll_per_token": ar["val_nll_per_token"], "val_ppl": math.exp(ar["val_nll_per_token"])},
        "examples": {"mdlm": mdlm_samples[:8], "ar": ar["samples"][:8]},
    }
    variants = []
    for steps, temperature, top_p, order in ((128, 1.0, 1.0, "ancestral"), (64, 1.0, 0.9, "ancestral"), (64, 0.8, 1.0, "ancestral"), (64, 1.0, 1.0, "margin"), (64, 0.8, 1.0, "margin")):
        drawn = model.generate(400, steps=steps, temperature=temperature, top_p=top_p, order=order, batch_size=200, generator=torch.Generator().manual_seed(args.seed + 2))
        variants.append({"steps": steps, "temperature": temperature, "top_p": top_p, "order": order, **metrics(drawn, train_set)})
    result["mdlm_sampling_variants"] = variants
    parents = []
    for s in val_smiles:
        try:
            if len(model.tokenizer.ids(s)) <= model.max_length:
                parents.append(s)
        except InvalidDesignError:
            continue
        if len(parents) == 200:
            break
    x = model.encode(parents)
    g = torch.Generator().manual_seed(args.seed + 3)
    infill = {}
    for fraction in (0.1, 0.2, 0.4):
        fixed = (torch.rand(x.shape, generator=g) >= fraction) | (x == model.pad_id)
        children = model.decode(model.infill(x, fixed, steps=32, generator=g))
        canon = [canonical_smiles(c) for c in children]
        changed = [c for c, p in zip(canon, parents) if c is not None and c != canonical_smiles(p)]
        infill[str(fraction)] = {"parents": len(parents), "validity": sum(c is not None for c in canon) / len(parents), "valid_and_changed": len(changed) / len(parents)}
    result["infill_held_out"] = infill
    lengths = model.sample_lengths(256, torch.Generator().manual_seed(0))
    throughput = []
    for steps in (16, 32, 64, 128):
        sampler = Sampler(model, steps=steps)
        secs = timing(lambda s=sampler: s.sample(256, lengths=lengths, generator=torch.Generator().manual_seed(0)), 1)
        throughput.append({"steps": steps, "samples_per_second": 256 / secs, "forward_rows_per_sample": sampler.forward_rows / 512})
    result["throughput"] = throughput
    canvas = Sampler(model).canvas(lengths[:128])
    t = torch.ones(128)
    with torch.no_grad():
        bare = timing(lambda: model.x0_logits(canvas, t), 5)
        nsteps = 16
        sampler = Sampler(model, steps=nsteps, cache=False)
        per_step = timing(lambda: sampler.denoise(canvas, torch.Generator().manual_seed(0)), 3) / nsteps
    result["step_cost"] = {"batch": 128, "width": canvas.shape[1], "bare_forward_ms": 1e3 * bare, "uncached_step_ms": 1e3 * per_step, "ratio": per_step / bare, "note": "an uncached step is one forward plus the reverse-step sampling; early exit when no masks remain makes the mean step slightly cheaper"}
    return result


def write_markdown(r: dict) -> str:
    m, a = r["mdlm"], r["ar"]
    lines = [
        f"# MDLM vs autoregressive transformer on molecules: {r['data']['source'].split(' ')[0]}, {r['data']['tokens'].upper()} tokens",
        "",
        f"Data: {r['data']['source']}; {r['data']['train']} train / {r['data']['val']} held-out molecules of <= {r['data']['max_tokens']} {r['data']['tokens']} tokens (vocabulary {r['data']['vocab']}); training molecules have {r['data']['train_mean_heavy_atoms']:.1f} heavy atoms and QED {r['data'].get('train_mean_qed', float('nan')):.3f} on average.",
        f"Models: d_model={r['model']['d_model']}, layers={r['model']['n_layers']}, heads={r['model']['n_heads']}; MDLM {r['model']['mdlm_params']:,} parameters, AR {r['model']['ar_params']:,}.",
        f"Budget: at most {r['budget']['max_steps']} steps of batch {r['budget']['batch_size']} or {r['budget']['minutes_cap']} min each, trained side by side on a shared 2-core CPU (1 thread each). "
        f"MDLM ran {r['budget']['mdlm_steps']} steps in {r['budget']['mdlm_train_seconds']:.0f} s (estimator '{r['budget']['estimator']}'), AR {r['budget']['ar_steps']} steps in {r['budget']['ar_train_seconds']:.0f} s.",
        "",
        "| model | validity | uniqueness | novelty | heavy atoms (valid) | QED (valid) | held-out nats/token | perplexity |",
        "|---|---|---|---|---|---|---|---|",
        f"| MDLM ({m['sampling_steps']} steps) | {m['validity']:.3f} | {m['uniqueness']:.3f} | {m['novelty']:.3f} | {m['mean_heavy_atoms']:.1f} | {m.get('mean_qed', float('nan')):.3f} | <= {m['val_nelbo_per_token']:.4f} (NELBO) | <= {m['val_ppl_bound']:.3f} |",
        f"| AR transformer | {a['validity']:.3f} | {a['uniqueness']:.3f} | {a['novelty']:.3f} | {a['mean_heavy_atoms']:.1f} | {a.get('mean_qed', float('nan')):.3f} | {a['val_nll_per_token']:.4f} | {a['val_ppl']:.3f} |",
        "",
        f"Ratio MDLM bound / AR perplexity: {m['val_ppl_bound'] / a['val_ppl']:.3f} (MDLM paper anchor: within ~15% at equal size).",
    ]
    lines += ["", "## MDLM sampling variants (400 samples each)", "", "| steps | temperature | top-p | order | validity | uniqueness | novelty | heavy atoms |", "|---|---|---|---|---|---|---|---|"]
    for v in r["mdlm_sampling_variants"]:
        lines.append(f"| {v['steps']} | {v['temperature']} | {v['top_p']} | {v.get('order', 'ancestral')} | {v['validity']:.3f} | {v['uniqueness']:.3f} | {v['novelty']:.3f} | {v['mean_heavy_atoms']:.1f} |")
    lines += ["", "## Infilling held-out molecules (the learned mutation operator): mask a fraction of tokens, regenerate with 32 steps", "", "| masked fraction | valid | valid and changed |", "|---|---|---|"]
    for frac, v in r["infill_held_out"].items():
        lines.append(f"| {frac} | {v['validity']:.3f} | {v['valid_and_changed']:.3f} |")
    lines += ["", "## Sampling throughput (256 samples, lengths from the training histogram, cached predictions)", "", "| steps | samples/s | denoiser rows run per sample |", "|---|---|---|"]
    for row in r["throughput"]:
        lines.append(f"| {row['steps']} | {row['samples_per_second']:.1f} | {row['forward_rows_per_sample']:.1f} |")
    sc = r["step_cost"]
    lines += [
        "",
        f"## Per-step cost: one uncached reverse step = {sc['uncached_step_ms']:.1f} ms vs one bare forward {sc['bare_forward_ms']:.1f} ms (batch {sc['batch']} x {sc['width']} tokens): ratio {sc['ratio']:.3f} (target <= 1.2).",
        "",
        "Example MDLM samples: " + ", ".join(f"`{s}`" for s in r["examples"]["mdlm"]),
        "",
        "Timings come from a CPU shared with other jobs; compare ratios measured in the same run, not absolute numbers across runs.",
        "",
        f"Commands: `{r['command']['train_and_eval']}` (training and evaluation); `{r['command']['this_eval']}` (this evaluation).",
    ]
    return "\n".join(lines) + "\n"


def compare_orders(args: argparse.Namespace) -> dict:
    """Validity, uniqueness, novelty and samples/s of each unmasking order at each temperature (no training)."""
    from gendesign.generators.mdlm.model import MaskedDiffusionLM
    from gendesign.generators.mdlm.training import read_corpus
    from gendesign.plugins.molecules import canonical_smiles

    torch.set_num_threads(1)
    model_dir = Path(args.sample_only)
    train_smi = Path(args.train_smi) if args.train_smi else model_dir.parent / "train.smi"
    train_set = {c for c in (canonical_smiles(s) for s in read_corpus(str(train_smi))) if c}
    model = MaskedDiffusionLM.from_pretrained(model_dir).eval()
    meta = MaskedDiffusionLM.load_meta(model_dir)
    rows = []
    examples = {}
    for temperature in args.temperatures:
        for order in args.orders:
            gen = torch.Generator().manual_seed(args.seed + 1)
            t0 = time.perf_counter()
            drawn = model.generate(args.num_samples, steps=args.steps, temperature=temperature, order=order, batch_size=250, generator=gen)
            seconds = time.perf_counter() - t0
            rows.append({"order": order, "temperature": temperature, "steps": args.steps, **metrics(drawn, train_set), "seconds": seconds, "samples_per_second": len(drawn) / seconds})
            examples[f"{order}@T={temperature}"] = drawn[:6]
            print(json.dumps(rows[-1]), flush=True)
    return {
        "model_dir": str(model_dir.resolve()),
        "train_smi": str(train_smi.resolve()),
        "train_unique_canonical": len(train_set),
        "model": {"params": sum(p.numel() for p in model.parameters()), "vocab": model.vocab_size, "max_length": model.max_length, "train_steps": meta.get("global_step"), "val_nelbo_per_token": meta.get("val_nelbo_per_token")},
        "validity_definition": "RDKit Chem.MolFromSmiles(s) is not None and s non-empty (canonical SMILES non-empty)",
        "rows": rows,
        "examples": examples,
    }


def write_orders_markdown(r: dict) -> str:
    m = r["model"]
    lines = [
        "# MDLM on SMILES: unmasking order (ancestral vs confidence vs margin), same trained model",
        "",
        f"Model: `{r['model_dir']}` ({m['params']:,} parameters, vocabulary {m['vocab']}, trained {m['train_steps']} steps, held-out NELBO {m['val_nelbo_per_token']:.4f} nats/token); no retraining.",
        f"Novelty against `{r['train_smi']}` ({r['train_unique_canonical']} distinct canonical SMILES). Validity: {r['validity_definition']}.",
        "",
        "* `ancestral`: each masked position is revealed independently with probability (t - s)/t (the exact reverse process).",
        "* `confidence`: reveal k = min(n, max(1, round(n (t - s)/t))) of the n masked positions, those with the highest top probability (MaskGIT, Chang et al. 2022; LLaDA, Nie et al. 2025).",
        "* `margin`: the same k, ranked by top-1 minus top-2 probability (Kim et al. 2025).",
        "",
        "| order | temperature | steps | samples | validity | uniqueness | novelty | samples/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r["rows"]:
        lines.append(f"| {row['order']} | {row['temperature']} | {row['steps']} | {row['n']} | {row['validity']:.3f} | {row['uniqueness']:.3f} | {row['novelty']:.3f} | {row['samples_per_second']:.1f} |")
    lines += [
        "",
        "Each row uses the same seed (same lengths drawn from the training histogram). Timings: 1 torch thread on a 2-core CPU shared with other jobs; compare rows of this run only.",
        "",
        "Examples: " + "; ".join(f"{k}: " + ", ".join(f"`{s}`" for s in v[:3]) for k, v in r["examples"].items()),
        "",
        f"Command: `{r['command']}`",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["all", "mdlm", "ar", "eval"], default="all")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--max-steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--d-model", type=int, default=128)
    p.add_argument("--n-layers", type=int, default=4)
    p.add_argument("--n-heads", type=int, default=4)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--corpus", choices=sorted(SOURCES), default="nci")
    p.add_argument("--moses-wheel", default="", help="path of molsets-0.3.1-py3-none-any.whl for --corpus moses")
    p.add_argument("--corpus-limit", type=int, default=200_000, help="molecules drawn from MOSES")
    p.add_argument("--tokens", choices=["smiles", "selfies"], default="smiles")
    p.add_argument("--tag", default="", help="suffix of the result files, e.g. _moses_selfies")
    p.add_argument("--estimator", choices=["time", "count"], default="count")
    p.add_argument("--steps", type=int, default=64, help="MDLM reverse steps for the quality samples")
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "gendesign_mdlm_smiles"), help="models and checkpoints (kept out of the repository)")
    p.add_argument("--sample-only", default=None, metavar="MODEL_DIR", help="skip training: compare unmasking orders of this trained MDLM")
    p.add_argument("--orders", type=lambda v: [o.strip() for o in v.split(",") if o.strip()], default=["ancestral", "confidence", "margin"], help="comma-separated unmasking orders for --sample-only")
    p.add_argument("--temperatures", type=lambda v: [float(x) for x in v.split(",") if x.strip()], default=[1.0, 0.8], help="comma-separated temperatures for --sample-only")
    p.add_argument("--train-smi", default=None, help="training SMILES for novelty in --sample-only (default MODEL_DIR/../train.smi)")
    args = p.parse_args()
    if args.sample_only is not None:
        result = compare_orders(args)
        result["command"] = "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/mdlm_smiles.py " + " ".join(sys.argv[1:])
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "mdlm_smiles_orders.json").write_text(json.dumps(result, indent=2))
        md = write_orders_markdown(result)
        (RESULTS / "mdlm_smiles_orders.md").write_text(md)
        print(md)
        return
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    if args.part == "mdlm":
        return train_mdlm(args)
    if args.part == "ar":
        return train_ar(args)
    if args.part == "all":
        base = [sys.executable, __file__] + [a for a in sys.argv[1:] if not a.startswith("--part")]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        procs = [subprocess.Popen(base + ["--part", part], env=env) for part in ("mdlm", "ar")]
        codes = [proc.wait() for proc in procs]
        if any(codes):
            raise SystemExit(f"training failed with exit codes {codes}")
    command = "python benchmarks/mdlm_smiles.py " + " ".join(sys.argv[1:])
    if args.part == "all":
        (Path(args.workdir) / "command.txt").write_text(command)
    result = evaluate(args)
    trained_by = Path(args.workdir) / "command.txt"
    result["command"] = {"train_and_eval": trained_by.read_text().strip() if trained_by.is_file() else command, "this_eval": command}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"mdlm_smiles{args.tag}.json").write_text(json.dumps(result, indent=2))
    md = write_markdown(result)
    (RESULTS / f"mdlm_smiles{args.tag}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
