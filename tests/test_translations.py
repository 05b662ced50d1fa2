"""Every text a reader sees exists in both languages (issue 15).

The registry (``pgproofs/claims.py``) and the UI table (``pgproofs/wording.py``) carry
English and Chinese side by side. The checks below are functions that take the tables
under test, so each is run once on the real tables and once per control: a copy with one
translation removed, added or damaged, which the same check must reject, naming the id
or key. A claim or a UI string cannot ship half-translated.
"""

from __future__ import annotations

import copy
import re
import string
from typing import Iterable, Mapping

import pytest

from pgproofs import claims, wording
from pgproofs.verdict import claim_status, verdict

CJK = re.compile(r"[\u4e00-\u9fff]")

#: UI keys whose Chinese need not contain a CJK character: their English is an identifier
#: (a program or language name, the page's language code) or punctuation that joins pieces.
NO_CJK_KEYS = {
    "meta.pgproofs": "a program name, the same in every language",
    "meta.python": "a language name, the same in every language",
    "page.lang": "a BCP 47 language code (zh-CN)",
    "join.list": "punctuation joining count pieces (a full-width comma)",
    "join.clause": "punctuation joining clauses (a full-width semicolon)",
}

#: What the Chinese registry says for the suite's own checks, as the English says "Ours".
OURS_ZH = "本套件自己的检查"


# ---- the checks ------------------------------------------------------------------------

def check_claim_translations(registry: Mapping[str, claims.Claim],
                             zh: Mapping[str, Mapping[str, str]]) -> None:
    """``zh`` has, for every claim, Chinese for exactly its non-empty prose fields."""
    unknown = sorted(set(zh) - set(registry))
    assert not unknown, f"Chinese for unknown claim ids: {unknown}"
    for cid, claim in registry.items():
        assert cid in zh, f"{cid}: no Chinese at all"
        wanted = {f for f in claims.PROSE_FIELDS if getattr(claim, f)}
        have = set(zh[cid])
        assert not wanted - have, f"{cid}: no Chinese for {sorted(wanted - have)}"
        assert not have - wanted, (f"{cid}: Chinese for {sorted(have - wanted)}, which is not a "
                                   "non-empty prose field in English")
        for field, value in zh[cid].items():
            assert isinstance(value, str) and CJK.search(value), f"{cid}.{field}: not Chinese: {value!r}"
            assert value != getattr(claim, field), f"{cid}.{field}: the Chinese is the English"


def check_ours_labelled(registry: Mapping[str, claims.Claim],
                        zh: Mapping[str, Mapping[str, str]]) -> None:
    """The Chinese ``notes`` of a claim labelled ours says so; a claim of the notes does not."""
    for cid, claim in registry.items():
        says_ours = OURS_ZH in zh[cid]["notes"]
        assert says_ours == (claim.source == "ours"), (
            f"{cid}: source {claim.source!r} but the Chinese notes "
            f"{'say' if says_ours else 'do not say'} {OURS_ZH!r}")


def check_same_keys(name: str, english: Iterable, zh: Mapping) -> None:
    """A Chinese table ``zh`` has exactly the keys of ``english``, each value Chinese."""
    english = list(english)
    missing = [k for k in english if k not in zh]
    assert not missing, f"{name}: no Chinese for {missing}"
    extra = [k for k in zh if k not in english]
    assert not extra, f"{name}: Chinese for unknown keys {extra}"
    for key, value in zh.items():
        assert isinstance(value, str) and CJK.search(value), f"{name}[{key!r}]: not Chinese: {value!r}"


