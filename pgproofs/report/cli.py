"""``pgproofs report`` and ``pgproofs claims``.

``report`` runs the whole suite (slow and end-to-end checks included) from the
project root and renders reports/index.html; with ``--from`` it only renders.
``claims`` lists the registry with each claim's status from the last
evidence.json. Errors in the evidence file exit with status 2 and a message
naming the file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from pgproofs.wording import LANGS

__all__ = ["register", "find_project_root", "run_report", "run_claims"]

EVIDENCE = Path("reports") / "evidence.json"
INDEX = Path("reports") / "index.html"


class NotACheckout(RuntimeError):
    """No pgproofs project root above the working directory."""


def find_project_root(start: str | Path | None = None) -> Path:
    """The nearest directory, from ``start`` (default: cwd) upwards, holding the
    pgproofs pyproject.toml and a tests/ directory."""
    start = Path(start or Path.cwd()).resolve()
    for d in (start, *start.parents):
        pyproject = d / "pyproject.toml"
        if pyproject.is_file() and (d / "tests").is_dir():
            try:
                name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if name == "pgproofs":
                return d
    raise NotACheckout(
        f"no pgproofs checkout (a pyproject.toml for pgproofs next to tests/) in {start} or "
        "above; run this inside a clone of pgproofs, or render an existing evidence file "
        "with --from PATH")


def _error(command: str, message: str) -> int:
    print(f"pgproofs {command}: error: {message}", file=sys.stderr)
    return 2


def register(subparsers: Any) -> None:
    """Add the ``report`` and ``claims`` subcommands to the ``pgproofs`` parser."""
    p = subparsers.add_parser(
        "report", help="run every check and write the HTML report",
        description="Run the whole suite (slow and end-to-end checks included) with "
                    "`python -m pytest -n auto -m \"\"` from the project root, then render "
                    "reports/index.html. With --from, only render an existing evidence file. "
                    "Exit status is non-zero when the suite failed; the report is written "
                    "anyway. Extra pytest arguments go after `--`.")
    p.add_argument("--from", dest="source", metavar="PATH",
                   help="render this evidence.json instead of running the suite")
    p.add_argument("-o", "--output", metavar="PATH",
                   help="where to write the HTML (default: reports/index.html)")
    p.add_argument("-n", "--workers", default="auto", metavar="N",
                   help="pytest-xdist workers (default: auto)")
    p.add_argument("--screenshot", metavar="PNG",
                   help="also save a headless-Chromium screenshot of the report")
    p.add_argument("--pdf", metavar="PDF", nargs="?", const="",
                   help="also print the report to PDF with headless Chromium (default path: "
                        "the HTML's, with .pdf); needs the Debian package `chromium`")
    p.add_argument("--lang", default="en", type=_langs, metavar="LANG[,LANG]",
                   help="the report's language: en (default), zh (index.zh.html), or en,zh for "
                        "both, each linking the other; screenshots and PDFs follow, the Chinese "
                        "ones named *.zh.*")
    p.add_argument("pytest_args", nargs="*", metavar="PYTEST_ARG",
                   help="extra arguments for pytest (after --)")
    p.set_defaults(func=run_report)

    q = subparsers.add_parser(
        "claims", help="list the claims and their status",
        description="The claims of the notes with each one's status (verified, failed, "
                    "unverified) from the last evidence.json.")
    q.add_argument("--json", action="store_true", help="print a JSON list")
    q.add_argument("--from", dest="source", metavar="PATH",
                   help="the evidence file (default: reports/evidence.json of the checkout)")
    q.add_argument("--lang", default="en", choices=LANGS,
                   help="the language of titles, verdicts and reasons (default: en)")
    q.set_defaults(func=run_claims)


def _langs(value: str) -> list[str]:
    langs = [v.strip() for v in value.split(",")]
    bad = [v for v in langs if v not in LANGS]
    if bad or len(set(langs)) != len(langs):
        raise argparse.ArgumentTypeError(f"expected distinct languages among {', '.join(LANGS)}, "
                                         f"comma-separated; got {value!r}")
    return langs


def _width(s: str) -> int:
    """Terminal columns of ``s``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _run_suite(root: Path, evidence: Path, workers: str, extra: list[str]) -> int:
    # A stale file from an earlier run must not be reported as this run's result.
    if evidence.exists():
        evidence.unlink()
    cmd = [sys.executable, "-m", "pytest", "-n", str(workers), "-m", "",
           "--evidence", str(evidence), *extra]
    print(f"pgproofs report: running python {shlex.join(cmd[1:])}  (in {root})", flush=True)
    try:
        return subprocess.call(cmd, cwd=root)
    except KeyboardInterrupt:
        return 130


