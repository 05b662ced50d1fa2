"""SymPy derivations for the notes' section "REINFORCE" (claims PG-1, PG-2, PG-4).

Each function returns a dict name -> SymPy expression; the tests assert that
the ``difference`` entries simplify to 0 and record the rest as evidence.

* :func:`log_derivative_trick`: grad p = p grad log p, and for a distribution
  over n outcomes with generic differentiable probabilities p_i(theta),
  d/dtheta sum_i p_i r_i = sum_i p_i (d/dtheta log p_i) r_i (PG-1).
* :func:`trajectory_score`: with undefined functions for p(s_1), the dynamics
  p(s'|s, a) and the policy pi_theta(a|s), d/dtheta log p(tau) equals
  sum_t d/dtheta log pi_theta(a_t|s_t): the unknown terms have no
  theta-dependence and drop out (PG-2).
* :func:`reward_shift`: for a k-armed softmax bandit, adding c to every reward
  leaves E[g] unchanged and makes the total variance a quadratic in c with
  leading coefficient E||grad log pi||^2 > 0 (PG-4).
"""

from __future__ import annotations

import sympy as sp

__all__ = ["log_derivative_trick", "reward_shift", "softmax", "trajectory_score"]


def softmax(logits):
    """pi_i = exp(theta_i) / sum_j exp(theta_j) for a list of SymPy logits."""
    z = sp.Add(*[sp.exp(t) for t in logits])
    return [sp.exp(t) / z for t in logits]


def log_derivative_trick(n: int = 3) -> dict:
    """PG-1 over n outcomes with probabilities p_i(theta) (undefined functions) and rewards r_i.

    Returns the pointwise identity grad p - p grad log p, the gradient of
    J = sum_i p_i r_i, its score-function form, and their difference.
    """
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    theta = sp.Symbol("theta", real=True)
    p = [sp.Function(f"p_{i}", positive=True)(theta) for i in range(1, n + 1)]
    r = sp.symbols(f"r_1:{n + 1}", real=True)
    J = sp.Add(*[pi * ri for pi, ri in zip(p, r)])
    grad_J = sp.diff(J, theta)
    score_form = sp.Add(*[pi * sp.diff(sp.log(pi), theta) * ri for pi, ri in zip(p, r)])
    pointwise = sp.diff(p[0], theta) - p[0] * sp.diff(sp.log(p[0]), theta)
    return {
        "J": J,
        "grad_J": grad_J,
        "score_form": score_form,
        "difference": sp.simplify(grad_J - score_form),
        "pointwise_identity": sp.simplify(pointwise),
    }


def trajectory_score(horizon: int = 3) -> dict:
    """PG-2: d/dtheta log p_theta(tau) with generic p(s_1), p(s'|s, a) and pi_theta(a|s).

    p(tau) = p_1(s_1) prod_{t=1}^T pi(a_t, s_t; theta) prod_{t<T} P(s_{t+1}, s_t, a_t);
    p_1 and P are undefined functions that do not take theta, pi is one that does.
    """
    if horizon < 1:
        raise ValueError(f"horizon: must be >= 1, got {horizon}")
    theta = sp.Symbol("theta", real=True)
    s = sp.symbols(f"s_1:{horizon + 1}")
    a = sp.symbols(f"a_1:{horizon + 1}")
    p1, P, pi = sp.Function("p_1"), sp.Function("P"), sp.Function("pi")
    log_p = (sp.log(p1(s[0]))
             + sp.Add(*[sp.log(pi(a[t], s[t], theta)) for t in range(horizon)])
             + sp.Add(*[sp.log(P(s[t + 1], s[t], a[t])) for t in range(horizon - 1)]))
    score = sp.diff(log_p, theta)
    policy_scores = sp.Add(*[sp.diff(sp.log(pi(a[t], s[t], theta)), theta)
                             for t in range(horizon)])
    dynamics_terms = sp.log(p1(s[0])) + sp.Add(*[sp.log(P(s[t + 1], s[t], a[t]))
                                                 for t in range(horizon - 1)])
    return {
        "log_p_tau": log_p,
        "grad_log_p_tau": score,
        "sum_of_policy_scores": policy_scores,
        "difference": sp.simplify(score - policy_scores),
        "grad_of_initial_and_dynamics_terms": sp.diff(dynamics_terms, theta),
    }


def reward_shift(k: int = 3) -> dict:
    """PG-4 on a k-armed softmax bandit whose rewards r_a are all shifted by c.

    The policy is written through its probabilities p_1..p_{k-1}, p_k = 1 - sum;
    the softmax score with respect to logit j is psi_j(a) = 1[a = j] - p_j
    (derived from the logits in ``symbolic.variance.categorical_score_mean``).
    g_c(a) = psi(a) (r_a + c). Returns the mean change E[g_c] - E[g_0] (zero),
    the total variance tr Cov[g_c], its degree and c^2 coefficient (which
    equals E||psi||^2 > 0), and the minimising shift c* = -E[||psi||^2 r] / E[||psi||^2].
    """
    if k < 2:
        raise ValueError(f"k: must be >= 2, got {k}")
    free = sp.symbols(f"p_1:{k}", positive=True)
    p = list(free) + [1 - sp.Add(*free)]
    r = sp.symbols(f"r_1:{k + 1}", real=True)
    c = sp.Symbol("c", real=True)
    psi = [[int(a == j) - p[j] for j in range(k)] for a in range(k)]
    mean = [sp.Add(*[p[a] * psi[a][j] * (r[a] + c) for a in range(k)]) for j in range(k)]
    sq_norm = [sp.Add(*[psi[a][j] ** 2 for j in range(k)]) for a in range(k)]
    total_variance = (sp.Add(*[p[a] * sq_norm[a] * (r[a] + c) ** 2 for a in range(k)])
                      - sp.Add(*[m ** 2 for m in mean]))
    poly = sp.Poly(sp.expand(total_variance), c)
    e_sq = sp.Add(*[p[a] * sq_norm[a] for a in range(k)])
    e_sq_r = sp.Add(*[p[a] * sq_norm[a] * r[a] for a in range(k)])
    c_star = -e_sq_r / e_sq
    return {
        "mean_change": sp.Matrix([sp.expand(m - m.subs(c, 0)) for m in mean]),
        "total_variance": sp.factor(total_variance, c),
        "degree_in_c": sp.Integer(poly.degree()),
        "c2_coefficient": sp.factor(poly.coeff_monomial(c ** 2)),
        "c2_coefficient_minus_expected_score_norm": sp.expand(poly.coeff_monomial(c ** 2) - e_sq),
        "expected_score_norm": sp.factor(e_sq),
        "minimising_shift": sp.simplify(c_star),
        "derivative_at_minimiser": sp.simplify(sp.together(sp.diff(total_variance, c).subs(c, c_star))),
    }
