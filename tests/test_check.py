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


@pytest.mark.slow  # ~6 s: 194,481 estimator calls through the generic path
def test_exact_moments_handle_1e5_tuples():
    # 441 trajectories -> 194,481 pairs: the DESIGN promises at least 10^5 tuples.
    rng = np.random.default_rng(6)
    P = rng.dirichlet([1, 1], size=(2, 3))
    P[0, 0] = [1.0, 0.0]
    mdp = FiniteMDP([1.0, 0.0], P, rng.normal(size=(2, 3)), 4)
    policy = SoftmaxPolicy(rng.normal(size=(2, 3)))
    assert exact.count_trajectories(mdp, policy) == 441
    m = check.exact_moments(reinforce, mdp, policy, batch_size=2)
    assert m.n_tuples == 441 ** 2
    np.testing.assert_allclose(m.mean, exact.policy_gradient(mdp, policy), atol=1e-9)
    single = check.exact_moments(reinforce, mdp, policy, batch_size=1)
    np.testing.assert_allclose(m.cov, single.cov / 2, atol=1e-9)
