"""MathML for the report, built offline.

Two sources of math reach the report:

* the registry's formulas (:mod:`pgproofs.claims`), written in a small LaTeX
  subset that :func:`latex_to_mathml` translates to presentation MathML;
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

__all__ = ["latex_to_mathml", "clean_mathml"]

MATHML_NS = "http://www.w3.org/1998/Math/MathML"

_GREEK = {
    name: chr(code) for name, code in {
        "alpha": 0x3B1, "beta": 0x3B2, "gamma": 0x3B3, "delta": 0x3B4, "epsilon": 0x3B5,
        "varepsilon": 0x3B5, "zeta": 0x3B6, "eta": 0x3B7, "theta": 0x3B8, "iota": 0x3B9,
        "kappa": 0x3BA, "lambda": 0x3BB, "mu": 0x3BC, "nu": 0x3BD, "xi": 0x3BE, "pi": 0x3C0,
        "rho": 0x3C1, "sigma": 0x3C3, "tau": 0x3C4, "upsilon": 0x3C5, "phi": 0x3C6,
        "varphi": 0x3C6, "chi": 0x3C7, "psi": 0x3C8, "omega": 0x3C9, "Gamma": 0x393,
        "Delta": 0x394, "Theta": 0x398, "Lambda": 0x39B, "Pi": 0x3A0, "Sigma": 0x3A3,
        "Phi": 0x3A6, "Psi": 0x3A8, "Omega": 0x3A9,
    }.items()
}
_IDENT = {"nabla": "\u2207", "partial": "\u2202", "infty": "\u221e", "ell": "\u2113"}
_OPS = {
    "approx": "\u2248", "le": "\u2264", "leq": "\u2264", "ge": "\u2265", "geq": "\u2265",
    "ne": "\u2260", "neq": "\u2260", "propto": "\u221d", "to": "\u2192", "rightarrow": "\u2192",
    "Rightarrow": "\u21d2", "leftarrow": "\u2190", "exists": "\u2203", "forall": "\u2200",
    "sim": "\u223c", "mid": "|", "cdot": "\u22c5", "times": "\u00d7", "top": "\u22a4",
    "succeq": "\u2ab0", "in": "\u2208", "|": "\u2016", "pm": "\u00b1", "{": "{", "}": "}",
}
_ASCII_OPS = {"-": "\u2212", "*": "\u2217"}
_FENCES = {"(", ")", "[", "]", "|", "\u2016", "{", "}"}
_FUNCS = {"log", "exp", "max", "min", "arg", "sup", "inf", "det", "tr"}
_SPACES = {"quad": "1em", "qquad": "2em", ",": "0.17em", ";": "0.28em", " ": "0.33em",
           ":": "0.22em", "!": "0em"}
_SIZERS = {"big", "Big", "bigg", "Bigg", "left", "right", "bigl", "bigr", "Bigl", "Bigr",
           "displaystyle"}
_LARGE = {"sum": "\u2211", "prod": "\u220f", "int": "\u222b"}
_ACCENTS = {"bar": "\u00af", "hat": "^", "tilde": "~", "vec": "\u2192", "dot": "\u02d9"}
_FONTS = {"mathbb": {"E": "\U0001d53c", "R": "\u211d", "P": "\u2119", "1": "\U0001d7d9"},
          "mathcal": {"M": "\u2133", "L": "\u2112", "D": "\U0001d49f", "N": "\U0001d4a9"},
          "mathbf": {"1": "\U0001d7cf", "0": "\U0001d7ce"}}

_TOKEN = re.compile(r"\\([A-Za-z]+|.)|(\d+(?:\.\d+)?)|(\s+)|(.)", re.S)


def _tokens(src: str) -> tuple[list[tuple[str, str]], list[int]]:
    """Tokens (kind, value) without white space, and each token's end offset in src."""
    out: list[tuple[str, str]] = []
    ends: list[int] = []
    for m in _TOKEN.finditer(src):
        cmd, num, space, ch = m.groups()
        if cmd is not None:
            out.append(("cmd", cmd))
        elif num is not None:
            out.append(("num", num))
        elif space is None:
            out.append(("ch", ch))
        else:
            continue
        ends.append(m.end())
    return out, ends


