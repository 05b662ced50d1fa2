"""The claims registry agrees with CLAIMS.md and with the tests' claim markers.

The id list below is CLAIMS.md's, copied on purpose: the project must not read
the shared notes, so this is where a drift between the two is caught. The
markers are read from the test files with ``ast`` (no imports, so no torch or
gymnasium start-up): every registry claim must be checked by at least one
test in its section's module, and no test may name an unknown id.
"""

from __future__ import annotations

import ast
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pgproofs import claims
from pgproofs.report.mathml import latex_to_mathml

TESTS = Path(__file__).resolve().parent

CLAIMS_MD_IDS = (
    ["PG-1", "PG-2", "PG-3", "PG-4", "PG-5"]
    + [f"VR-{k}" for k in range(1, 8)]
    + [f"IS-{k}" for k in range(1, 10)]
    + [f"NG-{k}" for k in range(1, 8)]
    + ["E2E-1", "E2E-2", "E2E-3"]
)
ERRATA = {"VR-4", "VR-5", "IS-4", "IS-9", "NG-2"}
SHARPENED = {"PG-4", "IS-5", "IS-7", "NG-6"}
PREFIX_SECTION = {"PG": 1, "VR": 2, "IS": 3, "NG": 4, "E2E": 5}


def _is_claim_mark(func: ast.expr) -> bool:
    """``pytest.mark.claim`` or ``mark.claim`` (however pytest was imported)."""
    if not (isinstance(func, ast.Attribute) and func.attr == "claim"):
        return False
    owner = func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark")


def marker_ids(root: Path = TESTS) -> tuple[dict[str, set[str]], list[str]]:
    """{claim id: {test files using it}} over every test module, and the places
    where a marker's ids are not string literals (which this check cannot read)."""
    used: dict[str, set[str]] = {}
    opaque: list[str] = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_claim_mark(node.func):
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        used.setdefault(arg.value, set()).add(rel)
                    else:
                        opaque.append(f"{rel}:{node.lineno}")
    return used, opaque


def test_registry_holds_exactly_the_ids_of_claims_md():
    assert claims.ids() == CLAIMS_MD_IDS


def test_registry_entries_are_complete_and_consistent():
    for c in claims.CLAIMS.values():
        prefix = c.id.rsplit("-", 1)[0]
        assert c.section_number == PREFIX_SECTION[prefix], c.id
        assert c.section.startswith(f"{c.section_number}. "), c.id
        assert c.module == f"tests/claims/test_{['reinforce', 'variance', 'offpolicy', 'natural', 'cartpole'][c.section_number - 1]}.py"
        assert c.title and c.notes and c.checked, c.id
        assert c.notes != c.checked, c.id
        assert c.expected in claims.VERDICTS
    assert {c.id for c in claims.CLAIMS.values() if c.expected == "erratum"} == ERRATA
    assert {c.id for c in claims.CLAIMS.values() if c.expected == "sharpened"} == SHARPENED
    for cid in ERRATA | SHARPENED:
        assert claims.get(cid).is_correction
    assert not claims.get("PG-1").is_correction


def test_registry_rejects_bad_entries():
    with pytest.raises(ValueError, match="expected"):
        claims.Claim("X-1", 1, "t", "n", "", "c", "", "S", "probably")
    with pytest.raises(ValueError, match="methods"):
        claims.Claim("X-1", 1, "t", "n", "", "c", "", "SQ", "holds")
    with pytest.raises(ValueError, match="section_number"):
        claims.Claim("X-1", 9, "t", "n", "", "c", "", "S", "holds")
    with pytest.raises(ValueError, match="claim_id"):
        claims.get("VR-99")


@pytest.mark.parametrize("cid", CLAIMS_MD_IDS)
def test_every_formula_renders_as_mathml(cid):
    c = claims.get(cid)
    formulas = [f for f in (c.notes_formula, c.checked_formula) if f]
    for f in formulas:
        root = ET.fromstring(latex_to_mathml(f))  # well-formed XML
        assert root.tag == "{http://www.w3.org/1998/Math/MathML}math"
        assert len(list(root.iter())) > 3


def test_corrections_state_the_corrected_formula():
    # The report prints the corrected statement next to the notes' one.
    for cid in ERRATA | SHARPENED:
        c = claims.get(cid)
        assert c.checked_formula and c.checked_formula != c.notes_formula, cid
    assert "frac{1}{2}" in claims.get("NG-2").checked_formula


def test_claim_markers_name_only_registered_claims():
    used, opaque = marker_ids()
    assert not opaque, f"claim markers whose ids are not string literals: {opaque}"
    unknown = sorted(set(used) - set(claims.CLAIMS))
    assert not unknown, {cid: sorted(used[cid]) for cid in unknown}


def test_every_claim_has_a_test_in_its_section_module():
    used, _ = marker_ids()
    missing = [cid for cid in CLAIMS_MD_IDS if claims.get(cid).module not in used.get(cid, ())]
    assert not missing, f"claims with no test in their section's module: {missing}"


def test_marker_scan_sees_every_spelling(tmp_path):
    # Negative control for the scanner itself: each way of attaching the marker is found,
    # a non-literal id is reported, and a look-alike call is ignored.
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_x.py").write_text(
        "import pytest\nfrom pytest import mark\nIDS = ('VR-2',)\n"
        "pytestmark = pytest.mark.claim('PG-1')\n"
        "@pytest.mark.claim('VR-4', 'VR-5')\ndef test_a(): pass\n"
        "@mark.claim('NG-2')\ndef test_b(): pass\n"
        "@pytest.mark.parametrize('x', [pytest.param(1, marks=pytest.mark.claim('IS-6'))])\n"
        "def test_c(x): pass\n"
        "@pytest.mark.claim(*IDS)\ndef test_d(): pass\n"
        "def test_e(): obj.claim('ZZ-1')\n", encoding="utf-8")
    used, opaque = marker_ids(tests)
    assert set(used) == {"PG-1", "VR-4", "VR-5", "NG-2", "IS-6"}
    assert opaque == ["tests/test_x.py:11"]
