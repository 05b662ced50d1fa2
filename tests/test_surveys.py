"""pgproofs.surveys: the VR-4/VR-6 and IS-5 surveys give the same cases on every executor.

A tiny grid of both surveys runs serially, on a process pool of 2 and (slow)
on a local Ray instance started here; the per-case JSON must be identical.
Splitting a survey's numpy stream into per-case jobs must reproduce the one
loop over the stream that the claim tests' samples were drawn with. Controls:
another seed gives other results, caught by the same comparison.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_sweep import assert_same_results

from pgproofs import surveys, sweep

DISTANCES = (0.1, 10.0)


def tiny_jobs(seed: int = 11) -> list[sweep.Job]:
    vr = surveys.reduce_variance_jobs(6, seed)
    return vr + surveys.offpolicy_jobs(DISTANCES, 3, seed + 1, first_index=len(vr))


def run(jobs, **options) -> sweep.Sweep:
    result = sweep.run(surveys.run_case, jobs, progress=False, **options)
    result.raise_on_failure()
    return result


@pytest.fixture(scope="module")
def serial():
    return run(tiny_jobs(), executor="serial")


def check_one_stream(n: int, seed: int, cases: list[dict]) -> None:
    """The per-case jobs give what one loop over default_rng(seed) gives (the claim tests'
    samples before the surveys were split into jobs)."""
    rng = np.random.default_rng(seed)
    looped = [surveys.total_variances(*surveys.random_small_mdp(rng)) for _ in range(n)]
    assert cases == looped, "the per-case jobs do not reproduce the survey's single stream"


def test_per_case_jobs_reproduce_the_single_stream_survey(serial):
    check_one_stream(6, 11, serial.values()[:6])
    check_one_stream(6, 11, surveys.run_serial(surveys.reduce_variance_jobs(6, 11)))
    # Control: the same check rejects the cases of another seed.
    with pytest.raises(AssertionError, match="do not reproduce"):
        check_one_stream(6, 12, serial.values()[:6])


def test_one_pass_surveys_give_the_jobs_and_their_serial_results(serial):
    """What the claim tests run: the same jobs (rng states included) and the results
    run_serial gives them. Control: another seed's one-pass survey is caught."""
    vr_jobs, vr = surveys.reduce_variance_survey(6, 11)
    off_jobs, off = surveys.offpolicy_survey(DISTANCES, 3, 12)
    assert [j.index for j in off_jobs] == list(range(6))
    shifted = [sweep.Job(j.index + 6, j.config, j.seed) for j in off_jobs]
    assert vr_jobs + shifted == tiny_jobs()
    assert vr + off == serial.values()
    with pytest.raises(AssertionError, match="do not reproduce"):
        check_one_stream(6, 11, surveys.reduce_variance_survey(6, 12)[1])


def test_a_pool_of_two_gives_the_serial_results(serial):
    """Started in reverse, two cases per task: the per-case JSON is still that of serial."""
    pool = run(tiny_jobs()[::-1], executor="pool", workers=2, chunk=2)
    assert pool.workers == 2
    assert_same_results(serial, pool)


def test_another_seed_is_caught_by_the_comparison(serial):
    with pytest.raises(AssertionError, match="serial differs from serial"):
        assert_same_results(serial, run(tiny_jobs(seed=12), executor="serial"))


def test_summaries_count_the_cases(serial):
    values = serial.values()
    vr = surveys.summarise("reduce-variance", values[:6])
    assert vr["n"] == 6
    assert vr["rtg_lower"] == sum(v["reward_to_go"] < v["reinforce"] for v in values[:6])
    assert vr["fraction_mean_baseline_higher"] == vr["mean_baseline_higher"] / 6
    off = surveys.summarise("off-policy", values[6:])
    assert [(r["distance"], r["cases"]) for r in off["rows"]] == [(0.1, 3), (10.0, 3)]
    lower = [v["dropped"] < v["per_decision"] for v in values[6:]]
    assert [r["fraction_lower"] for r in off["rows"]] == [sum(lower[:3]) / 3, sum(lower[3:]) / 3]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n: must be an integer >= 1"):
        surveys.reduce_variance_jobs(0, 1)
    with pytest.raises(ValueError, match="distances: must be distinct"):
        surveys.offpolicy_jobs((1.0, 1.0), 2, 1)
    with pytest.raises(ValueError, match="kind: must be one of"):
        surveys.summarise("bandits", [{}])
    with pytest.raises(ValueError, match="results: a survey needs at least one case"):
        surveys.summarise("off-policy", [])


@pytest.mark.slow
def test_local_ray_gives_the_serial_results(serial):
    ray = pytest.importorskip(
        "ray", reason='Ray is the optional cluster extra: pip install -e ".[cluster]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = run(tiny_jobs(), executor="ray", ray="local", chunk=3)
    finally:
        ray.shutdown()
    assert on_ray.executor == "ray"
    assert_same_results(serial, on_ray)
