"""The HTML report and the ``report`` / ``claims`` commands.

Rendering uses the fixed file tests/data/evidence-sample.json (hand-made: every
evidence kind, every outcome, a missing claim, an unknown id, a malformed item)
and reads the page back with ``html.parser``. The corruption tests check the
one rule that matters most: damaged evidence gives a red or grey claim or a
clear error, never a green one.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pgproofs import claims
from pgproofs.cli import main
from pgproofs.report import build, render
from pgproofs.report.build import EvidenceError, load_evidence
from pgproofs.verdict import claim_status

SAMPLE = Path(__file__).resolve().parent / "data" / "evidence-sample.json"
# What the sample says, worked out by hand from the file.
SAMPLE_FAILED = {"VR-6", "VR-7"}
SAMPLE_UNVERIFIED = {"VR-3", "IS-7", "E2E-2", "E2E-3", "PG-5", "IS-9"}  # skipped, absent, deselected, absent x 3
SAMPLE_CURVES = 5       # PG-3, IS-5, IS-6, NG-2, E2E-1
SAMPLE_EXPRESSIONS = 5  # PG-1, PG-2, PG-4, VR-5, NG-2


#: (verified, failed, unverified, total) over the registry, for the sample evidence.
SAMPLE_COUNTS = (len(claims.ids()) - len(SAMPLE_FAILED) - len(SAMPLE_UNVERIFIED),
                 len(SAMPLE_FAILED), len(SAMPLE_UNVERIFIED), len(claims.ids()))


def sample_status(cid: str) -> str:
    if cid in SAMPLE_FAILED:
        return "failed"
    return "unverified" if cid in SAMPLE_UNVERIFIED else "verified"


class Page(HTMLParser):
    """The parts of the report the tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.articles: dict[str, str] = {}
        self.errata: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for cls in (a.get("class") or "").split():
            self.classes[cls] = self.classes.get(cls, 0) + 1
        if tag == "article" and "claim" in (a.get("class") or "").split():
            assert a["data-claim"] not in self.articles, f"{a['data-claim']} twice"
            self.articles[a["data-claim"]] = a["data-status"]
        if tag == "div" and "erratum" in (a.get("class") or "").split():
            self.errata.append(a["data-claim"])
        for name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset"):
            if a.get(name):
                self.urls.append((tag, name, a[name]))
        if tag == "link":
            self.urls.append((tag, "rel", a.get("rel") or ""))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


@pytest.fixture(scope="module")
def sample_doc():
    return load_evidence(SAMPLE)


@pytest.fixture(scope="module")
def page(sample_doc, tmp_path_factory):
    out = render.write_report(sample_doc, tmp_path_factory.mktemp("report") / "index.html",
                              source="tests/data/evidence-sample.json")
    return Page(out.read_text(encoding="utf-8"))


def render_page(doc) -> Page:
    return Page(render.render_html(build.build_model(build.check_shape(doc))))


def test_every_claim_appears_once_with_its_status(page):
    assert list(page.articles) == claims.ids()
    assert page.articles == {cid: sample_status(cid) for cid in claims.ids()}


def test_totals_count_only_registered_claims(page):
    text = " ".join(page.all_text.split())
    assert "{} verified {} failed {} unverified of {} claims".format(*SAMPLE_COUNTS) in text
    # XX-9 passed in the sample but is not a registry claim: shown apart, not counted.
    assert "XX-9" in text and "XX-9" not in page.articles
    assert page.classes.get("unknown-id") == 1
    totals = [s for s in page.articles.values()]
    assert totals.count("verified") == SAMPLE_COUNTS[0] and totals.count("failed") == SAMPLE_COUNTS[1]


def test_errata_are_listed_at_the_top_with_corrections(page):
    errata = [c.id for c in claims.CLAIMS.values() if c.expected == "erratum"]
    sharpened = [c.id for c in claims.CLAIMS.values() if c.expected == "sharpened"]
    assert page.errata == errata + sharpened
    assert claims.get("NG-2").checked in page.all_text


