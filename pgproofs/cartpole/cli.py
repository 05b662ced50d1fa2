"""``pgproofs train``: train one CartPole-v1 learner and report the solved protocol."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pgproofs.cartpole.experiment import ALGOS

__all__ = ["register", "run"]


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a policy-gradient learner on CartPole-v1",
        description="Train until the greedy policy is confirmed solved (mean return >= 475 on "
                    "20 then 100 fresh episodes, checked every 5,000 env steps) or --steps. "
                    "Exit status 0 when solved, 1 when not.")
    p.add_argument("--algo", choices=ALGOS, default="rtg-baseline")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=100_000, metavar="MAX",
                   help="give up after MAX environment steps (default 100000)")
    p.add_argument("--json", type=Path, default=None, metavar="PATH",
                   help="write the result (config, protocol outcome, learning curve) here")
    p.add_argument("--measure-variance", action="store_true",
                   help="measure each estimator's gradient variance at every evaluation (E2E-2)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from pgproofs.cartpole.learner import Config, Update, train
    from pgproofs.cartpole.variance import VarianceProbe

    if args.steps < 1:
        raise SystemExit(f"pgproofs train: --steps must be >= 1, got {args.steps}")
    if args.seed < 0:
        raise SystemExit(f"pgproofs train: --seed must be >= 0, got {args.seed}")
    torch.set_num_threads(1)
    cfg = Config(algo=args.algo, seed=args.seed, max_env_steps=args.steps)
    probe = VarianceProbe() if args.measure_variance else None
    bar = tqdm(total=args.steps, unit="step", disable=args.no_progress,
               desc=f"{args.algo} seed {args.seed}")

    def on_update(update: Update) -> None:
        if probe is not None:
            probe(update)
        info = update.info
        bar.update(min(info["env_steps"], args.steps) - bar.n)
        post = {}
        if info.get("train_return") is not None:
            post["return"] = f"{info['train_return']:.0f}"
        if "eval_mean" in info:
            on_update.last_eval = info["eval_mean"]
        if getattr(on_update, "last_eval", None) is not None:
            post["eval"] = f"{on_update.last_eval:.0f}"
        if "kl" in info:
            post["kl"] = f"{info['kl']:.4f}"
        bar.set_postfix(post, refresh=False)

    result = train(cfg, on_update)
    bar.close()
    verdict = "solved" if result.solved else "not solved"
    print(f"{args.algo} seed {args.seed}: {verdict} after {result.env_steps} env steps, "
          f"{result.wall_s:.2f} s of training; greedy mean return {result.eval_return_mean:.1f} "
          f"over {result.eval_episodes} episodes")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        from pgproofs.evidence import jsonable
        out = result.to_json() | {"variance": probe.snapshots if probe is not None else []}
        args.json.write_text(json.dumps(jsonable(out), indent=1))
    return 0 if result.solved else 1
