"""Load property models that users trained themselves, from a local directory only.

A model directory holds ``config.json`` and one weights file::

    {
      "format": "torch_mlp" | "sklearn",
      "featurizer": "amp_features" | "aac" | "morgan",
      "outputs": ["solubility"],              # one name per predicted column
      "directions": ["max"],                  # optional, default "max"
      "bounds": [[0, 1]],                     # optional natural ranges per column
      "weights": "model.safetensors",         # torch: .safetensors or a state-dict .pt
      "hidden": [64, 64],                     # torch_mlp only: hidden layer widths
      "activation": "gelu" | "relu" | "tanh", # torch_mlp only
      "output_transform": "identity" | "sigmoid",
      "method": "predict" | "predict_proba",  # sklearn only; predict_proba reports column 1
      "morgan_radius": 2, "morgan_bits": 2048 # morgan featurizer only
    }

Formats:

* ``torch_mlp``: a plain MLP ``Linear -> act -> ... -> Linear(K)`` whose state dict keys are
  ``layers.{i}.weight``/``layers.{i}.bias``; loaded from safetensors, or from a ``.pt`` file with
  ``torch.load(..., weights_only=True)`` so no pickled code runs.
* ``sklearn``: a fitted estimator saved with ``skops.io.dump`` (``.skops``), or with ``joblib``
  (``.joblib``/``.pkl``), which unpickles arbitrary code and is therefore refused unless the caller
  passes ``trust_pickle=True``. A ``.skops`` file loads only when every type in it is trusted: the
  types skops trusts by default (containers, numpy and scipy arrays, every public scikit-learn
  estimator), the scikit-learn internals in :data:`SKLEARN_TRUSTED_TYPES`, and the types the caller
  passes as ``trusted_types``. Trust never comes from the model directory itself: a ``config.json``
  with a ``"trusted_types"`` key is refused.

Every file is opened through :func:`gendesign.core.files.file_in`, so names and symlinks that lead
out of the directory are refused (see ``docs/security.md``).

Featurizers: ``amp_features`` is the 77-dimensional vector of
:func:`~gendesign.plugins.peptides.amp.featurize`; ``aac`` is the 20 amino-acid fractions (on
canonical parents); ``morgan`` is an RDKit Morgan count-free bit fingerprint of the exact SMILES
(Rogers & Hahn, J. Chem. Inf. Model. 50, 742, 2010), the only one that sees every modification.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import Tensor, nn

from gendesign.core.errors import ConfigError, GendesignError, require
from gendesign.core.files import file_in
from gendesign.core.registry import format_validation_error
from gendesign.plugins.peptides.notation import Peptide

SKLEARN_TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    *(
        f"sklearn.gaussian_process.kernels.{k}"
        for k in (
            "ConstantKernel", "WhiteKernel", "RBF", "Matern", "RationalQuadratic", "ExpSineSquared",
            "DotProduct", "Sum", "Product", "Exponentiation",
        )
    ),
)
"""scikit-learn internals that fitted trees, gradient boosting, MLPs and Gaussian processes hold and that
skops does not trust by default. They are rebuilt from data (``__new__`` plus state); none runs code."""


class UserModelConfig(BaseModel):
    """The ``config.json`` of a user model directory (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["torch_mlp", "sklearn"]
    featurizer: Literal["amp_features", "aac", "morgan"]
    outputs: list[str] = Field(min_length=1)
    directions: list[Literal["max", "min"]] | None = None
    bounds: list[tuple[float, float] | None] | None = None
    weights: str
    hidden: list[int] = Field(default_factory=list)
    activation: Literal["gelu", "relu", "tanh"] = "gelu"
    output_transform: Literal["identity", "sigmoid"] = "identity"
    method: Literal["predict", "predict_proba"] = "predict"
    morgan_radius: int = Field(2, ge=0)
    morgan_bits: int = Field(2048, gt=0)

    @model_validator(mode="after")
    def _lengths(self) -> UserModelConfig:
        k = len(self.outputs)
        if self.directions is not None and len(self.directions) != k:
            raise ValueError(f"directions has {len(self.directions)} entries for {k} outputs {self.outputs}")
        if self.bounds is not None and len(self.bounds) != k:
            raise ValueError(f"bounds has {len(self.bounds)} entries for {k} outputs {self.outputs}")
        if self.method == "predict_proba" and k != 1:
            raise ValueError("method='predict_proba' reports one column (the positive class); give exactly one output")
        return self


def featurizer_width(cfg: UserModelConfig) -> int:
    """Input width the featurizer produces."""
    from gendesign.plugins.peptides.amp import NUM_FEATURES

    return {"amp_features": NUM_FEATURES, "aac": 20, "morgan": cfg.morgan_bits}[cfg.featurizer]


def featurize_for(cfg: UserModelConfig, peptides: Sequence[Peptide]) -> Tensor:
    """Features `[B, D]` float32 for the configured featurizer."""
    if cfg.featurizer == "amp_features":
        from gendesign.plugins.peptides.amp import featurize

        return featurize(peptides)
    if cfg.featurizer == "aac":
        from gendesign.plugins.peptides.amp import AA
        from gendesign.plugins.peptides.descriptors import parents

        rows = [[ps.count(a) / len(ps) for a in AA] for ps in (parents(p) for p in peptides)]
        return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), 20)
    require("rdkit", "peptides")
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator

    from gendesign.plugins.peptides.smiles import peptide_to_smiles

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=cfg.morgan_radius, fpSize=cfg.morgan_bits)
    rows = [gen.GetFingerprintAsNumPy(Chem.MolFromSmiles(peptide_to_smiles(p))) for p in peptides]
    return torch.tensor(np.stack(rows) if rows else np.zeros((0, cfg.morgan_bits)), dtype=torch.float32)