def test_evidence_of_every_kind_is_rendered(page):
    assert page.tags.get("svg") == SAMPLE_CURVES
    assert page.tags.get("math", 0) >= SAMPLE_EXPRESSIONS + sum(
        bool(c.notes_formula) + bool(c.checked_formula) for c in claims.CLAIMS.values())
    assert page.classes.get("kind-counterexample") == 1
    assert page.classes.get("kind-table") == 2
    assert page.classes.get("kind-number", 0) >= 6
    # NG-6 carries an item of an unknown kind: it is reported, and the rest still renders.
    assert page.classes.get("kind-error") == 1
    assert "unknown evidence kind 'hologram'" in page.all_text
    # A failed claim shows its failure text.
    assert "variance at b* (1.2) exceeds" in page.all_text
    assert page.classes.get("failure") == 2


def test_page_is_self_contained(page):
    assert "script" not in page.tags
    assert "link" not in page.tags and "iframe" not in page.tags and "img" not in page.tags
    for tag, name, url in page.urls:
        assert url.startswith("#"), (tag, name, url)


def test_no_network_address_in_the_page(sample_doc):
    # The only http(s) strings allowed are XML namespace names, which are never fetched.
    html = render.render_html(build.build_model(sample_doc))
    namespaces = {"http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg",
                  "http://www.w3.org/1999/xlink"}
    found = set(re.findall(r"https?://[^\s\"'<>)]*", html))
    assert found <= namespaces, found - namespaces
    assert "@import" not in html and "url(http" not in html


def test_recheck_commands_name_the_tests(page):
    text = page.all_text
    assert ('python -m pytest -m "" '
            "tests/claims/test_variance.py::test_vr4_reward_to_go_can_increase_variance") in text
    # Parametrised tests are re-run whole; an absent claim points at its module.
    assert 'tests/claims/test_reinforce.py::test_pg3_unbiased_and_root_n' in text
    assert 'python -m pytest -m "" tests/claims/test_offpolicy.py -k is7' in text


def test_header_shows_provenance(page):
    text = page.all_text
    for fact in ("0123456789abcdef0123456789abcdef01234567", "2026-11-25T12:00:00+00:00",
                 "3.11.7", "sympy 1.14.0", "torch 2.13.0", "exit status 1",
                 "tests/data/evidence-sample.json"):
        assert fact in text


# ---- verdicts in words ------------------------------------------------------------------

@pytest.mark.parametrize("expected", claims.VERDICTS)
@pytest.mark.parametrize("source", claims.SOURCES)
def test_only_a_verified_claim_gets_its_expected_verdict(expected, source):
    from pgproofs.verdict import verdict
    from pgproofs.wording import TEXT

    assert verdict(expected, "failed", source) == (TEXT["verdict.failed"], "failed")
    assert verdict(expected, "unverified", source) == (TEXT["verdict.unverified"], "unverified")
    words, kind = verdict(expected, "verified", source)
    if source == "ours" and expected == "holds":
        assert (words, kind) == (TEXT["verdict.ours"], "ours")
    else:
        assert words == TEXT[f"verdict.{expected}"] and kind != "failed"
    assert "refuted" in verdict("erratum", "verified").text
    with pytest.raises(ValueError, match="expected: 'nonsense' is not one of"):
        verdict("nonsense", "verified")


