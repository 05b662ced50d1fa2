"""Rerun tests under many Monte Carlo seeds and count the failures.

    python scripts/rerun_seeds.py --seeds 50 tests/claims/test_reinforce.py tests/claims/test_variance.py
    python scripts/rerun_seeds.py --seeds 50 tests/claims/test_reinforce.py -- -k "pg3"

Seeded tests add the integer in $PGPROOFS_SEED_OFFSET to their fixed seeds
(``pgproofs.testing.seeded_rng``). For offsets start .. start + seeds - 1 this
runs pytest once per offset, in a fresh process (modules may read the
variable at import), and reports how many runs and tests failed. A test whose
stated false-alarm probability is <= 1e-6 should fail in none of them; a
failure here means the stated bound or the test is wrong. Hypothesis tests
are derandomised and do not depend on the offset. Arguments after ``--`` go
to pytest. Exit status 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

ENV = "PGPROOFS_SEED_OFFSET"


def run_once(offset: int, paths: list[str], extra: list[str]) -> dict:
    env = dict(os.environ, **{ENV: str(offset)})
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-n", "0",
           "--no-evidence", *paths, *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|error|errors)", tail)}
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    failures = re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M)
    return {"offset": offset, "exit": proc.returncode, "passed": counts.get("passed", 0),
            "failed": failed, "failures": failures, "seconds": time.perf_counter() - t0,
            "summary": tail}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="test files or node ids")
    parser.add_argument("--seeds", type=int, default=50, help="how many offsets (default 50)")
    parser.add_argument("--start", type=int, default=1, help="first offset (default 1)")
    parser.add_argument("--json", default=None, help="also write the per-seed results here")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds: must be >= 1, got {args.seeds}")
    results = []
    for offset in range(args.start, args.start + args.seeds):
        r = run_once(offset, args.paths, extra)
        results.append(r)
        status = "ok" if r["exit"] == 0 else f"FAILED {r['failures'] or r['summary']}"
        print(f"{ENV}={offset:4d}: {r['passed']} passed, {r['failed']} failed "
              f"({r['seconds']:.1f} s) {status}", flush=True)
    bad_runs = sum(r["exit"] != 0 for r in results)
    failed_tests = sum(r["failed"] for r in results)
    print(f"{args.seeds} seeds: {bad_runs} runs with failures, {failed_tests} failed tests in total")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"env": ENV, "paths": args.paths, "extra": extra, "runs": results,
                       "failed_runs": bad_runs, "failed_tests": failed_tests}, fh, indent=2)
    return 1 if bad_runs else 0


if __name__ == "__main__":
    raise SystemExit(main())
