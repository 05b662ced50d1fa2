"""SymPy derivations for the notes' section "REINFORCE" (claims PG-1, PG-2, PG-4).

Each function returns a dict name -> SymPy expression; the tests decide that
the ``difference`` entries are zero (and that the controls' are not, by
evaluating them at an exact point) and record the rest as evidence.

* :func:`log_derivative_trick`: grad p = p grad log p, and for a general family
  (finite support of symbolic size n with arbitrary positive differentiable
  p_i(theta), or a density p(x, theta) on an interval (a, b) with symbolic
  ends, differentiated under the integral sign) d/dtheta E[r] = E[(d/dtheta log p) r] (PG-1).
* :func:`trajectory_score`: with undefined functions for p(s_1), the dynamics
  p(s'|s, a) and the policy pi_theta(a|s), d/dtheta log p(tau) equals
  sum_t d/dtheta log pi_theta(a_t|s_t) for a symbolic horizon T (and for a
  given T, written out): the unknown terms have no theta-dependence and drop
  out (PG-2).
* :func:`reward_shift`: for a k-armed softmax bandit, adding c to every reward
  leaves E[g] unchanged and makes the total variance a quadratic in c with
  leading coefficient E||grad log pi||^2 > 0, so it rises exactly when c moves
  away from the minimising shift c* (PG-4, sharpened).

Helpers shared with :mod:`pgproofs.symbolic.variance`: :func:`linear` (an
expectation is linear: split sums and integrals over their terms and pull out
the factors that do not depend on the summation variable) and
:func:`rename_bound` (give every single-variable sum or integral the same
dummy so that equal ones cancel).
"""

from __future__ import annotations

import sympy as sp

__all__ = ["linear", "log_derivative_trick", "rename_bound", "reward_shift", "softmax",
           "trajectory_score"]


def softmax(logits):
    """pi_i = exp(theta_i) / sum_j exp(theta_j) for a list of SymPy logits."""
    z = sp.Add(*[sp.exp(t) for t in logits])
    return [sp.exp(t) / z for t in logits]


def linear(expr):
    """Apply linearity to every one-variable Sum / Integral in ``expr``.

    sum_i (a f_i + g_i) -> a sum_i f_i + sum_i g_i, where a does not contain i;
    likewise for integrals (each part assumed integrable: the usual regularity).
    Valid for finite sums of any symbolic length; nothing else is rewritten.
    """
    def split(s):
        (var, *bounds), = s.limits
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function)):
            dep, indep = [], []
            for factor in sp.Mul.make_args(term):
                (dep if factor.has(var) else indep).append(factor)
            out += sp.Mul(*indep) * type(s)(sp.Mul(*dep), (var, *bounds))
        return out

    return expr.replace(lambda e: isinstance(e, (sp.Sum, sp.Integral)) and len(e.limits) == 1,
                        split)


def rename_bound(expr, olds, new, kinds=(sp.Sum, sp.Integral)):
    """Rename the bound variable of every one-variable Sum / Integral over one of ``olds`` to ``new``.

    Used to make sum_x f(x) and sum_y f(y) the same object so that they cancel.
    Only the listed variables are renamed, and never into a body in which
    ``new`` is already free (that would capture it): a ValueError says so.
    """
    olds = set(olds)

    def rename(e):
        (old, *bounds), = e.limits
        if old not in olds or old == new:
            return e
        if new in e.function.free_symbols:
            raise ValueError(f"new: {new} is free in {e.function}; renaming {old} would capture it")
        return type(e)(e.function.subs(old, new), (new, *bounds))

    return expr.replace(lambda e: isinstance(e, kinds) and len(e.limits) == 1, rename)


def score_weight(p, theta):
    """The notes' form: p d/dtheta log p, which multiplies r(x) in E[grad log p r]."""
    return p * sp.diff(sp.log(p), theta)


def log_derivative_trick(support: str = "finite", weight=score_weight) -> dict:
    """PG-1 for a general family: d/dtheta E_p[r] against E over x of weight(p, theta) r(x).

    support="finite": outcomes i = 1..n with n a symbol, p_i(theta) = p(i, theta)
    an undefined positive function and rewards r[i] (the finite case of any
    size at once). support="density": x in an interval (a, b) with symbolic
    bounds that do not depend on theta (a = -oo, b = oo included), p(x, theta)
    an undefined positive density and r(x) an undefined function; the integral
    is differentiated under the integral sign (the usual regularity: a
    dominated derivative). ``weight(p, theta)`` is the candidate for grad p; the
    default p d/dtheta log p is the notes' score form. Returns J, its gradient,
    the candidate form and ``difference`` = grad J - candidate (zero for the
    notes' form), with the pointwise identity grad p - p grad log p.
    """
    theta = sp.Symbol("theta", real=True)
    p_fn = sp.Function("p", positive=True)
    if support == "finite":
        n = sp.Symbol("n", integer=True, positive=True)
        i = sp.Symbol("i", integer=True, positive=True)
        var, size = i, n
        p, r = p_fn(i, theta), sp.IndexedBase("r", real=True)[i]

        def expect(f):
            return sp.Sum(f, (i, 1, n))
    elif support == "density":
        x = sp.Symbol("x", real=True)
        lo, hi = sp.symbols("a b", real=True)
        var, size = x, (lo, hi)
        p, r = p_fn(x, theta), sp.Function("r", real=True)(x)

        def expect(f):
            return sp.Integral(f, (x, lo, hi))
    else:
        raise ValueError(f"support: expected 'finite' or 'density', got {support!r}")
    J = expect(p * r)
    grad_J = sp.diff(J, theta)          # SymPy differentiates under the sum / integral sign
    candidate = expect(weight(p, theta) * r)
    return {
        "J": J,
        "grad_J": grad_J,
        "candidate": candidate,
        "difference": linear(grad_J - candidate),
        "pointwise_identity": sp.diff(p, theta) - p * sp.diff(sp.log(p), theta),
        "p": p_fn, "r": r, "theta": theta, "var": var, "size": size,
    }


