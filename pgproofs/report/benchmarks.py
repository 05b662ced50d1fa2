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


class _Words:
    """Picks a label in the report's language; every label is written in both, side by side."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, en: str, zh: str) -> str:
        return en if self.lang == "en" else zh


def _num(x: Any, digits: int = 3, t: _Words = _Words("en")) -> str:
    """A short number; the benchmarks write an unsolved run's infinite median as "inf"."""
    if x in ("inf", float("inf")):
        return t("not solved", "未解决")
    if isinstance(x, str):
        return x
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return format(x, f".{digits}g") if isinstance(x, float) else str(x)


Table = tuple[list[str], list[list[str]]]


def _engine(d: dict, t: _Words) -> Table:
    s = d["sampler"]
    return [t("measure", "测量项"), t("result", "结果"), t("target", "目标")], [
        ["exact.policy_gradient, |S| = |A| = 5, T = 100",
         f"{_num(d['policy_gradient_ms']['median'])} ms", "< 50 ms"],
        [t("mdp.sample throughput, one core", "mdp.sample 吞吐量（单核）"),
         f"{s['transitions_per_s'] / 1e6:.2f} M " + t("transitions/s", "次转移/秒"), ">= 2 M/s"],
        [t("ratio vs a plain per-step loop (rng.choice)", "相对逐步朴素循环（rng.choice）的倍数"),
         f"{s['ratio_vs_python_loop']:.0f}x", ">= 50x"],
        [t("ratio vs a tuned pure-Python loop (bisect)", "相对调优的纯 Python 循环（bisect）的倍数"),
         f"{s['ratio_vs_tuned_python_loop']:.1f}x", t("(shown for honesty)", "（如实列出）")]]


def _variance(d: dict, t: _Words) -> Table:
    rows = [[name, f"{_num(v['median_s'])} s", "< 1 s"]
            for name, v in d["exact_covariance_s"].items()]
    e = d["enumeration_vs_dp_T3"]
    rows.append([t(f"enumeration / DP at T = 3 ({e['trajectories']} trajectories)",
                   f"枚举 / 动态规划，T = 3（{e['trajectories']} 条轨迹）"),
                 f"{e['ratio']:.1f}x", ""])
    return [t("exact covariance by DP, |S| = |A| = 5, T = 100",
              "动态规划求精确协方差，|S| = |A| = 5，T = 100"),
            t("median", "中位数"), t("target", "目标")], rows


def _importance(d: dict, t: _Words) -> Table:
    w = d["weight_moments_ms"]
    return [t("measure", "测量项"), t("result", "结果"), t("target", "目标")], [
        [t("E[w], E[w^2] by DP, |S| = |A| = 5, T = 100",
           "动态规划求 E[w]、E[w^2]，|S| = |A| = 5，T = 100"), f"{_num(w['median'])} ms",
         "< 100 ms"],
        [t("the same at T = 1000", "同上，T = 1000"), f"{_num(w['median_at_T_1000'])} ms", ""],
        [t("largest |DP - enumeration|", "|动态规划 − 枚举| 的最大值"),
         _num(d["dp_vs_enumeration"]["max_abs_diff"]), "<= 1e-9"]]


def _natural(d: dict, t: _Words) -> Table:
    return ([t("policy", "策略"), t("parameters", "参数个数"), t("form F and solve", "构造 F 再求解"),
             t("CG on FVPs", "基于费舍尔向量积的共轭梯度"), t("ratio", "倍数"),
             t("CG rel. error", "共轭梯度相对误差")],
            [[c["policy"], str(c["parameters"]), f"{_num(c['explicit_seconds'])} s",
              f"{_num(c['fvp_cg_seconds'])} s", f"{c['ratio_explicit_over_cg']:.0f}x",
              _num(c["cg_relative_error_vs_explicit"])] for c in d["cases"]])


def _cartpole(d: dict, t: _Words) -> Table:
    ppo = d["summary"].get("sb3-ppo", {}).get("median_wall_s")
    rows = []
    for name, s in d["summary"].items():
        wall = s["median_wall_s"]
        ratio = (wall / ppo if isinstance(wall, float) and isinstance(ppo, float) and ppo > 0
                 else "")
        rows.append([name, f"{s['solved']}/{s['seeds']}", _num(s["median_env_steps"], 6, t),
                     f"{_num(wall, t=t)} s" if isinstance(wall, float) else _num(wall, t=t),
                     _num(ratio, 2) if ratio != "" else "-"])
    return [t("learner", "学习器"), t("solved", "解决"), t("median env steps", "环境步数中位数"),
            t("median training time", "训练时间中位数"), t("wall / PPO", "耗时 / PPO")], rows


