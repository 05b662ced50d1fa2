"""Unit tests of pgproofs.natural: shapes, bad input, and cross-checks of each piece."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from pgproofs import FiniteMDP, SoftmaxPolicy, exact
from pgproofs import natural as ng
from pgproofs import strategies as pst

torch.set_num_threads(1)


def _mdp() -> FiniteMDP:
    return FiniteMDP([0.5, 0.5], [[[1, 0], [0.2, 0.8]], [[0.3, 0.7], [0, 1]]],
                     [[1.0, 0.0], [0.0, 2.0]], 3)


def test_state_fisher_by_hand():
    # pi = (1/4, 3/4): F = [[3/16, -3/16], [-3/16, 3/16]]
    policy = SoftmaxPolicy([[0.0, np.log(3.0)]])
    assert np.allclose(ng.state_fisher(policy)[0], np.array([[3, -3], [-3, 3]]) / 16)


def test_fisher_matrix_is_block_diagonal_with_visit_weights():
    mdp, policy = _mdp(), SoftmaxPolicy([[0.1, -0.3], [0.7, 0.2]])
    f = ng.fisher_matrix(mdp, policy).reshape(2, 2, 2, 2)
    rho = ng.visits(mdp, policy)
    assert np.isclose(rho.sum(), mdp.horizon)
    assert np.allclose(f[0, :, 1, :], 0) and np.allclose(f[1, :, 0, :], 0)
    assert np.allclose(f[1, :, 1, :], rho[1] * ng.state_fisher(policy)[1])


@settings(max_examples=15)
@given(pst.mdps_and_policies(n_policies=2))
def test_trajectory_kl_matches_enumeration(case):
    mdp, p, q = case
    traj = exact.enumerate_trajectories(mdp, p)
    b = traj.batch
    log_ratio = (p.log_probs[b.states, b.actions] - q.log_probs[b.states, b.actions]).sum(axis=1)
    assert np.isclose(ng.trajectory_kl(mdp, p, q), traj.probs @ log_ratio, rtol=1e-9, atol=1e-12)
    assert ng.trajectory_kl(mdp, p, p) == 0.0
    assert np.all(ng.per_state_kl(p, q) >= -1e-15)


def test_state_averaged_kl_defaults_to_second_policy_visits():
    mdp = _mdp()
    p, q = SoftmaxPolicy([[0.0, 1.0], [2.0, 0.0]]), SoftmaxPolicy([[0.5, 0.0], [0.0, 0.0]])
    assert ng.state_averaged_kl(mdp, p, q) == ng.state_averaged_kl(mdp, p, q, under=q)
    assert np.isclose(ng.state_averaged_kl(mdp, p, q, under=p), ng.trajectory_kl(mdp, p, q))


def test_per_state_kl_keeps_precision_for_tiny_steps():
    p = SoftmaxPolicy([[8.0, -3.0, 0.5]])
    d = np.array([1e-7, -2e-7, 3e-7])
    q = SoftmaxPolicy(p.logits + d)
    d = q.logits[0] - p.logits[0]  # the step actually represented
    quad = 0.5 * d @ ng.state_fisher(p)[0] @ d
    assert np.isclose(ng.per_state_kl(q, p)[0], quad, rtol=1e-5)


def test_kl_bad_input():
    with pytest.raises(ValueError, match="q: logits shape"):
        ng.per_state_kl(SoftmaxPolicy(np.zeros((2, 2))), SoftmaxPolicy(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="p: expected a SoftmaxPolicy"):
        ng.per_state_kl(np.zeros((2, 2)), SoftmaxPolicy(np.zeros((2, 2))))


def test_natural_gradient_solvers_bad_input():
    f = np.eye(3)
    with pytest.raises(ValueError, match="fisher: expected a square"):
        ng.natural_gradient_pinv(np.ones((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="grad: has 2 entries"):
        ng.natural_gradient_pinv(f, np.ones(2))
    with pytest.raises(ValueError, match="non-finite"):
        ng.natural_gradient_pinv(f, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="damping: must be a finite number > 0"):
        ng.natural_gradient_damped(f, np.ones(3), 0.0)
    assert np.allclose(ng.natural_gradient_damped(f, np.ones(3), 1.0), 0.5)


def test_kl_step_size():
    # 1/2 (alpha x)^T F (alpha x) = eps
    assert np.isclose(0.5 * ng.kl_step_size(0.01, 4.0) ** 2 * 4.0, 0.01)
    with pytest.raises(ValueError, match="max_kl"):
        ng.kl_step_size(0.0, 1.0)
    with pytest.raises(ValueError, match="fisher_norm_sq"):
        ng.kl_step_size(0.1, 0.0)


def test_mean_advantage_unvisited_state_is_zero():
    mdp = FiniteMDP([1.0, 0.0], [[[1, 0], [1, 0]], [[0, 1], [0, 1]]], [[1.0, 0.0], [5.0, 0.0]], 2)
    policy = SoftmaxPolicy(np.zeros((2, 2)))
    a_bar = ng.mean_advantage(mdp, policy)
    # state 0 is visited at t = 1, 2 and V_2(0) = 1/2, so A_1 = A_2 = r - 1/2 = (1/2, -1/2)
    assert np.all(a_bar[1] == 0) and np.allclose(a_bar[0], [0.5, -0.5])
    assert np.all(ng.natural_gradient_tabular(mdp, policy)[1] == 0)


# ---------------------------------------------------------------------------
# torch helpers


def _spd(n: int, seed: int) -> torch.Tensor:
    a = torch.as_tensor(np.random.default_rng(seed).normal(size=(n, n)))
    return a @ a.T + 0.1 * torch.eye(n, dtype=torch.float64)


def test_conjugate_gradient_solves_spd_system():
    m = _spd(6, 0)
    b = torch.arange(6, dtype=torch.float64)
    x = ng.conjugate_gradient(lambda v: m @ v, b, iters=50, tol=1e-14, damping=0.5)
    assert torch.allclose(x, torch.linalg.solve(m + 0.5 * torch.eye(6, dtype=torch.float64), b))


def test_conjugate_gradient_zero_rhs_and_bad_input():
    m = _spd(3, 1)
    assert torch.all(ng.conjugate_gradient(lambda v: m @ v, torch.zeros(3, dtype=torch.float64))
                     == 0)
    with pytest.raises(ValueError, match="b: expected a flat"):
        ng.conjugate_gradient(lambda v: v, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="iters"):
        ng.conjugate_gradient(lambda v: v, torch.ones(2), iters=0)
    with pytest.raises(ValueError, match="tol"):
        ng.conjugate_gradient(lambda v: v, torch.ones(2), tol=-1.0)
    with pytest.raises(ValueError, match="damping"):
        ng.conjugate_gradient(lambda v: v, torch.ones(2), damping=-1.0)


def _mlp_and_kl():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                              torch.nn.Linear(4, 2)).double()
    obs = torch.as_tensor(np.random.default_rng(0).normal(size=(5, 3)))

    def kl():
        log_p = torch.log_softmax(net(obs), dim=1)
        log_ref = log_p.detach()
        return (log_ref.exp() * (log_ref - log_p)).sum(dim=1).mean()

    return net, obs, kl


def test_fisher_vector_product_of_a_module_matches_score_outer_product():
    net, obs, kl = _mlp_and_kl()
    params = list(net.parameters())
    fvp = ng.fisher_vector_product(kl, params)
    n = sum(p.numel() for p in params)
    matrix = torch.stack([fvp(e) for e in torch.eye(n, dtype=torch.float64)])
    # explicit Fisher: mean over states of sum_a pi(a|s) score score^T
    log_p = torch.log_softmax(net(obs), dim=1)
    explicit = torch.zeros(n, n, dtype=torch.float64)
    for i in range(obs.shape[0]):
        for a in range(2):
            score = ng.flat_grad(log_p[i, a], params, retain_graph=True)
            explicit += log_p[i, a].exp().detach() * torch.outer(score, score) / obs.shape[0]
    assert torch.allclose(matrix, explicit, atol=1e-12)
    with pytest.raises(ValueError, match="v: expected a flat tensor"):
        fvp(torch.ones(n + 1, dtype=torch.float64))


def test_trust_region_step_hits_the_quadratic_model():
    net, _, kl = _mlp_and_kl()
    params = list(net.parameters())
    fvp = ng.fisher_vector_product(kl, params)
    g = torch.ones(sum(p.numel() for p in params), dtype=torch.float64)
    step, alpha = ng.trust_region_step(fvp, g, 0.01, iters=10, damping=1e-3)
    assert alpha > 0 and torch.isclose(0.5 * step @ fvp(step), torch.tensor(0.01,
                                                                           dtype=torch.float64))


def test_fisher_vector_product_bad_input():
    with pytest.raises(ValueError, match="params: need at least one"):
        ng.fisher_vector_product(lambda: torch.tensor(0.0), [])
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="kl_fn: must return a scalar"):
        ng.fisher_vector_product(lambda: w * 2, [w])
    with pytest.raises(ValueError, match="weights: expected shape"):
        ng.tabular_kl_fn(torch.zeros(2, 2, requires_grad=True), np.ones(3))
