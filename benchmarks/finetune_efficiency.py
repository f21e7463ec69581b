"""Reward fine-tuning benchmarks: sample efficiency of DDPO vs DRaFT-K vs AlignProp, and library overhead.

Part 1 (``curves``): the same tiny pixel UNet2D (seeded), the same differentiable weight-free reward
(mean luma, ``brightness``), the same batch size and learning rate; DDPO treats the reward as a
black box. Reward of the training batch is recorded against update steps, samples drawn and wall
time. The anchor (DRaFT, Clark et al. 2024; AlignProp, Prabhudesai et al. 2023): with a
differentiable reward the backprop methods are far more sample-efficient than DDPO.

Part 2 (``overhead``): per-step time and peak memory of the library's DRaFT-1 and DDPO steps against
straightforward hand-written loops over the same diffusers UNet and ``DDIMScheduler.step``, in the
same process, with library and hand-written updates interleaved so both see the same machine load.
Peak memory is the peak of the activations autograd saves for backward during one update
(:class:`SavedActivationMeter`); CPU tensors have no allocator statistics and the tiny models'
activations are below the resolution of the process RSS.

Run: ``python benchmarks/finetune_efficiency.py [--quick]``; writes
``benchmarks/results/finetune_efficiency.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch
from torch.utils.checkpoint import checkpoint

RESULTS = Path(__file__).parent / "results"
IMAGE_SIZE = 16
NUM_STEPS = 8
BATCH = 8
LR = 1e-2
PROMPTS = ["a red square", "a blue circle"]


def make_context(algorithm: str, seed: int = 0):
    from gendesign.generators.diffusion.algorithm import TrainContext
    from gendesign.generators.diffusion.backbone import DiffusionBackbone, TinyBackboneConfig
    from gendesign.generators.diffusion.lora import LoraSettings, add_lora
    from gendesign.generators.diffusion.sampling import SamplerSettings
    from gendesign.objectives.image_rewards import Brightness

    backbone = DiffusionBackbone.build_tiny(TinyBackboneConfig(kind="pixel", image_size=IMAGE_SIZE, prompts=PROMPTS, seed=seed))
    torch.manual_seed(seed)
    add_lora(backbone.unet, LoraSettings(rank=4))
    params = [p for p in backbone.unet.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.0)
    eta = 1.0 if algorithm == "ddpo" else 0.0
    sampler = SamplerSettings(num_steps=NUM_STEPS, eta=eta, image_size=IMAGE_SIZE)
    return TrainContext(backbone, backbone.unet, Brightness(), opt, sampler, torch.Generator().manual_seed(seed))


def make_algorithm(name: str):
    from gendesign.generators.diffusion.alignprop import AlignProp, AlignPropOptions
    from gendesign.generators.diffusion.ddpo import DDPO, DDPOOptions
    from gendesign.generators.diffusion.draft import DRaFT, DRaFTOptions

    if name == "ddpo":
        return DDPO(DDPOOptions(clip_range=0.2, minibatch_size=BATCH, min_count=BATCH, buffer_size=4 * BATCH))
    if name == "draft":
        return DRaFT(DRaFTOptions(k=1))
    return AlignProp(AlignPropOptions(strategy="gaussian", k_mean=3.0, k_std=2.0))


def curves(steps: int) -> dict:
    out = {}
    for name in ("ddpo", "draft", "alignprop"):
        ctx, algo = make_context(name), make_algorithm(name)
        rows, elapsed = [], 0.0
        for s in range(steps):
            prompts = [PROMPTS[i % len(PROMPTS)] for i in range(BATCH)]
            t0 = time.perf_counter()
            m = algo.step(ctx, prompts)
            elapsed += time.perf_counter() - t0
            rows.append({"step": s + 1, "samples": (s + 1) * BATCH, "wall_time": round(elapsed, 4), "reward": m["reward_mean"]})
        out[name] = rows
        print(f"{name}: reward {rows[0]['reward']:.4f} -> {rows[-1]['reward']:.4f} in {elapsed:.1f} s", flush=True)
    return out


def hand_draft_step(unet, sched, opt, labels, gen) -> float:
    """DRaFT-1 written directly against diffusers: DDIMScheduler.step, checkpoint on the last call."""
    sched.set_timesteps(NUM_STEPS)
    x = torch.randn((BATCH, 3, IMAGE_SIZE, IMAGE_SIZE), generator=gen)
    n = len(sched.timesteps)
    for i, t in enumerate(sched.timesteps):
        if i < n - 1:
            with torch.no_grad():
                x = sched.step(unet(x, t, class_labels=labels).sample, t, x, eta=0.0).prev_sample
        else:
            eps = checkpoint(lambda xi, ti=t: unet(xi, ti, class_labels=labels).sample, x, use_reentrant=False)
            x = sched.step(eps, t, x, eta=0.0).prev_sample
    img = (x + 1) / 2
    img = img + (img.clamp(0, 1) - img).detach()
    luma = 0.299 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2]
    loss = -luma.flatten(1).mean(1).mean()
    loss.backward()
    params = [p for p in unet.parameters() if p.requires_grad]
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(-loss.detach())


def hand_ddpo_step(unet, sched, opt, labels, gen) -> float:
    """DDPO (one inner epoch, one minibatch) written directly against diffusers' DDIM scheduler."""
    sched.set_timesteps(NUM_STEPS)
    eta = 1.0
    x = torch.randn((BATCH, 3, IMAGE_SIZE, IMAGE_SIZE), generator=gen)
    states, old_lp, stds = [x], [], []
    with torch.no_grad():
        for t in sched.timesteps:
            eps = unet(x, t, class_labels=labels).sample
            prev_t = t - sched.config.num_train_timesteps // NUM_STEPS
            std = eta * sched._get_variance(t, prev_t) ** 0.5
            mean = sched.step(eps, t, x, eta=eta, variance_noise=torch.zeros_like(x)).prev_sample
            x = mean + std * torch.randn(x.shape, generator=gen)
            old_lp.append((-((x - mean) ** 2) / (2 * std**2) - torch.log(std) - 0.5 * math.log(2 * math.pi)).flatten(1).mean(1))
            states.append(x)
            stds.append(std)
        img = ((x + 1) / 2).clamp(0, 1)
        r = (0.299 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2]).flatten(1).mean(1)
        adv = ((r - r.mean()) / (r.std(unbiased=False) + 1e-6)).clamp(-5, 5)
    order = torch.randperm(NUM_STEPS, generator=gen)
    for j in order.tolist():
        t = sched.timesteps[j]
        eps = unet(states[j], t, class_labels=labels).sample
        mean = sched.step(eps, t, states[j], eta=eta, variance_noise=torch.zeros_like(states[j])).prev_sample
        std = stds[j]
        lp = (-((states[j + 1] - mean) ** 2) / (2 * std**2) - torch.log(std) - 0.5 * math.log(2 * math.pi)).flatten(1).mean(1)
        ratio = torch.exp(lp - old_lp[j])
        loss = torch.maximum(-adv * ratio, -adv * ratio.clamp(0.8, 1.2)).mean()
        (loss / NUM_STEPS).backward()
    params = [p for p in unet.parameters() if p.requires_grad]
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return float(r.mean())


