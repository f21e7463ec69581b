"""Reverse steps, confidence-ordered unmasking, caching, nucleus sampling, length control, infilling, and a tiny model overfitting a corpus."""

import math

import pytest
import torch

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.generators.mdlm.model import MaskedDiffusionLM
from gendesign.generators.mdlm.sampler import (
    Sampler,
    expected_reveals,
    planned_step_from_predictions,
    reverse_step,
    sampling_log_probs,
)


def tiny(**kw):
    torch.manual_seed(0)
    opts = dict(vocab_size=4, max_length=8, d_model=16, n_layers=2, n_heads=2, dropout=0.0)
    opts.update(kw)
    model = MaskedDiffusionLM(**opts).eval()
    with torch.no_grad():
        model.denoiser.head.weight.mul_(20.0)
    return model


def assert_infilled(model, x, fixed, out):
    """Fixed positions and pads unchanged, every other position a real token, and something was regenerated."""
    assert torch.equal(out[fixed], x[fixed])
    assert bool((out[x == model.pad_id] == model.pad_id).all())
    assert bool((out[x != model.pad_id] < model.vocab_size).all())
    assert not torch.equal(out, x)


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
    assert_infilled(model, x, fixed, model.infill(x, fixed, steps=4, temperature=2.0, generator=g))


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
    for order in ("confidence", "margin"):
        planned = model.sample(200, steps=16, order=order, generator=torch.Generator().manual_seed(1))
        assert sum(tuple(r.tolist()) in members for r in planned) / 200 > 0.9, order
        assert len({tuple(r.tolist()) for r in planned}) > 25, order
    with torch.no_grad():
        bound = model.nelbo(corpus, num_samples=32, generator=torch.Generator().manual_seed(2)).mean().item()
    # a model that memorised the corpus needs about log(#corpus members of that length) ~ log 25 nats
    assert bound < math.log(25) + 1.0, bound


# ---------------------------------------------------------------- confidence-ordered unmasking


def test_planned_step_reveals_the_rounded_expected_count_per_row():
    model = tiny()
    m = model.mask_id
    # rows: masked count n, times t -> s, and k = min(n, max(1, round(n (t - s) / t)))
    cases = [(8, 1.0, 0.7, 2), (8, 1.0, 0.6, 3), (8, 0.5, 0.1, 6), (3, 1.0, 0.95, 1), (5, 0.3, 0.0, 5), (0, 1.0, 0.5, 0)]
    x_t = torch.randint(0, 4, (len(cases), 8), generator=torch.Generator().manual_seed(0))
    for r, (n, *_rest) in enumerate(cases):
        x_t[r, torch.randperm(8, generator=torch.Generator().manual_seed(r))[:n]] = m
    t = torch.tensor([c[1] for c in cases])
    s = torch.tensor([c[2] for c in cases])
    for order in ("confidence", "margin"):
        x_s, lp = reverse_step(model, x_t, t, s, order=order, generator=torch.Generator().manual_seed(1))
        revealed = (x_t == m) & (x_s != m)
        assert revealed.sum(-1).tolist() == [c[3] for c in cases], order
        assert torch.equal(x_s[x_t != m], x_t[x_t != m])
        assert bool((x_s[revealed] < model.vocab_size).all())
        assert bool((lp[~revealed] == 0).all()) and bool((lp[revealed] < 0).all())


def test_planned_sampling_follows_the_schedule_step_by_step():
    model = tiny()
    for steps, expect in ((4, [2, 2, 2, 2]), (16, [1] * 8)):
        sampler = Sampler(model, steps=steps)
        grid = sampler.times()
        x = torch.full((3, 8), model.mask_id)
        counts = []
        for i in range(steps):
            if not bool((x == model.mask_id).any()):
                break
            x_s, _ = reverse_step(model, x, grid[i].item(), grid[i + 1].item(), order="confidence", generator=torch.Generator().manual_seed(i))
            per_row = ((x == model.mask_id) & (x_s != model.mask_id)).sum(-1)
            assert bool((per_row == per_row[0]).all())
            counts.append(int(per_row[0]))
            x = x_s
        assert counts == expect
        assert not bool((x == model.mask_id).any())


