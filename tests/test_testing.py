"""pgproofs.testing: the drop-in property suite, run on the bug catalogue and the library estimators.

Every verdict here is exact (enumeration against dynamic programming): no
sampling, so no false alarms; Hypothesis is derandomized, so no flakes.
"""

import functools

import numpy as np
import pytest
import torch

from pgproofs import check, estimators, exact, importance
from pgproofs import strategies as pst
from pgproofs.bugs import CATALOGUE, reward_to_go_loss
from pgproofs.testing import (EstimatorBiasError, assert_estimator_unbiased,
                              assert_surrogate_unbiased, seed_offset, seeded_rng)

torch.set_num_threads(1)

# S, A, T <= 2 is enough for every catalogue bug (T = 2 exposes the time-indexing ones)
# and keeps the whole catalogue, with shrinking, at a few seconds.
SMALL = pst.finite_mdps(states=(1, 2), actions=(1, 2), horizon=(1, 2))
FIXES = list({id(bug.correct): bug.correct for bug in CATALOGUE}.values())
BUGS = {bug.name: bug for bug in CATALOGUE}


@functools.cache
def rejection(name: str) -> EstimatorBiasError:
    """The suite's verdict on the catalogue's buggy loss ``name`` (searched once per session)."""
    with pytest.raises(EstimatorBiasError) as info:
        assert_surrogate_unbiased(BUGS[name].buggy, max_examples=100, mdps=SMALL)
    return info.value


@pytest.mark.parametrize("bug", CATALOGUE, ids=lambda bug: bug.name)
def test_every_catalogue_bug_is_rejected_with_a_real_counterexample(bug):
    error = rejection(bug.name)
    found = error.counterexample
    # Re-derive the verdict independently of the suite: the bias is real.
    m = check.exact_moments(check.from_surrogate_loss(bug.buggy), found.mdp, found.policy)
    truth = exact.policy_gradient(found.mdp, found.policy)
    np.testing.assert_allclose(found.exact_gradient, truth, atol=1e-12)
    np.testing.assert_allclose(found.estimator_mean, m.mean, atol=1e-12)
    assert np.abs(m.mean - truth).max() > 1e-9
    message = str(error)
    assert message.startswith(f"{bug.name} is biased")
    for part in ("minimal case: S=", "r(s, a)", "policy logits", "exact gradient dJ/dlogits",
                 "estimator mean", "largest bias"):
        assert part in message


@pytest.mark.parametrize("fix", FIXES, ids=lambda f: f.__name__)
def test_every_catalogue_fix_is_accepted(fix):
    assert_surrogate_unbiased(fix, max_examples=30, mdps=SMALL)


def test_catalogue_has_at_least_eight_distinct_bugs_each_with_a_fix():
    names = [bug.name for bug in CATALOGUE]
    assert len(set(names)) == len(names) >= 8
    assert all(bug.description and bug.buggy is not bug.correct for bug in CATALOGUE)


def test_counterexample_is_shrunk_to_a_minimal_case():
    # A flipped sign shows up on a one-step bandit with two actions: nothing smaller has a
    # nonzero gradient, so that is what shrinking must reach.
    found = rejection("sign_flip").counterexample
    assert (found.mdp.n_states, found.mdp.n_actions, found.mdp.horizon) == (1, 2, 1)
    np.testing.assert_allclose(found.estimator_mean, -found.exact_gradient, atol=1e-12)


def test_search_is_deterministic():
    with pytest.raises(EstimatorBiasError) as info:
        assert_surrogate_unbiased(BUGS["greedy_action"].buggy, max_examples=25, mdps=SMALL)
    assert str(info.value) == str(rejection("greedy_action"))


def test_library_estimators_on_the_default_sizes():
    for good in (estimators.reinforce, estimators.reward_to_go):
        assert_estimator_unbiased(good, max_examples=40)
    with pytest.raises(EstimatorBiasError, match="reward_to_go_off_by_one is biased"):
        assert_estimator_unbiased(estimators.reward_to_go_off_by_one, max_examples=40)


def test_batch_size_two_separates_batch_mean_from_leave_one_out_baselines():
    assert_estimator_unbiased(estimators.leave_one_out_baseline, batch_size=2, max_examples=40)
    with pytest.raises(EstimatorBiasError) as info:
        assert_estimator_unbiased(estimators.batch_mean_baseline, batch_size=2, max_examples=40)
    found = info.value.counterexample
    # The batch's own mean as baseline scales the gradient by (N - 1)/N = 1/2 (claim VR-5).
    assert found.batch_size == 2
    np.testing.assert_allclose(found.estimator_mean, found.exact_gradient / 2, atol=1e-12)


def test_off_policy_cases_draw_a_behaviour_policy():
    assert_estimator_unbiased(importance.per_decision, off_policy=True, max_examples=30,
                              mdps=SMALL)
    # The notes' past/future split counts the ratio at t twice (claim IS-4): rejected.
    with pytest.raises(EstimatorBiasError) as info:
        assert_estimator_unbiased(importance.double_counted, off_policy=True, max_examples=30,
                                  mdps=SMALL)
    found = info.value.counterexample
    assert found.behavior is not None and "behavior logits" in str(info.value)
    assert not np.allclose(found.behavior.probs, found.policy.probs)


def test_errors_raised_by_the_estimator_propagate():
    def wrong_shape(batch, policy):
        return np.zeros(3)

    with pytest.raises(ValueError, match="estimator: returned shape"):
        assert_estimator_unbiased(wrong_shape, max_examples=5)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="estimator: expected a callable"):
        assert_estimator_unbiased(None)
    with pytest.raises(ValueError, match="max_examples"):
        assert_estimator_unbiased(estimators.reinforce, max_examples=0)
    with pytest.raises(ValueError, match="batch_size: must be a positive integer"):
        assert_estimator_unbiased(estimators.reinforce, batch_size=0)
    with pytest.raises(ValueError, match="batch_size: 7 needs an explicit `mdps`"):
        assert_estimator_unbiased(estimators.reinforce, batch_size=7)
    with pytest.raises(ValueError, match="mdps: expected a Hypothesis strategy"):
        assert_estimator_unbiased(estimators.reinforce, mdps=[1, 2])


def test_seed_offset_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("PGPROOFS_SEED_OFFSET", raising=False)
    assert seed_offset() == 0
    base = seeded_rng(3).random()
    monkeypatch.setenv("PGPROOFS_SEED_OFFSET", "5")
    assert seed_offset() == 5
    assert seeded_rng(3).random() == np.random.default_rng(8).random() != base
    monkeypatch.setenv("PGPROOFS_SEED_OFFSET", "five")
    with pytest.raises(ValueError, match="PGPROOFS_SEED_OFFSET: expected an integer"):
        seeded_rng(3)


def test_surrogate_entry_point_is_the_estimator_entry_point():
    assert_surrogate_unbiased(reward_to_go_loss, max_examples=20, mdps=SMALL)
