"""returns: the full discounted return and the reward-to-go against their definitions."""

import numpy as np
import pytest

from pgproofs.returns import discounted_return, reward_to_go


def test_default_discount_is_one_the_notes_undiscounted_sums():
    r = np.array([[1.0, 2.0, 4.0], [0.5, -1.0, 0.25]])
    np.testing.assert_array_equal(discounted_return(r), [7.0, -0.25])
    np.testing.assert_array_equal(reward_to_go(r), [[7.0, 6.0, 4.0], [-0.25, -0.75, 0.25]])
