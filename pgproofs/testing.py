"""A ready property suite for your own policy-gradient estimator.

Drop one line into your tests::

    from pgproofs.testing import assert_estimator_unbiased, assert_surrogate_unbiased

    def test_my_estimator_is_unbiased():
        assert_estimator_unbiased(my_estimator)          # (batch, policy) -> (S, A)

    def test_my_loss_is_unbiased():
        assert_surrogate_unbiased(my_loss)               # (logits, batch) -> scalar loss

Hypothesis draws small finite MDPs and softmax policies (``pgproofs.strategies``)
and each case is decided *exactly*: ``check.assert_unbiased`` enumerates every
batch and compares the estimator's mean with ``exact.policy_gradient`` (no
sampling, so no false alarms beyond float rounding, atol 1e-9). On failure
Hypothesis shrinks to a minimal case and an ``EstimatorBiasError`` (an
AssertionError) reports that MDP, the policy, the exact gradient and the
estimator's exact mean. The search is derandomized and uses no example
database, so the verdict is the same on every run and machine.

Call these from plain test functions, not from inside another ``@given`` test
(Hypothesis does not nest).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from pgproofs import check, exact
from pgproofs import strategies as pst
from pgproofs.mdp import FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = [
    "AdvantageBiasError", "AdvantageCounterexample", "BiasCounterexample", "EstimatorBiasError",
    "LAMBDAS", "advantage_cases", "assert_advantages_unbiased", "assert_estimator_unbiased",
    "assert_gae_matches_reference", "assert_surrogate_unbiased", "default_cases", "seed_offset",
    "seeded_rng",
]

SEED_OFFSET_ENV = "PGPROOFS_SEED_OFFSET"

# (states, actions, horizon) ranges per batch size: the largest sizes whose
# enumeration of batch_size-tuples of trajectories stays small (at most 729
# trajectories for batch_size 1, at most 4096 tuples above).
ENUMERABLE_SIZES = {
    1: ((1, 3), (1, 3), (1, 3)),
    2: ((1, 2), (1, 2), (1, 3)),
    3: ((1, 2), (1, 2), (1, 2)),
    4: ((1, 2), (1, 2), (1, 1)),
    5: ((1, 2), (1, 2), (1, 1)),
    6: ((1, 2), (1, 2), (1, 1)),
}


def seed_offset() -> int:
    """The integer in $PGPROOFS_SEED_OFFSET (default 0), added to every Monte Carlo seed.

    Re-running the suite with another offset re-draws every Monte Carlo test,
    which is how one checks that a passing verdict does not hinge on a seed.
    """
    raw = os.environ.get(SEED_OFFSET_ENV, "0")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{SEED_OFFSET_ENV}: expected an integer, got {raw!r}") from None


def seeded_rng(seed: int) -> np.random.Generator:
    """numpy Generator for ``seed + seed_offset()``."""
    return np.random.default_rng(int(seed) + seed_offset())


@dataclass(frozen=True)
class BiasCounterexample:
    """An MDP and policy on which an estimator's exact mean differs from grad J."""

    mdp: FiniteMDP
    policy: SoftmaxPolicy
    behavior: SoftmaxPolicy | None
    batch_size: int
    exact_gradient: np.ndarray
    estimator_mean: np.ndarray
    n_batches: int

    @property
    def bias(self) -> np.ndarray:
        return self.estimator_mean - self.exact_gradient

    @property
    def worst(self) -> tuple[int, int]:
        """(state, action) of the largest |bias|."""
        s, a = np.unravel_index(np.argmax(np.abs(self.bias)), self.bias.shape)
        return int(s), int(a)

    def __str__(self) -> str:
        mdp, s_a = self.mdp, self.worst
        lines = [
            f"minimal case: S={mdp.n_states}, A={mdp.n_actions}, horizon T={mdp.horizon}, "
            f"discount {mdp.discount:g}, batch_size={self.batch_size}",
            f"  p(s_1)          = {_fmt(mdp.initial)}",
            f"  P[s, a, s']     = {_fmt(mdp.transitions)}",
            f"  r(s, a)         = {_fmt(mdp.rewards)}",
            f"  policy logits   = {_fmt(self.policy.logits)}",
            f"  pi(a|s)         = {_fmt(self.policy.probs)}",
        ]
        if self.behavior is not None:
            lines.append(f"  behavior logits = {_fmt(self.behavior.logits)}")
        lines += [
            f"exact gradient dJ/dlogits = {_fmt(self.exact_gradient)}",
            f"estimator mean            = {_fmt(self.estimator_mean)}  "
            f"(exact, over all {self.n_batches} batches)",
            f"largest bias {self.bias[s_a]:+.6g} at logits[{s_a[0]}, {s_a[1]}]",
        ]
        return "\n".join(lines)


