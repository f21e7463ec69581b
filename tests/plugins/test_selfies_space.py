"""The ``selfies`` token space, the shipped SELFIES MDLM and the small RDKit objectives; MCTS and GFlowNet on molecules."""

import functools
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")
sf = pytest.importorskip("selfies")

from gendesign.core.errors import ConfigError, InvalidDesignError  # noqa: E402
from gendesign.core.plugins import get_plugins  # noqa: E402
from gendesign.core.protocols import TokenSpace, conforms  # noqa: E402
from gendesign.plugins.molecules import SmilesSpace, nci_smiles_path  # noqa: E402
from gendesign.plugins.molecules.objectives import MoleculeProperty, heavy_atoms, logp, qed  # noqa: E402
from gendesign.plugins.molecules.selfies_space import SelfiesSpace, shipped_model_config, shipped_model_path  # noqa: E402
from gendesign.plugins.molecules.smiles import rdkit_chem  # noqa: E402
from gendesign.testing.generators import TokenSpaceConformance  # noqa: E402
from gendesign.testing.spaces import DesignSpaceConformance  # noqa: E402


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    return SelfiesSpace(pool=_head_of_nci(tmp_path_factory.mktemp("pool") / "nci_head.smi"))


def _head_of_nci(path, n=500):
    path.write_text("\n".join(nci_smiles_path().read_text().splitlines()[:n]))
    return str(path)


@functools.cache
def _small_pool():
    return _head_of_nci(Path(tempfile.mkdtemp()) / "nci_head.smi", 100)


class TestSelfiesSpaceConformance(DesignSpaceConformance):
    def make_space(self):
        return SelfiesSpace(pool=_small_pool())

    def make_invalid_designs(self):
        return ["", "C1CC", "CC.O", 42]


class TestSelfiesTokenSpace(TokenSpaceConformance):
    def make_space(self):
        return SelfiesSpace(pool=_small_pool())


def _parses(smiles):
    return rdkit_chem().MolFromSmiles(smiles) is not None


@pytest.mark.slow
def test_alphabet_is_the_selfies_alphabet_of_the_training_corpus(space):
    config = shipped_model_config()
    assert space.tokens == config["tokenizer"]["tokens"] and space.max_length == config["max_length"] == 64
    smiles = SmilesSpace()
    corpus = []
    for line in nci_smiles_path().read_text().splitlines():
        fields = line.split()
        if not fields or not smiles.is_valid(fields[0]):
            continue
        try:
            corpus.append(sf.encoder(fields[0]))
        except sf.EncoderError:
            continue
    assert set(space.tokens) == sf.get_alphabet_from_selfies(corpus)
    assert "." not in space.tokens and conforms(space, TokenSpace)


def test_encode_decode_round_trip_on_the_pool(space):
    designs = space.sample(100, np.random.default_rng(0))
    ids = space.encode(designs)
    assert ids.dtype == torch.long and ids.shape == (100, max(len(space.ids(d)) for d in designs))
    assert int(ids.max()) == space.pad_id and space.pad_id == space.vocab_size
    assert space.decode(ids) == designs
    assert space.encode(designs[:2], length=space.max_length).shape == (2, space.max_length)


def test_every_row_of_random_ids_decodes_to_a_molecule(space):
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, space.vocab_size, (300, 24), generator=gen)
    ids[:, 20:] = space.pad_id
    designs = space.decode(ids)
    with_atoms = [d for d in designs if d]
    assert len(with_atoms) >= 290 and all(_parses(d) and space.validate(d) == d for d in with_atoms)
    assert space.decode(torch.full((1, 5), space.pad_id)) == [""] and not space.is_valid("")
    with pytest.raises(InvalidDesignError, match="mask id"):
        space.decode(torch.full((1, 3), space.pad_id + 1))


