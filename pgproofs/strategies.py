"""Hypothesis strategies for small finite MDPs and softmax policies.

Compose them in your own properties::

    from hypothesis import given
    from pgproofs import strategies as pst

    @given(pst.mdps_and_policies())
    def test_my_estimator(case):
        mdp, policy = case
        ...

For fixed-seed surveys and benchmarks (no Hypothesis), ``random_mdp`` and
``random_policy`` draw the same kind of cases from a numpy Generator.

Sizes default to what exact enumeration handles in milliseconds
(S, A <= 3, T <= 3). Degenerate cases are drawn on purpose: a single state
or action, deterministic dynamics, all-zero rewards, near-deterministic
policies; they are where estimators written by hand usually break.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from hypothesis import strategies as st

from pgproofs.mdp import FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = ["distributions", "episodic_cases", "episodic_mdps", "finite_mdps", "mdps_and_policies", "random_mdp", "random_policy",
           "softmax_policies"]


def _check_range(name: str, lo: int, hi: int, least: int) -> None:
    if not (isinstance(lo, int) and isinstance(hi, int)) or lo < least or hi < lo:
        raise ValueError(f"{name}: need integers with {least} <= min <= max, got ({lo}, {hi})")


# Built once: constructing and validating strategies inside every draw was most of the
# cost of an example.
_WEIGHTS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]) | st.floats(0.05, 4.0)
_SMALL_INT = st.integers(0, 4)


@lru_cache(maxsize=None)
def _index(size: int) -> st.SearchStrategy[int]:
    return st.integers(0, size - 1)


@lru_cache(maxsize=None)
def _weight_lists(size: int) -> st.SearchStrategy[list[float]]:
    return st.lists(_WEIGHTS, min_size=size, max_size=size)


@lru_cache(maxsize=None)
def _reward_lists(size: int, scale: float) -> st.SearchStrategy[list[float]]:
    values = st.sampled_from([-1.0, 0.0, 1.0]) | st.floats(-scale, scale, allow_subnormal=False)
    return st.lists(values, min_size=size, max_size=size)


@lru_cache(maxsize=None)
def _logit_lists(size: int, scale: float) -> st.SearchStrategy[list[float]]:
    return st.lists(st.floats(-scale, scale, allow_subnormal=False),
                    min_size=size, max_size=size)


def _draw_distribution(draw, size: int, allow_deterministic: bool) -> np.ndarray:
    if allow_deterministic and draw(_SMALL_INT) == 0:
        p = np.zeros(size)
        p[draw(_index(size))] = 1.0
        return p
    w = np.array(draw(_weight_lists(size)))
    if w.sum() == 0.0:
        w[draw(_index(size))] = 1.0
    return w / w.sum()


@st.composite
def distributions(draw, size: int, *, allow_deterministic: bool = True) -> np.ndarray:
    """A probability vector of length ``size``; sometimes one-hot, sometimes with zeros."""
    if size < 1:
        raise ValueError(f"size: must be >= 1, got {size}")
    return _draw_distribution(draw, size, allow_deterministic)


@st.composite
def finite_mdps(draw, *, states: tuple[int, int] = (1, 3), actions: tuple[int, int] = (1, 3),
                horizon: tuple[int, int] = (1, 3), reward_scale: float = 2.0,
                deterministic: bool | None = None, zero_rewards: bool | None = None,
                discount: float = 1.0) -> FiniteMDP:
    """A FiniteMDP with S, A, T drawn from the inclusive ranges given.

    deterministic / zero_rewards: True forces, False forbids, None (default)
    lets Hypothesis decide. Rewards lie in [-reward_scale, reward_scale] and
    include small integers so that cancellations can occur.
    """
    _check_range("states", *states, least=1)
    _check_range("actions", *actions, least=1)
    _check_range("horizon", *horizon, least=1)
    if not reward_scale > 0:
        raise ValueError(f"reward_scale: must be > 0, got {reward_scale}")
    S = draw(st.integers(*states))
    A = draw(st.integers(*actions))
    T = draw(st.integers(*horizon))
    det = draw(st.booleans()) if deterministic is None else deterministic
    initial = _draw_distribution(draw, S, True)
    rows = [_draw_distribution(draw, S, True) for _ in range(S * A)]
    if det:
        rows = [np.eye(S)[int(np.argmax(r))] for r in rows]
    transitions = np.array(rows).reshape(S, A, S)
    zero = draw(_index(10)) == 0 if zero_rewards is None else zero_rewards
    if zero:
        rewards = np.zeros((S, A))
    else:
        rewards = np.array(draw(_reward_lists(S * A, float(reward_scale)))).reshape(S, A)
    return FiniteMDP(initial, transitions, rewards, T, discount=discount)


@st.composite
def softmax_policies(draw, mdp_or_shape, *, max_logit: float = 3.0,
                     near_deterministic: bool = True) -> SoftmaxPolicy:
    """A SoftmaxPolicy for a FiniteMDP (or an (S, A) shape).

    Logits lie in [-max_logit, max_logit]; with ``near_deterministic`` a state
    sometimes gets one logit of +8, i.e. pi(a|s) within about 1e-3 of 1.
    """
    shape = (mdp_or_shape.n_states, mdp_or_shape.n_actions) \
        if isinstance(mdp_or_shape, FiniteMDP) else tuple(mdp_or_shape)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"mdp_or_shape: expected a FiniteMDP or an (S, A) shape, got {shape}")
    if not max_logit > 0:
        raise ValueError(f"max_logit: must be > 0, got {max_logit}")
    S, A = shape
    logits = np.array(draw(_logit_lists(S * A, float(max_logit)))).reshape(S, A)
    if near_deterministic and A > 1 and draw(_SMALL_INT) == 0:
        s = draw(_index(S))
        logits[s] = 0.0
        logits[s, draw(_index(A))] = 8.0
    return SoftmaxPolicy(logits)


@st.composite
def mdps_and_policies(draw, *, n_policies: int = 1, **mdp_kwargs):
    """(mdp, policy) or, with n_policies = k > 1, (mdp, policy_1, ..., policy_k)."""
    if n_policies < 1:
        raise ValueError(f"n_policies: must be >= 1, got {n_policies}")
    mdp = draw(finite_mdps(**mdp_kwargs))
    return (mdp, *[draw(softmax_policies(mdp)) for _ in range(n_policies)])


def random_mdp(rng: np.random.Generator, n_states: int, n_actions: int, horizon: int, *,
               rewards: str = "normal", discount: float = 1.0) -> FiniteMDP:
    """A FiniteMDP drawn with numpy: Dirichlet(1) initial distribution and dynamics,
    rewards N(0, 1) (``rewards="normal"``) or U(-1, 1) (``rewards="uniform"``).

    Draws, in order: initial, transitions, rewards; so a caller that draws a
    policy next gets the same stream on every run.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    if rewards not in ("normal", "uniform"):
        raise ValueError(f"rewards: expected 'normal' or 'uniform', got {rewards!r}")
    S, A = n_states, n_actions
    initial = rng.dirichlet(np.ones(S))
    transitions = rng.dirichlet(np.ones(S), size=(S, A))
    r = rng.normal(size=(S, A)) if rewards == "normal" else rng.uniform(-1, 1, size=(S, A))
    return FiniteMDP(initial, transitions, r, horizon, discount=discount)


