"""Built-in MDLM plugin: the masked diffusion generator inside campaigns and on the command line.

Registers

* generator ``"mdlm"``: :class:`~gendesign.generators.mdlm.model.MaskedDiffusionLM`;
* design space ``"mdlm"``: :class:`MDLMSpace`, which decorates a base space so that ``sample``
  draws from a trained model and ``mutate``/``mutate_many`` mask ``k`` positions of a parent and
  infill them (a learned mutation operator that ``evolution`` or ``random`` use unchanged);
* search strategy ``"mdlm_sample"``: :class:`MDLMSample`, best-of-N sampling ranked by NELBO;
* objective ``"mdlm_naturalness"``: :class:`MDLMNaturalness`, the negative NELBO per token;
* commands ``gendesign train CONFIG`` and ``gendesign sample CONFIG|MODEL_DIR``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import click
import numpy as np
import torch
from pydantic import Field

from gendesign.core.designs import DesignSpace
from gendesign.core.errors import ConfigError, InvalidDesignError
from gendesign.core.hookspecs import hookimpl
from gendesign.core.objective import Objective, ObjectiveSpec, Scores, resolve_device
from gendesign.core.plugins import PluginSystem
from gendesign.core.strategy import SearchStrategy, StrategyOptions
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.sampler import ORDERS, UnmaskOrder, check_order


def _load(model_dir: str, device: str | torch.device = "cpu") -> MaskedDiffusionLM:
    from gendesign.generators.mdlm.training import load_model

    model = load_model(model_dir, resolve_device(device) if isinstance(device, str) else device)
    model._require_tokenizer()
    return model


def _torch_generator(rng: np.random.Generator) -> torch.Generator:
    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


class MDLMSpace(DesignSpace):
    """A base design space whose sampling and mutation come from a trained MDLM.

    Validity, keys, storage and crossover are the base space's. :meth:`sample` draws designs from
    the model and keeps those the base space accepts (canonical form), redrawing up to
    ``max_tries`` rounds and filling any shortfall with the base space's own samples.
    :meth:`mutate_many` masks ``k`` uniformly chosen positions of each parent, with
    ``k = max(1, round(mask_fraction * n))`` or ``k = num_masked``, and infills them; a child that
    is invalid or equal to its parent is redrawn, and after ``max_tries`` the base space's
    mutation is used.

    Args:
        base: the decorated space as ``{name = ..., options = {...}}``.
        model_dir: directory written by ``gendesign train`` (or ``save_pretrained``).
        mask_fraction: fraction of a parent's tokens to regenerate.
        num_masked: fixed number of tokens to regenerate (overrides ``mask_fraction``).
        steps: reverse steps (default: the model's ``max_length``).
        temperature: sampling temperature.
        top_p: nucleus mass.
        order: unmasking order of the sampler: ``"ancestral"`` (exact reverse process),
            ``"confidence"`` or ``"margin"`` (reveal the positions with the highest top probability or
            top-1 minus top-2 margin first; see :mod:`gendesign.generators.mdlm.sampler`).
        max_tries: redraw rounds before falling back to the base space.
        device: where the model runs.
        plugins: the plugin system that builds ``base`` (the registry passes its own).
    """

    def __init__(
        self,
        base: dict[str, Any],
        model_dir: str,
        mask_fraction: float = 0.2,
        num_masked: int | None = None,
        steps: int | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        order: UnmaskOrder = "ancestral",
        max_tries: int = 4,
        device: str = "cpu",
        plugins: PluginSystem | None = None,
    ) -> None:
        from gendesign.generators.mdlm.training import build_space

        check_order(order)
        if not 0 < mask_fraction <= 1:
            raise ConfigError(f"mask_fraction={mask_fraction} must lie in (0, 1]")
        if num_masked is not None and num_masked < 1:
            raise ConfigError(f"num_masked={num_masked} must be >= 1")
        if max_tries < 1:
            raise ConfigError(f"max_tries={max_tries} must be >= 1")
        self.base_spec = dict(base)
        self.base = build_space(base, plugins)
        self.model_dir = str(model_dir)
        self.model = _load(model_dir, device)
        self.mask_fraction = float(mask_fraction)
        self.num_masked = num_masked
        self.sampling = {"steps": steps, "temperature": temperature, "top_p": top_p, "order": order}
        self.max_tries = max_tries
        self.fallbacks = {"sample": 0, "mutate": 0}

    def config(self) -> dict[str, Any]:
        return {
            **super().config(),
            "base": self.base.config(),
            "model_dir": str(Path(self.model_dir).resolve()),
            "mask_fraction": self.mask_fraction,
            "num_masked": self.num_masked,
            **self.sampling,
        }

    def validate(self, design: Any) -> Any:
        return self.base.validate(design)

    def key(self, design: Any) -> str:
        return self.base.key(design)

    def to_json(self, design: Any) -> str:
        return self.base.to_json(design)

    def from_json(self, text: str) -> Any:
        return self.base.from_json(text)

    def display(self, design: Any) -> str:
        return self.base.display(design)

    def describe(self, design: Any) -> dict[str, Any]:
        return self.base.describe(design)

    def _canonical(self, design: Any) -> Any | None:
        try:
            return self.base.validate(design)
        except InvalidDesignError:
            return None

    def sample(self, n: int, rng: np.random.Generator) -> list[Any]:
        gen = _torch_generator(rng)
        out: list[Any] = []
        for _ in range(self.max_tries):
            need = n - len(out)
            if need <= 0:
                break
            for d in self.model.generate(need, generator=gen, **self.sampling):
                c = self._canonical(d)
                if c is not None:
                    out.append(c)
        if len(out) < n:
            self.fallbacks["sample"] += n - len(out)
            out.extend(self.base.sample(n - len(out), rng))
        return out[:n]

    def mutate(self, design: Any, rng: np.random.Generator) -> Any:
        return self.mutate_many([design], rng)[0]

    def _positions(self, length: int, rng: np.random.Generator) -> np.ndarray:
        k = self.num_masked if self.num_masked is not None else max(1, round(self.mask_fraction * length))
        return rng.choice(length, size=min(k, length), replace=False)

    def mutate_many(self, designs: Sequence[Any], rng: np.random.Generator) -> list[Any]:
        tok = self.model._require_tokenizer()
        parents = [self.base.validate(d) for d in designs]
        children: list[Any] = [None] * len(parents)
        rows: dict[int, list[int]] = {}
        for i, p in enumerate(parents):
            try:
                ids = tok.ids(p)
            except InvalidDesignError:
                continue
            if 1 <= len(ids) <= self.model.max_length:
                rows[i] = ids
        gen = _torch_generator(rng)
        pending = list(rows)
        for _ in range(self.max_tries):
            if not pending:
                break
            width = max(len(rows[i]) for i in pending)
            x = torch.full((len(pending), width), self.model.pad_id, dtype=torch.long)
            fixed = torch.ones_like(x, dtype=torch.bool)
            for r, i in enumerate(pending):
                ids = rows[i]
                x[r, : len(ids)] = torch.tensor(ids)
                fixed[r, torch.as_tensor(self._positions(len(ids), rng))] = False
            filled = self.model.decode(self.model.infill(x, fixed, generator=gen, **self.sampling))
            still = []
            for i, child in zip(pending, filled):
                c = self._canonical(child)
                if c is None or self.base.key(c) == self.base.key(parents[i]):
                    still.append(i)
                else:
                    children[i] = c
            pending = still
        for i, c in enumerate(children):
            if c is None:
                self.fallbacks["mutate"] += 1
                children[i] = self.base.mutate(parents[i], rng)
        return children

    def crossover(self, a: Any, b: Any, rng: np.random.Generator) -> Any:
        return self.base.crossover(a, b, rng)


class MDLMSampleOptions(StrategyOptions):
    """Options of :class:`MDLMSample`."""

    model_dir: str = Field(description="directory of a trained MDLM")
    oversample: int = Field(4, ge=1, description="draw oversample * n candidates per ask")
    rank_by: Literal["nelbo", "none"] = "nelbo"
    nelbo_samples: int = Field(4, ge=1)
    steps: int | None = Field(None, gt=0)
    temperature: float = Field(1.0, gt=0)
    top_p: float = Field(1.0, gt=0, le=1)
    order: UnmaskOrder = Field("ancestral", description="unmasking order: ancestral (exact), confidence or margin (MaskGIT-style planned unmasking)")
    max_empty_rounds: int = Field(3, ge=1, description="stop after this many asks in a row that found nothing new")


class MDLMSample(SearchStrategy):
    """Best-of-N sampling: draw ``oversample * n`` designs from a trained MDLM, keep the new valid ones,
    and propose the ``n`` the model finds most natural (lowest NELBO per token).

    The model is fixed (no feedback from scores); the campaign keeps the best evaluated designs, so
    the result is best-of-N for the evaluated budget. ``tell`` tracks every design seen so no
    design is proposed twice.
    """

    Options = MDLMSampleOptions

    def __init__(self, space: DesignSpace, specs: Sequence[ObjectiveSpec], *, seed: int = 0, device: str | torch.device = "cpu", options: MDLMSampleOptions | None = None) -> None:
        if options is None:
            raise ConfigError("strategy 'mdlm_sample' needs options.model_dir")
        super().__init__(space, specs, seed=seed, device=device, options=options)
        self.model = _load(options.model_dir, self.device)
        self.seen: set[str] = set()
        self.empty_rounds = 0

    def ask(self, n: int) -> list[Any]:
        opts = self.options
        if self.empty_rounds >= opts.max_empty_rounds:
            return []
        drawn = self.model.generate(n * opts.oversample, generator=self.torch_generator, steps=opts.steps, temperature=opts.temperature, top_p=opts.top_p, order=opts.order)
        fresh: dict[str, Any] = {}
        for d in drawn:
            try:
                c = self.space.validate(d)
            except InvalidDesignError:
                continue
            k = self.space.key(c)
            if k not in self.seen and k not in fresh:
                fresh[k] = c
        cands = list(fresh.values())
        if opts.rank_by == "nelbo" and len(cands) > n:
            from gendesign.generators.mdlm.likelihood import naturalness

            score = naturalness(self.model, cands, num_samples=opts.nelbo_samples, seed=self.seed)
            order = torch.argsort(torch.nan_to_num(score, nan=float("-inf")), descending=True).tolist()
            cands = [cands[i] for i in order]
        out = cands[:n]
        self.empty_rounds = 0 if out else self.empty_rounds + 1
        self.seen.update(self.space.key(c) for c in out)
        return out

    def tell(self, designs: Sequence[Any], scores: Scores) -> None:
        for d in designs:
            try:
                self.seen.add(self.space.key(d))
            except InvalidDesignError:
                continue

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "seen": sorted(self.seen), "empty_rounds": self.empty_rounds}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.seen = set(state["seen"])
        self.empty_rounds = int(state["empty_rounds"])


class MDLMNaturalness(Objective):
    """Naturalness under a trained MDLM: negative NELBO in nats per token (higher is more natural).

    Deterministic: each design's Monte-Carlo draws are seeded by ``seed`` and its token ids. Designs
    the model's tokenizer cannot read come back invalid.

    Args:
        model_dir: directory of a trained MDLM.
        num_samples: Monte-Carlo draws of the bound per design.
        seed: base seed of the draws.
        per_token: divide by the number of tokens.
        include_length: add :math:`\\log p(n)` from the training length histogram.
        name: the output column's name.
        device: where the model runs.
    """

    def __init__(self, model_dir: str, num_samples: int = 16, seed: int = 0, per_token: bool = True, include_length: bool = False, name: str = "naturalness", device: str = "cpu") -> None:
        if num_samples < 1:
            raise ConfigError(f"num_samples={num_samples} must be >= 1")
        self.model_dir = str(model_dir)
        self.device = resolve_device(device)
        self.model = _load(model_dir, self.device)
        self.num_samples = num_samples
        self.seed = seed
        self.per_token = per_token
        self.include_length = include_length
        unit = "nats per token" if per_token else "nats"
        self.specs = (ObjectiveSpec(name=name, direction="max", description=f"negative MDLM NELBO ({unit})"),)

    def config(self) -> dict[str, Any]:
        weights = Path(self.model_dir) / "model.safetensors"
        stamp = weights.stat().st_mtime_ns if weights.is_file() else None
        return {
            **super().config(),
            "model_dir": str(Path(self.model_dir).resolve()),
            "weights_mtime_ns": stamp,
            "num_samples": self.num_samples,
            "seed": self.seed,
            "per_token": self.per_token,
            "include_length": self.include_length,
        }

    def evaluate(self, designs: Sequence[Any]) -> Scores:
        from gendesign.generators.mdlm.likelihood import naturalness

        values = naturalness(self.model, list(designs), num_samples=self.num_samples, seed=self.seed, per_token=self.per_token, include_length=self.include_length)
        valid = torch.isfinite(values)
        errors = [None if ok else "the MDLM tokenizer cannot read this design, or it is longer than the model's max_length" for ok in valid.tolist()]
        return Scores(values=values.unsqueeze(-1), valid=valid, specs=self.specs, errors=errors)


@hookimpl
def register_generators(register: Any) -> None:
    register("mdlm", MaskedDiffusionLM)


@hookimpl
def register_design_spaces(register: Any) -> None:
    register("mdlm", MDLMSpace)


@hookimpl
def register_search_strategies(register: Any) -> None:
    register("mdlm_sample", MDLMSample)


@hookimpl
def register_objectives(register: Any) -> None:
    register("mdlm_naturalness", MDLMNaturalness)


@click.command(name="train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
def train_command(config: str) -> None:
    """Train a masked diffusion model (MDLM) from a TOML config over a corpus file."""
    from gendesign.core.plugins import get_plugins
    from gendesign.generators.mdlm.training import train

    model = train(config, plugins=get_plugins())
    meta = MaskedDiffusionLM.load_meta(_output_dir(config)) if _is_rank_zero() else {}
    if meta:
        nelbo = meta.get("val_nelbo_per_token")
        tail = f"; validation NELBO {nelbo:.4f} nats/token, perplexity bound {meta['val_ppl_bound']:.3f}" if nelbo is not None else ""
        click.echo(f"saved {type(model).__name__} to {_output_dir(config)} after {meta['global_step']} steps{tail}", err=True)


def _is_rank_zero() -> bool:
    import os

    return os.environ.get("LOCAL_RANK", "0") == "0" and os.environ.get("NODE_RANK", "0") == "0"


def _output_dir(config: str) -> str:
    from gendesign.generators.mdlm.training import load_train_config

    return load_train_config(config).output.dir


@click.command(name="sample")
@click.argument("source", type=click.Path(exists=True))
@click.option("--num", "-n", type=int, default=None, help="Number of designs (default: [sample].num or 100).")
@click.option("--steps", type=int, default=None, help="Reverse steps (default: the model's max_length).")
@click.option("--temperature", type=float, default=None)
@click.option("--top-p", "top_p", type=float, default=None)
@click.option("--length", type=int, default=None, help="Fix every design's length in tokens.")
@click.option("--order", type=click.Choice(list(ORDERS)), default="ancestral", show_default=True, help="Unmasking order: ancestral (exact reverse process), or confidence / margin (reveal the surest positions first).")
@click.option("--seed", type=int, default=None)
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None, help="Write designs here (default: stdout).")
@click.option("--space", "space_name", default=None, help="A registered design space (e.g. smiles) to check validity with.")
@click.option("--valid-only", is_flag=True, help="Write only designs the space accepts (needs --space).")
@click.option("--device", default="cpu", show_default=True)
def sample_command(source: str, num: int | None, steps: int | None, temperature: float | None, top_p: float | None, length: int | None, order: str, seed: int | None, out: str | None, space_name: str | None, valid_only: bool, device: str) -> None:
    """Write designs sampled from a trained MDLM (a model directory or a train CONFIG), one per line."""
    from gendesign.generators.mdlm.training import SampleOptions, load_train_config

    path = Path(source)
    if path.is_dir():
        model_dir, defaults = str(path), SampleOptions()
    else:
        cfg = load_train_config(path)
        model_dir, defaults = cfg.output.dir, cfg.sample
    if valid_only and space_name is None:
        raise ConfigError("--valid-only needs --space NAME")
    model = _load(model_dir, device)
    n = num if num is not None else defaults.num
    gen = torch.Generator().manual_seed(seed if seed is not None else defaults.seed)
    designs = model.generate(
        n,
        steps=steps if steps is not None else defaults.steps,
        temperature=temperature if temperature is not None else defaults.temperature,
        top_p=top_p if top_p is not None else defaults.top_p,
        length=length if length is not None else defaults.length,
        batch_size=defaults.batch_size,
        order=order,
        generator=gen,
    )
    separator = getattr(model.tokenizer, "separator", "")
    texts = [d if isinstance(d, str) else separator.join(d) for d in designs]
    if space_name is not None:
        from gendesign.core.plugins import get_plugins

        space = get_plugins().spaces.build(space_name, {})
        valid = [space.is_valid(d) for d in designs]
        click.echo(f"valid: {sum(valid)}/{len(valid)} ({sum(valid) / max(1, len(valid)):.1%}); unique valid: {len({space.key(d) for d, v in zip(designs, valid) if v})}", err=True)
        if valid_only:
            texts = [t for t, v in zip(texts, valid) if v]
    target = out if out is not None else defaults.out
    payload = "".join(t + "\n" for t in texts)
    if target is None:
        sys.stdout.write(payload)
    else:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(payload)
        click.echo(f"wrote {len(texts)} designs to {target}", err=True)


@hookimpl
def register_commands(cli: Any) -> None:
    cli.add_command(train_command)
    cli.add_command(sample_command)


__all__ = ["MDLMNaturalness", "MDLMSample", "MDLMSpace"]
