"""Reward over-optimisation with a gold reward model and proxy ensembles (Gao et al. 2023; Coste et al. 2023).

Gold: a wide tanh MLP on ``x in R^d`` minus a penalty on designs far outside the data (see :class:`Gold`). Designs come from the reference distribution
``N(0, I)``. Proxies: ``M`` small ReLU MLPs, each trained on its own subset of gold labels (with label
noise) drawn from the reference distribution, stacked and evaluated under ``torch.func.vmap``
(:class:`~gendesign.objectives.stacked_members.StackedMembers`). Proxy rewards are z-scored per member
on a frozen reference batch, as :class:`~gendesign.objectives.compose.Ensemble` does with
``member_norm="zscore"``.

Rewards optimised: one proxy (``single``), and the ensemble aggregators ``mean``,
``mean_minus_std`` (λ = 1), ``uwo`` (mean − λ·variance, λ = 1) and ``constrained``: the ensemble mean
as primary objective with the constraint ``-std >= -θ`` (member disagreement at most ``θ``, the 90th
percentile of the disagreement on the reference batch), multipliers learned online
(:class:`~gendesign.objectives.constrained_reward.ConstrainedReward`).

Optimisers, each with its optimisation strength:

* best-of-n over reference samples, ``n = 1 .. 2^k`` (KL ``log n - (n - 1)/n``); the constrained
  reward's multiplier is learned with the argmax selection as its policy on separate pools;
* an RL-style optimiser: a Gaussian policy ``N(μ, I)`` started at ``μ = 0`` trained by REINFORCE
  with an optional KL penalty ``β KL(π || N(0, I))`` (batch-standardised advantages; the constrained reward mixes per-component advantages
  ``(N - Σ w) A_0 + Σ w A_i``), strength = ``KL(π || N(0, I))`` in closed form.

Two scenarios: the default, where proxy errors are member-specific (small noisy label sets), and
``--gold-penalty 0.15`` (results ``overoptimization_shared_blind_spot``), where gold also punishes
designs beyond ``||x||² > r²``, a blind spot every proxy shares: there the ensemble members herd
(Eisenstein et al. 2023: hacks every member shares survive).

Gold is reported as improvement over the reference mean. Target: at the strongest optimisation a
conservative reward keeps at least 90% of the best gold improvement seen in the run while the single
proxy falls below 70%.

Writes ``benchmarks/results/overoptimization.json``, ``.md`` and ``.png``.

Usage::

    python benchmarks/overoptimization.py [--members 5] [--max-log2-n 14] [--trials 64] [--rl-steps 400] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from gendesign.objectives.compose import aggregate_members
from gendesign.objectives.constrained_reward import ConstrainedReward
from gendesign.objectives.stacked_members import StackedMembers

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ("single", "mean", "mean_minus_std", "uwo", "constrained")


class Gold(nn.Module):
    """``g(x) = w_2^T tanh(W_1 x + b_1) - c · relu(||x||² - r²)``: a random reward model that also
    punishes designs far outside the data (``||x||² > r²``, about the 95th percentile of the
    reference), as real design oracles punish unrealistic designs that no proxy's training data covers."""

    def __init__(self, d: int, width: int, g: torch.Generator, radius2: float, penalty: float) -> None:
        super().__init__()
        self.radius2, self.penalty = radius2, penalty
        self.w1 = torch.randn(d, width, generator=g) * 1.2 / math.sqrt(d)
        self.b1 = torch.randn(width, generator=g) * 0.5
        self.w2 = torch.randn(width, generator=g) / math.sqrt(width)

    def forward(self, x: Tensor) -> Tensor:
        return torch.tanh(x @ self.w1 + self.b1) @ self.w2 - self.penalty * torch.relu((x**2).sum(-1) - self.radius2)


def proxy_net(d: int, width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 1))


