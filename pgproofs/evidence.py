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

__all__ = ["Evidence", "jsonable"]


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
    """

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def _add(self, kind: str, **fields: Any) -> "Evidence":
        item = {"kind": kind}
        item.update({k: jsonable(v) for k, v in fields.items() if v is not None})
        self.items.append(item)
        return self

    def text(self, text: str) -> "Evidence":
        """A sentence of explanation shown with the claim."""
        return self._add("text", text=text)

    def number(self, name: str, value: Any, *, unit: str | None = None,
               note: str | None = None) -> "Evidence":
        """One named number (or a small array) with an optional unit."""
        return self._add("number", name=name, value=value, unit=unit, note=note)

    def table(self, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
              *, note: str | None = None) -> "Evidence":
        """A table: ``columns`` names, ``rows`` a list of equal-length rows."""
        rows = [list(r) for r in rows]
        for r in rows:
            if len(r) != len(columns):
                raise ValueError(f"rows: a row has {len(r)} cells, columns has {len(columns)}")
        return self._add("table", title=title, columns=list(columns), rows=rows, note=note)

    def expression(self, name: str, expr: Any, *, note: str | None = None) -> "Evidence":
        """A SymPy expression (or equation), stored as text, LaTeX and MathML."""
        import sympy

        expr = sympy.sympify(expr) if not isinstance(expr, sympy.Basic) else expr
        return self._add(
            "expression", name=name, text=sympy.sstr(expr), latex=sympy.latex(expr),
            mathml=sympy.mathml(expr, printer="presentation"), note=note,
        )

    def counterexample(self, title: str, *, mdp: Any = None, policy: Any = None,
                       behavior: Any = None, note: str | None = None,
                       **numbers: Any) -> "Evidence":
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
        return self._add("counterexample", **fields)

    def curve(self, title: str, x: Sequence[float], series: Mapping[str, Sequence[float]],
              *, xlabel: str, ylabel: str, logx: bool = False, logy: bool = False,
              bands: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
              note: str | None = None) -> "Evidence":
        """Data for a plot: one x axis, named y series, optional (lo, hi) bands per series."""
        n = len(x)
        for label, ys in series.items():
            if len(ys) != n:
                raise ValueError(f"series: {label!r} has {len(ys)} points, x has {n}")
        band_fields = None
        if bands:
            band_fields = {k: {"lo": lo, "hi": hi} for k, (lo, hi) in bands.items()}
        return self._add("curve", title=title, x=x, series=dict(series), xlabel=xlabel,
                         ylabel=ylabel, logx=logx, logy=logy, bands=band_fields, note=note)
