"""returns: the full discounted return and the reward-to-go against their definitions."""

import numpy as np
import pytest

from pgproofs.returns import discounted_return, reward_to_go


def test_default_discount_is_one_the_notes_undiscounted_sums():
    r = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 0.25]])
    np.testing.assert_array_equal(discounted_return(r), [7.0, -0.25])
    np.testing.assert_array_equal(reward_to_go(r), [[7.0, 6.0, 4.0], [-0.25, -0.75, 0.25]])


def test_reward_to_go_stops_at_an_episode_end_one_step_before_the_last_column():
    # an episode ends at t = T-2: its reward-to-go must not take the next episode's r_{T-1}
    r = np.array([[1.0, 2.0, 4.0]])
    ends = np.array([[False, True, False]])
    np.testing.assert_array_equal(reward_to_go(r, ends=ends), [[3.0, 2.0, 4.0]])
    # cut there, the value after t = T-2 is its bootstrap (10), not the running sum
    boot = np.array([[0.0, 10.0, 8.0]])
    np.testing.assert_array_equal(reward_to_go(r, 0.5, ends=ends, bootstrap=boot),
                                  [[1.0 + 0.5 * 7.0, 2.0 + 0.5 * 10.0, 4.0 + 0.5 * 8.0]])


def test_integer_rewards_give_exact_float_sums():
    """Rewards may come as integers (CartPole's are 1); the discounted sums are still real."""
    rewards = np.array([[1, 1, 1]])
    np.testing.assert_allclose(reward_to_go(rewards, 0.5), [[1.75, 1.5, 1.0]], rtol=0, atol=0)
    np.testing.assert_allclose(discounted_return(rewards, 0.5), [1.75], rtol=0, atol=0)


def test_discount_zero_counts_only_the_current_reward_and_above_one_is_refused():
    """gamma = 0 is allowed: R = r_1 and Rhat_t = r_t. gamma = 1.5 is refused by both."""
    r = np.array([[2.0, 3.0, 5.0]])
    np.testing.assert_array_equal(discounted_return(r, 0.0), [2.0])
    np.testing.assert_array_equal(reward_to_go(r, 0.0), r)
    for f in (discounted_return, reward_to_go):
        with pytest.raises(ValueError, match=r"^discount: must lie in \[0, 1\], got 1.5$"):
            f(r, 1.5)
