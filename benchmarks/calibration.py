"""Calibration of the Monte Carlo unbiasedness test (pgproofs.montecarlo).

    python benchmarks/calibration.py [--seeds 1000] [--out reports/bench-calibration.json]
                                     [--plot reports/calibration-power.svg]
                                     [--workers N | --serial | --ray ADDRESS]

False alarms: on small MDPs (exact gradient by DP), unbiased estimators
(REINFORCE, reward-to-go) are tested once per seed with each method
(Student's t: asymptotic; empirical Bernstein with ``reinforce_bound``:
finite-sample) at two sample sizes. The test's adjusted p-value does not
depend on alpha, so one run per seed gives the rejection rate at alpha =
0.05, 0.01 and 1e-6 alike. Each rate comes with its Clopper-Pearson 95%
interval; "consistent" means the interval reaches down to alpha or below,
i.e. the rate is <= alpha up to sampling error. The "skewed" MDP (a rare large
reward) is where a CLT-based test is most at risk.

Power: the same test on REINFORCE plus a bias delta on one logit, delta in
units of that component's standard error sqrt(Var g / n) (exact variance by
enumeration), for both methods and three alphas. Results go to JSON and an
SVG power curve. PGPROOFS_SEED_OFFSET shifts every seed.

Every (cell, seed) is one job of a ``pgproofs.sweep`` grid, a pure function
of its cell and seed, so the p-values do not depend on the executor: a local
process pool by default, ``--serial``, or Ray (``--ray local|auto|HOST:PORT``).
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import time
from pathlib import Path

import numpy as np
from scipy.stats import beta

from pgproofs import FiniteMDP, SoftmaxPolicy, check, estimators, sweep
from pgproofs import montecarlo as mc
from pgproofs.strategies import random_mdp
from pgproofs.testing import seed_offset

ALPHAS = (0.05, 0.01, 1e-6)
SIZES = (200, 2000)
BIAS_IN_SE = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 90, 135, 200)
POWER_N = 500
CHUNK = 50          # jobs per task: one p-value takes milliseconds


@functools.lru_cache(maxsize=None)
def scenarios() -> dict[str, tuple[FiniteMDP, SoftmaxPolicy]]:
    """Two small MDPs (S=3, A=2, T=5; 7776 trajectories, so exact moments are cheap)."""
    rng = np.random.default_rng(2024)
    S, A, T = 3, 2, 5
    random = random_mdp(rng, S, A, T)
    # Skewed: state 2 is reached with probability 0.03 per step and pays 10 for action 1.
    P = np.zeros((S, A, S))
    P[:, :, 0], P[:, :, 1], P[:, :, 2] = 0.57, 0.40, 0.03
    rewards = np.array([[0.0, 0.1], [0.1, 0.0], [0.0, 10.0]])
    skewed = FiniteMDP([0.5, 0.5, 0.0], P, rewards, T)
    policy = SoftmaxPolicy(0.5 * rng.normal(size=(S, A)))
    return {"random": (random, policy), "skewed": (skewed, policy)}


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def rate(rejections: np.ndarray) -> dict:
    k, n = int(rejections.sum()), len(rejections)
    lo, hi = clopper_pearson(k, n)
    return {"rejections": k, "runs": n, "rate": k / n, "ci95": [lo, hi]}


def p_value_job(cell: dict, seed: int) -> float:
    """The adjusted p-value of mc_bias_test for one cell and one seed (a sweep job).

    cell: mdp, estimator, n_batches, method, seed_base (the cell's first seed,
    PGPROOFS_SEED_OFFSET included) and, for power, shift (bias added to
    logits[0, 0]). The run's rng is default_rng(seed_base + seed).
    """
    mdp, policy = scenarios()[cell["mdp"]]
    estimator = getattr(estimators, cell["estimator"])
    shift = np.zeros(policy.logits.shape)
    shift[0, 0] = cell.get("shift", 0.0)
    bound = None
    if cell["method"] == "bernstein":
        bound = mc.reinforce_bound(mdp) + float(np.abs(shift).max())
    if cell.get("shift", 0.0):
        estimator = _shifted(estimator, shift)
    rng = np.random.default_rng(cell["seed_base"] + seed)
    return mc.mc_bias_test(estimator, mdp, policy, n_batches=cell["n_batches"], alpha=0.5,
                           rng=rng, bound=bound).p_value


def false_alarm_cells() -> list[dict]:
    """Unbiased estimators: (mdp, estimator, n, method) cells, seeds 10_000 n + i."""
    return [{"kind": "false_alarm", "mdp": s_name, "estimator": e_name, "n_batches": n,
             "method": method, "seed_base": 10_000 * n + seed_offset()}
            for s_name in scenarios() for e_name in ("reinforce", "reward_to_go")
            for n in SIZES for method in ("student-t", "bernstein")]


def power_standard_error() -> float:
    """Exact standard error of REINFORCE's logits[0, 0] mean over POWER_N batches."""
    mdp, policy = scenarios()["random"]
    m = check.exact_moments(estimators.reinforce, mdp, policy)
    return float(np.sqrt(m.cov[0, 0]) / np.sqrt(POWER_N))


