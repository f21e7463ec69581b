"""The GFlowNet trainer is a SequenceSampler with exact design log-probabilities on the sequence MDP."""

import pytest
import torch

from gendesign.core.objective import ObjectiveSpec
from gendesign.core.sequence_space import SequenceSpace
from gendesign.generators.gflownet import SequenceEnv
from gendesign.generators.gflownet.trainer import GFlowNetOptions, GFlowNetTrainer
from gendesign.testing.generators import SequenceSamplerConformance


def _trainer(seed: int = 0, **options) -> GFlowNetTrainer:
    torch.manual_seed(seed)
    env = SequenceEnv(SequenceSpace("AB", min_length=1, max_length=2))
    return GFlowNetTrainer(env, (ObjectiveSpec("f"),), GFlowNetOptions(hidden=16, layers=1, **options))


class TestGFlowNetSampler(SequenceSamplerConformance):
    def make_generator(self):
        return _trainer()


def test_design_probabilities_sum_to_one_over_the_whole_space():
    trainer = _trainer(seed=3)
    designs, log_probs = trainer.sample_designs(400, generator=torch.Generator().manual_seed(0))
    law = dict(zip(designs, log_probs.exp().tolist()))
    assert sorted(law) == ["A", "AA", "AB", "B", "BA", "BB"]
    assert sum(law.values()) == pytest.approx(1.0, abs=1e-5)
    counts = {d: designs.count(d) / len(designs) for d in law}
    assert all(abs(counts[d] - p) < 0.1 for d, p in law.items())


def test_log_probs_are_withheld_where_they_would_not_be_exact():
    trainer = _trainer()
    assert trainer.sample_designs(4, temperature=2.0)[1] is None
