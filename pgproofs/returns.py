"""Returns and reward-to-go, shared by the estimators and the CartPole learner.

Rewards are arrays of shape (n, T) with time on the last axis. The notes
(section "Reducing Variance", part 1) replace the full return
    R(tau) = sum_{t'=1}^{T} gamma^{t'-1} r_{t'}
by the reward-to-go
    Rhat_t = sum_{t'=t}^{T} gamma^{t'-t} r_{t'}
because an action cannot change rewards that came before it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["discounted_return", "reward_to_go"]


def _check_rewards(rewards: np.ndarray, discount: float) -> np.ndarray:
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim != 2:
        raise ValueError(f"rewards: expected shape (n, T), got {rewards.shape}")
    if not (0.0 <= discount <= 1.0):
        raise ValueError(f"discount: must lie in [0, 1], got {discount}")
    return rewards


def discounted_return(rewards: np.ndarray, discount: float = 1.0) -> np.ndarray:
    """R(tau) = sum_t gamma^(t-1) r_t for each trajectory; shape (n,)."""
    rewards = _check_rewards(rewards, discount)
    weights = discount ** np.arange(rewards.shape[1])
    return rewards @ weights


def reward_to_go(rewards: np.ndarray, discount: float = 1.0, *,
                 ends: np.ndarray | None = None,
                 bootstrap: np.ndarray | None = None) -> np.ndarray:
    """Rhat_t = r_t + gamma * Rhat_{t+1}, computed backwards; shape (n, T).

    ends: optional bool (n, T), True at the last step of an episode, so the
        sum never crosses into the next episode of the same stream.
    bootstrap: optional (n, T) value added after step t where the segment is
        cut rather than terminated (e.g. V(s_{t+1}) at a time-limit
        truncation or at the end of a rollout window); used only where
        ``ends`` is True or at the last column.

    Without ``ends`` and ``bootstrap`` this is the plain finite-horizon
    reward-to-go of the notes. With gamma = 1 the value at t = 0 is R(tau).
    """
    rewards = _check_rewards(rewards, discount)
    n, T = rewards.shape
    if ends is None:
        ends = np.zeros((n, T), dtype=bool)
    else:
        ends = np.asarray(ends, dtype=bool)
        if ends.shape != rewards.shape:
            raise ValueError(f"ends: shape {ends.shape} differs from rewards {rewards.shape}")
    if bootstrap is not None:
        bootstrap = np.asarray(bootstrap, dtype=np.float64)
        if bootstrap.shape != rewards.shape:
            raise ValueError(
                f"bootstrap: shape {bootstrap.shape} differs from rewards {rewards.shape}")
    out = np.empty_like(rewards)
    running = np.zeros(n) if bootstrap is None else bootstrap[:, -1].copy()
    for t in range(T - 1, -1, -1):  # a loop over time only; vectorised over trajectories
        if t < T - 1:
            cut = ends[:, t]
            tail = 0.0 if bootstrap is None else bootstrap[:, t]
            running = np.where(cut, tail, running)
        running = rewards[:, t] + discount * running
        out[:, t] = running
    return out
