"""The evidence plugin: claim outcomes are aggregated honestly across xdist workers."""

import json

import pytest

pytest_plugins = ["pytester"]

SUITE = '''
import pytest

@pytest.mark.claim("A-1")
def test_a1_holds(evidence):
    evidence.number("x", 1.5).text("fine")

@pytest.mark.claim("A-1", "B-1")
def test_shared(evidence):
    evidence.table("t", ["k", "v"], [["a", 1]])

@pytest.mark.claim("B-1")
def test_b1_breaks(evidence):
    evidence.number("y", 2.0)
    assert 1 == 2, "the claim fails"

@pytest.mark.claim("C-1")
def test_c1_skipped():
    pytest.skip("not checked here")

@pytest.mark.claim("D-1")
@pytest.mark.parametrize("k", range(4))
def test_d1(k, evidence):
    evidence.number("k", k)

def test_unmarked():
    pass
'''


def run(pytester, *args):
    pytester.makepyfile(test_suite=SUITE)
    out = pytester.path / "evidence.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--evidence={out}", *args)
    return result, json.loads(out.read_text())


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]])
def test_outcomes_and_evidence_are_aggregated(pytester, xdist):
    result, doc = run(pytester, *xdist)
    result.assert_outcomes(passed=7, failed=1, skipped=1)
    claims = doc["claims"]
    assert set(claims) == {"A-1", "B-1", "C-1", "D-1"}
    assert claims["A-1"]["outcome"] == "passed"
    assert claims["B-1"]["outcome"] == "failed"  # one failing test fails the claim
    assert "the claim fails" in claims["B-1"]["failures"][0]["text"]
    assert claims["C-1"]["outcome"] == "skipped"  # skipped is never passed
    assert claims["D-1"]["outcome"] == "passed" and len(claims["D-1"]["tests"]) == 4
    kinds = [e["kind"] for e in claims["A-1"]["evidence"]]
    assert kinds == ["number", "text", "table"]
    kept = [e for e in claims["B-1"]["evidence"] if e["test"].endswith("test_b1_breaks")]
    assert kept[0]["value"] == 2.0  # evidence of a failed test is kept, the claim still fails
    if xdist:
        assert doc["meta"]["workers"] == ["gw0", "gw1"]
    assert doc["meta"]["versions"]["numpy"]


def test_evidence_fixture_requires_a_claim_marker(pytester):
    pytester.makepyfile("def test_x(evidence):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--no-evidence")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the evidence fixture needs @pytest.mark.claim*"])


def test_evidence_rejects_malformed_tables_and_curves():
    from pgproofs.evidence import Evidence
    ev = Evidence()
    with pytest.raises(ValueError, match="rows: a row has 1 cells, columns has 2"):
        ev.table("t", ["a", "b"], [[1]])
    with pytest.raises(ValueError, match="series: 'y' has 2 points, x has 3"):
        ev.curve("c", [1, 2, 3], {"y": [1, 2]}, xlabel="x", ylabel="y")
