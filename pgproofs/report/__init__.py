"""The HTML report of the checked claims, and the ``report`` / ``claims`` commands.

``build`` turns ``reports/evidence.json`` into each claim's status and a model
of the page, ``render`` writes one self-contained HTML file from it (inline
CSS, SVG plots from ``plots``, MathML from ``mathml``), ``browser`` drives a
headless Chromium for the browser test and screenshots, and ``cli`` adds the
``pgproofs report`` and ``pgproofs claims`` subcommands.
"""

from pgproofs.report.build import (STATUSES, EvidenceError, build_model, claim_status,
                                   load_evidence, statuses)
from pgproofs.report.render import render_html, write_report

__all__ = ["STATUSES", "EvidenceError", "build_model", "claim_status", "load_evidence",
           "statuses", "render_html", "write_report"]
