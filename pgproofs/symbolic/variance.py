"""SymPy derivations for the notes' section "Reducing Variance" (VR-1, VR-2, VR-5, VR-6).

Each function returns a dict name -> SymPy expression; the tests assert that
the ``difference`` / ``*_zero`` entries simplify to 0 and record the rest.

* :func:`categorical_score_mean`: E[grad log pi] = 0 for a softmax over k
  logits with k a symbol (sums over 1..k), and explicitly for given k (VR-1).
* :func:`bernoulli_score_mean`, :func:`gaussian_score_mean`: the same for a
  Bernoulli (in its probability and in its logit) and for the mean and the
  log-standard deviation of a Gaussian, by integration over the real line (VR-1).
* :func:`causality`: on a generic 2-state, 2-action MDP with T = 2, the past
  reward r_1 times the score of a_2 has expectation 0, while the future reward
  r_2 times the score of a_1 does not (VR-2).
* :func:`batch_mean_baseline_bias`: the batch's own mean as baseline scales
  the expected gradient by (N-1)/N; leave-one-out does not (VR-5).
* :func:`optimal_constant_baseline`: d Var / d b = 0 gives
  b* = E[g^2 r] / E[g^2]; Var(b) - Var(b*) = E[g^2] (b - b*)^2 (VR-6).
"""

from __future__ import annotations

import itertools

import sympy as sp
import sympy.stats as sps

from pgproofs.symbolic.reinforce import softmax

__all__ = [
    "batch_mean_baseline_bias", "bernoulli_score_mean", "categorical_score_mean", "causality",
    "gaussian_score_mean", "optimal_constant_baseline",
]


def _canonical_sums(expr, index):
    """Rename every single-index Sum's dummy to ``index`` so equal sums cancel."""
    return expr.replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1,
        lambda e: sp.Sum(e.function.subs(e.limits[0][0], index), (index,) + tuple(e.limits[0][1:])))


def categorical_score_mean(k: int | None = None) -> dict:
    """E_{a ~ softmax(theta)}[d log pi_a / d theta_j] for k logits.

    k=None: k is a positive integer symbol, pi_i = exp(theta_i) / sum_{l=1}^k exp(theta_l),
    and the expectation is a symbolic sum over i = 1..k. k=int: the k-vector
    of expectations, written out.
    """
    if k is None:
        n = sp.Symbol("k", integer=True, positive=True)
        i, j, l = sp.symbols("i j l", integer=True, positive=True)
        theta = sp.IndexedBase("theta", real=True)
        Z = sp.Sum(sp.exp(theta[l]), (l, 1, n))
        score = sp.diff(theta[i] - sp.log(Z), theta[j])
        expectation = sp.Sum(sp.exp(theta[i]) / Z * score, (i, 1, n))
        value = sp.simplify(_canonical_sums(expectation.doit(), l))
        return {"score": score, "expected_score": expectation, "value": value}
    if k < 1:
        raise ValueError(f"k: must be >= 1, got {k}")
    theta = sp.symbols(f"theta_1:{k + 1}", real=True)
    pi = softmax(theta)
    score = sp.Matrix([[sp.simplify(sp.diff(sp.log(pi[a]), theta[j])) for j in range(k)]
                       for a in range(k)])   # row a: grad log pi_a
    expected = sp.Matrix([sp.simplify(sp.Add(*[pi[a] * score[a, j] for a in range(k)]))
                          for j in range(k)])
    # the closed form used elsewhere: d log pi_a / d theta_j = 1[a = j] - pi_j
    closed = sp.Matrix(k, k, lambda a, j: int(a == j) - pi[j])
    return {"score": score, "value": expected,
            "score_minus_closed_form": sp.simplify(score - closed)}