class MLP(nn.Module):
    """``Linear -> act -> ... -> Linear(out)`` with layers under ``layers.{i}``."""

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int, activation: str) -> None:
        super().__init__()
        act = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}[activation]
        widths = [in_features, *hidden, out_features]
        mods: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            mods.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                mods.append(act())
        self.layers = nn.Sequential(*mods)

    def forward(self, x: Tensor) -> Tensor:
        """`[B, D] -> [B, K]`."""
        return self.layers(x)


class UserModel:
    """A loaded user model: ``predict(peptides) -> [B, K]`` in natural units.

    Use :func:`load_user_model` to build one.
    """

    def __init__(self, path: Path, cfg: UserModelConfig, predictor: Any) -> None:
        self.path = path
        self.cfg = cfg
        self.predictor = predictor

    @property
    def outputs(self) -> list[str]:
        return list(self.cfg.outputs)

    @torch.no_grad()
    def predict(self, peptides: Sequence[Peptide]) -> Tensor:
        """Predictions `[B, K]` float32."""
        x = featurize_for(self.cfg, peptides)
        k = len(self.cfg.outputs)
        if self.cfg.format == "torch_mlp":
            y = self.predictor(x)
        else:
            arr = x.numpy()
            raw = np.asarray(
                self.predictor.predict_proba(arr)[:, 1] if self.cfg.method == "predict_proba" else self.predictor.predict(arr)
            )
            y = torch.as_tensor(raw, dtype=torch.float32).reshape(len(peptides), k)
        if self.cfg.output_transform == "sigmoid":
            y = torch.sigmoid(y)
        return y.reshape(len(peptides), k).float()


def _local_dir(path: str | Path) -> Path:
    text = str(path)
    if "://" in text:
        raise ConfigError(f"user model path {text!r} is a URL; only local directories are loaded (download it yourself first)")
    p = Path(text).expanduser()
    if not p.is_dir():
        raise ConfigError(f"user model path {text!r} is not an existing local directory with config.json and a weights file")
    return p


