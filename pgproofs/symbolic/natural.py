"""SymPy derivations for section "Advanced Policy Gradients" (claims NG-1..NG-7).

Each function derives one step of the section for general symbols and returns
its expressions in a dict, so tests can compare them with
``sympy.simplify(a - b) == 0`` and the report can print them. Conventions:
theta are the current parameters, delta = theta' - theta the step, t a
scalar multiplying delta (so a series in t is a series in the step size),
g the gradient of J.
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "euclidean_trust_region", "fisher_identities_gaussian", "fisher_identities_softmax",
    "kl_hessian_identity", "kl_second_order_gaussian", "kl_second_order_softmax",
    "kkt_natural_step", "reparametrisation", "softmax_natural_gradient_block",
    "softmax_null_space",
]


def _check_k(k: int, least: int = 2) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < least:
        raise ValueError(f"k: must be an integer >= {least}, got {k!r}")


def _softmax(theta: sp.Matrix) -> tuple[sp.Matrix, sp.Matrix]:
    """(probabilities, log-probabilities) of a softmax over the entries of theta."""
    z = sum(sp.exp(x) for x in theta)
    return theta.applyfunc(lambda x: sp.exp(x) / z), theta.applyfunc(lambda x: x - sp.log(z))


def _probability_symbols(k: int) -> sp.Matrix:
    """The probabilities (p_1, ..., p_{k-1}, 1 - p_1 - ... - p_{k-1}) with p_a > 0 symbols.

    Softmax expressions are unchanged by adding a constant to every logit, so
    theta_a = log p_a is a valid choice of logits; substituting it turns
    exponential expressions into rational functions of p, which SymPy
    simplifies quickly and which read like the formulas in the notes.
    """
    head = sp.symbols(f"p1:{k}", positive=True)
    return sp.Matrix(list(head) + [1 - sum(head)])


def _in_probabilities(expr, theta: sp.Matrix, p: sp.Matrix):
    """expr(theta) rewritten at theta_a = log p_a and simplified as a rational function."""
    out = sp.sympify(expr).subs({x: sp.log(pa) for x, pa in zip(theta, p)})
    if isinstance(out, sp.MatrixBase):
        return out.applyfunc(lambda e: sp.factor(sp.cancel(sp.expand_log(e, force=True))))
    return sp.factor(sp.cancel(sp.expand_log(out, force=True)))


def _categorical_kl(p: sp.Matrix, log_p: sp.Matrix, log_q: sp.Matrix) -> sp.Expr:
    return sum(pi * (lp - lq) for pi, lp, lq in zip(p, log_p, log_q))


def _taylor2(f: sp.Expr, t: sp.Symbol) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """The coefficients (c0, c1, c2) of f(t) = c0 + c1 t + c2 t^2 + O(t^3), unsimplified."""
    return f.subs(t, 0), sp.diff(f, t).subs(t, 0), sp.diff(f, t, 2).subs(t, 0) / 2


# ---------------------------------------------------------------------------
# NG-1


def euclidean_trust_region(n: int = 3) -> dict[str, object]:
    """NG-1: max_d d^T g s.t. ||d||^2 <= eps, solved with a Lagrange multiplier.

    L = d^T g - lambda (d^T d - eps); dL/dd = g - 2 lambda d = 0 gives
    d = g / (2 lambda), a step along the plain gradient; the active constraint
    fixes lambda = ||g|| / (2 sqrt(eps)). The Hessian of L is -2 lambda I,
    negative definite for lambda > 0, so the point is the maximum.
    """
    _check_k(n, 1)
    g = sp.Matrix(sp.symbols(f"g1:{n + 1}", real=True))
    d = sp.Matrix(sp.symbols(f"d1:{n + 1}", real=True))
    lam, eps = sp.symbols("lambda epsilon", positive=True)
    lagrangian = (d.T * g)[0] - lam * ((d.T * d)[0] - eps)
    stationarity = [sp.diff(lagrangian, x) for x in d]
    solution = sp.solve(stationarity, list(d), dict=True)[0]
    step = d.subs(solution)
    norm_g = sp.sqrt(sum(x**2 for x in g))
    multiplier = norm_g / (2 * sp.sqrt(eps))
    return {
        "lagrangian": lagrangian,
        "stationarity": stationarity,
        "step": step,
        "step_expected": g / (2 * lam),
        "multiplier": multiplier,
        "constraint_at_multiplier": sp.simplify((step.T * step)[0].subs(lam, multiplier)),
        "hessian": sp.hessian(lagrangian, list(d)),
        "g": g, "d": d, "lambda": lam, "epsilon": eps,
    }


# ---------------------------------------------------------------------------
# NG-2


def kl_second_order_softmax(k: int = 2) -> dict[str, object]:
    """NG-2 for a softmax over k logits: both KLs to second order in the step.

    With theta' = theta + t delta, KL(pi_theta' || pi_theta) and
    KL(pi_theta || pi_theta') are c0 + c1 t + c2 t^2 + O(t^3) with c0 = c1 = 0
    and c2 = 1/2 delta^T F delta, F = diag(p) - p p^T. The notes' quadratic
    delta^T F delta is twice the true term. The KL is built from the logits;
    the coefficients are then written in the probabilities p at theta.
    """
    _check_k(k)
    theta = sp.Matrix(sp.symbols(f"theta1:{k + 1}", real=True))
    delta = sp.Matrix(sp.symbols(f"delta1:{k + 1}", real=True))
    t = sp.Symbol("t", real=True)
    p_sym, log_p = _softmax(theta)
    p_new, log_p_new = _softmax(theta + t * delta)
    p = _probability_symbols(k)
    fisher = sp.diag(*p) - p * p.T
    quad = sp.factor(sp.expand((delta.T * fisher * delta)[0]))
    forward = tuple(_in_probabilities(c, theta, p)
                    for c in _taylor2(_categorical_kl(p_new, log_p_new, log_p), t))
    reverse = tuple(_in_probabilities(c, theta, p)
                    for c in _taylor2(_categorical_kl(p_sym, log_p, log_p_new), t))
    return {
        "fisher": fisher, "quadratic_form": quad,
        "forward_coefficients": forward, "reverse_coefficients": reverse,
        "corrected_second_order": quad / 2, "notes_second_order": quad,
        "t": t, "p": p, "delta": delta,
    }


def kl_second_order_gaussian() -> dict[str, object]:
    """NG-2 for a Gaussian with mean mu and log-std rho (sigma = exp(rho)).

    KL(N(mu', sigma'^2) || N(mu, sigma^2)) = log(sigma/sigma') + (sigma'^2 + (mu' - mu)^2)/(2 sigma^2) - 1/2.
    In (mu, rho) coordinates F = diag(1/sigma^2, 2); both KL directions have
    second-order term 1/2 (dmu^2/sigma^2 + 2 drho^2).
    """
    mu, dmu, drho, t = sp.symbols("mu delta_mu delta_rho t", real=True)
    rho = sp.Symbol("rho", real=True)

    def kl(m1, r1, m2, r2):
        return (r2 - r1) + (sp.exp(2 * r1) + (m1 - m2) ** 2) / (2 * sp.exp(2 * r2)) - sp.Rational(1, 2)

    fisher = sp.diag(sp.exp(-2 * rho), 2)
    step = sp.Matrix([dmu, drho])
    quad = sp.simplify((step.T * fisher * step)[0])
    forward = _taylor2(kl(mu + t * dmu, rho + t * drho, mu, rho), t)
    reverse = _taylor2(kl(mu, rho, mu + t * dmu, rho + t * drho), t)
    return {"fisher": fisher, "quadratic_form": quad, "forward_coefficients": forward,
            "reverse_coefficients": reverse, "corrected_second_order": quad / 2,
            "notes_second_order": quad, "mu": mu, "rho": rho, "t": t}


def kl_hessian_identity(k: int = 3, m: int = 2) -> dict[str, object]:
    """NG-2/NG-3 for any smooth family of k-outcome distributions with m parameters.

    p_1..p_{k-1} are arbitrary functions of theta, p_k = 1 - sum of the others.
    The Hessian in theta' at theta' = theta of KL(p_theta' || p_theta) and of
    KL(p_theta || p_theta') both equal E[score score^T] = -E[Hessian log p].
    """
    _check_k(k)
    _check_k(m, 1)
    theta = sp.symbols(f"theta1:{m + 1}", real=True)
    theta_new = sp.symbols(f"phi1:{m + 1}", real=True)

    def family(args):
        head = [sp.Function(f"p{a + 1}")(*args) for a in range(k - 1)]
        return head + [1 - sum(head)]

    p, p_new = family(theta), family(theta_new)
    at = dict(zip(theta_new, theta))
    forward = sum(pn * (sp.log(pn) - sp.log(po)) for pn, po in zip(p_new, p))
    reverse = sum(po * (sp.log(po) - sp.log(pn)) for pn, po in zip(p_new, p))
    h_forward = sp.hessian(forward, theta_new).subs(at).doit()
    h_reverse = sp.hessian(reverse, theta_new).subs(at).doit()
    score_outer = sp.Matrix(m, m, lambda i, j: sum(
        pa * sp.diff(sp.log(pa), theta[i]) * sp.diff(sp.log(pa), theta[j]) for pa in p))
    neg_hessian = sp.Matrix(m, m, lambda i, j: -sum(
        pa * sp.diff(sp.log(pa), theta[i], theta[j]) for pa in p))
    return {"hessian_forward": h_forward, "hessian_reverse": h_reverse,
            "fisher_score": score_outer, "fisher_hessian": neg_hessian}


# ---------------------------------------------------------------------------
# NG-3


def fisher_identities_softmax(k: int = 3) -> dict[str, object]:
    """NG-3 for a softmax over k logits: E[score score^T] = -E[Hess log pi] = diag(p) - p p^T.

    Scores and Hessians are taken in the logits, then written in p.
    PSD: v^T F v = sum_a p_a (v_a - p.v)^2, a variance, so never negative.
    """
    _check_k(k)
    theta = sp.Matrix(sp.symbols(f"theta1:{k + 1}", real=True))
    v = sp.Matrix(sp.symbols(f"v1:{k + 1}", real=True))
    p_sym, log_p = _softmax(theta)
    scores = [sp.Matrix([sp.diff(lp, x) for x in theta]) for lp in log_p]
    score_outer = sum((pa * s * s.T for pa, s in zip(p_sym, scores)), sp.zeros(k, k))
    neg_hessian = -sum((pa * sp.hessian(lp, list(theta)) for pa, lp in zip(p_sym, log_p)),
                       sp.zeros(k, k))
    p = _probability_symbols(k)
    closed = sp.diag(*p) - p * p.T
    mean_v = sum(pa * va for pa, va in zip(p, v))
    return {"fisher_score": _in_probabilities(score_outer, theta, p),
            "fisher_hessian": _in_probabilities(neg_hessian, theta, p), "fisher_closed": closed,
            "quadratic_form": (v.T * closed * v)[0],
            "variance_form": sum(pa * (va - mean_v) ** 2 for pa, va in zip(p, v)), "p": p}


def fisher_identities_gaussian() -> dict[str, object]:
    """NG-3 for a Gaussian with mean mu and std sigma: F_mumu = 1/sigma^2.

    Expectations are exact, from the moments of the normal distribution. In the
    (mu, log sigma) coordinates F = diag(1/sigma^2, 2): a small sigma makes
    the mean very sensitive, as the notes say.
    """
    x, mu = sp.symbols("x mu", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    rho = sp.Symbol("rho", real=True)
    log_density = -(x - mu) ** 2 / (2 * sp.exp(2 * rho)) - rho - sp.log(2 * sp.pi) / 2
    params = [mu, rho]

    def expect(f):
        # x = mu + sigma z with z ~ N(0, 1); the integrands are polynomials in z,
        # so the expectation only needs E[z^n] = (n - 1)!! for even n, 0 for odd n.
        z = sp.Symbol("z", real=True)
        poly = sp.Poly(sp.expand(f.subs(rho, sp.log(sigma)).subs(x, mu + sigma * z)), z)
        return sp.simplify(sum(coeff * (sp.factorial2(n - 1) if n % 2 == 0 else 0)
                               for (n,), coeff in poly.terms()))

    score = [sp.diff(log_density, q) for q in params]
    fisher_score = sp.Matrix(2, 2, lambda i, j: expect(score[i] * score[j]))
    fisher_hessian = sp.Matrix(2, 2, lambda i, j: expect(-sp.diff(log_density, params[i],
                                                                  params[j])))
    return {"fisher_score": fisher_score, "fisher_hessian": fisher_hessian,
            "fisher_mean": fisher_score[0, 0], "fisher_expected": sp.diag(1 / sigma**2, 2),
            "sigma": sigma}


# ---------------------------------------------------------------------------
# NG-4


def _gaussian_expectation(expr, x: sp.Matrix, mean: sp.Matrix, cov: sp.Matrix):
    """E[expr] for x ~ N(mean, cov) when expr is a polynomial of degree <= 2 in x.

    Writes x = mean + z and uses E[z_i] = 0, E[z_i z_j] = cov_ij (only the first two
    moments are needed for a quadratic).
    """
    n = len(x)
    z = sp.symbols(f"z1:{n + 1}", real=True)
    poly = sp.Poly(sp.expand(sp.sympify(expr).subs({xi: mi + zi for xi, mi, zi in zip(x, mean, z)},
                                                    simultaneous=True)), *z)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        degree = sum(powers)
        if degree == 0:
            total += coeff
        elif degree == 2:
            i, j = [k for k, e in enumerate(powers) for _ in range(e)]
            total += coeff * cov[i, j]
        elif degree != 1:
            raise ValueError(f"expr: degree {degree} in x, only <= 2 supported")
    return total


def _kkt_step(g: sp.Matrix, d: sp.Matrix, constraint, eps, lam) -> dict[str, object]:
    """max_d d^T g s.t. constraint(d) <= eps, solved from the Lagrangian.

    Stationarity g - lambda grad constraint(d) = 0 is solved for d (a function of
    lambda); with lambda > 0 (dual feasibility, from the declared sign) complementary
    slackness makes the constraint active, constraint(d(lambda)) = eps, which fixes
    lambda. Returns the Lagrangian, d(lambda), the admissible multipliers and the step.
    """
    lagrangian = (d.T * g)[0] - lam * (constraint - eps)
    stationarity = [sp.diff(lagrangian, x) for x in d]
    # the constraint is quadratic, so stationarity is linear in d: solve it as a linear system
    system, rhs = sp.linear_eq_to_matrix(stationarity, list(d))
    d_of_lambda = system.LUsolve(rhs).applyfunc(sp.cancel)
    active = sp.numer(sp.together(sp.expand(constraint.subs(dict(zip(d, d_of_lambda))) - eps)))
    # lambda is declared positive: solve() keeps only the admissible root (dual feasibility)
    multipliers = sp.solve(sp.factor(active), lam, simplify=False)
    if len(multipliers) != 1:
        raise RuntimeError(f"expected one admissible multiplier, got {multipliers}")
    step = d_of_lambda.subs(lam, multipliers[0])
    return {"lagrangian": lagrangian, "stationarity": stationarity,
            "step_of_multiplier": d_of_lambda, "multiplier": multipliers[0], "step": step,
            "lagrangian_hessian": sp.hessian(lagrangian, list(d))}


def kkt_natural_step() -> dict[str, object]:
    """NG-4: the KL-constrained step, derived from the constraints (no step size typed in).

    The family is a bivariate Gaussian with mean parameters theta and a generic
    positive-definite precision matrix F = L L^T, L = [[l_1, 0], [l_21, l_2]] with
    l_1, l_2 > 0 (every positive-definite 2x2 matrix has this Cholesky form, and it
    lets SymPy know det F > 0, so only the admissible multiplier lambda > 0 survives). From
    its log-density, SymPy derives the Fisher matrix E[score score^T] (it is F) and
    the KL divergence KL(p_theta+d || p_theta) (Gaussian moments only); the
    "true" quadratic model of the KL is its Taylor series in the step to order 2.
    The notes' constraint is d^T F d <= eps (the Fisher quadratic without the 1/2).
    Each constraint is solved as a KKT problem (:func:`_kkt_step`); the step size
    alpha is then read off as step / F^{-1} g, and alpha^2 g^T F^{-1} g / eps and the
    ratio of the two step sizes are simplified from the results.
    """
    l1, l2, eps, lam, t = sp.symbols("l_1 l_2 epsilon lambda t", positive=True)
    l21 = sp.Symbol("l_21", real=True)
    chol = sp.Matrix([[l1, 0], [l21, l2]])
    precision = chol * chol.T
    cov = precision.inv()
    x = sp.Matrix(sp.symbols("x1:3", real=True))
    theta = sp.Matrix(sp.symbols("theta1:3", real=True))
    g = sp.Matrix(sp.symbols("g1:3", real=True))
    d = sp.Matrix(sp.symbols("d1:3", real=True))

    def log_density(mean):  # up to the normalising constant, which does not depend on the mean
        r = x - mean
        return -(r.T * precision * r)[0] / 2

    score = sp.Matrix([sp.diff(log_density(theta), th) for th in theta])
    fisher = (score * score.T).applyfunc(lambda e: sp.factor(_gaussian_expectation(e, x, theta, cov)))
    new = theta + t * d
    kl_t = sp.factor(_gaussian_expectation(log_density(new) - log_density(theta), x, new, cov))
    kl_model = sp.expand(sp.series(kl_t, t, 0, 3).removeO().subs(t, 1))
    notes_model = sp.expand((d.T * fisher * d)[0])
    natural = fisher.inv() * g
    q = sp.factor((g.T * natural)[0])
    out = {"fisher": fisher, "kl_of_step": kl_t, "kl_model": kl_model, "notes_model": notes_model,
           "natural_direction": natural, "g_finv_g": q, "eps": eps, "lambda": lam, "g": g,
           "d": d, "precision": precision}
    for name, constraint in (("true", kl_model), ("notes", notes_model)):
        r = _kkt_step(g, d, constraint, eps, lam)
        alpha = sp.factor(sp.cancel(r["step"][0] / natural[0]))
        out[name] = {**r, "constraint": constraint, "alpha": alpha,
                     "alpha_squared_q_over_eps": sp.factor(sp.cancel(alpha**2 * q / eps))}
    out["alpha_ratio"] = sp.factor(sp.cancel(out["true"]["alpha"] / out["notes"]["alpha"]))
    return out


# ---------------------------------------------------------------------------
# NG-5


def reparametrisation() -> dict[str, object]:
    """NG-5: theta = h(phi) with invertible Jacobian M = dtheta/dphi.

    Gradients and Fisher matrices transform as g_phi = M^T g, F_phi = M^T F M.
    A step dphi moves theta by M dphi to first order. Natural step:
    M F_phi^{-1} g_phi = F^{-1} g, the same move as the natural step in theta.
    Plain step: M g_phi = M M^T g, which differs from g unless M M^T = I.
    Worked example: a Bernoulli logit theta = phi^3 with J = r1 p + r0 (1 - p).
    """
    f11, f22, m11, m12, m21, m22 = sp.symbols("F11 F22 M11 M12 M21 M22", real=True)
    f12 = sp.Symbol("F12", real=True)
    g = sp.Matrix(sp.symbols("g1:3", real=True))
    fisher = sp.Matrix([[f11, f12], [f12, f22]])
    jac = sp.Matrix([[m11, m12], [m21, m22]])
    natural_theta = fisher.inv() * g
    natural_phi_moved = jac * (jac.T * fisher * jac).inv() * (jac.T * g)
    plain_theta = g
    plain_phi_moved = jac * (jac.T * g)

    # scalar worked example: Bernoulli policy with logit theta = phi^3
    phi, r0, r1 = sp.symbols("phi r0 r1", real=True)
    theta = sp.Symbol("theta", real=True)
    p = 1 / (1 + sp.exp(-theta))
    objective = r1 * p + r0 * (1 - p)
    f_theta = p * (1 - p)                     # Bernoulli Fisher in the logit
    h = phi**3
    dh = sp.diff(h, phi)
    g_theta = sp.diff(objective, theta)
    g_phi = sp.diff(objective.subs(theta, h), phi)
    f_phi = f_theta.subs(theta, h) * dh**2
    return {
        "natural_theta": natural_theta, "natural_phi_moved": natural_phi_moved,
        "plain_theta": plain_theta, "plain_phi_moved": plain_phi_moved,
        "jacobian": jac,
        "example_natural_theta": (g_theta / f_theta).subs(theta, h),
        "example_natural_phi_moved": dh * g_phi / f_phi,
        "example_plain_theta": g_theta.subs(theta, h),
        "example_plain_phi_moved": dh * g_phi,
        "example_plain_ratio": sp.simplify(dh * g_phi / g_theta.subs(theta, h)),
        "example_kl_quadratic_theta": sp.simplify(g_theta**2 / f_theta).subs(theta, h),
        "example_kl_quadratic_phi": sp.simplify(g_phi**2 / f_phi),
        "phi": phi,
    }


# ---------------------------------------------------------------------------
# NG-6, NG-7


def softmax_null_space(k: int = 3) -> dict[str, object]:
    """NG-6: F 1 = 0 for the k-logit softmax Fisher, so det F = 0; the rank is k - 1.

    F 1 = p - p (1^T p) = p (1 - sum p) = 0 because the probabilities sum to one:
    adding a constant to every logit of a state leaves the policy unchanged.
    The leading (k-1)x(k-1) minor has determinant p_1 ... p_k > 0.
    """
    _check_k(k)
    theta = sp.Matrix(sp.symbols(f"theta1:{k + 1}", real=True))
    p_sym, _ = _softmax(theta)
    p = _probability_symbols(k)
    fisher_logits = sp.diag(*p_sym) - p_sym * p_sym.T
    fisher = sp.diag(*p) - p * p.T
    return {"fisher": fisher,
            "fisher_times_ones": _in_probabilities(fisher_logits * sp.ones(k, 1), theta, p),
            "determinant": sp.factor(fisher.det()),
            "leading_minor_determinant": sp.factor(fisher[:k - 1, :k - 1].det()),
            "probabilities_product": sp.Mul(*p), "p": p}


def softmax_natural_gradient_block(k: int = 3) -> dict[str, object]:
    """NG-7 in one state, derived from the softmax policy's definition.

    pi_a = exp(theta_a) / sum_b exp(theta_b). The state's share of J is
    rho sum_a pi_a Qbar_a (rho = sum_t d_t(s) the visits, Qbar_a the visit-weighted
    Q_t(s, a)), so the gradient block is its derivative in theta; the Fisher block
    is rho E_a[grad log pi_a grad log pi_a^T], by differentiating log softmax.
    Both are then written in the probabilities p (theta_a = log p_a). With the
    advantage A_a = Qbar_a - sum_b p_b Qbar_b, every A + c 1 solves F x = g, and the
    minimum-norm (pseudo-inverse) solution is A - mean(A) 1.
    """
    _check_k(k)
    theta = sp.Matrix(sp.symbols(f"theta1:{k + 1}", real=True))
    qbar = sp.Matrix(sp.symbols(f"Q1:{k + 1}", real=True))
    rho, c = sp.symbols("rho c", positive=True)
    pi, log_pi = _softmax(theta)
    objective = rho * sum(pa * qa for pa, qa in zip(pi, qbar))
    grad_theta = sp.Matrix([sp.diff(objective, th) for th in theta])
    scores = [sp.Matrix([sp.diff(lp, th) for th in theta]) for lp in log_pi]
    fisher_theta = rho * sum((pa * s * s.T for pa, s in zip(pi, scores)), sp.zeros(k, k))
    p = _probability_symbols(k)
    grad = _in_probabilities(grad_theta, theta, p)
    fisher = _in_probabilities(fisher_theta, theta, p)
    adv = qbar - sum(pa * qa for pa, qa in zip(p, qbar)) * sp.ones(k, 1)
    shifted = adv + c * sp.ones(k, 1)
    centred = adv - (sum(adv) / k) * sp.ones(k, 1)
    return {"fisher": fisher, "grad": grad, "advantage": adv, "p": p, "rho": rho,
            "grad_as_advantage": rho * p.multiply_elementwise(adv),
            "residual_shifted": (fisher * shifted - grad).applyfunc(sp.simplify),
            "centred": centred, "centred_sum": sp.simplify(sum(centred)),
            "residual_centred": (fisher * centred - grad).applyfunc(sp.simplify)}
