"""Unit tests of pgproofs.estimators against hand-derived numbers and plain-loop references."""

import numpy as np
import pytest

from pgproofs import SoftmaxPolicy
from pgproofs import estimators as est
from pgproofs.mdp import Batch
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


def test_reinforce_on_a_one_step_bandit_matches_the_hand_computation():
    # Two actions, equal logits: pi = (1/2, 1/2). Taking action 0 with reward 3 gives
    # score (1 - 1/2, 0 - 1/2) = (1/2, -1/2), times the return 3: (3/2, -3/2).
    policy = SoftmaxPolicy([[0.0, 0.0]])
    batch = Batch(np.array([[0]]), np.array([[0]]), np.array([[3.0]]), np.log([[0.5]]))
    np.testing.assert_allclose(est.reinforce(batch, policy), [[1.5, -1.5]])
    # Reward-to-go coincides with REINFORCE when T = 1.
    np.testing.assert_allclose(est.reward_to_go(batch, policy), [[1.5, -1.5]])


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


def test_bad_input_raises_value_error_naming_the_argument():
    mdp, policy, batch = random_case(8, n=1)
    with pytest.raises(ValueError, match="leave-one-out"):
        est.leave_one_out_baseline(batch, policy)
    with pytest.raises(ValueError, match="baseline"):
        est.constant_baseline(np.ones(3))
    with pytest.raises(ValueError, match="baseline"):
        est.constant_baseline(np.ones((2, 2)))(batch, policy)
    with pytest.raises(ValueError, match="values"):
        est.state_baseline(np.ones((4, 5)))(batch, policy)
    with pytest.raises(ValueError, match="values"):
        est.action_baseline(np.ones((4, 3)))
    with pytest.raises(ValueError, match="batch"):
        est.reinforce(batch, SoftmaxPolicy(np.zeros((1, 1))))
    with pytest.raises(ValueError, match="non-finite"):
        est.constant_baseline(np.nan)
    with pytest.raises(ValueError, match="b: the reward-to-go form"):
        est.constant_baseline(np.ones((3, 2)), to_go=True)
