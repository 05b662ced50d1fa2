"""Sweeps: a grid of jobs (config x seed) run serially, on a local process pool, or on Ray.

    from pgproofs import sweep
    jobs = sweep.grid([{"algo": "npg"}, {"algo": "rtg"}], seeds=range(10))
    result = sweep.run(train_one, jobs, executor="pool", workers=2)   # train_one(config, seed)
    result.values()      # in grid order, whatever the executor and scheduling

Each job is a pure function of its inputs: ``fn(config, seed)`` with its own
seed, so the same grid gives the same per-job results on every executor. The
executors are existing engines, not a scheduler of ours:

* ``serial``: a loop in this process;
* ``pool`` (default): ``concurrent.futures.ProcessPoolExecutor`` with ``workers``
  processes, started by forkserver (no fork of a process that may hold torch
  threads);
* ``ray``: Ray tasks (the optional ``cluster`` extra, ``pip install -e ".[cluster]"``),
  on a local instance (``"local"``), the cluster Ray finds (``"auto"``), or one
  at an address (``"HOST:PORT"``, ``"ray://HOST:PORT"``). If Ray is already
  initialised in this process, that instance is used as it is.

Every job runs with one torch thread (and one OpenMP/BLAS thread) on every
executor: a job's floating-point result must not depend on how many threads it
had, and jobs, not threads, are what the executors parallelise. A job that
raises is recorded with its config, seed and traceback and the others are kept;
``Sweep.failures`` lists them and ``Sweep.raise_on_failure`` turns them into
one error. A progress bar (tqdm) shows jobs done / total and the ETA.

``fn`` must be a module-level function. On Ray its module is shipped by value
unless it belongs to pgproofs (installed on every node), so a script's or a
test's function works on a cluster whose nodes have pgproofs installed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

__all__ = ["EXECUTORS", "Job", "Outcome", "Sweep", "SweepError", "add_arguments", "grid",
           "options", "run"]

EXECUTORS = ("serial", "pool", "ray")
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    """One point of the grid: ``fn(config, seed)``; index is its place in the grid order."""

    index: int
    config: Any
    seed: int


@dataclass(frozen=True)
class Outcome:
    """What one job gave: its value, or the traceback of the exception it raised.

    seconds: wall time of the job; cpu_s: CPU time of its process meanwhile
    (cpu_s / seconds below 1 means the job waited for a core).
    """

    job: Job
    value: Any = None
    error: str | None = None
    seconds: float = 0.0
    cpu_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        """One line naming the job and, for a failure, the exception's last line."""
        head = f"job {self.job.index} (config={self.job.config!r}, seed={self.job.seed})"
        if self.ok:
            return f"{head}: done in {self.seconds:.2f} s"
        return f"{head} FAILED: {self.error.strip().splitlines()[-1]}"


class SweepError(RuntimeError):
    """Some jobs of a sweep failed; ``failures`` holds their outcomes."""

    def __init__(self, failures: Sequence[Outcome]):
        self.failures = list(failures)
        super().__init__(f"{len(self.failures)} job(s) failed:\n"
                         + "\n".join(o.describe() for o in self.failures))


@dataclass
class Sweep:
    """The outcomes of every job, in grid order, and how they were run."""

    outcomes: list[Outcome]
    executor: str
    workers: int
    wall_s: float
    address: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def values(self) -> list:
        """Every job's value in grid order; SweepError if any job failed."""
        self.raise_on_failure()
        return [o.value for o in self.outcomes]

    def raise_on_failure(self) -> None:
        if self.failures:
            raise SweepError(self.failures)

    def meta(self) -> dict:
        """JSON-able description of the run (executor, workers, wall time, failures)."""
        return {"executor": self.executor, "workers": self.workers, "address": self.address,
                "wall_s": self.wall_s, "jobs": len(self.outcomes),
                "job_cpu_s": sum(o.cpu_s for o in self.outcomes),
                "failed": [{"index": o.job.index, "config": o.job.config, "seed": o.job.seed,
                            "error": o.error} for o in self.failures]}


