"""SymPy derivations for the notes' section "Reducing Variance" (VR-1, VR-2, VR-5, VR-6).

Each function returns a dict name -> SymPy expression (plus the symbols and
undefined functions a test needs to evaluate them at an exact point); the
tests decide that the ``value`` / ``*_minus_*`` entries are zero, decide the
controls' entries non-zero at exact witness points, and record the rest.

* :func:`normalised_family_score_mean`: E[d/dtheta log p] = 0 for every
  positive family written p = q / Z(theta), Z the sum (finite support of
  symbolic size n) or the integral (a density on an interval (a, b)) of
  q(x, theta), with q an undefined function: every positive pmf or density is
  of this form (q = p). Differentiation under the integral sign, the usual
  regularity, is assumed; :func:`moving_support_score_mean` shows it is
  needed (VR-1).
* :func:`exponential_family_score_mean`: the same for h(x) exp(eta(theta) . T(x)
  - A(theta)) with d sufficient statistics (d a symbol): E[score] =
  E[eta' . T] - A' = 0 because A' = E[eta' . T] (VR-1).
* :func:`categorical_score_mean`: E[grad log pi] = 0 for a softmax over k
  logits with k a symbol (sums over 1..k), and explicitly for given k (VR-1).
* :func:`bernoulli_score_mean`, :func:`gaussian_score_mean`: the same for a
  Bernoulli (in its probability and in its logit) and for the mean and the
  log-standard deviation of a Gaussian, by integration over the real line (VR-1).
* :func:`causality`: on a generic 2-state, 2-action MDP with T = 2, the past
  reward r_1 times the score of a_2 has expectation 0, while the future reward
  r_2 times the score of a_1 does not (VR-2).
* :func:`batch_baseline_expectation`: for N i.i.d. trajectories with N a
  symbol, the expectation of the batch-mean and leave-one-out estimators by
  linearity over the pairs (i, j) of trajectories (VR-5);
  :func:`batch_mean_baseline_bias` enumerates every N-tuple of a bandit for
  given N as the cross-check.
* :func:`optimal_constant_baseline`: Var[g (r - b)] from its definition with
  E[g] = 0; d Var / d b = 0 gives b* = E[g^2 r] / E[g^2] and
  Var(b) - Var(b*) = E[g^2] (b - b*)^2; on a Bernoulli-logit bandit the same
  root from the bandit's own variance (VR-6).
"""

from __future__ import annotations

import itertools

import sympy as sp
import sympy.stats as sps

from pgproofs.symbolic.reinforce import linear, rename_bound, softmax

__all__ = [
    "batch_baseline_expectation", "batch_mean_baseline_bias", "bernoulli_score_mean",
    "categorical_score_mean", "causality", "exponential_family_score_mean",
    "gaussian_score_mean", "moving_support_score_mean", "normalised_family_score_mean",
    "optimal_constant_baseline",
]


def _support(support: str, name: str):
    """(variable, size, expect): expect(f, var) sums f over 1..n or integrates it over (a, b)."""
    if support == "finite":
        n = sp.Symbol("n", integer=True, positive=True)
        return sp.Symbol(name, integer=True, positive=True), n, (
            lambda f, v: sp.Sum(f, (v, 1, n)))
    if support == "density":
        lo, hi = sp.symbols("a b", real=True)
        return sp.Symbol(name, real=True), (lo, hi), (lambda f, v: sp.Integral(f, (v, lo, hi)))
    raise ValueError(f"support: expected 'finite' or 'density', got {support!r}")


def _expected(expect, x, y, log_p, score):
    """E[score] = sum / integral over x of exp(log p) score, split by linearity, with every
    sum / integral over x renamed to y (the normaliser's variable) so that equal ones cancel."""
    value = linear(expect(sp.exp(log_p) * score, x))
    return expect(sp.exp(log_p) * score, x), rename_bound(value, {x}, y)