def bernoulli_score_mean() -> dict:
    """E[d log p(X) / d param] for X ~ Bernoulli, parametrised by p and by the logit theta."""
    p = sp.Symbol("p", positive=True)
    theta = sp.Symbol("theta", real=True)
    out = {}
    for name, param, prob in (("probability", p, p), ("logit", theta, 1 / (1 + sp.exp(-theta)))):
        X = sps.Bernoulli(f"X_{name}", prob)
        log_pmf = X * sp.log(prob) + (1 - X) * sp.log(1 - prob)
        score = sp.diff(log_pmf, param)
        out[f"score_{name}"] = score
        out[f"value_{name}"] = sp.simplify(sps.E(score))
    return out


def gaussian_score_mean() -> dict:
    """E[d log f(x) / d mu] and E[d log f(x) / d rho] for x ~ N(mu, sigma^2), sigma = exp(rho).

    Integrated over the real line with mu, rho real symbols.
    """
    mu, rho, x = sp.symbols("mu rho x", real=True)
    sigma = sp.exp(rho)
    log_f = -(x - mu) ** 2 / (2 * sigma ** 2) - rho - sp.log(sp.sqrt(2 * sp.pi))
    density = sp.exp(log_f)
    out = {"log_density": log_f,
           "normalisation": sp.simplify(sp.integrate(density, (x, -sp.oo, sp.oo)))}
    for name, param in (("mean", mu), ("log_std", rho)):
        score = sp.simplify(sp.diff(log_f, param))
        out[f"score_{name}"] = score
        out[f"value_{name}"] = sp.simplify(sp.integrate(density * score, (x, -sp.oo, sp.oo)))
    return out


def causality() -> dict:
    """Past and future rewards against the step scores on a generic 2x2 MDP with T = 2.

    p(s_1 = 0) = q, p(s_2 = 0 | s, a) = P_sa, rewards r_sa, policy
    pi(0|s) = u_s: all symbols. The score with respect to the logits is
    d log pi(a|s) / d theta_{s'b} = 1[s' = s] (1[b = a] - pi(b|s)) (its
    derivation from the softmax is ``categorical_score_mean``). Sums over the
    16 trajectories: ``past_times_score`` = E[grad log pi(a_2|s_2) r(s_1, a_1)]
    (zero, VR-2) and ``future_times_score`` = E[grad log pi(a_1|s_1) r(s_2, a_2)]
    (not zero: only the past drops out).
    """
    q = sp.Symbol("q", positive=True)
    P = sp.Matrix(2, 2, lambda s, a: sp.Symbol(f"P_{s}{a}", positive=True))
    r = sp.Matrix(2, 2, lambda s, a: sp.Symbol(f"r_{s}{a}", real=True))
    u = sp.symbols("u_0 u_1", positive=True)
    pi = [[u[s], 1 - u[s]] for s in range(2)]

    def score(s, a):  # flattened over the logits theta_00, theta_01, theta_10, theta_11
        return sp.Matrix([int(s2 == s) * (int(b == a) - pi[s][b])
                          for s2 in range(2) for b in range(2)])

    past = sp.zeros(4, 1)
    future = sp.zeros(4, 1)
    for s1, a1, s2, a2 in itertools.product(range(2), repeat=4):
        p_next = P[s1, a1] if s2 == 0 else 1 - P[s1, a1]
        prob = (q if s1 == 0 else 1 - q) * pi[s1][a1] * p_next * pi[s2][a2]
        past += prob * r[s1, a1] * score(s2, a2)
        future += prob * r[s2, a2] * score(s1, a1)
    return {"past_times_score": past.applyfunc(sp.expand),
            "future_times_score": future.applyfunc(sp.factor)}