def load_user_model(
    path: str | Path, *, trust_pickle: bool = False, trusted_types: Sequence[str] = ()
) -> UserModel:
    """Load a user model from the local directory ``path`` (format in the module docstring).

    Args:
        path: local directory with ``config.json`` and the weights file it names.
        trust_pickle: allow ``.joblib``/``.pkl`` scikit-learn files, which execute code on load.
        trusted_types: extra fully qualified type names (as :func:`skops.io.get_untrusted_types`
            reports them) that a ``.skops`` file may contain beyond :data:`SKLEARN_TRUSTED_TYPES`.

    Raises:
        ConfigError: not a local directory, bad or missing config, a file outside the directory,
            shape mismatch, an untrusted pickle, or untrusted skops types.
    """
    if isinstance(trusted_types, str) or not all(isinstance(t, str) for t in trusted_types):
        raise ConfigError(
            f"trusted_types={trusted_types!r}: give a list of fully qualified type names, e.g. "
            '["sklearn.gaussian_process.kernels.PairwiseKernel"]'
        )
    root = _local_dir(path)
    cfg_file = file_in(root, "config.json", what="user model config")
    if not cfg_file.is_file():
        raise ConfigError(
            f"{cfg_file} does not exist; a user model directory needs config.json (see gendesign.plugins.peptides.user_models)"
        )
    try:
        raw = json.loads(cfg_file.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{cfg_file} is not valid JSON: {exc}") from None
    if isinstance(raw, dict) and "trusted_types" in raw:
        raise ConfigError(
            f"{cfg_file} lists trusted_types {raw['trusted_types']}; trust is never read from the model directory. "
            "Delete the key, and if you trust those types, pass them in your campaign config as the objective option "
            "trusted_types = [...] (see docs/security.md)"
        )
    try:
        cfg = UserModelConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, where=str(cfg_file), model=UserModelConfig)) from None
    weights = file_in(root, cfg.weights, what="weights")
    if not weights.is_file():
        raise ConfigError(f"{cfg_file}: weights file {weights} does not exist")
    if cfg.format == "torch_mlp":
        return UserModel(root, cfg, _load_torch(cfg, weights))
    return UserModel(root, cfg, _load_sklearn(cfg, weights, trust_pickle, trusted_types))


def _load_torch(cfg: UserModelConfig, weights: Path) -> MLP:
    model = MLP(featurizer_width(cfg), cfg.hidden, len(cfg.outputs), cfg.activation)
    if weights.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(weights))
    elif weights.suffix in (".pt", ".pth", ".bin"):
        try:
            state = torch.load(str(weights), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - weights_only refuses every non-tensor object with its own error type
            raise ConfigError(
                f"{weights} is not a plain state dict: torch.load(weights_only=True) refused it ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); save model.state_dict() with torch.save or safetensors"
            ) from None
    else:
        raise ConfigError(f"torch weights {weights.name!r}: use a .safetensors file or a state-dict .pt/.pth/.bin")
    if not isinstance(state, dict):
        raise ConfigError(f"{weights} does not hold a state dict (got {type(state).__name__}); save model.state_dict()")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ConfigError(
            f"{weights} does not fit an MLP {featurizer_width(cfg)} -> {cfg.hidden} -> {len(cfg.outputs)} "
            f"({cfg.featurizer} features): {exc}"
        ) from None
    return model.eval()


def _load_sklearn(cfg: UserModelConfig, weights: Path, trust_pickle: bool, trusted_types: Sequence[str]) -> Any:
    if weights.suffix == ".skops":
        est = _load_skops(weights, trusted_types)
    elif weights.suffix in (".joblib", ".pkl"):
        if not trust_pickle:
            raise ConfigError(
                f"{weights} is a pickle, which runs arbitrary code when loaded; save the model with skops.io.dump instead, "
                "or set the objective option trust_pickle = true if you made the file yourself"
            )
        import joblib

        est = joblib.load(str(weights))
    else:
        raise ConfigError(f"scikit-learn weights {weights.name!r}: use .skops (safe) or .joblib/.pkl with trust_pickle = true")
    method = getattr(est, cfg.method, None)
    if method is None:
        raise GendesignError(f"{weights} holds a {type(est).__name__} without a {cfg.method}() method")
    return est


def _load_skops(weights: Path, trusted_types: Sequence[str]) -> Any:
    """Load a ``.skops`` file if every type in it is trusted by skops, by us, or by the caller."""
    require("skops", "peptides")
    import skops.io as sio

    # One read: the audit and the load see the same bytes even if the file changes meanwhile.
    data = weights.read_bytes()
    allowed = sorted({*SKLEARN_TRUSTED_TYPES, *trusted_types})
    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001 - any parse failure means an unusable file
        raise ConfigError(f"{weights} is not a readable skops file: {type(exc).__name__}: {exc}") from None
    refused = [t for t in found if t not in allowed]
    if refused:
        raise ConfigError(
            f"{weights} contains types that are not trusted: {refused}. Loading them could run code. If you made "
            "the file and trust these types, add them to the objective option trusted_types = [...] in your "
            "campaign config (see docs/security.md)"
        )
    try:
        return sio.loads(data, trusted=allowed)
    except Exception as exc:  # noqa: BLE001 - a malformed file fails while it is rebuilt
        raise ConfigError(f"{weights} could not be loaded as a skops file: {type(exc).__name__}: {exc}") from None