class EstimatorBiasError(AssertionError):
    """AssertionError raised with a (shrunk) counterexample; ``.counterexample`` holds it."""

    def __init__(self, counterexample: BiasCounterexample, headline: str) -> None:
        self.counterexample = counterexample
        super().__init__(f"{headline}\n{counterexample}")


def _fmt(a: np.ndarray) -> str:
    """One line, nested lists, 6 significant digits; |x| < 1e-12 (rounding) printed as 0."""
    def entry(x):
        return f"{x:.6g}" if abs(x) >= 1e-12 else "0"
    def rows(x):
        return f"[{', '.join(entry(v) for v in x)}]" if x.ndim == 1 else \
            f"[{', '.join(rows(v) for v in x)}]"
    return rows(np.asarray(a, dtype=np.float64))


def default_cases(batch_size: int = 1, *, off_policy: bool = False,
                  mdps: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """Strategy of (mdp, policy, behavior) with behavior None unless ``off_policy``.

    MDP sizes shrink as batch_size grows so that exact enumeration stays
    quick (see ``ENUMERABLE_SIZES``); pass ``mdps`` (a strategy of FiniteMDP) to choose
    your own.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
    if mdps is None:
        if batch_size not in ENUMERABLE_SIZES:
            raise ValueError(f"batch_size: {batch_size} needs an explicit `mdps` strategy (the "
                             f"default MDP sizes cover batch_size <= {max(ENUMERABLE_SIZES)})")
        states, actions, horizon = ENUMERABLE_SIZES[batch_size]
        mdps = pst.finite_mdps(states=states, actions=actions, horizon=horizon)
    elif not isinstance(mdps, st.SearchStrategy):
        raise ValueError(f"mdps: expected a Hypothesis strategy of FiniteMDP, "
                         f"got {type(mdps).__name__}")

    @st.composite
    def cases(draw):
        mdp = draw(mdps)
        if not isinstance(mdp, FiniteMDP):
            raise ValueError(f"mdps: the strategy drew a {type(mdp).__name__}, not a FiniteMDP")
        policy = draw(pst.softmax_policies(mdp))
        behavior = draw(pst.softmax_policies(mdp)) if off_policy else None
        return mdp, policy, behavior

    return cases()


def _counterexample(estimator, mdp, policy, behavior, batch_size) -> BiasCounterexample:
    m = check.exact_moments(estimator, mdp, policy, behavior, batch_size)
    return BiasCounterexample(mdp, policy, behavior, batch_size,
                              exact.policy_gradient(mdp, policy), m.mean, m.n_tuples)


class _Biased(AssertionError):
    """Raised inside the search; carries the case so the final message can be built once."""

    def __init__(self, case, message: str) -> None:
        self.case = case
        super().__init__(message)


def assert_estimator_unbiased(estimator: Callable, *, max_examples: int = 100,
                              batch_size: int = 1, mdps: st.SearchStrategy | None = None,
                              off_policy: bool = False, atol: float = 1e-9) -> None:
    """Property: E[estimator(batch, policy)] = grad J on every drawn MDP and policy.

    Each drawn case is decided exactly by ``check.assert_unbiased`` (batches
    of ``batch_size`` trajectories, drawn under ``policy`` or, with
    ``off_policy``, under a second drawn ``behavior`` policy). Raises
    EstimatorBiasError (an AssertionError) naming the minimal MDP, policy,
    exact gradient and estimator mean that Hypothesis shrank to. Errors the
    estimator raises itself (wrong shape, NaN) propagate unchanged, with
    Hypothesis's note of the failing case.
    """
    if not callable(estimator):
        raise ValueError(f"estimator: expected a callable (batch, policy) -> (S, A), "
                         f"got {type(estimator).__name__}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) \
            or max_examples < 1:
        raise ValueError(f"max_examples: must be a positive integer, got {max_examples!r}")
    cases = default_cases(batch_size, off_policy=off_policy, mdps=mdps)

    @settings(max_examples=int(max_examples), derandomize=True, database=None, deadline=None,
              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(cases)
    def estimator_is_unbiased(case):
        mdp, policy, behavior = case
        try:
            check.assert_unbiased(estimator, mdp, policy, behavior, batch_size, atol=atol)
        except AssertionError as exc:
            raise _Biased(case, str(exc)) from None

    try:
        estimator_is_unbiased()
    except _Biased as exc:
        example = _counterexample(estimator, *exc.case, batch_size)
        name = getattr(estimator, "__name__", None) or repr(estimator)
        raise EstimatorBiasError(
            example, f"{name} is biased (Hypothesis search, shrunk to a minimal case; "
                     f"exact enumeration, atol {atol:g})") from None


def assert_surrogate_unbiased(loss_fn: Callable, **kwargs) -> None:
    """``assert_estimator_unbiased`` for a PyTorch surrogate loss (logits, batch) -> scalar.

    The estimate is minus the autograd gradient of the loss (see
    ``check.from_surrogate_loss``); keyword arguments as for
    ``assert_estimator_unbiased``.
    """
    assert_estimator_unbiased(check.from_surrogate_loss(loss_fn), **kwargs)


# ---- advantage code on rollout buffers (issue 13) ---------------------------
#
#     from pgproofs.testing import assert_advantages_unbiased
#
#     def test_my_advantages():
#         assert_advantages_unbiased(my_adv_fn)       # (buf, critic, gamma, lam) -> (T, n)
#
# Hypothesis draws episodic MDPs (terminal states reachable or not, time limits
# below and above n_steps), policies, gamma, lambda, n_steps and n_envs (1 and
# 2, so that flattening bugs show); each case is decided exactly by
# ``check.assert_advantages_unbiased`` (or ``check.assert_gae_matches_reference``)
# over every buffer, and a failure is shrunk to a minimal case.

LAMBDAS = (0.0, 0.5, 0.95, 1.0)
_LAMS = st.sampled_from(LAMBDAS) | st.floats(0.0, 1.0, allow_subnormal=False)


@dataclass(frozen=True)
class AdvantageCounterexample:
    """A minimal case on which advantage code fails an exact check, with the check's report."""

    mdp: object
    policy: SoftmaxPolicy
    n_steps: int
    n_envs: int
    lam: float
    report: str

    def __str__(self) -> str:
        mdp = self.mdp
        return "\n".join([
            f"minimal case: S={mdp.n_states}, A={mdp.n_actions}, terminal states "
            f"{[int(s) for s in np.flatnonzero(mdp.terminal)]}, gamma={mdp.discount:g}, "
            f"time_limit={mdp.time_limit}, n_steps={self.n_steps}, n_envs={self.n_envs}, "
            f"lam={self.lam:g}",
            f"  p(s_0)          = {_fmt(mdp.initial)}",
            f"  P[s, a, s']     = {_fmt(mdp.transitions)}",
            f"  r(s, a)         = {_fmt(mdp.rewards)}",
            f"  pi(a|s)         = {_fmt(self.policy.probs)}",
            self.report,
        ])


class AdvantageBiasError(AssertionError):
    """AssertionError with a shrunk ``AdvantageCounterexample`` in ``.counterexample``."""

    def __init__(self, counterexample: AdvantageCounterexample, headline: str) -> None:
        self.counterexample = counterexample
        super().__init__(f"{headline}\n{counterexample}")


def advantage_cases(*, lam: float | None = None, n_envs: tuple[int, int] = (1, 2),
                    cases: st.SearchStrategy | None = None) -> st.SearchStrategy:
    """Strategy of (mdp, policy, n_steps, n_envs, lam); lam drawn unless given.

    cases: a strategy of (mdp, policy, n_steps, n_envs) (default
    ``strategies.episodic_cases(n_envs=n_envs)``).
    """
    if lam is not None and not (0.0 <= lam <= 1.0):
        raise ValueError(f"lam: must lie in [0, 1], got {lam}")
    if cases is None:
        cases = pst.episodic_cases(n_envs=n_envs)
    elif not isinstance(cases, st.SearchStrategy):
        raise ValueError(f"cases: expected a Hypothesis strategy, got {type(cases).__name__}")
    lams = _LAMS if lam is None else st.just(float(lam))
    return st.tuples(cases, lams).map(lambda c: (*c[0], c[1]))


def _advantage_property(adv_fn, check_fn, *, what: str, max_examples: int, lam, n_envs,
                        cases, atol: float) -> None:
    if not callable(adv_fn):
        raise ValueError(f"adv_fn: expected a callable (buf, critic, gamma, lam) -> (T, n), "
                         f"got {type(adv_fn).__name__}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) \
            or max_examples < 1:
        raise ValueError(f"max_examples: must be a positive integer, got {max_examples!r}")
    strategy = advantage_cases(lam=lam, n_envs=n_envs, cases=cases)

    @settings(max_examples=int(max_examples), derandomize=True, database=None, deadline=None,
              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def holds(case):
        mdp, policy, T, n, lam_ = case
        try:
            check_fn(adv_fn, mdp, policy, T, n, lam=lam_, atol=atol)
        except AssertionError as exc:
            raise _Biased(case, str(exc)) from None

    try:
        holds()
    except _Biased as exc:
        mdp, policy, T, n, lam_ = exc.case
        example = AdvantageCounterexample(mdp, policy, T, n, lam_, str(exc))
        name = getattr(adv_fn, "__name__", None) or repr(adv_fn)
        raise AdvantageBiasError(
            example, f"{name} {what} (Hypothesis search, shrunk to a minimal case; exact "
                     f"enumeration of every buffer, atol {atol:g})") from None


def assert_advantages_unbiased(adv_fn: Callable, *, max_examples: int = 100,
                               lam: float | None = None, n_envs: tuple[int, int] = (1, 2),
                               cases: st.SearchStrategy | None = None,
                               atol: float = 1e-9) -> None:
    """Property: E[adv_t | s_t = s, a_t = a] = A(s, a) at every buffer position, on every drawn case.

    Each case (episodic MDP, policy, n_steps, n_envs, lambda; lambda drawn from
    {0, 0.5, 0.95, 1} and [0, 1] unless ``lam`` is given) is decided exactly by
    ``check.assert_advantages_unbiased``. Raises AdvantageBiasError (an
    AssertionError) with the minimal MDP and the check's report: the position
    (t, env), (s, a), the bias and a buffer where the output differs from the
    reference GAE. Errors adv_fn raises itself propagate unchanged.
    """
    _advantage_property(adv_fn, check.assert_advantages_unbiased, what="is biased",
                        max_examples=max_examples, lam=lam, n_envs=n_envs, cases=cases,
                        atol=atol)


def assert_gae_matches_reference(adv_fn: Callable, *, max_examples: int = 100,
                                 lam: float | None = None, n_envs: tuple[int, int] = (1, 2),
                                 cases: st.SearchStrategy | None = None,
                                 atol: float = 1e-9) -> None:
    """Property: adv_fn equals the reference GAE on every buffer of every drawn case.

    For code that claims to compute GAE itself: each case is decided by
    ``check.assert_gae_matches_reference`` with an inexact critic, which also
    catches bugs that are unbiased when the critic is exact (GAE carried
    across an episode end, a missing gamma in the carry).
    """
    _advantage_property(adv_fn, check.assert_gae_matches_reference,
                        what="differs from the reference GAE", max_examples=max_examples,
                        lam=lam, n_envs=n_envs, cases=cases, atol=atol)


# ---- policy losses with the user's own network (issue 14) -------------------
from pgproofs.loss_testing import (LossBiasError, LossCounterexample,  # noqa: E402,F401
                                   assert_loss_unbiased, loss_cases)

__all__ += ["LossBiasError", "LossCounterexample", "assert_loss_unbiased", "loss_cases"]
