"""Every word pgproofs shows a reader about its verdicts, as data.

One table, :data:`TEXT`, keyed by a dotted name; each value is a
``str.format`` template. The report page (``template.html`` has no prose of
its own), ``pgproofs claims`` and the ``reason`` of each claim in
``reports/evidence.json`` all read it, so a translation of the report
replaces the values of this table and touches no code. The claims' own texts
are in the registry, ``pgproofs/claims.py``.
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
    "reason.format": "the evidence file has format {format!r}, not {expected}: an older "
                     "pgproofs wrote it without recording unrun tests (run the tests again)",
    "reason.partial": "the run collected only {paths}, so tests of this claim elsewhere "
                      "were not looked for",
    "reason.collection_errors": "{n} test file(s) failed to collect ({files}), so tests of "
                                "this claim there did not run",
    "reason.collection_unknown": "no xdist worker reported what it collected, so the "
                                 "claim's full set of tests is unknown",
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

    # ---- each test's outcome (pgproofs.verdict.TEST_OUTCOMES) ------------------------
    "outcome.passed": "passed",
    "outcome.failed": "failed",
    "outcome.error": "error",
    "outcome.crashed": "crashed",
    "outcome.xfailed": "xfailed",
    "outcome.xpassed": "xpassed",
    "outcome.skipped": "skipped",
    "outcome.not run": "not run",
    "outcome.deselected": "deselected",

    # ---- `pgproofs claims` ---------------------------------------------------------------
    "cli.id": "ID",
    "cli.status": "STATUS",
    "cli.verdict": "VERDICT",
    "cli.title": "TITLE",
    "cli.summary": "{n} claims: {verified} verified, {failed} failed, {unverified} unverified",
    "cli.no_evidence": "no evidence at {path}; every claim is unverified (run `pgproofs report`)",

    # ---- the report page (template.html) -----------------------------------------------
    "page.lang": "en",
    "page.title": "pgproofs report: the claims of the CS285 Lecture 5 policy-gradient notes",
    "page.heading": "pgproofs: the policy-gradient notes, checked",
    "page.lede": "Every claim of the CS285 Lecture 5 notes on policy gradients (REINFORCE, "
                 "variance reduction, off-policy gradients, the natural gradient) and the "
                 "suite's own end-to-end CartPole checks, each with a machine-checked verdict: "
                 "a SymPy derivation, an exact computation on small finite MDPs, a Monte Carlo "
                 "test with a stated false-alarm rate, a Hypothesis search for counterexamples, "
                 "or a training run. A claim counts as verified only when every test that "
                 "checks it ran and passed.",
    "aria.totals": "totals",
    "aria.sections": "sections",
    "totals.of": "of",
    "totals.claims": "claims",
    "meta.pgproofs": "pgproofs",
    "meta.rendered_by": "page rendered by {version}",
    "meta.commit": "commit",
    "meta.created": "checked on",
    "meta.python": "Python",
    "meta.libraries": "libraries",
    "meta.run": "test run",
    "meta.markexpr": "marker expression",
    "meta.workers": "{n} worker(s)",
    "meta.exitstatus": "exit status {status}",
    "meta.stopped": "stopped early: {why}",
    "meta.evidence": "evidence",
    "warn.markexpr": "This run selected tests with -m {markexpr}: a claim with a deselected "
                     "test shows as unverified. `pgproofs report` runs everything.",
    "warn.no_evidence": "The test run ended with exit status {status} and wrote no evidence: "
                        "every claim is unverified.",
    "toc.errata": "Errata and sharpened statements",
    "unknown.heading": "Unknown claim ids in the evidence",
    "unknown.intro": "The evidence names claims that the registry (pgproofs/claims.py) does not "
                     "know. They are not counted above: fix the test markers or the registry.",
    "unknown.outcome": "outcome {outcome}",
    "unknown.tests": "tests",
    "errata.heading": "Errata: where the notes are wrong",
    "errata.intro": "Each entry quotes the notes' statement, gives the verdict on it and the "
                    "corrected statement; the evidence is with the claim below.",
    "sharpened.heading": "Sharpened statements: right in spirit, loose in the letter",
    "claim.method": "method {methods}",
    "claim.expected_note": "Verdict: {note}.",
    "claim.failed_test": "Failed:",
    "claim.tests": "{n} test(s)",
    "claim.recheck": "Re-check:",
    "evidence.recorded_by": "recorded by",
    "evidence.counterexample": "Counterexample:",
    "bench.heading": "Benchmarks",
    "bench.intro": "Timings and comparisons from benchmarks/, measured separately from the "
                   "checks (they never change a claim's status); ratios compare against a "
                   "baseline measured in the same run.",
    "bench.measured": "measured {created}",
    "bench.targets_met": "targets met",
    "bench.targets_not_met": "targets not met",
    "bench.remeasure": "Re-measure:",
    "glance.heading": "Where the notes are wrong (errata):",
    "render.not_object": "the evidence item is not a JSON object",
    "render.failed": "could not render this {kind!r} item: {error}",
    # ---- the tables of a counterexample (MDP and policies) --------------------------------
    "cx.field": "field",
    "cx.value": "value",
    "cx.name": "name",
    "cx.numbers": "numbers",
    "cx.initial": "initial state distribution p(s\u2081)",
    "cx.transitions": "transitions P(s' | s, a)",
    "cx.rewards": "rewards r(s, a)",
    "cx.policy": "policy \u03c0",
    "cx.behavior": "behaviour policy",
    "cx.probs": "{name}: probabilities \u03c0(a | s)",
    "cx.logits": "{name}: logits",
    "footer.methods": "Methods:",
    "footer.generated": "Generated by pgproofs {version} from the evidence of commit {commit}. "
                        "To cite, name the pgproofs version and this commit (see CITATION.cff).",
}


def text(key: str, **fields: object) -> str:
    """The template ``TEXT[key]`` filled with ``fields``."""
    return TEXT[key].format(**fields)

#: Each language's name in itself, for the link from one edition of the report to another.
LANG_NAMES: dict[str, str] = {"en": "English", "zh": "中文"}
