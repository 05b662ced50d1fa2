"""Evidence that a test records for the claims it checks.

A claim test takes the ``evidence`` fixture and records what a reader needs
to check the verdict: numbers, tables, SymPy expressions, counterexamples and
curves. Every item is a JSON-ready dict with a ``kind`` key; the pytest plugin
ships the items from xdist workers to the controller, which writes them to
``reports/evidence.json`` under each claim id the test is marked with.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

__all__ = ["Evidence", "jsonable", "TEXT_FIELDS", "OPTIONAL_TEXT_FIELDS", "missing_translations"]

#: The fields of each evidence kind that a reader reads as prose, and so that
#: the report's Chinese edition needs in Chinese (``zh``). Identifiers, numbers,
#: SymPy expressions, table cells and counterexample arrays stay as they are.
#: ``series`` means the curve's series labels (a mapping English -> Chinese).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "number": ("name", "unit", "note"),
    "table": ("title", "columns", "note"),
    "expression": ("note",),
    "counterexample": ("title", "note"),
    "curve": ("title", "xlabel", "ylabel", "note", "series"),
}
#: Prose a translation may give but need not: a table's rows, when its cells
#: hold words (control names) rather than numbers and quoted check messages, and
#: an expression's name when it is a phrase rather than a symbol.
OPTIONAL_TEXT_FIELDS: dict[str, tuple[str, ...]] = {"table": ("rows",), "expression": ("name",)}


def _zh_shape_error(field: str, en: Any, zh: Any) -> str | None:
    if field == "rows":  # any cell may be translated; the shape must stay
        ok = isinstance(zh, list) and len(zh) == len(en) and all(
            isinstance(z, list) and len(z) == len(e) for z, e in zip(zh, en))
        return None if ok else f"{len(en)} rows of the table's shape"
    if isinstance(en, str):
        return None if isinstance(zh, str) and zh.strip() else "a non-empty string"
    if isinstance(en, list):
        ok = isinstance(zh, list) and len(zh) == len(en) and all(
            isinstance(z, str) and z.strip() for z in zh)
        return None if ok else f"a list of {len(en)} non-empty strings"
    if isinstance(en, dict):  # curve series: every English label -> its Chinese label
        ok = isinstance(zh, dict) and set(zh) == set(en) and all(
            isinstance(z, str) and z.strip() for z in zh.values())
        return None if ok else f"a mapping of every label {sorted(en)} to a non-empty string"
    return "text"


def missing_translations(item: Mapping[str, Any]) -> list[str]:
    """The prose fields of an evidence item that have no Chinese translation."""
    zh = item.get("zh") or {}
    return [f for f in TEXT_FIELDS.get(str(item.get("kind")), ()) if f in item and f not in zh]


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to plain JSON values.

    Non-finite floats become the strings "inf", "-inf" and "nan" so that the
    file stays strict JSON.
    """
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        if math.isfinite(v):
            return v
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str):
        return value
    return str(value)


