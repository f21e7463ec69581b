"""Monte-Carlo tree search over a masked diffusion model's reverse process."""

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from gendesign.core.errors import ConfigError, GendesignError
from gendesign.core.objective import FunctionObjective, ObjectiveSpec
from gendesign.core.pareto import pareto_mask
from gendesign.core.sequence_space import SequenceSpace
from gendesign.search.mcts import MCTS, MCTSOptions, chebyshev_choice, puct_scores


class ProductMDLM:
    """A toy masked diffusion model whose clean-token distribution is a fixed product over positions.

    ``reverse_step`` follows the MDLM posterior of the log-linear schedule: a mask is revealed with
    probability ``(t - s) / t`` (all of them at ``s = 0``) as a draw from ``softmax(logits[l])``, or
    as the ``anchor`` token when one is given.
    """

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits
        self.max_length, self.vocab_size = logits.shape
        self.pad_id, self.mask_id = self.vocab_size, self.vocab_size + 1
        self.length_counts = torch.zeros(self.max_length + 1)
        self.length_counts[self.max_length] = 1.0
        self.device = torch.device("cpu")
        self.calls = 0

    def anchored_step(self, x_t, t, s, anchor, temperature=1.0, top_p=1.0, generator=None):
        return self.reverse_step(x_t, t, s, temperature=temperature, top_p=top_p, generator=generator, anchor=anchor)

    def reverse_step(self, x_t, t, s, temperature=1.0, top_p=1.0, generator=None, anchor=None):
        self.calls += 1
        b, n = x_t.shape
        masked = x_t == self.mask_id
        q = torch.where(s <= 0, torch.ones_like(t), (t - s) / t).unsqueeze(-1).expand(b, n)
        reveal = masked & (torch.rand((b, n), generator=generator) < q)
        probs = torch.softmax(self.logits[:n] / temperature, -1)
        draw = torch.multinomial(probs.repeat(b, 1), 1, generator=generator).view(b, n)
        if anchor is not None:
            draw = anchor.clone()
        x_s = torch.where(reveal, draw, x_t)
        lp = torch.log(probs.repeat(b, 1, 1).gather(-1, draw.unsqueeze(-1)).squeeze(-1))
        logp = torch.where(
            reveal, torch.log(q) + lp, torch.where(masked, torch.log1p(-q.clamp(max=1 - 1e-12)), torch.zeros_like(lp))
        )
        return x_s, logp


def _run(strategy, objective, budget, batch=8):
    seen = 0
    best = -math.inf
    history = []
    while seen < budget:
        designs = strategy.ask(min(batch, budget - seen))
        if not designs:
            break
        scores = objective(designs)
        strategy.tell(designs, scores)
        seen += len(designs)
        history.extend(designs)
        best = max(best, float(scores.values[:, 0].max()))
    return best, history


def test_puct_exploration_term_has_the_right_sign_and_size():
    q = np.array([[0.5, 0.1], [0.5, 0.1], [0.2, 0.3]])
    prior = np.array([0.5, 0.5, 0.5])
    visits = np.array([1.0, 9.0, 1.0])
    u = puct_scores(q, prior, 16, visits, 2.0)
    assert np.allclose(u - q, np.broadcast_to((2.0 * 0.5 * 4.0 / (1 + visits))[:, None], (3, 2)))
    assert (u[0] > u[1]).all()
    assert np.array_equal(puct_scores(q, prior, 16, visits, 0.0), q)
    bigger_prior = puct_scores(q, np.array([0.9, 0.5, 0.5]), 16, visits, 2.0)
    assert (bigger_prior[0] > u[0]).all()
    assert (puct_scores(q, prior, 64, visits, 2.0) > u).all()


