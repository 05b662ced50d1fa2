"""SymPy derivations for the notes' section "Off-Policy Policy Gradients".

Each function returns a dict of SymPy expressions so the report can print
them (the booleans some also return are simplify()-based conveniences; the
claim tests decide "zero" and "not zero" by exact rational substitution):

* :func:`importance_sampling_identity`: E_q[(p/q) f] = E_p[f] over n outcomes
  with generic probabilities (IS-1), and, when the behaviour q misses some
  outcomes, the exact failure: minus the missing mass times f.
* :func:`dynamics_cancel`: p_theta'(tau)/p_theta(tau) for a trajectory of
  generic length with undefined functions for p(s_1), p(s'|s, a) and both
  policies; only the policy ratios survive (IS-2).
* :func:`state_marginal_ratio`: the state-marginal ratio p_theta'(s_t)/p_theta(s_t) of a
  generic 2-state MDP depends on the dynamics, which no ratio of policies mentions (IS-9).
* :func:`surrogate_first_order`: for a generic 2-state, 2-action MDP, the
  difference J(theta') - L_theta(theta') along theta'(eps) is O(eps^2) (IS-8).
"""

from __future__ import annotations

import itertools

import sympy as sp

__all__ = ["dynamics_cancel", "importance_sampling_identity", "state_marginal_ratio",
           "surrogate_first_order"]


def importance_sampling_identity(n: int = 3, missing: tuple[int, ...] = ()) -> dict:
    """E_{x~q}[(p(x)/q(x)) f(x)] against E_{x~p}[f(x)] over outcomes x_1..x_n.

    p_i, q_i are positive symbols (with sum 1 left implicit: the identity does
    not need it), f_i real. Outcomes listed in ``missing`` (0-based) get q_i = 0:
    samples from q never show them, so the left side sums over q's support
    only. Returns lhs, rhs, difference (lhs - rhs, simplified) and
    ``missing_mass_times_f`` = sum over missing outcomes of p_i f_i; the
    identity holds iff ``difference`` is 0, and otherwise
    difference = -missing_mass_times_f.
    """
    if n < 1:
        raise ValueError(f"n: must be >= 1, got {n}")
    if any(not (0 <= i < n) for i in missing) or len(set(missing)) != len(missing):
        raise ValueError(f"missing: expected distinct indices in [0, {n}), got {missing}")
    p = sp.symbols(f"p_1:{n + 1}", positive=True)
    q = sp.symbols(f"q_1:{n + 1}", positive=True)
    f = sp.symbols(f"f_1:{n + 1}", real=True)
    support = [i for i in range(n) if i not in missing]
    lhs = sp.Add(*[q[i] * (p[i] / q[i]) * f[i] for i in support])
    rhs = sp.Add(*[p[i] * f[i] for i in range(n)])
    lost = sp.Add(*[p[i] * f[i] for i in missing])
    difference = sp.simplify(lhs - rhs)
    return {
        "lhs": lhs, "rhs": rhs, "difference": difference,
        "missing_mass_times_f": lost,
        "identity_holds": difference == 0,
        "fails_by_missing_mass": sp.simplify(difference + lost) == 0,
    }


def dynamics_cancel(horizon: int = 3) -> dict:
    """p_theta'(tau)/p_theta(tau) with generic initial distribution and dynamics.

    p(tau) = p_1(s_1) prod_t pi(a_t|s_t) prod_{t<T} P(s_{t+1}|s_t, a_t), with
    p_1, P, pi' (``pi_new``) and pi (``pi_old``) undefined functions. Returns
    the ratio as SymPy simplifies it, the product of policy ratios, their
    difference (0) and whether the ratio still mentions p_1 or P (it does not).
    """
    if horizon < 1:
        raise ValueError(f"horizon: must be >= 1, got {horizon}")
    s = sp.symbols(f"s_1:{horizon + 1}")
    a = sp.symbols(f"a_1:{horizon + 1}")
    p1, P = sp.Function("p_1"), sp.Function("P")
    pi_new, pi_old = sp.Function("pi_new"), sp.Function("pi_old")

    def trajectory_probability(pi):
        steps = [pi(a[t], s[t]) for t in range(horizon)]
        moves = [P(s[t + 1], s[t], a[t]) for t in range(horizon - 1)]
        return p1(s[0]) * sp.Mul(*steps) * sp.Mul(*moves)

    numerator, denominator = trajectory_probability(pi_new), trajectory_probability(pi_old)
    ratio = sp.simplify(numerator / denominator)
    policy_ratio = sp.Mul(*[pi_new(a[t], s[t]) / pi_old(a[t], s[t]) for t in range(horizon)])
    return {
        "p_target": numerator, "p_behaviour": denominator, "ratio": ratio,
        "policy_ratio": policy_ratio,
        "difference": sp.simplify(ratio - policy_ratio),
        "mentions_dynamics": ratio.has(p1) or ratio.has(P),
    }


def _values_to_go(T, S, A, P, r, pi):
    """Q_t[s][a] and V_t[s] with V_{T+1} = 0 (undiscounted), as nested lists."""
    q, v = [None] * T, [None] * T
    v_next = [0] * S
    for t in range(T - 1, -1, -1):
        q[t] = [[r[x][b] + sum(P[x][b][y] * v_next[y] for y in range(S)) for b in range(A)]
                for x in range(S)]
        v[t] = [sum(pi[x][b] * q[t][x][b] for b in range(A)) for x in range(S)]
        v_next = v[t]
    return q, v


