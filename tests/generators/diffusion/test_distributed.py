"""Two CPU processes (gloo, through accelerate) keep identical weights after an update."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

WORKER = textwrap.dedent(
    """
    import json, sys, torch
    torch.set_num_threads(1)
    from safetensors.torch import save_file
    from gendesign.generators.diffusion.config import parse_finetune_config
    from gendesign.generators.diffusion.lora import lora_state_dict
    from gendesign.core.plugins import PluginSystem
    from gendesign.generators.diffusion.trainer import FinetuneTrainer

    out = sys.argv[1]
    cfg = parse_finetune_config({
        "run": {"output_dir": out + "/run", "steps": 2, "batch_size": 2, "eval_every": 0, "save_every": 0, "seed": 1},
        "model": {"tiny": {"kind": "pixel", "image_size": 8, "prompts": ["a", "b"], "block_out_channels": [8, 16]}},
        "sampler": {"num_steps": 3, "eta": 0.0, "image_size": 8},
        "training": {"algorithm": "draft", "learning_rate": 1e-2},
        "reward": {"name": "brightness"},
        "prompts": {"train": ["a", "b"]},
    })
    trainer = FinetuneTrainer(cfg, plugins=PluginSystem(entry_points=False))
    before = lora_state_dict(trainer.trained)
    result = trainer.train()
    rank = trainer.rank
    save_file(lora_state_dict(trainer.trained), f"{out}/rank{rank}.safetensors")
    save_file(before, f"{out}/init{rank}.safetensors")
    json.dump({"world": trainer.accelerator.num_processes, "rewards": [r["reward_mean"] for r in result.history]},
              open(f"{out}/rank{rank}.json", "w"))
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_keep_identical_weights(tmp_path):
    from safetensors.torch import load_file

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    port = _free_port()
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            WORLD_SIZE="2",
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            LOCAL_WORLD_SIZE="2",
            OMP_NUM_THREADS="1",
        )
        procs.append(subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env, stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    w0, w1 = load_file(str(tmp_path / "rank0.safetensors")), load_file(str(tmp_path / "rank1.safetensors"))
    init = load_file(str(tmp_path / "init0.safetensors"))
    assert all(torch.equal(w0[k], w1[k]) for k in w0)
    assert any(not torch.equal(w0[k], init[k]) for k in w0)
    info = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert info[0]["world"] == info[1]["world"] == 2
    assert info[0]["rewards"] != info[1]["rewards"]
    assert (tmp_path / "run" / "adapter" / "adapter_model.safetensors").is_file()
