"""The HTML report of the checked claims, and the ``report`` / ``claims`` commands.

The modules depend one way: ``views`` turns evidence items and formulas into
view dicts (with ``plots`` for SVG and ``mathml`` for math); ``build`` turns
``reports/evidence.json`` into the page's model, each claim's status coming
from :func:`pgproofs.verdict.claim_status`; ``render`` writes one
self-contained HTML file from that model; ``browser`` drives a headless
Chromium for the browser test and screenshots; ``cli`` adds the
``pgproofs report`` and ``pgproofs claims`` subcommands.
"""

from pgproofs.report.build import EvidenceError, build_model, load_evidence, statuses
from pgproofs.report.render import render_html, write_report
from pgproofs.verdict import STATUSES, claim_status

__all__ = ["STATUSES", "EvidenceError", "build_model", "claim_status", "load_evidence",
           "statuses", "render_html", "write_report"]
