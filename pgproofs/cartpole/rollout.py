"""Rollouts from a Gymnasium 1.x vector environment, and the returns built on them.

Bookkeeping is where policy-gradient code on vector environments usually goes
wrong, so it lives here, apart from the learner, and is unit-tested on a tiny
deterministic environment (tests/test_cartpole_rollout.py).

Gymnasium 1.x vector environments (``gymnasium.make_vec``) autoreset in
NEXT_STEP mode: after a step that returns ``terminated | truncated`` for a
sub-environment, the *next* call to ``step`` resets it, ignores the action and
returns reward 0, both flags False and the first observation of the new
episode. That reset row is not a transition of the MDP: it is marked invalid
here and never enters log-probabilities, returns or baselines. The
observation returned together with the end flags is the episode's final
observation, used to bootstrap the value at a time-limit truncation.

Arrays are stream-major, shape (n, T) with time on the last axis, like
``pgproofs.returns``; observations are (n, T, obs_dim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pgproofs.returns import reward_to_go

__all__ = ["Rollout", "StreamState", "start_streams", "collect_window", "collect_episodes",
           "rollout_reward_to_go", "full_returns", "bootstrap_values"]

# A behaviour: observations (n, obs_dim) -> actions (n,).
Act = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Rollout:
    """n parallel streams of T vector-env steps.

    obs[i, t]       observation the action a[i, t] was chosen in
    actions[i, t]   the action sent to the environment
    rewards[i, t]   reward of the transition (0 on invalid rows)
    terminated      the MDP ended after this step: nothing to bootstrap
    truncated       a time limit cut the episode after this step: bootstrap V
    valid           a real transition (False on autoreset rows and padding)
    starts          the first transition of an episode
    last_obs[i]     observation after the last column (for bootstrapping a
                    window that ends mid-episode)
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray
    starts: np.ndarray
    last_obs: np.ndarray

    @property
    def ends(self) -> np.ndarray:
        """(n, T) bool: the last transition of an episode (terminated or truncated)."""
        return (self.terminated | self.truncated) & self.valid

    @property
    def next_obs(self) -> np.ndarray:
        """(n, T, obs_dim): observation after each step; the final one at an episode end."""
        return np.concatenate([self.obs[:, 1:], self.last_obs[:, None]], axis=1)

    @property
    def num_steps(self) -> int:
        """Environment transitions actually used (valid rows)."""
        return int(self.valid.sum())

    def episode_returns(self) -> np.ndarray:
        """Undiscounted returns of the episodes that both start and end in this rollout."""
        rtg = full_returns(self, 1.0, complete_only=False)
        return rtg[self.starts & _complete_rows(self)]


@dataclass
class StreamState:
    """What a window rollout carries over to the next window."""

    obs: np.ndarray                 # (n, obs_dim) current observation
    reset_pending: np.ndarray       # (n,) bool: the next step is an autoreset row
    at_start: np.ndarray            # (n,) bool: the next valid row starts an episode
    running_return: np.ndarray      # (n,) return of the current episode so far
    finished: list = field(default_factory=list)  # returns of episodes finished so far


def start_streams(env, seed: int) -> StreamState:
    """Reset the vector environment with ``seed`` and start counting."""
    obs, _ = env.reset(seed=int(seed))
    n = obs.shape[0]
    return StreamState(obs=obs, reset_pending=np.zeros(n, bool), at_start=np.ones(n, bool),
                       running_return=np.zeros(n))


def collect_window(env, act: Act, state: StreamState, steps: int) -> Rollout:
    """Step the vector env ``steps`` times from ``state`` (updated in place).

    Episodes run on across windows; a window that ends mid-episode is
    bootstrapped by the learner from ``last_obs``.
    """
    if steps < 1:
        raise ValueError(f"steps: must be >= 1, got {steps}")
    n = state.obs.shape[0]
    obs = np.empty((n, steps) + state.obs.shape[1:], dtype=state.obs.dtype)
    actions = np.empty((n, steps), dtype=np.int64)
    rewards = np.empty((n, steps))
    term = np.empty((n, steps), dtype=bool)
    trunc = np.empty((n, steps), dtype=bool)
    valid = np.empty((n, steps), dtype=bool)
    starts = np.empty((n, steps), dtype=bool)
    for t in range(steps):
        obs[:, t] = state.obs
        actions[:, t] = act(state.obs)
        valid[:, t] = ~state.reset_pending
        starts[:, t] = valid[:, t] & state.at_start
        state.obs, r, te, tr, _ = env.step(actions[:, t])
        r = np.where(valid[:, t], r, 0.0)  # an autoreset row carries no reward
        rewards[:, t], term[:, t], trunc[:, t] = r, te, tr
        state.running_return += r
        done = (te | tr) & valid[:, t]
        state.finished.extend(state.running_return[done].tolist())
        state.running_return[done] = 0.0
        # A valid row is followed by its episode's next row or by an autoreset
        # row; only after an autoreset row does a new episode start.
        state.at_start = ~valid[:, t]
        state.reset_pending = done
    return Rollout(obs, actions, rewards, term & valid, trunc & valid, valid, starts,
                   state.obs.copy())


