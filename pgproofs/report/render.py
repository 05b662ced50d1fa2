"""Render the report: the model from :mod:`pgproofs.report.build` to one HTML file.

The page is self-contained: the CSS is inlined, plots are inline SVG, math is
MathML, and nothing is loaded from the network. Evidence items were already
turned into views by :mod:`pgproofs.report.views`; the words come from
:mod:`pgproofs.wording` (through the model) and ``template.html``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Mapping, Sequence

from markupsafe import Markup

from pgproofs.report.benchmarks import collect
from pgproofs.report.build import build_model, curve_jobs
from pgproofs.report.views import prerender_curves
from pgproofs.wording import LANG_NAMES

__all__ = ["render_html", "write_report", "write_reports", "report_path"]


def _asset(name: str) -> str:
    return resources.files("pgproofs.report").joinpath(name).read_text(encoding="utf-8")


def render_html(model: Mapping[str, Any]) -> str:
    """The report page for a model from :func:`pgproofs.report.build.build_model`."""
    import jinja2

    env = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    template = env.from_string(_asset("template.html"))
    return template.render(css=Markup(_asset("style.css")), **model)


def report_path(output: str | Path, lang: str) -> Path:
    """Where the ``lang`` edition of a report whose English edition is ``output`` goes:
    ``index.html`` for English, ``index.zh.html`` beside it for Chinese."""
    output = Path(output)
    return output if lang == "en" else output.with_name(f"{output.stem}.{lang}{output.suffix}")


def write_report(doc: Mapping[str, Any], output: str | Path, *, source: str = "",
                 benchmarks: str | Path | None = None, lang: str = "en",
                 alternates: Sequence[tuple[str, str]] = ()) -> Path:
    """Render a shape-checked evidence document to ``output`` in ``lang``; returns the path.

    benchmarks: a folder whose ``bench-*.json`` results (and their plots) are
    shown in a section of their own; they never change a claim's status.
    alternates: (lang, relative href) of the same report in other languages,
    linked from the page header.
    """
    output = Path(output)
    model = build_model(doc, source=source, lang=lang)
    model["alternates"] = [{"lang": code, "href": href, "name": LANG_NAMES[code]}
                           for code, href in alternates]
    if benchmarks is not None:
        model["benchmarks"] = collect(benchmarks, lang)
    html = render_html(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(output)
    return output


def write_reports(doc: Mapping[str, Any], output: str | Path, langs: Sequence[str] = ("en",),
                  *, source: str = "", benchmarks: str | Path | None = None,
                  workers: int = 1) -> list[Path]:
    """The report in each of ``langs``, from the same evidence, each edition linking the others.

    The English edition goes to ``output``, the others beside it (:func:`report_path`).
    workers > 1 renders the editions' plots in that many processes first (the same
    SVGs, sooner).
    """
    if not langs or len(set(langs)) != len(langs):
        raise ValueError(f"langs: expected distinct languages, got {list(langs)!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: expected a positive integer, got {workers!r}")
    if workers > 1:
        prerender_curves([job for lang in langs for job in curve_jobs(doc, lang)], workers)
    paths = {lang: report_path(output, lang) for lang in langs}
    return [write_report(doc, paths[lang], source=source, benchmarks=benchmarks, lang=lang,
                         alternates=[(other, paths[other].name) for other in langs
                                     if other != lang])
            for lang in langs]
