"""From evidence.json to the report's model: each claim's status, verdict and evidence.

The status of a claim is decided by :func:`pgproofs.verdict.claim_status` (the
same function the pytest plugin and ``pgproofs claims`` use); this module only
shapes the document for the page, with every word a reader sees taken from
:mod:`pgproofs.wording`. A corrupted or partial file can make a claim red or
grey, never green.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any, Mapping

from pgproofs import claims as registry
from pgproofs.report.views import curve_job, evidence_item, formula
from pgproofs.verdict import STATUSES, claim_status, verdict
from pgproofs.wording import LANGS, TEXT, TEXT_ZH, text

__all__ = ["EvidenceError", "load_evidence", "check_shape", "statuses", "claim_row",
           "recheck_command", "build_model", "curve_jobs"]


class EvidenceError(ValueError):
    """The evidence file cannot be read; the message names the file."""


def load_evidence(path: str | Path) -> dict[str, Any]:
    """Read and shape-check an evidence file written by the pgproofs pytest plugin.

    EvidenceError (naming the file) when it is missing, not JSON, or not shaped
    like ``{"claims": {...}, "meta": {...}}``.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvidenceError(f"{path}: no such evidence file (run `pgproofs report` to "
                            "produce it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvidenceError(f"{path}: cannot read the evidence file ({exc})") from None
    try:
        doc = json.loads(raw)
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


def _check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang: {lang!r} is not one of {LANGS}")
    return lang


def statuses(doc: Mapping[str, Any]) -> dict[str, str]:
    """Status of every registry claim, in the registry's order."""
    found = doc.get("claims", {})
    return {cid: claim_status(found.get(cid), doc.get("meta"))[0] for cid in registry.ids()}


def claim_row(claim: registry.Claim, entry: Any, meta: Mapping[str, Any] | None,
              lang: str = "en") -> dict[str, Any]:
    """One claim as ``pgproofs claims --json`` lists it: status, verdict and reason, whose
    words (and the section and title) are in ``lang``; status and ids are the same in both."""
    status, reason = claim_status(entry, meta, _check_lang(lang))
    return {"id": claim.id, "section": registry.section_title(claim.section_number, lang),
            "title": claim.text("title", lang), "status": status,
            "verdict": verdict(claim.expected, status, claim.source, lang).text, "reason": reason,
            "expected": claim.expected, "source": claim.source, "methods": claim.methods,
            "module": claim.module}


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


def _claim_view(claim: registry.Claim, entry: Any, meta: Mapping[str, Any],
                lang: str) -> dict[str, Any]:
    status, reason = claim_status(entry, meta, lang)
    entry = entry if isinstance(entry, dict) else {}
    tests = [t for t in entry.get("tests") or [] if isinstance(t, str)]
    results = entry.get("results") if isinstance(entry.get("results"), dict) else {}
    failures = [f for f in entry.get("failures") or [] if isinstance(f, dict)]
    items = _evidence_items(entry)
    notes_label = "label.ours" if claim.source == "ours" else "label.notes"
    checked_label = {"erratum": "label.corrected", "sharpened": "label.sharpened"}.get(
        claim.expected, "label.checked")
    return {
        "claim": claim,
        "id": claim.id,
        "status": status,
        "title": claim.text("title", lang),
        "notes": claim.text("notes", lang),
        "checked": claim.text("checked", lang),
        "expected_note": claim.text("expected_note", lang),
        "method_names": [(registry.METHODS if lang == "en" else registry.METHODS_ZH)[m]
                         for m in claim.methods],
        "status_text": text(f"status.{status}", lang),
        "verdict": verdict(claim.expected, status, claim.source, lang),
        "reason": reason,
        "source_text": text(f"source.{claim.source}", lang),
        "notes_label": text(notes_label, lang),
        "checked_label": text(checked_label, lang),
        "expected_text": text("label.expected", lang, expected=(
            claim.expected if lang == "en" else registry.VERDICTS_ZH[claim.expected])),
        "notes_math": formula(claim.notes_formula),
        "checked_math": formula(claim.checked_formula),
        "tests": [{"nodeid": t, "result": str(results.get(t, "unknown"))} for t in tests],
        "failures": [{"test": str(f.get("test", "")), "text": str(f.get("text", ""))}
                     for f in failures],
        "evidence": _group_by_test([evidence_item(item, _uid(claim, k), lang)
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
        "stopped": str(meta["stopped"]) if meta.get("stopped") else None,
        "note": str(meta.get("note") or ""),
    }


def _evidence_items(entry: Any) -> list:
    entry = entry if isinstance(entry, dict) else {}
    return entry.get("evidence") if isinstance(entry.get("evidence"), list) else []


def _uid(claim: registry.Claim, k: int) -> str:
    """The page-wide id of a claim's k-th evidence item (its plot's SVG ids derive from it)."""
    return f"{claim.id}-{k}"


def curve_jobs(doc: Mapping[str, Any], lang: str = "en") -> list[tuple[str, str]]:
    """The jobs (views.curve_job) of every plot the ``lang`` page of ``doc`` shows, for
    views.prerender_curves."""
    jobs = [curve_job(item, _uid(claim, k), lang) for claim in registry.CLAIMS.values()
            for k, item in enumerate(_evidence_items(doc["claims"].get(claim.id)))]
    return [job for job in jobs if job is not None]


def build_model(doc: Mapping[str, Any], *, source: str = "", lang: str = "en") -> dict[str, Any]:
    """Everything the template needs, from a shape-checked evidence document, in ``lang``
    ("en" or "zh"): the same statuses and evidence, every word in that language."""
    from pgproofs import __version__

    _check_lang(lang)
    found = doc["claims"]
    meta = doc.get("meta", {})
    views = {c.id: _claim_view(c, found.get(c.id), meta, lang) for c in registry.CLAIMS.values()}
    totals = {s: sum(v["status"] == s for v in views.values()) for s in STATUSES}
    sections = [{"number": num, "title": registry.section_title(num, lang),
                 "claims": [views[c.id] for c in registry.CLAIMS.values()
                            if c.section_number == num]}
                for num in registry.SECTIONS]
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
        "methods": registry.METHODS if lang == "en" else registry.METHODS_ZH,
        "text": TEXT if lang == "en" else TEXT_ZH,
        "lang": lang,
        "alternates": [],  # the same report in other languages: filled by render.write_report
        "benchmarks": [],  # filled by render.write_report when given a results folder
    }

