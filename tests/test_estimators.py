"""Unit tests of pgproofs.estimators against hand-derived numbers and plain-loop references."""

from fractions import Fraction

import numpy as np
import pytest

from pgproofs import SoftmaxPolicy
from pgproofs import estimators as est
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.strategies import random_mdp, random_policy


def loop_score(policy, s, a):
    """grad_logits log pi(a|s) written out: row s is onehot(a) - pi(.|s)."""
    g = np.zeros(policy.logits.shape)
    g[s] = -policy.probs[s]
    g[s, a] += 1.0
    return g


def loop_estimates(batch, policy, kind, baseline=None):
    """Per-trajectory estimates with explicit loops over t and t' (independent of the library)."""
    n, T = batch.states.shape
    gam = batch.discount
    out = np.zeros((n,) + policy.logits.shape)
    for i in range(n):
        s, a, r = batch.states[i], batch.actions[i], batch.rewards[i]
        R = sum(gam ** t * r[t] for t in range(T))
        for t in range(T):
            psi = loop_score(policy, s[t], a[t])
            if kind == "full":
                out[i] += psi * R
            elif kind == "to_go":
                rtg = sum(gam ** (u - t) * r[u] for u in range(t, T))
                b = 0.0 if baseline is None else baseline[t, s[t]]
                out[i] += gam ** t * psi * (rtg - b)
            elif kind == "off_by_one":
                out[i] += gam ** t * psi * sum(gam ** (u - t) * r[u] for u in range(t + 1, T))
            elif kind == "grad_pi":
                out[i] += policy.probs[s[t], a[t]] * psi * R
    return out


def loop_trajectory_scores(batch, policy):
    """G(tau) = sum_t grad log pi(a_t|s_t) per trajectory, by loops."""
    return np.array([sum(loop_score(policy, s, a) for s, a in zip(S_, A_))
                     for S_, A_ in zip(batch.states, batch.actions)])


def random_case(seed, S=3, A=2, T=4, discount=1.0, n=7):
    rng = np.random.default_rng(seed)
    mdp = random_mdp(rng, S, A, T, discount=discount)
    policy = random_policy(rng, S, A)
    return mdp, policy, mdp.sample(policy, n, rng)


def two_armed_bandit():
    """One state, T = 1, rewards r = (4, 8), pi = (3/4, 1/4) (logits (log 3, 0))."""
    mdp = FiniteMDP([1.0], [[[1.0], [1.0]]], [[4.0, 8.0]], horizon=1)
    return mdp, SoftmaxPolicy([[np.log(3.0), 0.0]])


def one_step_batch(actions, rewards, policy):
    """n trajectories of length 1 in state 0, with the given actions and rewards."""
    a = np.array(actions)[:, None]
    return Batch(np.zeros_like(a), a, np.array(rewards, dtype=float)[:, None],
                 np.log(policy.probs[0, a]))


def test_reinforce_on_a_one_step_bandit_matches_the_hand_computation():
    # Two actions, equal logits: pi = (1/2, 1/2). Taking action 0 with reward 3 gives
    # score (1 - 1/2, 0 - 1/2) = (1/2, -1/2), times the return 3: (3/2, -3/2).
    policy = SoftmaxPolicy([[0.0, 0.0]])
    batch = Batch(np.array([[0]]), np.array([[0]]), np.array([[3.0]]), np.log([[0.5]]))
    np.testing.assert_allclose(est.reinforce(batch, policy), [[1.5, -1.5]])
    # Reward-to-go coincides with REINFORCE when T = 1.
    np.testing.assert_allclose(est.reward_to_go(batch, policy), [[1.5, -1.5]])