def test_exploration_picks_the_less_visited_child_among_equal_values():
    space = SequenceSpace("AB", length=2)
    model = ProductMDLM(torch.zeros(2, 2))
    s = MCTS(
        space,
        (ObjectiveSpec("f", bounds=(0, 1)),),
        options=MCTSOptions(steps=2, num_children=4, lengths=[2], c_puct=1.0, widening_c=0.0),
        model=model,
    )
    canvas = s.nodes[0].children[0]
    visited = s._add_node(canvas, s.nodes[canvas].x.clone(), log_step=-1.0)
    fresh = s._add_node(canvas, s.nodes[canvas].x.clone(), log_step=-1.0)
    assert s.stats.prior(canvas, np.array([visited, fresh])).tolist() == pytest.approx([0.5, 0.5])
    s.stats.n_valid[[canvas, visited, fresh]] = [6, 5, 1]
    s.stats.reward_sum[[canvas, visited, fresh], 0] = [3.0, 2.5, 0.5]
    s.nodes[canvas].expansions = 1
    assert s._select(torch.ones(s.k) / s.k) == fresh


def test_time_grid_continues_across_depth():
    model = ProductMDLM(torch.zeros(6, 3))
    s = MCTS(
        SequenceSpace("ABC", length=6),
        (ObjectiveSpec("f"),),
        options=MCTSOptions(steps=6, num_children=2, lengths=[6]),
        model=model,
    )
    assert [s.time_at(d) for d in range(7)] == pytest.approx([1 - d / 6 for d in range(7)])
    seen = []
    original = model.reverse_step

    def spy(x_t, t, s_, **kw):
        seen.append((float(t[0]), float(s_[0])))
        return original(x_t, t, s_, **kw)

    model.reverse_step = spy
    s.ask(4)
    assert seen[0] == pytest.approx((1.0, 5 / 6))
    assert all(a > b for a, b in seen)
    assert seen[1][0] == pytest.approx(5 / 6)


def test_mcts_finds_the_known_best_sequence_that_sampling_misses():
    length, vocab = 4, 4
    target = [3, 1, 0, 2]
    logits = torch.zeros(length, vocab)
    for i, tok in enumerate(target):
        logits[i, (tok + 1) % vocab] = 1.5
    model = ProductMDLM(logits)
    space = SequenceSpace("ABCD", length=length)
    target_text = "".join("ABCD"[i] for i in target)
    obj = FunctionObjective(lambda xs: [sum(a == b for a, b in zip(x, target_text)) for x in xs], names="matches")
    obj.specs = (ObjectiveSpec("matches", bounds=(0.0, float(length))),)
    p_target = math.prod(float(torch.softmax(logits[i], 0)[t]) for i, t in enumerate(target))
    budget = 100
    assert 1 - (1 - p_target) ** budget < 0.05
    for seed in (0, 3):
        opts = MCTSOptions(steps=length, num_children=8, lengths=[length], c_puct=0.5, widening_c=1.0, max_expansions_per_ask=20)
        strategy = MCTS(space, obj.specs, seed=seed, options=opts, model=model)
        best, designs = _run(strategy, obj, budget)
        assert len(set(designs)) == len(designs)
        assert best == length
        assert strategy.archive.keys == [target_text]


def test_invalid_rollouts_are_penalised_not_evaluated():
    model = ProductMDLM(torch.zeros(5, 3))
    space = SequenceSpace("ABC", min_length=1, max_length=3)
    obj = FunctionObjective(lambda xs: [1.0] * len(xs), names="f")
    obj.specs = (ObjectiveSpec("f", bounds=(0.0, 1.0)),)
    s = MCTS(space, obj.specs, options=MCTSOptions(steps=5, num_children=4, lengths=[3, 5], invalid_penalty=2.0), model=model)
    designs = s.ask(8)
    assert all(len(d) == 3 for d in designs)
    short_canvas, long_canvas = s.nodes[0].children
    assert s.stats.n_invalid[long_canvas] > 0 and s.stats.n_valid[long_canvas] == 0
    assert s.q_values(long_canvas).tolist() == [-2.0]
    s.tell(designs, obj(designs))
    assert s.q_values(short_canvas).tolist() == [1.0]


