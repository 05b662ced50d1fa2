"""A claim's status, decided in one place from the evidence, and the verdict shown for it.

The pytest plugin records, for every claim, every collected test marked with
it and each test's outcome (:data:`TEST_OUTCOMES`). :func:`claim_status`
turns that into the claim's status; the plugin (for ``outcome`` and
``reason`` in ``reports/evidence.json``), ``pgproofs claims`` and the report
all call it, so they cannot disagree:

* ``verified``: at least one test is listed, every listed test ``passed``,
  the evidence's ``outcome`` is ``passed``, no failure is recorded, the file
  has the current ``meta.format``, and the run collected the whole suite without collection errors (and, under xdist,
  its workers reported what they collected);
* ``failed``: any test failed, errored in setup or teardown, crashed its
  worker or failed under an xfail mark, or the evidence says ``failed``;
* ``unverified``: everything else, with the reason: tests deselected, skipped
  or never run (an interrupted or stopped run), an XPASS, a run restricted to
  some files, a claim absent from the evidence, a malformed entry.

A test passes only on a passing call-phase report followed by a clean
teardown; a damaged or partial file can make a claim red or grey, never green.
"""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any, Mapping, NamedTuple

from pgproofs.wording import text

__all__ = ["STATUSES", "EVIDENCE_FORMAT", "TEST_OUTCOMES", "FAILING", "ClaimStatus", "results_status", "claim_status",
           "claim_outcome", "Verdict", "verdict"]

STATUSES = ("verified", "failed", "unverified")

#: ``meta.format`` of the evidence files this module reads. Files without it were written
#: by a plugin that recorded neither deselected nor unrun tests, so they verify nothing.
EVIDENCE_FORMAT = 2

#: A test's outcome in the evidence. ``error``: setup or teardown failed;
#: ``crashed``: its xdist worker died while running it; ``not run``: collected
#: and selected but no complete run was reported (interrupted, stopped by -x
#: or --maxfail, pytest.exit); ``deselected``: collected, then deselected.
TEST_OUTCOMES = ("passed", "failed", "error", "crashed", "xfailed", "xpassed", "skipped",
                 "not run", "deselected")
#: Outcomes that make a claim ``failed``: its check ran and did not hold.
FAILING = ("failed", "error", "crashed", "xfailed")


class ClaimStatus(NamedTuple):
    """A claim's status and, unless verified, the reason in words."""

    status: str
    reason: str


def _selection(meta: Mapping[str, Any], lang: str = "en") -> str:
    """How the run deselected tests, as the options a reader would type."""
    sel = meta.get("selection") if isinstance(meta.get("selection"), dict) else {}
    markexpr = sel.get("markexpr", meta.get("markexpr"))
    parts = []
    if markexpr:
        parts.append(f"-m {shlex.quote(str(markexpr))}")
    if sel.get("keyword"):
        parts.append(f"-k {shlex.quote(str(sel['keyword']))}")
    for node in sel.get("deselect") or []:
        parts.append(f"--deselect {shlex.quote(str(node))}")
    return " ".join(parts) or text("selection.unknown", lang)


def _stopped(meta: Mapping[str, Any], lang: str = "en") -> str:
    """Why the run ended before every selected test ran, or ""."""
    if meta.get("stopped"):
        return text("reason.stopped", lang, why=str(meta["stopped"]))
    if meta.get("exitstatus") == 2:
        return text("reason.interrupted", lang)
    return ""


def _counts(counts: Counter, keys: tuple[str, ...], meta: Mapping[str, Any], lang: str = "en") -> str:
    parts = []
    for key in keys:
        if counts.get(key):
            extra = {"selection": _selection(meta, lang)} if key == "deselected" else {}
            parts.append(text(f"count.{key}", lang, n=counts[key], **extra))
    return text("join.list", lang).join(parts)


