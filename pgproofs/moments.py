"""Exact moments of any estimator, by enumerating every batch of trajectories.

An estimator is any callable ``(batch, policy) -> (S, A)`` array: an estimate
of dJ/dlogits averaged over the batch (notes, section "REINFORCE"). Under the
behaviour policy every trajectory tau has probability p(tau), and a batch of N
i.i.d. trajectories has the product of theirs, so the estimator's mean and
covariance are finite sums, E[g] = sum_batches p(batch) g(batch), decided
without sampling. This is the engine under ``check.exact_moments`` and
``check.assert_unbiased``; ``montecarlo`` uses ``estimate`` for the same
validation when it samples instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pgproofs import exact
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = ["Estimator", "MAX_TUPLES", "Moments", "estimate", "exact_moments"]

Estimator = Callable[[Batch, SoftmaxPolicy], np.ndarray]
MAX_TUPLES = 200_000


@dataclass(frozen=True)
class Moments:
    """Exact first and second moments of an estimator's output.

    mean (S, A); cov (S*A, S*A), the covariance of the flattened estimate;
    n_tuples, how many batches were enumerated (0 when the moments come from
    dynamic programming, e.g. ``estimators.reinforce.exact_moments``).
    """

    mean: np.ndarray
    cov: np.ndarray
    n_tuples: int

    @property
    def total_variance(self) -> float:
        """trace(cov) = E||g - E g||^2, the variance summed over components."""
        return float(np.trace(self.cov))


def estimate(estimator: Estimator, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """``estimator(batch, policy)`` as a float64 (S, A) array.

    ValueError when the estimator returns another shape or non-finite entries.
    """
    g = np.asarray(estimator(batch, policy), dtype=np.float64)
    if g.shape != policy.logits.shape:
        raise ValueError(f"estimator: returned shape {g.shape}, expected {policy.logits.shape}")
    if not np.all(np.isfinite(g)):
        raise ValueError("estimator: returned non-finite entries")
    return g


def _moments(values: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = values.reshape(len(probs), -1)
    mean = probs @ flat
    centred = flat - mean
    cov = (centred * probs[:, None]).T @ centred
    return mean, cov


def exact_moments(estimator: Estimator, mdp: FiniteMDP, policy: SoftmaxPolicy,
                  behavior: SoftmaxPolicy | None = None, batch_size: int = 1, *,
                  max_tuples: int = MAX_TUPLES) -> Moments:
    """Exact mean and covariance of ``estimator`` on batches of ``batch_size``.

    Trajectories are drawn i.i.d. under ``behavior`` (default: ``policy``);
    every batch_size-tuple is enumerated with its probability. An estimator
    with a ``per_trajectory(batch, policy) -> (n, S, A)`` method (its output
    being the batch mean of those terms) is evaluated in one vectorised call.
    ValueError, with the count, when there are more than ``max_tuples`` batches.
    """
    mdp.check_policy(policy, "policy")
    behavior = policy if behavior is None else behavior
    mdp.check_policy(behavior, "behavior")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
    if not callable(estimator):
        raise ValueError(f"estimator: expected a callable (batch, policy) -> (S, A), "
                         f"got {type(estimator).__name__}")
    n_traj = exact.count_trajectories(mdp, behavior)
    n_tuples = n_traj ** batch_size
    if n_tuples > max_tuples:
        raise ValueError(
            f"enumeration too large: {n_traj} trajectories give {n_tuples} batches of "
            f"batch_size={batch_size}, more than max_tuples={max_tuples}")
    traj = exact.enumerate_trajectories(mdp, behavior, max_count=max_tuples)
    S, A = policy.logits.shape

    per_trajectory = getattr(estimator, "per_trajectory", None)
    if per_trajectory is not None:
        g = np.asarray(per_trajectory(traj.batch, policy), dtype=np.float64)
        if g.shape != (len(traj), S, A):
            raise ValueError(f"estimator.per_trajectory: returned shape {g.shape}, "
                             f"expected {(len(traj), S, A)}")
        mean, cov = _moments(g, traj.probs)
        return Moments(mean.reshape(S, A), cov / batch_size, n_tuples)

    index = np.indices((n_traj,) * batch_size).reshape(batch_size, -1).T  # (n_tuples, N)
    probs = np.prod(traj.probs[index], axis=1)
    values = np.empty((n_tuples, S, A))
    for k, rows in enumerate(index):
        values[k] = estimate(estimator, traj.batch.take(rows), policy)
    mean, cov = _moments(values, probs)
    return Moments(mean.reshape(S, A), cov, n_tuples)
