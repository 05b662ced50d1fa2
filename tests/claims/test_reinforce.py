"""Claims of the notes' section "REINFORCE" (PG-1..PG-4).

Each test checks one claim by symbolic algebra, exact computation
(enumeration / dynamic programming) or seeded sampling, and applies the same
check to a negative control that must be rejected.
"""

import numpy as np
import pytest
import sympy as sp
from _brute import finite_difference_gradient
from _support import BIAS, record_expressions, rejects, small_example
from hypothesis import given, settings
from hypothesis import strategies as st

from pgproofs import FiniteMDP, SoftmaxPolicy, check, exact, montecarlo, variance
from pgproofs import estimators as est
from pgproofs import strategies as pst
from pgproofs.symbolic import reinforce as sym
from pgproofs.testing import seeded_rng

ATOL = 1e-9


# ---- PG-1 -----------------------------------------------------------------------

@pytest.mark.claim("PG-1")
def test_pg1_log_derivative_trick_symbolic(evidence):
    d = sym.log_derivative_trick(n=3)
    assert d["pointwise_identity"] == 0
    assert sp.simplify(d["grad_J"] - d["score_form"]) == 0
    # Negative control: the same comparison rejects sum_i p_i (dp_i/dtheta) r_i
    # (grad p where grad log p belongs).
    theta = sp.Symbol("theta", real=True)
    ps = sorted(d["J"].atoms(sp.core.function.AppliedUndef), key=str)
    r = sp.symbols("r_1:4", real=True)
    wrong = sp.Add(*[p * sp.diff(p, theta) * ri for p, ri in zip(ps, r)])
    wrong_difference = sp.simplify(d["grad_J"] - wrong)
    assert wrong_difference != 0
    evidence.text("For three outcomes with arbitrary differentiable probabilities p_i(theta) "
                  "and rewards r_i, SymPy differentiates J = sum_i p_i r_i and the score form "
                  "sum_i p_i (d log p_i/dtheta) r_i: they are identical, and so are dp/dtheta "
                  "and p dlog p/dtheta. The same comparison rejects grad p in place of grad log p.")
    record_expressions(evidence, d, ["J", "grad_J", "score_form", "difference",
                                     "pointwise_identity"])
    evidence.expression("negative control: grad_J - sum_i p_i (dp_i/dtheta) r_i",
                        wrong_difference)


@pytest.mark.claim("PG-1")
def test_pg1_score_times_return_equals_gradient_of_expected_return(evidence):
    mdp, policy = small_example(1, S=2, A=2, T=3)
    fd = finite_difference_gradient(lambda th: exact.value(mdp, SoftmaxPolicy(th)), policy.logits)
    m = check.exact_moments(est.reinforce, mdp, policy)
    assert np.abs(m.mean - fd).max() < 1e-7      # Richardson-extrapolated differences: error ~1e-11
    # Negative control: the same comparison rejects grad pi in place of grad log pi.
    wrong = check.exact_moments(est.grad_pi_reinforce, mdp, policy)
    assert np.abs(wrong.mean - fd).max() > 1e-3
    evidence.text("E[grad log p(tau) r(tau)] by enumerating all trajectories of a 2-state, "
                  "2-action MDP with T = 3, against central finite differences of the exact "
                  "J(theta) (no policy-gradient theorem involved).")
    evidence.table("d J / d logits", ["quantity", "values (flattened)"], [
        ["finite differences of J", np.round(fd.ravel(), 10).tolist()],
        ["E[score x return] (enumeration)", np.round(m.mean.ravel(), 10).tolist()],
        ["E[grad pi x return] (negative control)", np.round(wrong.mean.ravel(), 10).tolist()]])
    evidence.number("max |E[score x return] - finite differences|", np.abs(m.mean - fd).max())
    evidence.number("max |negative control - finite differences|", np.abs(wrong.mean - fd).max())


# ---- PG-2 -----------------------------------------------------------------------

@pytest.mark.claim("PG-2")
def test_pg2_dynamics_drop_out_of_the_trajectory_score_symbolic(evidence):
    d = sym.trajectory_score(horizon=3)
    assert d["difference"] == 0
    assert d["grad_of_initial_and_dynamics_terms"] == 0
    # Negative control: the same comparison rejects a score that misses one step's term.
    missing_one = d["sum_of_policy_scores"] - d["sum_of_policy_scores"].args[0]
    assert sp.simplify(d["grad_log_p_tau"] - missing_one) != 0
    evidence.text("log p(tau) with undefined functions p_1(s_1), P(s'|s, a) (no theta) and "
                  "pi(a|s; theta), T = 3: its theta-derivative equals the sum of the policy "
                  "scores, the initial-state and dynamics terms have zero derivative; a sum "
                  "missing one step's score is rejected by the same comparison.")
    record_expressions(evidence, d, ["log_p_tau", "grad_log_p_tau", "sum_of_policy_scores",
                                     "difference", "grad_of_initial_and_dynamics_terms"])


