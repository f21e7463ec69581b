"""Lightning training: files written, validation bound, resume, config errors, DDP with gloo."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("lightning")

from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.generators.mdlm.model import MaskedDiffusionLM  # noqa: E402
from gendesign.generators.mdlm.training import CorpusData, DataOptions, load_train_config, train  # noqa: E402


def write_corpus(path: Path, n: int = 40) -> Path:
    g = torch.Generator().manual_seed(0)
    lines = ["# peptides", ""]
    for _ in range(n):
        length = int(torch.randint(3, 8, (1,), generator=g))
        lines.append("".join("ACDEG"[int(i)] for i in torch.randint(0, 5, (length,), generator=g)))
    path.write_text("\n".join(lines) + "\n")
    return path


def config(tmp_path: Path, **training) -> dict:
    opts = {"max_steps": 6, "batch_size": 8, "val_every_steps": 3, "checkpoint_every_steps": 3, "warmup_steps": 2, "lr": 1e-3}
    opts.update(training)
    return {
        "data": {"corpus": str(write_corpus(tmp_path / "corpus.txt")), "tokenizer": "residue", "alphabet": "ACDEG", "val_fraction": 0.2},
        "model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "dropout": 0.0},
        "training": opts,
        "output": {"dir": str(tmp_path / "run")},
    }


def test_corpus_split_and_lengths(tmp_path):
    data = CorpusData(DataOptions(corpus=str(write_corpus(tmp_path / "c.txt")), tokenizer="residue", alphabet="ACDEG", val_fraction=0.25))
    assert len(data.train_ids) + len(data.val_ids) == 40 and len(data.val_ids) == 10
    assert data.max_length == max(len(r) for r in data.train_ids + data.val_ids)
    with pytest.raises(ConfigError, match="max_length=3"):
        CorpusData(DataOptions(corpus=str(tmp_path / "c.txt"), tokenizer="residue", alphabet="ACDEG", max_length=3))
    short = CorpusData(DataOptions(corpus=str(tmp_path / "c.txt"), tokenizer="residue", alphabet="ACDEG", max_length=5, drop_longer=True))
    assert short.dropped["too_long"] > 0 and max(len(r) for r in short.train_ids) <= 5
    with pytest.raises(ConfigError, match="cannot be tokenised"):
        CorpusData(DataOptions(corpus=str(tmp_path / "c.txt"), tokenizer="residue", alphabet="ACD"))


def test_corpus_space_is_built_by_the_plugin_system_passed_in(tmp_path):
    from gendesign.core.plugins import PluginSystem

    corpus = tmp_path / "c.txt"
    corpus.write_text("ACD\nAXC\nGGE\n")
    options = DataOptions(corpus=str(corpus), tokenizer="residue", space={"name": "sequence", "options": {"alphabet": "ACDEG", "min_length": 1, "max_length": 5}}, validate_designs=True, val_fraction=0.0)
    data = CorpusData(options, PluginSystem(entry_points=False))
    assert data.dropped["invalid"] == 1 and data.num_designs == 2 and data.tokenizer.tokens[:5] == list("ACDEG")
    with pytest.raises(ConfigError, match="no plugin system was given"):
        CorpusData(options)


def test_config_typos_are_named():
    with pytest.raises(ConfigError, match="lrr"):
        load_train_config({"data": {"corpus": "x"}, "output": {"dir": "y"}, "training": {"lrr": 1}})
    with pytest.raises(ConfigError, match="alphabet"):
        load_train_config({"data": {"corpus": "x", "tokenizer": "residue"}, "output": {"dir": "y"}})


def test_train_saves_loads_and_resumes(tmp_path):
    cfg = config(tmp_path)
    model = train(cfg)
    out = tmp_path / "run"
    assert (out / "model.safetensors").is_file() and (out / "checkpoints" / "last.ckpt").is_file()
    meta = MaskedDiffusionLM.load_meta(out)
    assert meta["global_step"] == 6 and meta["num_val"] == 8 and meta["resumed_from"] is None
    assert math.isclose(meta["val_ppl_bound"], math.exp(meta["val_nelbo_per_token"]), rel_tol=1e-5)
    assert 0 < meta["val_nelbo_per_token"] < 5
    loaded = MaskedDiffusionLM.from_pretrained(out).eval()
    x = loaded.encode(["ACD", "GGEA"])
    x_t = torch.where(torch.rand(x.shape, generator=torch.Generator().manual_seed(0)) < 0.5, loaded.mask_id, x)
    x_t[x == loaded.pad_id] = loaded.pad_id
    assert torch.equal(model(x_t, torch.ones(2)), loaded(x_t, torch.ones(2)))
    assert float(loaded.length_counts.sum()) == 32
    assert json.loads((out / "train_config.json").read_text())["training"]["max_steps"] == 6
    resumed = config(tmp_path, max_steps=9)
    train(resumed)
    meta2 = MaskedDiffusionLM.load_meta(out)
    assert meta2["global_step"] == 9 and meta2["resumed_from"].endswith("last.ckpt")


@pytest.mark.slow
def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    import tomllib  # noqa: F401

    cfg = config(tmp_path, devices=2, strategy="ddp", max_steps=4)
    lines = []
    for section, values in cfg.items():
        lines.append(f"[{section}]")
        for k, v in values.items():
            lines.append(f"{k} = {json.dumps(v)}")
    path = tmp_path / "ddp.toml"
    path.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PL_DISABLE_FORK": "1"}
    exe = Path(sys.executable).parent / "gendesign"
    proc = subprocess.run([str(exe), "train", str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Initializing distributed: GLOBAL_RANK: 1, MEMBER: 2/2" in proc.stderr + proc.stdout
    meta = MaskedDiffusionLM.load_meta(tmp_path / "run")
    assert meta["global_step"] == 4
    assert math.isfinite(meta["val_nelbo_per_token"])


def test_selfies_corpus_trains_a_model_whose_samples_are_all_molecules(tmp_path):
    pytest.importorskip("selfies")
    from rdkit import Chem

    corpus = tmp_path / "mols.smi"
    corpus.write_text("\n".join(["CCO", "c1ccccc1", "CC(=O)O", "CCN(CC)CC", "OC1CCCCC1", "CC(C)Cc1ccccc1", "NCC(=O)O", "COc1ccccc1"] * 3) + "\n")
    cfg = {
        "data": {"corpus": str(corpus), "tokenizer": "selfies", "val_fraction": 0.2},
        "model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "dropout": 0.0},
        "training": {"max_steps": 4, "batch_size": 8, "val_every_steps": 2, "checkpoint_every_steps": 2, "warmup_steps": 1},
        "output": {"dir": str(tmp_path / "run")},
    }
    train(cfg)
    model = MaskedDiffusionLM.from_pretrained(tmp_path / "run")
    assert model.tokenizer.kind == "selfies"
    samples = model.generate(40, steps=8, generator=torch.Generator().manual_seed(0))
    assert all(Chem.MolFromSmiles(s) is not None for s in samples)


def test_untokenizable_lines_fail_with_the_fix_or_are_dropped_on_request(tmp_path):
    pytest.importorskip("selfies")
    corpus = tmp_path / "mols.smi"
    corpus.write_text("CCO\nCC1=[N+](C)C=CC=C1.Cl[I]Cl\nc1ccccc1\n")
    with pytest.raises(ConfigError, match="design 2 .*drop_untokenizable"):
        CorpusData(DataOptions(corpus=str(corpus), tokenizer="selfies", val_fraction=0.0))
    data = CorpusData(DataOptions(corpus=str(corpus), tokenizer="selfies", val_fraction=0.0, drop_untokenizable=True))
    assert data.dropped["untokenizable"] == 1 and len(data.train_ids) == 2


@pytest.mark.parametrize("name", ["mdlm_smiles.toml", "mdlm_peptide_sequences.toml"])
def test_example_training_configs_validate(name):
    from gendesign.core.config import read_toml

    cfg = load_train_config(read_toml(Path(__file__).resolve().parents[3] / "examples" / name))
    assert cfg.training.max_steps > 0 and cfg.output.dir


def test_nelbo_step_fits_a_tiny_corpus_and_clips_gradients():
    from gendesign.generators.mdlm.training import nelbo_step

    torch.manual_seed(0)
    model = MaskedDiffusionLM(4, 6, d_model=16, n_layers=1, n_heads=2, dropout=0.0)
    x0 = torch.tensor([[0, 1, 2, 3, 0, 1], [3, 2, 1, 0, 3, 2]]).repeat(8, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(0)
    first = [nelbo_step(model, opt, x0, generator=g) for _ in range(10)]
    for _ in range(300):
        nelbo_step(model, opt, x0, generator=g)
    last = [nelbo_step(model, opt, x0, generator=g) for _ in range(10)]
    assert sum(last) < 0.5 * sum(first)
    sgd = torch.optim.SGD(model.parameters(), lr=0.0)
    nelbo_step(model, sgd, x0, generator=g, grad_clip=1e-3)
    norm = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters() if p.grad is not None))
    assert float(norm) <= 1e-3 * (1 + 1e-4)


def test_peptide_mdlm_training_script_writes_a_loadable_model(tmp_path):
    pytest.importorskip("modlamp")
    from gendesign.plugins.peptides.train_mdlm import train as train_peptide_mdlm

    record = train_peptide_mdlm(tmp_path, steps=4, batch_size=8, d_model=16, n_layers=1, n_heads=2)
    model = MaskedDiffusionLM.from_pretrained(tmp_path)
    assert record["hyperparameters"]["steps"] == 4 and len(record["history"]) == 1
    assert math.isfinite(record["history"][0]["val_nelbo_per_token"])
    assert model.sample(3, steps=4, generator=torch.Generator().manual_seed(0)).shape[0] == 3


@pytest.mark.parametrize("key", ["", 'generator = "mdlm"\n'])
def test_gendesign_train_trains_mdlm_by_default_and_by_name(tmp_path, key):
    from click.testing import CliRunner

    from gendesign.api import dump_toml
    from gendesign.cli import cli

    path = tmp_path / "mdlm.toml"
    path.write_text(key + dump_toml(config(tmp_path, max_steps=2)))
    result = CliRunner().invoke(cli, ["train", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "saved MaskedDiffusionLM" in result.output and MaskedDiffusionLM.load_meta(tmp_path / "run")["global_step"] == 2
