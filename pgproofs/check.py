"""Check a policy-gradient estimator against the exact answer.

An estimator is any callable ``(batch, policy) -> (S, A)`` array: an estimate
of dJ/dlogits averaged over the batch. ``exact_moments`` enumerates every
trajectory (every batch_size-tuple of trajectories) under the behaviour
policy and returns the estimator's exact mean and covariance, so bias and
variance are decided without sampling.
"""

from __future__ import annotations

import numpy as np

from pgproofs import exact
from pgproofs.advantage_checks import (assert_advantages_unbiased, assert_gae_matches_reference,
                                       assert_value_targets_unbiased)
from pgproofs.loss_checks import assert_loss_unbiased
from pgproofs.mc_advantages import mc_advantage_test, mc_advantages_unbiased
from pgproofs.mc_loss import mc_loss_test, mc_loss_unbiased
from pgproofs.mdp import FiniteMDP
from pgproofs.moments import MAX_TUPLES, Estimator, Moments, exact_moments
from pgproofs.montecarlo import compare_variance, mc_unbiased
from pgproofs.policy import SoftmaxPolicy

__all__ = ["Estimator", "Moments", "assert_advantages_unbiased", "assert_gae_matches_reference",
           "assert_unbiased", "assert_value_targets_unbiased", "compare_variance", "exact_moments",
           "assert_loss_unbiased", "from_surrogate_loss", "mc_advantage_test",
           "mc_advantages_unbiased", "mc_loss_test", "mc_loss_unbiased", "mc_unbiased"]

# This module is where users call the checks; the engines implement them and are
# re-exported here: MAX_TUPLES, Estimator, Moments and exact_moments from
# ``pgproofs.moments`` (enumeration), mc_unbiased and compare_variance from
# ``pgproofs.montecarlo`` (sampling). Dependencies point from here to them only.


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


# The import is deferred because ``surrogate`` needs torch, which ``import pgproofs``
# does not load (the numpy engines work without it).

def from_surrogate_loss(loss_fn):
    """Estimator whose estimate is MINUS the autograd gradient of ``loss_fn(logits, batch)``.

    See ``pgproofs.surrogate.from_surrogate_loss``.
    """
    from pgproofs.surrogate import from_surrogate_loss as surrogate_estimator
    return surrogate_estimator(loss_fn)
