"""Mutation testing: how many small bugs in the mathematical core does the suite catch?

    pip install -e ".[mutation]"
    python benchmarks/mutation.py [--modules policy returns ...] [--out reports/bench-mutation.json]

The mutants are made and run by mutmut 3 (a maintained tool: it rewrites each
function of the core into a trampoline that dispatches to the original or to
one mutant, chosen by the environment variable MUTANT_UNDER_TEST). It works
with this layout: the pgproofs pytest11 plugin loads from the mutated copy,
and xdist is switched off (``-n 0``; the project's addopts give ``--dist``, so xdist stays
loaded): mutmut forks one pytest process
per mutant, ``--children`` at a time (default 1), under ``nice -n 15``.

What is run against a mutant: the claim suite (tests/claims, without the
CartPole training runs) plus the unit tests of the core (``TESTS``), narrowed by mutmut to the tests that call the
mutated function (it records which test calls which function in one traced
run of the whole selection), stopping at the first failure (-x). A mutant
that runs longer than mutmut's timeout (15 x the covering tests' recorded
duration + 1 s) counts as killed by timeout, reported separately.

Not mutated (mutmut's ``do_not_mutate_patterns``): the text of ``raise``
statements. A reworded error message is not a mathematical bug, and the tests
already check that each ValueError names its argument.

Score per module = (killed + timeout) / (mutants - equivalent). A surviving
mutant is either killed by a new test or explained as equivalent in
benchmarks/mutation-equivalent.json, keyed by ``mutant_key`` (module,
function and the changed source line, which survives edits elsewhere).

``run_mutant(module, index)`` is the unit of work for a parallel runner: a
pure function of (module, mutant index) that runs one mutant in a fresh
pytest process. The serial default (``mutmut run``, forking a warmed-up
process per mutant) is several times faster per mutant on one core, so it
runs the sweep; every survivor it reports is then re-run through
``run_mutant`` with the current tests plus the module's unit tests
(``UNIT_TESTS``), in a fresh process: a survivor is never an artefact of the
fork, and a test written to kill it is counted (``killed_on_rerun``). First,
the re-runs' tests must pass on the unmutated code (``check_clean``): a test that
fails for another reason (the core changed after the mutants were made) must
never count as a kill. These
re-runs are the jobs of a ``pgproofs.sweep`` grid (``rerun_job``): a local
process pool by default (``--workers N``), ``--serial``, or Ray (``--ray
local``; on a multi-machine cluster every node must see the same workdir, e.g.
on a shared filesystem, since the mutants live there). A re-run that fails to
run is reported with its module and index and stops the report.
A mutant mutmut has not reached yet is ``not run`` and left out of the score.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import write_json

from pgproofs import sweep

ROOT = Path(__file__).resolve().parents[1]
WORKDIR = ROOT / "build" / "mutation"
EQUIVALENT = Path(__file__).with_name("mutation-equivalent.json")

#: The mathematical core, smallest first (numbers early).
MODULES = ["policy", "returns", "exact", "check", "mdp", "variance", "natural",
           "estimators", "importance"]

#: The claim suite and the unit tests of the core (mutmut narrows per function).
#: The CartPole training runs are left out: 20-30 s each, they test the learner,
#: and the one core function they use (returns.reward_to_go with episode ends
#: and bootstrap) has its own unit tests in tests/test_cartpole_rollout.py.
TESTS = ["tests/claims", "--ignore=tests/claims/test_cartpole.py", "tests/test_mdp.py", "tests/test_returns.py", "tests/test_sampler.py", "tests/test_exact.py",
         "tests/test_estimators.py", "tests/test_variance_dp.py", "tests/test_importance.py",
         "tests/test_natural_engine.py", "tests/test_check.py", "tests/test_montecarlo.py",
         "tests/test_surrogate.py", "tests/test_cartpole_rollout.py", "tests/test_testing.py"]

#: Each module's own unit tests: added to the covering tests when a survivor
#: is re-run (``run_mutant``), so a test written to kill it is tried even
#: before mutmut's traced run has seen it.
UNIT_TESTS = {
    "policy": ["tests/test_mdp.py"], "returns": ["tests/test_returns.py"],
    "exact": ["tests/test_exact.py"], "check": ["tests/test_check.py"],
    "mdp": ["tests/test_mdp.py", "tests/test_sampler.py"],
    "variance": ["tests/test_variance_dp.py"], "natural": ["tests/test_natural_engine.py"],
    "estimators": ["tests/test_estimators.py"], "importance": ["tests/test_importance.py"],
}

#: mutmut exit-code -> status, as mutmut.stats reads them.
KILLED, TIMEOUT, SURVIVED, NO_TESTS, NOT_RUN = "killed", "timeout", "survived", "no tests", "not run"

NICE = ["nice", "-n", "15"]
SEP = "\u01c1"  # mutmut's class separator in mangled names


def mutmut_config(modules: list[str]) -> str:
    """The [tool.mutmut] table appended to the scratch copy's pyproject.toml."""
    only = ", ".join(json.dumps(f"pgproofs/{m}.py") for m in modules)
    tests = ", ".join(json.dumps(t) for t in TESTS)
    return f"""
[tool.mutmut]
source_paths = ["pgproofs/"]
only_mutate = [{only}]
do_not_mutate_patterns = ["raise \\\\w+\\\\("]
also_copy = ["conftest.py"]
pytest_add_cli_args = ["-n", "0"]
pytest_add_cli_args_test_selection = [{tests}]
"""