def test_every_public_estimator_is_named_after_its_export():
    """The name is user-visible (evidence, error messages, reports) and is also the repr.

    Every estimator exported in __all__ (the objects, and what the factories return) is
    named exactly as exported; the reward-to-go form of a constant baseline names its b
    (formatted with :g).
    """
    mdp, policy = two_armed_bandit()
    built = {
        "action_baseline": est.action_baseline(np.zeros((1, 1, 2))),
        "batch_mean_baseline": est.batch_mean_baseline,
        "constant_baseline": est.constant_baseline(0.5),
        "grad_pi_reinforce": est.grad_pi_reinforce,
        "leave_one_out_baseline": est.leave_one_out_baseline,
        "optimal_baseline": est.optimal_baseline(mdp, policy),
        "reinforce": est.reinforce,
        "reward_to_go": est.reward_to_go,
        "reward_to_go_off_by_one": est.reward_to_go_off_by_one,
        "state_baseline": est.state_baseline(np.zeros((1, 1))),
        "state_value_baseline": est.state_value_baseline(mdp, policy),
    }
    assert set(built) == set(est.__all__) - {"Estimator", "PerTrajectoryEstimator"}
    for expected, estimator in built.items():
        assert (estimator.name, repr(estimator)) == (expected, expected)
    assert est.constant_baseline(0.5, to_go=True).name == "reward_to_go - 0.5"
    assert est.constant_baseline(2, to_go=True).name == "reward_to_go - 2"
    assert est.Estimator.name == "estimator"


def test_bare_full_return_and_to_go_are_reinforce_and_reward_to_go():
    """FullReturn() defaults to b = 0 and the name "reinforce"; ToGo() to no baseline, r_t
    included, and the name "reward_to_go". On the bandit (pi = (3/4, 1/4), T = 1) action 0
    with reward 4 scores (1/4, -1/4) 4 = (1, -1) under both.
    """
    _, policy = two_armed_bandit()
    batch = one_step_batch([0], [4.0], policy)
    for bare, name in [(est.FullReturn(), "reinforce"), (est.ToGo(), "reward_to_go")]:
        assert bare.name == name
        np.testing.assert_allclose(bare(batch, policy), [[1.0, -1.0]], atol=1e-12)


def test_discounted_to_go_weights_each_step_by_its_discounted_reward_to_go():
    """Rewards (1, 2), gamma = 1/2: gamma^(t-1) Rhat_t = (1 + 2/2, (1/2) 2) = (2, 1) (the
    default includes r_t); without r_t, t' > t leaves (2/2, 0) = (1, 0).
    """
    batch = Batch(np.array([[0, 0]]), np.array([[0, 0]]), np.array([[1.0, 2.0]]),
                  np.log([[0.5, 0.5]]), discount=0.5)
    np.testing.assert_allclose(est.discounted_to_go(batch), [[2.0, 1.0]])
    np.testing.assert_allclose(est.discounted_to_go(batch, include_current=True), [[2.0, 1.0]])
    np.testing.assert_allclose(est.discounted_to_go(batch, include_current=False), [[1.0, 0.0]])


@pytest.mark.parametrize("discount", [1.0, 0.8])
def test_per_trajectory_terms_match_plain_loops(discount):
    mdp, policy, batch = random_case(1, discount=discount)
    values = np.random.default_rng(2).normal(size=(mdp.horizon, mdp.n_states))
    cases = [(est.reinforce, "full", None), (est.reward_to_go, "to_go", None),
             (est.state_baseline(values), "to_go", values),
             (est.reward_to_go_off_by_one, "off_by_one", None),
             (est.grad_pi_reinforce, "grad_pi", None)]
    for estimator, kind, baseline in cases:
        expected = loop_estimates(batch, policy, kind, baseline)
        np.testing.assert_allclose(estimator.per_trajectory(batch, policy), expected,
                                   atol=1e-12, err_msg=estimator.name)
        np.testing.assert_allclose(estimator(batch, policy), expected.mean(axis=0), atol=1e-12)


