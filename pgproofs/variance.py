"""Exact means and covariances of the REINFORCE family by dynamic programming.

Section "Reducing Variance" of the notes compares estimators by their
variance; here every built-in estimator's covariance is computed exactly, in
time polynomial in the horizon, so those comparisons are decided without
sampling. Notation (D = S*A, the number of logits):

    psi_t = grad log pi(a_t|s_t)                    (D,)  the step score
    G     = sum_t psi_t                                   the trajectory score
    R     = sum_t gamma^(t-1) r_t                         the (discounted) return
    rho_t = gamma^(t-1) r_t

Two forward passes over time carry, for every state s at step t, the
unnormalised moments E[f(history) 1{s_t = s}] of the quantities an estimator
is built from; the actions at step t and the transition to t+1 update them
linearly, because psi_t, rho_t and the baseline are fixed once (s_t, a_t) is.

* ``trajectory_moments``: E[R^j], E[G R^j], E[G G^T R^j] for j = 0, 1, 2.
  They give every full-return estimator G (R - b), any constant or
  per-logit b, and the batch-mean and leave-one-out baselines for any batch
  size (U-statistics of i.i.d. trajectories).
* ``causal_moments``: mean and second moment of
      g = sum_t gamma^(t-1) psi_t (Rhat_t - b_t(s_t[, a_t]))
        = sum_t' rho_t' G_{<=t'} - sum_t gamma^(t-1) b_t psi_t,
  the reward-to-go estimator with a state (or, as a negative control,
  action) dependent baseline, carried as h_t = partial sum of g with
  h_{t} = h_{t-1} + rho_t G_{<=t} - gamma^(t-1) b_t psi_t.

Cost per step is O(S A D^2) for the update and O(S^2 A D^2) for the
transition, i.e. O(T S^2 A (S A)^2) in all. Both passes are cross-checked
against ``check.exact_moments`` (trajectory enumeration) in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgproofs.mdp import FiniteMDP
from pgproofs.moments import Moments
from pgproofs.policy import SoftmaxPolicy

__all__ = [
    "TrajectoryMoments", "batch_baseline_moments", "causal_moments",
    "exact_covariance", "full_return_moments",
    "optimal_baseline", "scores", "squared_error_moments", "trajectory_moments",
]


def scores(policy: SoftmaxPolicy) -> np.ndarray:
    """psi[s, a] = grad_logits log pi(a|s), flattened: shape (S, A, S*A)."""
    S, A = policy.logits.shape
    psi = np.zeros((S, A, S, A))
    for s in range(S):
        psi[s, :, s, :] = np.eye(A) - policy.probs[s][None, :]
    return psi.reshape(S, A, S * A)


def _weighted_transitions(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """W[(s, a), s'] = pi(a|s) p(s'|s, a): the step from (state, action) mass to next-state mass."""
    S, A = mdp.n_states, mdp.n_actions
    return (policy.probs[:, :, None] * mdp.transitions).reshape(S * A, S)


def _advance(moments: list[np.ndarray], W: np.ndarray, pi: np.ndarray, last: bool) -> list[np.ndarray]:
    """Weight per-(s, a) moments by pi and move them to s_{t+1} (or sum them at the end).

    Each array has shape (S, A, *rest); returns (S, *rest) arrays, or (*rest)
    at the last step.
    """
    out = []
    for m in moments:
        S, A = m.shape[:2]
        flat = m.reshape(S * A, -1)
        if last:
            out.append((pi.reshape(-1) @ flat).reshape(m.shape[2:]))
        else:
            out.append((W.T @ flat).reshape((W.shape[1],) + m.shape[2:]))
    return out


@dataclass(frozen=True)
class TrajectoryMoments:
    """Exact joint moments of the trajectory score G (D,) and the return R.

    R[j] = E[R^j], GR[j] = E[G R^j] (D,), GGR[j] = E[G G^T R^j] (D, D), j = 0, 1, 2.
    """

    R: np.ndarray
    GR: np.ndarray
    GGR: np.ndarray
    shape: tuple[int, int]


def trajectory_moments(mdp: FiniteMDP, policy: SoftmaxPolicy) -> TrajectoryMoments:
    """E[R^j], E[G R^j], E[G G^T R^j] (j = 0, 1, 2) by a forward pass over time.

    With G' = G + psi and R' = R + rho at step t,
        E[G'G'^T R'^j] = sum_i C(j, i) rho^(j-i) E[(GG^T + G psi^T + psi G^T + psi psi^T) R^i],
    and likewise for E[G' R'^j] and E[R'^j].
    """
    mdp.check_policy(policy)
    S, A, T, D = mdp.n_states, mdp.n_actions, mdp.horizon, mdp.n_states * mdp.n_actions
    psi = scores(policy)                                   # (S, A, D)
    psi_out = psi[:, :, :, None] * psi[:, :, None, :]      # (S, A, D, D)
    W, pi = _weighted_transitions(mdp, policy), policy.probs
    binom = np.array([[1, 0, 0], [1, 1, 0], [1, 2, 1]], dtype=float)
    # moments conditioned jointly with s_t, before acting: index j = power of R
    c = np.zeros((3, S))
    b = np.zeros((3, S, D))
    a = np.zeros((3, S, D, D))
    c[0] = mdp.initial
    for t in range(T):
        rho = mdp.discount ** t * mdp.rewards                 # (S, A)
        # score update at (s, a): moments of G' R^i, R not yet updated
        cb = np.broadcast_to(c[:, :, None], (3, S, A))
        bb = b[:, :, None, :] + psi[None] * c[:, :, None, None]           # (3, S, A, D)
        gb = b[:, :, None, :, None] * psi[None, :, :, None, :]             # E[G R^i] psi^T
        ab = (a[:, :, None] + gb + np.swapaxes(gb, -1, -2)
              + psi_out[None] * c[:, :, None, None, None])                  # (3, S, A, D, D)
        # reward update: E[X R'^j] = sum_{i<=j} C(j, i) rho^(j-i) E[X R^i]
        coef = np.zeros((3, 3, S, A))
        for j in range(3):
            for i in range(j + 1):
                coef[j, i] = binom[j, i] * rho ** (j - i)
        c2 = np.einsum("jisa,isa->jsa", coef, cb)
        b2 = np.einsum("jisa,isad->jsad", coef, bb)
        a2 = np.einsum("jisa,isade->jsade", coef, ab)
        last = t + 1 == T
        # _advance wants (S, A, ...) arrays; the power index j moves behind (s, a)
        c, b, a = _advance([np.moveaxis(x, 0, 2) for x in (c2, b2, a2)], W, pi, last)
        if not last:
            c, b, a = (np.moveaxis(x, 1, 0) for x in (c, b, a))
    return TrajectoryMoments(R=c, GR=b, GGR=a, shape=(S, A))


def _moments(mean: np.ndarray, second: np.ndarray, shape: tuple[int, int]) -> Moments:
    """Moments from the mean (D,) and the second moment E[g g^T] (D, D); n_tuples = 0 (no enumeration)."""
    cov = second - np.outer(mean, mean)
    return Moments(mean.reshape(shape), 0.5 * (cov + cov.T), 0)


def full_return_moments(tm: TrajectoryMoments, baseline=0.0) -> Moments:
    """Moments of g = G (R - b) for one trajectory; b a scalar or one value per logit (S, A).

    E[g] = E[G R] - b * E[G];
    E[g g^T]_kl = E[G_k G_l R^2] - (b_k + b_l) E[G_k G_l R] + b_k b_l E[G_k G_l].
    """
    D = tm.GR.shape[1]
    b = np.broadcast_to(np.asarray(baseline, dtype=np.float64), tm.shape).reshape(D)
    mean = tm.GR[1] - b * tm.GR[0]
    second = tm.GGR[2] - (b[:, None] + b[None, :]) * tm.GGR[1] + np.outer(b, b) * tm.GGR[0]
    return _moments(mean, second, tm.shape)


def batch_baseline_moments(tm: TrajectoryMoments, batch_size: int, *, leave_one_out: bool) -> Moments:
    """Moments of the batch-mean (or leave-one-out) baseline estimator on N i.i.d. trajectories.

    Both are U = a sum_i X_i - c sum_{i != j} Y_i Z_j with X = G R, Y = G, Z = R:
    batch mean b = (1/N) sum_j R_j gives a = (N-1)/N^2, c = 1/N^2; leave-one-out
    b_i = (1/(N-1)) sum_{j != i} R_j gives a = 1/N, c = 1/(N(N-1)). Expanding
    E[U U^T] over the patterns of equal indices gives the formula below.
    """
    N = batch_size
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {N!r}")
    if leave_one_out and N < 2:
        raise ValueError("batch_size: the leave-one-out baseline needs at least 2 trajectories")
    a, c = (1.0 / N, 1.0 / (N * (N - 1))) if leave_one_out else ((N - 1) / N ** 2, 1.0 / N ** 2)
    mY, mZ, mZZ = tm.GR[0], tm.R[1], tm.R[2]
    mX = tm.GR[1]                         # E[X] = E[Y Z] = E[G R]
    XX, XY, YY, XZ = tm.GGR[2], tm.GGR[1], tm.GGR[0], tm.GR[2]
    n2, n3, n4 = N * (N - 1), N * (N - 1) * (N - 2), N * (N - 1) * (N - 2) * (N - 3)
    mean = a * N * mX - c * n2 * mY * mZ
    xx = N * XX + n2 * np.outer(mX, mX)
    cross = n2 * (XY * mZ + np.outer(XZ, mY)) + n3 * np.outer(mX, mY) * mZ
    yz = (n2 * (YY * mZZ + np.outer(mX, mX))
          + n3 * (YY * mZ ** 2 + np.outer(mY, mY) * mZZ
                  + (np.outer(mX, mY) + np.outer(mY, mX)) * mZ)
          + n4 * np.outer(mY, mY) * mZ ** 2)
    second = a * a * xx - a * c * (cross + cross.T) + c * c * yz
    return _moments(mean, second, tm.shape)


def optimal_baseline(tm: TrajectoryMoments) -> np.ndarray:
    """b*_k = E[G_k^2 R] / E[G_k^2] for each logit k, shape (S, A).

    Setting d/db_k Var[G_k (R - b_k)] = -2 E[G_k^2 R] + 2 b_k E[G_k^2] = 0
    (on-policy E[G_k] = 0). Where E[G_k^2] = 0 the component G_k is zero
    almost surely, every b_k gives the same variance, and b*_k is set to 0.
    """
    den = np.diag(tm.GGR[0])
    num = np.diag(tm.GGR[1])
    safe = den > 0  # den = 0 only where G_k = 0 on every trajectory, and then num = 0 too
    return np.where(safe, num / np.where(safe, den, 1.0), 0.0).reshape(tm.shape)


def causal_moments(mdp: FiniteMDP, policy: SoftmaxPolicy, baseline=None, *,
                   include_current: bool = True) -> Moments:
    """Moments of g = sum_t gamma^(t-1) psi_t (Rhat_t - b_t) for one trajectory.

    baseline: None (zero), an array (T, S) of b_t(s) or (T, S, A) of b_t(s, a),
    in undiscounted-at-t units like Rhat_t. include_current=False drops r_t
    from Rhat_t (the off-by-one negative control, sum over t' > t).
    Forward pass carrying m0, E[G], E[h], E[G G^T], E[h G^T], E[h h^T] per
    state, with G' = G + psi and h' = h + rho G + (rho 1[include_current] - beta) psi.
    """
    mdp.check_policy(policy)
    S, A, T, D = mdp.n_states, mdp.n_actions, mdp.horizon, mdp.n_states * mdp.n_actions
    beta_all = np.zeros((T, S, A))
    if baseline is not None:
        bl = np.asarray(baseline, dtype=np.float64)
        if bl.shape == (T, S):
            bl = np.broadcast_to(bl[:, :, None], (T, S, A))
        if bl.shape != (T, S, A):
            raise ValueError(f"baseline: expected shape (T, S) = {(T, S)} or (T, S, A) = "
                             f"{(T, S, A)}, got {np.shape(baseline)}")
        if not np.all(np.isfinite(bl)):
            raise ValueError("baseline: contains non-finite entries")
        beta_all = bl
    psi = scores(policy)
    psi_out = psi[:, :, :, None] * psi[:, :, None, :]
    W, pi = _weighted_transitions(mdp, policy), policy.probs
    m0 = mdp.initial.copy()
    mG = np.zeros((S, D))
    mh = np.zeros((S, D))
    mGG = np.zeros((S, D, D))
    mhG = np.zeros((S, D, D))
    mhh = np.zeros((S, D, D))
    for t in range(T):
        disc = mdp.discount ** t
        rho = (disc * mdp.rewards)[:, :, None]                       # (S, A, 1)
        cpsi = (disc * ((mdp.rewards if include_current else 0.0) - beta_all[t]))[:, :, None]
        # per (s, a): x = E[h | .] + rho E[G | .] (before psi), then h' = x + c psi
        xv = mh[:, None] + rho * mG[:, None]                         # (S, A, D)
        r2 = rho[..., None]
        xx = (mhh[:, None] + r2 * (mhG[:, None] + np.swapaxes(mhG, -1, -2)[:, None])
              + r2 ** 2 * mGG[:, None])                              # E[x x^T]
        xG = mhG[:, None] + r2 * mGG[:, None]                        # E[x G^T]
        M0 = np.broadcast_to(m0[:, None], (S, A))
        c3 = cpsi[..., None]
        m0_ = M0[..., None, None]
        out_xpsi = xv[..., :, None] * psi[..., None, :]              # E[x] psi^T
        out_Gpsi = mG[:, None, :, None] * psi[..., None, :]          # E[G] psi^T
        new_hh = xx + c3 * (out_xpsi + np.swapaxes(out_xpsi, -1, -2)) + c3 ** 2 * psi_out * m0_
        new_hG = (xG + out_xpsi + c3 * np.swapaxes(out_Gpsi, -1, -2) + c3 * psi_out * m0_)
        new_GG = (mGG[:, None] + out_Gpsi + np.swapaxes(out_Gpsi, -1, -2) + psi_out * m0_)
        new_h = xv + cpsi * psi * M0[..., None]
        new_G = mG[:, None] + psi * M0[..., None]
        last = t + 1 == T
        m0, mG, mh, mGG, mhG, mhh = _advance(
            [np.asarray(M0), new_G, new_h, new_GG, new_hG, new_hh], W, pi, last)
    return _moments(mh, mhh, (S, A))


def exact_covariance(estimator, mdp: FiniteMDP, policy: SoftmaxPolicy,
                     batch_size: int = 1) -> Moments:
    """Exact mean and covariance of a built-in estimator on batches of ``batch_size``.

    Works for any estimator with an ``exact_moments(mdp, policy, batch_size)``
    method (the ones in ``pgproofs.estimators``); other estimators need
    ``check.exact_moments`` (enumeration). ``n_tuples`` is 0: nothing is enumerated.
    """
    method = getattr(estimator, "exact_moments", None)
    if method is None:
        raise ValueError(f"estimator: {estimator!r} has no exact_moments method; use "
                         "check.exact_moments to enumerate trajectories instead")
    return method(mdp, policy, batch_size)


# The exact moments a sampling test needs: with them, montecarlo.median_of_means_radius
# bounds how far a sampled squared error may stray.

def squared_error_moments(values: np.ndarray, probs: np.ndarray, mean: np.ndarray,
                          batch_size: int = 1) -> tuple[float, float]:
    """Exact E and Var of ||g_bar - mean||^2, g_bar the average of batch_size i.i.d. draws.

    values (n, ...) with probabilities probs (n,), e.g. an estimator's
    per-trajectory terms over enumerated trajectories, and ``mean`` their
    expectation. With X = g - mean, Sigma = E[X X^T]:
        E||X_bar||^2 = tr Sigma / N,
        E||X_bar||^4 = (E||X||^4 + (N - 1) ((tr Sigma)^2 + 2 tr Sigma^2)) / N^3.
    """
    X = values.reshape(len(probs), -1) - np.asarray(mean).reshape(1, -1)
    sigma = (X * probs[:, None]).T @ X
    tr = float(np.trace(sigma))
    fourth = float(probs @ (X * X).sum(axis=1) ** 2)
    N = batch_size
    e4 = (fourth + (N - 1) * (tr ** 2 + 2 * float(np.sum(sigma * sigma)))) / N ** 3
    return tr / N, e4 - (tr / N) ** 2
