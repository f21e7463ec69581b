"""The masked diffusion model passes the conformance mixins of every protocol it offers."""

import pytest
import torch

from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.tokenizers import ResidueTokenizer
from gendesign.testing.generators import (
    InfillerConformance,
    LikelihoodScorerConformance,
    SequenceSamplerConformance,
    StepwiseDenoiserConformance,
)

ALPHABET = "ACDEFG"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _model() -> MaskedDiffusionLM:
    torch.manual_seed(0)
    model = MaskedDiffusionLM(len(ALPHABET), 8, d_model=16, n_layers=1, n_heads=2, dropout=0.1, tokenizer=ResidueTokenizer(list(ALPHABET)).to_config())
    model.set_length_distribution([4, 5, 6, 7, 8])
    return model.eval()


class TestMDLMProtocols(StepwiseDenoiserConformance, SequenceSamplerConformance, InfillerConformance, LikelihoodScorerConformance):
    reveal_probability = staticmethod(lambda t, s: (t - s) / t)
    sample_options = {"steps": 4}
    infill_options = {"steps": 4}

    def make_generator(self):
        return _model()

    def make_designs(self):
        return ["ACDE", "GGFFAA", "ACDEFGAC"]

    def make_unreadable_designs(self):
        return ["ACXX", "ACDEFGACDE"]


def test_reverse_step_ignores_dropout_of_a_model_left_in_training_mode():
    model = _model().train()
    x = torch.full((16, 8), model.mask_id)
    a, _ = model.reverse_step(x, 1.0, 0.0, generator=torch.Generator().manual_seed(0))
    b, _ = model.reverse_step(x, 1.0, 0.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and model.training
