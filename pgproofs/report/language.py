"""Is a page really in Chinese? The English prose a reader of the Chinese edition would see.

The Chinese edition keeps numbers, formulas, identifiers, commands and quoted
code as they are; anything else in English is a translation that is missing.
:func:`english_runs` finds it: the text a reader sees (outside ``<code>``,
``<pre>``, ``<math>``, ``<svg>`` and the page's ``<head>``, and outside
“typographic quotes”, which mark words quoted as they were written, such as
the notes' own English phrases) is searched for runs of four or more English
words in a row, which is where an identifier or a term in parentheses ends
and a sentence begins. The browser test and CI run it
on the Chinese pages they render.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["english_runs"]

# Elements whose text is code, math or markup, not prose: never translated.
_VERBATIM = {"code", "pre", "math", "svg", "script", "style", "head"}
_VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "wbr", "source"}
_WORD = r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]"
_QUOTED = re.compile("\u201c[^\u201d]*\u201d")
_RUN = re.compile(rf"{_WORD}(?:[ ,;:]+{_WORD}){{3,}}")


class _Prose(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if not _VERBATIM.intersection(self.stack):
            self.chunks.append(data)


def english_runs(html: str, *, min_words: int = 4) -> list[str]:
    """Runs of at least ``min_words`` English words in the prose of ``html``, in page order."""
    if min_words < 2:
        raise ValueError(f"min_words: must be at least 2, got {min_words}")
    parser = _Prose()
    parser.feed(html)
    text = " ".join(" ".join(parser.chunks).split())
    text = _QUOTED.sub(" ", text)
    pattern = _RUN if min_words == 4 else re.compile(
        rf"{_WORD}(?:[ ,;:]+{_WORD}){{{min_words - 1},}}")
    return [m.group(0) for m in pattern.finditer(text)]
