"""Every verdict, status and reason sentence pgproofs shows a reader, as data.

One table, :data:`TEXT`, keyed by a dotted name; each value is a
``str.format`` template. The report, ``pgproofs claims`` and the ``reason``
of each claim in ``reports/evidence.json`` all read it, so a translation of
the report replaces the values of this table and touches no code.
"""

from __future__ import annotations

__all__ = ["TEXT", "text"]

TEXT: dict[str, str] = {
    # ---- a claim's status (pgproofs.verdict.STATUSES) --------------------------------
    "status.verified": "verified",
    "status.failed": "failed",
    "status.unverified": "unverified",

    # ---- the verdict a reader sees: registry `expected` x status x source -------------
    # Only a verified claim gets its expected verdict; a failed or unverified one says so.
    "verdict.holds": "verified",
    "verdict.erratum": "notes' statement refuted \u00b7 correction verified",
    "verdict.sharpened": "loose statement made exact \u00b7 verified",
    "verdict.negative-control": "shown false on purpose \u00b7 verified",
    "verdict.ours": "the suite's own check \u00b7 verified",
    "verdict.failed": "check failed \u00b7 not verified",
    "verdict.unverified": "not verified",
    "source.notes": "a statement of the notes",
    "source.ours": "the suite's own check, not a statement of the notes",

    # ---- labels beside a claim's statements ----------------------------------------------
    "label.notes": "The notes:",
    "label.ours": "What we check (not in the notes):",
    "label.corrected": "Corrected:",
    "label.sharpened": "Sharpened:",
    "label.checked": "Checked:",
    "label.reason": "Why not verified:",
    "label.expected": "expected: {expected}",

    # ---- why a claim is not verified (pgproofs.verdict.claim_status) ------------------
    "reason.absent": "no test ran: no test marked with it was collected",
    "reason.not_object": "the evidence entry is not a JSON object",
    "reason.no_tests": "no test is listed for it",
    "reason.results_mismatch": "the per-test results do not match the listed tests",
    "reason.outcome": "the evidence gives the outcome {outcome!r}",
    "reason.failures": "a failure is recorded",
    "reason.failed": "{n} of {total} tests did not pass: {detail}",
    "reason.incomplete": "{passed} of {total} tests ran and passed: {detail}",
    "reason.partial": "the run collected only {paths}, so tests of this claim elsewhere "
                      "were not looked for",
    "reason.collection_errors": "{n} test file(s) failed to collect ({files}), so tests of "
                                "this claim there did not run",
    "reason.stopped": "the run stopped early ({why})",
    "reason.interrupted": "the run was interrupted",
    "count.failed": "{n} failed",
    "count.error": "{n} errored in setup or teardown",
    "count.crashed": "{n} crashed its worker",
    "count.xfailed": "{n} failed (marked xfail)",
    "count.xpassed": "{n} passed while marked xfail (XPASS)",
    "count.skipped": "{n} skipped",
    "count.not run": "{n} not run",
    "count.deselected": "{n} deselected by {selection}",
    "count.unknown": "{n} with an unknown result",
    "selection.unknown": "the run's selection",
}


def text(key: str, **fields: object) -> str:
    """The template ``TEXT[key]`` filled with ``fields``."""
    return TEXT[key].format(**fields)
