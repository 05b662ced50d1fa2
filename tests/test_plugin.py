"""The evidence plugin: no crash, interruption, unrun or deselected test ever makes a claim green.

Each path to a false green runs in a real pytest subprocess (pytester), with
and without xdist where xdist changes the path, and the claim's status is read
back the way a user reads it: ``pgproofs claims --json`` on the evidence file
the run wrote. Every run also carries a claim whose tests all pass, which must
come out verified, so the assertions can fail.
"""

import json

import pytest

from pgproofs.cli import main
from pgproofs.verdict import EVIDENCE_FORMAT, claim_status

pytest_plugins = ["pytester"]

# One module with a claim per path. PG-1 is a registry id (so `pgproofs claims` shows it):
# both its tests pass, it must be verified. The other ids are this suite's own.
SUITE = '''
import os
import pytest

@pytest.mark.claim("PG-1")
def test_pg1_first(evidence):
    evidence.number("x", 1.5).text("fine")

@pytest.mark.claim("PG-1", "SHARED-1")
def test_pg1_second(evidence):
    evidence.table("t", ["k", "v"], [["a", 1]])

@pytest.mark.claim("FAIL-1")
def test_fail1(evidence):
    evidence.number("y", 2.0)
    assert 1 == 2, "the claim fails"

@pytest.mark.claim("CRASH-1")
def test_crash1_fine():
    pass

@pytest.mark.claim("CRASH-1")
def test_crash1_dies(request):
    if hasattr(request.config, "workerinput"):  # kill this xdist worker; in-process, pass
        os._exit(1)

@pytest.mark.claim("SLOW-1")
def test_slow1_fast():
    pass

@pytest.mark.slow
@pytest.mark.claim("SLOW-1")
def test_slow1_slow():
    assert False, "never selected by -m 'not slow'"

@pytest.mark.claim("K-1")
def test_k1_kept():
    pass

@pytest.mark.claim("K-1")
def test_k1_kdrop():
    assert False, "never selected by -k 'not kdrop'"

@pytest.mark.claim("XPASS-1")
@pytest.mark.xfail(reason="expected to fail", strict=False)
def test_xpass1():
    pass

@pytest.mark.claim("XPASS-2")
@pytest.mark.xfail(reason="expected to fail", strict=True)
def test_xpass2_strict():
    pass

@pytest.mark.claim("XFAIL-1")
@pytest.mark.xfail(reason="expected to fail")
def test_xfail1():
    assert False

@pytest.fixture
def breaks_on_teardown():
    yield
    raise RuntimeError("teardown broke")

@pytest.fixture
def breaks_on_setup():
    raise RuntimeError("setup broke")

@pytest.mark.claim("TEARDOWN-1")
def test_teardown1(breaks_on_teardown):
    pass

@pytest.mark.claim("SETUP-1")
def test_setup1(breaks_on_setup):
    pass

@pytest.mark.claim("SKIP-1")
def test_skip1():
    pytest.skip("not checked here")

@pytest.mark.claim("D-1")
@pytest.mark.parametrize("k", range(3))
def test_d1(k, evidence):
    evidence.number("k", k)

def test_unmarked():
    pass
'''

INI = "[pytest]\nmarkers =\n    slow: slow checks\n"


def run(pytester, *args, suite=SUITE):
    """Run the suite in a subprocess; (result, evidence document, claims --json rows by id)."""
    pytester.makepyfile(test_suite=suite)
    pytester.makeini(INI)
    out = pytester.path / "evidence.json"
    # xdist needs a subprocess; without it an in-process run is as faithful and far cheaper.
    common = ("-p", "no:cacheprovider", f"--evidence={out}", *args)
    if "-n" in args:
        result = pytester.runpytest_subprocess(*common)
    else:  # a KeyboardInterrupt in the inner run must not stop this one
        result = pytester.runpytest_inprocess(*common, no_reraise_ctrlc=True)
    doc = json.loads(out.read_text())
    return result, doc, doc["claims"]


def claims_json(path, capsys):
    capsys.readouterr()  # drop pytester's own output
    assert main(["claims", "--json", "--from", str(path)]) == 0
    return {r["id"]: r for r in json.loads(capsys.readouterr().out)}


