"""The package's imports point one way: scripts/import_graph.py finds no cycle.

The script reads the sources with ``ast``; the same checks run on a tiny
package made here with a known circle, a private import and a layer
violation, so the script is shown able to fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "import_graph.py"


def import_graph(package: Path, *flags: str) -> tuple[int, dict]:
    """Run the script on ``package``; (exit status, its JSON result)."""
    proc = subprocess.run([sys.executable, str(SCRIPT), "--package", str(package), "--json",
                           *flags], capture_output=True, text=True, timeout=120)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"import_graph.py failed:\n{proc.stderr}")
    return proc.returncode, json.loads(proc.stdout)


def assert_acyclic(package: Path) -> dict:
    """AssertionError listing every circle of the package's import graph."""
    status, result = import_graph(package)
    circles = [" -> ".join(c["circle"]) for c in result["cycles"]]
    assert not circles and status == 0, "import cycles: " + "; ".join(circles)
    return result


def test_the_package_has_no_import_cycles():
    result = assert_acyclic(ROOT / "pgproofs")
    assert "pgproofs.check" in result["graph"]          # the graph really was read


def test_no_layer_violations_or_private_names_in_the_checks_and_engines():
    """check <-> montecarlo was a circle through check's private _estimate; no longer."""
    _, result = import_graph(ROOT / "pgproofs")
    mine = {"pgproofs.check", "pgproofs.montecarlo", "pgproofs.moments", "pgproofs.variance",
            "pgproofs.estimators", "pgproofs.testing", "pgproofs.verify"}
    bad = [v for v in result["layer_violations"] if v["module"] in mine]
    bad += [p for p in result["private_imports"] if p["module"] in mine]
    assert not bad, bad
    assert "pgproofs.check" not in result["graph"]["pgproofs.montecarlo"]


@pytest.fixture
def tangled(tmp_path: Path) -> Path:
    """pkg.a <-> pkg.b through a deferred import; pkg.mdp (model) imports pkg.check."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg import b\n\ndef f():\n    return b._hidden\n")
    (pkg / "b.py").write_text("def g():\n    from pkg.a import f\n    return f\n_hidden = 1\n")
    (pkg / "mdp.py").write_text("from pkg.check import x\n")
    (pkg / "check.py").write_text("x = 1\n")
    return pkg


def test_the_script_rejects_a_circle_and_reports_private_names_and_layers(tangled):
    with pytest.raises(AssertionError, match=r"import cycles: pkg\.a -> pkg\.b -> pkg\.a"):
        assert_acyclic(tangled)
    status, result = import_graph(tangled)
    assert status == 1
    assert [(p["module"], p["name"]) for p in result["private_imports"]] == [("pkg.a", "_hidden")]
    assert [(v["module"], v["imports"]) for v in result["layer_violations"]] == \
        [("pkg.mdp", "pkg.check")]
    assert result["graph"]["pkg.b"] == {"pkg.a": "deferred"}
