"""Unit tests of pgproofs.importance and pgproofs.symbolic.importance (the machinery of section 3)."""

import math
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings

from pgproofs import Batch, FiniteMDP, SoftmaxPolicy, exact
from pgproofs import importance as imp
from pgproofs import strategies as pst
from pgproofs.returns import discounted_return, reward_to_go
from pgproofs.symbolic import importance as sym
from pgproofs.strategies import random_mdp, random_policy

from _brute import brute_force_trajectories

ESTIMATORS = [imp.off_policy_reinforce, imp.per_decision, imp.double_counted,
              imp.dropped_future_ratios, imp.first_order_surrogate]


def bandit():
    """One state, two actions, T = 1, rewards (1, 0); behaviour (1/2, 1/2), target (3/4, 1/4)."""
    mdp = FiniteMDP([1.0], [[[1.0], [1.0]]], [[1.0, 0.0]], 1)
    return mdp, SoftmaxPolicy([[math.log(3), 0.0]]), SoftmaxPolicy([[0.0, 0.0]])


def logged(states, actions, rewards, behaviour, discount=1.0):
    states, actions = np.array(states), np.array(actions)
    return Batch(states, actions, np.array(rewards, float),
                 behaviour.log_probs[states, actions], discount)


def random_case(seed, S=3, A=3, T=3, discount=1.0):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, rewards="uniform", discount=discount)
    return mdp, random_policy(rng, S, A), random_policy(rng, S, A)


# ---------------------------------------------------------------- hand-derived numbers

def test_bandit_by_hand():
    _, target, behaviour = bandit()
    batch = logged([[0]], [[0]], [[1.0]], behaviour)
    # w = (3/4)/(1/2) = 1.5; score of action 0 under the target = (1 - 3/4, -1/4).
    np.testing.assert_allclose(imp.trajectory_weights(batch, target), [1.5])
    np.testing.assert_allclose(imp.off_policy_reinforce(batch, target), [[0.375, -0.375]])
    np.testing.assert_allclose(imp.per_decision(batch, target), [[0.375, -0.375]])
    # The notes' form squares the only ratio: 1.5^2 * 0.25 = 0.5625.
    np.testing.assert_allclose(imp.double_counted(batch, target), [[0.5625, -0.5625]])


def test_two_step_by_hand():
    """T = 2, w_1 = 2, w_2 = 1/2, rewards (1, 3), gamma = 1/2."""
    FiniteMDP([1.0], [[[1.0], [1.0]]], [[1.0, 3.0]], 2, discount=0.5)  # the MDP of this case
    behaviour = SoftmaxPolicy([[0.0, 0.0]])                  # (1/2, 1/2)
    target = SoftmaxPolicy([[0.0, math.log(1 / 3)]])        # (3/4, 1/4)
    batch = logged([[0, 0]], [[0, 1]], [[1.0, 3.0]], behaviour, discount=0.5)
    w1, w2 = 1.5, 0.5
    np.testing.assert_allclose(imp.prefix_weights(batch, target), [[w1, w1 * w2]])
    g1 = np.array([0.25, -0.25])    # score of action 0
    g2 = np.array([-0.75, 0.75])    # score of action 1
    r1, r2 = 1.0, 0.5 * 3.0          # discounted rewards
    expect = {
        imp.off_policy_reinforce: w1 * w2 * (g1 + g2) * (r1 + r2),
        imp.per_decision: g1 * (r1 * w1 + r2 * w1 * w2) + g2 * (r2 * w1 * w2),
        imp.double_counted: g1 * w1 * (r1 + r2) * w1 * w2 + g2 * w1 * w2 * (r1 + r2) * w2,
        imp.dropped_future_ratios: g1 * w1 * (r1 + r2) + g2 * w1 * w2 * r2,
        imp.first_order_surrogate: g1 * w1 * (r1 + r2) + g2 * w2 * r2,
    }
    for est, value in expect.items():
        np.testing.assert_allclose(est(batch, target)[0], value, atol=1e-12, err_msg=est.__name__)


