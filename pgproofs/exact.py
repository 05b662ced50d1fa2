"""Exact answers on finite MDPs: dynamic programming over time and enumeration.

Dynamic programming costs O(T S^2 A), so T = 100 is exact and quick; the
enumeration of trajectories is exponential in T and serves tiny MDPs, where
the two cross-check each other.

Policy gradient theorem for a stationary tabular softmax policy (the notes'
grad J = E[grad log p(tau) r(tau)], section "REINFORCE", summed per step):
    dJ/dtheta[s, a] = sum_t gamma^(t-1) d_t(s) pi(a|s) (Q_t(s, a) - V_t(s))
with d_t the state distribution at step t and Q_t, V_t the values-to-go.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgproofs.discounted import advantages, discounted_values, q_values
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = [
    "Trajectories", "advantages", "count_trajectories", "discounted_values", "enumerate_trajectories",
    "policy_gradient", "q_values", "state_distributions", "value", "values_to_go",
]


def state_distributions(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """d_t(s) = P(s_t = s) for t = 1..T; shape (T, S)."""
    mdp.check_policy(policy)
    step = np.einsum("sa,sax->sx", policy.probs, mdp.transitions)  # P_pi[s, s']
    d = np.empty((mdp.horizon, mdp.n_states))
    d[0] = mdp.initial
    for t in range(1, mdp.horizon):
        d[t] = d[t - 1] @ step
    return d


def values_to_go(mdp: FiniteMDP, policy: SoftmaxPolicy) -> tuple[np.ndarray, np.ndarray]:
    """Q_t(s, a) (T, S, A) and V_t(s) (T, S): expected discounted reward from step t on.

    Q_t = r + gamma P V_{t+1}, V_t = sum_a pi(a|s) Q_t(s, a), V_{T+1} = 0.
    """
    mdp.check_policy(policy)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    q = np.empty((T, S, A))
    v = np.empty((T, S))
    v_next = np.zeros(S)
    for t in range(T - 1, -1, -1):
        q[t] = mdp.rewards + mdp.discount * (mdp.transitions @ v_next)
        v[t] = (policy.probs * q[t]).sum(axis=1)
        v_next = v[t]
    return q, v


def value(mdp: FiniteMDP, policy: SoftmaxPolicy) -> float:
    """J(theta) = E[sum_t gamma^(t-1) r(s_t, a_t)] = sum_s p(s_1 = s) V_1(s)."""
    _, v = values_to_go(mdp, policy)
    return float(mdp.initial @ v[0])


def policy_gradient(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """dJ/dlogits, shape (S, A), by dynamic programming over time."""
    d = state_distributions(mdp, policy)
    q, v = values_to_go(mdp, policy)
    discounts = mdp.discount ** np.arange(mdp.horizon)
    advantage = q - v[:, :, None]
    weighted = np.einsum("t,ts,tsa->sa", discounts, d, advantage)
    return policy.probs * weighted


@dataclass(frozen=True)
class Trajectories:
    """Every trajectory with positive probability, as one Batch, and their probabilities."""

    batch: Batch
    probs: np.ndarray

    def __len__(self) -> int:
        return len(self.probs)


def count_trajectories(mdp: FiniteMDP, policy: SoftmaxPolicy) -> int:
    """The number of trajectories with positive probability under ``policy``.

    Computed by DP over the support (no enumeration), so callers can refuse
    enumerations that are too large before building them.
    """
    mdp.check_policy(policy)
    pi_pos = (policy.probs > 0).astype(float)
    p_pos = (mdp.transitions > 0).astype(float)
    count = (mdp.initial > 0).astype(float)  # paths ending in s at step t
    for t in range(mdp.horizon):
        with_action = count[:, None] * pi_pos  # (S, A)
        if t + 1 == mdp.horizon:
            return int(round(with_action.sum()))
        count = np.einsum("sa,sax->x", with_action, p_pos)
    raise AssertionError("unreachable")


def enumerate_trajectories(mdp: FiniteMDP, policy: SoftmaxPolicy, *,
                           max_count: int = 200_000) -> Trajectories:
    """All trajectories with positive probability under ``policy``.

    Built one step at a time by expanding every partial trajectory by its
    actions and next states; ValueError when there would be more than
    ``max_count`` of them.
    """
    n = count_trajectories(mdp, policy)
    if n > max_count:
        raise ValueError(f"enumeration too large: {n} trajectories exceed max_count={max_count}")
    T = mdp.horizon
    states = np.flatnonzero(mdp.initial > 0)[:, None]
    probs = mdp.initial[states[:, 0]]
    actions = np.empty((len(probs), 0), dtype=np.int64)
    for t in range(T):
        s = states[:, t]
        # expand by every action with positive probability
        rows, a = np.nonzero(policy.probs[s] > 0)
        states, actions = states[rows], np.column_stack([actions[rows], a])
        probs = probs[rows] * policy.probs[s[rows], a]
        if t + 1 == T:
            break
        rows, s_next = np.nonzero(mdp.transitions[states[:, t], actions[:, t]] > 0)
        probs = probs[rows] * mdp.transitions[states[rows, t], actions[rows, t], s_next]
        states, actions = np.column_stack([states[rows], s_next]), actions[rows]
    batch = Batch(states, actions, mdp.rewards[states, actions],
                  policy.log_probs[states, actions], mdp.discount)
    return Trajectories(batch, probs)
