"""Engine benchmark: exact DP gradient time and sampler throughput.

    python benchmarks/bench_engine.py [--out reports/bench-engine.json]

Measures, for |S| = |A| = 5 and T = 100:
- exact.policy_gradient: median wall time of repeated calls (target < 50 ms);
- mdp.sample: transitions per second on one core, and the ratio against a
  plain per-step Python loop (rng.choice per draw, one trajectory and one
  step at a time) measured in the same run on the same MDP (targets >= 2M/s
  and >= 50x); also against a tuned pure-Python loop (bisect on lists), so
  the reader sees how much of the ratio is vectorisation and how much is
  the cost of rng.choice.
"""

from __future__ import annotations

import argparse
from bisect import bisect_right

import numpy as np

from _common import timed, write_json

from pgproofs import exact
from pgproofs.strategies import random_mdp, random_policy


def benchmark_case(S=5, A=5, T=100, seed=0):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T)
    return mdp, random_policy(rng, S, A)




def plain_loop_sample(mdp, policy, n, rng):
    """The baseline of the issue: a plain per-step loop as usually written (rng.choice)."""
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    out = np.empty((n, T), dtype=np.int64)
    for i in range(n):
        s = rng.choice(S, p=mdp.initial)
        for t in range(T):
            a = rng.choice(A, p=policy.probs[s])
            out[i, t] = a
            s = rng.choice(S, p=mdp.transitions[s, a])
    return out


def tuned_loop_sample(mdp, policy, n, rng):
    """A harder baseline: the same inverse-CDF draws, one trajectory and one step at a time.

    Pure Python on cumulative tables held as lists (bisect is faster than
    rng.choice per draw), so the ratio measures vectorisation, not a slow
    library call.
    """
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    cum_init = np.cumsum(mdp.initial).tolist()
    cum_pi = np.cumsum(policy.probs, axis=1).tolist()
    cum_p = np.cumsum(mdp.transitions, axis=2).tolist()
    u = rng.random((n, 2 * T + 1)).tolist()
    out = np.empty((n, T), dtype=np.int64)
    for i in range(n):
        ui = u[i]
        s = min(bisect_right(cum_init, ui[0]), S - 1)
        row = out[i]
        for t in range(T):
            a = min(bisect_right(cum_pi[s], ui[2 * t + 1]), A - 1)
            row[t] = a
            s = min(bisect_right(cum_p[s][a], ui[2 * t + 2]), S - 1)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/bench-engine.json")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    mdp, policy = benchmark_case()
    T = mdp.horizon

    exact.policy_gradient(mdp, policy)  # warm up
    grad_s, grad_best, _ = timed(lambda: exact.policy_gradient(mdp, policy), 50)

    n = 20_000
    rng = np.random.default_rng(0)
    mdp.sample(policy, 1000, rng)
    vec_s, _, _ = timed(lambda: mdp.sample(policy, n, rng), args.repeats)
    vec_rate = n * T / vec_s

    loop_s, _, _ = timed(lambda: plain_loop_sample(mdp, policy, 200, rng), 3)
    loop_rate = 200 * T / loop_s
    tuned_s, _, _ = timed(lambda: tuned_loop_sample(mdp, policy, 2000, rng), 3)
    tuned_rate = 2000 * T / tuned_s

    result = {
        "benchmark": "engine",
        "problem": {"states": 5, "actions": 5, "horizon": T},
        "policy_gradient_ms": {"median": grad_s * 1e3, "min": grad_best * 1e3,
                               "target_below": 50.0},
        "sampler": {
            "trajectories_per_call": n,
            "transitions_per_s": vec_rate,
            "target_at_least": 2e6,
            "python_loop_transitions_per_s": loop_rate,
            "ratio_vs_python_loop": vec_rate / loop_rate,
            "target_ratio_at_least": 50.0,
            "tuned_python_loop_transitions_per_s": tuned_rate,
            "ratio_vs_tuned_python_loop": vec_rate / tuned_rate,
        },
        "passes_targets": bool(grad_s < 0.05 and vec_rate >= 2e6 and vec_rate / loop_rate >= 50),
    }
    out = write_json(args.out, result)
    print(f"policy_gradient (5x5, T=100): {grad_s * 1e3:.2f} ms (target < 50 ms)")
    print(f"sampler: {vec_rate / 1e6:.2f} M transitions/s (target >= 2M); "
          f"python loop: {loop_rate / 1e3:.1f} k/s; ratio {vec_rate / loop_rate:.0f}x (target >= 50x)")
    print(f"tuned pure-Python loop (bisect on lists): {tuned_rate / 1e3:.0f} k/s; "
          f"ratio {vec_rate / tuned_rate:.1f}x")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
