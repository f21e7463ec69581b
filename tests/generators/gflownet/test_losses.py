"""TB, DB and SubTB(lambda) against hand-written closed forms on tiny trajectories."""

import itertools

import pytest
import torch

from gendesign.generators.gflownet.losses import detailed_balance_loss, subtrajectory_balance_loss, trajectory_balance_loss
from gendesign.generators.gflownet.sampler import TrajectoryScores


def _scores():
    """Two trajectories: b=0 has n=2 non-exit steps, b=1 has n=1; horizon T=3."""
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([2, 1])
    step = torch.arange(3).unsqueeze(1) <= lengths
    trans = torch.arange(3).unsqueeze(1) < lengths
    log_pf = torch.where(step, -torch.rand(3, 2, generator=g), torch.zeros(3, 2))
    log_pb = torch.where(trans, -torch.rand(3, 2, generator=g), torch.zeros(3, 2))
    state = torch.arange(4).unsqueeze(1) <= lengths
    log_flow = torch.where(state, torch.randn(4, 2, generator=g), torch.zeros(4, 2))
    return TrajectoryScores(log_pf, log_pb, log_flow, None, None, torch.tensor([0.7, 0.7]), lengths)


def test_tb_is_mean_squared_residual():
    s = _scores()
    log_r = torch.tensor([-0.3, 1.2])
    res = [0.7 + s.log_pf[:, b].sum() - log_r[b] - s.log_pb[:, b].sum() for b in range(2)]
    expected = (res[0] ** 2 + res[1] ** 2) / 2
    assert trajectory_balance_loss(s, log_r).item() == pytest.approx(expected.item(), rel=1e-6)
    assert trajectory_balance_loss(s, None).item() == 0.0


def test_db_closed_form_pools_all_transitions():
    s = _scores()
    F, pf, pb = s.log_flow, s.log_pf, s.log_pb
    log_r = torch.tensor([-0.3, 1.2])
    terms = [
        F[0, 0] + pf[0, 0] - F[1, 0] - pb[0, 0],
        F[1, 0] + pf[1, 0] - F[2, 0] - pb[1, 0],
        F[0, 1] + pf[0, 1] - F[1, 1] - pb[0, 1],
        F[2, 0] + pf[2, 0] - log_r[0],
        F[1, 1] + pf[1, 1] - log_r[1],
    ]
    expected = torch.stack(terms).pow(2).mean()
    assert detailed_balance_loss(s, log_r).item() == pytest.approx(expected.item(), rel=1e-6)
    expected_op = torch.stack(terms[:3]).pow(2).mean()
    assert detailed_balance_loss(s, None).item() == pytest.approx(expected_op.item(), rel=1e-6)


def _subtb_brute(s, log_r, lam):
    total = 0.0
    for b in range(2):
        n = int(s.lengths[b])
        flows = [s.log_z[b].item()] + [s.log_flow[i, b].item() for i in range(1, n + 1)]
        if log_r is not None:
            flows.append(log_r[b].item())
        d = [s.log_pf[t, b].item() - s.log_pb[t, b].item() for t in range(n + 1)]
        num = den = 0.0
        for i, j in itertools.combinations(range(len(flows)), 2):
            r = flows[i] + sum(d[i:j]) - flows[j]
            num += lam ** (j - i) * r * r
            den += lam ** (j - i)
        total += num / den
    return total / 2


@pytest.mark.parametrize("lam", [0.5, 0.9, 2.0])
def test_subtb_matches_brute_force(lam):
    s = _scores()
    log_r = torch.tensor([-0.3, 1.2])
    assert subtrajectory_balance_loss(s, log_r, lam=lam).item() == pytest.approx(_subtb_brute(s, log_r, lam), rel=1e-5)
    assert subtrajectory_balance_loss(s, None, lam=lam).item() == pytest.approx(_subtb_brute(s, None, lam), rel=1e-5)


def test_subtb_large_lambda_tends_to_tb():
    s = _scores()
    log_r = torch.tensor([-0.3, 1.2])
    assert subtrajectory_balance_loss(s, log_r, lam=1e6).item() == pytest.approx(
        trajectory_balance_loss(s, log_r).item(), rel=1e-4
    )


def test_losses_need_flows_and_matching_shapes():
    s = _scores()
    s_noflow = TrajectoryScores(s.log_pf, s.log_pb, None, None, None, s.log_z, s.lengths)
    with pytest.raises(Exception, match="state_flow=True"):
        detailed_balance_loss(s_noflow, None)
    with pytest.raises(Exception, match="shape"):
        trajectory_balance_loss(s, torch.zeros(3))