def test_invalid_designs_name_the_problem(space):
    assert space.validate("OCC") == space.key("C(O)C") == "CCO"
    assert space.from_json(space.to_json("OCC")) == "CCO"
    with pytest.raises(InvalidDesignError, match="cannot parse"):
        space.validate("C1CC")
    with pytest.raises(InvalidDesignError, match="disconnected"):
        space.validate("CC.O")
    assert space.is_valid("C[Ge](C)(C)C")
    with pytest.raises(InvalidDesignError, match=r"'\[Ge\]'\] outside this space's alphabet"):
        space.encode(["CCO", "C[Ge](C)(C)C"])
    with pytest.raises(InvalidDesignError, match="SELFIES symbols"):
        SelfiesSpace(max_length=4).validate("CCCCC")
    with pytest.raises(ConfigError, match="min_length"):
        SelfiesSpace(min_length=5, max_length=4)


def test_mutation_and_crossover_return_new_admissible_molecules(space):
    rng = np.random.default_rng(1)
    parents = space.sample(30, rng)
    children = [space.mutate(p, rng) for p in parents]
    assert all(space.validate(c) == c for c in children)
    assert sum(c != p for p, c in zip(parents, children)) >= 28
    kids = [space.crossover(parents[i], parents[i + 1], rng) for i in range(0, 30, 2)]
    assert all(space.validate(k) == k for k in kids)
    assert sum(k not in (parents[2 * i], parents[2 * i + 1]) for i, k in enumerate(kids)) >= 13
    short = SelfiesSpace(min_length=3, max_length=6)
    grown = [short.mutate("CCC", rng) for _ in range(20)]
    assert all(3 <= sf.len_selfies(short.describe(g)["selfies"]) <= 6 for g in grown)
    assert len(set(grown)) > 5


def test_default_generator_is_the_shipped_model_and_checks_the_alphabet(space):
    from gendesign.generators.mdlm.model import MaskedDiffusionLM

    spec = space.default_generator()
    path = Path(spec.path)
    assert spec.name == "mdlm" and path == shipped_model_path()
    assert sum(f.stat().st_size for f in path.iterdir()) < 3_000_000
    model = MaskedDiffusionLM.from_pretrained(path)
    assert model.vocab_size == space.vocab_size and model.max_length == space.max_length
    ids = model.sample(64, steps=16, generator=torch.Generator().manual_seed(0))
    designs = space.decode(ids)
    assert all(_parses(d) for d in designs if d) and sum(space.is_valid(d) for d in designs) >= 60
    with pytest.raises(ConfigError, match="alphabet"):
        SelfiesSpace(alphabet=["[C]", "[O]"], max_length=8).default_generator()


def test_objectives_match_rdkit_reference_values():
    benzene, ethanol = "c1ccccc1", "CCO"
    scores = qed()([benzene, ethanol, "C1CC"])
    assert scores.valid.tolist() == [True, True, False] and "cannot parse" in scores.errors[2]
    assert scores.values[0, 0].item() == pytest.approx(0.4426, abs=1e-3)
    assert heavy_atoms()([ethanol]).values.item() == 3.0 and heavy_atoms().specs[0].direction == "min"
    assert logp()([ethanol]).values.item() == pytest.approx(-0.0014, abs=1e-4)
    assert logp("min").specs[0].direction == "min"
    with pytest.raises(ConfigError, match="unknown molecule property"):
        MoleculeProperty("colour")


def test_registered_parts():
    system = get_plugins()
    assert system.spaces.get("selfies").factory is SelfiesSpace
    assert all(name in system.objectives for name in ("qed", "heavy_atoms", "logp"))


def _campaign(strategy, options, space_options, budget, batch_size):
    from gendesign.api import build_parts
    from gendesign.core.campaign import Campaign
    from gendesign.core.config import parse_config

    data = {
        "campaign": {"budget": budget, "batch_size": batch_size, "seed": 0, "progress": False, "plots": False},
        "space": {"name": "selfies", "options": space_options},
        "objectives": [{"name": "qed"}, {"name": "logp"}],
        "strategy": {"name": strategy, "options": options},
    }
    parts = build_parts(parse_config(data), plugins=get_plugins())
    asked = []
    ask = parts.strategy.ask

    def recording_ask(n):
        out = ask(n)
        asked.extend(out)
        return out

    parts.strategy.ask = recording_ask
    campaign = Campaign(
        parts.objective, parts.space, parts.strategy, budget=budget, batch_size=batch_size, progress=False, plots=False
    )
    return parts, campaign.run(), asked


