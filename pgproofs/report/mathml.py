"""MathML for the report, built offline.

Two sources of math reach the report:

* the registry's formulas (:mod:`pgproofs.claims`), written in LaTeX that the
  maintained ``latex2mathml`` library translates to presentation MathML;
  :func:`latex_to_mathml` only adds what the library does not do: it refuses
  input the library would pass through silently (unknown commands end up as
  ``<mi>\\name</mi>``, unbalanced braces are closed without a word) and
  repairs the symbols it renders as identifiers (``\\sim`` as an ASCII
  tilde; ``\\succeq`` and the prime as ``<mi>``);
* SymPy expressions recorded by the tests, which arrive in evidence.json as
  presentation MathML strings; :func:`clean_mathml` checks them against a
  whitelist of MathML elements and attributes (the evidence file is input,
  not trusted markup) and wraps them in a ``<math>`` element.

Both raise ``ValueError`` on input they cannot handle; the report then shows
the source text instead.
"""

from __future__ import annotations

import html
import html.entities
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert as _latex2mathml

__all__ = ["latex_to_mathml", "clean_mathml"]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

_ASCII_OPS = {"-": "\u2212", "*": "\u2217"}
# Operators latex2mathml emits as <mi>: its text there -> the operator's character.
_RELATIONS_AS_MI = {"~": "\u223c", "\u2ab0": "\u2ab0", "\u2aaf": "\u2aaf", "\u2032": "\u2032"}


def _balanced(latex: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\.|[{}]", latex):
        tok = m.group(0)
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def latex_to_mathml(latex: str, *, display: bool = True) -> str:
    """Translate a registry formula (LaTeX) to a ``<math>`` element with latex2mathml.

    ValueError for an empty formula, unbalanced braces, a command the library
    does not know, or anything the library raises on.
    """
    if not isinstance(latex, str) or not latex.strip():
        raise ValueError("latex: expected a non-empty string")
    if not _balanced(latex):
        raise ValueError(f"latex: unbalanced braces in {latex!r}")
    try:
        markup = _latex2mathml(latex, display="block" if display else "inline")
    except Exception as exc:  # the library's own error types, whatever they are
        raise ValueError(f"latex: latex2mathml cannot translate {latex!r} "
                         f"({type(exc).__name__}: {exc})") from None
    root = ET.fromstring(markup)
    for el in root.iter():
        if "\\" in (el.text or ""):
            raise ValueError(f"latex: unsupported command {el.text} in {latex!r}")
        if el.tag == f"{{{MATHML_NS}}}mi" and el.text in _RELATIONS_AS_MI:
            el.tag, el.text = f"{{{MATHML_NS}}}mo", _RELATIONS_AS_MI[el.text]
    ET.register_namespace("", MATHML_NS)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


# ---- cleaning MathML that arrives in the evidence file --------------------------

_ALLOWED_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
    "munder", "mover", "munderover", "mfrac", "msqrt", "mroot", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "merror", "semantics", "annotation", "menclose",
    "mfenced", "mmultiscripts", "mprescripts", "none",
}
_ALLOWED_ATTRS = {
    "display", "mathvariant", "stretchy", "fence", "separator", "accent", "accentunder",
    "largeop", "movablelimits", "lspace", "rspace", "width", "height", "depth",
    "linethickness", "columnalign", "rowalign", "form", "open", "close", "separators",
    "scriptlevel", "displaystyle", "notation", "encoding", "symmetric", "minsize",
    "maxsize", "columnspacing", "rowspacing",
}
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")


def _named_entities_to_chars(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in _XML_ENTITIES:
            return m.group(0)
        ch = html.entities.html5.get(name + ";")
        if ch is None:
            raise ValueError(f"mathml: unknown entity &{name};")
        return html.escape(ch, quote=False)
    return _ENTITY.sub(repl, text)


def _fenced_to_mrow(el: ET.Element) -> None:
    """Rewrite the deprecated <mfenced> (not in MathML Core) as an <mrow> with <mo>s."""
    for child in list(el):
        _fenced_to_mrow(child)
    if el.tag != "mfenced":
        return
    open_, close = el.get("open", "("), el.get("close", ")")
    seps = (el.get("separators", ",") or "").replace(" ", "")
    children = list(el)
    for c in children:
        el.remove(c)
    el.tag = "mrow"
    el.attrib.clear()
    parts: list[ET.Element] = []
    for k, c in enumerate(children):
        if k and seps:
            mo = ET.Element("mo")
            mo.text = seps[min(k - 1, len(seps) - 1)]
            parts.append(mo)
        parts.append(c)
    first, last = ET.Element("mo"), ET.Element("mo")
    first.text, last.text = open_, close
    el.extend([first, *parts, last])


def clean_mathml(markup: str, *, display: bool = True) -> str:
    """Check presentation MathML from the evidence file and return a ``<math>`` element.

    Only MathML elements and layout attributes pass; anything else (a script,
    an event handler, an external reference) raises ValueError.
    """
    if not isinstance(markup, str) or not markup.strip():
        raise ValueError("mathml: expected a non-empty string")
    text = _named_entities_to_chars(markup.strip())
    text = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", text)
    try:
        root = ET.fromstring(f"<wrap>{text}</wrap>")
    except ET.ParseError as exc:
        raise ValueError(f"mathml: not well-formed ({exc})") from None
    for el in root.iter():
        if el is root:
            continue
        if el.tag not in _ALLOWED_TAGS:
            raise ValueError(f"mathml: element <{el.tag}> is not allowed")
        for attr in el.attrib:
            if attr not in _ALLOWED_ATTRS:
                raise ValueError(f"mathml: attribute {attr!r} on <{el.tag}> is not allowed")
    _fenced_to_mrow(root)
    for mo in root.iter("mo"):
        if mo.text in _ASCII_OPS:  # SymPy writes a hyphen for minus
            mo.text = _ASCII_OPS[mo.text]
    children = list(root)
    if len(children) == 1 and children[0].tag == "math" and not (root.text or "").strip():
        math = children[0]
    else:
        math = ET.Element("math")
        mrow = ET.SubElement(math, "mrow")
        mrow.text = root.text
        mrow.extend(children)
    math.set("xmlns", MATHML_NS)
    math.set("display", "block" if display else "inline")
    return ET.tostring(math, encoding="unicode", short_empty_elements=True)
