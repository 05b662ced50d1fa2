"""The report in the notes' language: the same evidence, every word a reader sees in Chinese.

Both editions render from one evidence file. A check function decides whether a
page is Chinese (no run of English prose outside code, math and plots); it
accepts the Chinese edition of fully bilingual evidence and rejects the same page
when the evidence's captions have no Chinese, and the English edition.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from pgproofs import claims
from pgproofs.cli import main
from pgproofs.evidence import OPTIONAL_TEXT_FIELDS, TEXT_FIELDS
from pgproofs.report import load_evidence
from pgproofs.report.language import english_runs
from pgproofs.report.render import report_path, write_reports
from pgproofs.wording import TEXT_ZH

SAMPLE = Path(__file__).resolve().parent / "data" / "evidence-sample.json"


def bilingual(doc):
    """The sample with a Chinese stand-in for every prose field of every evidence item."""
    doc = copy.deepcopy(doc)
    for entry in doc["claims"].values():
        for item in entry.get("evidence", []) if isinstance(entry, dict) else []:
            if not isinstance(item, dict) or item.get("kind") not in TEXT_FIELDS:
                continue
            zh = {}
            for field in TEXT_FIELDS[item["kind"]] + OPTIONAL_TEXT_FIELDS.get(item["kind"], ()):
                value = item.get(field)
                if field == "rows":
                    zh[field] = [["中文" if isinstance(v, str) else v for v in row] for row in value]
                elif isinstance(value, str):
                    zh[field] = "中文说明"
                elif isinstance(value, list):
                    zh[field] = [f"列{k}" for k in range(len(value))]
                elif isinstance(value, dict):
                    zh[field] = {name: f"序列{k}" for k, name in enumerate(value)}
            item["zh"] = zh
    return doc


def assert_chinese(html: str) -> None:
    """AssertionError naming the English prose a reader of this page would see."""
    runs = english_runs(html)
    assert not runs, f"English prose on the Chinese page ({len(runs)} runs): {runs[:5]}"


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    out = tmp_path_factory.mktemp("langs") / "index.html"
    doc = load_evidence(SAMPLE)
    en, zh = write_reports(bilingual(doc), out, ["en", "zh"])
    raw = write_reports(doc, out.with_name("raw.html"), ["zh"])[0]
    return {"en": en.read_text(), "zh": zh.read_text(), "zh_untranslated": raw.read_text(),
            "paths": (en, zh)}


def test_the_chinese_edition_is_chinese(editions):
    assert_chinese(editions["zh"])
    # Controls, rejected by the same check: captions without Chinese, and the English page.
    with pytest.raises(AssertionError, match="English prose on the Chinese page"):
        assert_chinese(editions["zh_untranslated"])
    with pytest.raises(AssertionError, match="English prose on the Chinese page"):
        assert_chinese(editions["en"])
    # An untranslated caption is marked as English where it stands.
    assert 'data-untranslated="true"' in editions["zh_untranslated"]
    assert 'data-untranslated' not in editions["zh"]


def test_both_editions_show_the_same_verdicts_and_link_each_other(editions):
    en, zh = editions["en"], editions["zh"]
    status = re.compile(r'data-claim="([^"]+)" data-status="(\w+)"')
    assert dict(status.findall(en)) == dict(status.findall(zh))
    assert set(dict(status.findall(zh))) == set(claims.ids())
    assert len(re.findall(r"<math\b", en)) == len(re.findall(r"<math\b", zh)) > 0
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert 'href="index.zh.html" hreflang="zh"' in en
    assert 'href="index.html" hreflang="en"' in zh
    for kind in ("erratum", "sharpened", "holds", "failed", "unverified", "ours"):
        assert TEXT_ZH[f"verdict.{kind}"] in zh, kind
    for c in claims.CLAIMS.values():
        assert c.text("title", "zh") in zh, c.id


def test_editions_are_named_beside_the_english_one(tmp_path):
    assert report_path(tmp_path / "index.html", "en") == tmp_path / "index.html"
    assert report_path(tmp_path / "index.html", "zh") == tmp_path / "index.zh.html"
    with pytest.raises(ValueError, match="langs"):
        write_reports(load_evidence(SAMPLE), tmp_path / "index.html", ["zh", "zh"])
    with pytest.raises(ValueError, match="lang"):
        write_reports(load_evidence(SAMPLE), tmp_path / "index.html", ["fr"])


def test_commands_take_a_language(tmp_path, capsys):
    out = tmp_path / "index.html"
    assert main(["report", "--from", str(SAMPLE), "-o", str(out), "--lang", "zh"]) == 1
    assert (tmp_path / "index.zh.html").is_file() and not out.exists()
    capsys.readouterr()
    assert main(["claims", "--from", str(SAMPLE), "--json", "--lang", "zh"]) == 0
    zh_rows = json.loads(capsys.readouterr().out)
    assert main(["claims", "--from", str(SAMPLE), "--json"]) == 0
    en_rows = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["status"]) for r in zh_rows] == [(r["id"], r["status"]) for r in en_rows]
    assert [r["title"] for r in zh_rows] == [c.text("title", "zh") for c in claims.CLAIMS.values()]
    assert main(["claims", "--from", str(SAMPLE), "--lang", "zh"]) == 0
    table = capsys.readouterr().out
    assert TEXT_ZH["cli.title"] in table and TEXT_ZH["label.reason"] in table
    for bad in (["report", "--from", str(SAMPLE), "--lang", "fr"],
                ["claims", "--from", str(SAMPLE), "--lang", "fr"]):
        with pytest.raises(SystemExit) as info:
            main(bad)
        assert info.value.code == 2
    assert "fr" in capsys.readouterr().err


def test_english_runs_finds_sentences_not_identifiers():
    page = ("<html><head><title>a title in English words</title></head><body>"
            "<p>策略梯度（policy gradient）与 REINFORCE、SB3 PPO 1.2.3</p>"
            "<pre>this is quoted code output here</pre><math><mi>x</mi></math>"
            "<p>讲义原话“future actions don't affect current weight”</p>"
            "<p>but this is an English sentence left over</p></body></html>")
    assert english_runs(page) == ["but this is an English sentence left over"]
    with pytest.raises(ValueError, match="min_words"):
        english_runs(page, min_words=1)


def test_backticked_spans_are_quoted_code_in_every_language():
    from pgproofs.report.views import prose

    html = str(prose("已拒绝：`estimator is biased: largest bias <0.1>` 见上"))
    assert html == "已拒绝：<code>estimator is biased: largest bias &lt;0.1&gt;</code> 见上"
    assert english_runs(f"<p>{html}</p>") == []
    # Without the backticks the same words are prose, and the check sees them.
    assert english_runs("<p>已拒绝：estimator is biased: largest bias</p>") != []
    assert str(prose("`<script>alert(1)</script>`")) == \
        "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"


def test_plots_rendered_in_parallel_give_the_same_pages(tmp_path):
    """write_reports(workers=2) renders the plots of the editions ahead of the pages in two
    processes; the page is byte for byte that of the serial render, and a bad worker count
    is refused. (Two of the sample's plots are kept, to keep the test short.)"""
    from pgproofs.report import views
    from pgproofs.report.build import curve_jobs

    doc = bilingual(load_evidence(SAMPLE))
    kept = 0
    for entry in doc["claims"].values():
        items = entry.get("evidence", [])
        for item in [i for i in items if i.get("kind") == "curve"]:
            if kept == 2:
                items.remove(item)
            else:
                kept += 1
    serial = [p.read_bytes() for p in write_reports(doc, tmp_path / "a" / "index.html", ["zh"])]
    views._cached_svg.cache_clear()
    views._PRERENDERED.clear()
    jobs = curve_jobs(doc, "zh")
    assert len(set(jobs)) == 2
    parallel = [p.read_bytes() for p in write_reports(doc, tmp_path / "b" / "index.html", ["zh"],
                                                      workers=2)]
    assert set(jobs) <= set(views._PRERENDERED)      # the pages were served from the pool
    assert parallel == serial
    for bad in (0, True, 1.5):
        with pytest.raises(ValueError, match="workers: expected a positive integer"):
            write_reports(doc, tmp_path / "c" / "index.html", ["en"], workers=bad)