class Evidence:
    """Collects evidence items for the claims of one test.

    Methods append one item each and return ``self`` so calls can chain.

    Every method takes ``zh``, the Chinese of the item's prose (see
    :data:`TEXT_FIELDS`): a string for :meth:`text`, otherwise a mapping from
    field name to its translation, of the same shape (``columns`` a list,
    ``series`` a mapping from each English label to its Chinese one). With
    ``require_translation=True`` (the pgproofs suite's own setting, the ini
    option ``pgproofs_require_translation``) an item whose prose lacks Chinese
    is a ValueError, so a claim test cannot record a half-translated caption.
    """

    def __init__(self, *, require_translation: bool = False) -> None:
        self.items: list[dict[str, Any]] = []
        self.require_translation = require_translation

    def _add(self, kind: str, zh: Any = None, **fields: Any) -> "Evidence":
        item: dict[str, Any] = {"kind": kind}
        item.update({k: jsonable(v) for k, v in fields.items() if v is not None})
        if isinstance(zh, str):
            if kind != "text":
                raise ValueError(f"zh: a {kind} takes a mapping of its fields {TEXT_FIELDS[kind]}, "
                                 "not a string")
            zh = {"text": zh}
        if zh is not None:
            if not isinstance(zh, Mapping):
                raise ValueError(f"zh: expected a mapping of field -> Chinese, got {type(zh).__name__}")
            for field, value in zh.items():
                prose = TEXT_FIELDS[kind] + OPTIONAL_TEXT_FIELDS.get(kind, ())
                if field not in prose or field not in item:
                    raise ValueError(f"zh: {field!r} is not a prose field of this {kind} "
                                     f"(it has {[f for f in prose if f in item]})")
                wanted = _zh_shape_error(field, item[field], jsonable(value))
                if wanted:
                    raise ValueError(f"zh: {field!r} must be {wanted}")
            item["zh"] = jsonable(dict(zh))
        if self.require_translation and missing_translations(item):
            raise ValueError(f"zh: this {kind} has no Chinese for {missing_translations(item)} "
                             f"(pass zh=...; every caption of the suite is bilingual)")
        self.items.append(item)
        return self

    def text(self, text: str, *, zh: str | None = None) -> "Evidence":
        """A sentence of explanation shown with the claim."""
        return self._add("text", zh, text=text)

    def number(self, name: str, value: Any, *, unit: str | None = None,
               note: str | None = None, zh: Mapping[str, Any] | None = None) -> "Evidence":
        """One named number (or a small array) with an optional unit."""
        return self._add("number", zh, name=name, value=value, unit=unit, note=note)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              *, note: str | None = None, zh: Mapping[str, Any] | None = None) -> "Evidence":
        """A table: ``columns`` names, ``rows`` a list of equal-length rows."""
        rows = [list(r) for r in rows]
        for r in rows:
            if len(r) != len(columns):
                raise ValueError(f"rows: a row has {len(r)} cells, columns has {len(columns)}")
        return self._add("table", zh, title=title, columns=list(columns), rows=rows, note=note)

    def expression(self, name: str, expr: Any, *, note: str | None = None,
                   zh: Mapping[str, Any] | None = None) -> "Evidence":
        """A SymPy expression (or equation), stored as text, LaTeX and MathML."""
        import sympy

        expr = sympy.sympify(expr) if not isinstance(expr, sympy.Basic) else expr
        return self._add(
            "expression", zh, name=name, text=sympy.sstr(expr), latex=sympy.latex(expr),
            mathml=sympy.mathml(expr, printer="presentation"), note=note,
        )

    def counterexample(self, title: str, *, mdp: Any = None, policy: Any = None,
                       behavior: Any = None, note: str | None = None,
                       zh: Mapping[str, Any] | None = None, **numbers: Any) -> "Evidence":
        """A (shrunk) counterexample: the MDP, the policies, and the numbers it gives."""
        fields: dict[str, Any] = {"title": title, "note": note, "numbers": numbers}
        if mdp is not None:
            fields["mdp"] = {
                "initial": mdp.initial, "transitions": mdp.transitions,
                "rewards": mdp.rewards, "horizon": mdp.horizon, "discount": mdp.discount,
            }
        if policy is not None:
            fields["policy"] = {"logits": policy.logits, "probs": policy.probs}
        if behavior is not None:
            fields["behavior"] = {"logits": behavior.logits, "probs": behavior.probs}
        return self._add("counterexample", zh, **fields)

    def curve(self, title: str, x: Sequence[float], series: Mapping[str, Sequence[float]],
              *, xlabel: str, ylabel: str, logx: bool = False, logy: bool = False,
              bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
              note: str | None = None, zh: Mapping[str, Any] | None = None) -> "Evidence":
        """Data for a plot: one x axis, named y series, optional (lo, hi) bands per series."""
        n = len(x)
        for label, ys in series.items():
            if len(ys) != n:
                raise ValueError(f"series: {label!r} has {len(ys)} points, x has {n}")
        band_fields = None
        if bands:
            band_fields = {k: {"lo": lo, "hi": hi} for k, (lo, hi) in bands.items()}
        return self._add("curve", zh, title=title, x=x, series=dict(series), xlabel=xlabel,
                         ylabel=ylabel, logx=logx, logy=logy, bands=band_fields, note=note)
