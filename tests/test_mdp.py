"""FiniteMDP, SoftmaxPolicy and Batch: validation and basic invariants."""

import numpy as np
import pytest

from pgproofs import Batch, FiniteMDP, SoftmaxPolicy
from pgproofs.mdp import check_probabilities, draw_from_cumsum, pinned_cumsum


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


def test_batch_refuses_rewards_that_are_not_finite_numbers():
    """A nan, an inf or a None reward would turn every estimate into nan; a string is not a number."""
    z = np.zeros((1, 2))
    for bad in (np.nan, np.inf, None):
        with pytest.raises(ValueError, match="^rewards: contains non-finite entries$"):
            Batch(z.astype(int), z.astype(int), np.array([[1.0, bad]], dtype=object), z)
    with pytest.raises(ValueError, match="^rewards: expected numbers$"):
        Batch(z.astype(int), z.astype(int), np.array([["a", "b"]]), z)
    assert Batch(z.astype(int), z.astype(int), np.array([[1, 2]]), z).rewards.tolist() == [[1, 2]]


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


# --- check_probabilities: the error locates the offending entry or row ---------------------------

def test_negative_probability_error_reports_the_first_negative_entry():
    """The message gives the first negative entry's value and index, even when zeros and other
    entries below 1 come before it: here P[1, 1, 1] = -0.5 (P[0, 0, 1] = 0.0 is not negative)."""
    kwargs = good()
    kwargs["transitions"] = [[[1.0, 0.0], [0.2, 0.8]], [[0.0, 1.0], [1.5, -0.5]]]
    with pytest.raises(ValueError,
                       match=r"^transitions: negative probability \S*-0\.5\S* at index \(1, 1, 1\)$"):
        FiniteMDP(**kwargs)


def test_bad_sum_error_locates_the_row_only_for_arrays_of_rows():
    """A (S,) vector has one sum, so its message has no index; (S, A, S) and (S, A) arrays name
    the index of the first bad row. 0.5 + 0.4 and 0.2 + 0.7 both print as 0.9 at 12 digits."""
    kwargs = good()
    with pytest.raises(ValueError) as err:
        FiniteMDP(**dict(kwargs, initial=[0.5, 0.4]))
    assert str(err.value) == "initial: probabilities sum to 0.9, not 1 (atol 1e-09)"
    with pytest.raises(ValueError) as err:
        FiniteMDP(**dict(kwargs, transitions=[[[1.0, 0.0], [0.2, 0.7]], [[0.0, 1.0], [0.5, 0.5]]]))
    assert str(err.value) == "transitions: probabilities sum to 0.9 at index (0, 1), not 1 (atol 1e-09)"
    with pytest.raises(ValueError) as err:  # a matrix of rows, e.g. a policy table pi(.|s)
        check_probabilities("probs", np.array([[0.25, 0.75], [0.5, 0.4]]))
    assert str(err.value) == "probs: probabilities sum to 0.9 at index (1,), not 1 (atol 1e-09)"


# --- discount: the interval [0, 1] is closed at both ends -----------------------------------------

def test_discount_zero_is_accepted_and_above_one_rejected_by_mdp_and_batch():
    """gamma lies in [0, 1] (docstrings): 0 (myopic return) and 1 are valid, 1.5 is not."""
    assert FiniteMDP(**good(), discount=0.0).discount == 0.0
    z = np.zeros((2, 3))
    assert Batch(z.astype(int), z.astype(int), z, z, discount=0.0).discount == 0.0
    assert Batch(z.astype(int), z.astype(int), z, z, discount=1.0).discount == 1.0
    with pytest.raises(ValueError, match=r"discount: must lie in \[0, 1\], got 1.5"):
        Batch(z.astype(int), z.astype(int), z, z, discount=1.5)


# --- sample: argument checks -----------------------------------------------------------------------

@pytest.mark.parametrize("n", [True, 2.5, "3", -1])
def test_sample_rejects_n_that_is_not_a_positive_integer(n):
    """n is a positive int: bool (True == 1), float and str are refused with a ValueError,
    not silently used or left to fail later inside numpy."""
    mdp = FiniteMDP(**good())
    with pytest.raises(ValueError, match="n: must be a positive integer"):
        mdp.sample(SoftmaxPolicy(np.zeros((2, 2))), n, np.random.default_rng(0))


def test_sample_accepts_numpy_integer_n():
    mdp = FiniteMDP(**good())
    assert len(mdp.sample(SoftmaxPolicy(np.zeros((2, 2))), np.int64(3), np.random.default_rng(0))) == 3


# --- checked_dynamics: float64 copies, (S, A, S) shape in both state axes ---------------------------

@pytest.mark.parametrize("dtype", [np.int64, np.float32])
def test_mdp_arrays_are_float64_whatever_the_input_dtype(dtype):
    """checked_dynamics returns float64 copies: integer or float32 input (a deterministic MDP
    with 0/1 probabilities and integer rewards) is stored as float64 with the same values."""
    initial = np.array([1, 0], dtype=dtype)
    transitions = np.array([[[1, 0], [0, 1]], [[0, 1], [1, 0]]], dtype=dtype)
    rewards = np.array([[1, 0], [0, 2]], dtype=dtype)
    mdp = FiniteMDP(initial, transitions, rewards, 2)
    for got, given in ((mdp.initial, initial), (mdp.transitions, transitions), (mdp.rewards, rewards)):
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, given.astype(np.float64))


@pytest.mark.parametrize("shape", [(2, 2, 3), (3, 2, 2)])
def test_transitions_must_have_s_states_in_both_state_axes(shape):
    """With S = 2 initial states, P must be (2, A, 2): a wrong size in either state axis alone is
    refused, even when every row is a valid probability vector and rewards are (2, 2)."""
    kwargs = good()
    kwargs["transitions"] = np.full(shape, 1.0 / shape[2])
    with pytest.raises(ValueError, match=r"transitions: expected shape \(S, A, S\) with S = 2"):
        FiniteMDP(**kwargs)


# --- pinned_cumsum / draw_from_cumsum: the inverse-CDF lookup ---------------------------------------

def test_pinned_cumsum_ends_at_exactly_one_row_by_row():
    """Ten 0.1s sum to 0.9999999999999999 in float64; the pinned table ends at exactly 1.0 in
    every row and keeps the running sums before it."""
    p = np.array([[0.1] * 10, [0.5, 0.5] + [0.0] * 8])
    c = pinned_cumsum(p)
    assert np.cumsum(p[0])[-1] != 1.0  # the rounding the pin removes
    np.testing.assert_array_equal(c[:, -1], [1.0, 1.0])
    np.testing.assert_array_equal(c[:, :-1], np.cumsum(p, axis=1)[:, :-1])


def test_draw_from_cumsum_takes_the_first_entry_strictly_above_u():
    """Index of the first cumulative entry exceeding u: u equal to a cumulative value belongs to the
    next outcome, so zero-probability outcomes (flat steps of the table) are never drawn, even for
    u = 0.0, which Generator.random can return."""
    cum = np.array([[0.0, 0.5, 0.5, 1.0]] * 4)  # p = (0, 0.5, 0, 0.5)
    u = np.array([0.0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(draw_from_cumsum(cum, u), [1, 1, 3, 3])