def status(doc, cid):
    return claim_status(doc["claims"].get(cid), doc["meta"])


@pytest.mark.parametrize("xdist", [["-p", "no:xdist"], ["-n", "2"]], ids=["inprocess", "xdist"])
def test_every_false_green_path_is_not_verified(pytester, capsys, xdist):
    result, doc, claims = run(pytester, *xdist, "-m", "not slow", "-k", "not kdrop")
    # The control: all of PG-1's tests ran and passed, so it is verified, in the file and
    # through `pgproofs claims`.
    assert claims["PG-1"]["outcome"] == "passed" and claims["PG-1"]["reason"] == ""
    assert status(doc, "PG-1") == ("verified", "")
    rows = claims_json(pytester.path / "evidence.json", capsys)
    assert rows["PG-1"]["status"] == "verified"

    selection = "-m 'not slow' -k 'not kdrop'"
    expect = {  # claim: (status, reason)
        "FAIL-1": ("failed", "1 of 1 tests did not pass: 1 failed"),
        # pytest does not say which option deselected a test, so the reason names them all.
        "SLOW-1": ("unverified", f"1 of 2 tests ran and passed: 1 deselected by {selection}"),
        "K-1": ("unverified", f"1 of 2 tests ran and passed: 1 deselected by {selection}"),
        "XPASS-1": ("unverified", "0 of 1 tests ran and passed: 1 passed while marked xfail "
                                "(XPASS)"),
        "XPASS-2": ("failed", "1 of 1 tests did not pass: 1 failed"),  # strict: pytest fails it
        "XFAIL-1": ("failed", "1 of 1 tests did not pass: 1 failed (marked xfail)"),
        "TEARDOWN-1": ("failed", "1 of 1 tests did not pass: 1 errored in setup or teardown"),
        "SETUP-1": ("failed", "1 of 1 tests did not pass: 1 errored in setup or teardown"),
        "SKIP-1": ("unverified", "0 of 1 tests ran and passed: 1 skipped"),
    }
    if xdist[0] == "-n":
        expect["CRASH-1"] = ("failed", "1 of 2 tests did not pass: 1 crashed its worker")
        assert claims["CRASH-1"]["results"]["test_suite.py::test_crash1_dies"] == "crashed"
        assert "crashed while running" in claims["CRASH-1"]["failures"][0]["text"]
    for cid, (want, reason) in expect.items():
        assert status(doc, cid) == (want, reason), cid
        assert claims[cid]["reason"] == reason, cid
        assert claims[cid]["outcome"] == ("failed" if want == "failed" else "incomplete"), cid
    # The evidence lists every collected test of a claim, deselected ones included.
    assert claims["SLOW-1"]["results"] == {"test_suite.py::test_slow1_fast": "passed",
                                           "test_suite.py::test_slow1_slow": "deselected"}
    assert claims["K-1"]["results"]["test_suite.py::test_k1_kdrop"] == "deselected"
    # A registry claim that no test is marked with: unverified, and says why.
    assert rows["PG-2"]["status"] == "unverified"
    assert rows["PG-2"]["reason"] == "no test ran: no test marked with it was collected"
    assert all(r["reason"] for r in rows.values() if r["status"] != "verified")
    # Evidence is aggregated across workers, kept for failed tests, and tagged with its test.
    assert claims["SHARED-1"]["outcome"] == "passed"
    assert claims["D-1"]["outcome"] == "passed" and len(claims["D-1"]["tests"]) == 3
    assert [e["kind"] for e in claims["PG-1"]["evidence"]] == ["number", "text", "table"]
    assert claims["FAIL-1"]["evidence"][0]["value"] == 2.0
    assert claims["FAIL-1"]["evidence"][0]["test"] == "test_suite.py::test_fail1"
    assert "the claim fails" in claims["FAIL-1"]["failures"][0]["text"]
    meta = doc["meta"]
    if xdist[0] == "-n":
        assert len(meta["workers"]) >= 2 and all(w.startswith("gw") for w in meta["workers"])
    assert meta["versions"]["numpy"]
    assert meta["exitstatus"] == 1
    assert meta["selection"] == {"markexpr": "not slow", "keyword": "not kdrop", "deselect": [],
                                 "paths": []}


