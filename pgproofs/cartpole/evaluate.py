"""The "solved" protocol, the same for every learner (ours and SB3 PPO).

Every ``every`` environment steps the greedy policy plays ``episodes`` fresh
episodes; when their mean return is >= ``threshold`` it plays
``confirm_episodes`` further fresh episodes, and the run is solved only if
that mean is >= ``threshold`` too. Otherwise training goes on. Evaluation
time is measured separately so learners are compared on the cost of learning.

Fresh seeds: each evaluation of the run with seed s resets a new vector
environment with a seed EVAL_SEED_BASE + s * 2**20 + k, k growing by the
episodes played, never reused within a run and disjoint from the small seeds
training resets with.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from pgproofs.cartpole.rollout import collect_episodes

__all__ = ["SolvedProtocol", "Evaluation", "Evaluator", "greedy_returns", "EVAL_SEED_BASE"]

EVAL_SEED_BASE = 2**31
ENV_ID = "CartPole-v1"


@dataclass(frozen=True)
class SolvedProtocol:
    every: int = 5_000
    episodes: int = 20
    confirm_episodes: int = 100
    threshold: float = 475.0


@dataclass(frozen=True)
class Evaluation:
    env_steps: int
    mean: float               # mean return of the first `episodes` greedy episodes
    confirm_mean: float | None  # mean of the confirmation episodes, if they were run
    solved: bool
    episodes: int             # greedy episodes played in this evaluation
    seconds: float            # time spent evaluating (excluded from wall_s)
    seeds: tuple[int, ...]    # reset seeds of the evaluation's vector envs


def greedy_returns(act_greedy: Callable[[np.ndarray], np.ndarray], episodes: int,
                   seed: int) -> np.ndarray:
    """Returns of ``episodes`` greedy episodes of a vector env reset with ``seed``."""
    import gymnasium as gym

    env = gym.make_vec(ENV_ID, num_envs=episodes)
    try:
        return collect_episodes(env, act_greedy, seed).episode_returns()
    finally:
        env.close()


class Evaluator:
    """Runs the protocol for one training run; call ``due`` then ``evaluate``."""

    def __init__(self, run_seed: int, protocol: SolvedProtocol = SolvedProtocol()) -> None:
        if run_seed < 0:
            raise ValueError(f"run_seed: must be >= 0, got {run_seed}")
        self.protocol = protocol
        self.next_at = protocol.every
        self._seed = EVAL_SEED_BASE + run_seed * 2**20
        self.history: list[Evaluation] = []

    def _fresh(self, episodes: int, act_greedy, seeds: list) -> np.ndarray:
        seeds.append(self._seed)
        returns = greedy_returns(act_greedy, episodes, self._seed)
        self._seed += episodes
        return returns

    def due(self, env_steps: int) -> bool:
        return env_steps >= self.next_at

    def evaluate(self, act_greedy, env_steps: int) -> Evaluation:
        p = self.protocol
        start = time.perf_counter()
        while self.next_at <= env_steps:
            self.next_at += p.every
        seeds: list[int] = []
        mean = float(self._fresh(p.episodes, act_greedy, seeds).mean())
        confirm, played = None, p.episodes
        if mean >= p.threshold:
            confirm = float(self._fresh(p.confirm_episodes, act_greedy, seeds).mean())
            played += p.confirm_episodes
        solved = confirm is not None and confirm >= p.threshold
        result = Evaluation(env_steps, mean, confirm, solved, played,
                            time.perf_counter() - start, tuple(seeds))
        self.history.append(result)
        return result


def curve_on_grid(curve: list[dict], every: int, max_steps: int) -> np.ndarray:
    """A run's evaluation means at k * every, k = 1 .. max_steps // every.

    The k-th evaluation happens at the first update past k * every steps. A
    run stops once solved; from then on it holds its confirmed mean, so runs
    of different lengths can be summarised by a median across seeds.
    """
    points = max_steps // every
    out = np.full(points, np.nan)
    for k, c in enumerate(curve[:points]):
        out[k] = c["eval_mean"]
    if curve and curve[-1].get("confirm_mean") is not None and len(curve) <= points:
        last = curve[-1]["confirm_mean"]
        if last >= SolvedProtocol.threshold:
            out[len(curve) - 1:] = last
    return out