def test_backups_are_means_not_sums():
    model = ProductMDLM(torch.zeros(4, 2))
    space = SequenceSpace("AB", length=4)
    obj = FunctionObjective(lambda xs: [x.count("A") for x in xs], names="a")
    obj.specs = (ObjectiveSpec("a", bounds=(0.0, 4.0)),)
    s = MCTS(space, obj.specs, options=MCTSOptions(steps=4, num_children=6, lengths=[4]), model=model)
    _run(s, obj, 40)
    stats = s.stats
    assert not stats.n_pending[: stats.size].any()
    for idx, node in enumerate(s.nodes[1:], start=1):
        if stats.n_valid[idx]:
            q = float(s.q_values(idx)[0])
            assert 0.0 <= q <= 1.0
            assert q == pytest.approx(float(stats.reward_sum[idx, 0]) / stats.n_valid[idx] / 4.0)
        if node.children:
            log_steps = torch.from_numpy(stats.log_step[node.children])
            assert stats.prior(idx, np.array(node.children)) == pytest.approx(torch.softmax(log_steps, 0).numpy())
        scored = stats.n_valid + stats.n_invalid
        own_rollout = int(node.depth >= 1)
        assert scored[idx] == scored[node.children].sum() + own_rollout
        assert len(node.rollouts) == stats.n_valid[idx]
    assert stats.n_valid[0] == len(s.rollout_ids)


@pytest.mark.parametrize("seed", range(4))
def test_archive_is_strictly_non_dominated_and_bounded(seed):
    rng = np.random.default_rng(seed)
    length = 6
    model = ProductMDLM(torch.tensor(rng.normal(size=(length, 4)), dtype=torch.float32))
    space = SequenceSpace("ABCD", length=length)
    w = torch.tensor(rng.normal(size=(3, length, 4)))

    def f(xs):
        ids = torch.tensor([["ABCD".index(c) for c in x] for x in xs])
        return torch.stack([w[k].gather(-1, ids.unsqueeze(-1)).squeeze(-1).sum(-1) for k in range(3)], -1).float()

    obj = FunctionObjective(f, names=["f0", "f1", "f2"], directions=["max", "min", "max"])
    s = MCTS(
        space,
        obj.specs,
        seed=seed,
        options=MCTSOptions(steps=length, num_children=6, lengths=[length], archive_size=10),
        model=model,
    )
    designs = []
    for _ in range(12):
        batch = s.ask(8)
        s.tell(batch, obj(batch))
        designs += batch
        vals = s.archive.values
        assert len(s.archive) <= 10
        assert bool(pareto_mask(vals).all())
        assert len(set(s.archive.keys)) == len(s.archive)
    canon = obj(designs).canonical().double()
    front = canon[pareto_mask(canon)]
    for v in s.archive.values:
        assert not any(bool((u >= v).all() and (u > v).any()) for u in canon)
    assert len(front) >= len(s.archive)


@pytest.mark.parametrize("anchored, depths", [(0, None), (3, None), (3, [3, 4])])
def test_state_dict_resume_continues_identically(anchored, depths):
    length = 5
    model = ProductMDLM(torch.randn(length, 3, generator=torch.Generator().manual_seed(0)))
    space = SequenceSpace("ABC", length=length)
    obj = FunctionObjective(lambda xs: [[x.count("A"), x.count("C")] for x in xs], names=["a", "c"])
    opts = MCTSOptions(steps=length, num_children=4, lengths=[length], anchored_children=anchored, anchored_depths=depths)
    a = MCTS(space, obj.specs, seed=3, options=opts, model=model)
    for _ in range(3):
        d = a.ask(6)
        a.tell(d, obj(d))
    pending = a.ask(6)
    state = a.state_dict()
    import json

    json.dumps({k: v for k, v in state.items() if k not in ("torch_generator", "archive")})
    b = MCTS(space, obj.specs, seed=99, options=opts, model=model)
    b.load_state_dict(state)
    a.tell(pending, obj(pending))
    b.tell(pending, obj(pending))
    assert a.ask(6) == b.ask(6)
    assert a.archive.keys == b.archive.keys
    for s in (a, b):
        lo, span = s._normaliser()
        ids = np.arange(s.stats.size)
        assert np.allclose(s.stats.q_mean[ids], s.stats.q(ids, lo, span, opts.invalid_penalty))
        assert np.isfinite(lo).all() and (span > 0).all()


def test_model_and_space_vocabularies_must_agree():
    with pytest.raises(ConfigError, match="real tokens"):
        MCTS(
            SequenceSpace("ABC", length=4),
            (ObjectiveSpec("f"),),
            options=MCTSOptions(lengths=[4]),
            model=ProductMDLM(torch.zeros(4, 5)),
        )


