"""Check a policy-gradient estimator against the exact answer.

An estimator is any callable ``(batch, policy) -> (S, A)`` array: an estimate
of dJ/dlogits averaged over the batch. ``exact_moments`` enumerates every
trajectory (every batch_size-tuple of trajectories) under the behaviour
policy and returns the estimator's exact mean and covariance, so bias and
variance are decided without sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from pgproofs import exact
from pgproofs.advantage_checks import (assert_advantages_unbiased, assert_gae_matches_reference,
                                       assert_value_targets_unbiased)
from pgproofs.mc_advantages import mc_advantage_test, mc_advantages_unbiased  # noqa: F401
from pgproofs.loss_checks import assert_loss_unbiased  # noqa: F401
from pgproofs.mc_loss import mc_loss_test, mc_loss_unbiased  # noqa: F401
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = ["Estimator", "Moments", "assert_advantages_unbiased", "assert_gae_matches_reference",
           "assert_unbiased", "assert_value_targets_unbiased", "compare_variance", "exact_moments",
           "from_surrogate_loss", "mc_unbiased"]

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


def _estimate(estimator: Estimator, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
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
        values[k] = _estimate(estimator, traj.batch.take(rows), policy)
    mean, cov = _moments(values, probs)
    return Moments(mean.reshape(S, A), cov, n_tuples)


def assert_unbiased(estimator: Estimator, mdp: FiniteMDP, policy: SoftmaxPolicy,
                    behavior: SoftmaxPolicy | None = None, batch_size: int = 1,
                    atol: float = 1e-9) -> Moments:
    """AssertionError unless E[estimator] equals exact.policy_gradient within ``atol``.

    The message names the logit with the largest bias and its size. Returns the
    exact moments on success.
    """
    if not (atol >= 0):
        raise ValueError(f"atol: must be >= 0, got {atol}")
    m = exact_moments(estimator, mdp, policy, behavior, batch_size)
    truth = exact.policy_gradient(mdp, policy)
    bias = m.mean - truth
    s, a = np.unravel_index(np.argmax(np.abs(bias)), bias.shape)
    worst = float(bias[s, a])
    if abs(worst) > atol:
        raise AssertionError(
            f"estimator is biased: largest bias {worst:+.6g} at logits[{s}, {a}] "
            f"(state {s}, action {a}): estimator mean {m.mean[s, a]:.6g}, exact gradient "
            f"{truth[s, a]:.6g}, atol {atol:g} (batch_size={batch_size}, "
            f"{m.n_tuples} batches enumerated)")
    return m


# Thin entry points to the modules that implement them. The imports are
# deferred: ``surrogate`` needs torch (kept out of ``import pgproofs``), and
# ``montecarlo`` imports this module.

def from_surrogate_loss(loss_fn):
    """Estimator whose estimate is MINUS the autograd gradient of ``loss_fn(logits, batch)``.

    See ``pgproofs.surrogate.from_surrogate_loss``.
    """
    from pgproofs.surrogate import from_surrogate_loss as _from_surrogate_loss
    return _from_surrogate_loss(loss_fn)


def mc_unbiased(estimator, mdp, policy, **kwargs):
    """Monte Carlo test of E[estimator] = exact.policy_gradient with false-alarm rate <= alpha.

    See ``pgproofs.montecarlo.mc_unbiased`` for the arguments and the method.
    """
    from pgproofs import montecarlo
    return montecarlo.mc_unbiased(estimator, mdp, policy, **kwargs)


def compare_variance(est_a, est_b, mdp, policy, **kwargs):
    """Total variances of two estimators (exact when enumerable) and which is lower.

    See ``pgproofs.montecarlo.compare_variance``.
    """
    from pgproofs import montecarlo
    return montecarlo.compare_variance(est_a, est_b, mdp, policy, **kwargs)
