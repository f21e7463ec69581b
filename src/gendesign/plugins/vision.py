"""Built-in vision plugin: image/video rewards, the reward-tuned diffusion generator, ``gendesign finetune`` and ``export``.

Registers factories only; diffusers, peft, accelerate and transformers are imported when a part is
built or the command runs, so listing plugins stays cheap and works without the ``vision`` extra.
"""

from __future__ import annotations

from typing import Any

import click

from gendesign.core.hookspecs import hookimpl


@hookimpl
def register_objectives(register: Any) -> None:
    register("jpeg_compressibility", "gendesign.objectives.image_rewards:JpegCompressibility")
    register("jpeg_incompressibility", "gendesign.objectives.image_rewards:JpegIncompressibility")
    register("colourfulness", "gendesign.objectives.image_rewards:Colourfulness", aliases=("colorfulness",))
    register("brightness", "gendesign.objectives.image_rewards:Brightness")
    register("contrast", "gendesign.objectives.image_rewards:Contrast")
    register("prompt_brightness", "gendesign.objectives.image_rewards:PromptBrightness")
    register("sobel_edge_agreement", "gendesign.objectives.image_rewards:SobelEdgeAgreement")
    register("segmental_video_reward", "gendesign.objectives.video_rewards:SegmentalVideoReward")
    register("reward_ensemble", "gendesign.objectives.image_ensemble:RewardEnsemble")
    register("clip_head_reward", "gendesign.objectives.image_learned:CLIPHeadReward", aliases=("aesthetic_head",))


@hookimpl
def register_generators(register: Any) -> None:
    register("reward_diffusion", "gendesign.generators.diffusion.backbone:reward_diffusion")


@hookimpl
def register_commands(cli: Any) -> None:
    @cli.command(name="finetune")
    @click.argument("config", type=click.Path(dir_okay=False))
    @click.option("--resume", is_flag=True, help="Continue from OUTPUT_DIR/checkpoint (bit-identical continuation).")
    @click.option("--steps", type=int, default=None, help="Override run.steps (e.g. to extend a finished run).")
    @click.option("--output-dir", type=click.Path(file_okay=False), default=None, help="Override run.output_dir.")
    def finetune_command(config: str, resume: bool, steps: int | None, output_dir: str | None) -> None:
        """Reward fine-tuning of a diffusion model (DDPO, DRaFT-K, AlignProp, InstructVideo, Ctrl-U)."""
        from gendesign.core.plugins import get_plugins
        from gendesign.generators.diffusion.config import load_finetune_config
        from gendesign.generators.diffusion.trainer import FinetuneTrainer

        cfg = load_finetune_config(config)
        if steps is not None:
            cfg.run.steps = steps
        if output_dir is not None:
            cfg.run.output_dir = output_dir
        trainer = FinetuneTrainer(cfg, plugins=get_plugins(), resume=resume)
        if trainer.is_main:
            click.echo(
                f"finetune: algorithm={trainer.algorithm_name} kind={trainer.backbone.kind} reward={cfg.reward.name} "
                f"steps={trainer.step}->{cfg.run.steps} processes={trainer.accelerator.num_processes}"
            )
        result = trainer.train()
        if not trainer.is_main:
            return
        last = result.evaluations[-1] if result.evaluations else {}
        first = result.evaluations[0] if result.evaluations else {}
        click.echo(
            f"done: {result.steps_done} steps, held-out reward {first.get('heldout_reward', float('nan')):.4f} -> "
            f"{last.get('heldout_reward', float('nan')):.4f}{' (stopped early)' if result.stopped_early else ''}"
        )
        click.echo(f"adapter: {result.adapter_dir}")

    @cli.command(name="export")
    @click.argument("run_dir", type=click.Path(file_okay=False))
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["lora", "pipeline"]),
        default="pipeline",
        show_default=True,
        help="lora: pytorch_lora_weights.safetensors for pipe.load_lora_weights; pipeline: a merged diffusers folder.",
    )
    @click.option("--out", type=click.Path(file_okay=False), required=True, help="Folder to write.")
    def export_command(run_dir: str, fmt: str, out: str) -> None:
        """Export a `gendesign finetune` run (RUN_DIR or its adapter folder) in a diffusers format."""
        from gendesign.generators.diffusion.export import export_finetuned

        path = export_finetuned(run_dir, out, format=fmt)  # type: ignore[arg-type]
        click.echo(f"exported {fmt}: {path}")
