"""Clip, Delta and gated accumulation on ragged step values (issue 14, item 5)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gendesign.core.errors import ConfigError
from gendesign.core.objective import Objective, ObjectiveSpec, Scores
from gendesign.objectives.step_rewards import (
    StepShaped,
    StepValues,
    clip_steps,
    delta_steps,
    gated_return,
    returns_to_go,
)

torch.set_num_threads(1)

ragged = st.lists(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=7), min_size=1, max_size=6)


def _steps(rows):
    return StepValues.from_list([torch.tensor(r, dtype=torch.float64) for r in rows])


def test_clip_is_nonpositive_monotone_and_subtracts_eta():
    r = torch.linspace(-3, 3, 61, dtype=torch.float64).unsqueeze(0)
    out = clip_steps(StepValues(r, torch.ones_like(r, dtype=torch.bool)), eta=0.5).values[0]
    assert bool((out <= 0).all())
    assert bool((out[1:] >= out[:-1]).all())
    below = r[0] < 0.5
    assert torch.allclose(out[below], r[0][below] - 0.5), "Clip must subtract eta below eta, not only clamp"
    assert bool((out[~below] == 0).all())


@settings(max_examples=60, deadline=None)
@given(ragged)
def test_delta_return_to_go_telescopes_on_ragged_batches(rows):
    steps = _steps(rows)
    g = returns_to_go(delta_steps(steps))
    for b, row in enumerate(rows):
        r = torch.tensor(row, dtype=torch.float64)
        for t in range(len(row)):
            assert float(g[b, t]) == pytest.approx(float(r[t] - r[-1]), abs=1e-9)
        assert bool((g[b, len(row) :] == 0).all())


@settings(max_examples=40, deadline=None)
@given(ragged, st.floats(-2, 2))
def test_padded_batch_equals_the_per_sequence_loop(rows, eta):
    steps = _steps(rows)
    for fn in (lambda s: clip_steps(s, eta), delta_steps, lambda s: delta_steps(s, drop_last=False)):
        batched = returns_to_go(fn(steps))
        for b, row in enumerate(rows):
            single = returns_to_go(fn(_steps([row])))[0]
            assert torch.allclose(batched[b, : len(row)], single, atol=1e-12)


def test_duplicating_a_step_leaves_earlier_delta_returns_unchanged():
    r = [0.2, 0.9, 0.4, 0.7]
    dup = [0.2, 0.9, 0.9, 0.4, 0.7]  # the policy repeats step 1
    g, gd = returns_to_go(delta_steps(_steps([r])))[0], returns_to_go(delta_steps(_steps([dup])))[0]
    assert float(gd[0]) == pytest.approx(float(g[0]))
    assert float(gd[1]) == pytest.approx(float(g[1]))
    plain, plain_dup = _steps([r]).total()[0], _steps([dup]).total()[0]
    assert float(plain_dup) > float(plain), "without Delta the repeated step inflates the return"


def test_gate_never_lifts_a_failing_trajectory():
    outcome = torch.tensor([0.0, 0.4, 0.5, 1.0], dtype=torch.float64)
    dense = torch.tensor([10.0, 10.0, 10.0, -1.0], dtype=torch.float64)
    out = gated_return(outcome, dense, tau=0.5)
    assert out.tolist() == [0.0, 0.4, 10.5, 0.0]
    assert bool((out[outcome < 0.5] == outcome[outcome < 0.5]).all())
    assert gated_return(outcome, dense, tau=None, weight=0.5).tolist() == [5.0, 5.4, 5.5, 0.5]


def test_step_values_must_be_prefix_masks():
    with pytest.raises(ConfigError, match="prefix"):
        StepValues(torch.zeros(1, 3), torch.tensor([[True, False, True]]))


class _Stepped(Objective):
    """Outcome = last step value; steps = the given rows (direction min on purpose)."""

    specs = (ObjectiveSpec("cost", "min"),)

    def __init__(self, rows):
        self.rows = rows

    def evaluate(self, designs):
        steps = _steps([self.rows[i] for i in designs])
        last = torch.stack([torch.tensor(self.rows[i][-1], dtype=torch.float64) for i in designs])
        return Scores(values=last.unsqueeze(-1), valid=torch.ones(len(designs), dtype=torch.bool), specs=self.specs, info={"steps": steps})


def test_step_shaped_uses_the_maximise_view_and_gate():
    rows = [[1.0, 2.0, 3.0], [0.5, 0.5]]
    shaped = StepShaped(_Stepped(rows), refine="delta", weight=1.0)
    out = shaped([0, 1]).values[:, 0].tolist()
    # maximise view: -r; delta total = -r_0 - (-r_last) = r_last - r_0; outcome = -r_last
    assert out == pytest.approx([-3.0 + 2.0, -0.5 + 0.0])
    gated = StepShaped(_Stepped(rows), refine="delta", gate_tau=-1.0)([0, 1]).values[:, 0].tolist()
    assert gated == pytest.approx([-3.0, -0.5 + 0.0])


def test_segmental_video_reward_reports_segment_steps_that_sum_to_the_reward():
    from gendesign.core.objective import FunctionObjective
    from gendesign.objectives.video_rewards import SegmentalVideoReward

    brightness = FunctionObjective(lambda xs: torch.stack([x.mean() for x in xs]), names="b")
    video = SegmentalVideoReward(brightness, num_segments=4, tar_lambda=0.5, seed=1)
    clips = [torch.rand(8, 3, 4, 4, generator=torch.Generator().manual_seed(i)) for i in range(3)]
    scores = video(clips)
    steps = scores.info["steps"]
    assert tuple(steps.values.shape) == (3, 4, 1)
    assert torch.allclose(steps.total(), scores.values, atol=1e-6)
    shaped = StepShaped(SegmentalVideoReward(brightness, num_segments=4, tar_lambda=0.5, seed=1), refine="clip", eta=1.0)
    out = shaped(clips)
    assert bool((out.info["dense"] <= 0).all()) and out.values.shape == (3, 1)