def unnormalised_score_sum(policy, states, actions):
    """NEGATIVE CONTROL: sum_t onehot(s_t, a_t), forgetting the -pi(.|s_t) of the softmax."""
    n = states.shape[0]
    out = np.zeros((n,) + policy.logits.shape)
    for t in range(states.shape[1]):
        np.add.at(out, (np.arange(n), states[:, t], actions[:, t]), 1.0)
    return out


def log_trajectory_probability(mdp, policy, batch):
    """log p(tau) including the initial-state and dynamics factors, per trajectory."""
    s, a = batch.states, batch.actions
    logp = np.log(mdp.initial[s[:, 0]]) + policy.log_probs[s, a].sum(axis=1)
    if s.shape[1] > 1:
        logp = logp + np.log(mdp.transitions[s[:, :-1], a[:, :-1], s[:, 1:]]).sum(axis=1)
    return logp


@pytest.mark.claim("PG-2")
def test_pg2_trajectory_score_is_the_sum_of_policy_scores(evidence):
    """d/dtheta log p(tau), dynamics included, by finite differences for every trajectory."""
    worst = [0.0]

    @settings(max_examples=15)
    @given(pst.mdps_and_policies(horizon=(1, 3)))
    def prop(case):
        mdp, policy = case
        batch = exact.enumerate_trajectories(mdp, policy).batch
        fd = finite_difference_gradient(
            lambda th: log_trajectory_probability(mdp, SoftmaxPolicy(th), batch), policy.logits)
        err = np.abs(policy.score_sum(batch.states, batch.actions) - fd).max()
        assert err < 1e-6
        worst[0] = max(worst[0], err)

    prop()
    # Negative control: the same comparison rejects the score without the softmax's
    # normalising term (onehot(a) in place of onehot(a) - pi(.|s)).
    mdp, policy = small_example(2, S=2, A=3, T=2)
    batch = exact.enumerate_trajectories(mdp, policy).batch
    fd = finite_difference_gradient(
        lambda th: log_trajectory_probability(mdp, SoftmaxPolicy(th), batch), policy.logits)
    control = np.abs(unnormalised_score_sum(policy, batch.states, batch.actions) - fd).max()
    assert control > 1e-2
    evidence.text("For 15 Hypothesis-drawn MDPs (S, A, T <= 3, degenerate ones included), central "
                  "differences of log p(tau) = log p(s_1) + sum log pi + sum log p(s'|s, a), for "
                  "every trajectory, equal policy.score_sum, the sum of the per-step policy "
                  "scores.")
    evidence.number("max |score_sum - finite differences| over the drawn MDPs", worst[0])
    evidence.number("negative control (score without -pi(.|s)): max deviation", control)


# ---- PG-3 -----------------------------------------------------------------------

def scaled(estimator, factor):
    """NEGATIVE CONTROL: factor * estimator (factor -1: sign flip; 0.9: a 10% bias)."""
    def per_trajectory(batch, policy):
        return factor * estimator.per_trajectory(batch, policy)

    def call(batch, policy):
        return per_trajectory(batch, policy).mean(axis=0)
    call.per_trajectory = per_trajectory
    return call


@pytest.mark.claim("PG-3")
def test_pg3_reinforce_is_unbiased_exactly(evidence):
    worst = [0.0]

    @settings(max_examples=25)
    @given(pst.mdps_and_policies(), st.sampled_from([1, 2]))
    def prop(case, batch_size):
        mdp, policy = case
        if exact.count_trajectories(mdp, policy) ** batch_size > 50_000:
            batch_size = 1
        m = check.assert_unbiased(est.reinforce, mdp, policy, batch_size=batch_size)
        worst[0] = max(worst[0], np.abs(m.mean - exact.policy_gradient(mdp, policy)).max())

    prop()
    mdp, policy = small_example(3, S=2, A=2, T=3)
    messages = {name: rejects(check.assert_unbiased, ctrl, mdp, policy, match=BIAS)
                for name, ctrl in [("sign flip", scaled(est.reinforce, -1.0)),
                                   ("0.9 x REINFORCE (10% bias)", scaled(est.reinforce, 0.9)),
                                   ("grad pi for grad log pi", est.grad_pi_reinforce)]}
    evidence.text("check.assert_unbiased (exact enumeration, atol 1e-9) passes for REINFORCE on "
                  "25 Hypothesis-drawn MDPs with batch sizes 1 and 2, and rejects the negative "
                  "controls on a fixed 2x2 MDP with T = 3.")
    evidence.number("largest |E[g] - grad J| over the drawn MDPs", worst[0])
    evidence.table("negative controls rejected by assert_unbiased", ["control", "message"],
                   [[k, v] for k, v in messages.items()])