#: A root conftest for the scratch copy only: the covering tests run fastest
#: first (durations from mutmut's clean run), so -x stops a killed mutant
#: early. The set of tests is unchanged, only their order.
FASTEST_FIRST = '''"""Written by benchmarks/mutation.py: run the covering tests fastest first."""

import json
from pathlib import Path

_STATS = Path(__file__).with_name("mutmut-stats.json")


def pytest_collection_modifyitems(session, config, items):
    if _STATS.exists():
        durations = json.loads(_STATS.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
'''


def prepare(workdir: Path = WORKDIR, modules: list[str] = MODULES) -> Path:
    """A fresh scratch copy of the tracked files with the mutmut configuration."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout.split()
    if workdir.exists():
        shutil.rmtree(workdir)
    for f in files:
        src = ROOT / f
        if src.is_file():
            dst = workdir / f
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    with open(workdir / "pyproject.toml", "a") as fh:
        fh.write(mutmut_config(modules))
    (workdir / "conftest.py").write_text(FASTEST_FIRST)
    return workdir


def _env(workdir: Path) -> dict:
    env = dict(os.environ)
    # the scratch copy, not the editable install, must provide pgproofs
    env["PYTHONPATH"] = os.pathsep.join([str(workdir / "mutants"), str(workdir)]
                                        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.pop("MUTANT_UNDER_TEST", None)
    return env


def run_mutmut(workdir: Path, modules: list[str], log, children: int = 1,
               last: tuple[str, ...] = ()) -> float:
    """``mutmut run`` with ``children`` forks at a time over ``modules``; returns seconds.

    One mutmut call for every module: each call first re-runs the covering tests
    on the clean code (minutes with ``-n 0``), so calling it per module would pay
    that once per module. Only mutants without a result yet are run (mutmut
    re-runs any mutant it is given by name), so an interrupted sweep resumes with
    ``--reuse``. The mutants of the functions named in ``last``
    (``module.function``) run in a second call after all others: one slow
    function must not hold up the rest.
    """
    t0 = time.perf_counter()
    env = _env(workdir)
    # mutmut puts its mutated copy first on sys.path itself
    env["PYTHONPATH"] = os.pathsep.join(p for p in env["PYTHONPATH"].split(os.pathsep)
                                        if not p.startswith((str(workdir), str(ROOT))))
    deferred_prefixes = tuple(f"pgproofs.{m}.x_{f}__mutmut_" for m, _, f in
                              (name.partition(".") for name in last))

    def mutmut(names: list[str]) -> None:
        subprocess.run(NICE + [sys.executable, "-m", "mutmut", "run", "--max-children",
                               str(children), *names],
                       cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)

    names, deferred = [], []
    for module in modules:
        meta = workdir / "mutants" / "pgproofs" / f"{module}.py.meta"
        if not meta.exists():  # first run: mutmut makes the mutants and its traced run
            names.append(f"pgproofs.{module}.*")
            continue
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in codes.items():
            if code is None:
                (deferred if name.startswith(deferred_prefixes) else names).append(name)
    for batch in (names, deferred):
        if batch:
            mutmut(batch)
    return time.perf_counter() - t0


def status_of(exit_code) -> str:
    from mutmut.stats import status_by_exit_code
    if exit_code is None:
        return NOT_RUN
    return status_by_exit_code[exit_code]


def sync_tests(workdir: Path) -> None:
    """Replace the scratch copy's tests by the current ones (new tests written to kill
    survivors count; a deleted test no longer runs)."""
    shutil.rmtree(workdir / "mutants" / "tests", ignore_errors=True)
    shutil.copytree(ROOT / "tests", workdir / "mutants" / "tests")


# --- describing a mutant ------------------------------------------------------

def _functions(tree: ast.Module):
    """Top-level functions and methods with their mutmut-mangled names."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield f"x_{node.name}", node
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"x{SEP}{node.name}{SEP}{sub.name}", sub


