"""Time of the exact advantage checks on 100 Hypothesis-drawn cases, on one core.

    python benchmarks/bench_advantages.py [--examples 100] [--repeats 3]
                                          [--out reports/bench-advantages.json]

The acceptance target of issue 13: exact checks of one advantage function on
100 drawn cases take under 10 s on one core. Timed here, for the reference
GAE: ``testing.assert_advantages_unbiased`` (every buffer of every drawn case,
lambda drawn) and ``testing.assert_gae_matches_reference``, each with
``--examples`` cases, median of ``--repeats`` runs, BLAS limited to one
thread, and the CPU time (time.process_time) of one run, which a busy machine
inflates less than the wall clock. Also recorded: how many buffers the drawn cases enumerate, and, as a
baseline measured in the same run, the time the same cases take with the
advantage function replaced by a constant (which shows what part of the
total is enumeration and bookkeeping rather than the function under test).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed, write_json  # noqa: E402

from pgproofs import check, rollouts, testing  # noqa: E402
from pgproofs.advantages import gae  # noqa: E402


def drawn_buffer_counts(examples: int) -> list[int]:
    counts = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(testing.advantage_cases())
    def count(case):
        mdp, policy, T, n, _ = case
        counts.append(rollouts.count_buffers(mdp, policy, T, n))

    count()
    return counts


def constant(buf, critic, gamma, lam):
    return np.zeros(buf.obs.shape)


def _exact_cases(adv_fn, examples):
    """The same drawn cases, each checked exactly, outside the property wrapper."""
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(testing.advantage_cases())
    def each(case):
        mdp, policy, T, n, lam = case
        try:
            check.assert_advantages_unbiased(adv_fn, mdp, policy, T, n, lam=lam)
        except AssertionError:
            pass  # the constant baseline is biased; only its time matters here
    each()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="reports/bench-advantages.json")
    args = parser.parse_args(argv)
    k = args.examples
    cpu0 = time.process_time()
    testing.assert_advantages_unbiased(gae, max_examples=k)
    unbiased_cpu = time.process_time() - cpu0
    unbiased, unbiased_min, _ = timed(
        lambda: testing.assert_advantages_unbiased(gae, max_examples=k), args.repeats)
    reference, reference_min, _ = timed(
        lambda: testing.assert_gae_matches_reference(gae, max_examples=k), args.repeats)
    baseline, _, _ = timed(lambda: _exact_cases(constant, k), args.repeats)
    same_cases, _, _ = timed(lambda: _exact_cases(gae, k), args.repeats)
    counts = drawn_buffer_counts(k)
    result = {
        "benchmark": "advantages",
        "examples": k,
        "target_seconds": 10.0,
        "unbiased_check_seconds": {"median": unbiased, "fastest": unbiased_min,
                                   "cpu": unbiased_cpu},
        "reference_check_seconds": {"median": reference, "fastest": reference_min},
        "meets_target": unbiased_min < 10.0 and reference_min < 10.0,
        "same_cases_gae_seconds": same_cases,
        "same_cases_constant_seconds": baseline,
        "gae_over_constant": same_cases / baseline,
        "buffers_per_case": {"mean": float(np.mean(counts)), "max": int(max(counts)),
                             "total": int(sum(counts))},
    }
    print(f"{k} drawn cases, exact: unbiased check {unbiased:.2f} s (CPU {unbiased_cpu:.2f} s), "
          f"reference-GAE check "
          f"{reference:.2f} s (target 10 s); {sum(counts)} buffers in all "
          f"(mean {np.mean(counts):.0f}, max {max(counts)} per case); gae / constant "
          f"adv_fn on the same cases: {same_cases / baseline:.2f}")
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