def normalised_family_score_mean(support: str = "finite", score=None) -> dict:
    """E_p[d/dtheta log p] for p(x, theta) = q(x, theta) / Z(theta), Z = sum or integral of q.

    q is an undefined positive function, so this is every positive family on a
    finite set of n points (n a symbol) or every positive density on (a, b)
    (symbolic ends not depending on theta). ``score(q, Z, theta)`` is the
    candidate score (default d/dtheta log p, the notes' score); ``value`` is its
    expectation after linearity, zero for the notes' score.
    """
    x, size, expect = _support(support, "x")
    y = sp.Symbol("y", integer=True, positive=True) if support == "finite" else sp.Symbol("y", real=True)
    theta = sp.Symbol("theta", real=True)
    q = sp.Function("q", positive=True)
    Z = expect(q(y, theta), y)
    log_p = sp.log(q(x, theta)) - sp.log(Z)
    s = sp.diff(log_p, theta) if score is None else score(q(x, theta), Z, theta)
    expected, value = _expected(expect, x, y, log_p, s)
    return {"log_density": log_p, "score": s, "expected_score": expected, "value": value,
            "q": q, "theta": theta, "var": x, "size": size}


def exponential_family_score_mean(support: str = "finite", score=None) -> dict:
    """E[d/dtheta log p] for p(x) = h(x) exp(sum_{k=1}^d eta_k(theta) T_k(x) - A(theta)).

    d (the number of sufficient statistics) is a symbol, h, T_k and eta_k are
    undefined functions (eta_k(theta) = theta_k is the natural parametrisation;
    any smooth one is allowed) and A = log of the sum / integral of
    h exp(eta . T). ``value`` is E[score] after linearity (zero);
    ``A_prime_minus_mean`` is A'(theta) - E[sum_k eta_k' T_k] (zero: the
    derivative of the log-partition is the mean of the sufficient statistic).
    ``score(log_p, A, theta)`` replaces the score (controls).
    """
    x, size, expect = _support(support, "x")
    y = sp.Symbol("y", integer=True, positive=True) if support == "finite" else sp.Symbol("y", real=True)
    theta = sp.Symbol("theta", real=True)
    d = sp.Symbol("d", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, positive=True)
    h, T, eta = (sp.Function("h", positive=True), sp.Function("T", real=True),
                 sp.Function("eta", real=True))

    def natural(v):
        return sp.Sum(eta(k, theta) * T(k, v), (k, 1, d))

    A = sp.log(expect(h(y) * sp.exp(natural(y)), y))
    log_p = sp.log(h(x)) + natural(x) - A
    s = sp.diff(log_p, theta) if score is None else score(log_p, A, theta)
    expected, value = _expected(expect, x, y, log_p, s)
    mean_T = expect(sp.exp(log_p) * sp.diff(natural(x), theta), x)
    return {"log_density": log_p, "log_partition": A, "score": s, "expected_score": expected,
            "value": value,
            "A_prime_minus_mean": rename_bound(linear(sp.diff(A, theta) - mean_T), {x}, y),
            "h": h, "T": T, "eta": eta, "theta": theta, "var": x, "size": size, "d": d}


def moving_support_score_mean() -> dict:
    """E[d/dtheta log p] for the uniform density 1/theta on (0, theta): -1/theta, not 0.

    The support moves with theta, so differentiation under the integral sign
    fails: the condition of :func:`normalised_family_score_mean` is needed.
    """
    theta = sp.Symbol("theta", positive=True)
    x = sp.Symbol("x", real=True)
    log_p = -sp.log(theta)
    score = sp.diff(log_p, theta)
    return {"score": score, "value": sp.Integral(sp.exp(log_p) * score, (x, 0, theta)),
            "theta": theta}


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
        value = sp.simplify(rename_bound(linear(expectation.doit()), {i}, l))
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


def _merge_products_of_sums(expr):
    """(sum_i f_i) (sum_j g_j) -> sum_{i, j} f_i g_j: a product of sums is a double sum."""
    def merge(mul):
        sums = [f for f in mul.args if isinstance(f, sp.Sum)]
        rest = [f for f in mul.args if not isinstance(f, sp.Sum)]
        body = sp.Mul(*rest) * sp.Mul(*[s.function for s in sums])
        return sp.Sum(body, *[lim for s in sums for lim in s.limits])

    return expr.replace(
        lambda e: isinstance(e, sp.Mul) and sum(isinstance(f, sp.Sum) for f in e.args) >= 2, merge)


