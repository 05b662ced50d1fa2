"""Finite-horizon tabular MDPs and batches of trajectories sampled from them.

The notes' trajectory distribution (section "REINFORCE"):
    p_theta(tau) = p(s_1) prod_{t=1}^{T} pi_theta(a_t|s_t) p(s_{t+1}|s_t, a_t)
with return r(tau) = sum_{t=1}^{T} gamma^(t-1) r(s_t, a_t) (gamma = 1 in the notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgproofs.policy import SoftmaxPolicy

__all__ = ["Batch", "FiniteMDP"]

PROB_ATOL = 1e-9


def readonly(a: np.ndarray) -> np.ndarray:
    """``a`` itself, made read-only (the models copy their inputs, then freeze them)."""
    a.setflags(write=False)
    return a


def check_probabilities(name: str, p: np.ndarray) -> None:
    """ValueError naming ``name`` unless every row of ``p`` is a probability vector."""
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name}: contains non-finite entries")
    if np.any(p < 0):
        idx = tuple(int(i) for i in np.argwhere(p < 0)[0])
        raise ValueError(f"{name}: negative probability {p[idx]!r} at index {idx}")
    sums = p.sum(axis=-1)
    bad = np.abs(sums - 1.0) > PROB_ATOL
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0])
        total = float(np.atleast_1d(sums)[idx])
        where = f" at index {idx}" if p.ndim > 1 else ""
        raise ValueError(f"{name}: probabilities sum to {total:.12g}{where}, not 1 (atol {PROB_ATOL:g})")


@dataclass(frozen=True)
class Batch:
    """n trajectories of length T; every field has shape (n, T).

    log_probs holds log pi(a_t|s_t) under the policy that collected the batch,
    so an estimator can tell on-policy from off-policy data.
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    log_probs: np.ndarray
    discount: float = 1.0

    def __post_init__(self) -> None:
        shape = np.shape(self.states)
        if len(shape) != 2:
            raise ValueError(f"states: expected shape (n, T), got {shape}")
        for name in ("actions", "rewards", "log_probs"):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(
                    f"{name}: shape {np.shape(getattr(self, name))} differs from states {shape}")
        if not (0.0 <= self.discount <= 1.0):
            raise ValueError(f"discount: must lie in [0, 1], got {self.discount}")
        # every estimator sums the rewards: a nan or None would silently become a nan estimate
        try:
            finite = np.isfinite(np.asarray(self.rewards, dtype=np.float64)).all()
        except (TypeError, ValueError):
            raise ValueError("rewards: expected numbers") from None
        if not finite:
            raise ValueError("rewards: contains non-finite entries")

    def __len__(self) -> int:
        return self.states.shape[0]

    @property
    def horizon(self) -> int:
        return self.states.shape[1]

    def take(self, index) -> "Batch":
        """The sub-batch of the trajectories at ``index`` (an int array)."""
        return Batch(self.states[index], self.actions[index], self.rewards[index],
                     self.log_probs[index], self.discount)


