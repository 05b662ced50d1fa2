"""Exact discounted values, Q-values and advantages of an episodic MDP (re-exported by ``exact``).

For a stationary policy pi the value of the infinite-horizon discounted
objective solves the Bellman equation on the non-terminal states N,
    V(s) = sum_a pi(a|s) [r(s, a) + gamma sum_{s'} P(s'|s, a) V(s')],   V = 0 on terminal states,
a linear system (I - gamma P_pi[N, N]) V_N = r_pi[N] that is non-singular for
gamma < 1. Then Q(s, a) = r(s, a) + gamma sum_{s'} P(s'|s, a) V(s') and
A(s, a) = Q(s, a) - V(s), the advantage the notes' baseline section
("Reducing Variance") subtracts V to obtain. Q and A are 0 on terminal states,
which no action is ever taken in.
"""

from __future__ import annotations

import numpy as np

from pgproofs.episodic import EpisodicMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = ["advantages", "discounted_values", "q_values"]


def _check(mdp, policy) -> None:
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp: expected an EpisodicMDP, got {type(mdp).__name__}")
    mdp.check_policy(policy)


def discounted_values(mdp: EpisodicMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """V(s) = E[sum_{t >= 0} gamma^t r_t | s_0 = s] under ``policy``; (S,), 0 at terminal states.

    One linear solve over the non-terminal states; the time limit plays no part.
    """
    _check(mdp, policy)
    live = ~mdp.terminal
    p_pi = np.einsum("sa,sax->sx", policy.probs, mdp.transitions)
    r_pi = (policy.probs * mdp.rewards).sum(axis=1)
    system = np.eye(int(live.sum())) - mdp.discount * p_pi[np.ix_(live, live)]
    v = np.zeros(mdp.n_states)
    v[live] = np.linalg.solve(system, r_pi[live])
    return v


def q_values(mdp: EpisodicMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """Q(s, a) = r(s, a) + gamma sum_{s'} P(s'|s, a) V(s'); (S, A), 0 at terminal states."""
    v = discounted_values(mdp, policy)
    q = mdp.rewards + mdp.discount * (mdp.transitions @ v)
    q[mdp.terminal] = 0.0
    return q


def advantages(mdp: EpisodicMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """A(s, a) = Q(s, a) - V(s); (S, A), 0 at terminal states. sum_a pi(a|s) A(s, a) = 0."""
    v = discounted_values(mdp, policy)
    q = mdp.rewards + mdp.discount * (mdp.transitions @ v)
    a = q - v[:, None]
    a[mdp.terminal] = 0.0
    return a
