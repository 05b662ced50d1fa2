"""Helpers shared by the claim modules (imported as ``_support``; pytest puts this folder on sys.path)."""

import numpy as np
import pytest

from pgproofs.strategies import random_mdp, random_policy


def small_example(seed=0, S=2, A=2, T=2, discount=1.0):
    """A fixed random MDP (Dirichlet dynamics, rewards in [-1, 1], N(0, 1) logits)."""
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, rewards="uniform", discount=discount)
    return mdp, random_policy(rng, S, A)


def rejects(fn, *args, **kwargs) -> str:
    """Run a check that must fail; return its AssertionError message."""
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def record_expressions(evidence, exprs, names, prefix=""):
    """Record the named SymPy expressions of a derivation as evidence."""
    for name in names:
        evidence.expression(prefix + name, exprs[name])
