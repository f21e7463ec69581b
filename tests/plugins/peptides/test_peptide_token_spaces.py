"""The peptide spaces are TokenSpaces: MCTS and GFlowNet read their ids."""

import pytest

pytest.importorskip("rdkit")

from gendesign.plugins.peptides.space import PeptideSmilesSpace, PeptideSpace  # noqa: E402
from gendesign.testing.generators import TokenSpaceConformance  # noqa: E402


class TestPeptideTokens(TokenSpaceConformance):
    def make_space(self):
        return PeptideSpace(monomers="all", min_length=3, max_length=9)


class TestPeptideSmilesTokens(TokenSpaceConformance):
    num_designs = 4

    def make_space(self):
        return PeptideSmilesSpace(max_tokens=200, min_length=2, max_length=4)