def batch_mean_baseline_bias(batch_sizes=(2, 3)) -> dict:
    """E of the batch-mean and leave-one-out baseline estimators, symbolically.

    General N: with i.i.d. trajectories, E[(1/N) sum_i g_i (R_i - (1/N) sum_j R_j)]
    = E[gR] - (E[gR] + (N-1) E[g] E[R]) / N, and E[g] = 0 (VR-1) leaves
    (N-1)/N E[gR]. Explicit check: a Bernoulli-logit bandit (p = sigmoid(theta),
    rewards r_1, r_0) with every N-tuple of actions enumerated, N in ``batch_sizes``.
    """
    N = sp.Symbol("N", integer=True, positive=True)
    m_gR, m_g, m_R = sp.symbols("E[gR] E[g] E[R]", real=True)
    general = m_gR - (m_gR + (N - 1) * m_g * m_R) / N
    out = {"batch_mean_expectation_general": general,
           "batch_mean_ratio_general": sp.simplify(general.subs(m_g, 0) / m_gR)}
    theta = sp.Symbol("theta", real=True)
    r1, r0 = sp.symbols("r_1 r_0", real=True)
    p = 1 / (1 + sp.exp(-theta))
    prob = {1: p, 0: 1 - p}
    reward = {1: r1, 0: r0}
    score = {a: sp.diff(sp.log(prob[a]), theta) for a in (0, 1)}
    grad_J = sp.diff(p * r1 + (1 - p) * r0, theta)
    for n in batch_sizes:
        mean_b = sp.Integer(0)
        loo_b = sp.Integer(0)
        for acts in itertools.product((0, 1), repeat=n):
            w = sp.Mul(*[prob[a] for a in acts])
            R = [reward[a] for a in acts]
            batch_mean = sp.Add(*R) / n
            mean_b += w * sp.Add(*[score[a] * (R[i] - batch_mean) for i, a in enumerate(acts)]) / n
            loo_b += w * sp.Add(*[score[a] * (R[i] - (sp.Add(*R) - R[i]) / (n - 1))
                                  for i, a in enumerate(acts)]) / n
        out[f"batch_mean_ratio_N{n}"] = sp.simplify(mean_b / grad_J)
        out[f"batch_mean_minus_prediction_N{n}"] = sp.simplify(
            mean_b - sp.Rational(n - 1, n) * grad_J)
        out[f"leave_one_out_minus_gradient_N{n}"] = sp.simplify(loo_b - grad_J)
    return out


def optimal_constant_baseline() -> dict:
    """Var[g (r - b)] for one gradient component g with E[g] = 0, minimised over b.

    Var(b) = E[g^2 (r - b)^2] - E[g r]^2 = E[g^2 r^2] - 2 b E[g^2 r] + b^2 E[g^2] - E[g r]^2.
    Also for the Bernoulli-logit bandit (p, rewards r_1, r_0): b* against the mean reward.
    """
    b = sp.Symbol("b", real=True)
    g2, g2r, g2r2, gr = sp.symbols("E[g^2] E[g^2r] E[g^2r^2] E[gr]", real=True)
    var = g2r2 - 2 * b * g2r + b ** 2 * g2 - gr ** 2
    (b_star,) = sp.solve(sp.diff(var, b), b)
    out = {
        "variance": var,
        "b_star": b_star,
        "b_star_minus_formula": sp.simplify(b_star - g2r / g2),
        "second_derivative": sp.diff(var, b, 2),
        "excess_variance": sp.factor(sp.simplify(var - var.subs(b, b_star))),
        "excess_minus_formula": sp.simplify(var - var.subs(b, b_star) - g2 * (b - b_star) ** 2),
    }
    # Bernoulli-logit bandit: g(a) = a - p, so E[g^2 r] / E[g^2] weighs each reward by
    # the OTHER action's probability, while the mean reward weighs it by its own.
    p = sp.Symbol("p", positive=True)
    r1, r0 = sp.symbols("r_1 r_0", real=True)
    e_g2 = p * (1 - p) ** 2 + (1 - p) * p ** 2
    e_g2r = p * (1 - p) ** 2 * r1 + (1 - p) * p ** 2 * r0
    bandit_b_star = sp.simplify(e_g2r / e_g2)
    mean_reward = p * r1 + (1 - p) * r0
    out["bandit_b_star"] = bandit_b_star
    out["bandit_mean_reward"] = mean_reward
    # the mean baseline raises the variance above b = 0 iff E[g^2] (m^2 - 2 m b*) > 0
    out["bandit_mean_baseline_variance_change"] = sp.factor(sp.simplify(
        e_g2 * (mean_reward - bandit_b_star) ** 2 - e_g2 * bandit_b_star ** 2))
    return out
