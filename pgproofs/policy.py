"""Tabular softmax policies: pi(a|s) = exp(theta[s, a]) / sum_b exp(theta[s, b]).

The score of a softmax policy with respect to its logits is
    d log pi(a|s) / d theta[s', b] = 1[s' = s] (1[b = a] - pi(b|s)),
which is all the estimators of the notes need ("Ploicy algorithm / REINFORCE").
"""

from __future__ import annotations

import numpy as np

__all__ = ["SoftmaxPolicy"]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


class SoftmaxPolicy:
    """A stationary tabular softmax policy with logits of shape (S, A)."""

    def __init__(self, logits) -> None:
        logits = np.array(logits, dtype=np.float64)
        if logits.ndim != 2 or logits.shape[0] < 1 or logits.shape[1] < 1:
            raise ValueError(f"logits: expected a non-empty (S, A) array, got shape {logits.shape}")
        if not np.all(np.isfinite(logits)):
            raise ValueError("logits: contains non-finite entries")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.logits = _readonly(logits)
        self.log_probs = _readonly(log_probs)
        self.probs = _readonly(np.exp(log_probs))

    @property
    def n_states(self) -> int:
        return self.logits.shape[0]

    @property
    def n_actions(self) -> int:
        return self.logits.shape[1]

    def __repr__(self) -> str:
        return f"SoftmaxPolicy(logits={self.logits.tolist()!r})"

    def log_prob(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """log pi(a_t | s_t), elementwise over arrays of states and actions."""
        return self.log_probs[states, actions]

    def score_sum(self, states: np.ndarray, actions: np.ndarray,
                  weights: np.ndarray | None = None) -> np.ndarray:
        """sum_t w_t * grad_theta log pi(a_t | s_t) for each trajectory: (n, S, A).

        states, actions, weights: (n, T). ``weights`` defaults to ones, which
        gives the trajectory score grad log p(tau) (section "REINFORCE": the
        dynamics terms have no gradient). Computed as a weighted count of
        (s, a) visits minus the weighted count of s visits times pi(.|s).
        """
        states = np.asarray(states)
        actions = np.asarray(actions)
        if states.shape != actions.shape or states.ndim != 2:
            raise ValueError(
                f"states/actions: expected equal (n, T) shapes, got {states.shape}, {actions.shape}")
        w = np.ones(states.shape) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != states.shape:
            raise ValueError(f"weights: shape {w.shape} differs from states {states.shape}")
        n = states.shape[0]
        S, A = self.logits.shape
        row = np.arange(n)[:, None]
        sa = np.bincount(((row * S + states) * A + actions).ravel(), weights=w.ravel(),
                         minlength=n * S * A).reshape(n, S, A)
        s = np.bincount((row * S + states).ravel(), weights=w.ravel(),
                        minlength=n * S).reshape(n, S, 1)
        return sa - s * self.probs[None]