GROUPED = '''
import pytest

@pytest.mark.xdist_group("g")
@pytest.mark.claim("PG-1")
def test_pg1_a():
    pass

@pytest.mark.xdist_group("g")
@pytest.mark.claim("PG-1")
def test_pg1_b():
    pass

@pytest.mark.xdist_group("g")
@pytest.mark.claim("G-1")
def test_g1_fails():
    assert False, "a grouped failure"

@pytest.mark.xdist_group("g")
@pytest.mark.claim("G-2")
def test_g2_fast():
    pass

@pytest.mark.slow
@pytest.mark.xdist_group("g")
@pytest.mark.claim("G-2")
def test_g2_slow():
    pass
'''


def test_loadgroup_ids_are_the_plain_node_ids_and_verdicts_are_unchanged(pytester):
    """Under `--dist loadgroup` (the project's addopts) xdist appends "@group" to the node ids in
    its workers but not to a deselected test's; the evidence keeps one plain id per test, so a
    claim's selected and deselected tests still add up."""
    result, doc, claims = run(pytester, "-n", "2", "--dist", "loadgroup", "-m", "not slow",
                              suite=GROUPED)
    result.assert_outcomes(passed=3, failed=1)
    assert claims["PG-1"]["tests"] == ["test_suite.py::test_pg1_a", "test_suite.py::test_pg1_b"]
    assert status(doc, "PG-1") == ("verified", "")
    assert status(doc, "G-1") == ("failed", "1 of 1 tests did not pass: 1 failed")
    assert claims["G-1"]["failures"][0]["test"] == "test_suite.py::test_g1_fails"
    assert claims["G-2"]["results"] == {"test_suite.py::test_g2_fast": "passed",
                                        "test_suite.py::test_g2_slow": "deselected"}
    assert status(doc, "G-2") == ("unverified",
                                  "1 of 2 tests ran and passed: 1 deselected by -m 'not slow'")
    # The group ran on one worker: that is what lets the CartPole tests share their training
    # runs. pytest 9.2 with pytest-xdist 3.8 drops the groups without a word (xdist#1386).
    workers = {w for c in ("PG-1", "G-1", "G-2") for w in claims[c]["workers"]}
    assert len(workers) == 1, f"the xdist group was split over the workers {sorted(workers)}"


INTERRUPTED = '''
import os
import pytest

@pytest.mark.claim("PG-1")
def test_pg1_done_before():
    pass

@pytest.mark.claim("INT-1")
def test_int1_first():
    pass

@pytest.mark.claim("INT-1")
def test_int1_stops():
    if os.environ["HOW"] == "interrupt":
        raise KeyboardInterrupt
    if os.environ["HOW"] == "exit":
        pytest.exit("enough")
    assert False, "fails, and -x stops the run here"

@pytest.mark.claim("LATE-1")
def test_late1():
    pass
'''


@pytest.mark.parametrize("how, xdist", [
    ("interrupt", ["-p", "no:xdist"]), ("interrupt", ["-n", "2"]),
    ("exit", ["-p", "no:xdist"]), ("x", ["-p", "no:xdist", "-x"]),
], ids=["KeyboardInterrupt", "KeyboardInterrupt-xdist", "pytest.exit", "-x"])
def test_a_stopped_run_verifies_nothing_it_did_not_finish(pytester, monkeypatch, how, xdist):
    monkeypatch.setenv("HOW", how)
    result, doc, claims = run(pytester, *xdist, suite=INTERRUPTED)
    stopped = {"interrupt": "keyboard", "exit": "enough", "x": "stopping after 1 failures"}[how]
    assert stopped in doc["meta"]["stopped"].lower()
    int1 = status(doc, "INT-1")
    assert int1.status == ("failed" if how == "x" else "unverified"), int1
    if how != "x":  # the interrupted test is "not run", and the reason says the run stopped
        assert claims["INT-1"]["results"]["test_suite.py::test_int1_stops"] == "not run"
        assert int1.reason.startswith("1 of 2 tests ran and passed: 1 not run; the run "
                                      "stopped early (")
        assert stopped in int1.reason.lower()
    if xdist[0] != "-n":  # in-process, the order is fixed: the later test never ran
        late = status(doc, "LATE-1")
        assert late.status == "unverified"
        assert late.reason.startswith("0 of 1 tests ran and passed: 1 not run; the run "
                                      "stopped early (")
        assert status(doc, "PG-1").status == "verified"  # finished before the stop: the control
    assert doc["meta"]["exitstatus"] == (1 if how == "x" else 2)


