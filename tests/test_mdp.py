"""FiniteMDP, SoftmaxPolicy and Batch: validation and basic invariants."""

import numpy as np
import pytest

from pgproofs import Batch, FiniteMDP, SoftmaxPolicy


def good():
    return dict(initial=[0.5, 0.5],
                transitions=[[[1.0, 0.0], [0.2, 0.8]], [[0.0, 1.0], [0.5, 0.5]]],
                rewards=[[1.0, 0.0], [0.0, 2.0]], horizon=3)


@pytest.mark.parametrize("field, value, message", [
    ("initial", [0.5, np.nan], "initial: contains non-finite"),
    ("initial", [1.5, -0.5], "initial: negative probability"),
    ("initial", [0.5, 0.4], "initial: probabilities sum to"),
    ("initial", [[0.5, 0.5]], "initial: expected a non-empty (S,)"),
    ("transitions", [[[1.0, 0.0], [0.2, 0.8]], [[0.0, 1.0], [0.5, np.inf]]],
     "transitions: contains non-finite"),
    ("transitions", [[[1.1, -0.1], [0.2, 0.8]], [[0.0, 1.0], [0.5, 0.5]]],
     "transitions: negative probability"),
    ("transitions", [[[1.0, 0.0], [0.2, 0.7]], [[0.0, 1.0], [0.5, 0.5]]],
     "transitions: probabilities sum to 0.9"),
    ("transitions", [[[1.0, 0.0]], [[0.0, 1.0]]], "rewards: expected shape (S, A) = (2, 1)"),
    ("transitions", [[1.0, 0.0], [0.0, 1.0]], "transitions: expected shape (S, A, S)"),
    ("rewards", [[1.0, 0.0], [0.0, np.nan]], "rewards: contains non-finite"),
    ("rewards", [[1.0, 0.0, 3.0], [0.0, 2.0, 1.0]], "rewards: expected shape (S, A)"),
    ("horizon", 0, "horizon: must be >= 1"),
    ("horizon", -3, "horizon: must be >= 1"),
    ("horizon", 2.5, "horizon: must be an integer"),
])
def test_bad_mdp_input_raises_value_error_naming_the_field(field, value, message):
    kwargs = good()
    kwargs[field] = value
    with pytest.raises(ValueError) as err:
        FiniteMDP(**kwargs)
    assert message in str(err.value)


def test_sums_within_1e9_are_accepted_and_arrays_are_copied_read_only():
    kwargs = good()
    initial = np.array([0.5, 0.5 + 5e-10])
    mdp = FiniteMDP(**dict(kwargs, initial=initial))
    initial[0] = 7.0  # the MDP holds its own copy
    assert mdp.initial[0] == 0.5
    for arr in (mdp.initial, mdp.transitions, mdp.rewards):
        with pytest.raises(ValueError):
            arr[...] = 0.0
    with pytest.raises(ValueError, match="discount"):
        FiniteMDP(**kwargs, discount=1.5)


@pytest.mark.parametrize("logits, message", [
    ([1.0, 2.0], "logits: expected a non-empty (S, A)"),
    (np.zeros((0, 2)), "logits: expected a non-empty (S, A)"),  # no states
    (np.zeros((2, 0)), "logits: expected a non-empty (S, A)"),  # no actions
    ([[1.0, np.inf]], "logits: contains non-finite"),
])
def test_bad_policy_input_raises_value_error(logits, message):
    with pytest.raises(ValueError) as err:
        SoftmaxPolicy(logits)
    assert message in str(err.value)


def test_policy_arrays_are_read_only_float64_whatever_the_input():
    """float32 logits are computed on in float64 (the exact checks compare at 1e-12), and the
    policy's arrays cannot be changed behind its back (probs are derived from logits once)."""
    logits32 = np.array([[0.0, 1e-7], [3.0, -2.0]], dtype=np.float32)
    pi = SoftmaxPolicy(logits32)
    reference = np.exp(logits32.astype(np.float64))
    reference /= reference.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pi.probs, reference, rtol=0, atol=1e-15)
    for arr in (pi.logits, pi.log_probs, pi.probs):
        assert arr.dtype == np.float64
        with pytest.raises(ValueError, match="read-only"):
            arr[0, 0] = 1.0


@pytest.mark.parametrize("states, actions", [
    (np.zeros(3, int), np.zeros(3, int)),          # equal shapes, but not (n, T)
    (np.zeros((2, 3), int), np.zeros((2, 2), int)),  # (n, T), but different
])
def test_score_sum_needs_equal_n_by_t_states_and_actions(states, actions):
    with pytest.raises(ValueError, match="states/actions: expected equal"):
        SoftmaxPolicy(np.zeros((1, 2))).score_sum(states, actions)


def test_policy_shape_must_match_the_mdp_and_sample_arguments_are_checked():
    mdp = FiniteMDP(**good())
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="policy: logits have shape"):
        mdp.sample(SoftmaxPolicy(np.zeros((3, 2))), 4, rng)
    with pytest.raises(ValueError, match="n: must be a positive integer"):
        mdp.sample(SoftmaxPolicy(np.zeros((2, 2))), 0, rng)
    with pytest.raises(ValueError, match="rng: expected a numpy.random.Generator"):
        mdp.sample(SoftmaxPolicy(np.zeros((2, 2))), 4, 0)


def test_softmax_probs_and_score_match_the_closed_form():
    pi = SoftmaxPolicy([[0.0, np.log(3.0)], [1000.0, 0.0]])  # large logits stay finite
    np.testing.assert_allclose(pi.probs, [[0.25, 0.75], [1.0, 0.0]], atol=1e-15)
    # score of (s=0, a=1): e_{0,1} - pi(.|0) on row 0, zeros elsewhere
    score = pi.score_sum(np.array([[0]]), np.array([[1]]))[0]
    np.testing.assert_allclose(score, [[-0.25, 0.25], [0.0, 0.0]])


def test_batch_validates_shapes():
    z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="rewards: shape"):
        Batch(z.astype(int), z.astype(int), np.zeros((2, 2)), z)


def test_sample_respects_support_and_logs_the_collecting_policy():
    mdp = FiniteMDP(**good())
    pi = SoftmaxPolicy([[0.3, -1.0], [2.0, 0.1]])
    b = mdp.sample(pi, 5000, np.random.default_rng(1))
    assert b.states.shape == b.actions.shape == b.rewards.shape == b.log_probs.shape == (5000, 3)
    # from state 0, action 0 always returns to state 0 (probability 1); state 1 action 0 -> 1
    nxt = b.states[:, 1:]
    s, a = b.states[:, :-1], b.actions[:, :-1]
    assert np.all(nxt[(s == 0) & (a == 0)] == 0)
    assert np.all(nxt[(s == 1) & (a == 0)] == 1)
    np.testing.assert_array_equal(b.rewards, mdp.rewards[b.states, b.actions])
    np.testing.assert_array_equal(b.log_probs, pi.log_probs[b.states, b.actions])
