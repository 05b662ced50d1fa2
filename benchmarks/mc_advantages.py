"""Calibration and power of the Monte Carlo advantage check (pgproofs.mc_advantages).

    python benchmarks/mc_advantages.py [calibration] [power] [witness] [--seeds 1000]
                                       [--power-seeds 3] [--out reports/bench-mc-advantages]

False alarms: the reference GAE (unbiased by construction) is tested once per
seed on a small episodic MDP (n_steps 16 x n_envs 2, 200 buffers per test),
with each method: empirical Bernstein with ``advantage_bound`` (finite-sample
guarantee) and Student's t (asymptotic). The adjusted p-value does not depend
on alpha, so one run per seed gives the rejection rate at alpha = 0.05, 0.01
and 1e-6 alike; each rate comes with its Clopper-Pearson 95% interval, and
"consistent" means the interval reaches down to alpha or below.

Power: every bug of ``bugs.ADVANTAGE_CATALOGUE`` and its fix, on a realistic
buffer (128 x 8, 2000 buffers per test, alpha 1e-6), a few seeds each, both
methods ("power"); and on the catalogue's witness case (8 x 2, 3000 buffers,
"witness"). Each part writes reports/bench-mc-advantages-<part>.json. A bug whose output leaves the Bernstein bound makes that test raise
ValueError (no verdict): reported as "bound exceeded". PGPROOFS_SEED_OFFSET
shifts every seed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import beta

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402

from pgproofs.advantages import gae  # noqa: E402
from pgproofs.bugs import ADVANTAGE_CATALOGUE  # noqa: E402
from pgproofs.episodic import EpisodicMDP  # noqa: E402
from pgproofs.mc_advantages import mc_advantage_test  # noqa: E402
from pgproofs.policy import SoftmaxPolicy  # noqa: E402
from pgproofs.testing import seeded_rng  # noqa: E402

ALPHAS = (0.05, 0.01, 1e-6)
METHODS = {"bernstein": "auto", "student-t": None}


def episodic_case(seed: int, *, time_limit: int, gamma: float = 0.9):
    """3 live states + 1 terminal, 2 actions: each step terminates with probability ~0.08,
    so episodes end by termination or by the time limit; rewards U(0, 1)."""
    rng = np.random.default_rng(seed)
    S, A = 4, 2
    P = rng.dirichlet(np.full(S, 2.0), size=(S, A))
    P[:3, :, 3] = 0.08
    P[:3] /= P[:3].sum(-1, keepdims=True)
    P[3] = 0.0
    P[3, :, 3] = 1.0
    R = rng.uniform(0, 1, (S, A))
    R[3] = 0.0
    mdp = EpisodicMDP([0.5, 0.5, 0.0, 0.0], P, R, np.array([0, 0, 0, 1], bool), gamma,
                      time_limit)
    return mdp, SoftmaxPolicy(rng.normal(size=(S, A)))


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    lo = 0.0 if k == 0 else float(beta.ppf(0.025, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(0.975, k + 1, n - k))
    return lo, hi


def calibration(seeds: int) -> dict:
    mdp, policy = episodic_case(1, time_limit=5)
    out = {"setting": {"n_steps": 16, "n_envs": 2, "n_buffers": 200, "lam": 0.95,
                       "gamma": mdp.discount, "time_limit": mdp.time_limit,
                       "adv_fn": "advantages.gae (unbiased)", "seeds": seeds}}
    for method, bound in METHODS.items():
        t0 = time.perf_counter()
        p = np.array([mc_advantage_test(gae, mdp, policy, n_steps=16, n_envs=2, lam=0.95,
                                        n_buffers=200, rng=seeded_rng(10_000 + i),
                                        bound=bound).p_value for i in range(seeds)])
        rates = {}
        for alpha in ALPHAS:
            k = int((p < alpha).sum())
            lo, hi = clopper_pearson(k, seeds)
            rates[str(alpha)] = {"rejections": k, "rate": k / seeds, "ci95": [lo, hi],
                                 "consistent": lo <= alpha}
        out[method] = {"false_alarms": rates, "median_p_value": float(np.median(p)),
                       "seconds": time.perf_counter() - t0}
        print(f"calibration {method}: " + ", ".join(
            f"alpha {a}: {r['rejections']}/{seeds}" for a, r in rates.items()), flush=True)
    return out


def power(seeds: int, *, witness: bool = False) -> dict:
    if witness:
        from pgproofs.bugs import advantage_witness
        mdp, policy, _, _ = advantage_witness()
        T, n, N = 8, 2, 3000
    else:
        mdp, policy = episodic_case(7, time_limit=20)
        T, n, N = 128, 8, 2000
    setting = {"case": "bugs.advantage_witness" if witness else "episodic_case(7)",
               "n_steps": T, "n_envs": n, "n_buffers": N, "lam": 0.95, "alpha": 1e-6,
               "gamma": mdp.discount, "time_limit": mdp.time_limit, "seeds": seeds}
    rows = []
    for bug in ADVANTAGE_CATALOGUE:
        for kind, fn in (("bug", bug.buggy), ("fix", bug.correct)):
            row = {"name": bug.name, "kind": kind, "check": bug.check}
            for method, bound in METHODS.items():
                verdicts, t0 = [], time.perf_counter()
                for i in range(seeds):
                    try:
                        r = mc_advantage_test(fn, mdp, policy, n_steps=T, n_envs=n, lam=0.95,
                                              n_buffers=N, rng=seeded_rng(20_000 + i),
                                              bound=bound)
                        verdicts.append("rejected" if r.rejected else "not rejected")
                    except ValueError:
                        verdicts.append("bound exceeded")
                row[method] = {"verdicts": verdicts,
                               "rejection_rate": verdicts.count("rejected") / seeds,
                               "seconds_per_test": (time.perf_counter() - t0) / seeds}
            rows.append(row)
            print(f"power {bug.name} {kind}: bernstein {row['bernstein']['verdicts']}, "
                  f"student-t {row['student-t']['verdicts']}", flush=True)
    return {"setting": setting, "results": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["calibration", "power", "witness"],
                        choices=["calibration", "power", "witness"],
                        help="what to run (default all); each part writes its own JSON")
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--power-seeds", type=int, default=3)
    parser.add_argument("--out", default="reports/bench-mc-advantages",
                        help="prefix of the JSON files: PREFIX-<part>.json")
    args = parser.parse_args(argv)
    for part in args.parts:
        if part == "calibration":
            result = calibration(args.seeds)
        else:
            result = power(args.power_seeds, witness=part == "witness")
        print(f"wrote {write_json(f'{args.out}-{part}.json', dict(benchmark=f'mc_advantages {part}', **result))}",
              flush=True)


if __name__ == "__main__":
    main()