def power_cells(se: float) -> list[dict]:
    """REINFORCE plus k standard errors on logits[0, 0], k in BIAS_IN_SE, seeds 7e6 + i."""
    return [{"kind": "power", "mdp": "random", "estimator": "reinforce", "n_batches": POWER_N,
             "method": method, "bias_in_se": k, "shift": k * se,
             "seed_base": 7_000_000 + seed_offset()}
            for method in ("student-t", "bernstein") for k in BIAS_IN_SE]


def run_sweep(seeds: int, **run_options) -> tuple[list[dict], sweep.Sweep]:
    """Every cell (false alarms, then power) x seeds 0..seeds-1 as one sweep."""
    cells = false_alarm_cells() + power_cells(power_standard_error())
    result = sweep.run(p_value_job, sweep.grid(cells, range(seeds)), chunk=CHUNK,
                       desc="calibration", **run_options)
    return cells, result


def false_alarms(cells, p_by_cell) -> list[dict]:
    rows = []
    for cell, p in zip(cells, p_by_cell):
        if cell["kind"] != "false_alarm":
            continue
        row = {"mdp": cell["mdp"], "estimator": cell["estimator"], "n_batches": cell["n_batches"],
               "method": cell["method"], "alphas": {}}
        for alpha in ALPHAS:
            r = rate(p < alpha)
            r["consistent"] = r["ci95"][0] <= alpha
            row["alphas"][str(alpha)] = r
        rows.append(row)
        print(f"false alarms {row['mdp']:6s} {row['estimator']:12s} n={row['n_batches']:5d} "
              f"{row['method']:9s} " +
              " ".join(f"a={a:g}: {row['alphas'][str(a)]['rate']:.4f}" for a in ALPHAS))
    return rows


def power(cells, p_by_cell, se: float) -> dict:
    curves = {}
    for cell, p in zip(cells, p_by_cell):
        if cell["kind"] != "power":
            continue
        by_alpha = curves.setdefault(cell["method"], {str(alpha): [] for alpha in ALPHAS})
        for alpha in ALPHAS:
            by_alpha[str(alpha)].append(rate(p < alpha))
        print(f"power {cell['method']:9s} bias {cell['bias_in_se']:3d} s.e.: " +
              " ".join(f"a={al:g}: {by_alpha[str(al)][-1]['rate']:.3f}" for al in ALPHAS))
    return {"mdp": "random", "estimator": "reinforce + delta on logits[0, 0]",
            "n_batches": POWER_N, "component": [0, 0], "standard_error": se,
            "bias_in_se": list(BIAS_IN_SE), "bias": [k * se for k in BIAS_IN_SE],
            "curves": curves}


def _shifted(estimator, shift):
    def biased(batch, policy):
        return estimator(batch, policy) + shift
    biased.per_trajectory = lambda batch, policy: estimator.per_trajectory(batch, policy) + shift
    return biased


def plot(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pw = result["power"]
    x = np.array(pw["bias_in_se"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    styles = {"student-t": "-", "bernstein": "--"}
    colors = {"0.05": "#1b9e77", "0.01": "#d95f02", "1e-06": "#7570b3"}
    for method, by_alpha in pw["curves"].items():
        for alpha, rows in by_alpha.items():
            y = np.array([r["rate"] for r in rows])
            lo = np.array([r["ci95"][0] for r in rows])
            hi = np.array([r["ci95"][1] for r in rows])
            ax.plot(x, y, styles[method], color=colors[alpha], marker="o", ms=3,
                    label=f"{method}, alpha={float(alpha):g}")
            ax.fill_between(x, lo, hi, color=colors[alpha], alpha=0.15, lw=0)
    ax.set_xlabel(f"bias on one logit, in standard errors (n = {pw['n_batches']} batches)")
    ax.set_ylabel("rejection rate")
    ax.set_title(f"Power of mc_unbiased ({result['seeds']} seeds per point, 95% CI bands)")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg")
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--out", default="reports/bench-calibration.json")
    parser.add_argument("--plot", default="reports/calibration-power.svg")
    sweep.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.seeds < 1:
        raise ValueError(f"--seeds: must be >= 1, got {args.seeds}")
    t0 = time.perf_counter()
    cells, result = run_sweep(args.seeds, **sweep.options(args))
    if result.failures:  # a rate over fewer runs than stated would be a false figure
        raise sweep.SweepError(result.failures)
    p = np.array(result.values()).reshape(len(cells), args.seeds)
    se = power_standard_error()
    result_json = {
        "seeds": args.seeds, "seed_offset": seed_offset(), "alphas": list(ALPHAS),
        "method": "Bonferroni over the S*A components; per component Student's t (asymptotic) "
                  "or empirical Bernstein with |g| <= reinforce_bound (finite-sample, "
                  "Maurer & Pontil 2009)",
        "false_alarms": false_alarms(cells, p),
        "power": power(cells, p, se),
        "sweep": result.meta(),
    }
    result_json["seconds"] = time.perf_counter() - t0
    result_json["machine"] = {"python": platform.python_version(), "platform": platform.platform(),
                              "numpy": np.__version__}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result_json, indent=1))
    plot(result_json, Path(args.plot))
    print(f"wrote {out} and {args.plot} in {result_json['seconds']:.0f} s "
          f"({result.executor}, {result.workers} worker(s))")
    return result_json


if __name__ == "__main__":
    main()
