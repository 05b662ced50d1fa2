"""The reference generalised advantage estimator, GAE(gamma, lambda), on a rollout buffer.

Schulman et al., "High-dimensional continuous control using generalized
advantage estimation" (2016); the notes' section "Reducing Variance"
subtracts the state value V(s_t) from the reward-to-go, and GAE is the
family of such advantage estimates built from TD errors:

    delta_t = r_t + gamma * (1 - terminated_t) * V(next_obs_t) - V(obs_t)
    A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1},   A_T = 0

with done_t = terminated_t | truncated_t. So:

- a termination adds no bootstrap (V of a terminal state is never read);
- a truncation bootstraps from V of the true final state next_obs_t, never
  from the reset observation obs_{t+1}, and ends the recursion;
- nothing is carried across an episode end;
- the last step bootstraps from V(next_obs_{T-1}), once, through delta.

With an exact critic E[A_t | s_t, a_t] = A(s_t, a_t) for every lambda in
[0, 1]: E[delta_t | s_t, a_t] = Q - V, and every later TD error of the same
episode has mean zero given the past. lambda = 0 gives delta_t, lambda = 1
the bootstrapped Monte Carlo return minus V(obs_t).

An advantage function, in this module and in the checks, is
``adv_fn(buf, critic, gamma, lam) -> (T, n)``, where ``critic(states)``
returns values of the same shape, called the way a network is called on
observations.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from pgproofs.rollouts import Rollout

__all__ = ["AdvantageFn", "Critic", "evaluate_critic", "gae", "gae_returns", "tabular_critic"]

Critic = Callable[[np.ndarray], np.ndarray]
AdvantageFn = Callable[[Rollout, Critic, float, float], np.ndarray]


def tabular_critic(values) -> Critic:
    """critic(states) = values[states], for a table of state values (S,).

    The table is copied; the critic refuses non-integer input (a float
    observation would index silently after a cast elsewhere).
    """
    table = np.array(values, dtype=np.float64)
    if table.ndim != 1:
        raise ValueError(f"values: expected a (S,) table, got shape {table.shape}")
    if not np.all(np.isfinite(table)):
        raise ValueError("values: contains non-finite entries")
    table.setflags(write=False)

    def critic(states):
        states = np.asarray(states)
        if states.dtype.kind not in "iu":
            raise ValueError(f"states: expected integer states, got dtype {states.dtype}")
        return table[states]

    critic.values = table
    return critic


def evaluate_critic(critic: Critic, states: np.ndarray, name: str = "critic") -> np.ndarray:
    """critic(states) as float64, ValueError unless it has the states' shape and is finite."""
    v = np.asarray(critic(states), dtype=np.float64)
    if v.shape != np.shape(states):
        raise ValueError(f"{name}: returned shape {v.shape} for states of shape {np.shape(states)}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name}: returned non-finite values")
    return v


def _check_coefficients(gamma: float, lam: float) -> None:
    if not (0.0 <= gamma <= 1.0):
        raise ValueError(f"gamma: must lie in [0, 1], got {gamma}")
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"lam: must lie in [0, 1], got {lam}")


def gae(buf: Rollout, critic: Critic, gamma: float, lam: float) -> np.ndarray:
    """GAE(gamma, lambda) advantages A_t, shape (T, n) (see the module docstring).

    Args:
        buf: the rollout buffer, fields (T, n), time first.
        critic: states (int array) -> values of the same shape.
        gamma: discount in [0, 1].
        lam: lambda in [0, 1]; 0 gives the TD error, 1 the Monte Carlo return minus V.
    Returns:
        adv_t (T, n), float64.
    """
    _check_coefficients(gamma, lam)
    v_t = evaluate_critic(critic, buf.obs)
    v_tp1 = evaluate_critic(critic, buf.next_obs)
    # np.where, not a product, so V of a terminal state is never read even if huge.
    bootstrap = np.where(buf.terminated, 0.0, v_tp1)
    delta_t = buf.rewards + gamma * bootstrap - v_t
    carry_t = gamma * lam * ~(buf.terminated | buf.truncated)
    adv_t = np.empty_like(delta_t)
    running = np.zeros(buf.n_envs)
    for t in range(buf.n_steps - 1, -1, -1):  # a loop over time; vectorised over envs
        running = delta_t[t] + carry_t[t] * running
        adv_t[t] = running
    return adv_t


def gae_returns(buf: Rollout, critic: Critic, gamma: float, lam: float) -> np.ndarray:
    """Value targets of GAE: return_t = A_t + V(obs_t), (T, n) (the lambda-return)."""
    return gae(buf, critic, gamma, lam) + evaluate_critic(critic, buf.obs)