def test_chebyshev_choice_follows_the_weights_along_the_front():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.6, 0.6]], dtype=torch.float64)
    assert chebyshev_choice(u, torch.tensor([0.5, 0.5], dtype=torch.float64)) == 2
    assert chebyshev_choice(u, torch.tensor([0.95, 0.05], dtype=torch.float64)) == 0
    assert chebyshev_choice(u, torch.tensor([0.05, 0.95], dtype=torch.float64)) == 1
    assert chebyshev_choice(u[:, :1], torch.ones(1, dtype=torch.float64)) == 0


def test_pareto_selection_draws_only_non_dominated_children():
    model = ProductMDLM(torch.zeros(2, 2))
    specs = (ObjectiveSpec("f", bounds=(0, 1)), ObjectiveSpec("g", bounds=(0, 1)))
    opts = MCTSOptions(steps=2, lengths=[2], c_puct=0.0, widening_c=0.0, selection="pareto")
    s = MCTS(SequenceSpace("AB", length=2), specs, seed=0, options=opts, model=model)
    canvas = s.nodes[0].children[0]
    children = [s._add_node(canvas, s.nodes[canvas].x.clone(), log_step=-1.0) for _ in range(3)]
    s.stats.n_valid[[canvas, *children]] = [3, 1, 1, 1]
    s.stats.reward_sum[children] = [[1.0, 0.0], [0.0, 1.0], [0.0, 0.5]]
    s.nodes[canvas].expansions = 1
    s._norm = None
    picked = {s._select(np.ones(2) / 2) for _ in range(40)}
    assert picked == set(children[:2])


def test_anchored_children_keep_the_best_rollout_below_the_node():
    length = 6
    model = ProductMDLM(torch.zeros(length, 3))
    space = SequenceSpace("ABC", length=length)
    obj = FunctionObjective(lambda xs: [x.count("C") for x in xs], names="c")
    obj.specs = (ObjectiveSpec("c", bounds=(0.0, float(length))),)
    s = MCTS(space, obj.specs, seed=1, options=MCTSOptions(steps=3, num_children=6, anchored_children=6, lengths=[length]), model=model)
    _run(s, obj, 30)
    node_idx = max(range(1, len(s.nodes)), key=lambda i: (len(s.nodes[i].rollouts) > 1, -s.nodes[i].depth))
    node = s.nodes[node_idx]
    assert not node.terminal
    values = [float(s.rollout_values[r][0]) for r in node.rollouts]
    best = s.rollout_ids[node.rollouts[int(np.argmax(values))]]
    assert torch.equal(s._anchor(node, torch.ones(1, dtype=torch.float64)), best)
    node.expansions = 0
    for child in s._expand(node_idx, torch.ones(1, dtype=torch.float64)):
        x = s.nodes[child].x
        newly = (node.x == model.mask_id) & (x != model.mask_id)
        assert torch.equal(x[newly], best[newly])
        assert torch.equal(x[node.x != model.mask_id], node.x[node.x != model.mask_id])


def test_more_anchored_than_children_is_a_config_error():
    with pytest.raises(ValidationError, match="anchored_children=9 exceeds num_children=8"):
        MCTSOptions(num_children=8, anchored_children=9)


def _spy_steps(model):
    calls = []
    original = model.reverse_step

    def spy(x_t, t, s_, **kw):
        calls.append((t.clone(), s_.clone(), "anchor" in kw))
        return original(x_t, t, s_, **kw)

    model.reverse_step = spy
    return calls


def _searched_letter_count(letter, length, budget, seed, **options):
    """An MCTS over a uniform toy MDLM that maximises the count of ``letter``, after ``budget`` evaluations."""
    model = ProductMDLM(torch.zeros(length, 3))
    obj = FunctionObjective(lambda xs: [x.count(letter) for x in xs], names=letter)
    obj.specs = (ObjectiveSpec(letter, bounds=(0.0, float(length))),)
    opts = MCTSOptions(steps=length, lengths=[length], **options)
    s = MCTS(SequenceSpace("ABC", length=length), obj.specs, seed=seed, options=opts, model=model)
    _run(s, obj, budget)
    return s, model


