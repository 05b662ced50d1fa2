"""Curves from the evidence as inline SVG (matplotlib, Agg backend, no files).

Every ``curve`` evidence item becomes one plot: its named series as lines,
``bands`` as shaded (lo, hi) areas around the series of the same name, and
``logx``/``logy`` as log axes. The SVG is sized by its viewBox so that it
shrinks with the page on a phone.
"""

from __future__ import annotations

import functools
import io
import re
import warnings
from typing import Any, Mapping

__all__ = ["to_float", "curve_svg"]


def to_float(value: Any) -> float:
    """A float from a JSON number, or from the strings "nan", "inf", "-inf"
    (how :func:`pgproofs.evidence.jsonable` stores non-finite values)."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "-inf", "+inf"):
        return float(value.strip().lower())
    raise ValueError(f"value: {value!r} is not a number")


def _floats(name: str, values: Any, n: int | None = None) -> list[float]:
    if not isinstance(values, list):
        raise ValueError(f"{name}: expected a list, got {type(values).__name__}")
    out = [to_float(v) for v in values]
    if n is not None and len(out) != n:
        raise ValueError(f"{name}: has {len(out)} points, x has {n}")
    return out


# Labels may be Chinese (the report's Chinese edition). The SVG keeps its text as text
# (svg.fonttype "none"), so the browser draws it with the page's fonts; matplotlib only
# measures it, with a CJK font where one is installed so the layout leaves room for it.
_CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Droid Sans Fallback")


@functools.lru_cache(maxsize=1)
def _font_families() -> list[str]:
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[f for f in _CJK_FAMILIES if f in installed][:1]]


def curve_svg(item: Mapping[str, Any], *, salt: str = "pgproofs") -> str:
    """The SVG markup for one curve item; ValueError naming the bad field.

    ``salt`` makes the ids inside this SVG (clip paths, markers) differ from
    those of the other plots on the same page.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    x_raw = item.get("x")
    if not isinstance(x_raw, list) or not x_raw:
        raise ValueError("x: expected a non-empty list")
    categorical = not all(isinstance(v, (int, float)) or (isinstance(v, str) and
                          v.lower() in ("nan", "inf", "-inf")) for v in x_raw)
    x = list(range(len(x_raw))) if categorical else _floats("x", x_raw)
    series = item.get("series")
    if not isinstance(series, dict) or not series:
        raise ValueError("series: expected a non-empty object of label -> list")
    bands = item.get("bands") or {}
    if not isinstance(bands, dict):
        raise ValueError("bands: expected an object of label -> {lo, hi}")

    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none",
                                "font.family": _font_families(),
                                "font.size": 10, "axes.titlesize": 11}), \
            warnings.catch_warnings():
        # Without a CJK font matplotlib warns per missing glyph; the browser still draws it.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig = Figure(figsize=(6.4, 3.6), layout="constrained")
        ax = fig.add_subplot()
        colors = {}
        for label, ys in series.items():
            (line,) = ax.plot(x, _floats(f"series[{label!r}]", ys, len(x)), label=str(label),
                              marker="o" if len(x) <= 12 else None, markersize=3)
            colors[label] = line.get_color()
        for label, band in bands.items():
            if not isinstance(band, dict):
                raise ValueError(f"bands[{label!r}]: expected {{lo, hi}}")
            lo = _floats(f"bands[{label!r}].lo", band.get("lo"), len(x))
            hi = _floats(f"bands[{label!r}].hi", band.get("hi"), len(x))
            ax.fill_between(x, lo, hi, alpha=0.25, linewidth=0,
                            color=colors.get(label), label=None if label in colors else
                            str(label))
        if item.get("logx"):
            ax.set_xscale("log")
        if item.get("logy"):
            ax.set_yscale("log")
        if categorical:
            ax.set_xticks(x, [str(v) for v in x_raw], rotation=30 if len(x) > 6 else 0)
        ax.set_xlabel(str(item.get("xlabel", "")))
        ax.set_ylabel(str(item.get("ylabel", "")))
        ax.grid(True, alpha=0.3, which="both" if item.get("logy") or item.get("logx")
                else "major")
        if len(series) > 1 or bands:
            ax.legend(fontsize=8)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Size by viewBox only, so CSS can scale the plot with the page.
    head_end = svg.index(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end])
    head += ' role="img" class="plot"'
    title = str(item.get("title", "plot"))
    svg = head + svg[head_end:]
    return svg.replace(">", f"><title>{_esc(title)}</title>", 1)


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=False)

