"""Loading user-supplied property models from local directories."""

import json

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")

from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.plugins.peptides.notation import parse_peptide  # noqa: E402
from gendesign.plugins.peptides.objectives import UserModelObjective  # noqa: E402
from gendesign.plugins.peptides.user_models import MLP, featurize_for, load_user_model  # noqa: E402

PEPS = [parse_peptide(s) for s in ["GLWSKIKEVGK", "KKLLKKLLKK", "Ac-[dK]WW[Orn]-NH2", "DEDEDEAA"]]


def _write(path, cfg):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(cfg))
    return path


def test_torch_safetensors_and_pt_state_dicts_load_and_predict_exactly(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = MLP(20, [8], 2, "relu")
    cfg = {
        "format": "torch_mlp",
        "featurizer": "aac",
        "outputs": ["a", "b"],
        "directions": ["max", "min"],
        "hidden": [8],
        "activation": "relu",
    }
    st = _write(tmp_path / "st", {**cfg, "weights": "model.safetensors"})
    save_file(net.state_dict(), str(st / "model.safetensors"))
    pt = _write(tmp_path / "pt", {**cfg, "weights": "model.pt"})
    torch.save(net.state_dict(), pt / "model.pt")
    expected = net(featurize_for(load_user_model(st).cfg, PEPS)).detach()
    for d in (st, pt):
        assert torch.allclose(load_user_model(d).predict(PEPS), expected)
    obj = UserModelObjective(str(st))
    assert [s.name for s in obj.specs] == ["a", "b"] and obj.specs[1].direction == "min"
    assert torch.allclose(obj(["GLWSKIKEVGK"]).values, expected[:1])


def test_wrong_shapes_and_urls_and_missing_files_are_clear_errors(tmp_path):
    from safetensors.torch import save_file

    d = _write(
        tmp_path / "m", {"format": "torch_mlp", "featurizer": "amp_features", "outputs": ["y"], "weights": "model.safetensors"}
    )
    save_file(MLP(20, [], 1, "gelu").state_dict(), str(d / "model.safetensors"))
    with pytest.raises(ConfigError, match="does not fit an MLP 77"):
        load_user_model(d)
    with pytest.raises(ConfigError, match="URL"):
        load_user_model("https://example.org/model")
    with pytest.raises(ConfigError, match="not an existing local directory"):
        load_user_model(tmp_path / "nowhere")
    bad = _write(tmp_path / "bad", {"format": "onnx", "featurizer": "aac", "outputs": ["y"], "weights": "w"})
    with pytest.raises(ConfigError, match="format"):
        load_user_model(bad)
    escape = _write(
        tmp_path / "esc", {"format": "torch_mlp", "featurizer": "aac", "outputs": ["y"], "weights": "../m/model.safetensors"}
    )
    with pytest.raises(ConfigError, match="outside the model directory"):
        load_user_model(escape)


def test_sklearn_skops_loads_and_joblib_needs_trust(tmp_path):
    sio = pytest.importorskip("skops.io")
    import joblib
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = rng.random((40, 20))
    y = (x[:, 8] > 0.5).astype(int)
    est = LogisticRegression().fit(x, y)
    cfg = {"format": "sklearn", "featurizer": "aac", "outputs": ["p_active"], "method": "predict_proba", "bounds": [[0, 1]]}
    sk = _write(tmp_path / "sk", {**cfg, "weights": "model.skops"})
    sio.dump(est, str(sk / "model.skops"))
    feats = featurize_for(load_user_model(sk).cfg, PEPS).numpy()
    expected = est.predict_proba(feats)[:, 1]
    assert np.allclose(load_user_model(sk).predict(PEPS).numpy().ravel(), expected, atol=1e-6)
    jb = _write(tmp_path / "jb", {**cfg, "weights": "model.joblib"})
    joblib.dump(est, jb / "model.joblib")
    with pytest.raises(ConfigError, match="arbitrary code"):
        load_user_model(jb)
    assert np.allclose(load_user_model(jb, trust_pickle=True).predict(PEPS).numpy().ravel(), expected, atol=1e-6)


def test_morgan_featurizer_sees_modifications():
    from gendesign.plugins.peptides.user_models import UserModelConfig

    cfg = UserModelConfig(format="torch_mlp", featurizer="morgan", outputs=["y"], weights="w", morgan_bits=512)
    f = featurize_for(cfg, [parse_peptide("GLK"), parse_peptide("GL[dK]"), parse_peptide("GL[meK]")])
    assert f.shape == (3, 512)
    assert not torch.equal(f[0], f[2])