def variant_fn(variant: str):
    """A zero-argument callable doing one update of ``variant`` (``lib_draft``, ``hand_ddpo``, ...) on a fresh model."""
    algorithm = variant.split("_")[1]
    ctx = make_context(algorithm)
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(BATCH)]
    if variant.startswith("lib"):
        algo = make_algorithm(algorithm)
        return lambda: algo.step(ctx, prompts)
    labels = torch.tensor([PROMPTS.index(p) for p in prompts])
    hand = hand_draft_step if algorithm == "draft" else hand_ddpo_step
    return lambda: hand(ctx.backbone.unet, ctx.backbone.scheduler, ctx.optimizer, labels, ctx.generator)


class SavedActivationMeter:
    """Peak bytes of tensors saved for backward (the activation memory a training step holds).

    Every tensor autograd saves passes through a ``saved_tensors_hooks`` pack hook, which adds its
    size to a running total; the total resets after each ``torch.autograd.backward`` (the graph is
    freed). Tensors saved inside non-reentrant checkpointed regions go to the checkpoint's own hooks
    and are not held, so they are not counted. CPU tensors have no allocator statistics, which is
    why this is measured instead of allocator peaks.
    """

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        self.live += t.numel() * t.element_size()
        self.peak = max(self.peak, self.live)
        return t

    def measure(self, fn) -> int:
        original = torch.autograd.backward

        def backward(*args, **kwargs):
            out = original(*args, **kwargs)
            self.live = 0
            return out

        torch.autograd.backward = backward
        try:
            with torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t):
                fn()
        finally:
            torch.autograd.backward = original
        return self.peak


