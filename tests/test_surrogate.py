"""check.from_surrogate_loss: minus the autograd gradient of a PyTorch loss, as an estimator."""

import numpy as np
import pytest
import torch

from pgproofs import check, estimators
from pgproofs import bugs
from pgproofs.surrogate import SurrogateEstimator
from pgproofs.strategies import random_mdp, random_policy

torch.set_num_threads(1)


@pytest.fixture
def case():
    rng = np.random.default_rng(7)
    S, A, T = 3, 2, 3
    mdp = random_mdp(rng, S, A, T, discount=0.9)
    policy = random_policy(rng, S, A)
    return mdp, policy, mdp.sample(policy, 16, rng)


def test_minus_gradient_of_the_loss_is_the_numpy_estimate(case):
    # -(1/n) sum_i sum_t logp_it w_it has gradient -(1/n) sum_i sum_t w_it grad log pi, so
    # minus it is the numpy estimator term for term (float64 throughout).
    mdp, policy, batch = case
    for loss, numpy_estimator in ((bugs.sign_flip_fixed, estimators.reinforce),
                                  (bugs.reward_to_go_loss, estimators.reward_to_go)):
        got = check.from_surrogate_loss(loss)(batch, policy)
        assert got.dtype == np.float64 and got.shape == policy.logits.shape
        np.testing.assert_allclose(got, numpy_estimator(batch, policy), rtol=1e-12, atol=1e-12)


def test_sign_convention_a_flipped_loss_estimates_minus_the_gradient(case):
    mdp, policy, batch = case
    good = check.from_surrogate_loss(bugs.sign_flip_fixed)(batch, policy)
    flipped = check.from_surrogate_loss(bugs.sign_flip)(batch, policy)
    np.testing.assert_allclose(flipped, -good, rtol=1e-12, atol=1e-12)
    assert np.abs(good).max() > 0


def test_surrogate_estimators_are_decided_exactly_by_check(case):
    mdp, policy, _ = case
    check.assert_unbiased(check.from_surrogate_loss(bugs.reward_to_go_loss), mdp, policy)
    with pytest.raises(AssertionError, match="biased"):  # negative control, same check
        check.assert_unbiased(check.from_surrogate_loss(bugs.reward_to_go_skips_current),
                              mdp, policy)


def test_loss_without_a_graph_estimates_zero(case):
    # The numpy batch.log_probs carry no graph: the gradient of such a loss is 0.
    mdp, policy, batch = case

    def stored_log_probs(logits, batch):
        return -(torch.as_tensor(batch.log_probs) * torch.as_tensor(batch.rewards)).sum(1).mean()

    def unused_logits(logits, batch):
        return torch.zeros((), dtype=torch.float64, requires_grad=True)

    for loss in (stored_log_probs, unused_logits):
        np.testing.assert_array_equal(check.from_surrogate_loss(loss)(batch, policy), 0.0)


def test_each_call_gets_fresh_logits_and_leaves_the_policy_alone(case):
    mdp, policy, batch = case
    seen = []

    def recording(logits, batch):
        seen.append(logits)
        assert logits.dtype == torch.float64 and logits.requires_grad and logits.is_leaf
        return bugs.reward_to_go_loss(logits, batch)

    estimator = check.from_surrogate_loss(recording)
    first, second = estimator(batch, policy), estimator(batch, policy)
    np.testing.assert_array_equal(first, second)
    assert seen[0] is not seen[1]
    np.testing.assert_array_equal(seen[0].detach().numpy(), policy.logits)


def test_wrapper_keeps_the_loss_name():
    estimator = check.from_surrogate_loss(bugs.greedy_action)
    assert isinstance(estimator, SurrogateEstimator)
    assert estimator.__name__ == "greedy_action" and estimator.loss_fn is bugs.greedy_action
    assert repr(estimator) == "from_surrogate_loss(greedy_action)"


def test_bad_loss_functions_raise_value_errors(case):
    mdp, policy, batch = case
    with pytest.raises(ValueError, match="loss_fn: expected a callable"):
        check.from_surrogate_loss("not a function")
    with pytest.raises(ValueError, match="loss_fn: must return a scalar"):
        check.from_surrogate_loss(lambda logits, b: logits.sum(1))(batch, policy)
    with pytest.raises(ValueError, match="loss_fn: must return a torch.Tensor"):
        check.from_surrogate_loss(lambda logits, b: 1.0)(batch, policy)
    with pytest.raises(ValueError, match="batch: expected a pgproofs Batch"):
        check.from_surrogate_loss(bugs.reward_to_go_loss)(batch.states, policy)
    with pytest.raises(ValueError, match="policy: expected a SoftmaxPolicy"):
        check.from_surrogate_loss(bugs.reward_to_go_loss)(batch, policy.logits)
