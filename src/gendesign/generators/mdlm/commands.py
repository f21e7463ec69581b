"""The MDLM command line: ``gendesign sample CONFIG|MODEL_DIR``, and the MDLM side of ``gendesign train CONFIG`` (:func:`train_and_report`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gendesign.core.errors import ConfigError
from gendesign.generators.mdlm.orders import ORDERS

if TYPE_CHECKING:
    from gendesign.generators.mdlm.model import MaskedDiffusionLM


def _load(model_dir: str, device: str) -> MaskedDiffusionLM:
    from gendesign.core.objective import resolve_device
    from gendesign.generators.mdlm.training import load_model

    model = load_model(model_dir, resolve_device(device))
    model._require_tokenizer()
    return model


def train_and_report(config: str | Path, *, plugins: Any = None) -> str:
    """Train a masked diffusion model (MDLM) from a TOML config over a corpus file; a one-line report of the saved model."""
    from gendesign.generators.mdlm.model import MaskedDiffusionLM
    from gendesign.generators.mdlm.training import train

    model = train(config, plugins=plugins)
    meta = MaskedDiffusionLM.load_meta(_output_dir(config)) if _is_rank_zero() else {}
    if not meta:
        return f"trained {type(model).__name__} (not the rank-0 process: nothing saved here)"
    nelbo = meta.get("val_nelbo_per_token")
    tail = f"; validation NELBO {nelbo:.4f} nats/token, perplexity bound {meta['val_ppl_bound']:.3f}" if nelbo is not None else ""
    return f"saved {type(model).__name__} to {_output_dir(config)} after {meta['global_step']} steps{tail}"


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
    import torch

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
