"""pgproofs.sweep: the same grid gives the same per-job results on every executor.

A tiny sweep (numpy sampling, optionally a torch computation, one config
whose jobs raise) runs serially, on a process pool of 2 and on a local Ray
instance started here; the per-job JSON must be identical, the failed jobs
reported with their config and seed on each, and the other jobs kept. The
default run compares serial and the pool on numpy jobs; the slow test adds
torch and Ray (a Ray start and a torch import per worker take half a minute
on two cores).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from pgproofs import sweep


def toy_job(config: dict, seed: int) -> dict:
    """A pure function of (config, seed): a Monte Carlo mean and, with torch, a Gram sum."""
    if config.get("fail"):
        raise ValueError(f"scale: refusing {config['scale']} on purpose")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(200, 8)) * config["scale"]
    out = {"mean": x.mean().tolist(), "var": x.var(ddof=1).tolist()}
    if config.get("torch"):
        import torch

        t = torch.as_tensor(x, dtype=torch.float32)
        out.update(gram=(t.T @ t).sum().item(), threads=torch.get_num_threads())
    return out


CONFIGS = [{"scale": 1.0}, {"scale": 3.0, "fail": True}, {"scale": 0.5}]
TORCH_CONFIGS = [dict(c, torch=True) for c in CONFIGS]
SEEDS = [0, 1, 1000]


def per_job(result: sweep.Sweep) -> list[str]:
    """Each job's outcome as JSON: its value, or the failure's config, seed and last line."""
    return [json.dumps({"index": o.job.index, "config": o.job.config, "seed": o.job.seed,
                        "value": o.value,
                        "error": o.error and o.error.strip().splitlines()[-1]}, sort_keys=True)
            for o in result.outcomes]


def assert_same_results(reference: sweep.Sweep, other: sweep.Sweep) -> None:
    """AssertionError naming the first job whose JSON differs between two executors."""
    for a, b in zip(per_job(reference), per_job(other), strict=True):
        assert a == b, f"{other.executor} differs from {reference.executor}: {b} != {a}"


@pytest.fixture(scope="module")
def serial():
    return sweep.run(toy_job, sweep.grid(CONFIGS, SEEDS), executor="serial", progress=False)


def test_serial_keeps_the_other_jobs_and_reports_the_failures_with_config_and_seed(serial):
    assert [o.job.index for o in serial.outcomes] == list(range(9))
    assert [(o.job.config["scale"], o.job.seed) for o in serial.failures] == \
        [(3.0, 0), (3.0, 1), (3.0, 1000)]
    assert sum(o.ok for o in serial.outcomes) == 6
    with pytest.raises(sweep.SweepError, match=r"3 job\(s\) failed:\njob 3 \(config=\{'scale': "
                                               r"3.0, 'fail': True\}, seed=0\) FAILED: "
                                               r"ValueError: scale: refusing 3.0 on purpose"):
        serial.values()


def test_a_changed_job_is_caught_by_the_comparison(serial):
    """The comparison is not vacuous: a run with another seed for one job differs."""
    jobs = sweep.grid(CONFIGS, SEEDS)
    jobs[0] = sweep.Job(0, jobs[0].config, 7)
    other = sweep.run(toy_job, jobs, executor="serial", progress=False)
    with pytest.raises(AssertionError, match="serial differs from serial"):
        assert_same_results(serial, other)


def test_a_pool_of_two_gives_the_serial_results(serial):
    """Started in reverse and two jobs per task, the outcomes still come back in grid order."""
    pool = sweep.run(toy_job, sweep.grid(CONFIGS, SEEDS)[::-1], executor="pool", workers=2,
                     chunk=2, progress=False)
    assert pool.workers == 2
    assert_same_results(serial, pool)


@pytest.mark.slow
def test_serial_pool_and_local_ray_give_identical_results_with_torch():
    jobs = sweep.grid(TORCH_CONFIGS, SEEDS)
    serial = sweep.run(toy_job, jobs, executor="serial", progress=False)
    assert all(o.value["threads"] == 1 for o in serial.outcomes if o.ok)
    assert len(serial.failures) == 3
    pool = sweep.run(toy_job, jobs, executor="pool", workers=2, progress=False)
    assert_same_results(serial, pool)
    ray = pytest.importorskip(
        "ray", reason='Ray is the optional cluster extra: pip install -e ".[cluster]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep.run(toy_job, jobs, executor="ray", ray="local", progress=False)
    finally:
        ray.shutdown()
    assert on_ray.executor == "ray"
    assert_same_results(serial, on_ray)


def test_the_progress_bar_counts_jobs(capsys):
    sweep.run(toy_job, sweep.grid([{"scale": 1.0}], [0, 1, 2, 3]), executor="serial",
              desc="toy")
    err = capsys.readouterr().err
    assert "toy: 100%" in err and "4/4" in err


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="seeds: every seed must be an integer >= 0"):
        sweep.grid([{}], [-1])
    with pytest.raises(ValueError, match="executor: expected one of"):
        sweep.run(toy_job, sweep.grid([{}], [0]), executor="threads")
    with pytest.raises(ValueError, match="workers: must be an integer >= 1"):
        sweep.run(toy_job, sweep.grid([{}], [0]), executor="pool", workers=0)
    with pytest.raises(ValueError, match="ray: the Ray executor needs an address"):
        sweep.run(toy_job, sweep.grid([{}], [0]), executor="ray")
