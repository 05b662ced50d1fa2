"""check.exact_moments and check.assert_unbiased against independent enumeration."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings

from pgproofs import FiniteMDP, SoftmaxPolicy, check, exact
from pgproofs import strategies as pst

from _brute import brute_force_trajectories


def reinforce(batch, policy):
    """Full-return REINFORCE: mean over trajectories of r(tau) * sum_t grad log pi(a_t|s_t)."""
    ret = batch.rewards @ (batch.discount ** np.arange(batch.horizon))
    return (policy.score_sum(batch.states, batch.actions) * ret[:, None, None]).mean(axis=0)


def sign_flipped(batch, policy):
    return -reinforce(batch, policy)


def direct_moments(estimator, mdp, policy, batch_size):
    """Mean and covariance by looping over batch_size-tuples of brute-force trajectories."""
    from pgproofs import Batch
    trajs = brute_force_trajectories(mdp, policy)
    values, probs = [], []
    for combo in itertools.product(trajs, repeat=batch_size):
        s = np.array([c[0] for c in combo])
        a = np.array([c[1] for c in combo])
        b = Batch(s, a, mdp.rewards[s, a], policy.log_probs[s, a], mdp.discount)
        values.append(estimator(b, policy).ravel())
        probs.append(np.prod([c[2] for c in combo]))
    values, probs = np.array(values), np.array(probs)
    mean = probs @ values
    cov = ((values - mean) * probs[:, None]).T @ (values - mean)
    return mean, cov


@settings(max_examples=30)
@given(pst.mdps_and_policies(horizon=(1, 2)))
def test_exact_moments_match_direct_enumeration(case):
    mdp, policy = case
    for batch_size in (1, 2):
        m = check.exact_moments(reinforce, mdp, policy, batch_size=batch_size)
        mean, cov = direct_moments(reinforce, mdp, policy, batch_size)
        np.testing.assert_allclose(m.mean.ravel(), mean, atol=1e-10)
        np.testing.assert_allclose(m.cov, cov, atol=1e-10)


def test_per_trajectory_fast_path_agrees_with_the_generic_path():
    rng = np.random.default_rng(2)
    mdp = FiniteMDP([0.5, 0.5], rng.dirichlet([1, 1], size=(2, 2)), rng.normal(size=(2, 2)), 3)
    policy = SoftmaxPolicy(rng.normal(size=(2, 2)))

    def fast(batch, pol):
        return reinforce(batch, pol)
    ret = lambda b: b.rewards.sum(axis=1)  # noqa: E731
    fast.per_trajectory = lambda b, pol: pol.score_sum(b.states, b.actions) * ret(b)[:, None, None]
    for n in (1, 2):
        a = check.exact_moments(fast, mdp, policy, batch_size=n)
        b = check.exact_moments(reinforce, mdp, policy, batch_size=n)
        np.testing.assert_allclose(a.mean, b.mean, atol=1e-12)
        np.testing.assert_allclose(a.cov, b.cov, atol=1e-12)


@settings(max_examples=40)
@given(pst.mdps_and_policies())
def test_assert_unbiased_accepts_reinforce_and_rejects_the_sign_flip(case):
    mdp, policy = case
    m = check.assert_unbiased(reinforce, mdp, policy)
    assert m.n_tuples == exact.count_trajectories(mdp, policy)
    if np.max(np.abs(exact.policy_gradient(mdp, policy))) > 1e-9:
        with pytest.raises(AssertionError, match=r"largest bias .* at logits\[\d, \d\]"):
            check.assert_unbiased(sign_flipped, mdp, policy)
    else:  # a zero gradient is its own negative: the flip is unbiased there too
        check.assert_unbiased(sign_flipped, mdp, policy)


def test_off_policy_moments_enumerate_under_the_behaviour_policy():
    rng = np.random.default_rng(4)
    mdp = FiniteMDP([1.0, 0.0], rng.dirichlet([1, 1], size=(2, 2)), rng.normal(size=(2, 2)), 2)
    target, behavior = SoftmaxPolicy(rng.normal(size=(2, 2))), SoftmaxPolicy(np.zeros((2, 2)))

    def weighted_reinforce(batch, policy):
        w = np.exp((policy.log_prob(batch.states, batch.actions) - batch.log_probs).sum(axis=1))
        return (policy.score_sum(batch.states, batch.actions)
                * (w * batch.rewards.sum(axis=1))[:, None, None]).mean(axis=0)
    check.assert_unbiased(weighted_reinforce, mdp, target, behavior=behavior)
    with pytest.raises(AssertionError):  # without the weights the same check rejects it
        check.assert_unbiased(reinforce, mdp, target, behavior=behavior)


def test_bad_arguments_raise_value_errors():
    mdp = FiniteMDP(np.full(3, 1 / 3), np.full((3, 3, 3), 1 / 3), np.ones((3, 3)), 4)
    policy = SoftmaxPolicy(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"6561 trajectories give 43046721 batches of batch_size=2"):
        check.exact_moments(reinforce, mdp, policy, batch_size=2)
    with pytest.raises(ValueError, match="batch_size: must be a positive integer"):
        check.exact_moments(reinforce, mdp, policy, batch_size=0)
    with pytest.raises(ValueError, match="behavior: logits have shape"):
        check.exact_moments(reinforce, mdp, policy, behavior=SoftmaxPolicy(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"estimator: returned shape \(3,\)"):
        check.exact_moments(lambda b, p: np.zeros(3), mdp, policy)
    with pytest.raises(ValueError, match="estimator: returned non-finite"):
        check.exact_moments(lambda b, p: np.full((3, 3), np.nan), mdp, policy)
    with pytest.raises(ValueError, match="atol: must be >= 0"):
        check.assert_unbiased(reinforce, mdp, policy, atol=-1.0)


@pytest.mark.slow  # ~9 s: 102,400 estimator calls through the generic path
def test_exact_moments_handle_1e5_tuples():
    # 320 trajectories -> 102,400 pairs: the DESIGN promises at least 10^5 tuples.
    rng = np.random.default_rng(6)
    P = rng.dirichlet([1, 1, 1], size=(3, 4))
    P[0, 0] = P[0, 1] = [1.0, 0.0, 0.0]
    mdp = FiniteMDP([1.0, 0.0, 0.0], P, rng.normal(size=(3, 4)), 3)
    policy = SoftmaxPolicy(rng.normal(size=(3, 4)))
    assert exact.count_trajectories(mdp, policy) == 320
    m = check.exact_moments(reinforce, mdp, policy, batch_size=2)
    assert m.n_tuples == 320 ** 2 >= 10 ** 5
    np.testing.assert_allclose(m.mean, exact.policy_gradient(mdp, policy), atol=1e-9)
    single = check.exact_moments(reinforce, mdp, policy, batch_size=1)
    np.testing.assert_allclose(m.cov, single.cov / 2, atol=1e-9)


def _single_path():
    """One action per state and deterministic moves: one trajectory, of probability exactly 1.

    The softmax of a single logit is exactly 1 and its score exactly 0, so the
    exact gradient is exactly 0 and an estimator's mean is exactly its value:
    the tests below can put a bias of an exact size on a chosen logit.
    """
    mdp = FiniteMDP([1.0, 0.0], [[[0.0, 1.0]], [[1.0, 0.0]]], [[1.0], [2.0]], 2)
    return mdp, SoftmaxPolicy(np.zeros((2, 1)))


def _biased(bias):
    def estimator(batch, policy):
        return reinforce(batch, policy) + np.asarray(bias)
    return estimator


def test_assert_unbiased_names_the_most_biased_logit_and_its_size():
    mdp, policy = _single_path()
    # bias 0.125 on logits[0, 0], 0.25 on logits[1, 0]: the message must name the larger
    with pytest.raises(AssertionError, match=r"largest bias \+0\.25 at logits\[1, 0\] "
                                             r"\(state 1, action 0\)"):
        check.assert_unbiased(_biased([[0.125], [0.25]]), mdp, policy)
    with pytest.raises(AssertionError, match=r"largest bias -0\.5 at logits\[0, 0\]"):
        check.assert_unbiased(_biased([[-0.5], [0.25]]), mdp, policy)


def test_assert_unbiased_tolerance_is_inclusive_and_may_be_zero():
    mdp, policy = _single_path()
    check.assert_unbiased(_biased([[0.0], [0.0]]), mdp, policy, atol=0.0)  # exact equality
    check.assert_unbiased(_biased([[0.125], [0.25]]), mdp, policy, atol=0.25)  # |bias| <= atol
    with pytest.raises(AssertionError, match=r"largest bias \+0\.25 .* atol 0\.2499"):
        check.assert_unbiased(_biased([[0.125], [0.25]]), mdp, policy, atol=0.2499)
    with pytest.raises(AssertionError, match=r"largest bias \+1e-12 .* atol 0\b"):
        check.assert_unbiased(_biased([[0.0], [1e-12]]), mdp, policy, atol=0.0)


def test_compare_variance_entry_point_passes_its_options_on():
    from pgproofs import estimators
    rng = np.random.default_rng(3)
    mdp = FiniteMDP([1.0, 0.0], rng.dirichlet([1, 1], size=(2, 2)), rng.normal(size=(2, 2)), 2)
    policy = SoftmaxPolicy(rng.normal(size=(2, 2)))
    n = exact.count_trajectories(mdp, policy)
    res = check.compare_variance(estimators.reinforce, estimators.reward_to_go, mdp, policy,
                                 batch_size=2)
    assert (res.method, res.n) == ("exact", n ** 2)
    for got, est in ((res.var_a, estimators.reinforce), (res.var_b, estimators.reward_to_go)):
        np.testing.assert_allclose(
            got, check.exact_moments(est, mdp, policy, batch_size=2).total_variance, rtol=1e-12)


def test_exact_moments_take_any_array_of_numbers_as_an_estimate():
    # an exact-arithmetic estimator (a nested list of Fractions) is read as float64
    from fractions import Fraction
    mdp, policy = _single_path()

    def fractions(batch, policy):
        return [[Fraction(1, 3)], [Fraction(-1, 4)]]
    m = check.exact_moments(fractions, mdp, policy)
    np.testing.assert_array_equal(m.mean, [[1 / 3], [-1 / 4]])
    np.testing.assert_array_equal(m.cov, np.zeros((2, 2)))