def test_anchored_children_jump_to_the_drawn_depths_and_keep_the_anchor():
    steps = 6
    s, model = _searched_letter_count("C", steps, 24, 2, num_children=6, anchored_children=5, anchored_depths=[3, 5])
    w = torch.ones(1, dtype=torch.float64)
    anchor = s._anchor(s.nodes[1], w)
    calls = _spy_steps(model)
    children = s._expand(1, w)
    free, anchored = calls[0], calls[1]
    assert not free[2] and anchored[2]
    assert free[1].tolist() == pytest.approx([1 - 1 / steps])
    assert {round(v, 6) for v in anchored[1].tolist()} <= {round(1 - 3 / steps, 6), round(1 - 5 / steps, 6)}
    for c in children:
        node = s.nodes[c]
        assert node.depth in (1, 3, 5)
        if node.depth > 1:
            revealed = node.x != model.mask_id
            assert torch.equal(node.x[revealed], anchor[revealed])


def test_no_anchored_children_at_the_last_step_and_rollouts_keep_per_row_times():
    steps = 4
    s, model = _searched_letter_count("A", steps, 20, 0, num_children=4, anchored_children=3, anchored_depths=[2, 3])
    w = torch.ones(1, dtype=torch.float64)
    deep = next(i for i, n in enumerate(s.nodes) if n.depth == steps - 1 and not n.terminal and n.rollouts)
    calls = _spy_steps(model)
    s._expand(deep, w)
    assert [c[2] for c in calls] == [False]
    mixed = [next(i for i, n in enumerate(s.nodes) if n.depth == d and not n.terminal) for d in (1, 2)]
    calls.clear()
    out = s._rollout(mixed)
    assert not (out == model.mask_id).any()
    first_t = calls[0][0].tolist()
    assert first_t == pytest.approx([1 - 1 / steps, 1 - 2 / steps])


def test_anchored_depths_outside_the_grid_are_a_config_error():
    with pytest.raises(ValidationError, match=r"anchored_depths \[6\] are outside 1..steps-1 = 1..5"):
        MCTSOptions(steps=6, anchored_depths=[3, 6])


def test_a_state_without_tree_statistics_is_refused_with_the_fix():
    model = ProductMDLM(torch.zeros(3, 3))
    opts = MCTSOptions(steps=3, lengths=[3])
    s = MCTS(SequenceSpace("ABC", length=3), (ObjectiveSpec("f"),), options=opts, model=model)
    state = s.state_dict()
    del state["stats"]
    with pytest.raises(GendesignError, match=r"lacks \['stats'\].*start a new run"):
        MCTS(SequenceSpace("ABC", length=3), (ObjectiveSpec("f"),), options=opts, model=model).load_state_dict(state)


def test_generator_option_and_its_deprecated_model_spelling():
    from gendesign.core.box_space import BoxSpace
    from gendesign.core.generator import GeneratorSpec

    assert MCTSOptions(model="runs/m").generator == GeneratorSpec(name="mdlm", path="runs/m")
    assert MCTSOptions(generator={"name": "bigram", "path": "p"}).generator.name == "bigram"
    with pytest.raises(ValidationError, match="not both"):
        MCTSOptions(model="a", generator={"name": "mdlm", "path": "b"})
    with pytest.raises(ConfigError, match="TokenSpace.*lacks decode, encode"):
        MCTS(BoxSpace([(0.0, 1.0)]), (ObjectiveSpec("f"),), options=MCTSOptions(lengths=[2]), model=ProductMDLM(torch.zeros(2, 2)))
    with pytest.raises(ConfigError, match="AnchoredDenoiser.*lacks anchored_step"):
        MCTS(SequenceSpace("AB", length=2), (ObjectiveSpec("f"),), options=MCTSOptions(lengths=[2], anchored_children=1), model=_Plain(torch.zeros(2, 2)))


class _Plain:
    """A StepwiseDenoiser without anchored_step."""

    def __init__(self, logits):
        inner = ProductMDLM(logits)
        self.vocab_size, self.pad_id, self.mask_id, self.max_length = inner.vocab_size, inner.pad_id, inner.mask_id, inner.max_length
        self.length_counts, self.device = inner.length_counts, inner.device
        self.reverse_step = inner.reverse_step
