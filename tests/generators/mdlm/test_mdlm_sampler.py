"""Reverse steps, caching, nucleus sampling, length control, infilling, and a tiny model overfitting a corpus."""

import math

import pytest
import torch

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.sampler import Sampler, reverse_step, sampling_log_probs


def tiny(**kw):
    torch.manual_seed(0)
    opts = dict(vocab_size=4, max_length=8, d_model=16, n_layers=2, n_heads=2, dropout=0.0)
    opts.update(kw)
    model = MaskedDiffusionLM(**opts).eval()
    with torch.no_grad():
        model.denoiser.head.weight.mul_(20.0)
    return model


def test_nucleus_keeps_smallest_set_reaching_top_p():
    logits = torch.log(torch.tensor([[0.2, 0.5, 0.3]]))
    assert torch.allclose(sampling_log_probs(logits, 1.0, 0.7).exp(), torch.tensor([[0.0, 0.625, 0.375]]))
    assert torch.allclose(sampling_log_probs(logits, 1.0, 0.45).exp(), torch.tensor([[0.0, 1.0, 0.0]]))
    assert torch.allclose(sampling_log_probs(logits, 1.0, 1.0).exp(), torch.tensor([[0.2, 0.5, 0.3]]))
    hot = sampling_log_probs(logits, 0.5, 1.0).exp()
    expect = torch.tensor([0.04, 0.25, 0.09]) / 0.38
    assert torch.allclose(hot[0], expect, atol=1e-6)


def test_reverse_step_log_probs_are_the_analytic_transition_probabilities():
    model = tiny()
    m = model.mask_id
    x_t = torch.tensor([[m, 1, m, m, model.pad_id]]).repeat(4000, 1)
    t, s = 0.8, 0.5
    x_s, lp = reverse_step(model, x_t, t, s, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x_s[:, 1], x_t[:, 1]) and torch.equal(x_s[:, 4], x_t[:, 4])
    assert bool((lp[:, [1, 4]] == 0).all())
    with torch.no_grad():
        mu = torch.softmax(model.x0_logits(x_t[:1], torch.tensor([t])), -1)[0]
    q = (model.schedule.base.alpha(torch.tensor(s)) - model.schedule.base.alpha(torch.tensor(t))) / (1 - model.schedule.base.alpha(torch.tensor(t)))
    for pos in (0, 2, 3):
        analytic = torch.cat([mu[pos] * q, (1 - q).reshape(1)])
        chosen = torch.where(x_s[:, pos] == m, torch.tensor(4), x_s[:, pos])
        assert torch.allclose(lp[:, pos], torch.log(analytic[chosen]), atol=1e-5)
        freq = torch.bincount(chosen, minlength=5).float() / len(chosen)
        se = torch.sqrt(analytic * (1 - analytic) / len(chosen))
        assert bool(((freq - analytic).abs() <= 4 * se + 1e-3).all()), (freq, analytic)