def _calibration(d: dict, t: _Words) -> Table:
    alphas = [str(a) for a in d["alphas"]]
    rows = [[f"{r['mdp']} / {r['estimator']}", str(r["n_batches"]), r["method"],
             *[_num(r["alphas"][a]["rate"]) for a in alphas]] for r in d["false_alarms"]]
    return [t("MDP / estimator", "MDP / 估计量"), "n", t("test", "检验"),
            *[t(f"rate at alpha = {a}", f"alpha = {a} 时的误报率") for a in alphas]], rows


# file stem -> (title in each language, summariser, plot file or None, re-measuring command)
KNOWN: dict[str, tuple[tuple[str, str], Callable[[dict, _Words], Table], str | None, str]] = {
    "bench-engine": (("Exact engine and sampler", "精确计算引擎与采样器"), _engine, None,
                     "python benchmarks/bench_engine.py"),
    "bench-variance": (("Exact covariance by dynamic programming", "动态规划求精确协方差"),
                       _variance, None, "python benchmarks/bench_variance.py"),
    "bench-importance": (("Importance-weight moments by dynamic programming",
                          "动态规划求重要性权重的矩"), _importance, None,
                         "python benchmarks/bench_importance.py"),
    "bench-natural": (("Natural gradient: conjugate gradient vs forming F",
                       "自然梯度：共轭梯度与显式构造 F 的对比"), _natural, None,
                      "python benchmarks/bench_natural.py"),
    "bench-cartpole": (("CartPole-v1: the learners against SB3 PPO (same seeds, same protocol)",
                        "CartPole-v1：各学习器与 SB3 PPO 的对比（相同种子、相同评测流程）"),
                       _cartpole, "bench-cartpole.svg", "python benchmarks/cartpole.py"),
    "bench-calibration": (("False-alarm rate and power of check.mc_unbiased",
                           "check.mc_unbiased 的误报率与检验功效"), _calibration,
                          "calibration-power.svg", "python benchmarks/calibration.py"),
}

# Results shown by file name only, with the script that writes them (default: bench_<name>.py).
SCRIPTS: dict[str, str] = {
    "bench-surveys": "python benchmarks/surveys.py",
    "bench-mutation": "python benchmarks/mutation.py",
    "bench-real-libraries": "python benchmarks/real_libraries.py",
    "bench-mc-advantages-calibration": "python benchmarks/mc_advantages.py",
    "bench-mc-advantages-power": "python benchmarks/mc_advantages.py",
    "bench-mc-advantages-witness": "python benchmarks/mc_advantages.py",
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


def collect(directory: str | Path, lang: str = "en") -> list[dict[str, Any]]:
    """One view per ``bench-*.json`` in ``directory``, known ones first in a fixed order, with
    the labels in ``lang``; a result this version does not know is listed by file name."""
    t = _Words(lang)
    directory = Path(directory)
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("bench-*.json"),
                   key=lambda p: (list(KNOWN).index(p.stem) if p.stem in KNOWN else len(KNOWN),
                                  p.name))
    views = []
    for path in files:
        titles, summarise, plot, command = KNOWN.get(
            path.stem, ((path.stem, path.stem), None, None, SCRIPTS.get(
                path.stem, f"python benchmarks/{path.stem.replace('-', '_')}.py")))
        view: dict[str, Any] = {"file": path.name, "title": t(*titles), "command": command,
                                "columns": [], "rows": [], "error": None, "svg": None}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            view["created"] = data.get("created") or data.get("meta", {}).get("created", "")
            view["passes"] = data.get("passes_targets")
            if summarise is not None:
                view["columns"], view["rows"] = summarise(data, t)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            view["error"] = t(f"could not read {path.name}: {type(exc).__name__}: {exc}",
                              f"无法读取 {path.name}：{type(exc).__name__}: {exc}")
        if plot:
            view["svg"] = _inline_svg(directory / plot)
        views.append(view)
    return views
