"""The exact engine: DP gradient vs enumeration vs finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings

from pgproofs import FiniteMDP, SoftmaxPolicy, exact
from pgproofs import strategies as pst
from pgproofs.strategies import random_mdp, random_policy

from _brute import brute_force_trajectories, finite_difference_gradient


def enumerated_gradient(mdp, policy):
    """grad J = sum_tau p(tau) r(tau) sum_t grad log pi(a_t|s_t), summed over all trajectories."""
    g = np.zeros_like(policy.logits)
    for s, a, p in brute_force_trajectories(mdp, policy):
        ret = sum(mdp.discount ** t * mdp.rewards[s[t], a[t]] for t in range(len(s)))
        for t in range(len(s)):
            g[s[t]] -= p * ret * policy.probs[s[t]]
            g[s[t], a[t]] += p * ret
    return g


def value_gradient_by_differences(mdp, policy):
    return finite_difference_gradient(lambda th: exact.value(mdp, SoftmaxPolicy(th)), policy.logits)


@settings(max_examples=60)
@given(pst.mdps_and_policies())
def test_policy_gradient_matches_enumeration_and_finite_differences(case):
    mdp, policy = case
    g = exact.policy_gradient(mdp, policy)
    np.testing.assert_allclose(g, enumerated_gradient(mdp, policy), rtol=0, atol=1e-9)
    np.testing.assert_allclose(g, value_gradient_by_differences(mdp, policy), rtol=0, atol=1e-9)


@settings(max_examples=40)
@given(pst.mdps_and_policies(horizon=(1, 3)))
def test_value_and_enumeration_agree_with_brute_force(case):
    mdp, policy = case
    brute = brute_force_trajectories(mdp, policy)
    traj = exact.enumerate_trajectories(mdp, policy)
    assert len(traj) == len(brute) == exact.count_trajectories(mdp, policy)
    assert abs(traj.probs.sum() - 1.0) < 1e-12
    expected = {(tuple(s), tuple(a)): p for s, a, p in brute}
    got = {(tuple(s), tuple(a)): p for s, a, p in
           zip(traj.batch.states.tolist(), traj.batch.actions.tolist(), traj.probs)}
    assert got.keys() == expected.keys()
    assert max(abs(got[k] - expected[k]) for k in got) < 1e-15
    j = sum(p * mdp.rewards[s, a].sum() for s, a, p in brute)
    assert abs(exact.value(mdp, policy) - j) < 1e-9


def test_discounted_gradient_matches_enumeration():
    rng = np.random.default_rng(3)
    S, A = 2, 3
    P = rng.dirichlet(np.ones(S), size=(S, A))
    mdp = FiniteMDP(np.array([0.3, 0.7]), P, rng.normal(size=(S, A)), 4, discount=0.9)
    policy = random_policy(rng, S, A)
    np.testing.assert_allclose(exact.policy_gradient(mdp, policy),
                               enumerated_gradient(mdp, policy), atol=1e-12)
    np.testing.assert_allclose(exact.policy_gradient(mdp, policy),
                               value_gradient_by_differences(mdp, policy), atol=1e-9)


def test_negative_control_a_wrong_gradient_is_caught_by_the_same_comparison():
    # Dropping the baseline V_t from the DP (pi * Q instead of pi * (Q - V)) is a classic
    # slip; the finite-difference comparison used above must reject it.
    rng = np.random.default_rng(0)
    mdp = FiniteMDP([1.0, 0.0], rng.dirichlet([1, 1], size=(2, 2)), [[1.0, 2.0], [0.5, 3.0]], 3)
    policy = SoftmaxPolicy(rng.normal(size=(2, 2)))
    d = exact.state_distributions(mdp, policy)
    q, _ = exact.values_to_go(mdp, policy)
    wrong = policy.probs * np.einsum("ts,tsa->sa", d, q)
    assert np.max(np.abs(wrong - value_gradient_by_differences(mdp, policy))) > 1e-3


def test_enumeration_refuses_too_many_trajectories_with_the_count():
    S, A, T = 3, 3, 8
    mdp = FiniteMDP(np.full(S, 1 / S), np.full((S, A, S), 1 / S), np.zeros((S, A)), T)
    # S choices of s_1, then (A * S)^(T-1) * A continuations: 9^8
    with pytest.raises(ValueError, match=r"43046721 trajectories exceed max_count=200000"):
        exact.enumerate_trajectories(mdp, SoftmaxPolicy(np.zeros((S, A))))
    # the limit is inclusive: exactly max_count trajectories are enumerated
    small = FiniteMDP(np.full(S, 1 / S), np.full((S, A, S), 1 / S), np.zeros((S, A)), 2)
    assert len(exact.enumerate_trajectories(small, SoftmaxPolicy(np.zeros((S, A))),
                                            max_count=S * A * S * A)) == 81


def test_an_action_whose_probability_underflows_to_zero_has_no_trajectories():
    """exp(-1000) is 0.0 in float64: such an action is outside the support, counted or not."""
    mdp = FiniteMDP([1.0], [[[1.0], [1.0]]], [[1.0, 0.0]], 3)
    policy = SoftmaxPolicy([[1000.0, 0.0]])
    assert policy.probs[0, 1] == 0.0
    assert exact.count_trajectories(mdp, policy) == 1
    assert len(exact.enumerate_trajectories(mdp, policy)) == 1


def test_dp_handles_long_horizons():
    rng = np.random.default_rng(5)
    S = A = 5
    mdp = random_mdp(rng, S, A, 100)
    policy = random_policy(rng, S, A)
    g = exact.policy_gradient(mdp, policy)
    # The softmax gradient sums to zero across actions in every state.
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-10)
    assert np.all(np.isfinite(g))
