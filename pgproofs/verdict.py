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


def _selection(meta: Mapping[str, Any]) -> str:
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
    return " ".join(parts) or text("selection.unknown")


def _stopped(meta: Mapping[str, Any]) -> str:
    """Why the run ended before every selected test ran, or ""."""
    if meta.get("stopped"):
        return text("reason.stopped", why=str(meta["stopped"]))
    if meta.get("exitstatus") == 2:
        return text("reason.interrupted")
    return ""


def _counts(counts: Counter, keys: tuple[str, ...], meta: Mapping[str, Any]) -> str:
    parts = []
    for key in keys:
        if counts.get(key):
            extra = {"selection": _selection(meta)} if key == "deselected" else {}
            parts.append(text(f"count.{key}", n=counts[key], **extra))
    return ", ".join(parts)


def results_status(tests: Any, results: Any, failures: Any = None,
                   meta: Mapping[str, Any] | None = None) -> ClaimStatus:
    """The status from a claim's listed tests, their outcomes and recorded failures."""
    meta = meta if isinstance(meta, Mapping) else {}
    listed = isinstance(tests, list) and tests and all(isinstance(t, str) for t in tests)
    counts = Counter((r if r in TEST_OUTCOMES else "unknown")
                     for r in (results.values() if isinstance(results, dict) else ()))
    n_failing = sum(counts[k] for k in FAILING)
    if n_failing:
        return ClaimStatus("failed", text("reason.failed", n=n_failing, total=sum(counts.values()),
                                          detail=_counts(counts, FAILING, meta)))
    if isinstance(failures, list) and failures:
        return ClaimStatus("failed", text("reason.failures"))
    if not listed:
        return ClaimStatus("unverified", text("reason.no_tests"))
    if not isinstance(results, dict) or set(results) != set(tests):
        return ClaimStatus("unverified", text("reason.results_mismatch"))
    if counts["passed"] != len(tests):
        detail = _counts(counts, ("xpassed", "skipped", "not run", "deselected", "unknown"), meta)
        if counts["not run"] and _stopped(meta):
            detail += f"; {_stopped(meta)}"
        return ClaimStatus("unverified", text("reason.incomplete", passed=counts["passed"],
                                              total=len(tests), detail=detail))
    if meta.get("format") != EVIDENCE_FORMAT:
        return ClaimStatus("unverified", text("reason.format", format=meta.get("format"),
                                              expected=EVIDENCE_FORMAT))
    sel = meta.get("selection") if isinstance(meta.get("selection"), dict) else {}
    if sel.get("paths"):
        return ClaimStatus("unverified", text("reason.partial", paths=" ".join(
            shlex.quote(str(p)) for p in sel["paths"])))
    if meta.get("collection_unknown"):
        return ClaimStatus("unverified", text("reason.collection_unknown"))
    errors = meta.get("collection_errors")
    if isinstance(errors, list) and errors:
        return ClaimStatus("unverified", text("reason.collection_errors", n=len(errors),
                                              files=", ".join(map(str, errors))))
    return ClaimStatus("verified", "")


def claim_status(entry: Any, meta: Mapping[str, Any] | None = None) -> ClaimStatus:
    """The status of one claim from its entry in ``claims`` (None: absent) and the run's ``meta``.

    The per-test results decide; the entry's ``outcome`` can only lower the status
    (``failed`` makes the claim failed, anything but ``passed`` keeps it from verified).
    """
    if entry is None:
        return ClaimStatus("unverified", text("reason.absent"))
    if not isinstance(entry, dict):
        return ClaimStatus("unverified", text("reason.not_object"))
    found = results_status(entry.get("tests"), entry.get("results"), entry.get("failures"), meta)
    outcome = entry.get("outcome")
    if found.status == "failed" or outcome == "passed":
        return found
    if outcome == "failed":
        return ClaimStatus("failed", text("reason.outcome", outcome=outcome))
    if found.status == "verified":
        return ClaimStatus("unverified", text("reason.outcome", outcome=outcome))
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


def verdict(expected: str, status: str, source: str = "notes") -> Verdict:
    """The verdict of a claim with the registry's ``expected`` and ``source`` and this status."""
    if status == "failed":
        return Verdict(text("verdict.failed"), "failed")
    if status != "verified":
        return Verdict(text("verdict.unverified"), "unverified")
    if source == "ours" and expected == "holds":
        return Verdict(text("verdict.ours"), "ours")
    if expected not in _VERIFIED_KIND:
        raise ValueError(f"expected: {expected!r} is not one of {tuple(_VERIFIED_KIND)}")
    return Verdict(text(f"verdict.{expected}"), _VERIFIED_KIND[expected])
