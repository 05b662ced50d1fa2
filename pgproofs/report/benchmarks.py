"""Benchmark results beside the evidence: summary tables and their plots for the report.

The scripts in ``benchmarks/`` write ``bench-*.json`` (and some an SVG plot)
under ``reports/``. They are timings, not checks, so they never change a
claim's status; the report shows whichever results it finds next to the
evidence file, each with the command that re-measures it.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

__all__ = ["collect"]


def _num(x: Any, digits: int = 3) -> str:
    """A short number; the benchmarks write an unsolved run's infinite median as "inf"."""
    if x in ("inf", float("inf")):
        return "not solved"
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return format(x, f".{digits}g") if isinstance(x, float) else str(x)


def _engine(d: dict) -> tuple[list[str], list[list[str]]]:
    s = d["sampler"]
    return ["measure", "result", "target"], [
        ["exact.policy_gradient, |S| = |A| = 5, T = 100",
         f"{_num(d['policy_gradient_ms']['median'])} ms", "< 50 ms"],
        ["mdp.sample throughput, one core", f"{s['transitions_per_s'] / 1e6:.2f} M transitions/s",
         ">= 2 M/s"],
        ["ratio vs a plain per-step loop (rng.choice)", f"{s['ratio_vs_python_loop']:.0f}x", ">= 50x"],
        ["ratio vs a tuned pure-Python loop (bisect)",
         f"{s['ratio_vs_tuned_python_loop']:.1f}x", "(shown for honesty)"]]


def _variance(d: dict) -> tuple[list[str], list[list[str]]]:
    rows = [[name, f"{_num(t['median_s'])} s", "< 1 s"]
            for name, t in d["exact_covariance_s"].items()]
    e = d["enumeration_vs_dp_T3"]
    rows.append([f"enumeration / DP at T = 3 ({e['trajectories']} trajectories)",
                 f"{e['ratio']:.1f}x", ""])
    return ["exact covariance by DP, |S| = |A| = 5, T = 100", "median", "target"], rows


def _importance(d: dict) -> tuple[list[str], list[list[str]]]:
    w = d["weight_moments_ms"]
    return ["measure", "result", "target"], [
        ["E[w], E[w^2] by DP, |S| = |A| = 5, T = 100", f"{_num(w['median'])} ms", "< 100 ms"],
        ["the same at T = 1000", f"{_num(w['median_at_T_1000'])} ms", ""],
        ["largest |DP - enumeration|", _num(d["dp_vs_enumeration"]["max_abs_diff"]), "<= 1e-9"]]


def _natural(d: dict) -> tuple[list[str], list[list[str]]]:
    return (["policy", "parameters", "form F and solve", "CG on FVPs", "ratio", "CG rel. error"],
            [[c["policy"], str(c["parameters"]), f"{_num(c['explicit_seconds'])} s",
              f"{_num(c['fvp_cg_seconds'])} s", f"{c['ratio_explicit_over_cg']:.0f}x",
              _num(c["cg_relative_error_vs_explicit"])] for c in d["cases"]])


def _cartpole(d: dict) -> tuple[list[str], list[list[str]]]:
    ppo = d["summary"].get("sb3-ppo", {}).get("median_wall_s")
    rows = []
    for name, s in d["summary"].items():
        wall = s["median_wall_s"]
        ratio = (wall / ppo if isinstance(wall, float) and isinstance(ppo, float) and ppo > 0
                 else "")
        rows.append([name, f"{s['solved']}/{s['seeds']}", _num(s["median_env_steps"], 6),
                     f"{_num(wall)} s" if isinstance(wall, float) else _num(wall),
                     _num(ratio, 2) if ratio != "" else "-"])
    return ["learner", "solved", "median env steps", "median training time", "wall / PPO"], rows


def _calibration(d: dict) -> tuple[list[str], list[list[str]]]:
    alphas = [str(a) for a in d["alphas"]]
    rows = [[f"{r['mdp']} / {r['estimator']}", str(r["n_batches"]), r["method"],
             *[_num(r["alphas"][a]["rate"]) for a in alphas]] for r in d["false_alarms"]]
    return ["MDP / estimator", "n", "test", *[f"rate at alpha = {a}" for a in alphas]], rows


# file stem -> (title, summariser, plot file or None, command that re-measures it)
KNOWN: dict[str, tuple[str, Callable[[dict], tuple[list[str], list[list[str]]]], str | None, str]] = {
    "bench-engine": ("Exact engine and sampler", _engine, None, "python benchmarks/bench_engine.py"),
    "bench-variance": ("Exact covariance by dynamic programming", _variance, None,
                       "python benchmarks/bench_variance.py"),
    "bench-importance": ("Importance-weight moments by dynamic programming", _importance, None,
                         "python benchmarks/bench_importance.py"),
    "bench-natural": ("Natural gradient: conjugate gradient vs forming F", _natural, None,
                      "python benchmarks/bench_natural.py"),
    "bench-cartpole": ("CartPole-v1: the learners against SB3 PPO (same seeds, same protocol)",
                       _cartpole, "bench-cartpole.svg", "python benchmarks/cartpole.py"),
    "bench-calibration": ("False-alarm rate and power of check.mc_unbiased", _calibration,
                          "calibration-power.svg", "python benchmarks/calibration.py"),
}

# Anything that could run or fetch: scripts, event handlers, links to a scheme other than an
# in-page anchor or inline data.
_UNSAFE = re.compile(r"<script|<foreignObject|\son\w+\s*=|(?:href|src)\s*=\s*[\"']?\s*"
                     r"(?:https?|file|ftp|javascript):", re.I)


def _inline_svg(path: Path) -> Markup | None:
    """The SVG text without its XML prolog, or None if absent or if it could load anything."""
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    if start < 0 or _UNSAFE.search(text):
        return None
    return Markup(text[start:])


def collect(directory: str | Path) -> list[dict[str, Any]]:
    """One view per ``bench-*.json`` in ``directory``, known ones first in a fixed order."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("bench-*.json"),
                   key=lambda p: (list(KNOWN).index(p.stem) if p.stem in KNOWN else len(KNOWN),
                                  p.name))
    views = []
    for path in files:
        title, summarise, plot, command = KNOWN.get(
            path.stem, (path.stem, None, None, f"python benchmarks/{path.stem}.py"))
        view: dict[str, Any] = {"file": path.name, "title": title, "command": command,
                                "columns": [], "rows": [], "error": None, "svg": None}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            view["created"] = data.get("created") or data.get("meta", {}).get("created", "")
            view["passes"] = data.get("passes_targets")
            if summarise is not None:
                view["columns"], view["rows"] = summarise(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            view["error"] = f"could not read {path.name}: {type(exc).__name__}: {exc}"
        if plot:
            view["svg"] = _inline_svg(directory / plot)
        views.append(view)
    return views
