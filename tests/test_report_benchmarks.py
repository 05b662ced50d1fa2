"""The report's benchmark section: results beside the evidence, shown but never trusted blindly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pgproofs.report import load_evidence, write_report
from pgproofs.report.benchmarks import collect

SAMPLE = Path(__file__).resolve().parent / "data" / "evidence-sample.json"

ENGINE = {"policy_gradient_ms": {"median": 0.6},
          "sampler": {"transitions_per_s": 5.0e6, "ratio_vs_python_loop": 120.0,
                      "ratio_vs_tuned_python_loop": 4.5},
          "passes_targets": True, "created": "2026-11-25T00:00:00Z"}
CARTPOLE = {"summary": {"rtg": {"seeds": 10, "solved": 9, "median_env_steps": 10858.0,
                                "median_wall_s": 0.5},
                        "reinforce": {"seeds": 10, "solved": 3, "median_env_steps": "inf",
                                      "median_wall_s": "inf"},
                        "sb3-ppo": {"seeds": 10, "solved": 10, "median_env_steps": 22500.0,
                                    "median_wall_s": 5.0}}}
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'


def results(tmp_path: Path) -> Path:
    (tmp_path / "bench-engine.json").write_text(json.dumps(ENGINE))
    (tmp_path / "bench-cartpole.json").write_text(json.dumps(CARTPOLE))
    (tmp_path / "bench-cartpole.svg").write_text('<?xml version="1.0"?>\n' + SVG)
    return tmp_path


def test_known_results_become_tables_with_their_plot_in_a_fixed_order(tmp_path):
    views = collect(results(tmp_path))
    assert [v["file"] for v in views] == ["bench-engine.json", "bench-cartpole.json"]
    engine, cartpole = views
    assert engine["passes"] is True and ["ratio vs a plain per-step loop (rng.choice)", "120x",
                                         ">= 50x"] in engine["rows"]
    rows = {r[0]: r for r in cartpole["rows"]}
    assert rows["reinforce"][2] == "not solved" and rows["rtg"][4] == "0.1"  # 0.5 s / 5 s
    assert cartpole["svg"].startswith("<svg") and "<?xml" not in cartpole["svg"]


def test_a_plot_that_could_run_or_fetch_anything_is_not_inlined(tmp_path):
    results(tmp_path)
    for bad in ('<svg><script>alert(1)</script></svg>',
                '<svg><image href="https://example.org/x.png"/></svg>',
                '<svg onload="alert(1)"></svg>'):
        (tmp_path / "bench-cartpole.svg").write_text(bad)
        assert collect(tmp_path)[1]["svg"] is None, bad


def test_unreadable_or_unknown_results_are_reported_not_fatal(tmp_path):
    (tmp_path / "bench-engine.json").write_text("{not json")
    (tmp_path / "bench-mine.json").write_text(json.dumps({"passes_targets": False}))
    engine, mine = collect(tmp_path)
    assert engine["error"].startswith("could not read bench-engine.json") and not engine["rows"]
    assert mine["title"] == "bench-mine" and mine["passes"] is False
    assert mine["command"] == "python benchmarks/bench_mine.py"
    (tmp_path / "bench-surveys.json").write_text("{}")
    assert collect(tmp_path)[2]["command"] == "python benchmarks/surveys.py"
    assert collect(tmp_path / "absent") == []


def test_the_page_shows_benchmarks_without_changing_any_claim(tmp_path):
    doc = load_evidence(SAMPLE)
    plain = write_report(doc, tmp_path / "plain.html").read_text()
    shutil.copy(SAMPLE, results(tmp_path) / "evidence.json")
    page = write_report(doc, tmp_path / "index.html", benchmarks=tmp_path).read_text()
    assert 'id="benchmarks"' in page and 'id="benchmarks"' not in plain
    assert "python benchmarks/cartpole.py" in page and "10858" in page
    # the claims part of the page is the same with and without the benchmark section
    cut = page.index('<section id="benchmarks">')
    assert page[:cut] == plain[:cut]
