"""Unit tests of pgproofs.natural: shapes, bad input, and cross-checks of each piece."""

from __future__ import annotations

from fractions import Fraction

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


def _walk_mdp(n_init_core: int, with_sink: bool) -> FiniteMDP:
    """One action; 10 'core' states moving uniformly among themselves, plus an absorbing sink.

    With horizon 6 a trajectory is a walk of 5 steps: 10^5 from each initial core
    state, exactly 1 from the sink.
    """
    transitions = np.zeros((11, 1, 11))
    transitions[:10, 0, :10] = 0.1
    transitions[10, 0, 10] = 1.0
    initial = np.zeros(11)
    initial[list(range(n_init_core)) + ([10] if with_sink else [])] = 1.0
    return FiniteMDP(initial / initial.sum(), transitions, np.zeros((11, 1)), 6)


def test_fisher_matrix_enumerated_default_cap_is_200_000_trajectories():
    """The default max_count is 200_000: 2 * 10^5 + 1 = 200_001 trajectories are refused."""
    mdp, policy = _walk_mdp(2, with_sink=True), SoftmaxPolicy(np.zeros((11, 1)))
    with pytest.raises(ValueError, match="200001 trajectories exceed max_count=200000"):
        ng.fisher_matrix_enumerated(mdp, policy)


def test_fisher_matrix_enumerated_passes_max_count_on():
    """An explicit max_count is honoured: _mdp() has at least 2 * 2 = 4 trajectories, so 1 is refused."""
    with pytest.raises(ValueError, match="max_count=1"):
        ng.fisher_matrix_enumerated(_mdp(), SoftmaxPolicy(np.zeros((2, 2))), max_count=1)


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
    with pytest.raises(ValueError, match="q: expected a SoftmaxPolicy"):
        ng.per_state_kl(SoftmaxPolicy(np.zeros((2, 2))), np.zeros((2, 2)))


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


def test_natural_gradient_solvers_reject_an_asymmetric_fisher():
    """A Fisher matrix is symmetric; [[1, 1], [0, 1]] is refused by both solvers (pinv would
    read one triangle and answer for [[1, 0], [0, 1]] or [[1, 1], [1, 1]]), while rounding-level
    asymmetry is accepted."""
    upper = np.array([[1.0, 1.0], [0.0, 1.0]])
    for solve in (ng.natural_gradient_pinv, lambda f, g: ng.natural_gradient_damped(f, g, 1.0)):
        with pytest.raises(ValueError, match=r"fisher: not symmetric \(max \|F - F\^T\| = 1\)"):
            solve(upper, np.ones(2))
    nearly = np.array([[2.0, 1.0 + 1e-13], [1.0, 3.0]])
    assert np.allclose(ng.natural_gradient_pinv(nearly, np.ones(2)), [0.4, 0.2], rtol=1e-10)


def test_symmetry_tolerance_is_relative_to_the_largest_entry_and_inclusive():
    """An asymmetry is tolerated while max |F - F^T| <= 1e-9 max(1, max |F|):
    exactly at the tolerance (1e-9 on a unit matrix) it is accepted; at a scale of 1e6 an
    asymmetry of 1e-6 (relative 1e-12) is rounding and accepted; on entries below 1 the
    tolerance stays 1e-9, so 1.5e-9 is refused."""
    at_tolerance = np.array([[1.0, 1e-9], [0.0, 1.0]])
    assert np.allclose(ng.natural_gradient_pinv(at_tolerance, np.ones(2)), 1.0, rtol=1e-8)
    large = np.array([[2e6, 1e6 + 1e-6], [1e6, 3e6]])
    assert np.allclose(ng.natural_gradient_pinv(large, np.ones(2)), [0.4e-6, 0.2e-6], rtol=1e-8)
    small = np.array([[0.5, 1.5e-9], [0.0, 0.5]])
    with pytest.raises(ValueError, match="fisher: not symmetric"):
        ng.natural_gradient_pinv(small, np.ones(2))


