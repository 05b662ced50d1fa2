"""Time of the exact policy-loss check on 50 Hypothesis-drawn cases, on one core.

    python benchmarks/bench_loss.py [--examples 50] [--repeats 3]
                                    [--out reports/bench-loss.json]

The acceptance target of issue 14: checking one loss on 50 drawn cases takes
under 30 s on one core. Timed here: ``testing.assert_loss_unbiased`` for the
A2C loss (``policy_losses.a2c_loss``) and PPO's clipped loss with an MLP with
one hidden layer of 8 units (``policy_losses.mlp``), median of ``--repeats``
runs, torch and BLAS limited to one thread. Also recorded: the buffers the
drawn cases enumerate, and, as a baseline measured in the same run on the
same cases, the time with a loss that does no more than one forward pass
(which shows the share of enumeration, the exact target and bookkeeping).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timed, write_json  # noqa: E402

from pgproofs import check, rollouts, testing  # noqa: E402
from pgproofs.loss_testing import build_module, loss_cases  # noqa: E402
from pgproofs.loss_target import float64_module, module_policy, observation_features  # noqa: E402
from pgproofs.policy_losses import a2c_loss, features, mlp, ppo_clip_loss  # noqa: E402

torch.set_num_threads(1)


def one_forward(module, buf, critic):
    """A loss that only runs the network once: the baseline for the loss's own cost."""
    return module(features(buf)).sum() * 0.0


def _each_case(loss_fn, examples, visit):
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(loss_cases())
    def each(case):
        mdp, observe, seed, T, n = case
        d = mdp.n_states if observe is None else observe.shape[1]
        visit(build_module(mlp, d, mdp.n_actions, seed), mdp, observe, T, n)
    each()


def drawn_buffer_counts(examples: int) -> tuple[list[int], list[int]]:
    counts, envs = [], []

    def count(module, mdp, observe, T, n):
        policy = module_policy(float64_module(module), mdp, observation_features(mdp, observe))
        counts.append(rollouts.count_buffers(mdp, policy, T, n))
        envs.append(n)
    _each_case(None, examples, count)
    return counts, envs


def _exact(loss_fn, examples):
    def run(module, mdp, observe, T, n):
        try:
            check.assert_loss_unbiased(loss_fn, module, mdp, observe, n_steps=T, n_envs=n)
        except AssertionError:
            pass  # the baseline loss is biased; only its time matters here
    _each_case(loss_fn, examples, run)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="reports/bench-loss.json")
    args = parser.parse_args(argv)
    k = args.examples
    a2c, a2c_min, _ = timed(lambda: testing.assert_loss_unbiased(a2c_loss, mlp, max_examples=k),
                            args.repeats)
    ppo, ppo_min, _ = timed(
        lambda: testing.assert_loss_unbiased(ppo_clip_loss, mlp, max_examples=k), args.repeats)
    baseline, _, _ = timed(lambda: _exact(one_forward, k), args.repeats)
    same_cases, _, _ = timed(lambda: _exact(a2c_loss, k), args.repeats)
    counts, envs = drawn_buffer_counts(k)
    result = {
        "benchmark": "loss",
        "examples": k,
        "module": "mlp(d, A, hidden=8)",
        "target_seconds": 30.0,
        "a2c_check_seconds": {"median": a2c, "fastest": a2c_min},
        "ppo_check_seconds": {"median": ppo, "fastest": ppo_min},
        "meets_target": a2c < 30.0 and ppo < 30.0,
        "same_cases_a2c_seconds": same_cases,
        "same_cases_one_forward_seconds": baseline,
        "a2c_over_one_forward": same_cases / baseline,
        "buffers_per_case": {"mean": float(np.mean(counts)), "max": int(max(counts)),
                             "total": int(sum(counts))},
        "cases_with_two_envs": int(sum(e == 2 for e in envs)),
    }
    print(f"{k} drawn cases, exact, MLP: A2C loss {a2c:.2f} s, PPO clipped loss {ppo:.2f} s "
          f"(target 30 s); {sum(counts)} buffers in all (mean {np.mean(counts):.0f}, max "
          f"{max(counts)} per case; {result['cases_with_two_envs']} cases with 2 envs); "
          f"a2c / one-forward loss on the same cases: {same_cases / baseline:.2f}")
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
