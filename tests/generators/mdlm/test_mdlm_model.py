"""MaskedDiffusionLM: SUBS invariants, the NELBO against brute force, save/load."""

import itertools
import math

import pytest
import torch

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.tokenizers import ResidueTokenizer


def tiny(**kw):
    torch.manual_seed(0)
    opts = dict(vocab_size=3, max_length=6, d_model=16, n_layers=2, n_heads=2, dropout=0.0)
    opts.update(kw)
    return MaskedDiffusionLM(**opts).eval()


def test_subs_forward_invariants():
    model = tiny(vocab_size=5, max_length=8)
    m, p = model.mask_id, model.pad_id
    x_t = torch.tensor([[m, 0, m, 4, p, p], [1, m, m, m, m, 2]])
    logp = model(x_t, torch.tensor([0.5, 0.9]))
    assert logp.shape == (2, 6, 7)
    masked = x_t == m
    assert bool(torch.isneginf(logp[..., m]).all())
    assert bool(torch.isneginf(logp[masked][:, p]).all())
    assert torch.allclose(logp[masked].exp().sum(-1), torch.ones(int(masked.sum())), atol=1e-5)
    carried = logp[~masked]
    ids = x_t[~masked]
    assert torch.equal(carried.argmax(-1), ids)
    assert torch.equal(carried.gather(-1, ids[:, None]).squeeze(-1), torch.zeros(len(ids)))
    assert bool(torch.isneginf(carried).sum(-1).eq(6).all())


def test_unmasked_positions_contribute_no_loss():
    model = tiny()
    x0 = torch.tensor([[0, 1, 2, 0, 1, 2], [2, 2, 1, model.pad_id, model.pad_id, model.pad_id]])
    t = torch.tensor([0.5, 0.5])
    terms = model.nelbo_terms(x0, t, torch.Generator().manual_seed(3))
    masked = model.q_xt(x0, t, torch.Generator().manual_seed(3)) == model.mask_id
    assert bool(masked.any()) and bool((~masked).any())
    assert bool((terms[~masked] == 0).all())
    assert bool((terms[masked] > 0).all())


def test_loss_gradient_ignores_unmasked_targets():
    model = tiny()
    x0 = torch.tensor([[0, 1, 2, 0, 1, 2]])
    t = torch.tensor([0.3])
    masked = model.q_xt(x0, t, torch.Generator().manual_seed(5)) == model.mask_id
    pos = int((~masked[0]).nonzero()[0])
    x_alt = x0.clone()
    x_alt[0, pos] = (x0[0, pos] + 1) % 3
    # Changing the clean token at a position that stays unmasked changes the input only, never a
    # loss target: with the same draw the masked set is the same, and the unmasked term stays 0.
    a = model.nelbo_terms(x0, t, torch.Generator().manual_seed(5))
    b = model.nelbo_terms(x_alt, t, torch.Generator().manual_seed(5))
    assert a[0, pos] == 0 and b[0, pos] == 0


def brute_force_nelbo(model, x):
    """Exact continuous-time NELBO of a time-agnostic model with eps = 0 (sum over masked subsets).

    With the log-linear schedule, P(masked set = M) = t^k (1-t)^(L-k) and w = 1/t, and
    int_0^1 t^(k-1) (1-t)^(L-k) dt = 1 / (k C(L, k)), so NELBO = sum_M nll(M) / (k C(L, k)).
    """
    length = x.shape[0]
    total = 0.0
    for k in range(1, length + 1):
        for subset in itertools.combinations(range(length), k):
            x_t = x.clone()
            x_t[list(subset)] = model.mask_id
            with torch.no_grad():
                logp = model(x_t[None], torch.tensor([0.5]))[0]
            nll = -sum(logp[i, x[i]].item() for i in subset)
            total += nll / (k * math.comb(length, k))
    return total


@pytest.mark.parametrize("flag_all", [False, True])
def test_nelbo_estimate_matches_brute_force(flag_all):
    model = tiny(eps=0.0, flagged_tokens=[0, 1, 2] if flag_all else [], flag_power=3.0)
    x = torch.tensor([2, 0, 1, 1])
    exact = brute_force_nelbo(model, x)
    n = 6000
    with torch.no_grad():
        est = model.nelbo(x.repeat(n, 1), generator=torch.Generator().manual_seed(0), t_min=1e-6)
    mean, se = est.mean().item(), est.std().item() / math.sqrt(n)
    assert abs(mean - exact) < 4 * se, (mean, exact, se)


