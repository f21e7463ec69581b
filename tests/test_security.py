"""Exploit probes: model files that try to run code or read outside their directory are refused.

Each payload runs ``touch MARKER``. A refusal must name the file and the fix, and the marker must not
appear. Where a test shows the payload is live (loaded with trust, or unpickled directly), the
marker does appear, so a loader that silently skipped the payload could not pass for a safe one.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gendesign.core.campaign import CHECKPOINT_FORMAT, load_checkpoint
from gendesign.core.errors import CampaignError, ConfigError, GendesignError

FEATURES = 20  # the "aac" featurizer: amino-acid fractions


class _Payload:
    """Pickles to ``os.system("touch MARKER")``: unpickling it runs the command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def _skops_payload(marker: Path) -> bytes:
    """A valid skops dump of a fitted Ridge whose state holds a node that calls ``os.system`` when built.

    skops' ``ConstructorFromReduceNode`` calls ``module.name(*args)``; with ``os``/``system`` that is a shell command.
    """
    sio = pytest.importorskip("skops.io")
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    src = zipfile.ZipFile(io.BytesIO(sio.dumps(Ridge().fit(rng.random((30, FEATURES)), rng.random(30)))))
    schema = json.loads(src.read("schema.json"))
    command = {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(f"touch {shlex.quote(str(marker))}"),
        "is_json": True,
        "__id__": 1,
    }
    args = {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "content": [command], "__id__": 2}
    attrs = schema["content"]
    attrs["content"]["payload_"] = {
        "__class__": "system",
        "__module__": "os",
        "__loader__": "ConstructorFromReduceNode",
        "content": args,
        "__id__": 3,
    }
    attrs["key_types"]["content"].append(dict(attrs["key_types"]["content"][0]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            z.writestr(name, json.dumps(schema) if name == "schema.json" else src.read(name))
    return out.getvalue()


def _user_model_dir(path: Path, weights: str, **extra) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    fmt = "torch_mlp" if weights.endswith((".pt", ".safetensors")) else "sklearn"
    cfg = {"format": fmt, "featurizer": "aac", "outputs": ["y"], "weights": weights, **extra}
    (path / "config.json").write_text(json.dumps(cfg))
    return path


@pytest.fixture
def marker(tmp_path):
    return tmp_path / "MARKER"


# --- skops: trust comes from us or the campaign config, never from the model directory ----------


@pytest.fixture
def skops_payload_dir(tmp_path, marker):
    pytest.importorskip("rdkit")
    d = _user_model_dir(tmp_path / "evil", "model.skops")
    (d / "model.skops").write_bytes(_skops_payload(marker))
    return d


def test_skops_payload_trusted_by_its_own_config_json_is_refused_and_runs_nothing(skops_payload_dir, marker):
    from gendesign.plugins.peptides.user_models import load_user_model

    cfg = json.loads((skops_payload_dir / "config.json").read_text())
    (skops_payload_dir / "config.json").write_text(json.dumps({**cfg, "trusted_types": ["os.system"]}))
    with pytest.raises(ConfigError, match=r"trust is never read from the model directory.*trusted_types = \[") as err:
        load_user_model(skops_payload_dir)
    assert str(skops_payload_dir / "config.json") in str(err.value)
    assert not marker.exists()


def test_skops_file_with_an_os_system_node_is_refused_naming_the_type_and_the_option(skops_payload_dir, marker):
    from gendesign.plugins.peptides.user_models import load_user_model

    with pytest.raises(ConfigError, match=r"model\.skops contains types that are not trusted: \['os\.system'\]") as err:
        load_user_model(skops_payload_dir)
    assert "trusted_types = [...]" in str(err.value)
    assert not marker.exists()


def test_gendesign_validate_refuses_the_skops_payload_and_runs_nothing(skops_payload_dir, marker, tmp_path, monkeypatch, capsys):
    from gendesign.cli import main

    cfg = json.loads((skops_payload_dir / "config.json").read_text())
    (skops_payload_dir / "config.json").write_text(json.dumps({**cfg, "trusted_types": ["os.system"]}))
    config = tmp_path / "campaign.toml"
    config.write_text(
        "[campaign]\nbudget = 8\nbatch_size = 4\nseed = 0\n\n[space]\nname = \"peptide\"\n\n"
        f"[[objectives]]\nname = \"user_model\"\noptions = {{ path = {json.dumps(str(skops_payload_dir))} }}\n\n"
        "[strategy]\nname = \"random\"\n"
    )
    monkeypatch.setattr(sys, "argv", ["gendesign", "validate", str(config)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code != 0
    assert "trust is never read from the model directory" in capsys.readouterr().err
    assert not marker.exists()


def test_the_skops_payload_is_live_when_the_user_trusts_its_type(skops_payload_dir, marker):
    from gendesign.plugins.peptides.objectives import UserModelObjective

    UserModelObjective(str(skops_payload_dir), trusted_types=["os.system"])
    assert marker.exists()


@pytest.mark.parametrize("family", ["forest", "hist_boosting", "gaussian_process", "mlp_pipeline"])
def test_legit_skops_models_with_only_allow_listed_types_load_and_score(family, tmp_path):
    pytest.importorskip("rdkit")
    sio = pytest.importorskip("skops.io")
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from gendesign.plugins.peptides.notation import parse_peptide
    from gendesign.plugins.peptides.objectives import UserModelObjective
    from gendesign.plugins.peptides.user_models import SKLEARN_TRUSTED_TYPES, featurize_for

    est = {
        "forest": lambda: RandomForestRegressor(n_estimators=4, random_state=0),
        "hist_boosting": lambda: HistGradientBoostingRegressor(max_iter=5),
        "gaussian_process": lambda: GaussianProcessRegressor(ConstantKernel() * RBF() + WhiteKernel()),
        "mlp_pipeline": lambda: make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(8,), max_iter=30, random_state=0)),
    }[family]()
    rng = np.random.default_rng(0)
    x = rng.dirichlet(np.ones(FEATURES), size=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tiny MLP stops before convergence, on purpose
        est.fit(x, x[:, 9] - x[:, 3])
    d = _user_model_dir(tmp_path / family, "model.skops")
    sio.dump(est, str(d / "model.skops"))
    needed = sio.get_untrusted_types(file=str(d / "model.skops"))
    assert needed and set(needed) <= set(SKLEARN_TRUSTED_TYPES)
    obj = UserModelObjective(str(d))
    peps = ["GLWSKIKEVGK", "KKLLKKLLKK", "DEDEDEAA"]
    expected = est.predict(featurize_for(obj.model.cfg, [parse_peptide(p) for p in peps]).numpy())
    np.testing.assert_allclose(obj(peps).values.numpy().ravel(), expected, rtol=1e-5, atol=1e-6)


# --- pickles: refused unless the user passes trust_pickle ---------------------------------------


def _pickle_is_live(path: Path, marker: Path) -> None:
    """Unpickle ``path`` without protection and check that the payload ran (then clean up)."""
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()


def test_campaign_checkpoint_with_a_pickle_payload_is_refused_and_runs_nothing(tmp_path, marker):
    ckpt = tmp_path / "checkpoint.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "strategy": {"state": _Payload(marker)}}, ckpt)
    with pytest.raises(CampaignError, match=r"(?s)cannot load checkpoint .*checkpoint\.pt.*posix\.system.*tensors and JSON-like values"):
        load_checkpoint(ckpt)
    assert not marker.exists()
    _pickle_is_live(ckpt, marker)


def test_pt_user_model_with_a_pickle_payload_is_refused_and_runs_nothing(tmp_path, marker):
    pytest.importorskip("rdkit")
    from gendesign.plugins.peptides.user_models import MLP, load_user_model

    d = _user_model_dir(tmp_path / "pt", "model.pt")
    torch.save({**MLP(FEATURES, [], 1, "gelu").state_dict(), "evil": _Payload(marker)}, d / "model.pt")
    with pytest.raises(ConfigError, match=r"model\.pt is not a plain state dict: torch\.load\(weights_only=True\) refused it"):
        load_user_model(d)
    assert not marker.exists()
    _pickle_is_live(d / "model.pt", marker)


def test_joblib_user_model_needs_trust_pickle_and_runs_nothing_without_it(tmp_path, marker):
    pytest.importorskip("rdkit")
    joblib = pytest.importorskip("joblib")
    from gendesign.plugins.peptides.user_models import load_user_model

    d = _user_model_dir(tmp_path / "jb", "model.joblib")
    joblib.dump(_Payload(marker), d / "model.joblib")
    with pytest.raises(ConfigError, match=r"model\.joblib is a pickle, which runs arbitrary code.*trust_pickle = true"):
        load_user_model(d)
    assert not marker.exists()
    with pytest.raises(GendesignError, match="holds a int without a predict"):  # the payload ran and returned 0
        load_user_model(d, trust_pickle=True)
    assert marker.exists()


# --- symlinks and names that lead out of a model directory ---------------------------------------


def test_user_model_files_linked_out_of_the_directory_are_refused(tmp_path):
    pytest.importorskip("rdkit")
    from safetensors.torch import save_file

    from gendesign.plugins.peptides.user_models import MLP, load_user_model

    outside = tmp_path / "outside"
    outside.mkdir()
    save_file(MLP(FEATURES, [], 1, "gelu").state_dict(), str(outside / "model.safetensors"))
    d = _user_model_dir(tmp_path / "linked", "model.safetensors")
    (d / "model.safetensors").symlink_to(outside / "model.safetensors")
    with pytest.raises(ConfigError, match=r"weights 'model\.safetensors' resolves to .*outside/model\.safetensors, outside the model directory"):
        load_user_model(d)
    (d / "model.safetensors").unlink()
    save_file(MLP(FEATURES, [], 1, "gelu").state_dict(), str(d / "model.safetensors"))
    assert load_user_model(d).predict([]).shape == (0, 1)  # the same directory with the real file loads
    (outside / "config.json").write_text((d / "config.json").read_text())
    (d / "config.json").unlink()
    (d / "config.json").symlink_to(outside / "config.json")
    with pytest.raises(ConfigError, match=r"user model config 'config\.json' resolves to .*outside the model directory"):
        load_user_model(d)


def test_generator_from_pretrained_refuses_weights_linked_out_of_the_directory(tmp_path):
    from gendesign.generators.mdlm.model import MaskedDiffusionLM

    torch.manual_seed(0)
    model = MaskedDiffusionLM(4, 8, d_model=16, n_layers=1, n_heads=2)
    saved = model.save_pretrained(tmp_path / "m")
    assert MaskedDiffusionLM.from_pretrained(saved) is not None
    (saved / "model.safetensors").rename(tmp_path / "elsewhere.safetensors")
    (saved / "model.safetensors").symlink_to(tmp_path / "elsewhere.safetensors")
    with pytest.raises(ConfigError, match=r"generator weights 'model\.safetensors' resolves to .*elsewhere\.safetensors, outside"):
        MaskedDiffusionLM.from_pretrained(saved)
    (saved / "model.safetensors").unlink()
    (saved / "model.safetensors").symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="outside the model directory"):
        MaskedDiffusionLM.from_pretrained(saved)


def _fake_pipeline(path: Path, index: dict) -> Path:
    path.mkdir(parents=True)
    (path / "model_index.json").write_text(json.dumps({"_diffusers_version": "0.30.0", **index}))
    return path


def test_diffusers_folders_with_custom_code_or_outside_links_are_refused_before_diffusers_reads_them(tmp_path, marker):
    pytest.importorskip("diffusers")
    from gendesign.generators.diffusion.backbone import DiffusionBackbone

    custom = _fake_pipeline(tmp_path / "custom", {"_class_name": ["pipe", "EvilPipeline"], "unet": ["diffusers", "UNet2DModel"]})
    (custom / "pipe.py").write_text(f"import os\nos.system({f'touch {shlex.quote(str(marker))}'!r})\n")
    with pytest.raises(ConfigError, match=r"_class_name=\['pipe', 'EvilPipeline'\] is not a diffusers pipeline class"):
        DiffusionBackbone.from_pretrained(custom)
    foreign = _fake_pipeline(tmp_path / "foreign", {"_class_name": "DDIMPipeline", "unet": ["os", "system"]})
    with pytest.raises(ConfigError, match=r"component 'unet' comes from library 'os'"):
        DiffusionBackbone.from_pretrained(foreign)
    auto = _fake_pipeline(tmp_path / "auto", {"_class_name": "DDIMPipeline", "unet": ["transformers", "AutoModel"]})
    with pytest.raises(ConfigError, match=r"component 'unet' is a transformers AutoModel"):
        DiffusionBackbone.from_pretrained(auto)
    linked = _fake_pipeline(tmp_path / "linked", {"_class_name": "DDIMPipeline", "unet": ["diffusers", "UNet2DModel"]})
    (linked / "unet").mkdir()
    (tmp_path / "secret.safetensors").write_bytes(b"x")
    (linked / "unet" / "diffusion_pytorch_model.safetensors").symlink_to(tmp_path / "secret.safetensors")
    with pytest.raises(ConfigError, match=r"unet/diffusion_pytorch_model\.safetensors' resolves to .*secret\.safetensors, outside"):
        DiffusionBackbone.from_pretrained(linked)
    assert not marker.exists()


def test_learned_image_reward_refuses_a_clip_subfolder_outside_its_directory(tmp_path):
    pytest.importorskip("transformers")
    from gendesign.objectives.image_learned import CONFIG_FILE, CLIPHeadReward, HeadConfig

    (tmp_path / "clip").mkdir()
    d = tmp_path / "reward"
    d.mkdir()
    (d / CONFIG_FILE).write_text(HeadConfig(embedding_dim=4, clip_subfolder="../clip").model_dump_json())
    with pytest.raises(ConfigError, match=r"clip_subfolder '\.\./clip' resolves to .*outside the model directory"):
        CLIPHeadReward(str(d))


def test_the_user_model_example_in_docs_security_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("rdkit")
    pytest.importorskip("skops")
    import re

    from gendesign.cli import main

    text = (Path(__file__).parents[1] / "docs" / "security.md").read_text()
    python = re.findall(r"```python\n(.*?)```", text, re.S)
    toml = re.findall(r"```toml\n(.*?)```", text, re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(python[0], "docs/security.md", "exec"), {})
    (tmp_path / "user_model.toml").write_text(toml[0])
    for args in (["validate", "user_model.toml"], ["run", "user_model.toml", "--run-dir", "runs/user_model"]):
        monkeypatch.setattr(sys, "argv", ["gendesign", *args])
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, capsys.readouterr().err
    summary = json.loads((tmp_path / "runs" / "user_model" / "summary.json").read_text())
    assert summary["evaluations"] == 16 and not any(summary["invalid"].values())