def _state_distributions(T, S, A, mu, P, pi):
    d = [list(mu)]
    for _ in range(1, T):
        d.append([sum(d[-1][x] * pi[x][b] * P[x][b][y] for x in range(S) for b in range(A))
                  for y in range(S)])
    return d


def surrogate_first_order(horizon: int = 2) -> dict:
    """J(theta') - L_theta(theta') = O(eps^2) for a generic 2-state, 2-action MDP (IS-8).

    Generic symbols: initial probability m (state 0), transitions
    P(0|s, a) = P_sa, rewards r_sa, behaviour pi(0|s) = b_s, target
    pi'(0|s) = b_s + eps * delta_s (a smooth path through theta' = theta in any
    parametrisation, logits included). With A^theta_t the behaviour's
    advantage and d_t its state distribution,
        L_theta(theta') = J(theta) + sum_t sum_s d_t(s) sum_a pi'(a|s) A^theta_t(s, a).
    Returns the difference as a polynomial in eps and its coefficients; those
    of eps^0 and eps^1 vanish identically (value and gradient agree at eps = 0),
    the eps^2 one does not.
    """
    if horizon < 1:
        raise ValueError(f"horizon: must be >= 1, got {horizon}")
    S = A = 2
    eps = sp.Symbol("epsilon", real=True)
    m = sp.Symbol("m", positive=True)
    b = sp.symbols("b_0:2", positive=True)
    delta = sp.symbols("delta_0:2", real=True)
    P0 = [[sp.Symbol(f"P_{x}{y}", positive=True) for y in range(A)] for x in range(S)]
    r = [[sp.Symbol(f"r_{x}{y}", real=True) for y in range(A)] for x in range(S)]
    mu = [m, 1 - m]
    P = [[[P0[x][y], 1 - P0[x][y]] for y in range(A)] for x in range(S)]
    behaviour = [[b[x], 1 - b[x]] for x in range(S)]
    target = [[b[x] + eps * delta[x], 1 - b[x] - eps * delta[x]] for x in range(S)]

    def value(pi):
        _, v = _values_to_go(horizon, S, A, P, r, pi)
        return sum(mu[x] * v[0][x] for x in range(S))

    q, v = _values_to_go(horizon, S, A, P, r, behaviour)
    d = _state_distributions(horizon, S, A, mu, P, behaviour)
    gain = sum(d[t][x] * target[x][y] * (q[t][x][y] - v[t][x])
               for t, x, y in itertools.product(range(horizon), range(S), range(A)))
    J_target, L = value(target), value(behaviour) + gain
    difference = sp.Poly(sp.expand(J_target - L), eps)
    coeffs = {k: sp.factor(difference.coeff_monomial(eps ** k)) for k in range(horizon + 1)}
    return {
        "J_target": J_target, "surrogate": L, "difference": difference.as_expr(),
        "coefficients": coeffs,
        "first_order_agrees": coeffs[0] == 0 and coeffs[1] == 0,
        "second_order_nonzero": horizon >= 2 and coeffs[2] != 0,
    }


def state_marginal_ratio(horizon: int = 2) -> dict:
    """p_theta'(s_t = 0) / p_theta(s_t = 0) for a generic 2-state, 2-action MDP (IS-9).

    Generic symbols as in :func:`surrogate_first_order`: initial probability m
    of state 0, transitions P(0|s, a) = P_sa, behaviour pi(0|s) = b_s, target
    pi'(0|s) = c_s. The state marginal at t = ``horizon`` is built from its
    definition, p(s_{t+1}) = sum_{s,a} p(s_t = s) pi(a|s) P(s_{t+1}|s, a), so the
    ratio depends on m and the P_sa. The notes' pi_theta'(s)/pi_theta(s) can only
    be read as a ratio of policy probabilities, which mention neither: returned
    as ``policy_ratios`` (pi'(a|s)/pi(a|s) for every s, a) and ``action_sums``
    (sum_a pi(a|s), which is 1 for every state: a policy is not a distribution
    over states).
    """
    if horizon < 2:
        raise ValueError(f"horizon: must be >= 2 (at t = 1 both marginals are p(s_1)), got {horizon}")
    S = A = 2
    m = sp.Symbol("m", positive=True)
    b = sp.symbols("b_0:2", positive=True)
    c = sp.symbols("c_0:2", positive=True)
    P0 = [[sp.Symbol(f"P_{x}{y}", positive=True) for y in range(A)] for x in range(S)]
    mu = [m, 1 - m]
    P = [[[P0[x][y], 1 - P0[x][y]] for y in range(A)] for x in range(S)]
    behaviour = [[b[x], 1 - b[x]] for x in range(S)]
    target = [[c[x], 1 - c[x]] for x in range(S)]
    d_old = _state_distributions(horizon, S, A, mu, P, behaviour)[-1]
    d_new = _state_distributions(horizon, S, A, mu, P, target)[-1]
    ratio = d_new[0] / d_old[0]
    return {
        "marginal_target": sp.expand(d_new[0]), "marginal_behaviour": sp.expand(d_old[0]),
        "ratio": ratio, "m": m, "transitions": [P0[x][y] for x in range(S) for y in range(A)],
        "policy_ratios": sp.Matrix(S, A, lambda x, y: target[x][y] / behaviour[x][y]),
        "action_sums": sp.Matrix([sum(target[x]) for x in range(S)]),
    }