def test_rewards_logged_as_decimals_are_read_as_floats():
    """Rewards of any real type float() accepts (here decimal.Decimal, as a parser of logged data
    may give them) are converted to float64 like every other input of the package.

    T = 2, one state, behaviour (1/2, 1/2), target (3/4, 1/4), actions (0, 1), rewards (1, 3),
    gamma = 1/2: w_1 = 3/2, w_2 = 1/2, discounted rewards (1, 3/2), scores g_1 = (1/4, -1/4) and
    g_2 = (-3/4, 3/4), so off_policy_reinforce = (3/4)(g_1 + g_2)(5/2) = (-15/16, 15/16) and
    per_decision = g_1 (3/2 + 9/8) + g_2 (9/8) = (-3/16, 3/16).
    """
    behaviour = SoftmaxPolicy([[0.0, 0.0]])
    target = SoftmaxPolicy([[0.0, math.log(1 / 3)]])
    batch = Batch(np.array([[0, 0]]), np.array([[0, 1]]), [[Decimal("1"), Decimal("3")]],
                  behaviour.log_probs[[[0, 0]], [[0, 1]]], 0.5)
    np.testing.assert_allclose(imp.off_policy_reinforce(batch, target), [[-15 / 16, 15 / 16]],
                               rtol=1e-12)
    np.testing.assert_allclose(imp.per_decision(batch, target), [[-3 / 16, 3 / 16]], rtol=1e-12)


# ---------------------------------------------------------------- protocol and reductions

@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: e.__name__)
def test_estimator_is_batch_mean_of_per_trajectory(est):
    mdp, target, behaviour = random_case(0, discount=0.9)
    batch = mdp.sample(behaviour, 7, np.random.default_rng(1))
    terms = est.per_trajectory(batch, target)
    assert terms.shape == (7, 3, 3)
    np.testing.assert_allclose(est(batch, target), terms.mean(axis=0))
    assert "IS-" in est.__doc__ and "Off-Policy" in est.__doc__


def test_on_policy_reductions():
    """With target == behaviour every ratio is 1: the estimators become the on-policy ones."""
    mdp, _, behaviour = random_case(2, discount=0.8)
    batch = mdp.sample(behaviour, 11, np.random.default_rng(3))
    ret = discounted_return(batch.rewards, batch.discount)
    reinforce = behaviour.score_sum(batch.states, batch.actions,
                                    np.repeat(ret[:, None], batch.horizon, 1)).mean(0)
    to_go = reward_to_go(batch.rewards, batch.discount) * batch.discount ** np.arange(3)
    rtg = behaviour.score_sum(batch.states, batch.actions, to_go).mean(0)
    np.testing.assert_allclose(imp.off_policy_reinforce(batch, behaviour), reinforce)
    np.testing.assert_allclose(imp.double_counted(batch, behaviour), reinforce)
    for est in (imp.per_decision, imp.dropped_future_ratios, imp.first_order_surrogate):
        np.testing.assert_allclose(est(batch, behaviour), rtg, err_msg=est.__name__)


def test_horizon_one_forms_coincide():
    mdp, target, behaviour = random_case(4, T=1)
    batch = mdp.sample(behaviour, 9, np.random.default_rng(5))
    base = imp.off_policy_reinforce(batch, target)
    for est in (imp.per_decision, imp.dropped_future_ratios, imp.first_order_surrogate):
        np.testing.assert_allclose(est(batch, target), base, err_msg=est.__name__)


def test_weights_ignore_the_dynamics():
    """Same logged (s, a, log pi) under two different MDPs: identical weights (IS-2)."""
    mdp_a, target, behaviour = random_case(6)
    batch = mdp_a.sample(behaviour, 5, np.random.default_rng(7))
    mdp_b, _, _ = random_case(8)
    assert not np.allclose(mdp_a.transitions, mdp_b.transitions)
    w = imp.trajectory_weights(batch, target)
    np.testing.assert_allclose(w, np.exp(target.log_probs[batch.states, batch.actions].sum(1)
                                         - batch.log_probs.sum(1)))


# ---------------------------------------------------------------- DP against enumeration

