"""CartPole-v1 benchmark: the four pgproofs learners against SB3 PPO, same seeds, same protocol.

    python benchmarks/cartpole.py [--seeds 10] [--out reports/bench-cartpole.json]
                                  [--plot reports/bench-cartpole.svg] [--no-sb3]

Every learner, ours and Stable-Baselines3 PPO with the RL Zoo CartPole-v1
hyperparameters (8 envs, n_steps 32, batch 256, 20 epochs, gamma 0.98,
GAE 0.8, learning rate and clip range decayed linearly from 1e-3 and 0.2 over
1e5 steps), is run under the protocol of pgproofs.cartpole.evaluate: every
5,000 env steps 20 fresh greedy episodes, confirmed on 100 more when their
mean is >= 475; a confirmed run stops. Env steps and training wall time
(evaluation excluded) are counted up to the confirmed evaluation; a run that
is not solved by 100k steps counts as infinite in the medians.

One torch thread. Seeds run in the outer loop and learners in the inner one,
so a change in machine load during the run touches every learner alike; wall
times are only compared within one run (ratios to SB3 PPO). SB3 is the
optional ``bench`` extra: ``pip install -e .[bench]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from pgproofs.cartpole import ALGOS
from pgproofs.cartpole.evaluate import Evaluator, SolvedProtocol, curve_on_grid
from pgproofs.cartpole.learner import Config, train
from pgproofs.evidence import jsonable

MAX_STEPS = 100_000
SB3 = "sb3-ppo"
TARGETS = ("rtg-baseline", "npg")  # the learners the acceptance criteria are about


def run_ours(algo: str, seed: int) -> dict:
    r = train(Config(algo=algo, seed=seed, max_env_steps=MAX_STEPS))
    return r.to_json()


def run_sb3_ppo(seed: int) -> dict:
    """SB3 PPO with the RL Zoo CartPole-v1 settings under the same protocol."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
                n_epochs=20, ent_coef=0.0, learning_rate=lambda p: 1e-3 * p,
                clip_range=lambda p: 0.2 * p, seed=seed, device="cpu", verbose=0)
    evaluator = Evaluator(seed, SolvedProtocol())

    def greedy(obs):
        return model.predict(obs, deterministic=True)[0]

    class Protocol(BaseCallback):
        def _on_training_start(self) -> None:
            self.start, self.eval_s, self.last, self.curve = time.perf_counter(), 0.0, None, []

        def _on_step(self) -> bool:
            steps = self.model.num_timesteps
            if not evaluator.due(steps):
                return True
            wall = time.perf_counter() - self.start - self.eval_s
            self.last = ev = evaluator.evaluate(greedy, steps)
            self.eval_s += ev.seconds
            self.curve.append({"env_steps": steps, "wall_s": wall, "eval_mean": ev.mean,
                               "confirm_mean": ev.confirm_mean, "train_return": None})
            self.wall = wall
            return not ev.solved

    cb = Protocol()
    model.learn(total_timesteps=MAX_STEPS, callback=cb)
    if torch.get_num_threads() != 1:
        raise RuntimeError("SB3 changed the torch thread count; the comparison needs 1")
    last = cb.last
    solved = bool(last is not None and last.solved)
    return {"algo": SB3, "seed": seed, "solved": solved,
            "env_steps": last.env_steps if last else model.num_timesteps,
            "wall_s": cb.wall if last else time.perf_counter() - cb.start - cb.eval_s,
            "eval_return_mean": (last.confirm_mean if last and last.confirm_mean is not None
                                 else (last.mean if last else float("nan"))),
            "eval_episodes": last.episodes if last else 0, "curve": cb.curve,
            "config": {"n_envs": 8, "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8,
                       "gamma": 0.98, "n_epochs": 20, "ent_coef": 0.0,
                       "learning_rate": "lin_1e-3 over 1e5 steps",
                       "clip_range": "lin_0.2 over 1e5 steps"}}


def quartiles(x: np.ndarray) -> list[float]:
    """Lower and upper quartile without interpolation (unsolved runs are inf)."""
    return [float(np.percentile(x, 25, method="lower")),
            float(np.percentile(x, 75, method="higher"))]


def summarise(runs: list[dict]) -> dict:
    steps = np.array([r["env_steps"] if r["solved"] else np.inf for r in runs], float)
    wall = np.array([r["wall_s"] if r["solved"] else np.inf for r in runs], float)
    return {"seeds": len(runs), "solved": int(sum(r["solved"] for r in runs)),
            "median_env_steps": float(np.median(steps)), "env_steps_q25_q75": quartiles(steps),
            "median_wall_s": float(np.median(wall)), "wall_s_q25_q75": quartiles(wall)}


