"""Monte Carlo checks for MDPs too large to enumerate.

The exact gradient still comes from dynamic programming
(``exact.policy_gradient``, O(T S^2 A)); only the estimator's mean is
sampled. Batches are i.i.d. draws, so the n estimates g_1..g_n (each an
(S, A) array) are i.i.d. and each component g_i[s, a] is a scalar sample
whose mean must equal dJ/dtheta[s, a] (notes, section "REINFORCE":
grad J = E[grad log p(tau) r(tau)]).

The test (``mc_bias_test``, ``mc_unbiased``)
---------------------------------------------
H0: E g[s, a] = dJ/dtheta[s, a] for all m = S*A components. Each component
gets a two-sided test at level alpha/m; H0 is rejected if any component
rejects. By Bonferroni's (union) bound the false-alarm probability is at most
the sum of the m per-component levels, i.e. alpha. The per-component test is
one of:

* ``bound`` given (method "bernstein", FINITE-SAMPLE guarantee). If every
  component of every estimate lies in [-B, B], the empirical Bernstein bound
  of Maurer & Pontil (2009, Theorem 4, applied to Z and 1 - Z for Z scaled to
  [0, 1], each at level delta/2) gives, for n >= 2 i.i.d. samples with sample
  variance V (ddof 1) and range w = 2B,

      P( |mean - mu| > sqrt(2 V L / n) + 7 w L / (3 (n - 1)) ) <= delta,
      L = ln(4 / delta),

  for every n and every distribution on [-B, B]: no approximation. With
  delta = alpha/m the false-alarm probability is <= alpha exactly. The price
  is power: the range term 7wL/(3(n-1)) shrinks like 1/n with a crude B.
  Observed values outside [-B, B] raise ValueError (the stated bound is
  false); values the sample never shows cannot be checked, so B must come
  from an argument, e.g. ``reinforce_bound``.
* no ``bound`` (method "student-t", ASYMPTOTIC guarantee). Student's t test
  with n - 1 degrees of freedom on each component. Its level is exact only
  for Gaussian estimates; for others it holds as n -> infinity (CLT), and
  far in the tail (alpha/m ~ 1e-7) a skewed estimator can exceed the nominal
  level by orders of magnitude at moderate n: ``benchmarks/calibration.py``
  measures the false-alarm rate of both methods, and on its skewed MDP with
  n = 200 Student's t at nominal alpha = 1e-6 rejected a correct estimator
  in 1 of 1000 runs, while the Bernstein test never did. Use ``bound`` when
  alpha must hold as stated.

Per-component p-values are the smallest delta at which that component
rejects; the reported p-value is the Bonferroni-adjusted min(1, m min p), and
H0 is rejected iff p-value < alpha. Differences below a rounding slack of
1e-9 * max(1, |exact gradient|_max) count as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgproofs import exact
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.moments import MAX_TUPLES, estimate, exact_moments
from pgproofs.policy import SoftmaxPolicy

__all__ = [
    "binomial_tail", "median_of_means", "median_of_means_radius",
    "MCResult", "VarianceComparison", "compare_variance", "estimates_on", "mc_bias_test",
    "mc_unbiased", "reinforce_bound", "sample_estimates",
]

ROUNDING = 1e-9


def positive_int(name: str, value, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name}: must be an integer >= {least}, got {value!r}")
    return int(value)


def check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
    return alpha


def check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator (Monte Carlo checks are "
                         f"seeded explicitly), got {type(rng).__name__}")
    return rng


def reinforce_bound(mdp: FiniteMDP) -> float:
    """B with |g[s, a]| <= B for REINFORCE and reward-to-go estimates (no baseline, on-policy).

    g[s, b] = sum_t 1[s_t = s] (1[a_t = b] - pi(b|s)) w_t with |1[.] - pi| <= 1
    and |w_t| <= sum_t gamma^(t-1) max|r| (the return, or the discounted
    reward-to-go), so |g| <= T * max|r| * sum_{t<T} gamma^t. A batch mean obeys
    the same bound.
    """
    horizon_weight = float(np.sum(mdp.discount ** np.arange(mdp.horizon)))
    return mdp.horizon * float(np.max(np.abs(mdp.rewards))) * horizon_weight


def sample_estimates(estimator, mdp: FiniteMDP, policy: SoftmaxPolicy, n_batches: int,
                     rng: np.random.Generator, *, batch_size: int = 1,
                     behavior: SoftmaxPolicy | None = None) -> np.ndarray:
    """n_batches i.i.d. estimates, shape (n_batches, S, A), from batches drawn under ``behavior``."""
    mdp.check_policy(policy, "policy")
    behavior = policy if behavior is None else behavior
    mdp.check_policy(behavior, "behavior")
    n_batches = positive_int("n_batches", n_batches)
    batch_size = positive_int("batch_size", batch_size)
    if not callable(estimator):
        raise ValueError(f"estimator: expected a callable (batch, policy) -> (S, A), "
                         f"got {type(estimator).__name__}")
    batch = mdp.sample(behavior, n_batches * batch_size, check_rng(rng))
    return estimates_on(estimator, batch, policy, batch_size)


def estimates_on(estimator, trajectories: Batch, policy: SoftmaxPolicy,
                 batch_size: int = 1) -> np.ndarray:
    """The estimates on consecutive batches of ``batch_size`` of ``trajectories``: (n, S, A).

    An estimator with ``per_trajectory`` (its output being the batch mean of
    those terms, as in ``moments.exact_moments``) is evaluated in one vectorised
    call; any other is called once per batch.
    """
    batch_size = positive_int("batch_size", batch_size)
    if len(trajectories) % batch_size:
        raise ValueError(f"batch_size: {len(trajectories)} trajectories do not split into "
                         f"batches of {batch_size}")
    n_batches = len(trajectories) // batch_size
    S, A = policy.logits.shape
    per_trajectory = getattr(estimator, "per_trajectory", None)
    if per_trajectory is not None:
        g = np.asarray(per_trajectory(trajectories, policy), dtype=np.float64)
        if g.shape != (len(trajectories), S, A):
            raise ValueError(f"estimator.per_trajectory: returned shape {g.shape}, "
                             f"expected {(len(trajectories), S, A)}")
        if not np.all(np.isfinite(g)):
            raise ValueError("estimator.per_trajectory: returned non-finite entries")
        return g.reshape(n_batches, batch_size, S, A).mean(axis=1)
    rows = np.arange(n_batches * batch_size).reshape(n_batches, batch_size)
    return np.stack([estimate(estimator, trajectories.take(r), policy) for r in rows])


@dataclass(frozen=True)
class MCResult:
    """Outcome of the Monte Carlo unbiasedness test (see the module docstring).

    mean, stderr, exact_gradient, p_values, threshold: (S, A) arrays; threshold
    is the per-component half-width at level alpha/m (reject a component iff
    |mean - exact| exceeds it); statistic is the largest |mean - exact| /
    threshold (> 1 iff rejected); worst the (state, action) of the smallest
    p-value; p_value the Bonferroni-adjusted p-value; guarantee says whether
    alpha holds for finite n ("finite-sample") or as n -> infinity ("asymptotic").
    """

    method: str
    guarantee: str
    alpha: float
    n: int
    batch_size: int
    mean: np.ndarray
    stderr: np.ndarray
    exact_gradient: np.ndarray
    p_values: np.ndarray
    threshold: np.ndarray
    p_value: float
    statistic: float
    worst: tuple[int, int]
    rejected: bool

    def summary(self) -> str:
        s, a = self.worst
        verdict = "rejected" if self.rejected else "not rejected"
        return (f"{verdict} by the {self.method} test ({self.guarantee} false-alarm rate <= "
                f"{self.alpha:g}, Bonferroni over {self.mean.size} components, n={self.n} batches "
                f"of {self.batch_size}): worst logits[{s}, {a}]: estimator mean "
                f"{self.mean[s, a]:.6g} +- {self.stderr[s, a]:.3g} (s.e.), exact gradient "
                f"{self.exact_gradient[s, a]:.6g}, threshold +-{self.threshold[s, a]:.3g}; "
                f"adjusted p-value {self.p_value:.3g}")


def bernstein_pvalues(dev, var, n, width, delta_levels):
    """Per-component p-values and half-widths of the two-sided empirical Bernstein test."""
    c1 = np.sqrt(2.0 * var / n)
    c2 = 7.0 * width / (3.0 * (n - 1))
    # dev = c1 x + c2 x^2 with x = sqrt(L), L = ln(4/delta): solve for x, then delta.
    x = (-c1 + np.sqrt(c1 ** 2 + 4.0 * c2 * dev)) / (2.0 * c2)
    p = np.minimum(1.0, 4.0 * np.exp(-x ** 2))
    level = np.log(4.0 / delta_levels)
    half_width = c1 * np.sqrt(level) + c2 * level
    return p, half_width


def student_t_pvalues(dev, stderr, n, delta_levels):
    from scipy.special import stdtr, stdtrit

    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(stderr > 0, dev / np.where(stderr > 0, stderr, 1.0),
                     np.where(dev > 0, np.inf, 0.0))
    p = np.minimum(1.0, 2.0 * stdtr(n - 1, -t))
    half_width = stdtrit(n - 1, 1.0 - delta_levels / 2.0) * stderr
    return p, half_width


def mc_bias_test(estimator, mdp: FiniteMDP, policy: SoftmaxPolicy, *, n_batches: int = 10_000,
                 alpha: float = 1e-6, rng: np.random.Generator | None = None,
                 batch_size: int = 1, behavior: SoftmaxPolicy | None = None,
                 bound=None) -> MCResult:
    """Test H0: E[estimator] = exact.policy_gradient(mdp, policy) by sampling; never raises on rejection.

    See the module docstring for the method; ``bound`` (scalar or (S, A))
    selects the finite-sample empirical Bernstein test, otherwise Student's t
    (asymptotic). ``mc_unbiased`` is the asserting version.
    """
    alpha = check_alpha(alpha)
    n = positive_int("n_batches", n_batches, least=2)
    check_rng(rng)
    g = sample_estimates(estimator, mdp, policy, n, rng, batch_size=batch_size,
                         behavior=behavior)
    truth = exact.policy_gradient(mdp, policy)
    mean = g.mean(axis=0)
    var = g.var(axis=0, ddof=1)
    stderr = np.sqrt(var / n)
    slack = ROUNDING * max(1.0, float(np.max(np.abs(truth))))
    dev = np.maximum(np.abs(mean - truth) - slack, 0.0)
    m = truth.size
    delta_levels = np.full(truth.shape, alpha / m)
    if bound is not None:
        B = np.broadcast_to(np.asarray(bound, dtype=np.float64), truth.shape)
        if not np.all(np.isfinite(B)) or np.any(B <= 0):
            raise ValueError(f"bound: must be positive and finite, got {bound!r}")
        outside = np.abs(g) > B * (1 + ROUNDING)
        if np.any(outside):
            i, s, a = (int(k) for k in np.argwhere(outside)[0])
            raise ValueError(f"bound: estimate {g[i, s, a]:.6g} at logits[{s}, {a}] (batch {i}) "
                             f"lies outside [-{B[s, a]:g}, {B[s, a]:g}]; the stated bound is false")
        p, half_width = bernstein_pvalues(dev, var, n, 2.0 * B, delta_levels)
        method, guarantee = "bernstein", "finite-sample"
    else:
        p, half_width = student_t_pvalues(dev, stderr, n, delta_levels)
        method, guarantee = "student-t", "asymptotic"
    worst = tuple(int(k) for k in np.unravel_index(np.argmin(p), p.shape))
    p_value = float(min(1.0, m * p.min()))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half_width > 0, dev / np.where(half_width > 0, half_width, 1.0),
                         np.where(dev > 0, np.inf, 0.0))
    return MCResult(method, guarantee, alpha, n, int(batch_size), mean, stderr, truth, p,
                    half_width, p_value, float(ratio.max()), worst, p_value < alpha)


def mc_unbiased(estimator, mdp: FiniteMDP, policy: SoftmaxPolicy, *, n_batches: int = 10_000,
                alpha: float = 1e-6, rng: np.random.Generator | None = None,
                batch_size: int = 1, behavior: SoftmaxPolicy | None = None,
                bound=None) -> MCResult:
    """AssertionError when the Monte Carlo test rejects E[estimator] = grad J; else the MCResult.

    For MDPs too large to enumerate: the exact gradient comes from dynamic
    programming, the estimator's mean from ``n_batches`` i.i.d. batches of
    ``batch_size`` trajectories drawn under ``behavior`` (default ``policy``)
    with ``rng``. The false-alarm probability (rejecting an unbiased
    estimator) is at most ``alpha``: by construction for every n when
    ``bound`` is given (empirical Bernstein + Bonferroni), asymptotically
    otherwise (Student's t + Bonferroni); see the module docstring.
    """
    result = mc_bias_test(estimator, mdp, policy, n_batches=n_batches, alpha=alpha, rng=rng,
                          batch_size=batch_size, behavior=behavior, bound=bound)
    if result.rejected:
        raise AssertionError(f"estimator is biased: {result.summary()}")
    return result


@dataclass(frozen=True)
class VarianceComparison:
    """Total variances tr Cov[g] of two estimators and which is lower.

    verdict: "a_lower", "b_lower", "equal" (exact only, within rtol) or
    "inconclusive" (Monte Carlo only: the confidence interval for
    var_a - var_b contains 0). stderr and half_width (of that interval) are
    None when exact.
    """

    var_a: float
    var_b: float
    method: str
    verdict: str
    n: int
    stderr: float | None = None
    half_width: float | None = None

    @property
    def difference(self) -> float:
        return self.var_a - self.var_b


def compare_variance(est_a, est_b, mdp: FiniteMDP, policy: SoftmaxPolicy, *,
                     behavior: SoftmaxPolicy | None = None, batch_size: int = 1,
                     n_batches: int = 10_000, rng: np.random.Generator | None = None,
                     alpha: float = 1e-6, rtol: float = 1e-9,
                     max_tuples: int = MAX_TUPLES) -> VarianceComparison:
    """Compare E||g - E g||^2 of two estimators on batches of ``batch_size``.

    Exact (``moments.exact_moments``) when the batches can be enumerated within
    ``max_tuples``: verdict "equal" when the totals agree within ``rtol``
    (relative). Otherwise Monte Carlo on ``n_batches`` batches shared by both
    estimators (paired, which cancels most of the sampling noise): each total
    is the sum of per-component sample variances (ddof 1, unbiased) and the
    difference gets a normal-approximation interval diff +- z_{1-alpha/2} se,
    se = sd(d_i)/sqrt(n), d_i = ||a_i - mean a||^2 - ||b_i - mean b||^2. The
    interval is ASYMPTOTIC (CLT; plugging in the sample means changes d_i by
    O(1/n)), so a decided verdict is wrong with probability about alpha for
    large n; "inconclusive" when it covers 0.
    """
    mdp.check_policy(policy, "policy")
    behav = policy if behavior is None else behavior
    mdp.check_policy(behav, "behavior")
    batch_size = positive_int("batch_size", batch_size)
    if not (rtol >= 0):
        raise ValueError(f"rtol: must be >= 0, got {rtol}")
    n_tuples = exact.count_trajectories(mdp, behav) ** batch_size
    if n_tuples <= max_tuples:
        va, vb = (exact_moments(est, mdp, policy, behavior, batch_size,
                                max_tuples=max_tuples).total_variance
                  for est in (est_a, est_b))
        if abs(va - vb) <= rtol * max(abs(va), abs(vb)):
            verdict = "equal"
        else:
            verdict = "a_lower" if va < vb else "b_lower"
        return VarianceComparison(va, vb, "exact", verdict, n_tuples)

    from scipy.special import ndtri

    alpha = check_alpha(alpha)
    n = positive_int("n_batches", n_batches, least=2)
    check_rng(rng)
    batch = mdp.sample(behav, n * batch_size, rng)  # shared by both estimators (paired)
    a = estimates_on(est_a, batch, policy, batch_size)
    b = estimates_on(est_b, batch, policy, batch_size)
    sq_a = ((a - a.mean(axis=0)) ** 2).reshape(n, -1).sum(axis=1)
    sq_b = ((b - b.mean(axis=0)) ** 2).reshape(n, -1).sum(axis=1)
    va, vb = sq_a.sum() / (n - 1), sq_b.sum() / (n - 1)
    stderr = float(np.std(sq_a - sq_b, ddof=1) / np.sqrt(n))
    half_width = float(ndtri(1 - alpha / 2) * stderr)
    diff = va - vb
    verdict = "inconclusive" if abs(diff) <= half_width else ("a_lower" if diff < 0 else "b_lower")
    return VarianceComparison(float(va), float(vb), "monte-carlo", verdict, n, stderr, half_width)


# ---- median of means: how far a sampled mean of known variance may stray ----------
#
# The sampling tests compare a median of means with an exactly known expectation.
# For n i.i.d. samples of known variance v split into K (odd) groups of m, each
# group mean misses by >= eps with probability q <= v / (m eps^2) (Chebyshev), and
# the median misses only if at least (K+1)/2 groups do, which has probability at
# most the binomial tail P(Bin(K, q) >= (K+1)/2). No normal approximation is used.

def binomial_tail(k: int, q: float) -> float:
    """P(Bin(k, q) >= (k+1)/2) for odd k: the chance that a median of k group means fails."""
    from math import comb
    i = np.arange((k + 1) // 2, k + 1)
    combs = np.array([float(comb(k, j)) for j in i])
    return float(np.sum(combs * q ** i * (1.0 - q) ** (k - i)))


def median_of_means_radius(var: float, n: int, delta: float) -> tuple[float, int, int]:
    """(eps, K, m): with K*m <= n samples, P(|median of K group means - mean| >= eps) <= delta.

    var is the exact variance of one sample. K is chosen among odd numbers up
    to 99 to make eps smallest; for each K the largest per-group failure
    probability q with binomial_tail(K, q) <= delta is found by bisection
    (the tail increases with q), and eps = sqrt(var / (q m)).
    """
    if not (var >= 0 and n >= 3 and 0 < delta < 1):
        raise ValueError(f"var/n/delta: need var >= 0, n >= 3, 0 < delta < 1, got {var}, {n}, {delta}")
    best = (np.inf, 0, 0)
    for K in range(3, min(n, 99) + 1, 2):
        if binomial_tail(K, 1e-12) > delta:
            continue
        lo, hi = 1e-12, 0.5
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if binomial_tail(K, mid) <= delta else (lo, mid)
        m = n // K
        eps = float(np.sqrt(var / (lo * m)))
        if eps < best[0]:
            best = (eps, K, m)
    if best[1] == 0:
        raise ValueError(f"n: {n} samples cannot reach false-alarm probability {delta}")
    return best


def median_of_means(x: np.ndarray, k: int) -> float:
    """Median of the means of k consecutive equal groups of x (extra samples are dropped)."""
    x = np.asarray(x, dtype=np.float64)
    m = len(x) // k
    return float(np.median(x[: k * m].reshape(k, m).mean(axis=1)))