def test_constant_baselines_subtract_b_times_the_score():
    mdp, policy, batch = random_case(3, discount=0.9)
    full = loop_estimates(batch, policy, "full")
    G = loop_trajectory_scores(batch, policy)
    b = np.random.default_rng(4).normal(size=policy.logits.shape)
    np.testing.assert_allclose(est.constant_baseline(0.5)(batch, policy),
                               (full - 0.5 * G).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(est.constant_baseline(b)(batch, policy),
                               (full - b[None] * G).mean(axis=0), atol=1e-12)


def test_constant_baseline_takes_any_real_number_type():
    """b = Fraction(1, 2) is the number 1/2: on the bandit (pi = (3/4, 1/4)) action 0 with
    reward 4 scores (1/4, -1/4)(4 - 1/2) = (7/8, -7/8), exactly as b = 0.5 does.
    """
    _, policy = two_armed_bandit()
    batch = one_step_batch([0], [4.0], policy)
    for b in (Fraction(1, 2), 0.5):
        np.testing.assert_allclose(est.constant_baseline(b)(batch, policy), [[0.875, -0.875]],
                                   atol=1e-12)


def test_constant_baseline_to_go_subtracts_the_discounted_b_on_a_hand_made_batch():
    """One trajectory in state 0 taking action 0 twice, rewards (1, 2), gamma = 1/2, pi = (1/2, 1/2).

    Both scores are psi = (1/2, -1/2); Rhat_1 = 1 + 2/2 = 2 and Rhat_2 = 2. With b = 1/2:
    sum_t gamma^(t-1) psi (Rhat_t - b) = psi ((2 - 1/2) + (2 - 1/2)/2) = psi 9/4 = (9/8, -9/8).
    Plain reward-to-go (b = 0) gives psi 3 = (3/2, -3/2); forgetting the discount on b would
    give psi ((2 - 1/2) + (2/2 - 1/2)) = psi 2 = (1, -1).
    """
    policy = SoftmaxPolicy([[0.0, 0.0]])
    batch = Batch(np.array([[0, 0]]), np.array([[0, 0]]), np.array([[1.0, 2.0]]),
                  np.log([[0.5, 0.5]]), discount=0.5)
    estimator = est.constant_baseline(0.5, to_go=True)
    np.testing.assert_allclose(estimator.per_trajectory(batch, policy), [[[1.125, -1.125]]])
    np.testing.assert_allclose(estimator(batch, policy), [[1.125, -1.125]])
    np.testing.assert_allclose(est.reward_to_go(batch, policy), [[1.5, -1.5]])


def test_constant_baseline_to_go_takes_any_real_number_type():
    """The reward-to-go form reads b = Fraction(1, 2) as 1/2 too (same batch as above: (9/8, -9/8))."""
    policy = SoftmaxPolicy([[0.0, 0.0]])
    batch = Batch(np.array([[0, 0]]), np.array([[0, 0]]), np.array([[1.0, 2.0]]),
                  np.log([[0.5, 0.5]]), discount=0.5)
    estimator = est.constant_baseline(Fraction(1, 2), to_go=True)
    np.testing.assert_allclose(estimator(batch, policy), [[1.125, -1.125]])
    assert estimator.name == "reward_to_go - 0.5"


def test_baseline_tables_are_copied_and_must_be_numbers():
    """An estimator keeps its own float64 copy of a baseline table: editing the caller's
    array afterwards (float or integer) changes nothing. One state, two actions, T = 1,
    pi = (1/2, 1/2), action 0 with reward 3: psi = (1/2, -1/2), so b = 1 gives
    psi (3 - 1) = (1, -1) for the state, action and full-return baselines alike."""
    policy = SoftmaxPolicy([[0.0, 0.0]])
    batch = Batch(np.array([[0]]), np.array([[0]]), np.array([[3.0]]), np.log([[0.5]]))
    for dtype in (np.float64, np.int64):
        tables = {est.state_baseline: np.ones((1, 1), dtype=dtype),
                  est.action_baseline: np.ones((1, 1, 2), dtype=dtype),
                  est.constant_baseline: np.ones((1, 2), dtype=dtype)}
        for make, table in tables.items():
            estimator = make(table)
            table[...] = 2   # the caller's later edit
            np.testing.assert_allclose(estimator(batch, policy), [[1.0, -1.0]],
                                       err_msg=f"{make.__name__}, {dtype.__name__} table")
    for make, name in ((est.state_baseline, "values"), (est.action_baseline, "values"),
                       (est.constant_baseline, "baseline"),
                       (lambda b: est.constant_baseline(b, to_go=True), "b")):
        with pytest.raises(ValueError, match=f"^{name}: expected numbers, got "):
            make([["a"]] if name != "b" else "a")


def test_optimal_baseline_makes_the_two_armed_bandit_estimate_deterministic():
    """Bandit r = (4, 8), pi = (3/4, 1/4), p = 3/4. G = onehot(a) - pi, so G_0^2 = G_1^2 is
    (1/4)^2 after action 0 and (3/4)^2 after action 1: E[G_k^2] = 3/4 1/16 + 1/4 9/16 = 3/16,
    E[G_k^2 R] = 3/4 1/16 4 + 1/4 9/16 8 = 21/16, b*_k = 7 for both logits.
    Action 0: G (R - b*) = (1/4, -1/4)(4 - 7) = (-3/4, 3/4); action 1: (-3/4, 3/4)(8 - 7), the
    same. So the estimate is the constant (-3/4, 3/4) = p (1 - p)(r0 - r1)(1, -1), the exact
    gradient, with zero covariance. (Without the baseline action 0 would give (1, -1).)
    """
    mdp, policy = two_armed_bandit()
    estimator = est.optimal_baseline(mdp, policy)
    batch = one_step_batch([0, 1], [4.0, 8.0], policy)
    np.testing.assert_allclose(estimator.per_trajectory(batch, policy),
                               [[[-0.75, 0.75]], [[-0.75, 0.75]]], atol=1e-12)
    m = estimator.exact_moments(mdp, policy)
    np.testing.assert_allclose(m.mean, [[-0.75, 0.75]], atol=1e-12)
    np.testing.assert_allclose(m.cov, np.zeros((2, 2)), atol=1e-12)


def test_batch_mean_and_leave_one_out_baselines_match_their_definitions():
    mdp, policy, batch = random_case(5, discount=0.9, n=5)
    full = loop_estimates(batch, policy, "full")
    G = loop_trajectory_scores(batch, policy)
    R = (batch.rewards * 0.9 ** np.arange(4)).sum(axis=1)
    n = len(R)
    mean_b = np.full(n, R.mean())
    loo_b = np.array([np.delete(R, i).mean() for i in range(n)])
    np.testing.assert_allclose(est.batch_mean_baseline(batch, policy),
                               (full - mean_b[:, None, None] * G).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(est.leave_one_out_baseline(batch, policy),
                               (full - loo_b[:, None, None] * G).mean(axis=0), atol=1e-12)
    # Only per-trajectory estimators advertise the vectorised fast path.
    assert not hasattr(est.batch_mean_baseline, "per_trajectory")
    assert not hasattr(est.leave_one_out_baseline, "per_trajectory")


def test_batch_baseline_exact_moments_default_to_one_trajectory():
    """With one trajectory the batch mean is that trajectory's own return, so G (R - R) = 0:
    mean and covariance exactly zero. With two, E = (N-1)/N grad = (-3/8, 3/8) on the bandit
    (gradient p (1 - p)(r0 - r1)(1, -1) = (-3/4, 3/4)). Leave-one-out needs N >= 2, so its
    default batch of one is refused.
    """
    mdp, policy = two_armed_bandit()
    default = est.batch_mean_baseline.exact_moments(mdp, policy)
    one = est.batch_mean_baseline.exact_moments(mdp, policy, batch_size=1)
    for m in (default, one):
        np.testing.assert_allclose(m.mean, np.zeros((1, 2)), atol=1e-12)
        np.testing.assert_allclose(m.cov, np.zeros((2, 2)), atol=1e-12)
    np.testing.assert_allclose(est.batch_mean_baseline.exact_moments(mdp, policy, 2).mean,
                               [[-0.375, 0.375]], atol=1e-12)
    with pytest.raises(ValueError, match="batch_size: the leave-one-out baseline needs"):
        est.leave_one_out_baseline.exact_moments(mdp, policy)


def test_per_trajectory_exact_moments_divide_the_covariance_by_the_batch_size():
    """REINFORCE on the bandit: action 0 (prob 3/4) gives (1/4, -1/4) 4 = (1, -1), action 1
    gives (-3/4, 3/4) 8 = (-6, 6). Mean (3/4 - 6/4)(1, -1) = (-3/4, 3/4); variance of each
    component 3/4 + 36/4 - 9/16 = 147/16, the two components perfectly anti-correlated.
    The default batch is one trajectory; a batch of 4 divides the covariance by 4.
    """
    mdp, policy = two_armed_bandit()
    v = 147 / 16 * np.array([[1.0, -1.0], [-1.0, 1.0]])
    for m, scale in [(est.reinforce.exact_moments(mdp, policy), 1),
                     (est.reinforce.exact_moments(mdp, policy, 1), 1),
                     (est.reinforce.exact_moments(mdp, policy, 4), 4)]:
        np.testing.assert_allclose(m.mean, [[-0.75, 0.75]], atol=1e-12)
        np.testing.assert_allclose(m.cov, v / scale, atol=1e-12)
    for bad in (True, 2.5, 0):
        with pytest.raises(ValueError, match="batch_size: must be a positive integer"):
            est.reinforce.exact_moments(mdp, policy, bad)


def test_action_baseline_subtracts_b_of_state_and_action():
    mdp, policy, batch = random_case(6)
    q = np.random.default_rng(7).normal(size=(4, 3, 2))
    got = est.action_baseline(q).per_trajectory(batch, policy)
    expected = loop_estimates(batch, policy, "to_go")
    for i in range(len(batch)):
        for t in range(4):
            s, a = batch.states[i, t], batch.actions[i, t]
            expected[i] -= loop_score(policy, s, a) * q[t, s, a]
    np.testing.assert_allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize("state, action", [(1, 0), (0, 2), (-1, 0), (0, -1)])
def test_a_state_or_action_outside_the_policy_table_is_refused(state, action):
    """The bandit policy has (S, A) = (1, 2): valid states are {0}, valid actions {0, 1}. Each
    case puts exactly one index out of range (the first one past the end, or -1)."""
    _, policy = two_armed_bandit()
    batch = Batch(np.array([[0, state]]), np.array([[1, action]]), np.ones((1, 2)),
                  np.zeros((1, 2)))
    msg = r"^batch: states/actions out of range for a policy with \(S, A\) = \(1, 2\)$"
    for estimator in (est.reinforce, est.reward_to_go, est.batch_mean_baseline):
        with pytest.raises(ValueError, match=msg):
            estimator(batch, policy)


def test_bad_input_raises_value_error_naming_the_argument():
    mdp, policy, batch = random_case(8, n=1)
    with pytest.raises(ValueError, match="leave-one-out"):
        est.leave_one_out_baseline(batch, policy)
    with pytest.raises(ValueError, match="baseline"):
        est.constant_baseline(np.ones(3))
    with pytest.raises(ValueError, match="baseline"):
        est.constant_baseline(np.ones((2, 2)))(batch, policy)
    with pytest.raises(ValueError, match=r"^values: expected shape \(4, 3\), got \(4, 5\)$"):
        est.state_baseline(np.ones((4, 5)))(batch, policy)
    with pytest.raises(ValueError, match=r"^values: expected shape \(4, 3, 2\), got \(4, 3, 5\)$"):
        est.action_baseline(np.ones((4, 3, 5)))(batch, policy)
    with pytest.raises(ValueError, match="values"):
        est.action_baseline(np.ones((4, 3)))
    with pytest.raises(ValueError, match="batch"):
        est.reinforce(batch, SoftmaxPolicy(np.zeros((1, 1))))
    with pytest.raises(ValueError, match="non-finite"):
        est.constant_baseline(np.nan)
    with pytest.raises(ValueError, match="b: the reward-to-go form"):
        est.constant_baseline(np.ones((3, 2)), to_go=True)
