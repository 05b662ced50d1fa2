"""Sweep executors: wall time of a CartPole and a calibration sweep, serial vs pool vs Ray.

    python benchmarks/bench_sweep.py [--workers 2] [--cartpole-seeds 6]
                                     [--calibration-seeds 300] [--no-ray]
                                     [--out reports/bench-sweep.json]

In one run, each sweep (``benchmarks/cartpole.py``'s learners x held-out
seeds; ``benchmarks/calibration.py``'s cells x seeds) is run serially, on a
local process pool of ``--workers`` and on a local Ray instance with as many
CPUs. Reported: the speed-up serial / pool (about the number of workers on an
idle machine with that many cores, less the pool's start-up and the workers'
imports), Ray's overhead against the pool (ray / pool, the Ray start timed
apart), and whether every job's result (wall times excluded) is identical on
the three executors. The machine's load average is recorded before and after
each timing: on a shared machine the ratios are only as good as the load was
steady. The CPU time the jobs got, divided by the wall time, says how many
cores the sweep really had: with the kernel's autogroup scheduling
(/proc/sys/kernel/sched_autogroup_enabled = 1) a busy machine shares its
cores between sessions, not processes, so a pool on a loaded machine may get
no more CPU than one process, and its speed-up then says nothing about the
runner. Exit status 1 when the results differ or a job failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import calibration
import cartpole
from _common import write_json

from pgproofs import sweep

LEARNERS = ("rtg", "rtg-baseline", "npg")


def cartpole_sweep(seeds: int):
    """(fn, jobs, options, comparable result) of the CartPole sweep: ours x held-out seeds."""
    jobs = sweep.grid([{"algo": a} for a in LEARNERS], range(1000, 1000 + seeds))
    return cartpole.run_learner, jobs, {}, cartpole.without_timing


def calibration_sweep(seeds: int):
    """(fn, jobs, options, comparable result) of the calibration sweep: every cell x seeds."""
    cells = calibration.false_alarm_cells() + \
        calibration.power_cells(calibration.power_standard_error())
    return (calibration.p_value_job, sweep.grid(cells, range(seeds)),
            {"chunk": calibration.CHUNK}, lambda p: p)


def timed_sweep(name, fn, jobs, options, comparable, **executor) -> tuple[dict, list[str]]:
    """Run one sweep; its timing record and each job's comparable JSON."""
    load_before = os.getloadavg()
    result = sweep.run(fn, jobs, desc=f"{name} {executor['executor']}", **options, **executor)
    cpu = sum(o.cpu_s for o in result.outcomes)
    record = {"wall_s": result.wall_s, "loadavg_before": load_before,
              "loadavg_after": os.getloadavg(), "jobs": len(jobs), "job_cpu_s": cpu,
              "cores_used": cpu / result.wall_s,
              "failed": len(result.failures), "executor": result.executor,
              "workers": result.workers}
    per_job = [json.dumps({"config": o.job.config, "seed": o.job.seed,
                           "value": comparable(o.value) if o.ok else None,
                           "error": None if o.ok else o.error.strip().splitlines()[-1]},
                          sort_keys=True) for o in result.outcomes]
    print(f"{name:12s} {result.executor:6s} {len(jobs):6d} jobs {result.wall_s:8.2f} s "
          f"(load {load_before[0]:.2f} -> {record['loadavg_after'][0]:.2f}, "
          f"cores used {record['cores_used']:.2f})", flush=True)
    return record, per_job


def _autogroup() -> str | None:
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip()
    except OSError:
        return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cartpole-seeds", type=int, default=6)
    ap.add_argument("--calibration-seeds", type=int, default=300)
    ap.add_argument("--no-ray", action="store_true", help="skip Ray (the cluster extra)")
    ap.add_argument("--out", default="reports/bench-sweep.json")
    args = ap.parse_args(argv)
    for name in ("workers", "cartpole_seeds", "calibration_seeds"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')}: must be >= 1, got {getattr(args, name)}")
    sweep.one_thread()
    executors = [{"executor": "serial"}, {"executor": "pool", "workers": args.workers}]
    ray_init_s = None
    if not args.no_ray:
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
        ray_init_s = time.perf_counter() - t0
        executors.append({"executor": "ray", "ray": "local", "workers": args.workers})
    out = {"workers": args.workers, "cpus": len(os.sched_getaffinity(0)),
           "sched_autogroup": _autogroup(), "ray_init_s": ray_init_s, "sweeps": {}}
    failed = False
    try:
        for name, make, seeds in (("cartpole", cartpole_sweep, args.cartpole_seeds),
                                  ("calibration", calibration_sweep, args.calibration_seeds)):
            fn, jobs, options, comparable = make(seeds)
            runs, reference = {}, None
            identical = True
            for executor in executors:
                record, per_job = timed_sweep(name, fn, jobs, options, comparable, **executor)
                runs[executor["executor"]] = record
                failed |= record["failed"] > 0
                if reference is None:
                    reference = per_job
                elif per_job != reference:
                    identical = False
                    first = next(i for i, (a, b) in enumerate(zip(reference, per_job)) if a != b)
                    print(f"{name}: {executor['executor']} differs from serial at job {first}:\n"
                          f"  {per_job[first]}\n  {reference[first]}", file=sys.stderr)
            entry = {"seeds": seeds, "jobs": len(jobs), "runs": runs,
                     "identical_results": identical,
                     "speedup_pool_over_serial": runs["serial"]["wall_s"] / runs["pool"]["wall_s"]}
            if "ray" in runs:
                entry["ray_over_pool"] = runs["ray"]["wall_s"] / runs["pool"]["wall_s"]
                entry["speedup_ray_over_serial"] = runs["serial"]["wall_s"] / runs["ray"]["wall_s"]
            out["sweeps"][name] = entry
            failed |= not identical
            print(f"{name}: pool speed-up {entry['speedup_pool_over_serial']:.2f}x"
                  + (f", ray / pool {entry['ray_over_pool']:.2f}" if "ray" in runs else "")
                  + f", identical results: {identical}", flush=True)
    finally:
        if not args.no_ray:
            ray.shutdown()
    out["targets"] = {"speedup_pool_over_serial_at_least": 1.7}
    out["passes_targets"] = not failed and all(
        s["speedup_pool_over_serial"] >= 1.7 for s in out["sweeps"].values())
    path = write_json(args.out, out)
    print(f"wrote {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