def grid(configs: Iterable, seeds: Iterable[int]) -> list[Job]:
    """Every (config, seed) pair, config-major: the jobs of configs[0] first, seeds in order."""
    configs, seeds = list(configs), list(seeds)
    if not configs:
        raise ValueError("configs: the grid needs at least one config")
    if not seeds:
        raise ValueError("seeds: the grid needs at least one seed")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"seeds: every seed must be an integer >= 0, got {s!r}")
    return [Job(i * len(seeds) + j, c, s) for i, c in enumerate(configs)
            for j, s in enumerate(seeds)]


def one_thread() -> None:
    """Limit this process to one torch / OpenMP / BLAS thread (see the module docstring).

    The environment variables take effect for libraries loaded later; torch, if
    already loaded, is told directly.
    """
    for name in _THREAD_VARIABLES:
        os.environ[name] = "1"
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def run_job(fn: Callable[[Any, int], Any], job: Job) -> Outcome:
    """Run one job in this process with one thread; an exception becomes a failed Outcome."""
    one_thread()
    start, cpu = time.perf_counter(), time.process_time()
    try:
        value = fn(job.config, job.seed)
    except Exception:  # a failed job is reported with its config and seed; the others go on
        return Outcome(job, error=traceback.format_exc(), seconds=time.perf_counter() - start,
                       cpu_s=time.process_time() - cpu)
    return Outcome(job, value=value, seconds=time.perf_counter() - start,
                   cpu_s=time.process_time() - cpu)


def _check_workers(workers) -> int:
    if workers is None:
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
    return workers


class _Progress:
    """tqdm bar over the jobs (done / total, ETA); failures are printed as they come."""

    def __init__(self, total: int, desc: str, enabled: bool):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="job", disable=not enabled,
                        file=sys.stderr, dynamic_ncols=True)
        self.failed = 0

    def update(self, outcome: Outcome) -> None:
        if not outcome.ok:
            self.failed += 1
            self.bar.write(outcome.describe(), file=sys.stderr)
            self.bar.set_postfix(failed=self.failed)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def run_chunk(fn: Callable[[Any, int], Any], jobs: Sequence[Job]) -> list[Outcome]:
    """run_job on each of a few jobs, one task's worth (fewer round trips for short jobs)."""
    return [run_job(fn, job) for job in jobs]


def _chunks(jobs: list[Job], chunk: int) -> list[list[Job]]:
    return [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]


def _run_serial(fn, jobs, progress) -> list[Outcome]:
    outcomes = []
    for job in jobs:
        outcomes.append(run_job(fn, job))
        progress.update(outcomes[-1])
    return outcomes


def _lost(chunk: list[Job], exc: BaseException, where: str) -> list[Outcome]:
    """Failed outcomes for the jobs of a task that never returned (a worker died, ...)."""
    return [Outcome(job, error=f"{type(exc).__name__}: {exc} ({where})") for job in chunk]


def _run_pool(fn, jobs, workers, chunk, progress) -> list[Outcome]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    outcomes = []
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=one_thread) as pool:
        futures = {pool.submit(run_chunk, fn, c): c for c in _chunks(jobs, chunk)}
        for future in as_completed(futures):
            try:
                done = future.result()
            except Exception as exc:  # the worker died, or the job could not be pickled
                done = _lost(futures[future], exc, "in the process pool")
            for outcome in done:
                outcomes.append(outcome)
                progress.update(outcome)
    return outcomes


def _ray_connect(address: str, workers: int):
    try:
        import ray
    except ImportError:
        raise ValueError('ray: the Ray executor needs the cluster extra: '
                         'pip install -e ".[cluster]"') from None
    if not ray.is_initialized():
        if address == "local":
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