def test_state_dependent_expected_count_weights_each_token_by_its_schedule():
    model = tiny(flagged_tokens=[0], flag_power=3.0, eps=0.0)
    m = model.mask_id
    x_t = torch.tensor([[m, m, 2, m]])
    t, s = torch.tensor([0.8]), torch.tensor([0.4])
    probs = torch.tensor([[[0.7, 0.1, 0.1, 0.1], [0.1, 0.3, 0.3, 0.3], [0.25] * 4, [0.0, 0.0, 0.0, 1.0]]])
    q = torch.tensor([(0.8**3 - 0.4**3) / 0.8**3, 0.5, 0.5, 0.5], dtype=torch.float64)
    expect = sum(float((probs[0, pos].double() * q).sum()) for pos in (0, 1, 3))
    assert expected_reveals(model, x_t, t, s, probs).item() == pytest.approx(expect, rel=1e-5)
    assert expected_reveals(model, x_t, t, torch.zeros(1), probs).item() == 3


def _known_predictions(batch: int) -> torch.Tensor:
    """Clean-token probabilities `[B, 6, 4]` whose top probabilities and margins are known.

    | position | probabilities | top | margin |
    | 0 | .5 .5 0 0 | .5 | 0 |
    | 1 | 1 0 0 0 | 1 | 1 |
    | 2 | .45 .2 .2 .15 | .45 | .25 |
    | 3 | .25 x 4 | .25 | 0 |
    | 4 | .6 .4 0 0 | .6 | .2 |
    | 5 | 0 0 .7 .3 | .7 | .4 |
    """
    probs = torch.tensor(
        [[0.5, 0.5, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.45, 0.2, 0.2, 0.15], [0.25] * 4, [0.6, 0.4, 0.0, 0.0], [0.0, 0.0, 0.7, 0.3]]
    )
    return probs.log().expand(batch, 6, 4)


def test_planned_step_reveals_exactly_the_most_confident_positions():
    model = tiny()
    m = model.mask_id
    b = 4000
    logits = _known_predictions(b)
    x_t = torch.full((b, 6), m)
    t, s = torch.ones(b), torch.full((b,), 0.5)  # k = round(6 * 0.5) = 3
    chosen = {"confidence": [1, 4, 5], "margin": [1, 2, 5]}
    for order, positions in chosen.items():
        x_s, lp = planned_step_from_predictions(model, x_t, t, s, logits, order, torch.Generator().manual_seed(0))
        revealed = x_s != m
        expect = torch.zeros(6, dtype=torch.bool)
        expect[positions] = True
        assert bool((revealed == expect).all()), order
        assert bool((x_s[:, 1] == 0).all())
        # revealed tokens follow the predictive distribution and log_probs is its log-probability
        probs = logits[0].exp()
        for pos in positions:
            freq = torch.bincount(x_s[:, pos], minlength=4).double() / b
            se = torch.sqrt(probs[pos] * (1 - probs[pos]) / b).double()
            assert bool(((freq - probs[pos]).abs() <= 4 * se + 1e-3).all()), (order, pos, freq)
            assert torch.allclose(lp[:, pos], probs[pos].log()[x_s[:, pos]])
    # positions already decided are never ranked: with position 1 fixed, n = 5, k = round(5 * 0.6) = 3
    x_t[:, 1] = 3
    x_s, _ = planned_step_from_predictions(model, x_t[:8], t[:8], torch.full((8,), 0.4), logits[:8], "confidence", torch.Generator().manual_seed(0))
    assert bool(((x_s != m) == torch.tensor([True, True, False, False, True, True])).all())
    assert bool((x_s[:, 1] == 3).all())
    # ties go to the leftmost positions
    flat = torch.zeros(2, 6, 4)
    x_s, _ = planned_step_from_predictions(model, torch.full((2, 6), m), torch.ones(2), torch.full((2,), 0.5), flat, "margin", torch.Generator().manual_seed(0))
    assert bool(((x_s != m) == torch.tensor([True, True, True, False, False, False])).all())