def placeholders(template: str) -> set[str]:
    """The names of the ``{fields}`` of a ``str.format`` template."""
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def check_text_table(en: Mapping[str, str], zh: Mapping[str, str],
                     no_cjk: Mapping[str, str] = NO_CJK_KEYS) -> None:
    """``zh`` has exactly ``en``'s keys, the same placeholders per key, and Chinese words
    except in the keys listed in ``no_cjk``."""
    missing = sorted(set(en) - set(zh))
    assert not missing, f"TEXT_ZH: no Chinese for {missing}"
    extra = sorted(set(zh) - set(en))
    assert not extra, f"TEXT_ZH: keys not in TEXT: {extra}"
    for key in en:
        assert placeholders(zh[key]) == placeholders(en[key]), (
            f"{key}: placeholders {sorted(placeholders(zh[key]))} in Chinese, "
            f"{sorted(placeholders(en[key]))} in English")
        if key not in no_cjk:
            assert CJK.search(zh[key]), f"{key}: not Chinese: {zh[key]!r}"


# ---- the real tables -------------------------------------------------------------------

def test_every_claim_has_chinese_for_exactly_its_prose_fields():
    check_claim_translations(claims.CLAIMS, claims.ZH)
    n_fields = sum(len(v) for v in claims.ZH.values())
    assert n_fields == sum(1 for c in claims.CLAIMS.values() for f in claims.PROSE_FIELDS
                           if getattr(c, f))


def test_chinese_registry_keeps_ours_apart_from_the_notes():
    check_ours_labelled(claims.CLAIMS, claims.ZH)


def test_section_method_verdict_source_tables_are_translated():
    check_same_keys("SECTIONS_ZH", claims.SECTIONS, claims.SECTIONS_ZH)
    check_same_keys("METHODS_ZH", claims.METHODS, claims.METHODS_ZH)
    check_same_keys("VERDICTS_ZH", claims.VERDICTS, claims.VERDICTS_ZH)
    check_same_keys("SOURCES_ZH", claims.SOURCES, claims.SOURCES_ZH)
    # Section titles keep their number, like the English ones.
    for n, title in claims.SECTIONS_ZH.items():
        assert title.startswith(f"{n}. "), title


def test_every_ui_string_is_translated_with_the_same_placeholders():
    check_text_table(wording.TEXT, wording.TEXT_ZH)
    assert wording.TEXT_ZH["page.lang"] == "zh-CN"
    for key in ("meta.pgproofs", "meta.python"):
        assert wording.TEXT_ZH[key] == wording.TEXT[key]


# ---- controls: the same checks reject a table missing or damaging one translation ------

def _without_claim(cid):
    zh = copy.deepcopy(claims.ZH)
    del zh[cid]
    return zh


def _without_field(cid, field):
    zh = copy.deepcopy(claims.ZH)
    del zh[cid][field]
    return zh


def _with(cid, field, value):
    zh = copy.deepcopy(claims.ZH)
    zh[cid][field] = value
    return zh


def _empty_note_claim():
    return next(c.id for c in claims.CLAIMS.values() if not c.expected_note)


@pytest.mark.parametrize("zh, match", [
    (_without_claim("PG-3"), r"PG-3: no Chinese at all"),
    (_without_field("VR-4", "checked"), r"VR-4: no Chinese for \['checked'\]"),
    (_without_field("IS-5", "expected_note"), r"IS-5: no Chinese for \['expected_note'\]"),
    (_with(_empty_note_claim(), "expected_note", "多余的说明"),
     rf"{_empty_note_claim()}: Chinese for \['expected_note'\]"),
    (_with("NG-2", "notes_formula", "公式"), r"NG-2: Chinese for \['notes_formula'\]"),
    ({**claims.ZH, "XX-1": {"title": "未知"}}, r"unknown claim ids: \['XX-1'\]"),
    (_with("NG-4", "title", claims.get("NG-4").title), r"NG-4\.title: not Chinese"),
    (_with("VR-1", "notes", ""), r"VR-1\.notes: not Chinese"),
])
def test_claim_check_rejects_a_registry_missing_a_translation(zh, match):
    with pytest.raises(AssertionError, match=match):
        check_claim_translations(claims.CLAIMS, zh)


