"""pytest plugin: the ``claim`` marker, the ``evidence`` fixture, evidence.json.

Registered through the ``pytest11`` entry point, so it is active wherever
pgproofs is installed. The evidence file lists, for every claim, EVERY
collected test marked with it (deselected ones included) with that test's
outcome, and the claim's status from :func:`pgproofs.verdict.claim_status`.

What is run is learnt from the test reports; what should have run is learnt
from the collection, which is where xdist makes it hard: the controller
collects nothing, the workers do, and a worker can die (``os._exit``, a
segfault) before it reports anything. So the controller makes a scratch
directory and hands it to each worker through ``node.workerinput``; each
worker writes its collection (selected and deselected node ids with their
claim ids) there as soon as collection ends, before any test runs. The
controller then knows every test of every claim, and a test with no complete
report (a crash report, an interrupted run, ``-x``, ``--maxfail``,
``pytest.exit``) is recorded as crashed or ``not run``, never as passed.
Without xdist the same data comes from the hooks in-process.

Test evidence travels in ``item.user_properties`` (which xdist ships to the
controller); the file is written once, in ``pytest_sessionfinish`` on the
controller (or the single process).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import re
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from pgproofs.evidence import Evidence, jsonable
from pgproofs.verdict import EVIDENCE_FORMAT, FAILING, claim_outcome, results_status

CLAIMS_KEY = "pgproofs.claims"
EVIDENCE_KEY = "pgproofs.evidence"
WORKER_KEY = "pgproofs.worker"
EXCHANGE_KEY = "pgproofs_collection_dir"  # in xdist's node.workerinput
VERSIONED = ("pgproofs", "numpy", "sympy", "hypothesis", "torch", "gymnasium",
             "matplotlib", "pytest", "pytest-xdist")

_RUN = pytest.StashKey["_Run"]()
_COLLECTION = pytest.StashKey["_Collection"]()
_WORKER = pytest.StashKey["_Worker"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pgproofs")
    group.addoption("--evidence", default=None, metavar="PATH",
                    help="where to write the claims evidence (default: reports/evidence.json "
                         "under the rootdir)")
    group.addoption("--no-evidence", action="store_true",
                    help="do not write the evidence file")
    parser.addini("pgproofs_require_translation", type="bool", default=False,
                  help="evidence prose must come in Chinese too (zh=...): a caption without "
                       "it is an error, so the report's Chinese edition is never half done")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id, ...): claim ids of CLAIMS.md this test checks")
    config.stash[_COLLECTION] = _Collection()
    if _is_worker(config):
        folder = config.workerinput.get(EXCHANGE_KEY)  # type: ignore[attr-defined]
        if folder:
            worker = _Worker(folder, config.workerinput["workerid"])  # type: ignore[attr-defined]
            config.stash[_WORKER] = worker
            config.pluginmanager.register(worker, "pgproofs-evidence-worker")
    else:
        run = _Run(config)
        config.stash[_RUN] = run
        config.pluginmanager.register(run, "pgproofs-evidence-run")


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


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Evidence:
    """Record evidence for the claims this test is marked with."""
    if not claim_ids(request.node):
        raise pytest.UsageError(
            f"{request.node.nodeid}: the evidence fixture needs @pytest.mark.claim(...)")
    ev = Evidence(require_translation=request.config.getini("pgproofs_require_translation"))
    request.node.user_properties.append((EVIDENCE_KEY, ev.items))
    return ev


def plain_nodeid(nodeid: str) -> str:
    """The node id without the ``@group`` xdist's ``--dist loadgroup`` appends in its workers,
    so a test has one id in the evidence however it was run."""
    return _XDIST_GROUP.sub("", nodeid)


_XDIST_GROUP = re.compile(r"@[^@\[\]:/]+$")


# ---- collection: which tests each claim has (in every process that collects) -----------

class _Collection:
    """The claim tests one process collected: selected and deselected, node id -> claim ids."""

    def __init__(self) -> None:
        self.selected: dict[str, list[str]] = {}
        self.deselected: dict[str, list[str]] = {}

    def to_json(self) -> dict[str, Any]:
        return {"selected": self.selected, "deselected": self.deselected}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    for item in items:
        ids = claim_ids(item)  # a malformed marker is a usage error here, before anything runs
        if ids:
            item.user_properties.append((CLAIMS_KEY, ids))
            item.user_properties.append((WORKER_KEY, worker))


def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        ids = claim_ids(item)
        if ids:
            item.config.stash[_COLLECTION].deselected[item.nodeid] = ids


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    coll = config.stash[_COLLECTION]
    for item in session.items:
        ids = claim_ids(item)
        if ids:
            coll.selected[item.nodeid] = ids
    worker = config.stash.get(_WORKER, None)
    if worker is not None:
        worker.write("json", json.dumps(coll.to_json()))
    elif not _is_worker(config):
        config.stash[_RUN].collections.append(coll.to_json())


class _Worker:
    """On an xdist worker: what the controller must learn even if this process dies.

    Files in the controller's scratch directory, written before the fact: the
    collection as soon as it ends, and on an interrupt the test that was running
    (xdist then reports it as a crash; it was interrupted, not crashed).
    """

    def __init__(self, folder: str, name: str) -> None:
        self.folder, self.name = Path(folder), name
        self.current: str | None = None

    def write(self, suffix: str, content: str) -> None:
        path = self.folder / f"{self.name}.{suffix}"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)  # atomic: the controller never reads half a file

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.current = nodeid

    def pytest_keyboard_interrupt(self) -> None:
        if self.current:
            self.write("interrupted", self.current)


# ---- reports: what ran (on the controller, or in the single process) --------------------

def _phase_outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xpassed" if report.passed else ("xfailed" if report.skipped else "failed")
    return report.outcome  # passed, failed, skipped


def _test_outcome(rec: dict[str, Any] | None, interrupted: bool = False) -> str:
    """One test's outcome (see pgproofs.verdict.TEST_OUTCOMES) from its phase reports.

    Passed only on a passing call report followed by a clean teardown report.
    interrupted: its xdist worker was interrupted while running it (the crash
    report xdist then makes means "not run", not a crash).
    """
    if rec is None:
        return "not run"
    if rec["crashed"]:
        return "not run" if interrupted else "crashed"
    setup, call, teardown = rec["setup"], rec["call"], rec["teardown"]
    if setup == "failed":
        return "error"
    if teardown == "failed":
        return "failed" if call == "failed" else "error"
    if setup in ("skipped", "xfailed"):  # skip mark, pytest.skip in a fixture, xfail(run=False)
        return "skipped"
    if call is None or teardown is None:
        return "not run"  # interrupted, stopped, or never scheduled
    return call


class _Run:
    """The controller's view of the session (a plugin object, registered off the workers)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.exchange: Path | None = None
        self.collections: list[dict[str, Any]] = []
        self.collection_errors: list[str] = []
        self.stopped: str | None = None
        self.records: dict[str, dict[str, Any]] = {}
        self.interrupted: set[str] = set()  # tests an xdist worker was running when interrupted

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        # xdist, before each worker starts: where it must write its collection.
        if self.exchange is None:
            self.exchange = Path(tempfile.mkdtemp(prefix="pgproofs-collection-"))
        node.workerinput[EXCHANGE_KEY] = str(self.exchange)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # xdist forwards its workers' failed collect reports to the controller.
        if report.failed and report.nodeid not in self.collection_errors:
            self.collection_errors.append(report.nodeid or ".")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        rec = self.records.setdefault(report.nodeid, {
            "claims": [], "setup": None, "call": None, "teardown": None, "crashed": False,
            "evidence": [], "worker": None, "failure": ""})
        if props.get(CLAIMS_KEY):
            rec["claims"] = list(props[CLAIMS_KEY])
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        rec["worker"] = rec["worker"] or props.get(WORKER_KEY) or getattr(gateway, "id", None)
        if report.when in ("setup", "call", "teardown"):
            rec[report.when] = _phase_outcome(report)
        elif report.failed:  # xdist's crash report: when="???", no user_properties
            rec["crashed"] = True
        if report.failed:
            rec["failure"] += f"[{report.when}] " + report.longreprtext[-4000:] + "\n"
        if EVIDENCE_KEY in props:
            rec["evidence"] = list(props[EVIDENCE_KEY] or [])

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # KeyboardInterrupt, pytest.exit, and xdist's Interrupted (-x, --maxfail, a worker's
        # interrupt) all end here.
        message = str(excinfo.value).strip()
        self.stopped = f"{excinfo.typename}: {message}" if message else excinfo.typename

    def pytest_unconfigure(self) -> None:
        if self.exchange is not None:
            shutil.rmtree(self.exchange, ignore_errors=True)

    def _read_exchange(self) -> None:
        for path in sorted(self.exchange.glob("*.json")) if self.exchange else ():
            try:
                self.collections.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # a partial file: the tests it would name are missing, never passed
        for path in self.exchange.glob("*.interrupted") if self.exchange else ():
            self.interrupted.add(path.read_text(encoding="utf-8"))

    def tests(self) -> dict[str, tuple[list[str], str]]:
        """node id -> (claim ids, outcome) for every claim test collected or reported."""
        claims: dict[str, list[str]] = {}
        deselected: set[str] = set()
        for coll in self.collections:
            claims.update(coll.get("selected", {}))
            for nodeid, ids in coll.get("deselected", {}).items():
                claims.setdefault(nodeid, ids)
                deselected.add(nodeid)
        for nodeid, rec in self.records.items():  # a test reported but listed by no collection
            if rec["claims"]:
                claims.setdefault(nodeid, rec["claims"])
        return {nodeid: (list(ids), "deselected" if nodeid in deselected
                         and nodeid not in self.records else
                         _test_outcome(self.records.get(nodeid), nodeid in self.interrupted))
                for nodeid, ids in claims.items()}

    def claims(self, meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for raw, (ids, outcome) in sorted(self.tests().items()):
            rec = self.records.get(raw, {})
            nodeid = plain_nodeid(raw)
            for cid in ids:
                c = out.setdefault(cid, {"outcome": None, "reason": "", "tests": [],
                                         "results": {}, "workers": [], "evidence": [],
                                         "failures": []})
                c["tests"].append(nodeid)
                c["results"][nodeid] = outcome
                if rec.get("worker") and rec["worker"] not in c["workers"]:
                    c["workers"].append(rec["worker"])
                for item in rec.get("evidence", []):
                    c["evidence"].append(dict(item, test=nodeid))
                if rec.get("failure") and outcome in FAILING:  # not an interrupt's crash report
                    c["failures"].append({"test": nodeid, "text": rec["failure"]})
        for c in out.values():
            status = results_status(c["tests"], c["results"], c["failures"], meta)
            c["outcome"] = claim_outcome(status.status)
            c["reason"] = status.reason
        return out

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if config.getoption("--no-evidence"):
            return
        self._read_exchange()
        if not self.tests():
            return  # no claim test was collected: leave any earlier evidence alone
        meta = _meta(session, self, exitstatus)
        doc = {"claims": self.claims(meta), "meta": meta}
        path = config.getoption("--evidence")
        path = Path(path) if path else config.rootpath / "reports" / "evidence.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(jsonable(doc), indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


# ---- the file -------------------------------------------------------------------------

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


def _narrowing_paths(config: pytest.Config) -> list[str]:
    """The arguments that restrict collection to less than the whole suite ([] when none).

    Positional paths that do not cover every ``testpaths`` entry (or the invocation
    directory when there are none), node ids (``file::test``), and ``--ignore``.
    """
    ignored = [f"--ignore={p}" for p in [*(config.getoption("ignore") or []),
                                         *(config.getoption("ignore_glob") or [])]]
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return ignored
    args = [str(a) for a in config.args]
    given = [(config.invocation_params.dir / a).resolve() for a in args if "::" not in a]
    roots = ([r for p in config.getini("testpaths") if (r := (config.rootpath / p).resolve()).exists()]
             or [config.invocation_params.dir.resolve()])
    whole = all("::" not in a for a in args) and all(
        any(g == r or g in r.parents for g in given) for r in roots)
    return ignored if whole else args + ignored


def _meta(session: pytest.Session, run: "_Run", exitstatus: int) -> dict[str, Any]:
    config = session.config
    stopped = run.stopped or session.shouldfail or session.shouldstop or None
    return {
        "format": EVIDENCE_FORMAT,
        "commit": _git_commit(config.rootpath),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "platform": platform.platform(),
        "args": list(config.invocation_params.args),
        "markexpr": config.option.markexpr,
        "selection": {
            "markexpr": config.option.markexpr,
            "keyword": config.option.keyword,
            "deselect": list(config.getoption("deselect") or []),
            "paths": _narrowing_paths(config),
        },
        "workers": sorted({r["worker"] for r in run.records.values() if r["worker"]}),
        "exitstatus": int(exitstatus),
        "stopped": str(stopped) if stopped else None,
        "collection_errors": list(run.collection_errors),
        # Under xdist the workers' files are the only record of what should have run.
        "collection_unknown": run.exchange is not None and not run.collections,
    }