def _iid_pair_expectation(expr, g, R, m_gR, m_g, m_R):
    """E of a sum of terms c g_a R_b over i.i.d. trajectories (a, b summation indices).

    One trajectory (a = b): E[g_a R_a] = E[gR]. Two indices in a double sum:
    every pair is independent, E[g_a R_b] = E[g] E[R], except the diagonal
    a = b, whose correction (E[gR] - E[g] E[R]) is added back as a single sum.
    """
    def split(term):
        gs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Indexed) and f.base == g]
        Rs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Indexed) and f.base == R]
        if len(gs) != 1 or len(Rs) != 1:
            raise ValueError(f"expr: expected terms c g[a] R[b], got {term}")
        return term / (gs[0] * Rs[0]), gs[0].indices[0], Rs[0].indices[0]

    def expect_sum(s):
        out = sp.Integer(0)
        for term in sp.Add.make_args(sp.expand(s.function)):
            c, a, b = split(term)
            if a == b:
                out += sp.Sum(c * m_gR, *s.limits)
            else:
                if {lim[0] for lim in s.limits} != {a, b}:
                    raise ValueError(f"expr: g[{a}] R[{b}] must sit in a double sum over {a}, {b}")
                lim_a = next(lim for lim in s.limits if lim[0] == a)
                out += sp.Sum(c * m_g * m_R, *s.limits)
                out += sp.Sum((c * (m_gR - m_g * m_R)).subs(b, a), lim_a)
        return out

    return expr.replace(lambda e: isinstance(e, sp.Sum), expect_sum)


def batch_baseline_expectation() -> dict:
    """VR-5 for a symbolic batch size N: E of the batch-mean and leave-one-out estimators.

    g_i = grad log p(tau_i), R_i = r(tau_i) for i.i.d. tau_1..tau_N (IndexedBase
    symbols). The estimators are written from their definitions,
        batch mean:    (1/N) sum_i g_i (R_i - (1/N) sum_j R_j)
        leave-one-out: (1/N) sum_i g_i (R_i - (sum_j R_j - R_i) / (N - 1)),
    expanded by linearity (products of sums become double sums) and each pair
    replaced by its moment (:func:`_iid_pair_expectation`); the sums are then
    evaluated. ``*_expectation`` is in E[gR], E[g], E[R]; ``*_ratio`` divides by
    E[gR] (= grad J, PG-1) after E[g] = 0 (VR-1).
    """
    N = sp.Symbol("N", integer=True, positive=True)
    i, j = sp.symbols("i j", integer=True, positive=True)
    g, R = sp.IndexedBase("g"), sp.IndexedBase("R")
    m_gR, m_g, m_R = sp.symbols("E[gR] E[g] E[R]", real=True)
    total = sp.Sum(R[j], (j, 1, N))
    estimators = {
        "batch_mean": sp.Sum(g[i] * (R[i] - total / N), (i, 1, N)) / N,
        "leave_one_out": sp.Sum(g[i] * (R[i] - (total - R[i]) / (N - 1)), (i, 1, N)) / N,
    }
    out = {"N": N}
    for name, estimator in estimators.items():
        expanded = _merge_products_of_sums(linear(estimator))
        expectation = sp.factor(sp.simplify(
            _iid_pair_expectation(expanded, g, R, m_gR, m_g, m_R).doit()))
        out[f"{name}_estimator"] = estimator
        out[f"{name}_expectation"] = expectation
        out[f"{name}_ratio"] = sp.factor(sp.simplify(expectation.subs(m_g, 0) / m_gR))
    return out


def batch_mean_baseline_bias(batch_sizes=(2, 3)) -> dict:
    """Cross-check of VR-5 for given N: enumerate every N-tuple of a Bernoulli-logit bandit.

    p = sigmoid(theta), rewards r_1, r_0; E of the batch-mean and leave-one-out
    estimators over all 2^N action tuples, divided by the exact gradient
    (``batch_mean_ratio_N{n}``, ``leave_one_out_ratio_N{n}``).
    """
    out = {}
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
        out[f"leave_one_out_ratio_N{n}"] = sp.simplify(loo_b / grad_J)
    return out