def test_state_dependent_reverse_step_uses_each_tokens_schedule():
    model = tiny(flagged_tokens=[0], flag_power=3.0, eps=0.0)
    m = model.mask_id
    x_t = torch.full((6000, 2), m)
    t, s = 0.8, 0.4
    x_s, lp = reverse_step(model, x_t, t, s, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mu = torch.softmax(model.x0_logits(x_t[:1], torch.tensor([t])), -1)[0]
    q = torch.tensor([(t**3 - s**3) / t**3, (t - s) / t, (t - s) / t, (t - s) / t])
    for pos in (0, 1):
        reveal = mu[pos] * q
        analytic = torch.cat([reveal, (1 - reveal.sum()).reshape(1)])
        chosen = torch.where(x_s[:, pos] == m, torch.tensor(4), x_s[:, pos])
        assert torch.allclose(lp[:, pos], torch.log(analytic[chosen]), atol=1e-5)
        freq = torch.bincount(chosen, minlength=5).float() / len(chosen)
        se = torch.sqrt(analytic * (1 - analytic) / len(chosen))
        assert bool(((freq - analytic).abs() <= 4 * se + 1e-3).all()), (freq, analytic)


def test_reverse_step_to_zero_reveals_everything_and_checks_times():
    model = tiny()
    x_t = torch.full((3, 5), model.mask_id)
    x_s, lp = model.reverse_step(x_t, torch.tensor([1.0, 0.5, 0.1]), torch.zeros(3), generator=torch.Generator().manual_seed(0))
    assert bool((x_s < model.vocab_size).all()) and bool((lp <= 0).all())
    with pytest.raises(GendesignError, match="0 <= s < t"):
        reverse_step(model, x_t, 0.5, 0.6)


def test_cached_sampling_equals_uncached_and_saves_forward_passes():
    model = tiny()
    model.set_length_distribution([3, 5, 8])
    cached = Sampler(model, steps=64, cache=True)
    plain = Sampler(model, steps=64, cache=False)
    a = cached.sample(16, generator=torch.Generator().manual_seed(7))
    b = plain.sample(16, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert cached.forward_rows < plain.forward_rows / 3


def test_time_conditioned_model_never_caches():
    model = tiny(time_conditioning="adaln")
    assert Sampler(model, cache=True).cache is False


def test_length_control_and_no_masks_left():
    model = tiny()
    lengths = torch.tensor([1, 4, 8, 2])
    x = model.sample(4, lengths=lengths, steps=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 8)
    assert torch.equal((x != model.pad_id).sum(-1), lengths)
    assert bool((x[x != model.pad_id] < model.vocab_size).all())
    pos = torch.arange(8)
    assert bool((x[pos[None] >= lengths[:, None]] == model.pad_id).all())
    y = model.sample(3, length=6, steps=1, generator=torch.Generator().manual_seed(0))
    assert y.shape == (3, 6) and bool((y < model.vocab_size).all())
    with pytest.raises(ConfigError, match="lengths"):
        model.sample(2, lengths=[3, 9])


def test_infilling_never_changes_fixed_positions():
    model = tiny()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, (32, 8), generator=g)
    x[:5, 6:] = model.pad_id
    fixed = torch.rand(32, 8, generator=g) < 0.5
    out = model.infill(x, fixed, steps=4, temperature=2.0, generator=g)
    assert torch.equal(out[fixed], x[fixed])
    assert bool((out[x == model.pad_id] == model.pad_id).all())
    assert bool((out[x != model.pad_id] < model.vocab_size).all())
    assert not torch.equal(out, x)


def test_sampling_with_a_fixed_seed_is_reproducible():
    model = tiny()
    a = model.sample(6, length=8, steps=8, top_p=0.9, generator=torch.Generator().manual_seed(3), batch_size=4)
    b = model.sample(6, length=8, steps=8, top_p=0.9, generator=torch.Generator().manual_seed(3), batch_size=4)
    c = model.sample(6, length=8, steps=8, top_p=0.9, generator=torch.Generator().manual_seed(4), batch_size=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_tiny_model_overfits_fifty_sequences():
    """50 random sequences of 3-4 tokens over 64 symbols: after training, > 90% of samples are corpus members."""
    g = torch.Generator().manual_seed(0)
    corpus = torch.randint(0, 64, (50, 4), generator=g)
    lengths = torch.randint(3, 5, (50,), generator=g)
    corpus[torch.arange(4)[None] >= lengths[:, None]] = 64
    members = {tuple(r.tolist()) for r in corpus}
    assert len(members) == 50
    torch.manual_seed(0)
    model = MaskedDiffusionLM(64, 4, d_model=64, n_layers=2, n_heads=4, dropout=0.0)
    model.set_length_distribution(lengths)
    iters = 600
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / 30) * max(0.05, 1 - i / iters))
    model.train()
    for _ in range(iters):
        total, tokens = model.loss(corpus.repeat(4, 1), g, estimator="count")
        opt.zero_grad()
        (total / tokens).backward()
        opt.step()
        sched.step()
    model.eval()
    samples = model.sample(200, steps=16, generator=torch.Generator().manual_seed(1))
    hits = sum(tuple(r.tolist()) in members for r in samples)
    assert hits / 200 > 0.9, hits
    assert len({tuple(r.tolist()) for r in samples}) > 25
    with torch.no_grad():
        bound = model.nelbo(corpus, num_samples=32, generator=torch.Generator().manual_seed(2)).mean().item()
    # a model that memorised the corpus needs about log(#corpus members of that length) ~ log 25 nats
    assert bound < math.log(25) + 1.0, bound