class FiniteMDP:
    """A finite-horizon MDP with S states and A actions.

    initial (S,): p(s_1); transitions (S, A, S): P[s, a, s'] = p(s'|s, a);
    rewards (S, A): r(s, a); horizon T >= 1; discount gamma in [0, 1].
    Arrays are copied and made read-only; bad input raises ValueError naming
    the field.
    """

    def __init__(self, initial, transitions, rewards, horizon: int, discount: float = 1.0):
        initial, transitions, rewards = checked_dynamics(initial, transitions, rewards)
        S, A = rewards.shape
        if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)):
            raise ValueError(f"horizon: must be an integer, got {horizon!r}")
        if horizon < 1:
            raise ValueError(f"horizon: must be >= 1, got {horizon}")
        discount = float(discount)
        if not (0.0 <= discount <= 1.0):
            raise ValueError(f"discount: must lie in [0, 1], got {discount}")
        self.initial = readonly(initial)
        self.transitions = readonly(transitions)
        self.rewards = readonly(rewards)
        self.horizon = int(horizon)
        self.discount = discount
        # Cumulative tables for inverse-CDF sampling; the last column is pinned to 1 so
        # rounding can never push a uniform draw past the final outcome.
        self._cum_initial = pinned_cumsum(initial)
        self._cum_transitions = pinned_cumsum(transitions.reshape(S * A, S))

    @property
    def n_states(self) -> int:
        return self.initial.shape[0]

    @property
    def n_actions(self) -> int:
        return self.transitions.shape[1]

    def __repr__(self) -> str:
        return (f"FiniteMDP(initial={self.initial.tolist()}, transitions={self.transitions.tolist()}, "
                f"rewards={self.rewards.tolist()}, horizon={self.horizon}, discount={self.discount})")

    def check_policy(self, policy: SoftmaxPolicy, name: str = "policy") -> None:
        """ValueError unless ``policy`` has this MDP's (S, A) shape."""
        if not isinstance(policy, SoftmaxPolicy):
            raise ValueError(f"{name}: expected a SoftmaxPolicy, got {type(policy).__name__}")
        if policy.logits.shape != (self.n_states, self.n_actions):
            raise ValueError(f"{name}: logits have shape {policy.logits.shape}, the MDP needs "
                             f"{(self.n_states, self.n_actions)}")

    def sample(self, policy: SoftmaxPolicy, n: int, rng: np.random.Generator) -> Batch:
        """Sample n trajectories under ``policy``, vectorised over trajectories.

        The only Python loop runs over the T time steps; each step draws all n
        actions and next states at once by inverse-CDF lookup.
        """
        self.check_policy(policy)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n: must be a positive integer, got {n!r}")
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
        A, T = self.n_actions, self.horizon
        cum_pi = pinned_cumsum(policy.probs)
        states = np.empty((n, T), dtype=np.int64)
        actions = np.empty((n, T), dtype=np.int64)
        s = draw_from_cumsum(self._cum_initial[None, :], rng.random(n))
        for t in range(T):
            a = draw_from_cumsum(cum_pi[s], rng.random(n))
            states[:, t] = s
            actions[:, t] = a
            if t + 1 < T:
                s = draw_from_cumsum(self._cum_transitions[s * A + a], rng.random(n))
        return Batch(states, actions, self.rewards[states, actions],
                     policy.log_probs[states, actions], self.discount)


def checked_dynamics(initial, transitions, rewards) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float64 copies of p(s_1) (S,), P[s, a, s'] (S, A, S) and r(s, a) (S, A), validated.

    ValueError naming the field for shapes that disagree, no action, non-finite
    entries, negative probabilities or rows not summing to 1 (shared by every MDP).
    """
    initial = np.array(initial, dtype=np.float64)
    transitions = np.array(transitions, dtype=np.float64)
    rewards = np.array(rewards, dtype=np.float64)
    if initial.ndim != 1 or initial.size < 1:
        raise ValueError(f"initial: expected a non-empty (S,) array, got shape {initial.shape}")
    S = initial.shape[0]
    if transitions.ndim != 3 or transitions.shape[0] != S or transitions.shape[2] != S:
        raise ValueError(
            f"transitions: expected shape (S, A, S) with S = {S}, got {transitions.shape}")
    A = transitions.shape[1]
    if A < 1:
        raise ValueError("transitions: needs at least one action")
    if rewards.shape != (S, A):
        raise ValueError(f"rewards: expected shape (S, A) = {(S, A)}, got {rewards.shape}")
    check_probabilities("initial", initial)
    check_probabilities("transitions", transitions)
    if not np.all(np.isfinite(rewards)):
        raise ValueError("rewards: contains non-finite entries")
    return initial, transitions, rewards


def pinned_cumsum(p: np.ndarray) -> np.ndarray:
    """Cumulative sums along the last axis with the last entry exactly 1 (for draw_from_cumsum)."""
    c = np.cumsum(p, axis=-1)
    c[..., -1] = 1.0
    return c


def draw_from_cumsum(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index of the first cumulative entry exceeding u, row by row.

    Counting entries <= u skips zero-probability outcomes, whose cumulative
    value equals the previous one.
    """
    return (cum[:, :-1] <= u[:, None]).sum(axis=1)