def run_report(args: argparse.Namespace) -> int:
    from pgproofs.report.build import EvidenceError, load_evidence, statuses
    from pgproofs.report.render import report_path, write_reports
    from pgproofs.wording import text

    rc = 0
    if args.source:
        source = Path(args.source)
        output = Path(args.output) if args.output else source.parent / "index.html"
        try:
            doc = load_evidence(source)
        except EvidenceError as exc:
            return _error("report", str(exc))
    else:
        try:
            root = find_project_root()
        except NotACheckout as exc:
            return _error("report", str(exc))
        source = root / EVIDENCE
        output = Path(args.output) if args.output else root / INDEX
        rc = _run_suite(root, source, args.workers, list(args.pytest_args))
        if source.exists():
            try:
                doc = load_evidence(source)
            except EvidenceError as exc:
                return _error("report", str(exc))
        else:
            doc = {"claims": {}, "meta": {"note": text("warn.no_evidence", status=rc)}}
    paths = write_reports(doc, output, args.lang, source=str(source), benchmarks=source.parent,
                          workers=os.cpu_count() or 1)
    counts = list(statuses(doc).values())
    summary = ", ".join(f"{counts.count(s)} {s}" for s in ("verified", "failed", "unverified"))
    print(f"pgproofs report: wrote {', '.join(map(str, paths))} ({summary})")
    for lang, path in zip(args.lang, paths):
        if args.screenshot:
            from pgproofs.report.browser import screenshot

            try:
                png = screenshot(path, report_path(args.screenshot, lang))
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                print(f"pgproofs report: warning: no screenshot ({exc})", file=sys.stderr)
                return rc or 1
            print(f"pgproofs report: screenshot {png}")
        if args.pdf is not None:
            from pgproofs.report.browser import print_pdf

            try:
                pdf = print_pdf(path, report_path(args.pdf, lang) if args.pdf
                                else path.with_suffix(".pdf"))
            except FileNotFoundError as exc:
                return _error("report", f"--pdf: {exc}")
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                print(f"pgproofs report: no PDF ({exc})", file=sys.stderr)
                return rc or 1
            print(f"pgproofs report: PDF {pdf}")
    if rc == 0 and counts.count("failed"):
        rc = 1
    return rc


def claims_table(doc: dict[str, Any], lang: str = "en") -> list[dict[str, Any]]:
    """The registry with statuses, verdicts and reasons, as JSON-ready dicts in the notes' order."""
    from pgproofs import claims as registry
    from pgproofs.report.build import claim_row

    found = doc.get("claims", {})
    return [claim_row(c, found.get(c.id), doc.get("meta"), lang) for c in registry.CLAIMS.values()]


def run_claims(args: argparse.Namespace) -> int:
    from pgproofs.report.build import EvidenceError, load_evidence
    from pgproofs.verdict import STATUSES
    from pgproofs.wording import text

    lang = args.lang
    if args.source:
        source = Path(args.source)
    else:
        try:
            source = find_project_root() / EVIDENCE
        except NotACheckout:
            source = EVIDENCE
    try:
        doc = load_evidence(source)
    except EvidenceError as exc:
        if args.source or source.exists():
            return _error("claims", str(exc))
        print(f"pgproofs claims: {text('cli.no_evidence', lang, path=source)}", file=sys.stderr)
        doc = {"claims": {}, "meta": {}}
    rows = claims_table(doc, lang)
    if args.json:
        print(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    head = tuple(text(f"cli.{k}", lang) for k in ("id", "status", "verdict", "title"))
    cells = [head] + [(r["id"], text(f"status.{r['status']}", lang), r["verdict"], r["title"])
                      for r in rows]
    widths = [max(_width(row[k]) for row in cells) for k in range(len(head) - 1)]
    for row, r in zip(cells, [None, *rows]):
        print("  ".join(v + " " * (w - _width(v)) for v, w in zip(row, widths)) + "  " + row[-1])
        if r is not None and r["reason"]:
            print(" " * (widths[0] + 2) + f"{text('label.reason', lang)} {r['reason']}")
    statuses = [r["status"] for r in rows]
    print("\n" + text("cli.summary", lang, n=len(rows), **{s: statuses.count(s) for s in STATUSES}))
    return 0
