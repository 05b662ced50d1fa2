"""Surveys over random small MDPs: the populations behind VR-4, VR-6 and IS-5.

A survey draws many random small MDPs from one numpy stream and computes, for
each, exact total variances (trace of the covariance of one trajectory's
estimate). Each case is one job of a ``pgproofs.sweep`` grid, a pure function
``fn(config, seed)`` of its inputs:

* ``config["rng_state"]`` is the state of the survey's stream where the case
  starts (``case_jobs`` records it by drawing the cases once in order). So the
  sample is exactly the one a single loop over the stream draws, whatever
  executor runs it;
* ``seed`` is the case's index within its survey (a label: the stream state
  carries the randomness).

Surveys:

* ``"reduce-variance"`` (VR-4, VR-6, notes section "Reducing Variance"): tr Cov
  of REINFORCE, reward-to-go and the exact mean-return baseline b = E[R];
* ``"off-policy"`` (IS-5, notes section "Off-policy policy gradients"): tr Cov
  of the per-decision estimator and of the one that drops the future ratios,
  with the target a random perturbation of the behaviour policy.

``summarise`` turns a survey's case results (in grid order) into counts and
fractions. The claim tests (tests/claims/test_variance.py, test_offpolicy.py)
run the same jobs serially (``reduce_variance_survey``, ``offpolicy_survey``:
the jobs and their results in one pass, each case drawn once);
benchmarks/surveys.py runs them on any executor.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from pgproofs import exact, importance, variance
from pgproofs.policy import SoftmaxPolicy
from pgproofs.strategies import random_mdp, random_policy
from pgproofs.sweep import Job

__all__ = ["KINDS", "OFFPOLICY_SIZES", "case_jobs", "draw", "exceeds", "job_function",
           "offpolicy_case", "offpolicy_draw", "offpolicy_jobs", "offpolicy_survey",
           "offpolicy_total_variances", "random_small_mdp", "reduce_variance_case",
           "reduce_variance_jobs", "reduce_variance_survey", "run_case", "run_serial",
           "summarise", "total_variances"]

#: IS-5's population sizes: S in 1..2, A in 2..3, T in 2..3 (T = 1: the estimators coincide).
OFFPOLICY_SIZES = dict(states=(1, 2), actions=(2, 3), horizon=(2, 3))


def exceeds(a: float, b: float) -> bool:
    """a > b beyond rounding: the margin keeps float noise from counting as a counterexample."""
    return a > b + 1e-9 * max(1.0, abs(b))


# ---- reduce-variance (VR-4, VR-6) ---------------------------------------------------

def random_small_mdp(rng: np.random.Generator):
    """The survey distribution: S in 1..3, A in 2..3, T in 2..4, Dirichlet(1) initial state and
    dynamics, rewards uniform on [-1, 1], logits N(0, 1)."""
    S, A, T = int(rng.integers(1, 4)), int(rng.integers(2, 4)), int(rng.integers(2, 5))
    mdp = random_mdp(rng, S, A, T, rewards="uniform")
    return mdp, random_policy(rng, S, A)


def total_variances(mdp, policy) -> dict:
    """Exact tr Cov of REINFORCE, reward-to-go and the exact mean-return baseline (one trajectory).

    REINFORCE: G R with G = sum_t grad log pi(a_t|s_t); reward-to-go:
    sum_t grad log pi(a_t|s_t) sum_{t' >= t} r_t'; baseline: G (R - E[R]). By the
    dynamic programming of pgproofs.variance.
    """
    tm = variance.trajectory_moments(mdp, policy)
    return {"reinforce": variance.full_return_moments(tm).total_variance,
            "reward_to_go": variance.causal_moments(mdp, policy).total_variance,
            "mean_baseline": variance.full_return_moments(tm, tm.R[1]).total_variance}


def _measure_reduce_variance(config: dict, case) -> dict:
    return total_variances(*case)


def reduce_variance_case(config: dict, seed: int) -> dict:
    """One VR-4/VR-6 case (a sweep job): the three total variances of the MDP drawn at
    config["rng_state"]; seed is the case's index (a label)."""
    return _measure_reduce_variance(config, draw(config))


# ---- off-policy (IS-5) ---------------------------------------------------------------

def offpolicy_draw(rng: np.random.Generator, distance: float, states, actions, horizon):
    """A random MDP and behaviour (logits N(0, 1)); target = behaviour + distance * N(0, I).
    Returns (mdp, target, behaviour)."""
    S = int(rng.integers(states[0], states[1] + 1))
    A = int(rng.integers(actions[0], actions[1] + 1))
    T = int(rng.integers(horizon[0], horizon[1] + 1))
    mdp = random_mdp(rng, S, A, T, rewards="uniform")
    behaviour = random_policy(rng, S, A)
    target = SoftmaxPolicy(behaviour.logits + distance * rng.normal(size=(S, A)))
    return mdp, target, behaviour


def offpolicy_total_variances(mdp, target, behaviour, estimators) -> list[float]:
    """Exact trace Cov of each off-policy estimator for one trajectory, from one enumeration."""
    traj = exact.enumerate_trajectories(mdp, behaviour)
    out = []
    for est in estimators:
        x = est.per_trajectory(traj.batch, target).reshape(len(traj), -1)
        mean = traj.probs @ x
        out.append(float(traj.probs @ ((x - mean) ** 2).sum(axis=1)))
    return out


def _measure_offpolicy(config: dict, case) -> dict:
    mdp, target, behaviour = case
    drop, pd = offpolicy_total_variances(mdp, target, behaviour,
                                         (importance.dropped_future_ratios,
                                          importance.per_decision))
    return {"distance": config["distance"], "dropped": drop, "per_decision": pd,
            "max_tv": importance.max_tv_distance(target, behaviour)}


def offpolicy_case(config: dict, seed: int) -> dict:
    """One IS-5 case (a sweep job): tr Cov with the future ratios dropped and per-decision,
    and max_t TV(pi', pi), for the case drawn at config["rng_state"]."""
    return _measure_offpolicy(config, draw(config))


# ---- jobs: one numpy stream per survey, split at the cases ---------------------------

def _reduce_variance_drawer(config, rng):
    return random_small_mdp(rng)


def _offpolicy_drawer(config, rng):
    return offpolicy_draw(rng, config["distance"], **config["sizes"])


#: kind -> (draw a case from a stream, the case's sweep job, measure a drawn case).
KINDS: dict[str, tuple[Callable, Callable, Callable]] = {
    "reduce-variance": (_reduce_variance_drawer, reduce_variance_case, _measure_reduce_variance),
    "off-policy": (_offpolicy_drawer, offpolicy_case, _measure_offpolicy),
}


def _kind(config: dict):
    try:
        return KINDS[config["kind"]]
    except KeyError:
        raise ValueError(f"config: kind must be one of {sorted(KINDS)}, got "
                         f"{config.get('kind')!r}") from None


def draw(config: dict):
    """The case a job's config names, drawn from the stream state it records."""
    rng = np.random.default_rng()
    rng.bit_generator.state = config["rng_state"]
    return _kind(config)[0](config, rng)


def _cases(config: dict, n: int, seed: int, first_index: int,
           measure: bool) -> tuple[list[Job], list[dict]]:
    """The jobs of the n cases of a survey drawn from numpy seed ``seed`` in order and, if
    ``measure``, their results (else no results), each case drawn once."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: must be an integer >= 1, got {n!r}")
    drawer, _, measure_case = _kind(config)
    rng = np.random.default_rng(seed)
    jobs, results = [], []
    for i in range(n):
        jobs.append(Job(first_index + i, dict(config, rng_state=rng.bit_generator.state), i))
        case = drawer(config, rng)  # also advances the stream past this case
        if measure:
            results.append(measure_case(config, case))
    return jobs, results


def case_jobs(config: dict, n: int, seed: int, first_index: int = 0) -> list[Job]:
    """n jobs, one per case of a survey drawn from numpy seed ``seed`` in order: each job's
    config is ``config`` plus the stream state where its case starts, its seed the case
    number. Indices start at first_index (to concatenate surveys into one grid)."""
    return _cases(config, n, seed, first_index, measure=False)[0]


def _reduce_variance_config(seed: int) -> dict:
    return {"kind": "reduce-variance", "seed": seed}


def _offpolicy_configs(distances: Sequence[float], seed: int) -> list[dict]:
    if len(set(distances)) != len(distances):  # summarise groups the cases by distance
        raise ValueError(f"distances: must be distinct, got {list(distances)}")
    return [{"kind": "off-policy", "seed": seed + 1000 * i, "distance": float(distance),
             "sizes": OFFPOLICY_SIZES} for i, distance in enumerate(distances)]


def _survey(configs: Sequence[dict], n: int, first_index: int,
            measure: bool) -> tuple[list[Job], list[dict]]:
    """Each config's n cases (from its own seed), one grid after the other."""
    jobs, results = [], []
    for config in configs:
        more_jobs, more_results = _cases(config, n, config["seed"], first_index + len(jobs),
                                         measure)
        jobs += more_jobs
        results += more_results
    return jobs, results


def reduce_variance_jobs(n: int, seed: int, first_index: int = 0) -> list[Job]:
    """VR-4/VR-6: n random small MDPs from numpy seed ``seed`` (offset included)."""
    return _survey([_reduce_variance_config(seed)], n, first_index, measure=False)[0]


def offpolicy_jobs(distances: Sequence[float], n_cases: int, seed: int,
                   first_index: int = 0) -> list[Job]:
    """IS-5: n_cases per distance; distance i draws from its own seed, seed + 1000 i."""
    return _survey(_offpolicy_configs(distances, seed), n_cases, first_index, measure=False)[0]


def reduce_variance_survey(n: int, seed: int) -> tuple[list[Job], list[dict]]:
    """``reduce_variance_jobs(n, seed)`` and their results, run here in order.

    The same as ``run_serial`` of those jobs, but each case is drawn once (making
    the jobs draws every case to find where the next one starts; drawing is a
    third of a case's cost).
    """
    return _survey([_reduce_variance_config(seed)], n, 0, measure=True)


def offpolicy_survey(distances: Sequence[float], n_cases: int,
                     seed: int) -> tuple[list[Job], list[dict]]:
    """``offpolicy_jobs(distances, n_cases, seed)`` and their results, run here in order,
    each case drawn once (as ``reduce_variance_survey``)."""
    return _survey(_offpolicy_configs(distances, seed), n_cases, 0, measure=True)


def job_function(config: dict) -> Callable[[dict, int], dict]:
    """The sweep job of a survey config."""
    return _kind(config)[1]


def run_serial(jobs: Sequence[Job]) -> list[dict]:
    """Every job's case result in this process, in order (what the claim tests use)."""
    return [job_function(j.config)(j.config, j.seed) for j in jobs]


def run_case(config: dict, seed: int) -> dict:
    """Any survey's case (one sweep function for grids mixing surveys)."""
    return job_function(config)(config, seed)


# ---- summaries -----------------------------------------------------------------------

def summarise(kind: str, results: Sequence[dict]) -> dict:
    """Counts and fractions of a survey's case results (grid order).

    reduce-variance: n; rtg_lower (reward-to-go strictly lower than REINFORCE),
    rtg_higher and mean_baseline_higher (higher beyond rounding, ``exceeds``),
    their fractions, and the median ratio tr Cov[rtg] / tr Cov[REINFORCE] over
    the cases with REINFORCE variance > 0.
    off-policy: ``rows``, one per distance in order of first appearance
    (distance, cases, fraction where dropping the future ratios is strictly
    lower, mean max TV), and ``first_higher``: the index within ``results`` of
    the first case where dropping raises the variance (beyond a 1e-6 relative
    margin), or None.
    """
    if not results:
        raise ValueError("results: a survey needs at least one case")
    if kind == "reduce-variance":
        n = len(results)
        lower = sum(r["reward_to_go"] < r["reinforce"] for r in results)
        higher = sum(exceeds(r["reward_to_go"], r["reinforce"]) for r in results)
        raised = sum(exceeds(r["mean_baseline"], r["reinforce"]) for r in results)
        ratios = np.array([r["reward_to_go"] / r["reinforce"] for r in results
                           if r["reinforce"] > 0])
        return {"n": n, "rtg_lower": lower, "rtg_higher": higher, "mean_baseline_higher": raised,
                "fraction_rtg_lower": lower / n, "fraction_rtg_higher": higher / n,
                "fraction_mean_baseline_higher": raised / n,
                "median_ratio_rtg_reinforce": float(np.median(ratios)) if len(ratios) else None}
    if kind == "off-policy":
        rows: dict[float, dict] = {}
        first = None
        for k, r in enumerate(results):
            row = rows.setdefault(r["distance"], {"distance": r["distance"], "cases": 0,
                                                  "lower": 0, "tv": 0.0})
            row["cases"] += 1
            row["lower"] += r["dropped"] < r["per_decision"]
            row["tv"] += r["max_tv"]
            if first is None and r["dropped"] > r["per_decision"] * (1 + 1e-6) + 1e-9:
                first = k
        return {"rows": [{"distance": row["distance"], "cases": row["cases"],
                          "fraction_lower": row["lower"] / row["cases"],
                          "mean_max_tv": row["tv"] / row["cases"]} for row in rows.values()],
                "first_higher": first}
    raise ValueError(f"kind: must be one of {sorted(KINDS)}, got {kind!r}")