def test_count_estimator_matches_brute_force():
    model = tiny(eps=0.0)
    x = torch.tensor([2, 0, 1, 1, 0])
    exact = brute_force_nelbo(model, x)
    n = 4000
    with torch.no_grad():
        total, tokens = model.loss(x.repeat(n, 1), torch.Generator().manual_seed(0), estimator="count")
    assert int(tokens) == 5 * n
    assert abs(total.item() / n - exact) < 0.05 * exact
    with pytest.raises(ConfigError, match="count"):
        tiny(flagged_tokens=[1]).loss(x[None], estimator="count")


def test_state_dependent_exact_term_keeps_integrand_nonnegative():
    model = tiny(flagged_tokens=[1], flag_power=3.0)
    x0 = torch.randint(0, 3, (64, 6), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        terms = model.nelbo_terms(x0, torch.rand(64, generator=torch.Generator().manual_seed(1)), torch.Generator().manual_seed(2))
    assert bool((terms >= -1e-5).all())
    plain = tiny(flagged_tokens=[1], flag_power=3.0, exact_state_dependent=False)
    with torch.no_grad():
        t = torch.full((64,), 0.5)
        exact = model.nelbo_terms(x0, t, torch.Generator().manual_seed(2))
        weighted = plain.nelbo_terms(x0, t, torch.Generator().manual_seed(2))
        xt = model.q_xt(x0, t, torch.Generator().manual_seed(2))
        logp = torch.log_softmax(model.x0_logits(xt, t), -1)
    w = torch.where(torch.arange(3) == 1, 6.0, 2.0)
    correction = (logp.exp() * w).sum(-1) - w[x0]
    masked = xt == model.mask_id
    assert torch.allclose((exact - weighted)[masked], correction[masked], atol=1e-5)


def test_save_load_identical(tmp_path):
    tok = ResidueTokenizer(list("ACD"))
    model = tiny(time_conditioning="adaln", tokenizer=tok.to_config(), flagged_tokens=["C"])
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.set_length_distribution([3, 4, 4, 6])
    model.save_pretrained(tmp_path / "m", extra={"note": "x"})
    loaded = MaskedDiffusionLM.from_pretrained(tmp_path / "m").eval()
    x_t = torch.tensor([[4, 0, 4, 1, 3, 3], [4, 4, 4, 4, 4, 4]])
    t = torch.tensor([0.3, 1.0])
    assert torch.equal(model(x_t, t), loaded(x_t, t))
    assert torch.equal(loaded.length_counts, model.length_counts)
    a = model.generate(5, steps=6, generator=torch.Generator().manual_seed(1))
    b = loaded.generate(5, steps=6, generator=torch.Generator().manual_seed(1))
    assert a == b and all(set(s) <= set("ACD") for s in a)
    assert loaded.schedule.flagged_ids == [1]
    assert MaskedDiffusionLM.load_meta(tmp_path / "m") == {"note": "x"}


def test_config_errors_name_the_value():
    with pytest.raises(ConfigError, match="divisible"):
        MaskedDiffusionLM(3, 4, d_model=10, n_heads=3)
    with pytest.raises(ConfigError, match="'X'"):
        MaskedDiffusionLM(3, 4, d_model=8, n_heads=2, tokenizer=ResidueTokenizer(list("ACD")).to_config(), flagged_tokens=["X"])
    with pytest.raises(ConfigError, match="tokenizer has 3"):
        MaskedDiffusionLM(4, 4, d_model=8, n_heads=2, tokenizer=ResidueTokenizer(list("ACD")).to_config())
    model = tiny()
    with pytest.raises(GendesignError, match="max_length"):
        model(torch.zeros(1, 7, dtype=torch.long), torch.ones(1))
    with pytest.raises(GendesignError, match="no length distribution"):
        model.sample(2)


def test_padding_does_not_change_predictions():
    model = tiny()
    m, p = model.mask_id, model.pad_id
    short = torch.tensor([[m, 1, m]])
    padded = torch.tensor([[m, 1, m, p, p, p]])
    t = torch.tensor([0.5])
    assert torch.allclose(model.x0_logits(short, t), model.x0_logits(padded, t)[:, :3], atol=1e-5)
