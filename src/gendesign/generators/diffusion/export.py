"""Export a fine-tuning run in diffusers' own formats (``gendesign export``).

Two formats, each loadable by diffusers alone:

* ``"lora"``: ``pytorch_lora_weights.safetensors`` with peft-style keys prefixed by the pipeline
  component (``unet.down_blocks.0.attentions.0...to_q.lora_A.weight``) and the LoRA config
  (``unet.r``, ``unet.lora_alpha``, ``unet.target_modules``) in the file's
  ``lora_adapter_metadata`` header, so ``pipe.load_lora_weights(out)`` rebuilds the same
  ``W x + (α / r) · B A x`` layers on a pipeline of the base model;
* ``"pipeline"``: the base pipeline folder with the trained component's LoRA updates folded into
  its weights (``W <- W + (α/r) B A``) and every peft wrapper removed, so
  ``DiffusionPipeline.from_pretrained(out)`` needs neither peft nor gendesign.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from torch import nn

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.generators.diffusion.checkpoint import ADAPTER_CONFIG, ADAPTER_FORMAT, ADAPTER_WEIGHTS, load_finetuned
from gendesign.generators.diffusion.lora import LoraSettings

ExportFormat = Literal["lora", "pipeline"]
LORA_WEIGHTS = "pytorch_lora_weights.safetensors"
LORA_METADATA_KEY = "lora_adapter_metadata"
# Kinds whose diffusers pipeline has ``load_lora_weights`` and whose UNet class has ``load_lora_adapter``.
LORA_KINDS = ("latent", "controlnet")


def find_adapter(run_dir: str | Path) -> Path:
    """The adapter folder of a fine-tuning run: ``run_dir/adapter``, or ``run_dir`` itself when it is one."""
    path = Path(run_dir)
    for candidate in (path / "adapter", path):
        meta = candidate / ADAPTER_CONFIG
        if meta.is_file() and json.loads(meta.read_text()).get("format") == ADAPTER_FORMAT:
            return candidate
    raise GendesignError(
        f"{path} is not a gendesign fine-tuning run: neither {path / 'adapter' / ADAPTER_CONFIG} nor {path / ADAPTER_CONFIG} "
        f"exists with format {ADAPTER_FORMAT!r}; give the run.output_dir of `gendesign finetune` or its adapter/ "
        "(or adapter_best/) folder"
    )


def export_finetuned(run_dir: str | Path, out: str | Path, *, format: ExportFormat = "pipeline") -> Path:
    """Write the fine-tuned model of ``run_dir`` to ``out`` in a diffusers format; return ``out``.

    Args:
        run_dir: a ``gendesign finetune`` output directory, or one of its ``adapter*/`` folders.
        out: the folder to write (created; existing files of the same names are overwritten).
        format: ``"lora"`` (for ``pipe.load_lora_weights(out)``; LoRA runs of the ``latent`` and
            ``controlnet`` kinds that trained the UNet) or ``"pipeline"`` (a merged diffusers pipeline
            folder for ``DiffusionPipeline.from_pretrained(out)``; every run).
    """
    adapter = find_adapter(run_dir)
    meta = json.loads((adapter / ADAPTER_CONFIG).read_text())
    target = Path(out)
    if format == "lora":
        return _export_lora(adapter, meta, target)
    if format == "pipeline":
        return _export_pipeline(adapter, meta, target)
    raise ConfigError(f"export format={format!r} is unknown; choose 'lora' or 'pipeline'")


def _export_lora(adapter: Path, meta: dict, out: Path) -> Path:
    from safetensors.torch import load_file, save_file

    if not meta["use_lora"]:
        raise ConfigError(
            f"{adapter} holds a full fine-tune (training.use_lora = false): there is no LoRA to export; "
            "use --format pipeline for a diffusers folder with the trained weights"
        )
    if meta["kind"] not in LORA_KINDS or meta["train_module"] != "unet":
        raise ConfigError(
            f"{adapter} trained the {meta['train_module']} of a {meta['kind']!r} backbone, but diffusers' load_lora_weights "
            f"only loads UNet LoRAs into {' or '.join(LORA_KINDS)} pipelines; use --format pipeline"
        )
    prefix = meta["train_module"]
    weights = load_file(str(adapter / ADAPTER_WEIGHTS))
    # peft names a layer's factors ``<layer>.lora_A.<adapter name>.weight``; diffusers' files omit the adapter name.
    state = {f"{prefix}.{k.replace('.default.', '.')}": v.contiguous() for k, v in weights.items()}
    settings = LoraSettings(**meta["lora"])
    layers = sorted({k.split(".lora_")[0] for k in weights})
    config = {"r": settings.rank, "lora_alpha": settings.alpha, "lora_dropout": settings.dropout, "target_modules": layers}
    header = {LORA_METADATA_KEY: json.dumps({f"{prefix}.{k}": v for k, v in config.items()}, sort_keys=True), "format": "pt"}
    out.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out / LORA_WEIGHTS), metadata=header)
    return out


def _export_pipeline(adapter: Path, meta: dict, out: Path) -> Path:
    backbone = load_finetuned(adapter, merge=True)
    module = getattr(backbone, meta["train_module"])
    if meta["use_lora"]:
        setattr(backbone, meta["train_module"], _without_lora(module))
    backbone.save_pretrained(out)
    return out


def _without_lora(module: nn.Module) -> nn.Module:
    """A copy of a merged LoRA-wrapped module with every peft layer replaced by its (merged) base layer."""
    state = {k.replace(".base_layer.", "."): v for k, v in module.state_dict().items() if "lora_" not in k}
    plain = type(module).from_config(module.config)
    missing, unexpected = plain.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise GendesignError(
            f"the merged {type(module).__name__} does not fit a plain one: missing {missing[:3]}, unexpected {unexpected[:3]}; "
            "the peft version may name wrapped layers differently"
        )
    return plain.eval()