PG3_GRID = (1, 4, 16, 64, 256)
PG3_REPEATS = 3000
PG3_DELTA = 1e-6


@pytest.mark.claim("PG-3")
def test_pg3_error_falls_like_one_over_sqrt_n(evidence):
    """Sampled RMS error of REINFORCE against sqrt(tr Sigma / N), Sigma known exactly.

    For each N in PG3_GRID, Z = N ||g_bar_N - grad J||^2 / tr Sigma has E[Z] = 1
    exactly when the estimator is unbiased with covariance Sigma / N, and its
    variance is known exactly from the enumerated fourth moments
    (variance.squared_error_moments). The median of K group means of Z over
    3000 independent batches misses 1 by eps or more with probability
    <= 1e-6 / 5 (Chebyshev per group, binomial tail over groups:
    montecarlo.median_of_means_radius; no normal approximation). A union bound
    over the 5 values of N bounds the false-alarm probability of the test by
    1e-6. Power: a sign flip or a 10% bias adds N ||bias||^2 / tr Sigma to E[Z];
    the same check rejects both on the same samples (asserted below).
    """
    mdp, policy = small_example(0)
    truth = exact.policy_gradient(mdp, policy).reshape(1, -1)
    traj = exact.enumerate_trajectories(mdp, policy)
    values = est.reinforce.per_trajectory(traj.batch, policy)
    trace = check.exact_moments(est.reinforce, mdp, policy).total_variance
    rng = seeded_rng(3_000)
    names = ("REINFORCE", "sign flip", "0.9 x REINFORCE")
    factors = (1.0, -1.0, 0.9)
    rows, stats, bands = [], {n: [] for n in names}, ([], [])
    caught = {n: False for n in names[1:]}
    for N in PG3_GRID:
        var_z = N ** 2 * variance.squared_error_moments(values, traj.probs, truth, N)[1] / trace ** 2
        eps, K, _ = montecarlo.median_of_means_radius(var_z, PG3_REPEATS, PG3_DELTA / len(PG3_GRID))
        batch = mdp.sample(policy, N * PG3_REPEATS, rng)
        g = est.reinforce.per_trajectory(batch, policy).reshape(PG3_REPEATS, N, -1).mean(axis=1)
        z = {n: montecarlo.median_of_means(N * ((f * g - truth) ** 2).sum(axis=1) / trace, K)
             for n, f in zip(names, factors)}
        assert abs(z["REINFORCE"] - 1.0) < eps, (N, z, eps)
        for n in caught:
            caught[n] |= abs(z[n] - 1.0) >= eps
        for n in names:
            stats[n].append(float(np.sqrt(z[n] * trace / N)))
        bands[0].append(float(np.sqrt(max(1 - eps, 0.0) * trace / N)))
        bands[1].append(float(np.sqrt((1 + eps) * trace / N)))
        rows.append([N, K, round(eps, 4)] + [round(z[n], 4) for n in names])
    assert all(caught.values()), caught
    slope = float(np.polyfit(np.log(PG3_GRID), np.log(stats["REINFORCE"]), 1)[0])
    evidence.text("REINFORCE on a fixed 2-state, 2-action MDP with T = 2; 3000 independent "
                  "batches per N (seed 3000 + $PGPROOFS_SEED_OFFSET). Z = N ||g_bar - grad J||^2 "
                  "/ tr Sigma has mean exactly 1; the test passes when the median of means of Z "
                  "lies within eps of 1 for every N (false alarm <= 1e-6 in all: Chebyshev with "
                  "the exact variance of Z, binomial tail over groups, union bound over N). The "
                  "same check rejects the sign-flipped and the 10%-biased estimator on the same "
                  "samples: their error stops falling with N.")
    evidence.number("tr Sigma (exact, one trajectory)", trace)
    evidence.number("fitted slope of log RMS error against log N", slope, note="theory: -1/2")
    evidence.table("median of means of Z = N ||g_bar - grad J||^2 / tr Sigma (1 if unbiased)",
                   ["N", "groups K", "eps"] + list(names), rows)
    evidence.curve("RMS error against batch size N", x=list(PG3_GRID),
                   series={"REINFORCE (sampled)": stats["REINFORCE"],
                           "sqrt(tr Sigma / N) (exact)": [float(np.sqrt(trace / N))
                                                          for N in PG3_GRID],
                           "0.9 x REINFORCE (negative control)": stats["0.9 x REINFORCE"]},
                   bands={"REINFORCE (sampled)": bands}, xlabel="N", ylabel="RMS error",
                   logx=True, logy=True)