@settings(max_examples=30)
@given(pst.mdps_and_policies(n_policies=2))
def test_weight_moments_match_brute_force(case):
    mdp, target, behaviour = case
    probs, W = [], []
    for s, a, p in brute_force_trajectories(mdp, behaviour):
        probs.append(p)
        W.append(np.cumprod(target.probs[s, a] / behaviour.probs[s, a]))
    probs, W = np.array(probs), np.array(W)
    w = imp.weight_moments(mdp, target, behaviour)
    np.testing.assert_allclose(w.mean, probs @ W, atol=1e-9)
    np.testing.assert_allclose(w.second, probs @ W ** 2, atol=1e-9, rtol=1e-9)
    np.testing.assert_allclose(w.variance, w.second - w.mean ** 2)


def test_weight_moments_match_enumeration_atol_on_tiny_mdps():
    for seed in range(20):
        mdp, target, behaviour = random_case(seed, S=2, A=2, T=4)
        traj = exact.enumerate_trajectories(mdp, behaviour)
        W = imp.prefix_weights(traj.batch, target)
        w = imp.weight_moments(mdp, target, behaviour)
        assert np.abs(traj.probs @ W - w.mean).max() <= 1e-9
        assert np.abs(traj.probs @ W ** 2 - w.second).max() <= 1e-9


def test_state_independent_second_moment_gives_power_law():
    mdp = FiniteMDP([0.3, 0.7], np.full((2, 2, 2), 0.5), np.zeros((2, 2)), 50)
    behaviour = SoftmaxPolicy([[0.0, 0.0], [0.0, 0.0]])
    target = SoftmaxPolicy([[1.0, 0.0], [0.0, 1.0]])  # the same ratios, permuted
    rho = imp.per_step_second_moments(target, behaviour)
    assert rho[0] == pytest.approx(rho[1]) and rho[0] > 1
    w = imp.weight_moments(mdp, target, behaviour)
    np.testing.assert_allclose(w.second, rho[0] ** np.arange(1, 51), rtol=1e-12)
    np.testing.assert_allclose(w.mean, 1.0, atol=1e-12)
    assert imp.variance_growth_rate(mdp, target, behaviour) == pytest.approx(math.log(rho[0]))
    assert imp.variance_growth_rate(mdp, behaviour, behaviour) == pytest.approx(0.0, abs=1e-12)


def test_growth_rate_ignores_unreachable_states():
    # State 1 is unreachable and has a large ratio; the rate must come from state 0 only.
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    mdp = FiniteMDP([1.0, 0.0], P, np.zeros((2, 2)), 5)
    behaviour = SoftmaxPolicy([[0.0, 0.0], [0.0, 0.0]])
    target = SoftmaxPolicy([[0.0, 0.0], [5.0, 0.0]])
    assert imp.variance_growth_rate(mdp, target, behaviour) == pytest.approx(0.0, abs=1e-12)


def test_growth_rate_follows_the_chain_to_states_reached_later():
    """Deterministic moves 0 -> 1 -> 2 -> 2 (state 2 first reached at step 3), and a state 3
    that loops on itself but that nothing reaches. Behaviour (1/2, 1/2) everywhere; the target
    is (1/2, 1/2) in states 0 and 1 (rho = 1), (3/4, 1/4) in state 2 (rho = 2 (9/16 + 1/16) = 5/4)
    and (9/10, 1/10) in state 3 (rho = 2 (81/100 + 1/100) = 41/25).
    On the reachable states {0, 1, 2}, M[s, s'] = rho(s) 1[s' = next(s)] is upper triangular with
    diagonal (0, 0, 5/4), so the rate is log(5/4); state 3's log(41/25) must not enter, and the
    initial state's own diagonal entry 0 alone would give log 0.
    """
    P = np.zeros((4, 2, 4))
    for s, nxt in enumerate([1, 2, 2, 3]):
        P[s, :, nxt] = 1.0
    mdp = FiniteMDP([1.0, 0.0, 0.0, 0.0], P, np.zeros((4, 2)), 6)
    behaviour = SoftmaxPolicy(np.zeros((4, 2)))
    target = SoftmaxPolicy([[0.0, 0.0], [0.0, 0.0], [math.log(3), 0.0], [math.log(9), 0.0]])
    assert imp.variance_growth_rate(mdp, target, behaviour) == pytest.approx(math.log(5 / 4),
                                                                             rel=1e-12)