def random_policy(rng: np.random.Generator, n_states: int, n_actions: int, *,
                  scale: float = 1.0) -> SoftmaxPolicy:
    """A SoftmaxPolicy with logits scale * N(0, 1), drawn with numpy."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    return SoftmaxPolicy(scale * rng.normal(size=(n_states, n_actions)))


# ---- episodic MDPs (issue 13: checking advantage code) ----------------------

_DISCOUNTS = st.sampled_from([0.0, 0.5, 0.9]) | st.floats(0.0, 0.99, allow_subnormal=False)


@st.composite
def episodic_mdps(draw, *, states: tuple[int, int] = (1, 2), actions: tuple[int, int] = (1, 2),
                  terminal_states: tuple[int, int] = (0, 1), time_limit: tuple[int, int] = (1, 3),
                  discount: float | None = None, reward_scale: float = 2.0):
    """An EpisodicMDP: ``states`` non-terminal states plus ``terminal_states`` terminal ones.

    Terminal states are drawn reachable or not (a transition row may or may not
    put mass on them); the time limit is drawn from ``time_limit`` so that it
    falls both below and above a buffer's n_steps; the discount is drawn in
    [0, 0.99] (0, 0.5 and 0.9 included) unless given. Episodes start in
    non-terminal states only, as EpisodicMDP requires. Terminal rows loop on
    themselves and have reward 0 (they are never used).
    """
    from pgproofs.episodic import EpisodicMDP

    _check_range("states", *states, least=1)
    _check_range("actions", *actions, least=1)
    _check_range("terminal_states", *terminal_states, least=0)
    _check_range("time_limit", *time_limit, least=1)
    if discount is not None and not (0.0 <= discount < 1.0):
        raise ValueError(f"discount: must lie in [0, 1), got {discount}")
    if not reward_scale > 0:
        raise ValueError(f"reward_scale: must be > 0, got {reward_scale}")
    live = draw(st.integers(*states))
    dead = draw(st.integers(*terminal_states))
    S, A = live + dead, draw(st.integers(*actions))
    initial = np.concatenate([_draw_distribution(draw, live, True), np.zeros(dead)])
    rows = []
    for s in range(S):
        for _ in range(A):
            if s >= live:
                rows.append(np.eye(S)[s])
            else:
                rows.append(_draw_distribution(draw, S, True))
    transitions = np.array(rows).reshape(S, A, S)
    rewards = np.zeros((S, A))
    rewards[:live] = np.array(draw(_reward_lists(live * A, float(reward_scale)))).reshape(live, A)
    gamma = draw(_DISCOUNTS) if discount is None else float(discount)
    return EpisodicMDP(initial, transitions, rewards, np.arange(S) >= live, gamma,
                       draw(st.integers(*time_limit)))


@st.composite
def episodic_cases(draw, *, n_steps: tuple[int, int] = (1, 4), n_envs: tuple[int, int] = (1, 2),
                   max_buffers: int = 1500, mdps: st.SearchStrategy | None = None):
    """(mdp, policy, n_steps, n_envs) with every buffer enumerable in milliseconds.

    n_steps and n_envs are drawn from the inclusive ranges; when the case
    would have more than ``max_buffers`` buffers, n_steps is lowered (never
    below 1) until it fits, so no draw is rejected. A case that still has
    too many buffers at n_steps = 1 raises ValueError (choose smaller MDPs).
    """
    from pgproofs import rollouts

    _check_range("n_steps", *n_steps, least=1)
    _check_range("n_envs", *n_envs, least=1)
    mdp = draw(episodic_mdps() if mdps is None else mdps)
    policy = draw(softmax_policies((mdp.n_states, mdp.n_actions)))
    T, n = draw(st.integers(*n_steps)), draw(st.integers(*n_envs))
    while T > 1 and rollouts.count_buffers(mdp, policy, T, n) > max_buffers:
        T -= 1
    count = rollouts.count_buffers(mdp, policy, T, n)
    if count > max_buffers:
        raise ValueError(f"max_buffers: the drawn case has {count} buffers at n_steps=1, "
                         f"n_envs={n}; draw smaller MDPs or fewer envs")
    return mdp, policy, T, n