def train_proxies(gold: Gold, args: argparse.Namespace, g: torch.Generator) -> list[nn.Module]:
    """``M`` proxies, each fitted to ``labels`` noisy gold labels of its own reference samples."""
    nets = []
    for m in range(args.members):
        torch.manual_seed(args.seed * 100 + m)
        x = torch.randn(args.labels, args.dim, generator=g)
        y = gold(x)
        y = y + args.label_noise * y.std() * torch.randn(args.labels, generator=g)
        net = proxy_net(args.dim, args.proxy_width)
        opt = torch.optim.Adam(net.parameters(), lr=3e-3)
        for _ in range(args.epochs):
            opt.zero_grad()
            loss = ((net(x).squeeze(-1) - y) ** 2).mean()
            loss.backward()
            opt.step()
        nets.append(net.eval().requires_grad_(False))
    return nets


class Rewards:
    """Member values z-scored on a frozen reference batch, and every aggregate used here."""

    def __init__(self, members: StackedMembers, ref: Tensor, lam: float) -> None:
        self.members = members
        raw = members.forward(ref)[..., 0]
        self.mu, self.sd = raw.mean(1, keepdim=True), raw.std(1, unbiased=False, keepdim=True)
        self.lam = lam
        self.theta = float(torch.quantile(self.z(ref).std(0, unbiased=False), 0.9))

    def z(self, x: Tensor) -> Tensor:
        """`[M, B]` z-scored member values."""
        return (self.members.forward(x)[..., 0] - self.mu) / self.sd

    def components(self, R: Tensor) -> Tensor:
        """`[B, 2]` maximise-view components of the constrained reward: ensemble mean, minus disagreement."""
        return torch.stack([R.mean(0), -R.std(0, unbiased=False)], dim=1)

    def score(self, method: str, R: Tensor, constrained: ConstrainedReward | None = None) -> Tensor:
        """`[B]` reward of ``method`` from z-scored member values `[M, B]`."""
        if method == "single":
            return R[0]
        if method == "constrained":
            assert constrained is not None
            return constrained.combine(self.components(R).double()).float()
        one = torch.ones(1)
        return aggregate_members(R.unsqueeze(-1), one, method, self.lam).squeeze(-1)


def make_constrained(theta: float, lr: float) -> ConstrainedReward:
    """A :class:`ConstrainedReward` whose components come from :meth:`Rewards.components` (combine / step_multipliers only)."""
    from gendesign.core.objective import FunctionObjective

    mean = FunctionObjective(lambda xs: torch.zeros(len(xs)), names="ensemble_mean")
    spread = FunctionObjective(lambda xs: torch.zeros(len(xs)), names="disagreement", directions="min")
    return ConstrainedReward(mean, [(spread, theta, "ge")], lr=lr, momentum=0.1, init=0.0, auto_update=False)