def test_ours_check_rejects_a_chinese_e2e_claim_not_labelled_ours():
    zh = _with("E2E-2", "notes", claims.ZH["E2E-2"]["notes"].replace(OURS_ZH, "讲义中的检查"))
    with pytest.raises(AssertionError, match=r"E2E-2: source 'ours' but the Chinese notes do not say"):
        check_ours_labelled(claims.CLAIMS, zh)
    zh = _with("VR-4", "notes", OURS_ZH + "：" + claims.ZH["VR-4"]["notes"])
    with pytest.raises(AssertionError, match=r"VR-4: source 'notes' but the Chinese notes say"):
        check_ours_labelled(claims.CLAIMS, zh)


def _drop(table, key):
    return {k: v for k, v in table.items() if k != key}


@pytest.mark.parametrize("name, english, zh, match", [
    ("SECTIONS_ZH", claims.SECTIONS, _drop(claims.SECTIONS_ZH, 3), r"SECTIONS_ZH: no Chinese for \[3\]"),
    ("METHODS_ZH", claims.METHODS, _drop(claims.METHODS_ZH, "H"), r"METHODS_ZH: no Chinese for \['H'\]"),
    ("VERDICTS_ZH", claims.VERDICTS, _drop(claims.VERDICTS_ZH, "erratum"),
     r"VERDICTS_ZH: no Chinese for \['erratum'\]"),
    ("SOURCES_ZH", claims.SOURCES, _drop(claims.SOURCES_ZH, "ours"), r"SOURCES_ZH: no Chinese for \['ours'\]"),
    ("SOURCES_ZH", claims.SOURCES, {**claims.SOURCES_ZH, "theirs": "别人的"},
     r"SOURCES_ZH: Chinese for unknown keys \['theirs'\]"),
    ("METHODS_ZH", claims.METHODS, {**claims.METHODS_ZH, "S": "SymPy derivation"},
     r"METHODS_ZH\['S'\]: not Chinese"),
])
def test_table_check_rejects_a_table_missing_a_translation(name, english, zh, match):
    with pytest.raises(AssertionError, match=match):
        check_same_keys(name, english, zh)


@pytest.mark.parametrize("zh, match", [
    (_drop(wording.TEXT_ZH, "verdict.erratum"), r"TEXT_ZH: no Chinese for \['verdict.erratum'\]"),
    ({**wording.TEXT_ZH, "verdict.maybe": "也许"}, r"TEXT_ZH: keys not in TEXT: \['verdict.maybe'\]"),
    ({**wording.TEXT_ZH, "reason.failed": "{total} 个测试中有 {count} 个未通过：{detail}"},
     r"reason.failed: placeholders \['count', 'detail', 'total'\] in Chinese"),
    ({**wording.TEXT_ZH, "count.skipped": "有测试被跳过"}, r"count.skipped: placeholders \[\] in Chinese"),
    ({**wording.TEXT_ZH, "label.reason": wording.TEXT["label.reason"]}, r"label.reason: not Chinese"),
])
def test_text_check_rejects_a_table_missing_a_translation(zh, match):
    with pytest.raises(AssertionError, match=match):
        check_text_table(wording.TEXT, zh)


# ---- the language switches --------------------------------------------------------------

def test_claim_text_in_both_languages():
    vr5 = claims.get("VR-5")
    for field in claims.PROSE_FIELDS:
        assert vr5.text(field) == vr5.text(field, "en") == getattr(vr5, field)
        assert vr5.text(field, "zh") == claims.ZH["VR-5"][field]
    pg1 = claims.get("PG-1")
    assert pg1.expected_note == "" and pg1.text("expected_note", "zh") == ""
    for field in claims.FORMULA_FIELDS:  # LaTeX, the same in both languages
        assert pg1.text(field, "zh") == pg1.text(field) == getattr(pg1, field)
    assert vr5.to_dict()["zh"] == claims.ZH["VR-5"]
    with pytest.raises(ValueError, match=r"lang: 'fr'"):
        vr5.text("title", "fr")
    with pytest.raises(ValueError, match=r"field: 'summary'"):
        vr5.text("summary", "zh")
    with pytest.raises(ValueError, match=r"field: 'id'"):
        vr5.text("id")


