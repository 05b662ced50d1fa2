"""Hypothesis property for a policy loss with your own network (re-exported by ``pgproofs.testing``).

    from pgproofs.testing import assert_loss_unbiased

    def test_my_policy_loss():
        assert_loss_unbiased(my_loss, my_module_factory)   # factory(n_features, n_actions)

Hypothesis draws episodic MDPs (terminal states reachable or not, time limits
below and above n_steps), observation features (one-hot, or generic (S, d)
features with d = 1..3), a torch seed for the module's initialisation,
n_steps and n_envs (1 and 2); each case is decided exactly by
``check.assert_loss_unbiased`` over every buffer, and a failure is shrunk to
a minimal case. Derandomized, no example database: the same verdict on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st

from pgproofs import strategies as pst

__all__ = ["LossBiasError", "LossCounterexample", "assert_loss_unbiased", "build_module",
           "loss_cases"]

MAX_BUFFERS = 300  # keeps one exact case well under a second for a small MLP


def build_module(module_factory: Callable, n_features: int, n_actions: int, seed: int):
    """module_factory(n_features, n_actions) with torch seeded by ``seed`` (global RNG restored)."""
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(int(seed))
        module = module_factory(int(n_features), int(n_actions))
    if not isinstance(module, torch.nn.Module):
        raise ValueError(f"module_factory: returned a {type(module).__name__}, "
                         f"not a torch.nn.Module")
    return module


@st.composite
def _features(draw, n_states: int):
    if draw(st.booleans()):
        return None  # one-hot
    d = draw(st.integers(1, 3))
    values = draw(st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]) |
                           st.floats(-2.0, 2.0, allow_subnormal=False),
                           min_size=n_states * d, max_size=n_states * d))
    return np.array(values).reshape(n_states, d)


@st.composite
def loss_cases(draw, *, n_envs: tuple[int, int] = (1, 2), n_steps: tuple[int, int] = (1, 3),
               max_buffers: int = MAX_BUFFERS):
    """(mdp, observe, seed, n_steps, n_envs): observe None (one-hot) or (S, d) features.

    Sizes come from ``strategies.episodic_cases`` (n_steps lowered until the
    case has at most ``max_buffers`` buffers).
    """
    mdp, _, T, n = draw(pst.episodic_cases(n_steps=n_steps, n_envs=n_envs,
                                           max_buffers=max_buffers))
    observe = draw(_features(mdp.n_states))
    seed = draw(st.integers(0, 2 ** 16))
    return mdp, observe, seed, T, n


@dataclass(frozen=True)
class LossCounterexample:
    """A minimal case on which a loss fails the exact check, with the check's report."""

    mdp: object
    observe: np.ndarray | None
    seed: int
    n_steps: int
    n_envs: int
    report: str

    def __str__(self) -> str:
        mdp = self.mdp
        feats = "one-hot" if self.observe is None else np.array2string(
            np.asarray(self.observe), precision=4, separator=", ").replace("\n", "")
        return "\n".join([
            f"minimal case: S={mdp.n_states}, A={mdp.n_actions}, terminal states "
            f"{[int(s) for s in np.flatnonzero(mdp.terminal)]}, gamma={mdp.discount:g}, "
            f"time_limit={mdp.time_limit}, n_steps={self.n_steps}, n_envs={self.n_envs}, "
            f"features {feats}, module seed {self.seed}",
            self.report,
        ])


class LossBiasError(AssertionError):
    """AssertionError with a shrunk ``LossCounterexample`` in ``.counterexample``."""

    def __init__(self, counterexample: LossCounterexample, headline: str) -> None:
        self.counterexample = counterexample
        super().__init__(f"{headline}\n{counterexample}")


class _Failed(AssertionError):
    def __init__(self, case, message: str) -> None:
        self.case = case
        super().__init__(message)


def assert_loss_unbiased(loss_fn: Callable, module_factory: Callable, *, max_examples: int = 50,
                         n_envs: tuple[int, int] = (1, 2), reduction: str = "mean",
                         cases: st.SearchStrategy | None = None, atol: float = 1e-9) -> None:
    """Property: E[-grad_params loss_fn] = g on every drawn case, for modules from the factory.

    module_factory(n_features, n_actions) -> torch.nn.Module, called with a
    drawn torch seed. Each case is decided by ``check.assert_loss_unbiased``;
    raises LossBiasError (an AssertionError) with the minimal MDP, features,
    seed and the check's report (parameter entry, bias, discounted gap).
    Errors the loss or the factory raise propagate unchanged.
    """
    from pgproofs.loss_checks import assert_loss_unbiased as check_loss

    if not callable(loss_fn):
        raise ValueError(f"loss_fn: expected a callable (module, buf, critic) -> scalar loss, "
                         f"got {type(loss_fn).__name__}")
    if not callable(module_factory):
        raise ValueError(f"module_factory: expected a callable (n_features, n_actions) -> "
                         f"torch.nn.Module, got {type(module_factory).__name__}")
    if isinstance(max_examples, bool) or not isinstance(max_examples, (int, np.integer)) \
            or max_examples < 1:
        raise ValueError(f"max_examples: must be a positive integer, got {max_examples!r}")
    strategy = loss_cases(n_envs=n_envs) if cases is None else cases

    @settings(max_examples=int(max_examples), derandomize=True, database=None, deadline=None,
              report_multiple_bugs=False, print_blob=False, verbosity=Verbosity.quiet,
              phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def holds(case):
        mdp, observe, seed, T, n = case
        d = mdp.n_states if observe is None else observe.shape[1]
        module = build_module(module_factory, d, mdp.n_actions, seed)
        try:
            check_loss(loss_fn, module, mdp, observe, n_steps=T, n_envs=n, reduction=reduction,
                       atol=atol)
        except AssertionError as exc:
            raise _Failed(case, str(exc)) from None

    try:
        holds()
    except _Failed as exc:
        mdp, observe, seed, T, n = exc.case
        name = getattr(loss_fn, "__name__", None) or repr(loss_fn)
        raise LossBiasError(
            LossCounterexample(mdp, observe, seed, T, n, str(exc)),
            f"{name} is biased (Hypothesis search, shrunk to a minimal case; exact enumeration "
            f"of every buffer, atol {atol:g})") from None
