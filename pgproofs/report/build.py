"""From evidence.json to the report's model: each claim's status and evidence.

The status of a claim is decided here and nowhere else:

* ``verified``: the evidence says ``passed``, lists at least one test, and
  every listed test has the result ``passed``;
* ``failed``: the evidence says ``failed``, or any test result is ``failed``,
  or a failure is recorded;
* ``unverified``: everything else (no test ran, all were skipped, the claim is
  missing from the file, or its entry is malformed).

So a corrupted or partial file can make a claim red or grey, never green.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Mapping

from pgproofs import claims as registry

__all__ = ["EvidenceError", "STATUSES", "load_evidence", "claim_status", "statuses",
           "recheck_command", "build_model"]

STATUSES = ("verified", "failed", "unverified")


class EvidenceError(ValueError):
    """The evidence file cannot be read; the message names the file."""


def load_evidence(path: str | Path) -> dict[str, Any]:
    """Read and shape-check an evidence file written by the pgproofs pytest plugin.

    EvidenceError (naming the file) when it is missing, not JSON, or not shaped
    like ``{"claims": {...}, "meta": {...}}``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvidenceError(f"{path}: no such evidence file (run `pgproofs report` to "
                            "produce it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: cannot read the evidence file ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvidenceError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                            f"{exc.msg})") from None
    return check_shape(doc, path)


def check_shape(doc: Any, path: str | Path = "<evidence>") -> dict[str, Any]:
    """The evidence document, if its top level has the expected shape."""
    if not isinstance(doc, dict):
        raise EvidenceError(f"{path}: the top level must be a JSON object, got "
                            f"{type(doc).__name__}")
    if not isinstance(doc.get("claims"), dict):
        raise EvidenceError(f"{path}: missing the \"claims\" object (is this a pgproofs "
                            "evidence file?)")
    meta = doc.get("meta", {})
    if not isinstance(meta, dict):
        raise EvidenceError(f"{path}: \"meta\" must be a JSON object")
    return {"claims": doc["claims"], "meta": meta}


def claim_status(entry: Any) -> tuple[str, list[str]]:
    """(status, problems) for one entry of ``claims``; ``entry`` None means absent."""
    if entry is None:
        return "unverified", ["no test recorded evidence for this claim"]
    if not isinstance(entry, dict):
        return "unverified", ["the evidence entry is not a JSON object"]
    outcome = entry.get("outcome")
    tests = entry.get("tests")
    results = entry.get("results")
    failures = entry.get("failures")
    result_values = list(results.values()) if isinstance(results, dict) else []
    if outcome == "failed" or "failed" in result_values or (isinstance(failures, list)
                                                            and failures):
        return "failed", []
    problems: list[str] = []
    if not isinstance(tests, list) or not tests:
        problems.append("no test is listed for this claim")
    elif not isinstance(results, dict) or set(results) != set(tests):
        problems.append("the per-test results do not match the listed tests")
    elif set(result_values) != {"passed"}:
        skipped = sum(v == "skipped" for v in result_values)
        problems.append(f"{skipped} of {len(result_values)} tests were skipped"
                        if skipped else "not every test passed")
    if outcome != "passed":
        problems.insert(0, f"outcome is {outcome!r}" if outcome != "skipped"
                        else "its tests were skipped")
    if problems:
        return "unverified", problems
    return "verified", []


def statuses(doc: Mapping[str, Any]) -> dict[str, str]:
    """Status of every registry claim, in the registry's order."""
    found = doc.get("claims", {})
    return {cid: claim_status(found.get(cid))[0] for cid in registry.ids()}


def _test_functions(tests: list[str]) -> list[str]:
    """Node ids without parametrisation, deduplicated, in order."""
    out: list[str] = []
    for nodeid in tests:
        base = nodeid.split("[", 1)[0]
        if base not in out:
            out.append(base)
    return out


def recheck_command(claim: registry.Claim, tests: list[str] | None) -> str:
    """The shell command that re-runs the tests of one claim from the project root."""
    nodes = _test_functions([t for t in tests or [] if isinstance(t, str)])
    if nodes:
        return "python -m pytest -m \"\" " + " ".join(shlex.quote(n) for n in nodes)
    key = claim.id.replace("-", "").lower()
    return f"python -m pytest -m \"\" {claim.module} -k {key}"


