"""Helpers shared by the claim modules (imported as ``_support``; pytest puts this folder on sys.path)."""

import numpy as np
import pytest

from pgproofs.strategies import random_mdp, random_policy


#: The reason ``check.assert_unbiased`` gives when it rejects an estimator.
BIAS = r"estimator is biased: largest bias"


def small_example(seed=0, S=2, A=2, T=2, discount=1.0):
    """A fixed random MDP (Dirichlet dynamics, rewards in [-1, 1], N(0, 1) logits)."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, rewards="uniform", discount=discount)
    return mdp, random_policy(rng, S, A)


def rejects(fn, *args, match: str, **kwargs) -> str:
    """Run a check that must fail for the stated reason; return its AssertionError message.

    ``match`` is a regular expression the check's own failure message must
    contain (``pytest.raises(AssertionError, match=...)``): a control passes
    only by being rejected by that very check for that reason, never by any
    stray assertion.
    """
    if not match:
        raise ValueError("match: a control must name the reason it is rejected for")
    with pytest.raises(AssertionError, match=match) as info:
        fn(*args, **kwargs)
    return str(info.value)


def record_expressions(evidence, exprs, names, prefix=""):
    """Record the named SymPy expressions of a derivation as evidence."""
    for name in names:
        evidence.expression(prefix + name, exprs[name])


# ---------------------------------------------------------------- symbolic zero / non-zero
# (sections 3-4.) A symbolic "this is not zero" must never rest on simplify()
# failing to reduce an expression: it is decided by exact substitution of
# rational points (a witness), and "this is zero" needs simplify() to reach 0.

#: The reason ``assert_zero`` gives when a substituted point shows a non-zero value.
NONZERO = r"is not zero: at"
#: The reason ``assert_nonzero`` gives when no point shows a non-zero value.
NO_WITNESS = r"no non-zero value at"


def rational_points(symbols, n=4, seed=0):
    """``n`` substitutions of exact rationals for ``symbols``.

    Positive symbols get values in (0, 1/(m+1)] (m = number of symbols), so any
    set of them read as probabilities p_1..p_{k-1} leaves 1 - sum p > 0; real
    symbols get non-zero values in [-10/7, 10/7]. Pass explicit points where
    the domain is narrower (e.g. positive-definite matrices).
    """
    import sympy as sp

    symbols = sorted(symbols, key=str)
    rng = np.random.default_rng(seed)
    m = len(symbols) + 1
    points = []
    for _ in range(n):
        point = {}
        for s in symbols:
            if s.is_positive:
                point[s] = sp.Rational(int(rng.integers(1, 11)), 10 * m)
            else:
                point[s] = sp.Rational(int(rng.choice([-1, 1]) * rng.integers(1, 11)), 7)
        points.append(point)
    return points


def _entries(expr):
    import sympy as sp

    return list(expr) if isinstance(expr, sp.MatrixBase) else [sp.sympify(expr)]


def _value_at(entry, point):
    """|entry| at ``point`` to 50 digits, or None where it is undefined or not a number."""
    import sympy as sp

    v = entry.xreplace(point)
    if v.free_symbols or v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or v.atoms(sp.core.function.AppliedUndef):
        return None
    v = sp.N(v, 50)
    if not v.is_number or v.has(sp.zoo, sp.nan):
        return None
    return v


def _witness(expr, points):
    import sympy as sp

    expr = _entries(expr)
    free = set().union(*(e.free_symbols for e in expr))
    for point in (points if points is not None else rational_points(free)):
        for i, e in enumerate(expr):
            v = _value_at(e, point)
            if v is not None and abs(v) > sp.Float("1e-30", 50):
                return point, i, v
    return None


def assert_zero(expr, what: str, points=None) -> None:
    """AssertionError unless ``expr`` (a SymPy expression or matrix) is identically 0.

    First exact rational points are substituted: a non-zero value there is a
    witness and the message says ``NONZERO`` (this, not simplify's failure, is
    what rejects a control). Then ``simplify`` must reduce every entry to 0:
    zero at a few points is not a proof.
    """
    import sympy as sp

    found = _witness(expr, points)
    if found is not None:
        point, i, v = found
        raise AssertionError(f"{what} is not zero: at {point} entry {i} equals {sp.N(v, 8)}")
    for i, e in enumerate(_entries(expr)):
        if sp.simplify(e) != 0:
            raise AssertionError(f"{what}: simplify did not reduce entry {i} to 0 "
                                 f"(no rational witness either): {e}")


def assert_nonzero(expr, what: str, points=None):
    """AssertionError unless some exact rational point gives ``expr`` a non-zero value.

    Returns (point, entry index, value): the witness that proves it.
    """
    found = _witness(expr, points)
    if found is None:
        raise AssertionError(f"{what}: no non-zero value at any of the substituted rational points")
    return found
