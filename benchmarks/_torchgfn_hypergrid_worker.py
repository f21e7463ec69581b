"""torchgfn side of ``gflownet_hypergrid_vs_torchgfn.py``; runs inside the separate torchgfn venv.

Trains TB on HyperGrid with torchgfn's own components (KHot preprocessor, MLP policy with a learned
backward policy sharing the trunk, TBGFlowNet, Sampler), the setting of torchgfn's calibrated CI
targets, and prints one JSON line: training seconds, trajectories, L1/JSD of ``n_eval`` fresh
samples against the exact target, mode statistics.

Usage: python _torchgfn_hypergrid_worker.py NDIM HEIGHT N_TRAJECTORIES BATCH SEED N_EVAL
"""

import json
import sys
import time

import torch
from gfn.estimators import DiscretePolicyEstimator
from gfn.gflownet import TBGFlowNet
from gfn.gym import HyperGrid
from gfn.preprocessors import KHotPreprocessor
from gfn.samplers import Sampler
from gfn.utils.modules import MLP


def main() -> None:
    ndim, height, n_traj, batch, seed, n_eval = (int(a) for a in sys.argv[1:7])
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    env = HyperGrid(ndim=ndim, height=height, store_all_states=True, calculate_partition=True)
    pre = KHotPreprocessor(height=height, ndim=ndim)
    module_pf = MLP(input_dim=pre.output_dim, output_dim=env.n_actions, hidden_dim=256, n_hidden_layers=2)
    module_pb = MLP(
        input_dim=pre.output_dim, output_dim=env.n_actions - 1, hidden_dim=256, n_hidden_layers=2, trunk=module_pf.trunk
    )
    pf = DiscretePolicyEstimator(module_pf, env.n_actions, preprocessor=pre, is_backward=False)
    pb = DiscretePolicyEstimator(module_pb, env.n_actions, preprocessor=pre, is_backward=True)
    gflownet = TBGFlowNet(pf=pf, pb=pb, init_logZ=0.0)
    sampler = Sampler(estimator=pf)
    optimizer = torch.optim.Adam(gflownet.pf_pb_parameters(), lr=1e-3)
    optimizer.add_param_group({"params": gflownet.logz_parameters(), "lr": 1e-1})
    steps = n_traj // batch
    start = time.perf_counter()
    for _ in range(steps):
        trajectories = sampler.sample_trajectories(env=env, n=batch, save_logprobs=True)
        optimizer.zero_grad()
        loss = gflownet.loss(env, trajectories, recalculate_all_logprobs=False)
        loss.backward()
        optimizer.step()
    train_seconds = time.perf_counter() - start
    with torch.no_grad():
        chunks = []
        for lo in range(0, n_eval, 20000):
            states = gflownet.sample_terminating_states(env, min(20000, n_eval - lo))
            chunks.append(env.get_terminating_states_indices(states).reshape(-1))
        idx = torch.cat(chunks)
    true = env.true_dist().to(torch.float64).reshape(-1)
    counts = torch.bincount(idx, minlength=true.numel()).to(torch.float64)
    emp = counts / counts.sum()
    m = 0.5 * (emp + true)

    def kl(a: torch.Tensor, b: torch.Tensor) -> float:
        pos = a > 0
        return float((a[pos] * (a[pos].log() - b[pos].log())).sum())

    modes = true >= true.max() - 1e-12
    print(
        json.dumps(
            {
                "train_seconds": train_seconds,
                "trajectories": steps * batch,
                "l1": float((emp - true).abs().sum()),
                "jsd": 0.5 * kl(emp, m) + 0.5 * kl(true, m),
                "modes_found": int((counts[modes] > 0).sum()),
                "modes_total": int(modes.sum()),
                "mode_mass": float(emp[modes].sum()),
                "log_z": float(gflownet.logZ.detach()),
            }
        )
    )


if __name__ == "__main__":
    main()