def _moment_symbol(a: int, c: int) -> sp.Symbol:
    """The symbol standing for E[g^a r^c]."""
    parts = [f"g^{a}" if a > 1 else "g" if a == 1 else "", f"r^{c}" if c > 1 else "r" if c == 1 else ""]
    return sp.Symbol(f"E[{''.join(parts) or '1'}]", real=True)


def _expect_polynomial(expr, g, r):
    """E of a polynomial in g and r (coefficients may hold b): each monomial g^a r^c -> E[g^a r^c]."""
    poly = sp.Poly(sp.expand(expr), g, r)
    return sp.Add(*[coef * _moment_symbol(a, c) for (a, c), coef in poly.terms()])


def _stationary_point(expr, b):
    """The one root of d expr / db (a polynomial in b)."""
    roots = list(sp.roots(sp.Poly(sp.diff(expr, b), b)))
    if len(roots) != 1:
        raise ValueError(f"expr: expected one stationary point in {b}, got {roots}")
    return roots[0]


def optimal_constant_baseline() -> dict:
    """VR-6: Var[g (r - b)] for one gradient component g, minimised over a constant b.

    Derived from the definition Var[X] = E[X^2] - E[X]^2 with X = g (r - b):
    both expectations are taken monomial by monomial (E is linear), E[g] = 0
    (VR-1) is substituted, and dVar/db = 0 is solved for b. ``b_star`` is the
    root, ``b_star_minus_notes`` its difference from the notes' E[g^2 r] / E[g^2],
    ``excess_minus_quadratic`` = Var(b) - Var(b*) - E[g^2] (b - b*)^2.

    The same on the Bernoulli-logit bandit (action 1 with probability p, score
    g(a) = a - p, rewards r_1, r_0), where the expectations are sums over the
    two actions: ``bandit_b_star`` solves dVar/db = 0 there, and
    ``bandit_mean_reward`` is E[r].
    """
    b = sp.Symbol("b", real=True)
    g, r = sp.symbols("g r", real=True)
    X = g * (r - b)
    zero_mean = {_moment_symbol(1, 0): 0}
    var = sp.expand((_expect_polynomial(X ** 2, g, r) - _expect_polynomial(X, g, r) ** 2)
                    .subs(zero_mean))
    b_star = _stationary_point(var, b)
    g2, g2r = _moment_symbol(2, 0), _moment_symbol(2, 1)
    out = {
        "variance": sp.collect(var, b),
        "b_star": b_star,
        "b_star_minus_notes": b_star - g2r / g2,
        "second_derivative": sp.diff(var, b, 2),
        "excess_variance": sp.factor(var - var.subs(b, b_star)),
        "excess_minus_quadratic": sp.expand(var - var.subs(b, b_star) - g2 * (b - b_star) ** 2),
        "E[g^2]": g2,
    }
    p = sp.Symbol("p", positive=True)
    r1, r0 = sp.symbols("r_1 r_0", real=True)
    outcomes = [(p, 1 - p, r1), (1 - p, -p, r0)]            # (probability, score, reward)

    def bandit_expect(f):
        return sp.Add(*[q * f(score, rew) for q, score, rew in outcomes])

    bandit_var = (bandit_expect(lambda s_, r_: (s_ * (r_ - b)) ** 2)
                  - bandit_expect(lambda s_, r_: s_ * (r_ - b)) ** 2)
    bandit_b_star = _stationary_point(bandit_var, b)
    out.update({
        "bandit_variance": sp.collect(sp.expand(bandit_var), b),
        "bandit_b_star": sp.factor(bandit_b_star),
        "bandit_notes_formula": sp.factor(bandit_expect(lambda s_, r_: s_ ** 2 * r_)
                                          / bandit_expect(lambda s_, r_: s_ ** 2)),
        "bandit_mean_reward": bandit_expect(lambda s_, r_: r_),
        "bandit_variance_function": sp.Lambda((b,), bandit_var),
        "bandit_symbols": {"p": p, "r_1": r1, "r_0": r0},
    })
    return out