def collect_episodes(env, act: Act, seed: int, max_steps: int = 100_000) -> Rollout:
    """One whole episode per sub-environment, from a reset with ``seed``.

    Rows after a sub-environment's episode ended (the autoreset row and the
    next episode) are padding: invalid, reward 0, never used.
    """
    obs0, _ = env.reset(seed=int(seed))
    n = obs0.shape[0]
    rows_obs, rows_act, rows_rew, rows_te, rows_tr, rows_valid = [], [], [], [], [], []
    obs, alive = obs0, np.ones(n, bool)
    while alive.any():
        if len(rows_act) >= max_steps:
            raise ValueError(f"max_steps: episodes still running after {max_steps} steps")
        a = act(obs)
        rows_obs.append(obs)
        rows_act.append(a)
        rows_valid.append(alive.copy())
        obs, r, te, tr, _ = env.step(a)
        rows_rew.append(np.where(alive, r, 0.0))
        rows_te.append(te & alive)
        rows_tr.append(tr & alive)
        alive &= ~(te | tr)
    valid = np.stack(rows_valid, 1)
    starts = np.zeros_like(valid)
    starts[:, 0] = True
    return Rollout(np.stack(rows_obs, 1), np.stack(rows_act, 1), np.stack(rows_rew, 1),
                   np.stack(rows_te, 1), np.stack(rows_tr, 1), valid, starts, obs.copy())


def bootstrap_values(rollout: Rollout, next_values: np.ndarray) -> np.ndarray:
    """The value to add after each row where the return is cut, not terminated.

    next_values (n, T): V(next_obs). Kept at truncations (the time limit is not
    a failure) and at the last column when the episode is still running;
    zero at terminations and elsewhere.
    """
    next_values = np.asarray(next_values, dtype=np.float64)
    if next_values.shape != rollout.rewards.shape:
        raise ValueError(f"next_values: shape {next_values.shape}, expected {rollout.rewards.shape}")
    cut = rollout.truncated & ~rollout.terminated  # both at step 500: a real failure
    cut[:, -1] |= rollout.valid[:, -1] & ~rollout.terminated[:, -1]
    return np.where(cut, next_values, 0.0)


def rollout_reward_to_go(rollout: Rollout, discount: float,
                         next_values: np.ndarray | None = None) -> np.ndarray:
    """Rhat_t = sum_{t' >= t} gamma^(t'-t) r_t' within each episode, (n, T).

    With ``next_values`` (V of the next observation) the sum is bootstrapped
    where it is cut (time limit, end of window); without, a cut adds nothing,
    which is the finite-horizon return. Invalid rows hold junk: mask them.
    """
    boot = None if next_values is None else bootstrap_values(rollout, next_values)
    return reward_to_go(rollout.rewards, discount, ends=rollout.ends, bootstrap=boot)


def _last_start_index(rollout: Rollout) -> np.ndarray:
    T = rollout.rewards.shape[1]
    idx = np.where(rollout.starts, np.arange(T), -1)
    return np.maximum.accumulate(idx, axis=1)


def _complete_rows(rollout: Rollout) -> np.ndarray:
    """Valid rows whose whole episode (start and end) lies inside the rollout."""
    T = rollout.rewards.shape[1]
    has_start = _last_start_index(rollout) >= 0
    # next end at or after t, scanning backwards
    end_idx = np.where(rollout.ends, np.arange(T), T)
    next_end = np.minimum.accumulate(end_idx[:, ::-1], axis=1)[:, ::-1]
    return rollout.valid & has_start & (next_end < T)


def full_returns(rollout: Rollout, discount: float, *, complete_only: bool = True) -> np.ndarray:
    """R(tau) = sum_t gamma^(t-1) r_t of the episode each row belongs to, (n, T).

    The REINFORCE weight of the notes (section "REINFORCE"): every action of
    an episode is credited with the whole episode's return. It needs complete
    episodes; with ``complete_only`` a valid row of an episode that starts or
    ends outside the rollout is a ValueError.
    """
    complete = _complete_rows(rollout)
    if complete_only and (rollout.valid & ~complete).any():
        i, t = np.argwhere(rollout.valid & ~complete)[0]
        raise ValueError(f"rollout: row (stream {i}, step {t}) belongs to an episode that is "
                         "not complete in this rollout; full returns need whole episodes")
    rtg = reward_to_go(rollout.rewards, discount, ends=rollout.ends)
    start = np.maximum(_last_start_index(rollout), 0)
    return np.take_along_axis(rtg, start, axis=1)
