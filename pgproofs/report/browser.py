"""Headless Chromium, offline: the DOM and a screenshot of a local HTML file.

Used by the browser test and by ``pgproofs report --screenshot`` and ``--pdf``. The browser
gets a fresh profile, no network features, and a host resolver that fails
every lookup, so a page that needed the network would show it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["CHROMIUM_NAMES", "find_chromium", "dump_dom", "screenshot", "print_pdf"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
          "--host-resolver-rules=MAP * ~NOTFOUND")
# A safety net against a hung browser, not a performance limit.
_TIMEOUT_S = 180


def find_chromium() -> str | None:
    """The Chromium executable: $PGPROOFS_CHROMIUM, else the first of CHROMIUM_NAMES on PATH."""
    override = os.environ.get("PGPROOFS_CHROMIUM")
    if override:
        return override
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("chromium: no Chromium found on PATH (install the Debian "
                                "package `chromium`, or set PGPROOFS_CHROMIUM)")
    with tempfile.TemporaryDirectory(prefix="pgproofs-chromium-") as profile:
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", *args]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT_S)
    if out.returncode != 0:
        raise RuntimeError(f"chromium exited with {out.returncode}: {out.stderr[-2000:]}")
    return out


def dump_dom(html: str | Path) -> str:
    """The DOM of a local HTML file after Chromium has loaded it."""
    return _run(["--dump-dom", Path(html).resolve().as_uri()]).stdout


def screenshot(html: str | Path, png: str | Path, *, width: int = 1280,
               height: int = 2400) -> Path:
    """A PNG of the top ``width`` x ``height`` pixels of a local HTML file."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    _run([f"--screenshot={png}", f"--window-size={width},{height}",
          Path(html).resolve().as_uri()])
    if not png.is_file():
        raise RuntimeError(f"chromium did not write the screenshot {png}")
    return png


def print_pdf(html: str | Path, pdf: str | Path) -> Path:
    """Print a local HTML file to PDF with Chromium (the page's ``@media print`` rules apply).

    FileNotFoundError naming the Debian package when no Chromium is installed.
    """
    pdf = Path(pdf).resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if pdf.exists():
        pdf.unlink()
    _run([f"--print-to-pdf={pdf}", "--no-pdf-header-footer", Path(html).resolve().as_uri()])
    if not pdf.is_file() or pdf.read_bytes()[:5] != b"%PDF-":
        raise RuntimeError(f"chromium did not write the PDF {pdf}")
    return pdf