def test_mcts_campaign_on_selfies_evaluates_only_valid_molecules_one_per_rollout():
    torch.set_num_threads(1)
    options = {"steps": 8, "num_children": 4, "num_lengths": 2, "generator": {"name": "mdlm", "path": str(shipped_model_path())}}
    parts, result, asked = _campaign("mcts", options, {}, budget=24, batch_size=8)
    space, mcts = parts.space, parts.strategy
    evaluated = [r for r in result.history if r.evaluation is not None]
    assert len(evaluated) == 24 == result.summary["evaluations"]
    assert all(r.valid and _parses(r.design) and space.validate(r.design) == r.design for r in result.history)
    assert all(math.isfinite(r.values["qed"]) for r in evaluated)
    assert len(asked) == len(set(asked)) == 24
    assert sorted(mcts.scored) == sorted(r.key for r in evaluated)
    c = mcts.counts
    assert c["rollouts"] >= 24 + len(mcts.queue) + c["invalid_rollouts"] + c["duplicate_rollouts"]


def test_gflownet_campaign_on_selfies_samples_molecules():
    torch.set_num_threads(1)
    options = {"train_steps": 2, "hidden": 32, "layers": 1, "train_batch_size": 32}
    parts, result, asked = _campaign("gflownet", options, {"max_length": 8}, budget=32, batch_size=16)
    space = parts.space
    assert result.summary["evaluations"] == 32
    with_atoms = [d for d in asked if d]
    assert len(with_atoms) >= len(asked) - 2 and all(_parses(d) for d in with_atoms)
    evaluated = [r for r in result.history if r.evaluation is not None]
    assert all(r.valid and space.validate(r.design) == r.design for r in evaluated)
    states = parts.strategy.trainer.sample(64).terminals
    assert states.shape[1] == 8 and all(_parses(d) for d in space.decode(states) if d)


def test_shipped_model_readme_records_the_training_run():
    readme = (shipped_model_path() / "README.md").read_text()
    meta = shipped_model_config()["_meta"]
    assert f"{meta['val_nelbo_per_token']:.3f}" in readme
    assert json.loads((shipped_model_path() / "config.json").read_text())["tokenizer"]["kind"] == "selfies"


@pytest.mark.parametrize("name", ["mcts_selfies.toml", "gflownet_selfies.toml", "mdlm_selfies_small.toml"])
def test_example_configs_validate(name):
    from gendesign.api import validate_config
    from gendesign.core.config import read_toml
    from gendesign.generators.mdlm.training import TrainConfig

    path = Path(__file__).resolve().parents[2] / "examples" / name
    if name.startswith("mdlm"):
        config = TrainConfig(**read_toml(path))
        assert config.data.tokenizer == "selfies" and config.data.max_length == shipped_model_config()["max_length"]
        assert config.model.d_model == shipped_model_config()["d_model"]
        return
    lines = validate_config(path)
    assert any("SelfiesSpace" in line for line in lines)


def test_gflownet_trains_on_rows_that_decode_to_no_molecule():
    from gendesign.search.gflownet import GFlowNetStrategy, GFlowNetStrategyOptions

    torch.set_num_threads(1)
    space = SelfiesSpace(alphabet=["[C]", "[O]", "[Ring1]"], max_length=2, pool=_small_pool())
    options = GFlowNetStrategyOptions(hidden=16, layers=1, train_steps=1, train_batch_size=8, ask_epsilon=1.0)
    s = GFlowNetStrategy(space, qed().specs, seed=0, options=options)
    first = s.ask(6)
    assert set(first) == {"", "C", "O", "CC", "CO", "OO"}
    s.tell(first, qed()(first))
    assert "invalid:''" in s.seen
    assert len(s.trainer.replay) == 6 and int((~s.trainer.replay.valid[:6]).sum()) == 1