def describe_mutants(workdir: Path, module: str) -> list[dict]:
    """Every mutant of ``module`` in mutmut's order: name, function, line, mutation, key."""
    original = (ROOT / "pgproofs" / f"{module}.py").read_text()
    orig_tree = ast.parse(original)
    orig_lines = {name: node for name, node in _functions(orig_tree)}
    mutated = (workdir / "mutants" / "pgproofs" / f"{module}.py").read_text()
    defs = {node.name: node for node in ast.walk(ast.parse(mutated))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    meta = json.loads((workdir / "mutants" / "pgproofs" / f"{module}.py.meta").read_text())
    lines = mutated.splitlines()  # whole-line slices: get_source_segment re-splits per call
    out, seen = [], {}
    for name in meta["exit_code_by_key"]:
        local = name.rpartition(".")[2]
        mangled = local.rpartition("__mutmut_")[0]
        orig_def = defs[f"{mangled}__mutmut_orig"]
        mut_def = defs[local]
        # compare whole definitions (a default argument may be the mutation), names aside
        a = "\n".join(lines[orig_def.lineno - 1:orig_def.end_lineno]).replace(
            orig_def.name, "f", 1).splitlines()
        b = "\n".join(lines[mut_def.lineno - 1:mut_def.end_lineno]).replace(
            mut_def.name, "f", 1).splitlines()
        before, after, offset = [], [], None
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
            if tag != "equal":
                offset = i1 if offset is None else offset
                before += a[i1:i2]
                after += b[j1:j2]
        func = mangled[2:].replace(SEP, ".") if mangled.startswith("x_") else mangled[1:].replace(SEP, ".")
        line = orig_lines[mangled].lineno + (offset or 0)
        mutation = " / ".join(s.strip() for s in before) + "  ->  " + " / ".join(s.strip() for s in after)
        key = f"{module}.{func}: {mutation}"
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:  # the same change at two places of one function
            key += f" (#{seen[key]})"
        out.append(dict(name=name, module=module, function=func, line=line, mutation=mutation,
                        key=key, exit_code=meta["exit_code_by_key"][name]))
    return out


# --- one mutant, as a job for a parallel runner ----------------------------------

def tests_for(workdir: Path, name: str) -> list[str]:
    """The tests that call the mutated function, from mutmut's traced run."""
    stats = json.loads((workdir / "mutants" / "mutmut-stats.json").read_text())
    return sorted(stats["tests_by_mangled_function_name"].get(name.rpartition("__mutmut_")[0], []))


def rerun_tests(workdir: Path, module: str, name: str) -> list[str]:
    """What a survivor's re-run runs: the module's unit tests first (a survivor killed by a
    test written for it stops at once), then the tests that call the mutated function."""
    covering = tests_for(workdir, name)
    return [t for t in UNIT_TESTS[module] if (workdir / "mutants" / t).exists() and covering] \
        + covering


def check_clean(workdir: Path, tests: list[str]) -> None:
    """The re-runs' tests must pass on the unmutated code; otherwise a failure would count as
    a kill. They fail there when the core changed after mutmut made the mutants (the tests
    are the current ones, the mutated tree is not): then make the mutants again."""
    cmd = NICE + [sys.executable, "-m", "pytest", "-q", "-n", str(os.cpu_count() or 1),
                  "-p", "no:cacheprovider", "--rootdir=.", "--no-evidence",
                  *sorted({t.split("::")[0] for t in tests})]
    proc = subprocess.run(cmd, cwd=workdir / "mutants", env=_env(workdir), capture_output=True,
                          text=True)  # no MUTANT_UNDER_TEST: every function is the original
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        raise SystemExit(f"the survivors' tests fail on the unmutated code (pytest exit "
                         f"{proc.returncode}); the core changed since the mutants were made: "
                         f"run without --reuse/--report-only.\n{tail}")


def run_mutant(module: str, index: int, *, workdir: Path = WORKDIR, timeout: float = 600.0) -> dict:
    """Run mutant ``index`` of ``module`` in a fresh pytest process; return a result dict.

    Needs a prepared workdir in which mutmut has made the mutants and its
    traced run (``main`` does both). Pure: it writes nothing but pytest's own
    output, so distinct (module, index) jobs may run in parallel.
    """
    mutant = describe_mutants(workdir, module)[index]
    tests = rerun_tests(workdir, module, mutant["name"])
    result = dict(module=module, index=index, name=mutant["name"], key=mutant["key"],
                  tests=len(tests))
    if not tests:
        return dict(result, status=NO_TESTS, seconds=0.0)
    env = _env(workdir)
    env["MUTANT_UNDER_TEST"] = mutant["name"]
    cmd = NICE + [sys.executable, "-m", "pytest", "-x", "-q", "-n", "0",
                  "-p", "no:cacheprovider", "--rootdir=.",
                  "--no-evidence", *tests]  # parallel re-runs must not race on evidence.json
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=workdir / "mutants", env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(result, status=TIMEOUT, seconds=time.perf_counter() - t0)
    status = {0: SURVIVED, 1: KILLED}.get(proc.returncode, f"error (pytest exit {proc.returncode})")
    tail = proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []
    return dict(result, status=status, seconds=time.perf_counter() - t0, summary=" ".join(tail))


def rerun_job(config: dict, seed: int) -> dict:
    """One survivor's re-run as a sweep job: config has module, index and workdir; seed is
    the mutant index (a label: nothing here is random)."""
    return run_mutant(config["module"], config["index"], workdir=Path(config["workdir"]))


# --- the report -----------------------------------------------------------------

def summarise(mutants: list[dict], equivalent: dict[str, str]) -> dict:
    """Per-module counts and score; the survivors with their explanation, if any."""
    modules, survivors = {}, []
    for m in mutants:
        row = modules.setdefault(m["module"], dict(mutants=0, killed=0, timeout=0, survived=0,
                                                   equivalent=0, not_run=0, other=0,
                                                   killed_on_rerun=0))
        row["mutants"] += 1
        status = m["status"]
        if status in (KILLED, TIMEOUT):
            row[status] += 1
            if m.get("mutmut") in (SURVIVED, NO_TESTS):  # survived mutmut, killed by a newer test
                row["killed_on_rerun"] += 1
                survivors.append(dict(file=f"pgproofs/{m['module']}.py", line=m["line"],
                                      function=m["function"], mutation=m["mutation"], key=m["key"],
                                      status=f"{status} on re-run", mutmut=m["mutmut"],
                                      equivalent=None))
        elif status == NOT_RUN:
            row["not_run"] += 1
        elif status in (SURVIVED, NO_TESTS):
            if m["key"] in equivalent:
                row["equivalent"] += 1
            else:
                row["survived"] += 1
            survivors.append(dict(file=f"pgproofs/{m['module']}.py", line=m["line"],
                                  function=m["function"], mutation=m["mutation"], key=m["key"],
                                  status=status, mutmut=m.get("mutmut"),
                                  equivalent=equivalent.get(m["key"])))
        else:
            row["other"] += 1
    for row in modules.values():
        live = row["mutants"] - row["equivalent"] - row["not_run"]
        row["score"] = round((row["killed"] + row["timeout"]) / live, 4) if live else None
    return dict(modules=modules, survivors=survivors)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="+", default=MODULES, choices=MODULES)
    parser.add_argument("--out", default=str(ROOT / "reports" / "bench-mutation.json"))
    parser.add_argument("--workdir", default=str(WORKDIR))
    parser.add_argument("--reuse", action="store_true",
                        help="keep the workdir's mutants and mutmut's results")
    parser.add_argument("--report-only", action="store_true",
                        help="do not run mutmut; report (and re-run the survivors of) its results so far")
    parser.add_argument("--no-rerun", action="store_true",
                        help="do not re-run survivors in a fresh process with the current tests")
    parser.add_argument("--last", nargs="+", default=[], metavar="MODULE.FUNCTION",
                        help="run the mutants of these functions after every other module "
                             "(with --reuse: the first run makes the mutants)")
    parser.add_argument("--children", type=int, default=1,
                        help="mutants mutmut runs at once (under nice, so they yield to other work)")
    sweep.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.children < 1:
        parser.error(f"--children: expected a positive integer, got {args.children}")
    executor = sweep.options(args)  # a clash of executor options stops before hours of mutmut
    workdir = Path(args.workdir)
    seconds = 0.0
    if not args.report_only:
        if not args.reuse:
            prepare(workdir, MODULES)
        elif (workdir / "mutants" / "tests").exists():
            sync_tests(workdir)  # mutmut traces the new tests itself ("new tests" stats run)
        with open(workdir / "mutmut.log", "a") as log:
            seconds = run_mutmut(workdir, args.modules, log, args.children, tuple(args.last))
    equivalent = json.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    equivalent.pop("_comment", None)
    if not args.no_rerun:
        sync_tests(workdir)
    mutants, jobs = [], []
    t0 = time.perf_counter()
    for module in args.modules:
        for index, m in enumerate(describe_mutants(workdir, module)):
            m["status"] = m["mutmut"] = status_of(m["exit_code"])
            if m["status"] in (SURVIVED, NO_TESTS) and m["key"] not in equivalent \
                    and not args.no_rerun:
                jobs.append(sweep.Job(len(jobs), {"module": module, "index": index,
                                                  "workdir": str(workdir), "at": len(mutants)},
                                      index))
            mutants.append(m)
    reruns = []
    if jobs:  # a survivor's status must come from its re-run, never be left as mutmut's
        check_clean(workdir, [t for job in jobs for t in rerun_tests(
            workdir, job.config["module"], mutants[job.config["at"]]["name"])])
        reruns = sweep.run(rerun_job, jobs, desc="re-running survivors", **executor).values()
        for job, again in zip(jobs, reruns):
            mutants[job.config["at"]]["status"] = again["status"]
    rerun_seconds = time.perf_counter() - t0
    summary = summarise(mutants, equivalent)
    keys = {m["key"] for m in mutants}
    path = write_json(args.out, dict(
        benchmark="mutation", tool="mutmut " + _mutmut_version(), tests=TESTS, nice=15, children=args.children,
        modules_run=args.modules, mutmut_seconds=round(seconds, 1),
        rerun_seconds=round(rerun_seconds, 1), reruns=len(reruns),
        rerun_executor=executor["executor"] if reruns else None, **summary,
        unknown_equivalent_keys=sorted(k for k in equivalent
                                       if k.split(".")[0] in args.modules and k not in keys)))
    for name, row in summary["modules"].items():
        print(f"{name:12s} {row['mutants']:4d} mutants  killed {row['killed']:4d}  timeout "
              f"{row['timeout']:3d}  equivalent {row['equivalent']:3d}  survived "
              f"{row['survived']:3d}  not run {row['not_run']:4d}  score {row['score']}")
    print(f"wrote {path} ({seconds:.0f} s mutmut, {rerun_seconds:.0f} s re-running survivors)")


def _mutmut_version() -> str:
    from importlib.metadata import version
    return version("mutmut")


if __name__ == "__main__":
    main()