def test_natural_gradient_of_no_parameters_is_empty():
    """A model with no parameters has a 0 x 0 Fisher matrix and an empty natural gradient."""
    for solve in (ng.natural_gradient_pinv, lambda f, g: ng.natural_gradient_damped(f, g, 1.0)):
        x = solve(np.zeros((0, 0)), np.zeros(0))
        assert x.shape == (0,)


def test_natural_gradient_solvers_keep_the_shape_of_grad():
    """An (S, A) gradient gives an (S, A) answer: here F = 2 I (pinv) and F + I = 2 I (damped)."""
    g = np.array([[1.0, -2.0], [3.0, 4.0]])
    assert ng.natural_gradient_pinv(2 * np.eye(4), g).shape == (2, 2)
    assert np.allclose(ng.natural_gradient_pinv(2 * np.eye(4), g), g / 2)
    assert ng.natural_gradient_damped(np.eye(4), g, 1.0).shape == (2, 2)
    assert np.allclose(ng.natural_gradient_damped(np.eye(4), g, 1.0), g / 2)


def test_natural_gradient_solvers_read_exact_fractions_as_float64():
    """Exact-arithmetic inputs (Fractions) are read as float64, for fisher and for grad.

    [[2, 1], [1, 3]]^{-1} = [[3, -1], [-1, 2]] / 5, so the solution for g = (1, 1) is (2/5, 1/5).
    """
    f = np.array([[2.0, 1.0], [1.0, 3.0]])
    f_exact = [[Fraction(2), Fraction(1)], [Fraction(1), Fraction(3)]]
    g_exact = [Fraction(1), Fraction(1)]
    expected = np.array([0.4, 0.2])
    assert np.allclose(ng.natural_gradient_pinv(f_exact, np.ones(2)), expected, rtol=1e-12)
    assert np.allclose(ng.natural_gradient_pinv(f, g_exact), expected, rtol=1e-12)
    # damped: F + I = [[3, 1], [1, 4]], inverse [[4, -1], [-1, 3]] / 11, times (1, 1) = (3, 2) / 11
    assert np.allclose(ng.natural_gradient_damped(f_exact, g_exact, 1.0), [3 / 11, 2 / 11],
                       rtol=1e-12)


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


def test_flat_grad_gives_zeros_for_unused_params():
    """d sum(w^2) / d(w, u) = (2 w, 0): a parameter the output does not use gets zeros."""
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    u = torch.ones(3, dtype=torch.float64, requires_grad=True)
    out = ng.flat_grad((w ** 2).sum(), [w, u])
    assert torch.equal(out, torch.tensor([2.0, 4.0, 0.0, 0.0, 0.0], dtype=torch.float64))


def test_flat_grad_builds_a_graph_only_on_request():
    """create_graph defaults to False (a plain gradient); with True the gradient 2 w is
    itself differentiable, and d sum(2 w) / dw = (2, 2)."""
    w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert not ng.flat_grad((w ** 2).sum(), [w]).requires_grad
    g = ng.flat_grad((w ** 2).sum(), [w], create_graph=True)
    assert g.requires_grad
    assert torch.equal(ng.flat_grad(g.sum(), [w]), torch.tensor([2.0, 2.0], dtype=torch.float64))


def _spd(n: int, seed: int) -> torch.Tensor:
    a = torch.as_tensor(np.random.default_rng(seed).normal(size=(n, n)))
    return a @ a.T + 0.1 * torch.eye(n, dtype=torch.float64)


def test_conjugate_gradient_solves_spd_system():
    m = _spd(6, 0)
    b = torch.arange(6, dtype=torch.float64)
    x = ng.conjugate_gradient(lambda v: m @ v, b, iters=50, tol=1e-14, damping=0.5)
    assert torch.allclose(x, torch.linalg.solve(m + 0.5 * torch.eye(6, dtype=torch.float64), b))


