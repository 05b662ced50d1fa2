"""The report in a real browser: headless Chromium loads it offline.

Chromium is the Debian package ``chromium`` (installed by .ci/run). Without it
the test fails when CI is set (the check must not silently vanish there) and
is skipped on a developer machine. The screenshots go to reports/ for a person
to look at: sample-report-screenshot.png (desktop) and sample-report-screenshot-phone.png
(of the fixed sample evidence; `pgproofs report --screenshot` shoots the real report).
"""

from __future__ import annotations

import os
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pgproofs import claims
from pgproofs.report import browser, load_evidence, write_report
from pgproofs.wording import TEXT

SAMPLE = Path(__file__).resolve().parent / "data" / "evidence-sample.json"


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    if browser.find_chromium() is None:
        message = ("headless Chromium is needed for the browser test: install the Debian "
                   "package `chromium` (apt-get install -y chromium)")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return write_report(load_evidence(SAMPLE), tmp_path_factory.mktemp("browser") / "index.html")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_chromium_shows_every_claim_and_the_math(report_file):
    dom = browser.dump_dom(report_file)
    for cid in claims.ids():
        assert f'id="claim-{cid}"' in dom, cid
    statuses = dict(re.findall(r'data-claim="([^"]+)" data-status="(\w+)"', dom))
    assert set(statuses) == set(claims.ids())
    assert statuses["VR-6"] == "failed" and statuses["VR-4"] == "verified"
    assert statuses["E2E-3"] == "unverified"
    n_math = len(re.findall(r"<math\b", dom))
    n_formulas = sum(bool(c.notes_formula) + bool(c.checked_formula)
                     for c in claims.CLAIMS.values())
    assert n_math >= n_formulas
    assert len(re.findall(r"<svg\b", dom)) == 5