def test_planned_infilling_keeps_fixed_positions_and_is_reproducible():
    model = tiny()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, (32, 8), generator=g)
    x[:5, 6:] = model.pad_id
    fixed = torch.rand(32, 8, generator=g) < 0.5
    for order in ("confidence", "margin"):
        out = model.infill(x, fixed, steps=4, temperature=2.0, order=order, generator=torch.Generator().manual_seed(1))
        again = Sampler(model, steps=4, temperature=2.0, order=order).infill(x, fixed, generator=torch.Generator().manual_seed(1))
        assert torch.equal(out, again)
        assert_infilled(model, x, fixed, out)


def test_planned_sampling_is_reproducible_and_fills_every_position():
    model = tiny()
    model.set_length_distribution([3, 5, 8])
    for order in ("confidence", "margin"):
        a = model.sample(12, steps=6, top_p=0.9, order=order, batch_size=5, generator=torch.Generator().manual_seed(3))
        b = Sampler(model, steps=6, top_p=0.9, batch_size=5, order=order).sample(12, generator=torch.Generator().manual_seed(3))
        c = model.sample(12, steps=6, top_p=0.9, order=order, batch_size=5, generator=torch.Generator().manual_seed(4))
        assert torch.equal(a, b) and not torch.equal(a, c)
        assert not bool((a == model.mask_id).any())
    ancestral = model.sample(12, steps=6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(ancestral, Sampler(model, steps=6, order="confidence").sample(12, order="ancestral", generator=torch.Generator().manual_seed(3)))


def test_unknown_order_is_a_config_error():
    model = tiny()
    with pytest.raises(ConfigError, match="order='greedy'"):
        Sampler(model, order="greedy")
    with pytest.raises(ConfigError, match="order='greedy'"):
        model.sample(2, length=3, order="greedy")
    with pytest.raises(ConfigError, match="order='greedy'"):
        reverse_step(model, torch.full((1, 3), model.mask_id), 1.0, 0.5, order="greedy")


def test_plugin_space_strategy_and_command_pass_the_order_through(tmp_path):
    import numpy as np
    from click.testing import CliRunner

    from gendesign.cli import cli
    from gendesign.core.sequence_space import SequenceSpace
    from gendesign.generators.tokenizers import ResidueTokenizer
    from gendesign.search.best_of_n import BestOfN, BestOfNOptions
    from gendesign.search.infill_space import InfillSpace

    torch.manual_seed(0)
    model = MaskedDiffusionLM(6, 8, d_model=16, n_layers=1, n_heads=2, dropout=0.0, tokenizer=ResidueTokenizer(list("ACDEFG")).to_config())
    model.set_length_distribution([4, 5, 6, 7, 8])
    model.save_pretrained(tmp_path / "model")
    base = SequenceSpace("ACDEFG", min_length=4, max_length=8)
    space = InfillSpace(base, model=model, num_masked=2, sampling={"temperature": 3.0, "order": "margin"})
    assert space.config()["sampling"]["order"] == "margin"
    rng = np.random.default_rng(1)
    parents = space.base.sample(10, rng)
    for p, c in zip(parents, space.mutate_many(parents, rng)):
        assert len(c) == len(p) and 1 <= sum(x != y for x, y in zip(p, c)) <= 2
    with pytest.raises(ConfigError, match="order='best'"):
        InfillSpace(base, model=model, sampling={"order": "best"})
    assert BestOfNOptions(model_dir="m", order="confidence").sampling == {"order": "confidence"}
    with pytest.raises(ConfigError, match="order='best'"):
        BestOfN(base, [], options=BestOfNOptions(model_dir="m", order="best"), model=model)
    result = CliRunner().invoke(cli, ["sample", str(tmp_path / "model"), "-n", "12", "--steps", "4", "--seed", "1", "--order", "confidence"])
    assert result.exit_code == 0, result.output
    expect = model.generate(12, steps=4, order="confidence", batch_size=256, generator=torch.Generator().manual_seed(1))
    assert result.stdout.split() == ["".join(d) for d in expect]
    plain = CliRunner().invoke(cli, ["sample", str(tmp_path / "model"), "-n", "12", "--steps", "4", "--seed", "1"])
    assert plain.stdout.split() == ["".join(d) for d in model.generate(12, steps=4, batch_size=256, generator=torch.Generator().manual_seed(1))]
    assert CliRunner().invoke(cli, ["sample", str(tmp_path / "model"), "--order", "best"]).exit_code != 0


def test_anchored_step_reveals_anchor_tokens_at_the_schedule_rate_with_model_log_probs():
    from gendesign.generators.mdlm.sampler import anchored_step_from_predictions

    model = tiny()
    m = model.mask_id
    n = 6000
    x_t = torch.tensor([[m, 1, m, m, model.pad_id]]).repeat(n, 1)
    anchor = torch.tensor([[2, 1, 0, 3, model.pad_id]]).repeat(n, 1)
    t, s = 0.8, 0.5
    x_s, lp = reverse_step(model, x_t, t, s, anchor=anchor, generator=torch.Generator().manual_seed(0))
    revealed = x_s != m
    assert torch.equal(x_s[revealed], anchor[revealed])
    assert torch.equal(x_s[:, [1, 4]], x_t[:, [1, 4]]) and bool((lp[:, [1, 4]] == 0).all())
    q = (t - s) / t
    rate = revealed[:, [0, 2, 3]].float().mean()
    assert abs(float(rate) - q) < 4 * math.sqrt(q * (1 - q) / (3 * n))
    with torch.no_grad():
        mu = torch.softmax(model.x0_logits(x_t[:1], torch.tensor([t])), -1)[0]
    for pos in (0, 2, 3):
        expect = torch.where(revealed[:, pos], math.log(q) + torch.log(mu[pos, anchor[0, pos]]), torch.tensor(math.log(1 - q)))
        assert torch.allclose(lp[:, pos], expect, atol=1e-5)
    x0, _ = reverse_step(model, x_t[:3], t, 0.0, anchor=anchor[:3])
    assert torch.equal(x0, anchor[:3])
    with torch.no_grad():
        logits = model.x0_logits(x_t[:2], torch.full((2,), t))
    bad = anchor[:2].clone()
    bad[:, 0] = model.pad_id
    with pytest.raises(GendesignError, match="real token ids"):
        anchored_step_from_predictions(model, x_t[:2], torch.full((2,), t), torch.full((2,), s), logits, bad)
    with pytest.raises(ConfigError, match="ancestral"):
        reverse_step(model, x_t[:2], t, s, anchor=anchor[:2], order="confidence")


def test_state_dependent_anchored_step_uses_the_anchor_tokens_schedule():
    model = tiny(flagged_tokens=[0], flag_power=3.0, eps=0.0)
    m = model.mask_id
    n = 6000
    x_t = torch.full((n, 2), m)
    anchor = torch.tensor([[0, 2]]).repeat(n, 1)
    t, s = 0.8, 0.4
    x_s, lp = reverse_step(model, x_t, t, s, anchor=anchor, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mu = torch.softmax(model.x0_logits(x_t[:1], torch.tensor([t])), -1)[0]
    q = torch.tensor([(t**3 - s**3) / t**3, (t - s) / t, (t - s) / t, (t - s) / t])
    for pos, tok in ((0, 0), (1, 2)):
        revealed = x_s[:, pos] != m
        assert bool((x_s[revealed, pos] == tok).all())
        assert abs(float(revealed.float().mean()) - float(q[tok])) < 4 * math.sqrt(float(q[tok] * (1 - q[tok])) / n)
        stay = torch.log(1 - (mu[pos] * q).sum())
        expect = torch.where(revealed, torch.log(mu[pos, tok] * q[tok]), stay)
        assert torch.allclose(lp[:, pos], expect, atol=1e-5)
