"""pytest plugin: the ``claim`` marker, the ``evidence`` fixture, evidence.json.

Registered through the ``pytest11`` entry point, so it is active wherever
pgproofs is installed. Workers attach each test's claim ids and evidence to
``item.user_properties`` (the mechanism xdist ships to the controller); the
controller (or the single process without xdist) aggregates the reports and
writes ``reports/evidence.json`` once, in ``pytest_sessionfinish``.

A claim's ``outcome`` is ``passed`` only if every test marked with it ran
and passed; a failure or error in any phase makes it ``failed``; a claim whose
tests were all skipped is ``skipped``.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from pgproofs.evidence import Evidence, jsonable

CLAIMS_KEY = "pgproofs.claims"
EVIDENCE_KEY = "pgproofs.evidence"
WORKER_KEY = "pgproofs.worker"
VERSIONED = ("pgproofs", "numpy", "sympy", "hypothesis", "torch", "gymnasium",
             "matplotlib", "pytest", "pytest-xdist")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pgproofs")
    group.addoption("--evidence", default=None, metavar="PATH",
                    help="where to write the claims evidence (default: reports/evidence.json "
                         "under the rootdir)")
    group.addoption("--no-evidence", action="store_true",
                    help="do not write the evidence file")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id, ...): claim ids of CLAIMS.md this test checks")
    if not hasattr(config, "workerinput"):
        config._pgproofs_collector = _Collector()  # type: ignore[attr-defined]


def claim_ids(item: pytest.Item) -> list[str]:
    """The claim ids a test is marked with, in order, without duplicates."""
    ids: list[str] = []
    for mark in item.iter_markers("claim"):
        if not mark.args:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.claim needs at least one id")
        for cid in mark.args:
            if not isinstance(cid, str):
                raise pytest.UsageError(f"{item.nodeid}: claim id {cid!r} is not a string")
            if cid not in ids:
                ids.append(cid)
    return ids


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    for item in items:
        ids = claim_ids(item)
        if ids:
            item.user_properties.append((CLAIMS_KEY, ids))
            item.user_properties.append((WORKER_KEY, worker))


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Record evidence for the claims this test is marked with."""
    if not claim_ids(request.node):
        raise pytest.UsageError(
            f"{request.node.nodeid}: the evidence fixture needs @pytest.mark.claim(...)")
    ev = Evidence()
    request.node.user_properties.append((EVIDENCE_KEY, ev.items))
    return ev


class _Collector:
    """Aggregates test reports into per-claim outcomes on the controller."""

    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}

    def add(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        ids = props.get(CLAIMS_KEY)
        if not ids:
            return
        t = self.tests.setdefault(report.nodeid, {
            "claims": list(ids), "outcome": "passed", "evidence": [],
            "worker": props.get(WORKER_KEY, "main"), "failure": None})
        if report.failed:
            t["outcome"] = "failed"
            t["failure"] = (t["failure"] or "") + f"[{report.when}] " + report.longreprtext[-4000:]
        elif report.skipped and t["outcome"] != "failed":
            t["outcome"] = "skipped"
        if report.when == "call":
            t["evidence"] = list(props.get(EVIDENCE_KEY) or [])

    def claims(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for nodeid, t in sorted(self.tests.items()):
            for cid in t["claims"]:
                c = out.setdefault(cid, {"outcome": None, "tests": [], "results": {},
                                         "workers": [], "evidence": [], "failures": []})
                c["tests"].append(nodeid)
                c["results"][nodeid] = t["outcome"]
                if t["worker"] not in c["workers"]:
                    c["workers"].append(t["worker"])
                for item in t["evidence"]:
                    c["evidence"].append(dict(item, test=nodeid))
                if t["failure"]:
                    c["failures"].append({"test": nodeid, "text": t["failure"]})
        for c in out.values():
            results = set(c["results"].values())
            if "failed" in results:
                c["outcome"] = "failed"
            elif results == {"passed"}:
                c["outcome"] = "passed"
            else:  # a skipped test leaves the claim unchecked, never passed
                c["outcome"] = "skipped"
        return out


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs on the controller for reports from every worker (and in-process without xdist).
    collector = _COLLECTOR.get("c")
    if collector is not None:
        collector.add(report)


_COLLECTOR: dict[str, _Collector] = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    c = getattr(session.config, "_pgproofs_collector", None)
    if c is not None:
        _COLLECTOR["c"] = c


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    commit = out.stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return commit + ("-dirty" if dirty else "")


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or config.getoption("--no-evidence"):
        return
    collector = _COLLECTOR.pop("c", None)
    if collector is None or not collector.tests:
        return
    path = config.getoption("--evidence")
    path = Path(path) if path else config.rootpath / "reports" / "evidence.json"
    doc = {
        "claims": collector.claims(),
        "meta": {
            "commit": _git_commit(config.rootpath),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions(),
            "platform": platform.platform(),
            "args": list(config.invocation_params.args),
            "markexpr": config.option.markexpr,
            "workers": sorted({t["worker"] for t in collector.tests.values()}),
            "exitstatus": int(exitstatus),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(jsonable(doc), indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