def test_claims_json_gives_the_verdict_and_the_reason(capsys):
    assert main(["claims", "--json", "--from", str(SAMPLE)]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["VR-4"]["verdict"] == "notes' statement refuted \u00b7 correction verified"
    assert rows["IS-5"]["verdict"] == "loose statement made exact \u00b7 verified"
    assert rows["E2E-1"]["verdict"] == "the suite's own check \u00b7 verified"
    assert rows["E2E-1"]["source"] == "ours"
    assert rows["VR-6"]["reason"] == "1 of 1 tests did not pass: 1 failed"
    assert rows["IS-7"]["reason"] == "no test ran: no test marked with it was collected"
    assert rows["E2E-2"]["reason"] == ("1 of 2 tests ran and passed: 1 deselected by "
                                       "-k 'not variance_and_speed'")
    assert all((r["reason"] == "") == (r["status"] == "verified") for r in rows.values())


def test_the_template_has_no_prose_of_its_own():
    # Every word a reader sees comes from pgproofs.wording (one table to translate); what is
    # left in the template is markup, a command name and a folder name.
    html = (Path(render.__file__).parent / "template.html").read_text(encoding="utf-8")
    for pattern in (r"\{\{.*?\}\}", r"\{%.*?%\}", r"<style>.*?</style>", r"<[^>]*>"):
        html = re.sub(pattern, " ", html, flags=re.S)
    assert sorted(set(re.findall(r"[^\W\d_]{2,}", html))) == ["pytest", "reports"]


# ---- corrupted evidence: never green -------------------------------------------------

def _entry(doc, cid):
    return doc["claims"][cid]


CORRUPTIONS = {
    "a test result flipped to failed": lambda e: e["results"].update(
        {next(iter(e["results"])): "failed"}),
    "a failure recorded": lambda e: e.__setitem__("failures", [{"test": "t", "text": "boom"}]),
    "outcome failed": lambda e: e.__setitem__("outcome", "failed"),
    "no tests listed": lambda e: e.__setitem__("tests", []),
    "results missing": lambda e: e.pop("results"),
    "a test skipped": lambda e: e["results"].update({next(iter(e["results"])): "skipped"}),
    "outcome skipped": lambda e: e.__setitem__("outcome", "skipped"),
    "outcome garbage": lambda e: e.__setitem__("outcome", "PASSED!"),
    "outcome missing": lambda e: e.pop("outcome"),
    "tests not a list": lambda e: e.__setitem__("tests", "tests/x.py::t"),
}
EXPECT_RED = {"a test result flipped to failed", "a failure recorded", "outcome failed"}


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_corrupted_claim_is_never_verified(sample_doc, name):
    doc = copy.deepcopy(sample_doc)
    entry = _entry(doc, "VR-4")
    assert claim_status(entry, doc["meta"])[0] == "verified"  # the control: intact, it is green
    CORRUPTIONS[name](entry)
    status = claim_status(entry, doc["meta"])[0]
    assert status == ("failed" if name in EXPECT_RED else "unverified")
    assert render_page(doc).articles["VR-4"] == status


def test_evidence_from_an_older_plugin_verifies_nothing(sample_doc, capsys, tmp_path):
    # Such a file never recorded deselected or unrun tests, so its "passed" proves nothing.
    doc = copy.deepcopy(sample_doc)
    del doc["meta"]["format"]
    assert set(render_page(doc).articles.values()) == {"failed", "unverified"}
    old = tmp_path / "evidence.json"
    old.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["claims", "--json", "--from", str(old)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["reason"] for r in rows if r["id"] == "PG-1"} == {
        "the evidence file has format None, not 2: an older pgproofs wrote it without "
        "recording unrun tests (run the tests again)"}


@pytest.mark.parametrize("entry", [None, "passed", ["passed"], 1, {}])
def test_missing_or_malformed_entry_is_unverified(entry):
    assert claim_status(entry)[0] == "unverified"


def test_removing_a_claim_makes_it_unverified(sample_doc):
    doc = copy.deepcopy(sample_doc)
    del doc["claims"]["NG-2"]
    page = render_page(doc)
    assert page.articles["NG-2"] == "unverified"
    assert list(page.articles.values()).count("verified") == 22


def test_broken_evidence_items_do_not_break_the_page(sample_doc):
    doc = copy.deepcopy(sample_doc)
    items = _entry(doc, "IS-6")["evidence"]
    items[0]["series"] = {"Var[w]": [1, 2]}           # wrong length
    items.append({"kind": "expression", "mathml": "<script>alert(1)</script>"})
    items.append({"kind": "table", "columns": ["a"], "rows": [[1, 2]]})
    items.append("not an object")
    page = render_page(doc)
    assert page.articles["IS-6"] == "verified"
    assert "script" not in page.tags and page.tags.get("svg") == SAMPLE_CURVES - 1
    assert page.classes.get("kind-error") == 1 + 3


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "top level must be a JSON object"),
    ('{"meta": {}}', "missing the \"claims\" object"),
    ('{"claims": {}, "meta": []}', "\"meta\" must be a JSON object"),
])
@pytest.mark.parametrize("command", ["report", "claims"])
def test_unreadable_evidence_is_a_clear_error(tmp_path, capsys, content, message, command):
    bad = tmp_path / "evidence.json"
    bad.write_text(content, encoding="utf-8")
    extra = ["-o", str(tmp_path / "out.html")] if command == "report" else ["--json"]
    assert main([command, "--from", str(bad), *extra]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and message in err
    assert not (tmp_path / "out.html").exists()


def test_missing_evidence_file_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--from", str(tmp_path / "nope.json")]) == 2
    assert "no such evidence file" in capsys.readouterr().err


def test_invalid_json_exits_2_without_traceback(tmp_path):
    bad = tmp_path / "evidence.json"
    bad.write_text('{"claims": {"VR-4": {"outcome": "passed",}}}', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "pgproofs", "report", "--from", str(bad)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and str(bad) in out.stderr


# ---- the commands ----------------------------------------------------------------------

def test_report_from_renders_and_exits_nonzero_on_failed_claims(tmp_path, capsys):
    out = tmp_path / "site" / "index.html"
    assert main(["report", "--from", str(SAMPLE), "-o", str(out)]) == 1  # VR-6, VR-7 failed
    assert Page(out.read_text(encoding="utf-8")).articles["VR-6"] == "failed"
    assert "{} verified, {} failed, {} unverified".format(*SAMPLE_COUNTS[:3]) in capsys.readouterr().out


def test_claims_json_lists_every_claim_with_status(capsys):
    assert main(["claims", "--json", "--from", str(SAMPLE)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == claims.ids()
    for r in rows:
        c = claims.get(r["id"])
        assert r["section"] == c.section and r["title"] == c.title
        assert r["expected"] == c.expected
        assert r["status"] == sample_status(r["id"])


def test_claims_text_is_an_aligned_table(capsys):
    assert main(["claims", "--from", str(SAMPLE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    body = lines[1:lines.index("")]
    rows = [ln for ln in body if not ln.startswith(" ")]
    assert [ln.split()[0] for ln in rows] == claims.ids()
    status_col = lines[0].index("STATUS")
    assert all(ln[status_col:].split()[0] == sample_status(ln.split()[0]) for ln in rows)
    # Every claim that is not verified is followed by its reason, indented under it.
    for k, ln in enumerate(body):
        if not ln.startswith(" ") and sample_status(ln.split()[0]) != "verified":
            assert body[k + 1].lstrip().startswith("Why not verified: "), ln
    assert len(body) - len(rows) == len(SAMPLE_FAILED | SAMPLE_UNVERIFIED)
    assert lines[-1] == "{3} claims: {0} verified, {1} failed, {2} unverified".format(*SAMPLE_COUNTS)


def test_claims_without_evidence_are_all_unverified(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not a checkout, and no reports/evidence.json
    assert main(["claims", "--json"]) == 0
    captured = capsys.readouterr()
    assert {r["status"] for r in json.loads(captured.out)} == {"unverified"}
    assert "no evidence" in captured.err


def test_report_outside_a_checkout_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 2
    assert "no pgproofs checkout" in capsys.readouterr().err


def _fake_checkout(root: Path, test_source: str) -> None:
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "pgproofs"\nversion = "0"\n'
        "[tool.pytest.ini_options]\naddopts = \"-m 'not slow' -p no:cacheprovider\"\n"
        'markers = ["slow: slow"]\n', encoding="utf-8")
    (root / "tests" / "test_fake.py").write_text(textwrap.dedent(test_source),
                                                 encoding="utf-8")


def test_report_runs_the_suite_including_slow_tests(tmp_path, monkeypatch, capsys):
    # A tiny stand-in checkout: PG-1 passes only in a slow test (so `-m ""` must reach it),
    # PG-2 fails. The report is still written, with PG-2 red, and the exit status is non-zero.
    _fake_checkout(tmp_path, """
        import pytest

        @pytest.mark.slow
        @pytest.mark.claim("PG-1")
        def test_pg1(evidence):
            evidence.number("x", 1.0)

        @pytest.mark.claim("PG-2")
        def test_pg2():
            assert 1 == 2
    """)
    monkeypatch.chdir(tmp_path / "tests")  # the root is found upwards from here
    rc = main(["report", "--workers", "0"])
    assert rc != 0
    page = Page((tmp_path / "reports" / "index.html").read_text(encoding="utf-8"))
    assert page.articles["PG-1"] == "verified"
    assert page.articles["PG-2"] == "failed"
    assert page.articles["PG-3"] == "unverified"
    assert "running" in capsys.readouterr().out


def test_report_never_shows_a_stale_evidence_file(tmp_path, monkeypatch):
    # An old evidence file says everything passed; this run cannot even collect its tests.
    _fake_checkout(tmp_path, "this is not python\n")
    stale = {"claims": {cid: {"outcome": "passed", "tests": ["t"], "results": {"t": "passed"}}
                        for cid in claims.ids()}, "meta": {}}
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "evidence.json").write_text(json.dumps(stale), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--workers", "0"]) != 0
    page = Page((tmp_path / "reports" / "index.html").read_text(encoding="utf-8"))
    assert set(page.articles.values()) == {"unverified"}
    assert "wrote no evidence" in page.all_text


def test_load_evidence_names_the_file(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(EvidenceError, match="x.json"):
        load_evidence(bad)


def test_page_parser_sees_external_assets():
    # Negative control for the self-containment checks above.
    bad = Page('<link rel="stylesheet" href="https://cdn.example/x.css">'
               '<script src="http://cdn.example/mathjax.js"></script><img src="a.png">')
    assert {u for _, _, u in bad.urls} >= {"https://cdn.example/x.css",
                                           "http://cdn.example/mathjax.js", "a.png"}
    assert bad.tags["script"] == 1 and bad.tags["link"] == 1


def test_page_is_responsive_and_printable(sample_doc):
    html = render.render_html(build.build_model(sample_doc))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "@media print" in html and "@media (max-width: 40rem)" in html
    # Plots scale with the page: sized by viewBox, not by fixed width/height attributes.
    for head in re.findall(r"<svg\b[^>]*>", html):
        assert "viewBox" in head and " width=" not in head and " height=" not in head


# ---- MathML ----------------------------------------------------------------------------

def test_latex_subset_translates_structure():
    from pgproofs.report.mathml import latex_to_mathml

    m = latex_to_mathml(r"\frac{1}{2} (\theta' - \theta)^{\top} F \sum_{t=1}^{T} r_t")
    for part in ("<mfrac><mrow><mn>1</mn></mrow><mrow><mn>2</mn></mrow></mfrac>",
                 "<msup><mi>θ</mi><mo>′</mo></msup>", "<mo>−</mo>",
                 "<munderover><mo", "<msub><mi>r</mi><mi>t</mi></msub>"):
        assert part in m, part
    for bad in (r"\unknowncommand x", r"\frac{1}{2", "x^", ""):
        with pytest.raises(ValueError, match="latex"):
            latex_to_mathml(bad)


def test_evidence_mathml_is_cleaned():
    from pgproofs.report.mathml import clean_mathml

    ok = clean_mathml('<mrow><mi>&#952;</mi><mo>&InvisibleTimes;</mo>'
                      '<mfenced open="[" close="]"><mi>x</mi><mi>y</mi></mfenced></mrow>')
    assert ok.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
    assert "mfenced" not in ok and "<mo>[</mo><mi>x</mi><mo>,</mo><mi>y</mi><mo>]</mo>" in ok
    assert "\u03b8" in ok and "\u2062" in ok
    for bad, why in [("<mi>x</mi><script>alert(1)</script>", "element <script>"),
                     ('<mi onclick="alert(1)">x</mi>', "attribute 'onclick'"),
                     ('<mi href="https://example.org">x</mi>', "attribute 'href'"),
                     ("<mi>x</mi", "not well-formed"), ("<mi>&nosuchentity;</mi>", "entity")]:
        with pytest.raises(ValueError, match=why):
            clean_mathml(bad)


def test_every_script_element_has_two_or_three_children():
    # MathML scripts take a fixed number of children; a stray extra child breaks the layout.
    import xml.etree.ElementTree as ET

    from pgproofs.report.mathml import latex_to_mathml

    arity = {"msub": 2, "msup": 2, "munder": 2, "mover": 2, "mfrac": 2, "msubsup": 3,
             "munderover": 3}
    for c in claims.CLAIMS.values():
        for f in (c.notes_formula, c.checked_formula):
            if f:
                for el in ET.fromstring(latex_to_mathml(f)).iter():
                    tag = el.tag.split("}")[-1]
                    if tag in arity:
                        assert len(el) == arity[tag], (c.id, tag, f)