class Verdicts(HTMLParser):
    """Per claim block (an errata entry or a claim article): the badge and the labels shown."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: dict[tuple[str, str], dict] = {}
        self._block = None
        self._span = None  # "badge" or "label" while inside one
        self._why = False  # inside the paragraph giving the reason
        self.feed(dom)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag in ("div", "article") and a.get("data-claim") and (
                "erratum" in classes or "claim" in classes):
            self._block = self.blocks.setdefault(
                ("erratum" if "erratum" in classes else "claim", a["data-claim"]),
                {"badge": None, "labels": [], "why": ""})
        elif self._block is None:
            return
        elif tag == "span" and "badge" in classes:
            self._block["badge"] = {"status": a["data-status"], "kind": a["data-verdict"],
                                    "classes": classes, "text": ""}
            self._span = "badge"
        elif tag == "span" and "label" in classes:
            self._block["labels"].append("")
            self._span = "label"
        elif tag == "p" and "why" in classes:
            self._why = True

    def handle_endtag(self, tag):
        if tag == "span":
            self._span = None
        elif tag == "p":
            self._why = False

    def handle_data(self, data):
        if self._span == "badge":
            self._block["badge"]["text"] += data
        elif self._span == "label":
            self._block["labels"][-1] += data
        if self._why:
            self._block["why"] += data


def test_chromium_shows_each_verdict_in_words(report_file):
    blocks = Verdicts(browser.dump_dom(report_file)).blocks
    expect = {  # claim: (expected in the registry, verdict kind, wording key)
        "PG-1": ("holds", "holds", "verdict.holds"),
        "VR-4": ("erratum", "refuted", "verdict.erratum"),
        "IS-5": ("sharpened", "sharpened", "verdict.sharpened"),
        "E2E-1": ("holds", "ours", "verdict.ours"),
        "VR-6": ("holds", "failed", "verdict.failed"),
        "IS-7": ("sharpened", "unverified", "verdict.unverified"),
        "E2E-2": ("holds", "unverified", "verdict.unverified"),
    }
    for cid, (expected, kind, key) in expect.items():
        assert claims.get(cid).expected == expected, cid
        places = ["claim"] + (["erratum"] if expected in ("erratum", "sharpened") else [])
        for place in places:
            badge = blocks[(place, cid)]["badge"]
            assert (badge["kind"], " ".join(badge["text"].split())) == (kind, TEXT[key]), (
                place, cid)
    assert TEXT["verdict.erratum"] == "notes' statement refuted \u00b7 correction verified"
    assert TEXT["verdict.sharpened"] == "loose statement made exact \u00b7 verified"
    # Green only for a verified claim; every other claim says why, in words.
    for (place, cid), b in blocks.items():
        green = "status-verified" in b["badge"]["classes"]
        assert green == (b["badge"]["status"] == "verified"), (place, cid)
        if not green:
            assert b["why"].strip().startswith(TEXT["label.reason"]), (place, cid)
    assert "deselected by -k" in blocks[("claim", "E2E-2")]["why"]
    assert "no test ran" in blocks[("erratum", "IS-7")]["why"]
    # The errata list gives the notes' statement as theirs, next to the verdict on it.
    assert blocks[("erratum", "VR-4")]["labels"][0] == TEXT["label.notes"]
    # The suite's own checks are never attributed to the notes.
    for c in claims.CLAIMS.values():
        labels = blocks[("claim", c.id)]["labels"]
        want = TEXT["label.ours"] if c.source == "ours" else TEXT["label.notes"]
        assert want in labels and (c.source == "notes" or TEXT["label.notes"] not in labels), c.id


@pytest.mark.parametrize("name, width, height", [
    ("sample-report-screenshot.png", 1280, 2400),
    ("sample-report-screenshot-phone.png", 412, 1800),
])
def test_chromium_screenshot_is_written(report_file, request, name, width, height):
    out = request.config.rootpath / "reports" / name
    browser.screenshot(report_file, out, width=width, height=height)
    assert _png_size(out) == (width, height)
    # Not a blank page: a rendered report compresses far worse than an empty one.
    assert out.stat().st_size > 20_000


def test_report_command_can_save_a_screenshot(report_file, tmp_path):
    from pgproofs.cli import main

    png = tmp_path / "shot.png"
    # The sample has failed claims, so the exit status is 1; the page and the PNG are written.
    assert main(["report", "--from", str(SAMPLE), "-o", str(tmp_path / "index.html"),
                 "--screenshot", str(png)]) == 1
    assert _png_size(png) == (1280, 2400)


# ---- the Chinese edition and the PDF ---------------------------------------------------------

@pytest.fixture(scope="module")
def chinese_report(report_file):
    from test_report_languages import bilingual

    from pgproofs.report.render import write_reports

    en, zh = write_reports(bilingual(load_evidence(SAMPLE)),
                           report_file.parent / "bilingual" / "index.html", ["en", "zh"])
    return zh


def test_chromium_shows_the_chinese_edition(chinese_report, report_file, request):
    from pgproofs.report.language import english_runs
    from pgproofs.wording import TEXT_ZH

    dom = browser.dump_dom(chinese_report)
    assert '<html lang="zh-CN">' in dom
    for cid in claims.ids():
        assert f'id="claim-{cid}"' in dom, cid
    assert len(re.findall(r"<math\b", dom)) == len(re.findall(r"<math\b",
                                                                browser.dump_dom(report_file)))
    blocks = Verdicts(dom).blocks
    for cid, key in [("PG-1", "verdict.holds"), ("VR-4", "verdict.erratum"),
                     ("IS-5", "verdict.sharpened"), ("E2E-1", "verdict.ours"),
                     ("VR-6", "verdict.failed"), ("E2E-2", "verdict.unverified")]:
        assert " ".join(blocks[("claim", cid)]["badge"]["text"].split()) == TEXT_ZH[key], cid
    assert english_runs(dom) == []
    out = request.config.rootpath / "reports" / "sample-report-screenshot.zh.png"
    browser.screenshot(chinese_report, out)
    assert _png_size(out) == (1280, 2400) and out.stat().st_size > 20_000


def test_the_pdf_opens_with_title_verdict_counts_and_errata(report_file, tmp_path):
    import shutil
    import subprocess

    from pgproofs.cli import main
    from pgproofs.report.build import statuses
    from pgproofs.wording import TEXT

    if shutil.which("pdftotext") is None:
        message = "pdftotext (Debian package poppler-utils) is needed to read the PDF"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    pdf = tmp_path / "report.pdf"
    assert main(["report", "--from", str(SAMPLE), "-o", str(tmp_path / "index.html"),
                 "--pdf", str(pdf)]) == 1  # the sample has failed claims
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    first = " ".join(first.split())
    counts = list(statuses(load_evidence(SAMPLE)).values())
    assert TEXT["page.heading"] in first
    for s in ("verified", "failed", "unverified"):
        assert f"{counts.count(s)} {TEXT['status.' + s]}" in first, s
    assert TEXT["glance.heading"] in first
    for c in claims.CLAIMS.values():
        if c.expected == "erratum":
            assert c.id in first, c.id
