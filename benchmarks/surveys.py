"""The surveys behind VR-4, VR-6 and IS-5 as one sweep over random small MDPs.

    python benchmarks/surveys.py [--vr-cases 10000] [--vr-seed 2025]
                                 [--is-cases 5000] [--is-distances 0.03 0.1 0.3 1 3 10]
                                 [--is-seed 7000] [--out reports/bench-surveys.json]
                                 [--workers N | --serial | --ray ADDRESS]

VR-4 / VR-6 (section "Reducing Variance"): over random small MDPs (S in 1..3,
A in 2..3, T in 2..4), the fraction where reward-to-go lowers the exact total
variance of REINFORCE, and the fraction where the exact mean-return baseline
raises it. IS-5 (section "Off-policy policy gradients"): per logit
perturbation, the fraction where dropping the future importance ratios lowers
the total variance compared with per-decision weighting. The defaults are the
slow claim tests' samples (tests/claims: 10 000 MDPs from seed 2025; 5000
cases per distance from seed 7000), so the fractions here are the figures
those tests record; PGPROOFS_SEED_OFFSET shifts every seed as it does there.

Every case is one job of a ``pgproofs.sweep`` grid (pgproofs.surveys: the
case is a pure function of the survey stream's state where it starts), so the
results do not depend on the executor: a local process pool by default,
``--serial``, or Ray (``--ray local|auto|HOST:PORT``). The JSON has each
survey's counts and fractions, the executor used, and the SHA-256 of the
per-case results in grid order: equal digests from two executors mean
identical results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time

from _common import write_json

from pgproofs import surveys, sweep
from pgproofs.testing import seed_offset

CHUNK = 25  # cases per task: one case takes milliseconds


def jobs(vr_cases: int, vr_seed: int, is_cases: int, is_distances, is_seed: int):
    """The VR survey's cases, then IS-5's, distance by distance, as one grid (seeds offset)."""
    vr = surveys.reduce_variance_jobs(vr_cases, vr_seed + seed_offset())
    return vr, surveys.offpolicy_jobs(is_distances, is_cases, is_seed + seed_offset(),
                                      first_index=len(vr))


def digest(values) -> str:
    """SHA-256 of the per-case results as JSON, in grid order."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vr-cases", type=int, default=10_000, help="MDPs of the VR-4/VR-6 survey")
    ap.add_argument("--vr-seed", type=int, default=2025)
    ap.add_argument("--is-cases", type=int, default=5000, help="IS-5 cases per distance")
    ap.add_argument("--is-distances", type=float, nargs="+",
                    default=[0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                    help="IS-5 logit perturbations (target = behaviour + d N(0, I))")
    ap.add_argument("--is-seed", type=int, default=7000)
    ap.add_argument("--out", default="reports/bench-surveys.json")
    sweep.add_arguments(ap)
    args = ap.parse_args(argv)
    for name in ("vr_cases", "is_cases"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    t0 = time.perf_counter()
    vr, off = jobs(args.vr_cases, args.vr_seed, args.is_cases, args.is_distances, args.is_seed)
    drawn_s = time.perf_counter() - t0  # the one pass that records where each case starts
    result = sweep.run(surveys.run_case, vr + off, chunk=CHUNK, desc="surveys",
                       **sweep.options(args))
    if result.failures:  # a fraction over fewer cases than stated would be a false figure
        raise sweep.SweepError(result.failures)
    values = result.values()
    vr_summary = surveys.summarise("reduce-variance", values[:len(vr)])
    is_summary = surveys.summarise("off-policy", values[len(vr):])
    print(f"VR-4: reward-to-go lowers the total variance in {vr_summary['rtg_lower']} of "
          f"{vr_summary['n']} MDPs ({vr_summary['fraction_rtg_lower']:.4f}); raises it in "
          f"{vr_summary['rtg_higher']}")
    print(f"VR-6: b = E[R] raises the total variance in {vr_summary['mean_baseline_higher']} of "
          f"{vr_summary['n']} ({vr_summary['fraction_mean_baseline_higher']:.4f})")
    for row in is_summary["rows"]:
        print(f"IS-5: perturbation {row['distance']:g}: dropping future ratios lowers the "
              f"variance in {row['fraction_lower']:.4f} of {row['cases']} "
              f"(mean max TV {row['mean_max_tv']:.3f})")
    out = {
        "benchmark": "surveys", "seed_offset": seed_offset(),
        "vr": {"claims": ["VR-4", "VR-6"], "seed": args.vr_seed, **vr_summary,
               "population": surveys.random_small_mdp.__doc__.replace("\n", " ")},
        "is5": {"claim": "IS-5", "seed": args.is_seed, "sizes": surveys.OFFPOLICY_SIZES,
                "seeds_by_distance": "seed + 1000 * index", **is_summary},
        "results_sha256": {"vr": digest(values[:len(vr)]), "is5": digest(values[len(vr):])},
        "executor": result.executor, "workers": result.workers, "address": result.address,
        "draw_pass_s": drawn_s, "sweep": result.meta(), "seconds": time.perf_counter() - t0,
    }
    path = write_json(args.out, out)
    print(f"wrote {path} in {out['seconds']:.0f} s ({result.executor}, "
          f"{result.workers} worker(s))")
    return out


if __name__ == "__main__":
    main()
