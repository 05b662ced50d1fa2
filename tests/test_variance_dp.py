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


# ---- direct checks of the public functions (cases the estimator cross-checks miss) ----

def _asymmetric_mdp(T=4):
    """3 states, 2 actions, random dynamics and rewards, T >= 3: E[G 1{s_t = s}] != 0 and
    E[h G^T] is not symmetric, so every term of the causal recursion reaches the output."""
    rng = np.random.default_rng(11)
    mdp = FiniteMDP(rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(3), size=(3, 2)),
                    rng.normal(size=(3, 2)), T, discount=0.9)
    return mdp, SoftmaxPolicy(rng.normal(size=(3, 2))), rng


def test_trajectory_moments_equal_enumerated_moments_of_score_and_return():
    """R[j] = E[R^j], GR[j] = E[G R^j], GGR[j] = E[G G^T R^j] (a symmetric matrix), by enumeration."""
    mdp, policy, _ = _asymmetric_mdp(T=3)
    traj = exact.enumerate_trajectories(mdp, policy)
    b = traj.batch
    G = policy.score_sum(b.states, b.actions).reshape(len(traj), -1)
    R = (b.rewards * mdp.discount ** np.arange(mdp.horizon)).sum(axis=1)
    tm = variance.trajectory_moments(mdp, policy)
    p = traj.probs
    for j in range(3):
        w = p * R ** j
        np.testing.assert_allclose(tm.R[j], w.sum(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(tm.GR[j], w @ G, rtol=0, atol=ATOL)
        np.testing.assert_allclose(tm.GGR[j], (G * w[:, None]).T @ G, rtol=0, atol=ATOL)


def test_dp_moments_report_no_enumerated_tuples():
    """Moments.n_tuples is 0 for dynamic-programming moments (nothing enumerated), as documented."""
    mdp, policy, _ = _asymmetric_mdp(T=2)
    tm = variance.trajectory_moments(mdp, policy)
    for m in (variance.full_return_moments(tm), variance.causal_moments(mdp, policy),
              variance.batch_baseline_moments(tm, 2, leave_one_out=True),
              variance.exact_covariance(est.reinforce, mdp, policy)):
        assert m.n_tuples == 0 and type(m.n_tuples) is int


def test_full_return_and_batch_formulas_hold_for_any_joint_law_of_score_and_return():
    """The moment formulas use no on-policy identity: for a hand-made law of (G, R) with
    E[G] != 0 they equal the enumerated moments of G (R - b) and of the batch baselines."""
    rng = np.random.default_rng(12)
    n, S, A = 4, 1, 2
    G = rng.normal(size=(n, S * A)) + 0.7                 # E[G] != 0 on purpose
    R = rng.normal(size=n)
    p = rng.dirichlet(np.ones(n))
    w = [p * R ** j for j in range(3)]
    tm = variance.TrajectoryMoments(R=np.array([x.sum() for x in w]),
                                    GR=np.array([x @ G for x in w]),
                                    GGR=np.array([(G * x[:, None]).T @ G for x in w]), shape=(S, A))

    def enum(values, probs):
        mean = probs @ values
        c = values - mean
        return mean, (c * probs[:, None]).T @ c

    for b in (0.3, np.array([[-0.5, 1.2]])):
        m = variance.full_return_moments(tm, b)
        mean, cov = enum(G * (R[:, None] - np.reshape(b, -1)), p)
        np.testing.assert_allclose(m.mean.reshape(-1), mean, rtol=0, atol=1e-12)
        np.testing.assert_allclose(m.cov, cov, rtol=0, atol=1e-12)
    for N in (1, 2, 3, 4):                                # N = 4: first N with n4 = N(N-1)(N-2)(N-3) != 0
        idx = np.indices((n,) * N).reshape(N, -1).T       # every N-tuple of draws (n^N <= 256)
        probs = np.prod(p[idx], axis=1)
        Rb, Gb = R[idx], G[idx]                           # (M, N), (M, N, D)
        for loo in (False, True):
            if loo and N < 2:
                continue
            base = (Rb.sum(1, keepdims=True) - Rb) / (N - 1) if loo else Rb.mean(1, keepdims=True)
            mean, cov = enum((Gb * (Rb - base)[:, :, None]).mean(axis=1), probs)
            m = variance.batch_baseline_moments(tm, N, leave_one_out=loo)
            np.testing.assert_allclose(m.mean.reshape(-1), mean, rtol=0, atol=1e-12)
            np.testing.assert_allclose(m.cov, cov, rtol=0, atol=1e-12)


def test_batch_baseline_moments_rejects_a_batch_size_that_is_not_a_positive_integer():
    """batch_size must be an int >= 1 (bool excluded): ValueError naming batch_size."""
    mdp, policy, _ = _asymmetric_mdp(T=1)
    tm = variance.trajectory_moments(mdp, policy)
    for bad in (2.5, 2.0, True, 0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            variance.batch_baseline_moments(tm, bad, leave_one_out=False)


def test_optimal_baseline_is_zero_where_the_score_component_vanishes():
    """b*_k = E[G_k^2 R] / E[G_k^2]; for the logits of an unreachable state E[G_k^2] = 0 and b*_k = 0."""
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0                                     # state 1 is never reached
    mdp = FiniteMDP([1.0, 0.0], P, [[1.0, 2.0], [5.0, 7.0]], 2)
    policy = SoftmaxPolicy([[0.3, -0.2], [0.1, 0.4]])
    traj = exact.enumerate_trajectories(mdp, policy)
    G = policy.score_sum(traj.batch.states, traj.batch.actions).reshape(len(traj), -1)
    R = traj.batch.rewards.sum(axis=1)
    b = variance.optimal_baseline(variance.trajectory_moments(mdp, policy)).reshape(-1)
    num, den = traj.probs @ (G ** 2 * R[:, None]), traj.probs @ G ** 2
    np.testing.assert_array_equal(den[2:], 0.0)
    np.testing.assert_array_equal(b[2:], 0.0)
    np.testing.assert_allclose(b[:2], num[:2] / den[:2], rtol=1e-12)


def test_causal_moments_defaults_and_state_baselines_equal_enumeration():
    """causal_moments(mdp, policy) is the reward-to-go (include_current defaults to True); a (T, S)
    baseline is a state baseline and a (T, S, A) one an action baseline; T = 4 with asymmetric
    dynamics so that the E[G] psi^T and E[h G^T] terms of the recursion all reach the result."""
    mdp, policy, rng = _asymmetric_mdp(T=4)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    assert_same_moments(variance.causal_moments(mdp, policy),
                        check.exact_moments(est.reward_to_go, mdp, policy), "reward_to_go")
    v = rng.normal(size=(T, S))
    assert_same_moments(variance.causal_moments(mdp, policy, v),
                        check.exact_moments(est.state_baseline(v), mdp, policy), "state_baseline")
    q = rng.normal(size=(T, S, A))
    assert_same_moments(variance.causal_moments(mdp, policy, q),
                        check.exact_moments(est.action_baseline(q), mdp, policy), "action_baseline")


def test_exact_rational_baselines_give_the_float64_moments_of_their_values():
    """A baseline is any array of reals: exact fractions are converted to float64 and give the same
    float64 Moments as their float values (interchangeable with check.exact_moments' float64)."""
    from fractions import Fraction
    mdp, policy, _ = _asymmetric_mdp(T=2)
    T, S, A = mdp.horizon, mdp.n_states, mdp.n_actions
    tm = variance.trajectory_moments(mdp, policy)
    frac = [[Fraction(k + 1, 3) for k in range(A)] for _ in range(S)]
    for m, ref in ((variance.full_return_moments(tm, frac),
                    variance.full_return_moments(tm, np.array(frac, dtype=float))),
                   (variance.causal_moments(mdp, policy, [frac] * T),
                    variance.causal_moments(mdp, policy, np.array([frac] * T, dtype=float)))):
        assert m.mean.dtype == np.float64 and m.cov.dtype == np.float64
        np.testing.assert_allclose(m.mean, ref.mean, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(m.cov, ref.cov, rtol=1e-14, atol=1e-14)


def test_exact_covariance_passes_the_batch_size_on():
    """exact_covariance(e, mdp, policy, N) is the covariance of the N-batch mean: enumeration."""
    mdp, policy, _ = _asymmetric_mdp(T=1)
    assert_same_moments(variance.exact_covariance(est.reward_to_go, mdp, policy, 3),
                        check.exact_moments(est.reward_to_go, mdp, policy, batch_size=3), "N=3")


def test_squared_error_moments_default_to_single_draws():
    """Without batch_size, N = 1: E = sum p ||x - mu||^2 and Var its enumerated variance."""
    rng = np.random.default_rng(13)
    g, p = rng.normal(size=(5, 2, 2)), rng.dirichlet(np.ones(5))
    mu = np.tensordot(p, g, axes=1)
    sq = ((g - mu) ** 2).sum(axis=(1, 2))
    e = p @ sq
    np.testing.assert_allclose(variance.squared_error_moments(g, p, mu), (e, p @ (sq - e) ** 2),
                               rtol=1e-12, atol=1e-15)
