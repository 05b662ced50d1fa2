"""EpisodicMDP validation and the exact discounted V, Q, A (issue 13).

The linear solve of ``exact.discounted_values`` is cross-checked against two
independent computations: a fixed-horizon dynamic programme run long enough
that the discounted tail is below 1e-12, and the expected first-episode
return over every enumerated rollout buffer.
"""

import numpy as np
import pytest

from pgproofs import EpisodicMDP, SoftmaxPolicy, exact, rollouts
from _episodic import branching_mdp, branching_policy, random_episodic

GOOD = dict(initial=[0.5, 0.5, 0.0], transitions=np.full((3, 2, 3), 1 / 3),
            rewards=np.zeros((3, 2)), terminal=[False, False, True], discount=0.9, time_limit=3)


def _with(**change):
    return {**GOOD, **change}


@pytest.mark.parametrize("change, match", [
    (dict(initial=[0.5, np.nan, 0.0]), "initial: contains non-finite"),
    (dict(initial=[1.5, -0.5, 0.0]), "initial: negative probability"),
    (dict(initial=[0.5, 0.4, 0.0]), "initial: probabilities sum to"),
    (dict(initial=[0.5, 0.0, 0.5]), "initial: puts probability 0.5 on terminal state 2"),
    (dict(initial=[[0.5, 0.5, 0.0]]), r"initial: expected a non-empty \(S,\) array"),
    (dict(transitions=np.full((3, 2, 2), 0.5)), r"transitions: expected shape \(S, A, S\)"),
    (dict(transitions=np.full((3, 2, 3), 0.3)), "transitions: probabilities sum to"),
    (dict(transitions=np.where(np.eye(3)[None, None, 0] > 0, -1.0, 1.0) * np.ones((3, 2, 3))),
     "transitions: negative probability"),
    (dict(rewards=np.zeros((3, 3))), r"rewards: expected shape \(S, A\)"),
    (dict(rewards=np.full((3, 2), np.inf)), "rewards: contains non-finite"),
    (dict(terminal=[False, True]), r"terminal: expected shape \(S,\)"),
    (dict(terminal=[0, 0, 1]), "terminal: expected a bool mask, got dtype int"),
    (dict(terminal=[0.0, 0.0, 1.0]), "terminal: expected a bool mask, got dtype float"),
    (dict(discount=1.0), r"discount: must lie in \[0, 1\)"),
    (dict(discount=-0.1), r"discount: must lie in \[0, 1\)"),
    (dict(discount=float("nan")), r"discount: must lie in \[0, 1\)"),
    (dict(discount=True), "discount: must be a number"),
    (dict(time_limit=0), "time_limit: must be >= 1"),
    (dict(time_limit=2.0), "time_limit: must be an integer"),
])
def test_bad_input_is_refused_naming_the_field(change, match):
    EpisodicMDP(**GOOD)  # the unchanged input is accepted, so each refusal is the change's
    with pytest.raises(ValueError, match=match):
        EpisodicMDP(**_with(**change))


