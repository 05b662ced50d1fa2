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


def record_expressions(evidence, exprs, names, prefix="", zh=None):
    """Record the named SymPy expressions of a derivation as evidence.

    The names are identifiers; ``prefix`` (e.g. "finite: ") is a phrase, so a
    caller that gives one gives its Chinese as ``zh`` (e.g. "有限支撑集："),
    recorded as the Chinese of each prefixed name.
    """
    for name in names:
        evidence.expression(prefix + name, exprs[name],
                            zh=None if zh is None else {"name": zh + name})


#: Chinese of the two kinds of support the symbolic derivations are written for.
SUPPORT_ZH = {"finite": "有限支撑集", "density": "概率密度"}


# ---- claims of sections 1-2 (PG, VR): exact zero checks and survey fractions -------------

class Witness:
    """One exact point at which a SymPy expression is evaluated (no floating point).

    sizes: symbolic sizes -> integers (n -> 2), substituted first so that sums and
    products over symbolic ranges can be written out; functions: undefined function
    class -> ``sp.Lambda`` standing in for it; values: symbol / indexed (or a symbol's
    name) -> exact number. Values are substituted before anything is evaluated
    (derivatives become ``Subs``), so only exact numbers are ever integrated.
    """

    def __init__(self, desc, *, sizes=None, functions=None, values=None):
        self.desc = desc
        self.sizes = dict(sizes or {})
        self.functions = dict(functions or {})
        self.values = dict(values or {})

    def __call__(self, expr):
        import sympy as sp
        e = sp.sympify(expr).subs(self.sizes)
        for fn, lam in self.functions.items():   # before doit: SymPy cannot integrate unknowns
            e = e.replace(fn, lam)
        # write out sums and products over the now-finite ranges, so r[i] becomes r[1], r[2]
        e = e.replace(lambda x: isinstance(x, (sp.Sum, sp.Product)), lambda x: x.doit(deep=False))
        by_name = {str(k): v for k, v in self.values.items() if isinstance(k, str)}
        values = {k: v for k, v in self.values.items() if not isinstance(k, str)}
        values.update({s: by_name[s.name] for s in e.free_symbols if s.name in by_name})
        return sp.simplify(e.subs(values).doit())


def assert_zero(expr, witness, what):
    """Assert that the SymPy expression ``expr`` is identically zero.

    The proof is ``simplify(expr) == 0``, cross-checked at ``witness``. A failure is
    decided exactly, never by ``simplify(expr) != 0`` (which also happens when the
    simplifier merely gives up): the expression is evaluated at the witness, an
    exact point, and only a non-zero exact value gives the message "<what> is not
    zero: it equals <value> at <witness>", the reason controls are matched against.
    """
    import sympy as sp
    value = witness(expr)
    if value.is_zero is None:
        raise AssertionError(f"{what}: undecided, the witness value {value} is not an exact number")
    if value.is_zero is False:
        raise AssertionError(f"{what} is not zero: it equals {value} at {witness.desc}")
    simplified = sp.simplify(expr)
    if simplified != 0:
        raise AssertionError(f"{what}: not shown to be zero (SymPy leaves {simplified}), "
                             f"though it vanishes at {witness.desc}")
    return simplified


#: The reason ``assert_zero`` gives when an expression is decided not to be zero.
NOT_ZERO = r"is not zero: it equals"


def fraction_bounds(k: int, n: int, delta: float) -> tuple[float, float]:
    """Clopper-Pearson interval for a population fraction from k successes in n draws.

    Each one-sided bound fails with probability <= delta/2 whatever the true
    fraction (exact binomial tails, no normal approximation), so the interval
    misses it with probability <= delta.
    """
    from scipy.special import betaincinv
    lo = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, delta / 2))
    hi = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - delta / 2))
    return lo, hi


#: False-alarm probability of each survey assertion about a population fraction.
SURVEY_DELTA = 1e-6


def assert_fraction(k: int, n: int, *, above=None, below=None, what="fraction"):
    """Assert that the population fraction estimated by k / n lies above / below a level.

    Decided by the Clopper-Pearson interval at confidence 1 - SURVEY_DELTA: the
    assertion passes wrongly (the level is on the wrong side of the true
    fraction) with probability <= SURVEY_DELTA / 2. Returns (k / n, lo, hi).
    """
    lo, hi = fraction_bounds(k, n, SURVEY_DELTA)
    if above is not None and not lo > above:
        raise AssertionError(f"{what} not shown above {above}: {k}/{n}, interval [{lo:.4f}, {hi:.4f}]")
    if below is not None and not hi < below:
        raise AssertionError(f"{what} not shown below {below}: {k}/{n}, interval [{lo:.4f}, {hi:.4f}]")
    return k / n, lo, hi


_UNIT_RADIUS = {}


def median_of_means_radius(var: float, n: int, delta: float):
    """montecarlo.median_of_means_radius, computed once per (n, delta) for unit variance.

    Its eps is sqrt(var / (q m)) with the group count K, the group size m and the
    per-group failure probability q chosen independently of var, so eps scales
    like sqrt(var); the first call for each (n, delta) also computes the full
    search at ``var`` and checks that scaling, so a change in montecarlo cannot
    make this shortcut wrong silently.
    """
    import math

    from pgproofs import montecarlo
    key = (n, delta)
    if key not in _UNIT_RADIUS:
        unit = montecarlo.median_of_means_radius(1.0, n, delta)
        full = montecarlo.median_of_means_radius(var, n, delta)
        if full[1:] != unit[1:] or not math.isclose(full[0], unit[0] * math.sqrt(var), rel_tol=1e-12):
            raise RuntimeError(f"median_of_means_radius no longer scales like sqrt(var): {full} vs {unit}")
        _UNIT_RADIUS[key] = unit
    eps, K, m = _UNIT_RADIUS[key]
    return eps * math.sqrt(var), K, m


def quoted_reason(message: str) -> str:
    """The first line of a check's failure message (its own words, without the expression
    pytest's assertion rewriting appends), in backticks: the report shows it as quoted
    program output, verbatim in both languages."""
    return f"`{message.splitlines()[0]}`"


def rejects_for(fn, *args, match: str, **kwargs) -> str:
    """``rejects``, returning only the check's own message, quoted (``quoted_reason``)."""
    return quoted_reason(rejects(fn, *args, match=match, **kwargs))


# ---------------------------------------------------------------- symbolic zero / non-zero
# (sections 3-4.) A symbolic "this is not zero" must never rest on simplify()
# failing to reduce an expression: it is decided by exact substitution of
# rational points (a witness), and "this is zero" needs simplify() to reach 0.

#: The reason ``assert_zero_at_rationals`` gives when a substituted point shows a non-zero value.
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


def assert_zero_at_rationals(expr, what: str, points=None) -> None:
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