def _e(text: str) -> str:
    return html.escape(text, quote=False)


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.toks, self.ends = _tokens(src)
        self.i = 0
        self.stretch_next = False

    def fence(self, ch: str) -> str:
        """A fence keeps its size unless a sizer (\\Big, \\left, ...) asked it to stretch,
        so that an unpaired "(" never grows while its ")" stays small."""
        stretch, self.stretch_next = self.stretch_next, False
        attr = "" if stretch else ' stretchy="false"'
        return f"<mo{attr}>{_e(ch)}</mo>"

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ValueError(f"latex: unexpected end of {self.src!r}")
        self.i += 1
        return tok

    def seq(self, stop: str | None = None) -> str:
        parts: list[str] = []
        while True:
            tok = self.peek()
            if tok is None:
                if stop is not None:
                    raise ValueError(f"latex: missing {stop!r} in {self.src!r}")
                break
            if tok == ("ch", stop):
                self.i += 1
                break
            parts.append(self.scripted())
        return "".join(parts)

    def group(self) -> str:
        """One argument: a braced group or a single atom."""
        tok = self.peek()
        if tok == ("ch", "{"):
            self.i += 1
            return f"<mrow>{self.seq('}')}</mrow>"
        return self.atom()

    def text_arg(self) -> str:
        """The raw source of a braced argument, white space kept (for text and names)."""
        if self.next() != ("ch", "{"):
            raise ValueError(f"latex: expected {{ in {self.src!r}")
        start, depth = self.ends[self.i - 1], 1
        while depth:
            kind, val = self.next()
            if kind == "ch" and val in "{}":
                depth += 1 if val == "{" else -1
        return self.src[start:self.ends[self.i - 1] - 1]

    def scripted(self) -> str:
        base_tok = self.peek()
        base = self.atom()
        after = ""
        if base_tok is not None and base_tok[0] == "cmd" and base_tok[1] in _FUNCS:
            base, after = base.split("<mspace", 1)
            after = "<mspace" + after  # the space goes after the scripts: \max_{x} f
        large = base_tok is not None and base_tok[0] == "cmd" and base_tok[1] in _LARGE
        sub = sup = None
        while True:
            tok = self.peek()
            if tok == ("ch", "_") and sub is None:
                self.i += 1
                sub = self.group()
            elif tok == ("ch", "^") and sup is None:
                self.i += 1
                sup = self.group()
            elif tok == ("ch", "'") and sup is None:
                primes = ""
                while self.peek() == ("ch", "'"):
                    self.i += 1
                    primes += "\u2032"
                sup = f"<mo>{primes}</mo>"
            else:
                break
        if sub is not None and sup is not None:
            tag = "munderover" if large else "msubsup"
            return f"<{tag}>{base}{sub}{sup}</{tag}>{after}"
        if sub is not None:
            tag = "munder" if large else "msub"
            return f"<{tag}>{base}{sub}</{tag}>{after}"
        if sup is not None:
            tag = "mover" if large else "msup"
            return f"<{tag}>{base}{sup}</{tag}>{after}"
        return base + after

    def atom(self) -> str:
        kind, val = self.next()
        is_fence = (kind == "ch" and val in _FENCES) or (kind == "cmd" and _OPS.get(val) in _FENCES)
        if not is_fence and not (kind == "cmd" and val in _SIZERS):
            self.stretch_next = False  # a sizer applies to the fence right after it only
        if kind == "num":
            return f"<mn>{val}</mn>"
        if kind == "ch":
            if val == "{":
                return f"<mrow>{self.seq('}')}</mrow>"
            if val.isalpha():
                return f"<mi>{_e(val)}</mi>"
            if val in "}^_":
                raise ValueError(f"latex: unexpected {val!r} in {self.src!r}")
            return self.fence(val) if val in _FENCES else f"<mo>{_e(_ASCII_OPS.get(val, val))}</mo>"
        return self.command(val)

    def command(self, name: str) -> str:
        if name in _GREEK:
            return f"<mi>{_GREEK[name]}</mi>"
        if name in _IDENT:
            return f"<mi>{_IDENT[name]}</mi>"
        if name in _OPS:
            if _OPS[name] in _FENCES:
                return self.fence(_OPS[name])
            return f"<mo>{_e(_OPS[name])}</mo>"
        if name in _LARGE:
            return f'<mo largeop="true" movablelimits="false">{_LARGE[name]}</mo>'
        if name in _FUNCS:
            return f'<mi>{name}</mi><mspace width="0.17em"/>'  # as LaTeX's \log spaces it
        if name in _SPACES:
            return f'<mspace width="{_SPACES[name]}"/>'
        if name in _SIZERS:
            self.stretch_next = True
            return ""
        if name == "frac":
            num = self.group()
            return f"<mfrac>{num}{self.group()}</mfrac>"
        if name == "sqrt":
            return f"<msqrt>{self.group()}</msqrt>"
        if name in _ACCENTS:
            return f'<mover accent="true">{self.group()}<mo>{_e(_ACCENTS[name])}</mo></mover>'
        if name in ("mathrm", "operatorname"):
            return f"<mi>{_e(self.text_arg())}</mi>"
        if name == "text":
            return f"<mtext>{_e(self.text_arg())}</mtext>"
        if name in _FONTS:
            arg = self.text_arg()
            return f"<mi>{_e(''.join(_FONTS[name].get(ch, ch) for ch in arg))}</mi>"
        raise ValueError(f"latex: unsupported command \\{name} in {self.src!r}")


def latex_to_mathml(latex: str, *, display: bool = True) -> str:
    """Translate a formula of the registry's LaTeX subset to a ``<math>`` element.

    ValueError for commands outside the subset or unbalanced braces.
    """
    if not isinstance(latex, str) or not latex.strip():
        raise ValueError("latex: expected a non-empty string")
    body = _Parser(latex).seq()
    mode = "block" if display else "inline"
    return f'<math xmlns="{MATHML_NS}" display="{mode}"><mrow>{body}</mrow></math>'


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
