"""The peptide plugin's registrations, the shipped MDLM and the default AMP campaign config."""

import json

import pytest
import torch

pytest.importorskip("rdkit")
pytest.importorskip("modlamp")

from gendesign.core.config import load_config  # noqa: E402
from gendesign.core.errors import ConfigError  # noqa: E402
from gendesign.core.generator import GeneratorSpec  # noqa: E402
from gendesign.core.plugins import PluginSystem  # noqa: E402
from gendesign.plugins.peptides.space import PeptideSpace  # noqa: E402
from gendesign.plugins.peptides.train_mdlm import shipped_path  # noqa: E402


@pytest.fixture(scope="module")
def system():
    return PluginSystem(entry_points=False)


def test_parts_are_registered_and_build_with_checked_options(system):
    assert not system.failures
    for name in ["peptide", "peptide_smiles"]:
        assert name in system.spaces
    for name in [
        "amp_probability",
        "peptide_descriptors",
        "solubility_proxy",
        "hemolysis_proxy",
        "permeability_proxy",
        "protease_resistance_proxy",
        "user_model",
    ]:
        assert name in system.objectives
    assert "mcts" in system.strategies
    obj = system.objectives.build("peptide_descriptors", {"descriptors": ["net_charge", "tpsa"]})
    assert [s.name for s in obj.specs] == ["net_charge", "tpsa"]
    with pytest.raises(ConfigError, match="choose from"):
        system.objectives.build("peptide_descriptors", {"descriptors": ["charge"]})
    with pytest.raises(ConfigError, match="unknown field"):
        system.spaces.build("peptide", {"monomer": "all"})


def test_shipped_mdlm_matches_the_all_monomer_space_and_samples_peptides():
    from gendesign.generators.mdlm.model import MaskedDiffusionLM

    space = PeptideSpace(monomers="all", min_length=8, max_length=48)
    assert space.default_generator() == GeneratorSpec(name="mdlm", path=str(shipped_path()))
    model = MaskedDiffusionLM.from_pretrained(shipped_path())
    assert model.vocab_size == space.vocab_size
    assert sum(p.stat().st_size for p in shipped_path().iterdir()) < 20e6
    ids = model.sample(8, steps=16, generator=torch.Generator().manual_seed(0))
    designs = space.decode(ids)
    assert all(space.is_valid(d) for d in designs)
    record = json.loads((shipped_path() / "training.json").read_text())
    assert record["history"][-1]["val_nelbo_per_token"] < record["history"][0]["val_nelbo_per_token"]
    with pytest.raises(ConfigError, match="monomers='all'"):
        PeptideSpace(monomers="canonical").default_generator()


def test_mcts_on_the_shipped_model_proposes_admissible_unique_peptides(system):
    from gendesign.core.generator import generator_context
    from gendesign.core.objective import ObjectiveSpec

    space = system.spaces.build("peptide", {"monomers": "all", "min_length": 10, "max_length": 20})
    specs = (ObjectiveSpec("a", bounds=(0.0, 1.0)),)
    options = {"steps": 8, "num_children": 4, "num_lengths": 2}
    model = generator_context(system, system.strategies.get("mcts").factory, options, space=space)
    assert model["model"].config["tokenizer"]["tokens"] == space.tokens
    strategy = system.strategies.build("mcts", options, space=space, specs=specs, seed=0, **model)
    designs = strategy.ask(6)
    assert len(designs) == 6 and len(set(designs)) == 6
    assert all(space.validate(d) == d and 10 <= len(space.peptide(d)) <= 20 for d in designs)


def test_default_campaign_config_validates_and_is_shipped():
    from importlib import resources
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "peptide_amp.toml"
    shipped = Path(str(resources.files("gendesign.examples_data") / "default.toml"))
    assert shipped.read_text() == example.read_text()
    cfg = load_config(shipped)
    assert cfg.strategy.name == "mcts"
    assert [o.name for o in cfg.objectives] == ["amp_probability", "hemolysis_proxy", "protease_resistance_proxy"]
    assert cfg.strategy.options["anchored_children"] <= cfg.strategy.options["num_children"]