def _diag_fvp(values, calls=None):
    m = torch.diag(torch.as_tensor(values, dtype=torch.float64))

    def fvp(v):
        if calls is not None:
            calls.append(1)
        return m @ v

    return fvp


def test_conjugate_gradient_defaults_solve_a_small_system():
    """With the default tol (1e-10) CG solves diag(1, 2, 4) x = 1 exactly: x = (1, 1/2, 1/4)."""
    x = ng.conjugate_gradient(_diag_fvp([1.0, 2.0, 4.0]), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(x, torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64), atol=1e-12)


def test_conjugate_gradient_default_is_ten_iterations():
    """12 distinct eigenvalues need 12 CG steps; the default iters = 10 stops after 10 products."""
    calls = []
    b = torch.ones(12, dtype=torch.float64)
    values = torch.arange(1, 13, dtype=torch.float64)
    x = ng.conjugate_gradient(_diag_fvp(values, calls), b)
    assert len(calls) == 10
    assert torch.linalg.vector_norm(b - values * x) > 1e-10 * torch.linalg.vector_norm(b)


def test_conjugate_gradient_one_iteration_is_a_steepest_descent_step():
    """iters = 1 is allowed and gives x = (b.b / b.F b) b: F = diag(1, 2), b = 1 -> (2/3, 2/3)."""
    x = ng.conjugate_gradient(_diag_fvp([1.0, 2.0]), torch.ones(2, dtype=torch.float64), iters=1)
    assert torch.allclose(x, torch.full((2,), 2 / 3, dtype=torch.float64), atol=1e-15)


def test_conjugate_gradient_tol_zero_is_allowed():
    """tol must be >= 0, so 0 is valid (run all iters): 3 steps solve diag(1, 2, 4) x = 1."""
    x = ng.conjugate_gradient(_diag_fvp([1.0, 2.0, 4.0]), torch.ones(3, dtype=torch.float64),
                              iters=3, tol=0.0)
    assert torch.allclose(x, torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64), atol=1e-12)


def test_conjugate_gradient_stop_test_is_inclusive():
    """It stops when ||r|| <= tol ||b||: at x = 0, r = b, so tol = 1 returns 0 with no product.

    b = (3, 4) makes ||b||^2 = 25 = r.r exactly in floating point.
    """
    calls = []
    x = ng.conjugate_gradient(_diag_fvp([1.0, 2.0], calls),
                              torch.tensor([3.0, 4.0], dtype=torch.float64), tol=1.0)
    assert torch.equal(x, torch.zeros(2, dtype=torch.float64)) and calls == []


def test_conjugate_gradient_stops_on_zero_curvature():
    """b = (1, 1) spans the null space of the softmax Fisher at pi = (1/2, 1/2)
    ([[1, -1], [-1, 1]] / 4, NG-6): p.F p = 0, so CG stops at x = 0 = F^+ b, not at rr / 0."""
    f = torch.as_tensor(ng.state_fisher(SoftmaxPolicy(np.zeros((1, 2))))[0])
    x = ng.conjugate_gradient(lambda v: f @ v, torch.ones(2, dtype=torch.float64))
    assert isinstance(x, torch.Tensor) and torch.equal(x, torch.zeros(2, dtype=torch.float64))


def test_conjugate_gradient_zero_rhs_and_bad_input():
    m = _spd(3, 1)
    assert torch.all(ng.conjugate_gradient(lambda v: m @ v, torch.zeros(3, dtype=torch.float64))
                     == 0)
    with pytest.raises(ValueError, match="b: expected a flat"):
        ng.conjugate_gradient(lambda v: v, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="iters"):
        ng.conjugate_gradient(lambda v: v, torch.ones(2), iters=0)
    with pytest.raises(ValueError, match="iters: must be a positive integer, got True"):
        ng.conjugate_gradient(lambda v: v, torch.ones(2), iters=True)
    with pytest.raises(ValueError, match="iters: must be a positive integer, got 2.5"):
        ng.conjugate_gradient(lambda v: v, torch.ones(2), iters=2.5)
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