def overhead(steps: int) -> dict:
    """Interleave library and hand-written updates in this process (same load conditions), then measure memory."""
    out = {}
    for algorithm in ("draft", "ddpo"):
        lib_fn, hand_fn = variant_fn(f"lib_{algorithm}"), variant_fn(f"hand_{algorithm}")
        lib_fn(), hand_fn()
        lib, hand = [], []
        for i in range(steps):
            order = (lib_fn, hand_fn) if i % 2 == 0 else (hand_fn, lib_fn)
            for fn in order:
                t0 = time.perf_counter()
                fn()
                (lib if fn is lib_fn else hand).append(time.perf_counter() - t0)
        mem = {name: SavedActivationMeter().measure(fn) / 2**20 for name, fn in (("lib", lib_fn), ("hand", hand_fn))}
        lib_med, hand_med = statistics.median(lib), statistics.median(hand)
        ratios = sorted(a / b for a, b in zip(lib, hand))
        out[algorithm] = {
            "library_step_s_median": lib_med,
            "hand_written_step_s_median": hand_med,
            "time_ratio": lib_med / hand_med,
            "paired_ratio_median": statistics.median(ratios),
            "library_peak_saved_activations_mib": mem["lib"],
            "hand_written_peak_saved_activations_mib": mem["hand"],
            "steps_timed_each": len(lib),
        }
        print(f"{algorithm}: library {lib_med * 1e3:.1f} ms vs hand {hand_med * 1e3:.1f} ms -> {lib_med / hand_med:.3f}x", flush=True)
    return out


def markdown(result: dict) -> str:
    lines = [
        "# Reward fine-tuning benchmark",
        "",
        f"Tiny pixel UNet2D ({result['setup']['unet_params']} params, LoRA rank 4), {IMAGE_SIZE} px, {NUM_STEPS} DDIM steps, "
        f"batch {BATCH}, AdamW lr {LR}, reward = mean luma (`brightness`), CPU, 1 thread. Machine: {result['setup']['machine']}.",
        "",
        "## Reward against steps and wall time (training batch reward)",
        "",
        "| algorithm | reward @ step 1 | @ 25% | @ 50% | @ 100% | steps | samples | wall time (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in result["curves"].items():
        n = len(rows)
        pick = [rows[0], rows[max(0, n // 4 - 1)], rows[max(0, n // 2 - 1)], rows[-1]]
        lines.append(
            f"| {name} | " + " | ".join(f"{r['reward']:.4f}" for r in pick) + f" | {n} | {rows[-1]['samples']} | {rows[-1]['wall_time']:.1f} |"
        )
    lines += ["", "## Overhead against hand-written diffusers loops (same process, interleaved updates)", ""]
    lines += [
        "| algorithm | library step (ms) | hand-written step (ms) | ratio of medians | median paired ratio "
        "| library peak saved activations (MiB) | hand peak saved activations (MiB) |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for name, r in result["overhead"].items():
        lines.append(
            f"| {name} | {r['library_step_s_median'] * 1e3:.1f} | {r['hand_written_step_s_median'] * 1e3:.1f} | {r['time_ratio']:.3f} | "
            f"{r['paired_ratio_median']:.3f} | "
            f"{r['library_peak_saved_activations_mib']:.3f} | {r['hand_written_peak_saved_activations_mib']:.3f} |"
        )
    lines += ["", "Target: time ratio <= 1.1. Medians over all timed steps; the machine was shared, so absolute times are noisy."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import os
    import platform

    steps = 8 if args.quick else 30
    ctx = make_context("draft")
    result = {
        "setup": {
            "image_size": IMAGE_SIZE,
            "num_steps": NUM_STEPS,
            "batch": BATCH,
            "lr": LR,
            "unet_params": sum(p.numel() for p in ctx.backbone.unet.parameters()),
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
        },
        "curves": curves(steps),
        "overhead": overhead(4 if args.quick else 12),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "finetune_efficiency.json").write_text(json.dumps(result, indent=1))
    (RESULTS / "finetune_efficiency.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
