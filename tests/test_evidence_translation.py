"""Evidence carries its prose in both languages: the shape of ``zh`` is checked where it is written."""

import pytest

from pgproofs.evidence import TEXT_FIELDS, Evidence, missing_translations


def test_bilingual_items_are_stored_and_complete():
    ev = Evidence(require_translation=True)
    ev.text("Exact, by enumeration.", zh="精确结果，由枚举得出。")
    ev.number("largest bias", 0.25, unit="nats", zh={"name": "最大偏差", "unit": "奈特"})
    ev.table("controls", ["control", "message"], [["sign flip", "estimator is biased"]],
             zh={"title": "对照组", "columns": ["对照", "信息"],
                 "rows": [["符号取反", "estimator is biased"]]})
    ev.expression("J", 1)  # a name is an identifier: no prose to translate
    ev.curve("error against N", [1, 2], {"REINFORCE": [1.0, 0.5]}, xlabel="N", ylabel="RMS",
             zh={"title": "误差随 N 的变化", "xlabel": "N", "ylabel": "均方根",
                 "series": {"REINFORCE": "REINFORCE"}})
    assert [missing_translations(i) for i in ev.items] == [[]] * 5
    assert ev.items[0]["zh"] == {"text": "精确结果，由枚举得出。"}
    assert ev.items[2]["zh"]["rows"] == [["符号取反", "estimator is biased"]]


def test_missing_or_misshapen_translations_are_refused():
    strict = Evidence(require_translation=True)
    with pytest.raises(ValueError, match=r"no Chinese for \['text'\]"):
        strict.text("untranslated")
    with pytest.raises(ValueError, match=r"no Chinese for \['note'\]"):
        strict.number("n", 1, note="a note", zh={"name": "数"})
    with pytest.raises(ValueError, match="'columns' must be a list of 2"):
        strict.table("t", ["a", "b"], [[1, 2]], zh={"title": "表", "columns": ["甲"]})
    with pytest.raises(ValueError, match="'rows' must be 1 rows"):
        strict.table("t", ["a"], [[1]], zh={"title": "表", "columns": ["甲"], "rows": [[1, 2]]})
    with pytest.raises(ValueError, match="'series' must be a mapping of every label"):
        strict.curve("c", [1], {"x": [1]}, xlabel="a", ylabel="b",
                     zh={"title": "曲线", "xlabel": "a", "ylabel": "b", "series": {"y": "乙"}})
    with pytest.raises(ValueError, match="'unit' is not a prose field"):
        strict.number("n", 1, zh={"name": "数", "unit": "秒"})
    with pytest.raises(ValueError, match="takes a mapping"):
        strict.number("n", 1, zh="数")
    assert strict.items == []
    # Outside the suite (a user's own tests) a translation is optional.
    lax = Evidence()
    lax.text("only English")
    assert missing_translations(lax.items[0]) == ["text"]


def test_every_kind_names_its_prose_fields():
    methods = {"text", "number", "table", "expression", "counterexample", "curve"}
    assert set(TEXT_FIELDS) == methods
    for kind in methods:
        assert hasattr(Evidence, kind)
