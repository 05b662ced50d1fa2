"""Render the report: the model from :mod:`pgproofs.report.build` to one HTML file.

The page is self-contained: the CSS is inlined, plots are inline SVG, math is
MathML, and nothing is loaded from the network. Evidence items were already
turned into views by :mod:`pgproofs.report.views`; the words come from
:mod:`pgproofs.wording` (through the model) and ``template.html``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from markupsafe import Markup

from pgproofs.report.benchmarks import collect
from pgproofs.report.build import build_model

__all__ = ["render_html", "write_report"]


def _asset(name: str) -> str:
    return resources.files("pgproofs.report").joinpath(name).read_text(encoding="utf-8")


def render_html(model: Mapping[str, Any]) -> str:
    """The report page for a model from :func:`pgproofs.report.build.build_model`."""
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    template = env.from_string(_asset("template.html"))
    return template.render(css=Markup(_asset("style.css")), **model)


def write_report(doc: Mapping[str, Any], output: str | Path, *, source: str = "",
                 benchmarks: str | Path | None = None) -> Path:
    """Render a shape-checked evidence document to ``output``; returns the path.

    benchmarks: a folder whose ``bench-*.json`` results (and their plots) are
    shown in a section of their own; they never change a claim's status.
    """
    output = Path(output)
    model = build_model(doc, source=source)
    if benchmarks is not None:
        model["benchmarks"] = collect(benchmarks)
    html = render_html(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(output)
    return output
