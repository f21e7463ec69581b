"""``gendesign train CONFIG`` for ``generator = "nap"``: PPO fine-tuning of a TNP into a NAP policy, with Lightning.

Config tables (all ``extra="forbid"``): ``[init]`` (the TNP to start from), ``[model]`` (the heads),
``[task]`` (the pool-based episodes of :mod:`gendesign.generators.nap.ppo`), ``[training]`` (PPO and
Lightning settings) and ``[output]``. Each Lightning step is one PPO iteration: roll out
``episodes`` episodes with the current policy (no gradient), then ``epochs`` gradient steps on the
loss of :func:`~gendesign.generators.nap.ppo.ppo_losses`. Lightning gives GPU and multi-device
training without code of ours (``accelerator``, ``devices``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gendesign.core.config import read_toml
from gendesign.core.errors import ConfigError
from gendesign.core.registry import format_validation_error
from gendesign.generators.nap.policy import NAPPolicy
from gendesign.generators.nap.ppo import gae, ppo_losses, rollout, sample_pool_tasks


class InitOptions(BaseModel):
    """``[init]``: ``tnp_path``, a trained TNP directory (default: the shipped model)."""

    model_config = ConfigDict(extra="forbid")
    tnp_path: str | None = None


class HeadOptions(BaseModel):
    """``[model]``: the acquisition head (:class:`~gendesign.generators.nap.policy.NAPPolicy`)."""

    model_config = ConfigDict(extra="forbid")
    hidden: int = Field(64, gt=0)
    layers: int = Field(2, gt=0)
    temperature: float = Field(0.1, gt=0)


class TaskOptions(BaseModel):
    """``[task]``: GP-prior pool episodes, dimension uniform in ``[min_dim, max_dim]`` per iteration."""

    model_config = ConfigDict(extra="forbid")
    min_dim: int = Field(1, gt=0)
    max_dim: int = Field(4, gt=0)
    pool: int = Field(128, ge=8)
    lengthscale: tuple[float, float] = (0.1, 0.5)
    n_init: int = Field(2, ge=1)
    horizon: int = Field(16, ge=1)
    regret_floor: float = Field(1e-6, gt=0, lt=1)


class PPOOptions(BaseModel):
    """``[training]``: PPO and Lightning settings."""

    model_config = ConfigDict(extra="forbid")
    iterations: int = Field(50, gt=0)
    episodes: int = Field(16, gt=0, description="episodes rolled out per iteration")
    epochs: int = Field(1, gt=0, description="gradient steps per iteration")
    lr: float = Field(3e-5, gt=0)
    clip: float = Field(0.15, gt=0, lt=1)
    gamma: float = Field(0.98, gt=0, le=1)
    lam: float = Field(0.98, ge=0, le=1)
    value_coef: float = Field(1.0, ge=0)
    nll_coef: float = Field(1.0, ge=0)
    grad_clip: float = Field(0.5, gt=0)
    max_minutes: float | None = Field(None, gt=0)
    seed: int = 0
    accelerator: Literal["cpu", "gpu", "auto"] = "cpu"
    devices: int | str = 1


class OutputOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dir: str


class NAPTrainConfig(BaseModel):
    """A NAP training config (``generator = "nap"``)."""

    model_config = ConfigDict(extra="forbid")
    generator: Literal["nap"] = "nap"
    init: InitOptions = Field(default_factory=InitOptions)
    model: HeadOptions = Field(default_factory=HeadOptions)
    task: TaskOptions = Field(default_factory=TaskOptions)
    training: PPOOptions = Field(default_factory=PPOOptions)
    output: OutputOptions


def load_config(path: str | Path) -> NAPTrainConfig:
    try:
        cfg = NAPTrainConfig.model_validate(read_toml(path, what="NAP train config"))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=str(path), model=NAPTrainConfig)) from None
    if cfg.task.min_dim > cfg.task.max_dim:
        raise ConfigError(f"{path}: [task] min_dim = {cfg.task.min_dim} exceeds max_dim = {cfg.task.max_dim}")
    return cfg


def initial_policy(cfg: NAPTrainConfig) -> NAPPolicy:
    """The policy to fine-tune: the ``[init]`` TNP plus fresh heads."""
    from gendesign.generators.tnp.model import TransformerNeuralProcess, shipped_model_dir

    tnp = TransformerNeuralProcess.from_pretrained(cfg.init.tnp_path or shipped_model_dir())
    if cfg.task.max_dim > tnp.max_dim:
        raise ConfigError(f"[task] max_dim = {cfg.task.max_dim} exceeds the TNP's max_dim = {tnp.max_dim}")
    return NAPPolicy.from_tnp(tnp, **cfg.model.model_dump()).train()


def _module(cfg: NAPTrainConfig, policy: NAPPolicy) -> Any:
    import lightning as L

    class NAPModule(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.policy = policy
            self.automatic_optimization = False
            self.task_generator = torch.Generator().manual_seed(cfg.training.seed + 7919 * self.global_rank)
            self.started = time.monotonic()
            self.history: list[dict[str, float]] = []

        def configure_optimizers(self) -> Any:
            return torch.optim.Adam(self.policy.parameters(), lr=cfg.training.lr)

        def training_step(self, batch: Any, batch_idx: int) -> None:
            t, tr = cfg.task, cfg.training
            dim = int(torch.randint(t.min_dim, t.max_dim + 1, (1,), generator=self.task_generator))
            x, y = sample_pool_tasks(tr.episodes, t.pool, dim, lengthscale=t.lengthscale, generator=self.task_generator)
            x, y = x.to(self.device), y.to(self.device)
            ep = rollout(self.policy, x, y, n_init=t.n_init, horizon=t.horizon, regret_floor=t.regret_floor, generator=self.task_generator)
            adv, ret = gae(ep.rewards, ep.values, tr.gamma, tr.lam)
            opt = self.optimizers()
            for _ in range(tr.epochs):
                losses = ppo_losses(self.policy, ep, adv, ret, clip=tr.clip, value_coef=tr.value_coef, nll_coef=tr.nll_coef)
                opt.zero_grad()
                self.manual_backward(losses.total)
                torch.nn.utils.clip_grad_norm_(self.policy.parameters(), tr.grad_clip)
                opt.step()
            final_regret = float((1.0 - torch.gather(ep.y, 1, ep.order).max(-1).values).mean())
            row = {"iteration": float(batch_idx), "loss": losses.total.item(), "policy": losses.policy.item(), "value": losses.value.item(), "nll": losses.nll.item(), "final_regret": final_regret}
            self.history.append(row)
            self.log_dict({k: v for k, v in row.items() if k != "iteration"}, prog_bar=True)
            if tr.max_minutes is not None and time.monotonic() - self.started > 60 * tr.max_minutes:
                self.trainer.should_stop = True

    return NAPModule()


def train(config: str | Path) -> str:
    """Train per ``config``, save the policy to ``[output] dir`` and return a one-line summary."""
    import lightning as L

    cfg = load_config(config)
    torch.manual_seed(cfg.training.seed)
    policy = initial_policy(cfg)
    module = _module(cfg, policy)
    trainer = L.Trainer(
        max_epochs=1, accelerator=cfg.training.accelerator, devices=cfg.training.devices,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )
    loader = torch.utils.data.DataLoader(range(cfg.training.iterations), batch_size=None)
    trainer.fit(module, loader)
    history = module.history
    first = sum(r["final_regret"] for r in history[:5]) / max(len(history[:5]), 1)
    last = sum(r["final_regret"] for r in history[-5:]) / max(len(history[-5:]), 1)
    meta = {"iterations": len(history), "task": cfg.task.model_dump(), "training": cfg.training.model_dump(), "init": cfg.init.model_dump(),
            "final_regret_first5": first, "final_regret_last5": last, "history": history[-50:]}
    policy.cpu().eval().save_pretrained(cfg.output.dir, extra=meta)
    return f"saved NAPPolicy to {cfg.output.dir} after {len(history)} PPO iterations; mean final regret {first:.4f} (first 5) -> {last:.4f} (last 5)"
