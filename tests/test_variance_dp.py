"""The dynamic-programming covariances of pgproofs.variance equal trajectory enumeration.

Enumeration (check.exact_moments) and the forward passes share no code
beyond the score table, so agreement to 1e-9 on Hypothesis-drawn MDPs
(degenerate ones included: one state, one action, deterministic dynamics,
zero rewards, near-deterministic policies, discount < 1) checks the
derivations in pgproofs/variance.py.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgproofs import FiniteMDP, SoftmaxPolicy, check, exact, montecarlo, variance
from pgproofs import estimators as est
from pgproofs import strategies as pst
from pgproofs.strategies import random_mdp, random_policy

ATOL = 1e-9


@st.composite
def cases(draw, horizon=(1, 3)):
    discount = draw(st.sampled_from([1.0, 0.9, 0.5]))
    mdp, policy = draw(pst.mdps_and_policies(horizon=horizon, discount=discount))
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    elems = st.floats(-2, 2, allow_subnormal=False)
    values = np.array(draw(st.lists(elems, min_size=T * S * A, max_size=T * S * A)))
    b = draw(elems)
    return mdp, policy, values.reshape(T, S, A), b


def assert_same_moments(dp, enum, name):
    np.testing.assert_allclose(dp.mean, enum.mean, rtol=0, atol=ATOL, err_msg=f"{name}: mean")
    np.testing.assert_allclose(dp.cov, enum.cov, rtol=0, atol=ATOL, err_msg=f"{name}: cov")


@settings(max_examples=40)
@given(cases())
def test_per_trajectory_estimators_dp_covariance_equals_enumeration(case):
    mdp, policy, values, b = case
    estimators = [est.reinforce, est.reward_to_go, est.constant_baseline(b),
                  est.constant_baseline(b, to_go=True), est.constant_baseline(values[0]),
                  est.optimal_baseline(mdp, policy), est.state_value_baseline(mdp, policy),
                  est.state_baseline(values[:, :, 0]), est.action_baseline(values),
                  est.reward_to_go_off_by_one]
    for e in estimators:
        assert_same_moments(variance.exact_covariance(e, mdp, policy),
                            check.exact_moments(e, mdp, policy), e.name)


@settings(max_examples=25)
@given(cases(horizon=(1, 2)), st.integers(1, 3))
def test_batch_baselines_dp_covariance_equals_enumeration(case, batch_size):
    mdp, policy, _, _ = case
    if exact.count_trajectories(mdp, policy) ** batch_size > 20_000:
        batch_size = 2 if exact.count_trajectories(mdp, policy) ** 2 <= 20_000 else 1
    for e in (est.batch_mean_baseline, est.leave_one_out_baseline):
        if e is est.leave_one_out_baseline and batch_size < 2:
            continue
        assert_same_moments(e.exact_moments(mdp, policy, batch_size),
                            check.exact_moments(e, mdp, policy, batch_size=batch_size), e.name)


def test_batch_size_divides_the_covariance_of_per_trajectory_estimators():
    rng = np.random.default_rng(0)
    mdp = FiniteMDP(rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(2), size=(2, 2)),
                    rng.normal(size=(2, 2)), 2)
    policy = SoftmaxPolicy(rng.normal(size=(2, 2)))
    one = est.reward_to_go.exact_moments(mdp, policy, 1)
    three = est.reward_to_go.exact_moments(mdp, policy, 3)
    np.testing.assert_allclose(three.cov, one.cov / 3, atol=1e-15)
    np.testing.assert_allclose(
        three.cov, check.exact_moments(est.reward_to_go, mdp, policy, batch_size=3).cov, atol=ATOL)


def test_optimal_baseline_minimises_each_component_variance():
    rng = np.random.default_rng(1)
    mdp = FiniteMDP(rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3), size=(3, 2)),
                    rng.normal(size=(3, 2)) + 1.0, 3)
    policy = SoftmaxPolicy(rng.normal(size=(3, 2)))
    tm = variance.trajectory_moments(mdp, policy)
    b_star = variance.optimal_baseline(tm)
    best = np.diag(variance.full_return_moments(tm, b_star).cov)
    for delta in (-0.1, -1e-3, 1e-3, 0.1):
        for k in range(b_star.size):
            b = b_star.copy().reshape(-1)
            b[k] += delta
            assert np.diag(variance.full_return_moments(tm, b.reshape(b_star.shape)).cov)[k] \
                > best[k]


def test_dp_handles_long_horizons_where_enumeration_cannot():
    rng = np.random.default_rng(2)
    S = A = 5
    mdp = random_mdp(rng, S, A, 100)
    policy = random_policy(rng, S, A)
    for e in (est.reinforce, est.reward_to_go, est.state_value_baseline(mdp, policy)):
        m = variance.exact_covariance(e, mdp, policy)
        # the unbiased estimators' DP mean is the DP policy gradient (two independent passes)
        np.testing.assert_allclose(m.mean, exact.policy_gradient(mdp, policy), atol=1e-8)
        assert np.all(np.linalg.eigvalsh(m.cov) > -1e-6 * np.abs(m.cov).max())


def test_exact_covariance_refuses_estimators_without_a_dp():
    mdp = FiniteMDP([1.0], [[[1.0]]], [[0.0]], 1)
    with pytest.raises(ValueError, match="estimator"):
        variance.exact_covariance(lambda batch, policy: 0, mdp, SoftmaxPolicy([[0.0]]))
    with pytest.raises(ValueError, match="estimator"):
        variance.exact_covariance(est.grad_pi_reinforce, mdp, SoftmaxPolicy([[0.0]]))
    with pytest.raises(ValueError, match="batch_size"):
        est.reinforce.exact_moments(mdp, SoftmaxPolicy([[0.0]]), 0)
    with pytest.raises(ValueError, match="batch_size"):
        est.leave_one_out_baseline.exact_moments(mdp, SoftmaxPolicy([[0.0]]), 1)
    with pytest.raises(ValueError, match="baseline"):
        variance.causal_moments(mdp, SoftmaxPolicy([[0.0]]), np.zeros((2, 1)))


def test_squared_error_moments_match_enumerated_batches():
    """E and Var of ||g_bar - mu||^2 against every N-tuple of trajectories, N = 1..3."""
    rng = np.random.default_rng(3)
    mdp = FiniteMDP(rng.dirichlet(np.ones(2)), rng.dirichlet(np.ones(2), size=(2, 2)),
                    rng.normal(size=(2, 2)), 2)
    policy = SoftmaxPolicy(rng.normal(size=(2, 2)))
    traj = exact.enumerate_trajectories(mdp, policy)
    g = est.reinforce.per_trajectory(traj.batch, policy).reshape(len(traj), -1)
    mu = exact.policy_gradient(mdp, policy)
    for N in (1, 2, 3):
        index = np.indices((len(traj),) * N).reshape(N, -1).T
        probs = np.prod(traj.probs[index], axis=1)
        sq = ((g[index].mean(axis=1) - mu.reshape(1, -1)) ** 2).sum(axis=1)
        mean = probs @ sq
        var = probs @ (sq - mean) ** 2
        got = variance.squared_error_moments(g, traj.probs, mu, N)
        np.testing.assert_allclose(got, (mean, var), rtol=1e-10, atol=1e-14)


def test_median_of_means_radius_meets_its_false_alarm_bound():
    from math import comb
    for var, n, delta in [(1.0, 3000, 2e-7), (5.0, 100_000, 5e-7), (0.3, 50, 1e-3)]:
        eps, K, m = montecarlo.median_of_means_radius(var, n, delta)
        assert K % 2 == 1 and K * m <= n
        q = var / (m * eps ** 2)                   # Chebyshev bound per group
        tail = sum(comb(K, i) * q ** i * (1 - q) ** (K - i) for i in range((K + 1) // 2, K + 1))
        assert tail <= delta * (1 + 1e-9)
    x = np.arange(12.0)
    assert montecarlo.median_of_means(x, 3) == 5.5    # group means 1.5, 5.5, 9.5
    with pytest.raises(ValueError, match="delta"):
        montecarlo.median_of_means_radius(1.0, 100, 0.0)