def test_arrays_are_copied_and_read_only():
    p0 = np.array([0.5, 0.5, 0.0])
    term = np.array([False, False, True])
    mdp = EpisodicMDP(**_with(initial=p0, terminal=term))
    p0[0], term[2] = 0.0, False
    assert mdp.initial[0] == 0.5 and mdp.terminal[2]
    for name in ("initial", "transitions", "rewards", "terminal"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(mdp, name)[0] = 0


def fixed_horizon_values(mdp, policy, horizon):
    """V_H(s): expected discounted reward of the first H steps (plain loop, independent of the solve)."""
    S, A = mdp.n_states, mdp.n_actions
    v = np.zeros(S)
    for _ in range(horizon):
        new = np.zeros(S)
        for s in range(S):
            if mdp.terminal[s]:
                continue
            for a in range(A):
                future = sum(mdp.transitions[s, a, x] * v[x] for x in range(S))
                new[s] += policy.probs[s, a] * (mdp.rewards[s, a] + mdp.discount * future)
        v = new
    return v


def check_values_against_long_dp(values_fn, mdp, policy):
    """values_fn(mdp, policy) equals the fixed-horizon DP within its tail bound gamma^H max|r| / (1 - gamma)."""
    gamma = mdp.discount
    horizon = int(np.ceil(np.log(1e-13) / np.log(gamma)))
    tail = gamma ** horizon * np.abs(mdp.rewards).max() / (1 - gamma)
    gap = np.abs(values_fn(mdp, policy) - fixed_horizon_values(mdp, policy, horizon)).max()
    assert gap <= tail + 1e-12, f"values differ from the long-horizon DP by {gap:.3g} (tail {tail:.3g})"


def unmasked_values(mdp, policy):
    """Control: Bellman equation solved over all states, terminal ones included."""
    p_pi = np.einsum("sa,sax->sx", policy.probs, mdp.transitions)
    r_pi = (policy.probs * mdp.rewards).sum(axis=1)
    return np.linalg.solve(np.eye(mdp.n_states) - mdp.discount * p_pi, r_pi)


@pytest.mark.parametrize("seed", range(4))
def test_discounted_values_equal_a_long_horizon_dynamic_programme(seed):
    mdp, policy = random_episodic(seed, n_states=4, n_terminal=seed % 3, discount=0.8)
    check_values_against_long_dp(exact.discounted_values, mdp, policy)


def test_values_that_do_not_stop_at_terminal_states_are_rejected():
    mdp, policy = random_episodic(0, n_states=4, n_terminal=1, discount=0.8)
    # terminal rows of P lead back to live states and pay rewards, so not masking them shows
    with pytest.raises(AssertionError, match="values differ from the long-horizon DP"):
        check_values_against_long_dp(unmasked_values, mdp, policy)


def test_q_and_advantages_follow_from_values():
    mdp, policy = random_episodic(3, n_states=5, n_terminal=2)
    v, q, a = (exact.discounted_values(mdp, policy), exact.q_values(mdp, policy),
               exact.advantages(mdp, policy))
    live = ~mdp.terminal
    assert np.all(v[mdp.terminal] == 0) and np.all(q[mdp.terminal] == 0) and np.all(a[mdp.terminal] == 0)
    # Bellman: V = sum_a pi Q on live states; Q = r + gamma P V; sum_a pi A = 0
    np.testing.assert_allclose((policy.probs * q).sum(axis=1)[live], v[live], atol=1e-12)
    np.testing.assert_allclose(q[live], (mdp.rewards + mdp.discount * mdp.transitions @ v)[live],
                               atol=1e-12)
    np.testing.assert_allclose((policy.probs * a).sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(a[live], (q - v[:, None])[live], atol=1e-12)


def first_episode_returns(bufs: rollouts.Buffers, gamma: float) -> np.ndarray:
    """sum_t gamma^t r_t over env 0's first episode in each enumerated buffer, (N,)."""
    ended_before = np.cumsum(bufs.terminated[:, :, 0] | bufs.truncated[:, :, 0], axis=1)
    in_first = np.concatenate([np.zeros((len(bufs), 1), int), ended_before[:, :-1]], axis=1) == 0
    weights = gamma ** np.arange(bufs.obs.shape[1])
    return (bufs.rewards[:, :, 0] * in_first) @ weights


def test_values_and_q_equal_the_enumerated_return_when_episodes_always_end_in_time():
    # a ladder: 0 -> 1 -> 2 -> terminal 3, each action climbing one or two rungs,
    # so every episode terminates within 3 steps and the first-episode return of
    # a 3-step buffer is the whole infinite-horizon return
    P = np.zeros((4, 2, 4))
    P[0, 0, [1, 2]] = [0.7, 0.3]
    P[0, 1, [2, 3]] = [0.5, 0.5]
    P[1, 0, [2, 3]] = [0.6, 0.4]
    P[1, 1, 3] = 1.0
    P[2, :, 3] = 1.0
    P[3, :, 3] = 1.0
    R = np.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 2.0], [0.0, 0.0]])
    policy = SoftmaxPolicy([[0.3, -0.6], [0.1, 0.2], [-0.4, 0.9], [0.0, 0.0]])
    for start in (0, 1, 2):
        p0 = np.eye(4)[start]
        mdp = EpisodicMDP(p0, P, R, [False, False, False, True], discount=0.7, time_limit=5)
        bufs = rollouts.enumerate_all(mdp, policy, n_steps=3, n_envs=1)
        g = first_episode_returns(bufs, mdp.discount)
        v = exact.discounted_values(mdp, policy)
        assert abs(bufs.probs @ g - v[start]) < 1e-12
        q = exact.q_values(mdp, policy)
        for a in range(2):
            took = bufs.actions[:, 0, 0] == a
            cond = (bufs.probs[took] @ g[took]) / bufs.probs[took].sum()
            assert abs(cond - q[start, a]) < 1e-12


def test_enumerated_first_episode_return_equals_the_fixed_horizon_value():
    # cycles and a terminal state: the enumerated H-step return is V_H exactly,
    # and V_H approaches the solve as gamma^H
    mdp, policy = branching_mdp(time_limit=6, discount=0.5), branching_policy()
    bufs = rollouts.enumerate_all(mdp, policy, n_steps=6, n_envs=1)
    expected = mdp.initial @ fixed_horizon_values(mdp, policy, 6)
    assert abs(bufs.probs @ first_episode_returns(bufs, mdp.discount) - expected) < 1e-12
    tail = 0.5 ** 6 * np.abs(mdp.rewards).max() / 0.5
    assert abs(expected - mdp.initial @ exact.discounted_values(mdp, policy)) <= tail


def test_exact_quantities_refuse_a_finite_horizon_mdp():
    from pgproofs import FiniteMDP
    fin = FiniteMDP([1.0], [[[1.0]]], [[0.0]], horizon=2)
    with pytest.raises(ValueError, match="mdp: expected an EpisodicMDP"):
        exact.discounted_values(fin, SoftmaxPolicy([[0.0]]))
