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