def test_section_title_in_both_languages():
    for n in claims.SECTIONS:
        assert claims.section_title(n) == claims.SECTIONS[n] == claims.get(
            next(c.id for c in claims.CLAIMS.values() if c.section_number == n)).section
        assert claims.section_title(n, "zh") == claims.SECTIONS_ZH[n]
    with pytest.raises(ValueError, match=r"lang: 'de'"):
        claims.section_title(1, "de")
    with pytest.raises(ValueError, match=r"number: 9"):
        claims.section_title(9, "zh")


def test_wording_text_takes_a_language():
    assert wording.text("cli.summary", n=3, verified=1, failed=1, unverified=1) == \
        "3 claims: 1 verified, 1 failed, 1 unverified"
    assert wording.text("cli.summary", "zh", n=3, verified=1, failed=1, unverified=1) == \
        "共 3 条论断：1 条已验证，1 条未通过，1 条未验证"
    with pytest.raises(ValueError, match=r"lang: 'fr'"):
        wording.text("status.verified", "fr")


# A Chinese reason is assembled from Chinese pieces only: the English words of TEXT must not
# leak into it. What may stay in Latin letters: identifiers, pytest terms and the command
# options of the run's selection (commands stay as they are).
LATIN_ALLOWED = {"xfail", "XPASS", "setup", "teardown", "JSON", "xdist", "pgproofs", "not", "slow"}
META = {"format": 2, "stopped": "maxfail", "selection": {"markexpr": "not slow"}}
ENTRIES = {
    "failed": {"tests": ["a", "b", "c", "d", "e"], "results": {
        "a": "failed", "b": "error", "c": "crashed", "d": "xfailed", "e": "passed"}},
    "incomplete": {"outcome": "incomplete", "tests": ["a", "b", "c", "d", "e", "f"], "results": {
        "a": "passed", "b": "xpassed", "c": "skipped", "d": "not run", "e": "deselected", "f": "??"}},
    "absent": None,
    "not an object": [],
    "no tests": {"tests": [], "results": {}},
    "mismatch": {"tests": ["a"], "results": {"b": "passed"}},
    "outcome": {"tests": ["a"], "results": {"a": "passed"}, "outcome": "failed"},
}


@pytest.mark.parametrize("case", ENTRIES)
def test_chinese_reasons_are_built_from_chinese_pieces(case):
    en = claim_status(ENTRIES[case], META)
    zh = claim_status(ENTRIES[case], META, lang="zh")
    assert zh.status == en.status != "verified"
    assert CJK.search(zh.reason), zh.reason
    # the evidence's own values are quoted as they are: the stop reason, an outcome
    quoted = {"maxfail"} | ({"failed"} if case == "outcome" else set())
    latin = set(re.findall(r"[A-Za-z]{2,}", zh.reason)) - LATIN_ALLOWED - quoted
    assert not latin, f"English words in the Chinese reason: {sorted(latin)}: {zh.reason}"
    # English is what it was: built from the English pieces with English punctuation.
    assert not CJK.search(en.reason)


def test_verdict_words_in_chinese_name_the_verdict_and_keep_the_kind():
    for expected in claims.VERDICTS:
        for status in ("verified", "failed", "unverified"):
            en, zh = verdict(expected, status), verdict(expected, status, lang="zh")
            assert zh.kind == en.kind and CJK.search(zh.text)
    assert verdict("erratum", "verified", lang="zh").text == "讲义原说法被推翻 \u00b7 更正已验证"
    assert verdict("sharpened", "verified", lang="zh").text == "原说法不严谨，已精确化 \u00b7 已验证"
    assert verdict("holds", "failed", lang="zh").text == "检查未通过 \u00b7 未验证"
    with pytest.raises(ValueError, match=r"lang: 'xx'"):
        verdict("holds", "verified", lang="xx")