def best_of_n(gold: Gold, rewards: Rewards, args: argparse.Namespace, g: torch.Generator) -> dict[str, list[dict[str, float]]]:
    n_max = 2**args.max_log2_n
    out: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    pools = [torch.randn(n_max, args.dim, generator=g) for _ in range(args.trials)]
    gold_v = [gold(p) for p in pools]
    member_v = [rewards.z(p) for p in pools]
    train_pools = [rewards.z(torch.randn(n_max, args.dim, generator=g)) for _ in range(args.trials // 4)]
    ref_gold = float(torch.cat(gold_v).mean())
    for k in range(args.max_log2_n + 1):
        n = 2**k
        kl = math.log(n) - (n - 1) / n
        constrained = make_constrained(rewards.theta, lr=args.multiplier_lr)
        for _ in range(args.multiplier_steps):
            chosen = []
            for R in train_pools:
                comps = rewards.components(R[:, :n])
                chosen.append(comps[int(constrained.combine(comps.double()).argmax())])
            constrained.step_multipliers(torch.stack(chosen)[:, 1:].double().mean(0))
        for method in METHODS:
            golds, proxies = [], []
            for gv, R in zip(gold_v, member_v):
                s = rewards.score(method, R[:, :n], constrained)
                i = int(s.argmax())
                golds.append(float(gv[i]) - ref_gold)
                proxies.append(float(R[:, i].mean()))
            out[method].append({"n": n, "kl": kl, "gold": sum(golds) / len(golds), "proxy": sum(proxies) / len(proxies)})
    return out


def reinforce(gold: Gold, rewards: Rewards, args: argparse.Namespace, g: torch.Generator) -> dict[str, list[dict[str, float]]]:
    out: dict[str, list[dict[str, float]]] = {}
    ref_gold = float(gold(torch.randn(65536, args.dim, generator=g)).mean())
    for method in METHODS:
        mu = torch.zeros(args.dim, requires_grad=True)
        log_sd = torch.zeros(args.dim)  # a fixed unit scale: KL(π || ref) = ||μ||² / 2 measures how far the policy moved
        opt = torch.optim.Adam([mu], lr=args.rl_lr)
        constrained = make_constrained(rewards.theta, lr=args.multiplier_lr) if method == "constrained" else None
        curve = []
        for step in range(args.rl_steps + 1):
            if step % args.log_every == 0:
                with torch.no_grad():
                    x = mu + log_sd.exp() * torch.randn(4096, args.dim, generator=g)
                    kl = float(0.5 * (mu**2 + (2 * log_sd).exp() - 1 - 2 * log_sd).sum())
                    curve.append({"step": step, "kl": kl, "gold": float(gold(x).mean()) - ref_gold, "proxy": float(rewards.z(x).mean())})
            if step == args.rl_steps:
                break
            with torch.no_grad():
                x = mu + log_sd.exp() * torch.randn(args.rl_batch, args.dim, generator=g)
                R = rewards.z(x)
                if constrained is not None:
                    comps = rewards.components(R).double()
                    per = (comps - comps.mean(0)) / (comps.std(0) + 1e-8)
                    adv = constrained.mix_advantages(per).float()
                    constrained.step_multipliers(comps[:, 1:].mean(0))
                else:
                    s = rewards.score(method, R)
                    adv = (s - s.mean()) / (s.std() + 1e-8)
            logp = (-0.5 * ((x - mu) / log_sd.exp()) ** 2 - log_sd).sum(1)
            kl_ref = 0.5 * (mu**2 + (2 * log_sd).exp() - 1 - 2 * log_sd).sum()
            loss = -(adv * logp).mean() + args.rl_kl * kl_ref
            opt.zero_grad()
            loss.backward()
            opt.step()
        out[method] = curve
    return out


def summarise(curves: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    best = max(p["gold"] for c in curves.values() for p in c)
    return {
        m: {
            "peak_gold": max(p["gold"] for p in c),
            "final_gold": c[-1]["gold"],
            "final_kl": c[-1]["kl"],
            "final_share_of_best": c[-1]["gold"] / best,
        }
        for m, c in curves.items()
    }


def plot(results: dict[str, dict[str, list[dict[str, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (name, curves) in zip(axes, results.items()):
        for i, (m, c) in enumerate(curves.items()):
            kl = [p["kl"] for p in c]
            ax.plot(kl, [p["gold"] for p in c], color=f"C{i}", label=f"{m} gold")
            ax.plot(kl, [p["proxy"] for p in c], color=f"C{i}", ls="--", alpha=0.6, label=f"{m} proxy (mean z)")
        ax.set_xlabel("KL(π || reference)")
        ax.set_ylabel("gold improvement / proxy")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=8)
    ap.add_argument("--gold-width", type=int, default=512)
    ap.add_argument("--gold-radius2", type=float, default=15.5, help="r²: gold punishes ||x||² beyond it (15.5 ~ 95th percentile for d = 8)")
    ap.add_argument("--gold-penalty", type=float, default=0.0)
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--proxy-width", type=int, default=64)
    ap.add_argument("--labels", type=int, default=64)
    ap.add_argument("--label-noise", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=800)
    ap.add_argument("--lam", type=float, default=1.0)
    ap.add_argument("--max-log2-n", type=int, default=14)
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--multiplier-steps", type=int, default=60)
    ap.add_argument("--multiplier-lr", type=float, default=1.0)
    ap.add_argument("--rl-steps", type=int, default=400)
    ap.add_argument("--rl-batch", type=int, default=256)
    ap.add_argument("--rl-lr", type=float, default=0.03)
    ap.add_argument("--rl-kl", type=float, default=0.05, help="β of the KL(π || reference) penalty in the REINFORCE loss (advantages are standardised)")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="overoptimization")
    args = ap.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    g = torch.Generator().manual_seed(args.seed)
    gold = Gold(args.dim, args.gold_width, g, args.gold_radius2, args.gold_penalty)
    nets = train_proxies(gold, args, g)
    members = StackedMembers(nets, lambda xs: torch.stack(list(xs)), names="proxy")
    x = torch.randn(64, args.dim, generator=g)
    assert torch.allclose(members.forward(x), members.loop(x), atol=1e-5), "vmap and the member loop disagree"
    rewards = Rewards(members, torch.randn(4096, args.dim, generator=g), args.lam)
    held = torch.randn(4096, args.dim, generator=g)
    fit = [float(torch.corrcoef(torch.stack([r, gold(held)]))[0, 1]) for r in members.forward(held)[..., 0]]
    results = {"best-of-n": best_of_n(gold, rewards, args, g), "REINFORCE (Gaussian policy)": reinforce(gold, rewards, args, g)}
    summary = {name: summarise(c) for name, c in results.items()}
    conservative = ("mean_minus_std", "uwo", "constrained")  # the plain mean is reported but not counted as conservative
    verdicts = {}
    for name, s in summary.items():
        best_cons = max((m for m in conservative if m in s), key=lambda m: s[m]["final_share_of_best"])
        verdicts[name] = {
            "single_final_share": s["single"]["final_share_of_best"],
            "best_conservative": best_cons,
            "conservative_final_share": s[best_cons]["final_share_of_best"],
            "met": s["single"]["final_share_of_best"] < 0.7 and s[best_cons]["final_share_of_best"] >= 0.9,
        }
    seconds = time.perf_counter() - start
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": "overoptimization",
        "args": vars(args),
        "proxy_gold_correlation_on_reference": fit,
        "disagreement_threshold": rewards.theta,
        "curves": results,
        "summary": summary,
        "target": "at the strongest optimisation, a conservative reward keeps >= 90% of the best gold improvement while the single proxy is below 70%",
        "verdicts": verdicts,
        "seconds": seconds,
        "machine": platform.platform(),
    }
    (RESULTS / f"{args.out}.json").write_text(json.dumps(payload, indent=1))
    plot(results, RESULTS / f"{args.out}.png")
    lines = [
        "# Over-optimisation: gold vs proxy under best-of-n and REINFORCE",
        "",
        f"Gold: tanh MLP (d = {args.dim}, width {args.gold_width}) minus {args.gold_penalty}·relu(‖x‖² − {args.gold_radius2}). Proxies: {args.members} ReLU MLPs (width {args.proxy_width}), each on "
        f"{args.labels} own gold labels with noise {args.label_noise}·std, z-scored on a frozen reference batch, run stacked under vmap. "
        f"Proxy-gold correlation on reference samples: {', '.join(f'{c:.2f}' for c in fit)}. "
        f"λ = {args.lam}; constrained: ensemble mean s.t. disagreement ≤ {rewards.theta:.3f} (90th percentile on the reference). Seed {args.seed}.",
        "",
        "Gold is the improvement over the reference mean; 'share' is the final gold improvement over the best one seen in that optimiser's runs.",
        "",
    ]
    for name, s in summary.items():
        lines += [f"## {name}", "", "| reward | peak gold | final gold | final KL | final share of best |", "|---|---|---|---|---|"]
        for m, row in s.items():
            lines.append(f"| {m} | {row['peak_gold']:.3f} | {row['final_gold']:.3f} | {row['final_kl']:.2f} | {row['final_share_of_best']:.2f} |")
        v = verdicts[name]
        lines += [
            "",
            f"Target: single proxy {v['single_final_share']:.2f} (< 0.70 wanted), best conservative `{v['best_conservative']}` "
            f"{v['conservative_final_share']:.2f} (≥ 0.90 wanted): **{'met' if v['met'] else 'not met'}**.",
            "",
        ]
    lines += [f"![gold and proxy vs KL]({args.out}.png)", "", f"Run time {seconds:.0f} s on {platform.machine()}. Command: `python benchmarks/overoptimization.py --seed {args.seed} --gold-penalty {args.gold_penalty} --out {args.out}`."]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