def plot(runs: dict, path: Path) -> None:
    """Left: median greedy return over seeds (quartile band). Right: steps to solve per seed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    every = SolvedProtocol.every
    x = np.arange(every, MAX_STEPS + 1, every)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    for i, (algo, rs) in enumerate(runs.items()):
        grid = np.array([curve_on_grid(r["curve"], every, MAX_STEPS) for r in rs])
        line, = ax.plot(x, np.nanmedian(grid, 0), label=algo, lw=1.8)
        ax.fill_between(x, np.nanpercentile(grid, 25, 0), np.nanpercentile(grid, 75, 0),
                        color=line.get_color(), alpha=0.18)
        solved = [r["env_steps"] for r in rs if r["solved"]]
        failed = sum(not r["solved"] for r in rs)
        jitter = np.linspace(-0.15, 0.15, len(solved)) if solved else []
        ax2.scatter(np.full(len(solved), i) + jitter, solved, s=14, color=line.get_color())
        if failed:
            ax2.scatter([i], [MAX_STEPS * 1.08], marker="x", color=line.get_color())
            ax2.annotate(f"{failed} unsolved", (i, MAX_STEPS * 1.08), fontsize=7,
                         xytext=(4, 4), textcoords="offset points")
    ax.axhline(SolvedProtocol.threshold, color="0.4", ls="--", lw=1, label="475 (solved)")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("greedy mean return (20 fresh episodes)")
    ax.set_title(f"median over {len(next(iter(runs.values())))} seeds; band: quartiles; "
                 "solved runs hold their confirmed mean", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_ylim(0, 520)
    ax2.set_xticks(range(len(runs)), list(runs), rotation=30, fontsize=8)
    ax2.set_ylabel("env steps to a confirmed solve")
    ax2.set_ylim(0, MAX_STEPS * 1.15)
    ax2.set_title("each seed (x: not solved by 100k)", fontsize=9)
    fig.suptitle("CartPole-v1, same protocol and seeds for every learner", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def table(summary: dict, ref: dict | None) -> str:
    head = (f"{'learner':<14}{'solved':>8}{'median steps':>14}{'steps IQR':>18}"
            f"{'median wall s':>15}{'wall / PPO':>12}{'steps / PPO':>13}")
    lines = [head, "-" * len(head)]
    for algo, s in summary.items():
        q = s["env_steps_q25_q75"]
        wr = sr = ""
        if ref is not None:
            wr = f"{s['median_wall_s'] / ref['median_wall_s']:.2f}"
            sr = f"{s['median_env_steps'] / ref['median_env_steps']:.2f}"
        lines.append(f"{algo:<14}{s['solved']:>5}/{s['seeds']:<2}{s['median_env_steps']:>14,.0f}"
                     f"{f'{q[0]:,.0f}-{q[1]:,.0f}':>18}{s['median_wall_s']:>15.2f}{wr:>12}{sr:>13}")
    return "\n".join(lines)


def versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("pgproofs", "torch", "gymnasium", "numpy", "stable-baselines3"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("reports/bench-cartpole.json"))
    ap.add_argument("--plot", type=Path, default=Path("reports/bench-cartpole.svg"))
    ap.add_argument("--no-sb3", action="store_true", help="skip SB3 PPO (not installed)")
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {args.seeds}")
    torch.set_num_threads(1)
    learners = list(ALGOS) + ([] if args.no_sb3 else [SB3])
    runs: dict[str, list[dict]] = {a: [] for a in learners}
    load_before = os.getloadavg()
    start = time.perf_counter()
    for seed in range(args.seeds):
        for algo in learners:
            r = run_sb3_ppo(seed) if algo == SB3 else run_ours(algo, seed)
            runs[algo].append(r)
            print(f"seed {seed} {algo:<13} solved={r['solved']!s:<5} steps={r['env_steps']:>7,} "
                  f"wall={r['wall_s']:6.2f}s eval={r['eval_return_mean']:.1f}", flush=True)
    summary = {a: summarise(rs) for a, rs in runs.items()}
    ref = summary.get(SB3)
    acceptance = {}
    for a in TARGETS:
        s = summary[a]
        acceptance[a] = {
            "solved_at_least_9_of_10": s["solved"] >= 0.9 * s["seeds"],
            "median_env_steps_at_most_25k": s["median_env_steps"] <= 25_000,
            "median_wall_below_sb3_ppo": (None if ref is None
                                          else s["median_wall_s"] < ref["median_wall_s"]),
            "wall_ratio_to_sb3_ppo": (None if ref is None
                                      else s["median_wall_s"] / ref["median_wall_s"])}
    text = table(summary, ref)
    print(text)
    print(json.dumps(jsonable(acceptance), indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable({
        "benchmark": "cartpole", "protocol": vars(SolvedProtocol()) | {"max_env_steps": MAX_STEPS},
        "summary": summary, "acceptance": acceptance, "table": text, "runs": runs,
        "meta": {"torch_threads": torch.get_num_threads(), "versions": versions(),
                 "python": platform.python_version(), "machine": platform.machine(),
                 "cpu_count": os.cpu_count(), "loadavg_before": load_before,
                 "loadavg_after": os.getloadavg(),
                 "total_s": time.perf_counter() - start}}), indent=1))
    plot(runs, args.plot)
    print(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
