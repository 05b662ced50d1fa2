"""Importance-weight benchmark: exact moments of the trajectory weight by DP.

    python benchmarks/bench_importance.py [--out reports/bench-importance.json]

Measures, for |S| = |A| = 5 and T = 100 (IS-6 of the notes' section
"Off-Policy Policy Gradients"):
- importance.weight_moments (E[W_{1:t}] and E[W_{1:t}^2] for every t): median
  wall time of repeated calls (target < 100 ms), and the same at T = 1000;
- importance.variance_growth_rate, and the growth rate it predicts against the
  DP's log(E[W_100^2] / E[W_99^2]);
- the agreement of the DP with trajectory enumeration on tiny MDPs (target:
  max absolute difference <= 1e-9), and for scale the time the enumeration
  takes at T = 3 on the 5 x 5 problem (at T = 100 it would need
  5 * 25^99 * 5, about 10^140, trajectories).
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from _common import timed, write_json

from pgproofs import exact
from pgproofs import importance as imp
from pgproofs.strategies import random_mdp, random_policy


def random_case(S=5, A=5, T=100, seed=0):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T)
    return mdp, random_policy(rng, S, A), random_policy(rng, S, A)




def enumeration_moments(mdp, target, behaviour):
    traj = exact.enumerate_trajectories(mdp, behaviour)
    W = imp.prefix_weights(traj.batch, target)
    return traj.probs @ W, traj.probs @ W ** 2


def dp_vs_enumeration(n_cases=40):
    worst = 0.0
    for seed in range(n_cases):
        S, A, T = (2, 2, 5) if seed % 2 else (3, 3, 3)
        mdp, target, behaviour = random_case(S, A, T, seed=1000 + seed)
        mean, second = enumeration_moments(mdp, target, behaviour)
        w = imp.weight_moments(mdp, target, behaviour)
        worst = max(worst, np.abs(mean - w.mean).max(), np.abs(second - w.second).max())
    return float(worst), n_cases


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/bench-importance.json")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)

    mdp, target, behaviour = random_case()
    t100, t100_min, _ = timed(lambda: imp.weight_moments(mdp, target, behaviour), args.repeats)
    long_mdp, _, _ = random_case(T=1000)
    t1000, _, _ = timed(lambda: imp.weight_moments(long_mdp, target, behaviour),
                           max(5, args.repeats // 5))
    t_rate, _, _ = timed(lambda: imp.variance_growth_rate(mdp, target, behaviour), args.repeats)
    w = imp.weight_moments(mdp, target, behaviour)
    rate = imp.variance_growth_rate(mdp, target, behaviour)
    worst, n_cases = dp_vs_enumeration()
    short, _, _ = random_case(T=3)
    t_enum, _, _ = timed(lambda: enumeration_moments(short, target, behaviour), 3)
    t_dp3, _, _ = timed(lambda: imp.weight_moments(short, target, behaviour), args.repeats)

    result = {
        "benchmark": "importance",
        "problem": {"states": 5, "actions": 5, "horizon": 100},
        "weight_moments_ms": {"median": t100 * 1e3, "min": t100_min * 1e3,
                              "target_below": 100.0,
                              "median_at_T_1000": t1000 * 1e3},
        "variance_growth_rate": {
            "per_step": rate, "ms": t_rate * 1e3,
            "dp_log_ratio_T100": math.log(w.second[-1] / w.second[-2]),
            "E_w_T100": float(w.mean[-1]), "Var_w_T100": float(w.variance[-1]),
        },
        "dp_vs_enumeration": {"max_abs_diff": worst, "cases": n_cases,
                              "sizes": "S=A=3, T=3 and S=A=2, T=5", "target_at_most": 1e-9},
        "enumeration_T3_ms": t_enum * 1e3,
        "dp_T3_ms": t_dp3 * 1e3,
        "enumeration_over_dp_at_T3": t_enum / t_dp3,
        "passes_targets": bool(t100 * 1e3 < 100.0 and worst <= 1e-9),
    }
    write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
