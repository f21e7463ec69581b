"""Descriptors against closed forms and modlAMP's independent implementation; proxies' documented monotonicity."""

import math

import pytest

pytest.importorskip("rdkit")
modlamp_desc = pytest.importorskip("modlamp.descriptors")

from gendesign.plugins.peptides import descriptors as D  # noqa: E402
from gendesign.plugins.peptides.notation import parse_peptide  # noqa: E402
from gendesign.plugins.peptides.proxies import hemolysis_proxy, permeability_proxy, solubility_proxy  # noqa: E402

SEQS = ["GLFDIVKKVVGALGSL", "KWKLFKKIGAVLKVLTTG", "ACDEFGHIKLMNPQRSTVWY"]


def _modlamp(method, seqs, scale=None, **kw):
    obj = modlamp_desc.PeptideDescriptor(seqs, scale) if scale else modlamp_desc.GlobalDescriptor(seqs)
    getattr(obj, method)(**kw)
    return obj.descriptor.ravel().tolist()


def test_sequence_descriptors_agree_with_modlamp():
    peps = [parse_peptide(s) for s in SEQS]
    assert [D.instability_index(p) for p in peps] == pytest.approx(_modlamp("instability_index", SEQS))
    assert [D.boman_index(p) for p in peps] == pytest.approx(_modlamp("boman_index", SEQS))
    assert [D.gravy(p) for p in peps] == pytest.approx(_modlamp("calculate_global", SEQS, "kytedoolittle"))
    assert [D.hydrophobic_moment(p) for p in peps] == pytest.approx(_modlamp("calculate_moment", SEQS, "eisenberg", window=1000))


def test_net_charge_closed_form_and_termini():
    def frac_pos(pka):
        return 1 / (1 + 10 ** (7 - pka))

    def frac_neg(pka):
        return 1 / (1 + 10 ** (pka - 7))

    expected = 2 * frac_pos(10.8) + frac_pos(8.6) - frac_neg(3.6)
    assert D.net_charge(parse_peptide("KK")) == pytest.approx(expected)
    assert D.net_charge(parse_peptide("Ac-KK-NH2")) == pytest.approx(2 * frac_pos(10.8))
    assert D.net_charge(parse_peptide("cyclo(KKD)")) == pytest.approx(2 * frac_pos(10.8) - frac_neg(3.9))
    assert D.net_charge(parse_peptide("[Orn][dK]")) == pytest.approx(expected)


def test_structure_descriptors_of_glycylglycine():
    d = D.descriptors("GG", ["molecular_weight", "hbd", "tpsa", "n_methyl_count"])
    assert d["molecular_weight"] == pytest.approx(132.12, abs=0.01)
    assert d["hbd"] == 3
    assert d["tpsa"] == pytest.approx(92.42, abs=0.01)
    assert d["n_methyl_count"] == 0


def test_smiles_and_notation_give_the_same_descriptors():
    from gendesign.plugins.peptides.smiles import peptide_to_smiles

    pep = parse_peptide("Ac-GL[dK][meA]W-NH2")
    assert D.descriptors(peptide_to_smiles(pep)) == D.descriptors(str(pep))
    assert D.descriptors(pep)["n_methyl_count"] == 1


def test_unknown_descriptor_lists_the_choices():
    with pytest.raises(Exception, match="choose from"):
        D.descriptors("GG", ["charge"])


def test_proxies_follow_their_documented_rules():
    assert solubility_proxy("KKEEKKEEKK") > 0.9 > 0.05 > solubility_proxy("LLIIVVFFLL")
    assert hemolysis_proxy("LKLLKKLLKLLKKL") > hemolysis_proxy("KKEEKKEEKK")
    assert permeability_proxy("[meA][meL][meF][meV]") > permeability_proxy("ALFV") > permeability_proxy("KRKRKRKRKRKRKR")
    for f in (solubility_proxy, hemolysis_proxy, permeability_proxy):
        v = f("GLWSKIKEVGK")
        assert 0.0 <= v <= 1.0 and math.isfinite(v)


def test_protease_resistance_counts_cleavage_sites_and_free_termini():
    from gendesign.plugins.peptides.proxies import protease_resistance_proxy, protease_sites

    assert protease_sites("GGGG") == (2, 5)
    assert protease_sites("Ac-GGGG-NH2") == (0, 5)
    assert protease_sites("GKGFG") == (4, 6)
    assert protease_sites("GKPGFPG") == (2, 8)
    assert protease_sites("GK[dA]GF[meA]G") == (2, 8)
    assert protease_sites("G[dK]G[Orn]G") == (2, 6)
    assert protease_sites("cyclo(GKGFG)") == (2, 5)
    assert protease_sites("cyclo(KGGGF)") == (2, 5)
    assert protease_resistance_proxy("Ac-GKGFG-NH2") == pytest.approx(1 - 2 / 6)
    assert protease_resistance_proxy("Ac-G[dK]G[dF]G-NH2") == 1.0
    assert protease_resistance_proxy("KKKKK") == 0.0