def trajectory_score(horizon: int | None = None, policy_terms=None) -> dict:
    """PG-2: d/dtheta log p_theta(tau) with generic p(s_1), p(s'|s, a) and pi_theta(a|s).

    p(tau) = p_1(s_1) prod_{t=1}^T pi(a_t, s_t; theta) prod_{t<T} P(s_{t+1}, s_t, a_t);
    p_1 and P are undefined functions that do not take theta, pi is one that
    does, and s_t = s(t), a_t = a(t) are undefined functions of the step.
    horizon=None: T is a symbol and log p(tau) holds sums over t = 1..T;
    horizon=int: the sums are written out. ``policy_terms(score_t, over, T)``
    builds the candidate from the step score, where ``over(f, lo, hi)`` sums f
    over t = lo..hi (default: over(score_t, 1, T), the notes' form).
    ``difference`` is d/dtheta log p(tau) minus the candidate.
    """
    theta = sp.Symbol("theta", real=True)
    p1, P, pi = sp.Function("p_1"), sp.Function("P"), sp.Function("pi")
    s, a = sp.Function("s"), sp.Function("a")
    t = sp.Symbol("t", integer=True, positive=True)
    if horizon is None:
        T = sp.Symbol("T", integer=True, positive=True)

        def over(f, lo, hi):
            return sp.Sum(f, (t, lo, hi))
    else:
        if horizon < 1:
            raise ValueError(f"horizon: must be >= 1, got {horizon}")
        T = horizon

        def over(f, lo, hi):
            return sp.Add(*[f.subs(t, k) for k in range(lo, hi + 1)])
    log_pi = sp.log(pi(a(t), s(t), theta))
    dynamics_terms = sp.log(p1(s(1))) + over(sp.log(P(s(t + 1), s(t), a(t))), 1, T - 1)
    log_p = dynamics_terms + over(log_pi, 1, T)
    score = sp.diff(log_p, theta)        # SymPy differentiates every term of the sum
    score_t = sp.diff(log_pi, theta)
    build = policy_terms or (lambda f, sum_over, TT: sum_over(f, 1, TT))
    candidate = build(score_t, over, T)
    return {
        "log_p_tau": log_p,
        "grad_log_p_tau": score,
        "sum_of_policy_scores": candidate,
        "difference": linear(score - candidate),
        "grad_of_initial_and_dynamics_terms": sp.diff(dynamics_terms, theta),
        "pi": pi, "s": s, "a": a, "theta": theta, "T": T,
    }


def reward_shift(k: int = 3) -> dict:
    """PG-4 on a k-armed softmax bandit whose rewards r_a are all shifted by c.

    The policy is written through its probabilities p_1..p_{k-1}, p_k = 1 - sum;
    the softmax score with respect to logit j is psi_j(a) = 1[a = j] - p_j
    (derived from the logits in ``symbolic.variance.categorical_score_mean``).
    g_c(a) = psi(a) (r_a + c). Returns the mean change E[g_c] - E[g_0], the total
    variance V(c) = tr Cov[g_c], its degree in c and c^2 coefficient alpha,
    ``alpha_minus_expected_score_norm`` (alpha - E||psi||^2), the stationary
    shift c* solving dV/dc = 0, and ``change_minus_sharpened`` =
    V(c) - V(0) - alpha ((c - c*)^2 - c*^2). With alpha > 0 the last one being
    zero says: a shift raises the variance exactly when |c - c*| > |c*|.
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
    alpha = poly.coeff_monomial(c ** 2)
    e_sq = sp.Add(*[p[a] * sq_norm[a] for a in range(k)])
    stationary = list(sp.roots(poly.diff(c)))            # dV/dc = 0, a polynomial in c
    if len(stationary) != 1:
        raise ValueError(f"k: dV/dc = 0 should have one root, got {stationary}")
    c_star = sp.cancel(stationary[0])
    change = poly.as_expr() - poly.as_expr().subs(c, 0)
    return {
        "mean_change": sp.Matrix([sp.expand(m - m.subs(c, 0)) for m in mean]),
        "total_variance": sp.collect(poly.as_expr(), c),
        "degree_in_c": sp.Integer(poly.degree()),
        "c2_coefficient": alpha,
        "alpha_minus_expected_score_norm": sp.expand(alpha - e_sq),
        "expected_score_norm": sp.factor(e_sq),
        "minimising_shift": c_star,
        "change_minus_sharpened": sp.cancel(change - alpha * ((c - c_star) ** 2 - c_star ** 2)),
        "symbols": {"p": free, "r": r, "c": c},
        "variance_function": sp.Lambda((c,), total_variance),
    }