def _group_by_test(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the first item of each run of items recorded by the same test."""
    previous = object()
    for v in views:
        v["first_of_test"] = v.get("test") != previous
        previous = v.get("test")
    return views


def _claim_view(claim: registry.Claim, entry: Any) -> dict[str, Any]:
    from pgproofs.report import render

    status, problems = claim_status(entry)
    entry = entry if isinstance(entry, dict) else {}
    tests = [t for t in entry.get("tests") or [] if isinstance(t, str)]
    results = entry.get("results") if isinstance(entry.get("results"), dict) else {}
    failures = [f for f in entry.get("failures") or [] if isinstance(f, dict)]
    items = entry.get("evidence") if isinstance(entry.get("evidence"), list) else []
    return {
        "claim": claim,
        "id": claim.id,
        "status": status,
        "problems": problems,
        "notes_math": render.formula(claim.notes_formula),
        "checked_math": render.formula(claim.checked_formula),
        "tests": [{"nodeid": t, "result": str(results.get(t, "unknown"))} for t in tests],
        "failures": [{"test": str(f.get("test", "")), "text": str(f.get("text", ""))}
                     for f in failures],
        "evidence": _group_by_test([render.evidence_item(item, f"{claim.id}-{k}")
                                    for k, item in enumerate(items)]),
        "command": recheck_command(claim, tests),
    }


def _meta_view(meta: Mapping[str, Any]) -> dict[str, Any]:
    versions = meta.get("versions") if isinstance(meta.get("versions"), dict) else {}
    args = meta.get("args")
    markexpr = meta.get("markexpr")
    exitstatus = meta.get("exitstatus")
    return {
        "commit": str(meta.get("commit") or "unknown"),
        "created": str(meta.get("created") or "unknown"),
        "versions": [(str(k), str(v)) for k, v in versions.items()],
        "python": str(versions.get("python", "unknown")),
        "pgproofs": str(versions["pgproofs"]) if "pgproofs" in versions else None,
        "platform": str(meta.get("platform") or "unknown"),
        "args": " ".join(shlex.quote(str(a)) for a in args) if isinstance(args, list) else "",
        "markexpr": None if markexpr is None else str(markexpr),
        "workers": len(meta["workers"]) if isinstance(meta.get("workers"), list) else None,
        "exitstatus": exitstatus if isinstance(exitstatus, int) else None,
        "note": str(meta.get("note") or ""),
    }


def build_model(doc: Mapping[str, Any], *, source: str = "") -> dict[str, Any]:
    """Everything the template needs, from a shape-checked evidence document."""
    from pgproofs import __version__

    found = doc["claims"]
    views = {c.id: _claim_view(c, found.get(c.id)) for c in registry.CLAIMS.values()}
    totals = {s: sum(v["status"] == s for v in views.values()) for s in STATUSES}
    sections = [{"number": num, "title": title,
                 "claims": [views[c.id] for c in registry.CLAIMS.values()
                            if c.section_number == num]}
                for num, title in registry.SECTIONS.items()]
    unknown = []
    for cid, entry in found.items():
        if cid in registry.CLAIMS:
            continue
        entry = entry if isinstance(entry, dict) else {}
        tests = entry.get("tests")
        unknown.append({"id": str(cid), "outcome": str(entry.get("outcome", "unknown")),
                        "tests": [str(t) for t in tests] if isinstance(tests, list) else []})
    return {
        "version": __version__,
        "source": source,
        "meta": _meta_view(doc.get("meta", {})),
        "totals": totals,
        "total": len(views),
        "sections": sections,
        "errata": [views[c.id] for c in registry.CLAIMS.values() if c.expected == "erratum"],
        "sharpened": [views[c.id] for c in registry.CLAIMS.values()
                      if c.expected == "sharpened"],
        "unknown": unknown,
        "methods": registry.METHODS,
        "benchmarks": [],  # filled by render.write_report when given a results folder
    }