def results_status(tests: Any, results: Any, failures: Any = None,
                   meta: Mapping[str, Any] | None = None, lang: str = "en") -> ClaimStatus:
    """The status from a claim's listed tests, their outcomes and recorded failures.

    ``lang`` ("en" or "zh", see :mod:`pgproofs.wording`) is the language of the reason only;
    the status does not depend on it.
    """
    meta = meta if isinstance(meta, Mapping) else {}
    listed = isinstance(tests, list) and tests and all(isinstance(t, str) for t in tests)
    counts = Counter((r if r in TEST_OUTCOMES else "unknown")
                     for r in (results.values() if isinstance(results, dict) else ()))
    n_failing = sum(counts[k] for k in FAILING)
    if n_failing:
        return ClaimStatus("failed", text("reason.failed", lang, n=n_failing, total=sum(counts.values()),
                                          detail=_counts(counts, FAILING, meta, lang)))
    if isinstance(failures, list) and failures:
        return ClaimStatus("failed", text("reason.failures", lang))
    if not listed:
        return ClaimStatus("unverified", text("reason.no_tests", lang))
    if not isinstance(results, dict) or set(results) != set(tests):
        return ClaimStatus("unverified", text("reason.results_mismatch", lang))
    if counts["passed"] != len(tests):
        detail = _counts(counts, ("xpassed", "skipped", "not run", "deselected", "unknown"), meta, lang)
        if counts["not run"] and _stopped(meta, lang):
            detail += text("join.clause", lang) + _stopped(meta, lang)
        return ClaimStatus("unverified", text("reason.incomplete", lang, passed=counts["passed"],
                                              total=len(tests), detail=detail))
    if meta.get("format") != EVIDENCE_FORMAT:
        return ClaimStatus("unverified", text("reason.format", lang, format=meta.get("format"),
                                              expected=EVIDENCE_FORMAT))
    sel = meta.get("selection") if isinstance(meta.get("selection"), dict) else {}
    if sel.get("paths"):
        return ClaimStatus("unverified", text("reason.partial", lang, paths=" ".join(
            shlex.quote(str(p)) for p in sel["paths"])))
    if meta.get("collection_unknown"):
        return ClaimStatus("unverified", text("reason.collection_unknown", lang))
    errors = meta.get("collection_errors")
    if isinstance(errors, list) and errors:
        return ClaimStatus("unverified", text("reason.collection_errors", lang, n=len(errors),
                                              files=", ".join(map(str, errors))))
    return ClaimStatus("verified", "")


def claim_status(entry: Any, meta: Mapping[str, Any] | None = None, lang: str = "en") -> ClaimStatus:
    """The status of one claim from its entry in ``claims`` (None: absent) and the run's ``meta``.

    The per-test results decide; the entry's ``outcome`` can only lower the status
    (``failed`` makes the claim failed, anything but ``passed`` keeps it from verified).
    """
    if entry is None:
        return ClaimStatus("unverified", text("reason.absent", lang))
    if not isinstance(entry, dict):
        return ClaimStatus("unverified", text("reason.not_object", lang))
    found = results_status(entry.get("tests"), entry.get("results"), entry.get("failures"), meta, lang)
    outcome = entry.get("outcome")
    if found.status == "failed" or outcome == "passed":
        return found
    if outcome == "failed":
        return ClaimStatus("failed", text("reason.outcome", lang, outcome=outcome))
    if found.status == "verified":
        return ClaimStatus("unverified", text("reason.outcome", lang, outcome=outcome))
    return found


def claim_outcome(status: str) -> str:
    """The evidence file's ``outcome`` for a status: ``passed``, ``failed`` or ``incomplete``."""
    return {"verified": "passed", "failed": "failed"}.get(status, "incomplete")


class Verdict(NamedTuple):
    """What a reader is told about a claim: the words, and a kind for styling.

    kind: ``holds``, ``refuted`` (an erratum: the notes' statement is refuted and
    the correction verified), ``sharpened``, ``control``, ``ours``, ``failed`` or
    ``unverified``. Only the first five are ever shown as verified.
    """

    text: str
    kind: str


_VERIFIED_KIND = {"holds": "holds", "erratum": "refuted", "sharpened": "sharpened",
                  "negative-control": "control"}


def verdict(expected: str, status: str, source: str = "notes", lang: str = "en") -> Verdict:
    """The verdict of a claim with the registry's ``expected`` and ``source`` and this status.

    ``lang`` chooses the words ("en" or "zh"); the kind is the same in every language.
    """
    if status == "failed":
        return Verdict(text("verdict.failed", lang), "failed")
    if status != "verified":
        return Verdict(text("verdict.unverified", lang), "unverified")
    if source == "ours" and expected == "holds":
        return Verdict(text("verdict.ours", lang), "ours")
    if expected not in _VERIFIED_KIND:
        raise ValueError(f"expected: {expected!r} is not one of {tuple(_VERIFIED_KIND)}")
    return Verdict(text(f"verdict.{expected}", lang), _VERIFIED_KIND[expected])
