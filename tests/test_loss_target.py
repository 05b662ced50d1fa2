"""The exact target of the loss check, cross-checked against independent computations.

- visit weights (DP over (state, steps into episode)) equal the expected
  visit counts of the enumerated buffers;
- for a one-hot linear module the target g equals the tabular
  w(s) pi(b|s) A(s, b) built from those counts and exact.advantages (the
  weight matrix is the transposed logits table);
- the discounted gradient equals a finite-difference gradient of
  J = sum_s p0(s) V(s) with respect to the logits (policy gradient theorem).
"""

import numpy as np
import pytest
import torch

from pgproofs import discounted, rollouts
from pgproofs.loss_bugs import WITNESS
from pgproofs.loss_target import (discounted_state_weights, exact_loss_target, float64_module,
                                  module_policy, visit_weights)
from pgproofs.policy import SoftmaxPolicy
from pgproofs.policy_losses import linear, mlp
from _brute import finite_difference_gradient


def _linear_module(logits: np.ndarray) -> torch.nn.Module:
    S, A = logits.shape
    module = float64_module(linear(S, A))
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(logits.T))
    return module


def _enumerated_visits(mdp, policy, T, n) -> np.ndarray:
    """E[number of positions (t, e) with obs = s], from every buffer and its probability."""
    buffers = rollouts.enumerate_all(mdp, policy, T, n)
    counts = np.stack([(buffers.obs == s).sum(axis=(1, 2)) for s in range(mdp.n_states)], axis=1)
    return buffers.probs @ counts


LOGITS = np.array([[0.3, -0.4], [-1.0, 0.8], [0.0, 0.0]])


@pytest.mark.parametrize("T, n", [(1, 1), (3, 1), (2, 2), (4, 1)])
def test_visit_weights_equal_enumerated_visit_counts(T, n):
    policy = SoftmaxPolicy(LOGITS)
    np.testing.assert_allclose(visit_weights(WITNESS, policy, T) * n,
                               _enumerated_visits(WITNESS, policy, T, n), rtol=0, atol=1e-12)


@pytest.mark.parametrize("T, n", [(3, 1), (2, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_one_hot_linear_target_is_the_tabular_gradient(T, n, reduction):
    module = _linear_module(LOGITS)
    target = exact_loss_target(module, WITNESS, None, T, n, reduction)
    policy = SoftmaxPolicy(LOGITS)
    w = _enumerated_visits(WITNESS, policy, T, n) / (T * n if reduction == "mean" else 1)
    tabular = w[:, None] * policy.probs * discounted.advantages(WITNESS, policy)
    assert target.names == ("weight",)
    np.testing.assert_allclose(target.target[0], tabular.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(target.weights, w, rtol=0, atol=1e-12)


def test_discounted_gradient_is_the_finite_difference_gradient_of_J():
    def objective(logits):
        return WITNESS.initial @ discounted.discounted_values(WITNESS, SoftmaxPolicy(logits))

    module = _linear_module(LOGITS)
    target = exact_loss_target(module, WITNESS, None, 3, 1)
    fd = finite_difference_gradient(objective, LOGITS)
    np.testing.assert_allclose(target.discounted[0], fd.T, rtol=0, atol=1e-9)


def test_discounted_state_weights_sum_gamma_t_visits():
    """d_gamma = sum_t gamma^t P(s_t = s) without a time limit: a long-horizon sum agrees."""
    policy = SoftmaxPolicy(LOGITS)
    P = np.einsum("sa,sax->sx", policy.probs, WITNESS.transitions)
    P[:, WITNESS.terminal] = 0.0  # entering a terminal state ends the episode: never a visit
    dist, total = WITNESS.initial.copy(), np.zeros(3)
    for t in range(2000):
        total += WITNESS.discount ** t * dist
        dist = dist @ P
    np.testing.assert_allclose(discounted_state_weights(WITNESS, policy), total, atol=1e-12)


def test_features_reach_the_target_through_the_network():
    """With features, g is the VJP of module(observe) with w pi A: compare with autograd directly."""
    torch.manual_seed(3)
    module = float64_module(mlp(2, 2))
    observe = np.array([[1.0, 0.5], [-0.5, 2.0], [0.0, 0.0]])
    target = exact_loss_target(module, WITNESS, observe, 3, 2)
    policy = module_policy(module, WITNESS, observe)
    w = _enumerated_visits(WITNESS, policy, 3, 2) / 6
    probs = torch.softmax(module(torch.as_tensor(observe)), dim=-1)
    surrogate = (torch.as_tensor(w)[:, None] * probs
                 * torch.as_tensor(discounted.advantages(WITNESS, policy))).sum()
    grads = torch.autograd.grad(surrogate, list(module.parameters()))
    for got, want in zip(target.target, grads):
        np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-12)


def test_target_validates_arguments():
    module = _linear_module(LOGITS)
    with pytest.raises(ValueError, match="reduction"):
        exact_loss_target(module, WITNESS, None, 2, 1, "average")
    with pytest.raises(ValueError, match="n_steps"):
        exact_loss_target(module, WITNESS, None, 0, 1)
    with pytest.raises(ValueError, match="observe"):
        exact_loss_target(module, WITNESS, np.eye(2), 2, 1)
    with pytest.raises(ValueError, match="observe: contains non-finite"):
        exact_loss_target(module, WITNESS, np.full((3, 3), np.nan), 2, 1)
    with pytest.raises(ValueError, match="module: maps"):
        exact_loss_target(float64_module(linear(3, 3)), WITNESS, None, 2, 1)
    with pytest.raises(ValueError, match="module: expected a torch.nn.Module"):
        float64_module(lambda x: x)


@pytest.mark.parametrize("layer, match", [(torch.nn.Dropout(0.5), "two calls"),
                                          (torch.nn.BatchNorm1d(4), "depend on the other rows")])
def test_modules_with_randomness_or_batch_statistics_are_refused(layer, match):
    torch.manual_seed(0)
    module = float64_module(torch.nn.Sequential(torch.nn.Linear(3, 4), layer,
                                                torch.nn.Linear(4, 2)))
    with pytest.raises(ValueError, match=match):
        exact_loss_target(module, WITNESS, None, 2, 1)
    module.eval()  # the same network in evaluation mode is row-wise and deterministic
    exact_loss_target(module, WITNESS, None, 2, 1)