# ---- PG-4 -----------------------------------------------------------------------

@pytest.mark.claim("PG-4")
def test_pg4_reward_shift_variance_is_quadratic_symbolic(evidence):
    d = sym.reward_shift(k=3)
    assert all(e == 0 for e in d["mean_change"])
    assert d["degree_in_c"] == 2
    assert d["c2_coefficient_minus_expected_score_norm"] == 0
    assert d["derivative_at_minimiser"] == 0
    # Negative control: the same degree check rejects "the variance does not depend on c".
    assert d["degree_in_c"] != 0
    evidence.text("3-armed softmax bandit with probabilities p_1, p_2, 1 - p_1 - p_2 and rewards "
                  "r_a + c: E[g_c] does not depend on c, tr Cov[g_c] is a quadratic in c whose "
                  "c^2 coefficient is E||grad log pi||^2 > 0, minimised at c* = "
                  "-E[||psi||^2 r] / E[||psi||^2]; a shift making all rewards positive raises "
                  "the variance whenever it moves c away from c*.")
    record_expressions(evidence, d, ["mean_change", "c2_coefficient", "minimising_shift",
                                     "total_variance"])


def shifted(mdp, c):
    return FiniteMDP(mdp.initial, mdp.transitions, mdp.rewards + c, mdp.horizon, mdp.discount)


@pytest.mark.claim("PG-4")
def test_pg4_reward_shift_keeps_the_mean_and_moves_the_variance_exactly(evidence):
    mdp, policy = small_example(4, S=3, A=2, T=4)
    T = mdp.horizon
    shifts = [-2.0, -1.0, 0.0, 1.0, 2.0, 1.0 - float(mdp.rewards.min())]
    grad = exact.policy_gradient(mdp, policy)
    rows, var = [], []
    for c in shifts:
        m = est.reinforce.exact_moments(shifted(mdp, c), policy)
        enum = check.exact_moments(est.reinforce, shifted(mdp, c), policy)
        np.testing.assert_allclose(m.mean, grad, atol=ATOL)
        np.testing.assert_allclose(enum.mean, grad, atol=ATOL)
        np.testing.assert_allclose(m.cov, enum.cov, atol=ATOL)
        var.append(m.total_variance)
        rows.append([c, m.total_variance])
    coef = np.polyfit(shifts[:3], var[:3], 2)   # the quadratic through three points ...
    np.testing.assert_allclose(np.polyval(coef, shifts[3:]), var[3:], rtol=1e-9)  # ... predicts the rest
    # Var[G (R + c T)] has c^2 coefficient T^2 tr E[G G^T]
    tm = variance.trajectory_moments(mdp, policy)
    predicted = T ** 2 * np.trace(tm.GGR[0])
    np.testing.assert_allclose(coef[0], predicted, rtol=1e-8)
    # Negative control: the same mean-invariance check rejects grad pi in place of grad
    # log pi, whose expectation moves with c (E[grad pi] != 0).
    g0 = check.exact_moments(est.grad_pi_reinforce, mdp, policy).mean
    g1 = check.exact_moments(est.grad_pi_reinforce, shifted(mdp, 1.0), policy).mean
    assert np.abs(g1 - g0).max() > 1e-3
    evidence.text("Exact REINFORCE moments (DP, and enumeration: they agree to 1e-9) on a "
                  "3-state, 2-action MDP with T = 4 after adding c to every reward: the mean stays "
                  "the exact gradient; the total variance is the quadratic through the first three "
                  "points, with c^2 coefficient T^2 tr E[G G^T]. The last row shifts all rewards to "
                  ">= 1, the notes' 'all rewards positive' picture.")
    evidence.table("total variance of REINFORCE against the reward shift c", ["c", "tr Cov"], rows)
    evidence.number("c^2 coefficient (fitted)", coef[0])
    evidence.number("T^2 tr E[G G^T] (predicted)", predicted)
    evidence.number("variance-minimising shift c*", -coef[1] / (2 * coef[0]))
    evidence.number("negative control: max |change of E[grad-pi estimator]| for c = 1",
                    np.abs(g1 - g0).max())