def test_trust_region_step_defaults_undamped_full_solve():
    """Defaults (10 iters, tol 1e-10, no damping) solve diag(1, 2) x = (1, 1): x = (1, 1/2),
    x^T F x = 3/2, alpha = sqrt(2 * 0.03 / 1.5) = 0.2, step = (0.2, 0.1)."""
    step, alpha = ng.trust_region_step(_diag_fvp([1.0, 2.0]), torch.ones(2, dtype=torch.float64),
                                       0.03)
    assert np.isclose(alpha, 0.2, rtol=1e-12)
    assert torch.allclose(step, torch.tensor([0.2, 0.1], dtype=torch.float64), atol=1e-14)


def test_trust_region_step_passes_iters_and_tol_to_cg():
    """iters = 1, or tol = 0.9, stops CG after its first step x = (2/3, 2/3) on diag(1, 2), b = 1
    (then ||r||^2 = 2/9 <= (0.9 sqrt 2)^2 = 1.62): x^T F x = 4/3, alpha = sqrt(0.06 * 3 / 4)."""
    g = torch.ones(2, dtype=torch.float64)
    alpha_expected = np.sqrt(0.06 * 3 / 4)
    for kw in ({"iters": 1}, {"tol": 0.9}):
        step, alpha = ng.trust_region_step(_diag_fvp([1.0, 2.0]), g, 0.03, **kw)
        assert np.isclose(alpha, alpha_expected, rtol=1e-12)
        assert torch.allclose(step, torch.full((2,), alpha_expected * 2 / 3, dtype=torch.float64),
                              atol=1e-14)


def test_trust_region_step_default_is_ten_cg_iterations():
    """On 12 distinct eigenvalues CG uses all 10 default iterations: 10 products, plus 1 for x^T F x."""
    calls = []
    ng.trust_region_step(_diag_fvp(torch.arange(1, 13, dtype=torch.float64), calls),
                         torch.ones(12, dtype=torch.float64), 0.01)
    assert len(calls) == 11


def test_fisher_vector_product_bad_input():
    with pytest.raises(ValueError, match="params: need at least one"):
        ng.fisher_vector_product(lambda: torch.tensor(0.0), [])
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="kl_fn: must return a scalar"):
        ng.fisher_vector_product(lambda: w * 2, [w])
    with pytest.raises(ValueError, match="weights: expected shape"):
        ng.tabular_kl_fn(torch.zeros(2, 2, requires_grad=True), np.ones(3))
    with pytest.raises(ValueError, match="logits: expected an"):
        ng.tabular_kl_fn(np.zeros((2, 2)), np.ones(2))


def test_tabular_fvp_reads_exact_weights_and_any_float_v():
    """At uniform logits each state's Fisher is [[1, -1], [-1, 1]] / 4, weighted by w = (3/2, 1/2)
    (given as Fractions): F e_0 = (3/8, -3/8, 0, 0). v may be float32; it is cast to the
    parameters' float64."""
    logits = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    fvp = ng.fisher_vector_product(ng.tabular_kl_fn(logits, [Fraction(3, 2), Fraction(1, 2)]),
                                   [logits])
    expected = torch.tensor([0.375, -0.375, 0.0, 0.0], dtype=torch.float64)
    assert torch.allclose(fvp(torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float64)), expected,
                          atol=1e-15)
    assert torch.allclose(fvp(torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=torch.float32)), expected,
                          atol=1e-15)


def test_tabular_kl_is_computed_in_the_logits_dtype():
    """Weights are cast to the logits' dtype, so float32 logits give a float32 KL (0 at the reference)."""
    logits = torch.zeros(2, 3, dtype=torch.float32, requires_grad=True)
    kl = ng.tabular_kl_fn(logits, np.array([1.0, 2.0]))()
    assert kl.dtype == torch.float32 and kl.item() == 0.0