def test_support_gap_lowers_the_weight_mean_by_the_missing_mass():
    mdp, target, _ = bandit()
    behaviour = SoftmaxPolicy([[-1000.0, 0.0]])   # never takes action 0
    w = imp.weight_moments(mdp, target, behaviour)
    assert w.mean[0] == pytest.approx(0.25)       # target's mass on action 1 only


def test_weight_moments_are_zero_once_the_target_leaves_the_support():
    """One state, T = 3: the behaviour always takes action 1, the target always action 0 (the
    other logit -1000 gives probability exactly 0 in float64). Every ratio w_t is 0, so
    E[W_{1:t}] = E[W_{1:t}^2] = 0 and log E[W_{1:t}^2] = -inf for t = 1, 2, 3; the forward
    pass runs out of mass after step 1 and must still return these, without a warning.
    """
    mdp = FiniteMDP([1.0], [[[1.0], [1.0]]], [[1.0, 0.0]], 3)
    behaviour = SoftmaxPolicy([[-1000.0, 0.0]])
    target = SoftmaxPolicy([[0.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = imp.weight_moments(mdp, target, behaviour)
    assert w.mean.tolist() == [0.0, 0.0, 0.0]
    assert w.second.tolist() == [0.0, 0.0, 0.0]
    assert w.log_second.tolist() == [-np.inf, -np.inf, -np.inf]


def test_moments_beyond_float64_become_inf_without_warnings():
    """One state, T = 1100, behaviour (1/2, 1/2), target always action 0 (other logit -1000).
    W_{1:t} = 2^t on the all-zeros path (probability 2^-t) and 0 otherwise, so E[W_{1:t}] = 1
    and E[W_{1:t}^2] = 2^t, beyond float64 for t >= 1024: inf, with log E[W^2] = t log 2 finite.
    With one state, conditioning on s_t changes nothing: E[W_{1:t-1} | s_t] = 1 and
    Var[W_{1:t-1} | s_t] = 2^(t-1) - 1 (inf at t = 1100). Overflow is expected here: no warning.
    """
    mdp = FiniteMDP([1.0], [[[1.0], [1.0]]], [[1.0, 0.0]], 1100)
    behaviour = SoftmaxPolicy([[0.0, 0.0]])
    target = SoftmaxPolicy([[0.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = imp.weight_moments(mdp, target, behaviour)
        mean, var = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
    np.testing.assert_allclose(w.mean, 1.0, rtol=1e-12)
    assert w.second[9] == pytest.approx(2.0 ** 10, rel=1e-12)
    assert np.isinf(w.second[-1])
    assert w.log_second[-1] == pytest.approx(1100 * math.log(2), rel=1e-12)
    np.testing.assert_allclose(mean, 1.0, rtol=1e-12)
    assert var[10, 0] == pytest.approx(2.0 ** 10 - 1, rel=1e-12)
    assert np.isinf(var[-1, 0])


def test_one_state_overflowing_leaves_the_other_states_conditional_moments_exact():
    """Two absorbing states, each the start with probability 1/2, T = 1100. In state 0 the
    behaviour is (1/2, 1/2) and the target always takes action 0, so E[W_{1:t-1} | s_t = 0] = 1
    and E[W_{1:t-1}^2 | s_t = 0] = 2^(t-1), beyond float64 for t > 1024. In state 1 the two
    policies agree: W_{1:t-1} = 1 on every path, mean 1 and variance 0 at every t. With one
    scale per time step, state 1's share of the row underflowed and its variance came out
    nan (0 x inf) where state 0's second moment overflowed.
    """
    P = np.zeros((2, 2, 2))
    P[0, :, 0] = P[1, :, 1] = 1.0
    mdp = FiniteMDP([0.5, 0.5], P, np.zeros((2, 2)), 1100)
    behaviour = SoftmaxPolicy(np.zeros((2, 2)))
    target = SoftmaxPolicy([[0.0, -1000.0], [0.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # state 0's overflow is expected, not a warning
        mean, var = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
    np.testing.assert_allclose(mean, 1.0, rtol=1e-12)
    np.testing.assert_allclose(var[:, 1], 0.0, atol=1e-9)
    assert var[10, 0] == pytest.approx(2.0 ** 10 - 1, rel=1e-12)
    assert np.isinf(var[-1, 0])


def test_conditional_moments_and_marginal_ratio():
    mdp, target, behaviour = random_case(9)
    mean, var = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
    np.testing.assert_allclose(mean, imp.state_marginal_ratio(mdp, target, behaviour), rtol=1e-12)
    np.testing.assert_allclose(mean[0], 1.0)
    np.testing.assert_allclose(var[0], 0.0, atol=1e-15)
    assert np.all(var[1:] > 0)


def test_marginal_ratio_is_nan_where_behaviour_never_goes():
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    mdp = FiniteMDP([1.0, 0.0], P, np.zeros((2, 2)), 3)
    _, target, behaviour = random_case(1, S=2, A=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # 0/0 is the expected case here, not a warning
        ratio = imp.state_marginal_ratio(mdp, target, behaviour)
        mean, _ = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
    assert np.all(np.isnan(ratio[:, 1])) and np.all(ratio[:, 0] == 1.0)
    assert np.all(np.isnan(mean[:, 1]))


def test_marginal_ratio_is_nan_where_only_the_target_goes():
    """Two states, T = 3: action 1 moves 0 -> 1, action 0 stays, state 1 absorbs. The behaviour
    never takes action 1 (logit -1000: probability 0), the target is (1/2, 1/2). So
    p_theta(s_t) = (1, 0) and p_theta'(s_t) = ((1/2)^(t-1), 1 - (1/2)^(t-1)): the ratio is
    (1, nan), (1/2, nan), (1/4, nan), nan (no condition to take), not inf, where only the target
    goes. Given s_t = 0 the behaviour took action 0 (probability 1, target 1/2) every step, so
    W_{1:t-1} = (1/2)^(t-1) exactly: E[W_{1:t-1} | s_t = 0] = (1/2)^(t-1), variance 0.
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    mdp = FiniteMDP([1.0, 0.0], P, np.zeros((2, 2)), 3)
    behaviour = SoftmaxPolicy([[0.0, -1000.0], [0.0, 0.0]])
    target = SoftmaxPolicy(np.zeros((2, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # x/0 and 0/0 are expected here, not warnings
        ratio = imp.state_marginal_ratio(mdp, target, behaviour)
        mean, var = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
    np.testing.assert_allclose(ratio[:, 0], [1.0, 0.5, 0.25], rtol=1e-12)
    assert np.all(np.isnan(ratio[:, 1]))
    np.testing.assert_allclose(mean[:, 0], [1.0, 0.5, 0.25], rtol=1e-12)
    np.testing.assert_allclose(var[:, 0], 0.0, atol=1e-15)
    assert np.all(np.isnan(mean[:, 1])) and np.all(np.isnan(var[:, 1]))


def test_conditional_moments_are_nan_where_the_behaviour_marginal_underflows():
    """Three states, T = 3: action 1 moves 0 -> 1 -> 2, action 0 stays, state 2 absorbs. In
    every state the behaviour takes action 1 with p = 1/(1 + e^380) and the target with
    q = 1/(1 + e^40). Then p_theta(s_2 = 1) = p (about e^-380) and
    E[W_1 | s_2 = 1] = q/p = e^340 (float64 rounds 1 + e^-380 to 1 and q to e^-40 up to 1e-17),
    but p_theta(s_3 = 2) = p^2 (about e^-760) underflows to 0 while the target's mass q^2 there
    does not: where the behaviour's marginal is 0 the conditional moments are nan (no
    condition to take), not inf, and without a divide-by-zero warning.
    """
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 1] = P[1, 1, 2] = 1.0
    P[2, :, 2] = 1.0
    mdp = FiniteMDP([1.0, 0.0, 0.0], P, np.zeros((3, 2)), 3)
    behaviour = SoftmaxPolicy(np.tile([0.0, -380.0], (3, 1)))
    target = SoftmaxPolicy(np.tile([0.0, -40.0], (3, 1)))
    assert exact.state_distributions(mdp, behaviour)[2, 2] == 0.0   # the underflow
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean, var = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
    assert mean[1, 1] == pytest.approx(math.exp(340), rel=1e-12)
    assert np.isnan(mean[2, 2]) and np.isnan(var[2, 2])


# ---------------------------------------------------------------- surrogate

def test_surrogate_value_and_gradient():
    mdp, target, behaviour = random_case(10, discount=0.9)
    assert imp.surrogate_value(mdp, behaviour, behaviour) == pytest.approx(
        exact.value(mdp, behaviour), abs=1e-12)
    np.testing.assert_allclose(imp.surrogate_gradient(mdp, behaviour, behaviour),
                               exact.policy_gradient(mdp, behaviour), atol=1e-12)
    # Central finite differences of L_theta(theta') in theta'.
    h, grad = 1e-6, np.zeros((3, 3))
    for idx in np.ndindex(3, 3):
        step = np.zeros((3, 3))
        step[idx] = h
        up = imp.surrogate_value(mdp, SoftmaxPolicy(target.logits + step), behaviour)
        down = imp.surrogate_value(mdp, SoftmaxPolicy(target.logits - step), behaviour)
        grad[idx] = (up - down) / (2 * h)
    np.testing.assert_allclose(imp.surrogate_gradient(mdp, target, behaviour), grad, atol=1e-7)


def test_surrogate_bound_pieces():
    mdp, target, behaviour = random_case(11, discount=0.95)
    assert imp.max_tv_distance(behaviour, behaviour) == 0.0
    assert imp.surrogate_error_bound(mdp, behaviour, behaviour) == 0.0
    alpha = imp.max_tv_distance(target, behaviour)
    assert 0 < alpha <= 1
    gap = abs(exact.value(mdp, target) - imp.surrogate_value(mdp, target, behaviour))
    assert gap <= imp.surrogate_error_bound(mdp, target, behaviour)
    one_step = FiniteMDP(mdp.initial, mdp.transitions, mdp.rewards, 1)
    # T = 1: the marginals cannot differ, so L = J and the bound is 0.
    assert imp.surrogate_error_bound(one_step, target, behaviour) == 0.0
    assert imp.surrogate_value(one_step, target, behaviour) == pytest.approx(
        exact.value(one_step, target), abs=1e-12)


def test_max_tv_distance_by_hand():
    """Behaviour (1/2, 1/2) in both states, target (3/4, 1/4) and (9/10, 1/10):
    TV = (1/2)(1/4 + 1/4) = 1/4 in state 0 and (1/2)(2/5 + 2/5) = 2/5 in state 1; alpha is
    the larger one, 2/5 (not the sum over states)."""
    behaviour = SoftmaxPolicy(np.zeros((2, 2)))
    target = SoftmaxPolicy([[math.log(3), 0.0], [math.log(9), 0.0]])
    assert imp.max_tv_distance(target, behaviour) == pytest.approx(0.4, rel=1e-12)


def test_surrogate_error_bound_by_hand():
    """4 alpha^2 sum_t gamma^(t-1) (t-1) eps_t on a two-state MDP, T = 4, gamma = 1/2.

    State 0 (reward 0): action 0 stays, action 1 moves to state 1, which absorbs and pays 1
    whatever the action. Behaviour (1/2, 1/2), so A_t(1, .) = 0 and
    A_t(0, a) = -+(gamma/2)(V_{t+1}(1) - V_{t+1}(0)), with V_{t+1}(1) = 1, 3/2, 7/4 and
    V_{t+1}(0) = 0, 1/4, 7/16 for t = 3, 2, 1 (V_5 = 0): eps_t = 21/64, 5/16, 1/4, 0 for
    t = 1..4. Target (3/4, 1/4) in state 0 and (1/2, 1/2) in state 1: alpha = 1/4. The bound is
    4 (1/16) (1/2 * 1 * 5/16 + 1/4 * 2 * 1/4 + 1/8 * 3 * 0) = (1/4)(9/32) = 9/128.
    """
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    mdp = FiniteMDP([1.0, 0.0], P, [[0.0, 0.0], [1.0, 1.0]], 4, discount=0.5)
    behaviour = SoftmaxPolicy(np.zeros((2, 2)))
    target = SoftmaxPolicy([[math.log(3), 0.0], [0.0, 0.0]])
    assert imp.surrogate_error_bound(mdp, target, behaviour) == pytest.approx(9 / 128, rel=1e-12)


# ---------------------------------------------------------------- bad input

def test_bad_input_names_the_argument():
    mdp, target, behaviour = random_case(12)
    batch = mdp.sample(behaviour, 3, np.random.default_rng(0))
    corrupt = Batch(batch.states, batch.actions, batch.rewards,
                    np.where(np.arange(3)[None, :] == 1, -np.inf, batch.log_probs))
    with pytest.raises(ValueError, match="batch.log_probs"):
        imp.per_decision(corrupt, target)
    holes = batch.log_probs.astype(object)
    holes[0, 1] = None                                      # a missing entry in the log
    with pytest.raises(ValueError, match="batch.log_probs: contains non-finite"):
        imp.trajectory_weights(Batch(batch.states, batch.actions, batch.rewards, holes), target)
    # States 0 and 1 logged, the policy knows only state 0: the bound itself is out of range.
    one_past = logged([[0, 1]], [[0, 0]], [[0.0, 0.0]], SoftmaxPolicy(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"batch.states: values must lie in \[0, 1\)"):
        imp.trajectory_weights(one_past, SoftmaxPolicy(np.zeros((1, 3))))
    with pytest.raises(ValueError, match="batch.states"):
        imp.trajectory_weights(batch, SoftmaxPolicy(np.zeros((1, 3))))
    with pytest.raises(ValueError, match="batch.actions"):
        imp.trajectory_weights(batch, SoftmaxPolicy(np.zeros((3, 2))))
    with pytest.raises(ValueError, match="policy"):
        imp.trajectory_weights(batch, target.logits)
    with pytest.raises(ValueError, match="batch"):
        imp.trajectory_weights((batch.states, batch.actions), target)
    with pytest.raises(ValueError, match="^behavior: logits have shape"):
        imp.weight_moments(mdp, target, SoftmaxPolicy(np.zeros((3, 2))))
    with pytest.raises(ValueError, match="^policy: logits have shape"):
        imp.surrogate_value(mdp, SoftmaxPolicy(np.zeros((2, 3))), behaviour)
    with pytest.raises(ValueError, match="mdp"):
        imp.weight_moments("mdp", target, behaviour)
    with pytest.raises(ValueError, match="behavior"):
        imp.per_step_second_moments(target, SoftmaxPolicy(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="behavior"):
        imp.max_tv_distance(target, SoftmaxPolicy(np.zeros((2, 3))))


# ---------------------------------------------------------------- symbolic

def test_symbolic_identity_and_cancellation():
    out = sym.importance_sampling_identity(n=4, missing=(0, 3))
    assert not out["identity_holds"] and out["fails_by_missing_mass"]
    assert sym.importance_sampling_identity(n=1)["identity_holds"]
    one = sym.dynamics_cancel(horizon=1)
    assert one["difference"] == 0 and not one["mentions_dynamics"]
    assert sym.surrogate_first_order(horizon=1)["difference"] == 0


def test_symbolic_bad_input():
    with pytest.raises(ValueError, match="n"):
        sym.importance_sampling_identity(n=0)
    with pytest.raises(ValueError, match="missing"):
        sym.importance_sampling_identity(n=2, missing=(2,))
    with pytest.raises(ValueError, match="horizon"):
        sym.dynamics_cancel(horizon=0)
    with pytest.raises(ValueError, match="horizon"):
        sym.surrogate_first_order(horizon=0)


def test_weight_moments_do_not_overflow_at_long_horizons():
    mdp, target, behaviour = random_case(13, T=2000)
    w = imp.weight_moments(mdp, target, behaviour)
    rate = imp.variance_growth_rate(mdp, target, behaviour)
    assert rate * 2000 > 710                      # E[W^2] is beyond float64 ...
    assert np.isinf(w.second[-1]) and np.all(np.isfinite(w.log_second))
    assert np.diff(w.log_second)[-1] == pytest.approx(rate, rel=1e-9)   # ... its log is not
    np.testing.assert_allclose(w.mean, 1.0, atol=1e-9)
    short = imp.weight_moments(FiniteMDP(mdp.initial, mdp.transitions, mdp.rewards, 50),
                               target, behaviour)
    np.testing.assert_allclose(short.log_second, np.log(short.second), rtol=1e-12)
    np.testing.assert_allclose(short.log_second, w.log_second[:50], rtol=1e-12)
