"""CartPole-v1 benchmark: the four pgproofs learners against SB3 PPO, same seeds, same protocol.

    python benchmarks/cartpole.py [--seeds 10] [--seed-sets tuning held-out]
                                  [--out reports/bench-cartpole.json]
                                  [--plot reports/bench-cartpole.svg] [--no-sb3]
                                  [--workers N | --serial | --ray ADDRESS]

Every learner, ours and Stable-Baselines3 PPO with the RL Zoo CartPole-v1
hyperparameters (8 envs, n_steps 32, batch 256, 20 epochs, gamma 0.98,
GAE 0.8, learning rate and clip range decayed linearly from 1e-3 and 0.2 over
1e5 steps), is run under the protocol of pgproofs.cartpole.evaluate: every
5,000 env steps 20 fresh greedy episodes, confirmed on 100 more when their
mean is >= 475; a confirmed run stops. Env steps and training wall time
(evaluation excluded) are counted up to the confirmed evaluation; a run that
is not solved by 100k steps counts as infinite in the medians.

Two seed sets: the defaults were tuned on seeds 0-9 ("tuning"); verdicts use
the held-out seeds 1000-1009 ("held-out"), which the top-level summary of the
JSON reports; each set has its own summary under "seed_sets".

Every (learner, seed) run is one job of a ``pgproofs.sweep`` grid with one
torch thread, on a local process pool by default (``--workers N``),
``--serial``, or Ray (``--ray local|auto|HOST:PORT``). Jobs start seed by seed
(all learners of a seed, then the next), so a change in machine load during
the run touches every learner alike; wall times are only compared within one
run (ratios to SB3 PPO), and on a pool they include the contention of the
other workers. SB3 is the optional ``bench`` extra: ``pip install -e .[bench]``.
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

from pgproofs import sweep
from pgproofs.cartpole import ALGOS
from pgproofs.cartpole.evaluate import Evaluator, SolvedProtocol, curve_on_grid
from pgproofs.cartpole.learner import Config, train
from pgproofs.evidence import jsonable

MAX_STEPS = 100_000
SB3 = "sb3-ppo"
TARGETS = ("rtg-baseline", "npg")  # the learners the acceptance criteria are about
SEED_SETS = {"tuning": 0, "held-out": 1000}   # first seed of each set
TIMING_KEYS = ("wall_s", "seconds")           # what may differ between executors


def run_learner(config: dict, seed: int) -> dict:
    """One sweep job: the learner ``config["algo"]`` (ours or SB3 PPO) on ``seed``."""
    return run_sb3_ppo(seed) if config["algo"] == SB3 else run_ours(config["algo"], seed)


def without_timing(run):
    """A run's JSON without wall times: what must be identical on every executor."""
    if isinstance(run, dict):
        return {k: without_timing(v) for k, v in run.items()
                if not any(k == t or k.endswith("_" + t) for t in TIMING_KEYS)}
    if isinstance(run, list):
        return [without_timing(v) for v in run]
    return run


def run_sweep(learners, seeds, **run_options) -> sweep.Sweep:
    """Every learner x seed, started seed-major; outcomes in grid order (learner-major)."""
    jobs = sweep.grid([{"algo": a} for a in learners], seeds)
    order = sorted(jobs, key=lambda j: (j.index % len(seeds), j.index))
    return sweep.run(run_learner, order, desc="cartpole", **run_options)


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


def report_seed_set(name: str, runs: dict[str, list[dict]]) -> dict:
    """Summary, acceptance and table of one seed set; printed as well."""
    summary = {a: summarise(rs) for a, rs in runs.items()}
    ref = summary.get(SB3)
    acceptance = {}
    for a in TARGETS:
        if a not in summary:
            continue
        s = summary[a]
        acceptance[a] = {
            "solved_at_least_9_of_10": s["solved"] >= 0.9 * s["seeds"],
            "median_env_steps_at_most_25k": s["median_env_steps"] <= 25_000,
            "median_wall_below_sb3_ppo": (None if ref is None
                                          else s["median_wall_s"] < ref["median_wall_s"]),
            "wall_ratio_to_sb3_ppo": (None if ref is None
                                      else s["median_wall_s"] / ref["median_wall_s"])}
    text = table(summary, ref)
    seeds = [r["seed"] for r in next(iter(runs.values()))]
    print(f"\n{name} seeds {seeds[0]}-{seeds[-1]}\n{text}")
    print(json.dumps(jsonable(acceptance), indent=1))
    return {"seeds": seeds, "summary": summary, "acceptance": acceptance, "table": text,
            "runs": runs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10, help="seeds per seed set")
    ap.add_argument("--seed-sets", nargs="+", choices=list(SEED_SETS),
                    default=list(SEED_SETS), help="tuning: 0, 1, ...; held-out: 1000, 1001, ...")
    ap.add_argument("--algos", nargs="+", choices=list(ALGOS) + [SB3], default=None,
                    help="learners to run (default: all four and SB3 PPO)")
    ap.add_argument("--out", type=Path, default=Path("reports/bench-cartpole.json"))
    ap.add_argument("--plot", type=Path, default=Path("reports/bench-cartpole.svg"))
    ap.add_argument("--no-sb3", action="store_true", help="skip SB3 PPO (not installed)")
    sweep.add_arguments(ap)
    args = ap.parse_args(argv)
    if args.seeds < 1:
        ap.error(f"--seeds must be >= 1, got {args.seeds}")
    torch.set_num_threads(1)
    learners = args.algos or (list(ALGOS) + [SB3])
    learners = [a for a in learners if not (args.no_sb3 and a == SB3)]
    seeds = [SEED_SETS[name] + i for name in args.seed_sets for i in range(args.seeds)]
    load_before = os.getloadavg()
    start = time.perf_counter()
    result = run_sweep(learners, seeds, **sweep.options(args))
    for o in result.outcomes:
        if o.ok:
            r = o.value
            print(f"seed {r['seed']} {r['algo']:<13} solved={r['solved']!s:<5} "
                  f"steps={r['env_steps']:>7,} wall={r['wall_s']:6.2f}s "
                  f"eval={r['eval_return_mean']:.1f}")
    if result.failures:  # a median over fewer seeds than stated would be a false figure
        raise sweep.SweepError(result.failures)
    by_algo = dict(zip(learners, np.array(result.values(), dtype=object).reshape(
        len(learners), len(seeds)).tolist()))
    sets = {}
    for name in args.seed_sets:
        first = SEED_SETS[name]
        sets[name] = report_seed_set(name, {a: [r for r in rs if first <= r["seed"] < first +
                                                args.seeds] for a, rs in by_algo.items()})
    main_set = sets.get("held-out") or next(iter(sets.values()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(jsonable({
        "benchmark": "cartpole", "protocol": vars(SolvedProtocol()) | {"max_env_steps": MAX_STEPS},
        "seed_set": "held-out" if "held-out" in sets else next(iter(sets)),
        **main_set, "seed_sets": sets,
        "meta": {"torch_threads": torch.get_num_threads(), "versions": versions(),
                 "python": platform.python_version(), "machine": platform.machine(),
                 "cpu_count": os.cpu_count(), "loadavg_before": load_before,
                 "loadavg_after": os.getloadavg(), "sweep": result.meta(),
                 "total_s": time.perf_counter() - start}}), indent=1))
    plot(main_set["runs"], args.plot)
    for name, data in sets.items():
        if data is not main_set:
            plot(data["runs"], args.plot.with_name(f"{args.plot.stem}-{name}{args.plot.suffix}"))
    print(f"wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