def test_a_run_of_some_files_verifies_nothing(pytester):
    # A file argument: the claim's tests in other files were never looked for.
    result, doc, claims = run(pytester, "-p", "no:xdist", "test_suite.py", "-k", "pg1")
    assert doc["meta"]["selection"]["paths"] == ["test_suite.py"]
    assert status(doc, "PG-1") == ("unverified", "the run collected only test_suite.py, so "
                                   "tests of this claim elsewhere were not looked for")
    assert claims["PG-1"]["outcome"] == "incomplete"


def test_a_file_that_fails_to_collect_leaves_every_claim_unverified(pytester):
    # Its tests (of any claim) never ran; the run goes on past it only when asked to.
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    result, doc, claims = run(pytester, "-p", "no:xdist", "--continue-on-collection-errors",
                              "-k", "pg1")
    assert doc["meta"]["collection_errors"] == ["test_broken.py"]
    assert status(doc, "PG-1") == ("unverified", "1 test file(s) failed to collect "
                                   "(test_broken.py), so tests of this claim there did not run")


@pytest.mark.parametrize("meta, reason", [
    ({"format": None}, "the evidence file has format None, not 2: an older pgproofs"),
    ({"format": 1}, "the evidence file has format 1, not 2"),
    ({"collection_unknown": True}, "no xdist worker reported what it collected"),
    ({"selection": {"paths": ["tests/x.py::test_a"]}}, "the run collected only"),
    ({"collection_errors": ["tests/x.py"]}, "1 test file(s) failed to collect"),
])
def test_a_run_that_cannot_know_every_test_of_a_claim_verifies_nothing(meta, reason):
    entry = {"outcome": "passed", "tests": ["t"], "results": {"t": "passed"}}
    assert claim_status(entry, {"format": EVIDENCE_FORMAT}) == ("verified", "")  # the control
    got = claim_status(entry, {"format": EVIDENCE_FORMAT, **meta})
    assert got.status == "unverified" and got.reason.startswith(reason)


def test_evidence_fixture_requires_a_claim_marker(pytester):
    pytester.makepyfile("def test_x(evidence):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--no-evidence")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the evidence fixture needs @pytest.mark.claim*"])


def test_evidence_rejects_malformed_tables_and_curves():
    from pgproofs.evidence import Evidence
    ev = Evidence()
    with pytest.raises(ValueError, match="rows: a row has 1 cells, columns has 2"):
        ev.table("t", ["a", "b"], [[1]])
    with pytest.raises(ValueError, match="series: 'y' has 2 points, x has 3"):
        ev.curve("c", [1, 2, 3], {"y": [1, 2]}, xlabel="x", ylabel="y")


TRANSLATED = '''
import pytest

@pytest.mark.claim("T-1")
def test_bilingual(evidence):
    evidence.text("Exact.", zh="精确。")

@pytest.mark.claim("T-2")
def test_english_only(evidence):
    evidence.text("Exact.")
'''


def test_an_untranslated_caption_fails_its_claim_when_translation_is_required(pytester):
    # The suite's own setting: a caption without Chinese is an error in the test that
    # records it, so its claim cannot come out verified with a half-translated report.
    pytester.makepyfile(test_suite=TRANSLATED)
    out = pytester.path / "evidence.json"
    for required, t2 in (("true", "failed"), ("false", "verified")):
        pytester.makeini(f"[pytest]\npgproofs_require_translation = {required}\n")
        pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--evidence={out}")
        doc = json.loads(out.read_text())
        assert status(doc, "T-1").status == "verified"
        assert status(doc, "T-2").status == t2, required
        assert doc["claims"]["T-1"]["evidence"][0]["zh"] == {"text": "精确。"}
    pytester.makeini("[pytest]\npgproofs_require_translation = true\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", f"--evidence={out}")
    result.stdout.re_match_lines([r".*zh: this text has no Chinese for \['text'\].*"])