def _run_ray(fn, jobs, address, workers, chunk, progress) -> list[Outcome]:
    ray = _ray_connect(address, workers)
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    if module is not None and module.__name__ != "__main__" \
            and not module.__name__.startswith("pgproofs"):
        # The nodes have pgproofs installed, not the caller's own module: ship it by value.
        ray.cloudpickle.register_pickle_by_value(module)
    task = ray.remote(num_cpus=1)(run_chunk)
    fn_ref = ray.put(fn)
    pending = {task.remote(fn_ref, c): c for c in _chunks(jobs, chunk)}
    outcomes = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            c = pending.pop(ref)
            try:
                done = ray.get(ref)
            except Exception as exc:  # the worker or its node died (after Ray's retries)
                done = _lost(c, exc, "on Ray")
            for outcome in done:
                outcomes.append(outcome)
                progress.update(outcome)
    return outcomes


def run(fn: Callable[[Any, int], Any], jobs: Sequence[Job], *, executor: str = "pool",
        workers: int | None = None, ray: str | None = None, chunk: int = 1,
        progress: bool = True, desc: str = "sweep") -> Sweep:
    """Run ``fn(job.config, job.seed)`` for every job; the outcomes come back in grid order.

    executor: "serial", "pool" (``workers`` processes, default one per CPU) or
    "ray" (``ray``: "local", "auto" or an address; on "local" ``workers`` CPUs).
    Jobs start in the order given (e.g. seed-major, so that a change of machine
    load touches every config alike) and are sent ``chunk`` at a time to a
    worker (for jobs of milliseconds). Failed jobs do not stop the others; see
    ``Sweep.failures``.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor: expected one of {EXECUTORS}, got {executor!r}")
    if not callable(fn):
        raise ValueError(f"fn: expected a callable (config, seed) -> result, "
                         f"got {type(fn).__name__}")
    jobs = list(jobs)
    if sorted(j.index for j in jobs) != list(range(len(jobs))):
        raise ValueError("jobs: indices must be 0..n-1, as sweep.grid makes them")
    if executor == "ray" and not ray:
        raise ValueError('ray: the Ray executor needs an address: "local", "auto" or HOST:PORT')
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk: must be an integer >= 1, got {chunk!r}")
    workers = 1 if executor == "serial" else _check_workers(workers)
    bar = _Progress(len(jobs), desc, progress)
    start = time.perf_counter()
    try:
        if executor == "serial":
            outcomes = _run_serial(fn, jobs, bar)
        elif executor == "pool":
            outcomes = _run_pool(fn, jobs, workers, chunk, bar)
        else:
            outcomes = _run_ray(fn, jobs, ray, workers, chunk, bar)
    finally:
        bar.close()
    outcomes.sort(key=lambda o: o.job.index)
    return Sweep(outcomes, executor, workers, time.perf_counter() - start,
                 address=ray if executor == "ray" else None)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The executor options every sweep script shares: --serial, --workers N, --ray ADDRESS."""
    group = parser.add_argument_group("sweep executor (default: a local process pool)")
    group.add_argument("--workers", type=int, default=None,
                       help="processes of the local pool, or CPUs of a local Ray instance "
                            "(default: the CPUs this process may use)")
    group.add_argument("--serial", action="store_true", help="run every job in this process")
    group.add_argument("--ray", metavar="ADDRESS", default=None,
                       help='run on Ray: "local" (start one here), "auto" (the running cluster) '
                            'or HOST:PORT of a head node; needs pip install -e ".[cluster]"')
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def options(args: argparse.Namespace) -> dict:
    """run() keyword arguments from the options of ``add_arguments``; ValueError if they clash."""
    if args.serial and args.ray:
        raise ValueError("--serial and --ray: choose one executor")
    if args.workers is not None:
        _check_workers(args.workers)
    executor = "serial" if args.serial else ("ray" if args.ray else "pool")
    return {"executor": executor, "workers": args.workers, "ray": args.ray,
            "progress": not args.no_progress}
