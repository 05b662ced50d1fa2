"""Exact-covariance benchmark: the dynamic programming of pgproofs.variance.

    python benchmarks/bench_variance.py [--out reports/bench-variance.json]

Times, for |S| = |A| = 5 and T = 100 (target < 1 s each), the exact mean and
covariance of the built-in estimators (REINFORCE, reward-to-go, the exact
state-value baseline, the optimal constant baseline, the batch-mean baseline
with N = 8). Enumeration would need 25^100 trajectories there; for scale the
benchmark also times enumeration (check.exact_moments) against the DP on the
largest horizon enumeration handles for the same MDP (T = 3, 15 625 trajectories).
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np

from _common import timed, write_json

from pgproofs import FiniteMDP, check, exact
from pgproofs import estimators as est
from pgproofs import variance
from pgproofs.strategies import random_mdp, random_policy

TARGET_S = 1.0


def benchmark_case(S=5, A=5, T=100, seed=0):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T)
    return mdp, random_policy(rng, S, A)




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/bench-variance.json")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    mdp, policy = benchmark_case()
    cases = {
        "reinforce": (est.reinforce, 1),
        "reward_to_go": (est.reward_to_go, 1),
        "state_value_baseline": (est.state_value_baseline(mdp, policy), 1),
        "optimal_baseline": (est.optimal_baseline(mdp, policy), 1),
        "batch_mean_baseline_N8": (est.batch_mean_baseline, 8),
    }
    timings = {}
    for name, (e, n) in cases.items():
        med, best, _ = timed(lambda: variance.exact_covariance(e, mdp, policy, n), args.repeats)
        timings[name] = {"median_s": med, "min_s": best}

    small = FiniteMDP(mdp.initial, mdp.transitions, mdp.rewards, 3)
    enum_s, _, _ = timed(lambda: check.exact_moments(est.reward_to_go, small, policy), 3)
    dp_s, _, _ = timed(lambda: variance.exact_covariance(est.reward_to_go, small, policy), 3)

    worst = max(v["median_s"] for v in timings.values())
    result = {
        "benchmark": "variance",
        "problem": {"states": 5, "actions": 5, "horizon": 100,
                    "log10_trajectories": 100 * math.log10(25)},
        "exact_covariance_s": timings,
        "worst_median_s": worst,
        "target_below_s": TARGET_S,
        "enumeration_vs_dp_T3": {"trajectories": exact.count_trajectories(small, policy),
                                 "enumeration_s": enum_s, "dp_s": dp_s,
                                 "ratio": enum_s / dp_s},
        "passes_targets": worst < TARGET_S,
    }
    write_json(args.out, result)
    print(json.dumps(result, indent=2))
    return 0 if result["passes_targets"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
