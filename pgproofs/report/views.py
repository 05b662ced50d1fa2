"""Evidence items and registry formulas as small view dicts for the report's template.

Each evidence item becomes a view (``kind`` plus what the template shows); an
item that cannot be rendered becomes an ``error`` view that says why, so one
bad item never hides the rest of the report. Plots are inline SVG, math is
MathML: nothing is loaded from the network.
"""

from __future__ import annotations

import functools
import json
import os
import re
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Mapping

from markupsafe import Markup, escape

from pgproofs.evidence import TEXT_FIELDS, OPTIONAL_TEXT_FIELDS
from pgproofs.report.mathml import clean_mathml, latex_to_mathml
from pgproofs.report.plots import curve_svg
from pgproofs.wording import text

__all__ = ["formula", "evidence_item", "localised", "fmt", "exact", "curve_job",
           "prerender_curves"]


def fmt(value: Any, *, digits: int = 6) -> str:
    """A table cell: integers as they are, floats to ``digits`` significant digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(value, f".{digits}g")
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


_QUOTED_CODE = re.compile(r"`([^`]+)`")


def prose(value: Any) -> Markup:
    """Evidence prose, escaped, with `backticked` spans (quoted check messages and other
    program output, verbatim in every language) set as ``<code>``."""
    escaped = str(escape("" if value is None else str(value)))
    return Markup(_QUOTED_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escaped))


def exact(value: Any) -> str:
    """A number in full (shortest round-trip) precision."""
    return repr(value) if isinstance(value, float) else fmt(value)


def formula(latex: str) -> dict[str, Any] | None:
    """{"latex", "mathml"} for a registry formula; mathml None when it cannot convert."""
    if not latex:
        return None
    try:
        return {"latex": latex, "mathml": Markup(latex_to_mathml(latex))}
    except ValueError:
        return {"latex": latex, "mathml": None}


def _depth(value: Any) -> int:
    d = 0
    while isinstance(value, list) and value:
        d += 1
        value = value[0]
    return d


def _array_table(title: str, value: Any, row_label: str = "", col_label: str = "",
                 lang: str = "en") -> dict[str, Any]:
    """A 0-, 1-, 2- or 3-d array as a table (3-d: one row per leading pair of indices)."""
    d = _depth(value)
    if d == 0:
        return {"title": title, "columns": [text("cx.value", lang)], "rows": [[fmt(value)]]}
    if d == 1:
        return {"title": title, "columns": [f"{col_label}{j}" for j in range(len(value))],
                "rows": [[fmt(v) for v in value]]}
    if d == 2:
        width = max(len(r) for r in value)
        return {"title": title,
                "columns": [""] + [f"{col_label}{j}" for j in range(width)],
                "rows": [[f"{row_label}{i}"] + [fmt(v) for v in r] for i, r in enumerate(value)]}
    if d == 3:
        width = max(len(r) for block in value for r in block)
        return {"title": title, "columns": ["s", "a"] + [f"s'={j}" for j in range(width)],
                "rows": [[str(i), str(j)] + [fmt(v) for v in r]
                         for i, block in enumerate(value) for j, r in enumerate(block)]}
    return {"title": title, "columns": [text("cx.value", lang)], "rows": [[fmt(value)]]}


def _counterexample_tables(item: Mapping[str, Any], lang: str = "en") -> list[dict[str, Any]]:
    tables: list[dict[str, Any]] = []
    mdp = item.get("mdp")
    if isinstance(mdp, dict):
        facts = [[k, fmt(mdp[k])] for k in ("horizon", "discount") if k in mdp]
        if facts:
            tables.append({"title": "MDP", "columns": [text("cx.field", lang), text("cx.value", lang)],
                           "rows": facts})
        if "initial" in mdp:
            tables.append(_array_table(text("cx.initial", lang), mdp["initial"], col_label="s=",
                                       lang=lang))
        if "transitions" in mdp:
            tables.append(_array_table(text("cx.transitions", lang), mdp["transitions"], lang=lang))
        if "rewards" in mdp:
            tables.append(_array_table(text("cx.rewards", lang), mdp["rewards"], "s=", "a=",
                                       lang=lang))
    for key in ("policy", "behavior"):
        pol = item.get(key)
        if isinstance(pol, dict):
            name = text(f"cx.{key}", lang)
            if "probs" in pol:
                tables.append(_array_table(text("cx.probs", lang, name=name), pol["probs"],
                                           "s=", "a=", lang=lang))
            if "logits" in pol:
                tables.append(_array_table(text("cx.logits", lang, name=name), pol["logits"],
                                           "s=", "a=", lang=lang))
    numbers = item.get("numbers")
    if isinstance(numbers, dict) and numbers:
        scalars = [[str(k), exact(v)] for k, v in numbers.items() if _depth(v) == 0]
        if scalars:
            tables.append({"title": text("cx.numbers", lang),
                           "columns": [text("cx.name", lang), text("cx.value", lang)],
                           "rows": scalars})
        tables.extend(_array_table(str(k), v, lang=lang) for k, v in numbers.items()
                      if _depth(v) > 0)
    return tables


def localised(item: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """The evidence item with its prose in ``lang``: for "zh", the item's ``zh`` fields laid
    over the English ones (curve series relabelled); English fields without a translation
    stay, and ``untranslated`` lists them so the page can mark them."""
    item = dict(item)
    zh = item.pop("zh", None)
    if lang == "en":
        return item
    zh = zh if isinstance(zh, dict) else {}
    kind = str(item.get("kind"))
    for field in TEXT_FIELDS.get(kind, ()) + OPTIONAL_TEXT_FIELDS.get(kind, ()):
        if field not in zh or field not in item:
            continue
        if field == "series" and isinstance(item.get("series"), dict):
            names = zh["series"]
            item["series"] = {names.get(k, k): v for k, v in item["series"].items()}
            if isinstance(item.get("bands"), dict):
                item["bands"] = {names.get(k, k): v for k, v in item["bands"].items()}
        else:
            item[field] = zh[field]
    item["untranslated"] = [f for f in TEXT_FIELDS.get(kind, ()) if f in item and f not in zh]
    return item


def _view(item: Mapping[str, Any], uid: str, lang: str) -> dict[str, Any]:
    kind = item.get("kind")
    base = {"kind": kind, "note": prose(item["note"]) if item.get("note") else None,
            "test": item.get("test"),
            "untranslated": bool(item.get("untranslated"))}
    if kind == "text":
        return base | {"text": prose(item.get("text", ""))}
    if kind == "number":
        value = item.get("value")
        d = _depth(value)
        view = base | {"name": str(item.get("name", "")), "unit": item.get("unit")}
        if d == 0:
            return view | {"value": exact(value), "table": None}
        return view | {"value": None, "table": _array_table("", value, lang=lang)}
    if kind == "table":
        columns = item.get("columns")
        rows = item.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list):
            raise ValueError("table: columns and rows must be lists")
        for r in rows:
            if not isinstance(r, list) or len(r) != len(columns):
                raise ValueError(f"rows: a row does not have {len(columns)} cells")
        return base | {"table": {"title": str(item.get("title", "")),
                                 "columns": [str(c) for c in columns],
                                 "rows": [[prose(fmt(v)) for v in r] for r in rows]}}
    if kind == "expression":
        try:
            mathml = Markup(clean_mathml(str(item.get("mathml", ""))))
        except ValueError:
            mathml = None
        return base | {"name": str(item.get("name", "")), "mathml": mathml,
                       "text": str(item.get("text", "")), "latex": str(item.get("latex", ""))}
    if kind == "counterexample":
        return base | {"title": str(item.get("title", "")),
                       "tables": _counterexample_tables(item, lang)}
    if kind == "curve":
        return base | {"title": str(item.get("title", "")),
                       "svg": Markup(_cached_svg(*_svg_job(item, uid)))}
    raise ValueError(f"kind: unknown evidence kind {kind!r}")


#: What viewing or plotting a malformed evidence item raises: evidence_item shows it as an
#: error in the item's place; the prerender steps leave such an item to it.
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError)


def _svg_job(item: Mapping[str, Any], uid: str) -> tuple[str, str]:
    """(canonical JSON, salt) of a localised curve item: what _cached_svg renders it from."""
    return json.dumps(item, sort_keys=True, ensure_ascii=False), f"pgproofs-{uid}"


def curve_job(item: Any, uid: str, lang: str = "en") -> tuple[str, str] | None:
    """The job prerender_curves takes for the evidence item ``item`` shown as ``uid`` in
    ``lang``: exactly what its view will ask for; None unless it is a renderable curve."""
    if not (isinstance(item, dict) and item.get("kind") == "curve"):
        return None
    try:
        return _svg_job(localised(item, lang), uid)
    except _MALFORMED:
        return None  # the page build shows the error in its place


#: SVGs rendered ahead of the page by prerender_curves, by (canonical JSON, salt).
_PRERENDERED: dict[tuple[str, str], str] = {}


@functools.lru_cache(maxsize=256)
def _cached_svg(item_json: str, salt: str) -> str:
    # matplotlib takes ~0.3-1 s a plot; the same curve re-rendered is served from here.
    done = _PRERENDERED.get((item_json, salt))
    return done if done is not None else curve_svg(json.loads(item_json), salt=salt)


def _render_or_none(job: tuple[str, str]) -> str | None:
    try:
        return curve_svg(json.loads(job[0]), salt=job[1])
    except _MALFORMED:
        return None  # the page build renders it again and shows the error in its place


def prerender_curves(jobs, workers: int | None = None) -> int:
    """Render the plots of a page (jobs from curve_job) ahead of it, ``workers`` processes at
    a time (default: one per CPU); returns how many were rendered.

    Plots are the slow part of a page (most of its seconds), and independent. The
    result is exactly what the page build would render itself, so this only saves time;
    an item that fails is left to the page build, which shows the error.
    """
    todo = sorted({tuple(j) for j in jobs} - set(_PRERENDERED))
    workers = min(workers or os.cpu_count() or 1, len(todo))
    if workers < 2:
        return 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rendered = {job: svg for job, svg in zip(todo, pool.map(_render_or_none, todo))
                    if svg is not None}
    _PRERENDERED.update(rendered)
    return len(rendered)


def evidence_item(item: Any, uid: str, lang: str = "en") -> dict[str, Any]:
    """The view of one evidence item in ``lang``; an ``error`` view when it cannot be rendered."""
    if not isinstance(item, dict):
        return {"kind": "error", "error": text("render.not_object", lang), "detail": "",
                "raw": fmt(item)[:2000], "test": None, "note": None, "untranslated": False}
    try:
        return _view(localised(item, lang), uid, lang)
    except _MALFORMED as exc:
        return {"kind": "error", "error": text("render.failed", lang, kind=item.get("kind")),
                "detail": str(exc),
                "raw": json.dumps(item, ensure_ascii=False)[:2000],
                "test": item.get("test"), "note": None, "untranslated": False}
