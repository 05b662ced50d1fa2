"""Section 3 of the notes, "Off-Policy Policy Gradients": claims IS-1 .. IS-8.

Throughout, ``target`` is pi_theta' (the policy whose gradient we want) and
``behaviour`` is pi_theta (the policy that collected the data). Exact checks
enumerate every trajectory under the behaviour (pgproofs.check); the
dynamic-programming quantities of pgproofs.importance are cross-checked
against enumeration; the Monte Carlo test states its false-alarm bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, find, given, settings
from hypothesis.errors import NoSuchExample
from sympy.core.function import AppliedUndef

from pgproofs import check, exact
from pgproofs import importance as imp
from pgproofs import strategies as pst
from pgproofs.mdp import FiniteMDP
from pgproofs.policy import SoftmaxPolicy
from pgproofs.returns import discounted_return
from pgproofs.strategies import random_mdp, random_policy
from pgproofs.symbolic import importance as sym
from pgproofs.testing import seed_offset

SEED_OFFSET = seed_offset()  # $PGPROOFS_SEED_OFFSET shifts every Monte Carlo seed
# Hypothesis' find() runs outside @given, so it needs its own deterministic settings.
FIND_SETTINGS = settings(database=None, derandomize=True, max_examples=3000,
                         suppress_health_check=list(HealthCheck))


# ---------------------------------------------------------------- helpers

def random_case(rng: np.random.Generator, *, states=(1, 3), actions=(2, 3), horizon=(2, 4),
                logit_scale=1.0, discount=1.0):
    """(mdp, target, behaviour) with dense Dirichlet dynamics and N(0, scale^2) logits."""
    S = int(rng.integers(states[0], states[1] + 1))
    A = int(rng.integers(actions[0], actions[1] + 1))
    T = int(rng.integers(horizon[0], horizon[1] + 1))
    mdp = random_mdp(rng, S, A, T, rewards="uniform", discount=discount)
    target = random_policy(rng, S, A, scale=logit_scale)
    behaviour = random_policy(rng, S, A, scale=logit_scale)
    return mdp, target, behaviour


def fixed_case(seed=7, S=2, A=3, T=3, discount=1.0):
    """A fixed, non-degenerate case for negative controls and sweeps."""
    return random_case(np.random.default_rng(seed), states=(S, S), actions=(A, A),
                       horizon=(T, T), discount=discount)


def trajectory_probability(mdp, policy, batch):
    """p(tau) = p(s_1) prod_t pi(a_t|s_t) p(s_{t+1}|s_t, a_t), with the dynamics (oracle for IS-2)."""
    s, a = batch.states, batch.actions
    p = mdp.initial[s[:, 0]] * np.prod(policy.probs[s, a], axis=1)
    return p * np.prod(mdp.transitions[s[:, :-1], a[:, :-1], s[:, 1:]], axis=1)


def trajectory_function(batch):
    """An arbitrary bounded function of the whole trajectory, f(tau)."""
    t = np.arange(1, batch.horizon + 1)
    return np.sin(((3 * batch.states + 7 * batch.actions + 1) * t).sum(axis=1)) + batch.rewards.sum(1)


def target_expectation(mdp, target, fn):
    """E_{tau ~ p_theta'}[fn(batch)], by enumerating the target's trajectories."""
    traj = exact.enumerate_trajectories(mdp, target)
    return np.tensordot(traj.probs, fn(traj.batch), axes=1)


def behaviour_expectation(mdp, behaviour, fn):
    traj = exact.enumerate_trajectories(mdp, behaviour)
    return np.tensordot(traj.probs, fn(traj.batch), axes=1)


def bias_of(estimator, mdp, target, behaviour):
    m = check.exact_moments(estimator, mdp, target, behavior=behaviour)
    return m.mean - exact.policy_gradient(mdp, target), m


def without_support(policy, state, action):
    """A copy of ``policy`` that never takes ``action`` in ``state`` (logit -1000: exp underflows to 0)."""
    logits = np.array(policy.logits)
    logits[state, action] = -1000.0
    out = SoftmaxPolicy(logits)
    assert out.probs[state, action] == 0.0
    return out


def _inverted_per_trajectory(batch, policy):
    """Negative control: the ratio turned upside down, pi_theta / pi_theta' (behaviour over target)."""
    w = np.exp(-imp.log_importance_ratios(batch, policy).sum(axis=1))
    ret = discounted_return(batch.rewards, batch.discount)
    return policy.score_sum(batch.states, batch.actions) * (w * ret)[:, None, None]


def inverted_ratio_reinforce(batch, policy):
    return _inverted_per_trajectory(batch, policy).mean(axis=0)


inverted_ratio_reinforce.per_trajectory = _inverted_per_trajectory


SMALL = dict(states=(1, 2), actions=(2, 3), horizon=(1, 2))  # default-run search space


def shrunk(condition, **sizes):
    """The smallest drawn (mdp, target, behaviour) satisfying ``condition``, by hypothesis.find."""
    return find(pst.mdps_and_policies(n_policies=2, **sizes), condition, settings=FIND_SETTINGS)


def smallest(condition, boxes):
    """Search nested size boxes, smallest first: shrinking alone can stall in a bigger MDP
    (e.g. with unreachable states), so the first box that holds an example wins."""
    for sizes in boxes:
        try:
            return shrunk(condition, **sizes), sizes
        except NoSuchExample:
            continue
    raise NoSuchExample(f"no example in any of {boxes}")


def run_given(strategy, body, max_examples):
    """Run ``body`` on Hypothesis draws inside a test that also uses the evidence fixture."""

    @settings(max_examples=max_examples)
    @given(strategy)
    def inner(case):
        body(case)

    inner()


def distinct(case):
    mdp, target, behaviour = case
    return not np.allclose(target.probs, behaviour.probs)


# ---------------------------------------------------------------- IS-1

@pytest.mark.claim("IS-1")
def test_is1_importance_sampling_identity_symbolic(evidence):
    holds = sym.importance_sampling_identity(n=3)
    assert holds["identity_holds"]
    broken = sym.importance_sampling_identity(n=3, missing=(2,))
    assert not broken["identity_holds"]  # negative control: q misses outcome 3
    assert broken["fails_by_missing_mass"]
    evidence.text("Over n = 3 outcomes with generic probabilities p_i (target), q_i > 0 "
                  "(behaviour) and values f_i, sum_i q_i (p_i/q_i) f_i - sum_i p_i f_i simplifies "
                  "to 0. When q_3 = 0 the samples never show outcome 3 and the difference is "
                  "exactly minus the missing mass times f there.")
    evidence.expression("E_q[(p/q) f] (full support)", holds["lhs"])
    evidence.expression("E_q[(p/q) f] - E_p[f] (full support)", holds["difference"])
    evidence.expression("E_q[(p/q) f] - E_p[f] (q_3 = 0)", broken["difference"])


@pytest.mark.claim("IS-1")
def test_is1_trajectory_importance_identity_exact(evidence):
    """E_theta[W f(tau)] = E_theta'[f(tau)] on drawn MDPs; it fails by the missing mass times f."""
    worst = []

    def body(case):
        mdp, target, behaviour = case
        lhs = behaviour_expectation(
            mdp, behaviour, lambda b: imp.trajectory_weights(b, target) * trajectory_function(b))
        rhs = target_expectation(mdp, target, trajectory_function)
        worst.append(abs(lhs - rhs))
        assert abs(lhs - rhs) <= 1e-9 * (1 + abs(rhs))

    run_given(pst.mdps_and_policies(n_policies=2), body, max_examples=40)

    # Negative control: the behaviour never takes action 0 in state 0, the target does.
    mdp, target, behaviour = fixed_case()
    narrow = without_support(behaviour, 0, 0)
    lhs = behaviour_expectation(
        mdp, narrow, lambda b: imp.trajectory_weights(b, target) * trajectory_function(b))
    rhs = target_expectation(mdp, target, trajectory_function)

    def outside(b):  # f(tau) on trajectories the behaviour cannot produce, else 0
        left = np.any((b.states == 0) & (b.actions == 0), axis=1)
        return np.where(left, trajectory_function(b), 0.0)

    missing = target_expectation(mdp, target, outside)
    missing_mass = target_expectation(mdp, target, lambda b: np.any(
        (b.states == 0) & (b.actions == 0), axis=1).astype(float))
    assert abs(lhs - rhs) > 1e-3                     # the identity fails ...
    assert abs((lhs - rhs) + missing) <= 1e-12       # ... by exactly -E_theta'[f; outside]
    w = imp.weight_moments(mdp, target, narrow)
    assert abs(w.mean[-1] - (1 - missing_mass)) <= 1e-12
    evidence.number("max |E_theta[W f] - E_theta'[f]| over drawn cases", max(worst))
    evidence.number("drawn cases", len(worst))
    evidence.table("support mismatch (negative control)", ["quantity", "value"], [
        ["E_theta[W f] - E_theta'[f]", lhs - rhs],
        ["-E_theta'[f ; tau outside support]", -missing],
        ["target mass outside support", missing_mass],
        ["E_theta[W] (DP)", w.mean[-1]],
    ], note="behaviour logit[0, 0] = -1000, so it never takes action 0 in state 0")


# ---------------------------------------------------------------- IS-2

@pytest.mark.claim("IS-2")
def test_is2_dynamics_cancel_symbolic(evidence):
    out = sym.dynamics_cancel(horizon=3)
    assert out["difference"] == 0
    assert not out["mentions_dynamics"]
    # Negative control: the same test on the trajectory probability itself finds the dynamics.
    assert {f.func.__name__ for f in out["p_target"].atoms(AppliedUndef)} >= {"p_1", "P"}
    evidence.text("With undefined functions p_1(s), P(s'|s, a), pi_new(a|s), pi_old(a|s) and "
                  "T = 3, SymPy reduces p_theta'(tau)/p_theta(tau) to the product of policy "
                  "ratios; the ratio no longer mentions p_1 or P.")
    evidence.expression("p_theta'(tau)", out["p_target"])
    evidence.expression("p_theta'(tau) / p_theta(tau)", out["ratio"])


@pytest.mark.claim("IS-2")
def test_is2_weights_from_logged_log_probs_equal_trajectory_ratio(evidence):
    """Weights computed from logged log-probabilities alone equal p_theta'(tau)/p_theta(tau) with dynamics."""
    errors = []

    def body(case):
        mdp, target, behaviour = case
        traj = exact.enumerate_trajectories(mdp, behaviour)
        ratio = trajectory_probability(mdp, target, traj.batch) / trajectory_probability(
            mdp, behaviour, traj.batch)
        w = imp.trajectory_weights(traj.batch, target)
        errors.append(np.max(np.abs(w - ratio) / ratio.clip(min=1e-300)))
        np.testing.assert_allclose(w, ratio, rtol=1e-9)

    run_given(pst.mdps_and_policies(n_policies=2), body, max_examples=40)
    # Negative control: the inverted ratio fails the same comparison.
    mdp, target, behaviour = fixed_case()
    traj = exact.enumerate_trajectories(mdp, behaviour)
    ratio = trajectory_probability(mdp, target, traj.batch) / trajectory_probability(
        mdp, behaviour, traj.batch)
    inverted = 1.0 / imp.trajectory_weights(traj.batch, target)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(inverted, ratio, rtol=1e-9)
    evidence.number("max relative error, weights vs p_theta'(tau)/p_theta(tau)", max(errors))
    evidence.number("drawn cases", len(errors))


# ---------------------------------------------------------------- IS-3

@pytest.mark.claim("IS-3")
def test_is3_off_policy_reinforce_unbiased_exact(evidence):
    biases = []

    def body(case):
        mdp, target, behaviour = case
        m = check.assert_unbiased(imp.off_policy_reinforce, mdp, target, behavior=behaviour)
        biases.append(np.max(np.abs(m.mean - exact.policy_gradient(mdp, target))))

    run_given(pst.mdps_and_policies(n_policies=2), body, max_examples=40)
    # Negative controls, rejected by the same check.
    mdp, target, behaviour = fixed_case()
    inverted_bias, _ = bias_of(inverted_ratio_reinforce, mdp, target, behaviour)
    with pytest.raises(AssertionError, match="biased"):
        check.assert_unbiased(inverted_ratio_reinforce, mdp, target, behavior=behaviour)
    narrow = without_support(behaviour, 0, 0)
    support_bias, _ = bias_of(imp.off_policy_reinforce, mdp, target, narrow)
    with pytest.raises(AssertionError, match="biased"):
        check.assert_unbiased(imp.off_policy_reinforce, mdp, target, behavior=narrow)
    evidence.text("check.assert_unbiased (exact enumeration under the behaviour, atol 1e-9) "
                  "accepts W(tau) grad log pi_theta'(tau) r(tau) on every drawn (MDP, target, "
                  "behaviour), and rejects the inverted ratio pi_theta/pi_theta' and a behaviour "
                  "that never takes an action the target takes.")
    evidence.number("max |bias| over drawn cases", max(biases))
    evidence.number("drawn cases", len(biases))
    evidence.number("max |bias|, inverted ratio (negative control)", np.abs(inverted_bias).max())
    evidence.number("max |bias|, support mismatch (negative control)", np.abs(support_bias).max())


def bernstein_radius(variance, spread, n, delta):
    """eps with P(|mean_n - mu| >= eps) <= delta for i.i.d. X, |X - mu| <= spread, Var X = variance.

    Bernstein: P(|mean - mu| >= eps) <= 2 exp(-n eps^2 / (2 variance + 2 spread eps / 3)),
    solved for eps at probability delta.
    """
    L = math.log(2.0 / delta)
    a = 2.0 * spread * L / 3.0
    return (a + math.sqrt(a * a + 8.0 * n * L * variance)) / (2.0 * n)


def monte_carlo_check(estimator, mdp, target, behaviour, n, seed, alpha=1e-6):
    """Sample n trajectories under the behaviour; compare the mean with grad J(theta') per logit.

    The radius per logit uses the estimator's exact variance and exact range
    (both from enumeration) in Bernstein's inequality at alpha / (S A); a union
    bound over the S A logits makes the false-alarm probability <= alpha when
    the estimator is unbiased. Returns (accepted, deviation, radius, bias).
    """
    traj = exact.enumerate_trajectories(mdp, behaviour)
    terms = estimator.per_trajectory(traj.batch, target).reshape(len(traj), -1)
    mean = traj.probs @ terms
    variance = traj.probs @ (terms - mean) ** 2
    spread = np.abs(terms - mean).max(axis=0)
    radius = np.array([bernstein_radius(v, b, n, alpha / terms.shape[1])
                       for v, b in zip(variance, spread)])
    batch = mdp.sample(behaviour, n, np.random.default_rng(seed))
    deviation = estimator(batch, target).ravel() - exact.policy_gradient(mdp, target).ravel()
    bias = mean - exact.policy_gradient(mdp, target).ravel()
    return bool(np.all(np.abs(deviation) <= radius)), deviation, radius, bias


@pytest.mark.claim("IS-3")
def test_is3_off_policy_reinforce_unbiased_monte_carlo(evidence):
    """Monte Carlo companion: false-alarm probability <= 1e-6 (Bernstein + union bound).

    Power: the negative control's exact bias exceeds twice its own radius on
    some logit, so it passes only if that logit's mean deviates from its own
    expectation by more than the radius: probability <= 1e-6 by the same bound.
    """
    mdp, target, behaviour = fixed_case(S=2, A=2, T=3)
    n = 200_000
    ok, deviation, radius, _ = monte_carlo_check(imp.off_policy_reinforce, mdp, target,
                                                 behaviour, n, seed=301 + SEED_OFFSET)
    assert ok
    bad_ok, bad_dev, bad_radius, bad_bias = monte_carlo_check(
        inverted_ratio_reinforce, mdp, target, behaviour, n, seed=302 + SEED_OFFSET)
    assert np.any(np.abs(bad_bias) > 2 * bad_radius)  # power, decided exactly
    assert not bad_ok
    evidence.text(f"{n} trajectories under the behaviour (seed {301 + SEED_OFFSET}); per-logit "
                  "Bernstein radius from the exact variance and range, union bound over logits: "
                  "false-alarm probability <= 1e-6.")
    evidence.table("per-logit deviation from grad J(theta')",
                   ["logit", "deviation", "radius", "inverted-ratio deviation",
                    "inverted radius"],
                   [[i, deviation[i], radius[i], bad_dev[i], bad_radius[i]]
                    for i in range(len(radius))])


# ---------------------------------------------------------------- IS-4

@pytest.mark.claim("IS-4")
def test_is4_notes_double_counted_form_is_biased_per_decision_is_not(evidence):
    rows = []

    def body(case):
        mdp, target, behaviour = case
        check.assert_unbiased(imp.per_decision, mdp, target, behavior=behaviour)
        bias, _ = bias_of(imp.double_counted, mdp, target, behaviour)
        # Independent route to the bias: enumerate under the target, where
        # W_{1:T} is absorbed and the extra factor w_t remains.
        traj = exact.enumerate_trajectories(mdp, target)
        w = np.exp(target.log_prob(traj.batch.states, traj.batch.actions)
                   - behaviour.log_prob(traj.batch.states, traj.batch.actions))
        ret = discounted_return(traj.batch.rewards, mdp.discount)
        extra = target.score_sum(traj.batch.states, traj.batch.actions, (w - 1) * ret[:, None])
        predicted = np.tensordot(traj.probs, extra, axes=1)
        np.testing.assert_allclose(bias, predicted, atol=1e-9)
        rows.append(np.abs(bias).max())

    run_given(pst.mdps_and_policies(n_policies=2).filter(distinct), body, max_examples=40)
    rows = np.array(rows)

    mdp, target, behaviour = fixed_case()
    bias, _ = bias_of(imp.double_counted, mdp, target, behaviour)
    with pytest.raises(AssertionError, match="biased"):
        check.assert_unbiased(imp.double_counted, mdp, target, behavior=behaviour)
    check.assert_unbiased(imp.per_decision, mdp, target, behavior=behaviour)
    evidence.text("As written in the notes, the step-t score is weighted by prod_{t'<=t} w "
                  "times prod_{t''=t}^T w = W_{1:T} w_t: the ratio at t is counted twice. Its "
                  "exact bias equals E_theta'[sum_t (w_t - 1) grad log pi_theta'(a_t|s_t) r(tau)] "
                  "(checked on every drawn case by a second enumeration under the target). "
                  "With the future product starting at t+1 it becomes the unbiased "
                  "full-trajectory estimator; the per-decision form (reward r_t' weighted by "
                  "W_{1:t'}) is unbiased on every drawn case.")
    evidence.number("drawn cases (behaviour != target)", len(rows))
    evidence.number("fraction with |bias| > 1e-9 (notes' form)", float(np.mean(rows > 1e-9)))
    evidence.number("largest |bias| among drawn cases (notes' form)", rows.max())
    evidence.counterexample("fixed case: exact bias of the notes' double-counted form",
                            mdp=mdp, policy=target, behavior=behaviour, bias=bias,
                            max_abs_bias=float(np.abs(bias).max()),
                            note="policy = target theta', behavior = theta; the per-decision "
                                 "form is unbiased on the same case")


def visibly_biased(case):
    mdp, target, behaviour = case
    return np.abs(bias_of(imp.double_counted, mdp, target, behaviour)[0]).max() > 0.05


@pytest.mark.slow
@pytest.mark.claim("IS-4")
def test_is4_smallest_case_where_double_counting_biases(evidence):
    (mdp, target, behaviour), box = smallest(visibly_biased, [
        dict(states=(1, 1), actions=(2, 2), horizon=(1, 1)),
        dict(states=(1, 2), actions=(2, 3), horizon=(1, 2)),
        {}])
    bias, _ = bias_of(imp.double_counted, mdp, target, behaviour)
    with pytest.raises(AssertionError, match="biased"):
        check.assert_unbiased(imp.double_counted, mdp, target, behavior=behaviour)
    check.assert_unbiased(imp.per_decision, mdp, target, behavior=behaviour)
    evidence.counterexample("smallest case found with |bias| > 0.05 (notes' double-counted form)",
                            mdp=mdp, policy=target, behavior=behaviour, bias=bias,
                            max_abs_bias=float(np.abs(bias).max()),
                            note=f"Hypothesis-shrunk, smallest size box first ({box}); "
                                 "policy = target theta', behavior = theta")


# ---------------------------------------------------------------- sweeps (IS-5, IS-8)

def sweep(mdp, behaviour, direction, steps):
    """Exact bias/variance of the off-policy estimators along theta' = theta + s * direction."""
    out = {k: [] for k in ("alpha", "drop_bias", "surr_bias", "pd_bias", "drop_var", "pd_var",
                           "full_var", "surr_var", "value_gap", "bound", "tv_gap")}
    for s in steps:
        target = SoftmaxPolicy(behaviour.logits + s * direction)
        truth = exact.policy_gradient(mdp, target)
        moments = {name: check.exact_moments(est, mdp, target, behavior=behaviour)
                   for name, est in (("drop", imp.dropped_future_ratios),
                                     ("pd", imp.per_decision),
                                     ("full", imp.off_policy_reinforce),
                                     ("surr", imp.first_order_surrogate))}
        for name in ("drop", "surr", "pd"):
            out[f"{name}_bias"].append(float(np.linalg.norm(moments[name].mean - truth)))
        for name in ("drop", "pd", "full", "surr"):
            out[f"{name}_var"].append(moments[name].total_variance)
        out["alpha"].append(imp.max_tv_distance(target, behaviour))
        out["value_gap"].append(abs(exact.value(mdp, target)
                                    - imp.surrogate_value(mdp, target, behaviour)))
        out["bound"].append(imp.surrogate_error_bound(mdp, target, behaviour))
        d_new = exact.state_distributions(mdp, target)
        d_old = exact.state_distributions(mdp, behaviour)
        out["tv_gap"].append(0.5 * np.abs(d_new - d_old).sum(axis=1))  # per t
    return {k: np.array(v) for k, v in out.items()}


def sweep_case():
    mdp, _, behaviour = fixed_case(seed=11, S=3, A=3, T=3)
    direction = np.random.default_rng(12).normal(size=behaviour.logits.shape)
    return mdp, behaviour, direction / np.linalg.norm(direction)


STEPS = np.round(np.linspace(0.0, 4.0, 21), 10)


# ---------------------------------------------------------------- IS-5

@pytest.mark.claim("IS-5")
def test_is5_dropping_future_ratios_bias_vanishes_as_policies_meet(evidence):
    mdp, behaviour, direction = sweep_case()
    res = sweep(mdp, behaviour, direction, STEPS)
    small = sweep(mdp, behaviour, direction, [1e-3, 1e-4])
    assert res["drop_bias"][0] <= 1e-12                 # exact at theta' = theta
    assert np.all(res["drop_bias"][1:] > 1e-6)          # biased away from it ...
    assert np.all(res["pd_bias"] <= 1e-9)               # ... where the same check accepts per-decision
    slope = small["drop_bias"] / np.array([1e-3, 1e-4])
    assert abs(slope[0] / slope[1] - 1) < 0.01          # first order: bias ~ c s
    evidence.text("theta' = theta + s d (|d| = 1) on a fixed 3-state, 3-action, T = 3 MDP. The "
                  "bias of the dropped-future-ratio estimator is 0 at s = 0 and linear in s near "
                  "it (bias/s at s = 1e-3 and 1e-4 agree to 1 %), while the per-decision "
                  "estimator is unbiased along the whole sweep.")
    # Monte Carlo companion at s = 4 (false-alarm probability <= 1e-6 per check, Bernstein +
    # union bound as in IS-3): the same check accepts per-decision and rejects dropping.
    far = SoftmaxPolicy(behaviour.logits + STEPS[-1] * direction)
    n = 200_000
    pd_ok, _, _, _ = monte_carlo_check(imp.per_decision, mdp, far, behaviour, n,
                                       seed=501 + SEED_OFFSET)
    drop_ok, drop_dev, drop_radius, drop_bias = monte_carlo_check(
        imp.dropped_future_ratios, mdp, far, behaviour, n, seed=502 + SEED_OFFSET)
    assert pd_ok
    assert np.any(np.abs(drop_bias) > 2 * drop_radius)  # power, decided exactly
    assert not drop_ok
    evidence.number("bias / s near s = 0", slope[1])
    evidence.number("Monte Carlo at s = 4: max |bias| / radius (dropped)",
                    float(np.max(np.abs(drop_bias) / drop_radius)),
                    note=f"{n} trajectories; per-decision accepted, dropped rejected")
    evidence.curve("IS-5: bias against the policy distance", x=STEPS,
                   series={"dropped future ratios": res["drop_bias"],
                           "first-order surrogate (IS-8)": res["surr_bias"],
                           "per-decision (unbiased)": res["pd_bias"]},
                   xlabel="s (theta' = theta + s d)", ylabel="||E g - grad J(theta')||")
    evidence.curve("IS-5: total variance against the policy distance", x=STEPS,
                   series={"full trajectory": res["full_var"], "per-decision": res["pd_var"],
                           "dropped future ratios": res["drop_var"],
                           "first-order surrogate": res["surr_var"]},
                   xlabel="s (theta' = theta + s d)", ylabel="trace Cov[g]", logy=True)
    evidence.table("sweep", ["s", "max TV", "bias (dropped)", "Var dropped", "Var per-decision",
                             "Var full"],
                   [[s, a, b, v1, v2, v3] for s, a, b, v1, v2, v3 in zip(
                       STEPS, res["alpha"], res["drop_bias"], res["drop_var"], res["pd_var"],
                       res["full_var"])])


def variance_pair(case):
    mdp, target, behaviour = case
    drop = check.exact_moments(imp.dropped_future_ratios, mdp, target, behavior=behaviour)
    pd = check.exact_moments(imp.per_decision, mdp, target, behavior=behaviour)
    full = check.exact_moments(imp.off_policy_reinforce, mdp, target, behavior=behaviour)
    return drop.total_variance, pd.total_variance, full.total_variance


def variance_fractions(n_cases, seed, logit_scale):
    rng = np.random.default_rng(seed)
    lower_pd = lower_full = 0
    for _ in range(n_cases):
        drop, pd, full = variance_pair(random_case(rng, logit_scale=logit_scale))
        lower_pd += drop < pd
        lower_full += drop < full
    return lower_pd / n_cases, lower_full / n_cases


def dropping_increases_variance(case):
    mdp, target, behaviour = case
    drop, pd = (check.exact_moments(est, mdp, target, behavior=behaviour).total_variance
                for est in (imp.dropped_future_ratios, imp.per_decision))
    return drop > pd * (1 + 1e-6) + 1e-9


def record_variance_fractions(evidence, n_cases, scales):
    rows = []
    for scale in scales:
        f_pd, f_full = variance_fractions(n_cases, 5000 + SEED_OFFSET, scale)
        rows.append([scale, n_cases, f_pd, f_full])
    evidence.table("fraction of random MDPs where dropping future ratios lowers total variance",
                   ["logit scale", "cases", "vs per-decision", "vs full trajectory"], rows,
                   note="S in 1..3, A in 2..3, T in 2..4, Dirichlet(1) dynamics, rewards "
                        "U(-1, 1), target and behaviour logits i.i.d. N(0, scale^2); exact "
                        "variances by enumeration")
    return rows


@pytest.mark.claim("IS-5")
def test_is5_dropping_future_ratios_lowers_variance_only_often(evidence):
    rows = record_variance_fractions(evidence, n_cases=150, scales=(1.0,))
    fraction = rows[0][2]
    assert 0.0 < fraction < 1.0   # "lower" is neither always nor never
    mdp, target, behaviour = shrunk(dropping_increases_variance, **{**SMALL, "horizon": (2, 2)})
    drop, pd, full = variance_pair((mdp, target, behaviour))
    assert drop > pd
    # The same comparison accepts the notes' motivation on the typical case of the sweep.
    s_mdp, s_beh, s_dir = sweep_case()
    s_tgt = SoftmaxPolicy(s_beh.logits + 1.0 * s_dir)
    t_drop, t_pd, _ = variance_pair((s_mdp, s_tgt, s_beh))
    assert t_drop < t_pd
    evidence.number("fraction lower than per-decision (150 cases, scale 1)", fraction)
    evidence.counterexample(
        "Hypothesis-shrunk case where dropping future ratios increases the variance",
        mdp=mdp, policy=target, behavior=behaviour, variance_dropped=drop,
        variance_per_decision=pd, variance_full_trajectory=full,
        note="policy = target theta', behavior = theta; total variance = trace of the exact "
             "covariance for one trajectory")


@pytest.mark.slow
@pytest.mark.claim("IS-5")
def test_is5_variance_fraction_large_sample(evidence):
    rows = record_variance_fractions(evidence, n_cases=2000, scales=(0.3, 1.0, 2.0))
    assert all(0.0 < r[2] < 1.0 for r in rows)
    case, box = smallest(dropping_increases_variance, [  # T = 1 cannot differ: start at 2
        dict(states=(1, 1), actions=(2, 2), horizon=(2, 2)),
        dict(states=(1, 2), actions=(2, 3), horizon=(2, 3)),
        {}])
    drop, pd, full = variance_pair(case)
    assert drop > pd
    evidence.counterexample(
        "dropping future ratios increases the variance (smallest size box first)",
        mdp=case[0], policy=case[1], behavior=case[2], variance_dropped=drop,
        variance_per_decision=pd, variance_full_trajectory=full, note=f"size box {box}")


# ---------------------------------------------------------------- IS-6

def notes_example(horizon):
    """Two actions, behaviour (1/2, 1/2), target (0.55, 0.45): the ratios are exactly 1.1 and 0.9."""
    mdp = FiniteMDP([1.0], [[[1.0], [1.0]]], [[1.0, 0.0]], horizon)
    behaviour = SoftmaxPolicy([[0.0, 0.0]])
    target = SoftmaxPolicy([[math.log(0.55), math.log(0.45)]])
    return mdp, target, behaviour


@pytest.mark.claim("IS-6")
def test_is6_weight_mean_one_variance_grows_exponentially(evidence):
    T = 100
    mdp, target, behaviour = notes_example(T)
    w = imp.weight_moments(mdp, target, behaviour)
    rho = imp.per_step_second_moments(target, behaviour)
    rate = imp.variance_growth_rate(mdp, target, behaviour)
    np.testing.assert_allclose(w.mean, 1.0, atol=1e-12)
    np.testing.assert_allclose(w.second, 1.01 ** np.arange(1, T + 1), rtol=1e-12)
    assert abs(rate - math.log(1.01)) < 1e-12 and np.allclose(rho, 1.01, rtol=1e-14)
    largest = 1.1 ** 100
    assert abs(largest - 1.378e4) / 1.378e4 < 1e-3
    # The notes' figure is the largest weight, reached with probability 2^-100; the median
    # trajectory has 50 steps of each kind.
    median = 1.1 ** 50 * 0.9 ** 50
    # A generic 5-state, 5-action MDP: rate from the spectral radius vs the DP at T = 100.
    rng = np.random.default_rng(3)
    g_mdp = FiniteMDP(rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5), size=(5, 5)),
                      rng.uniform(-1, 1, (5, 5)), T)
    g_tgt, g_beh = SoftmaxPolicy(rng.normal(size=(5, 5))), SoftmaxPolicy(rng.normal(size=(5, 5)))
    gw = imp.weight_moments(g_mdp, g_tgt, g_beh)
    g_rate = imp.variance_growth_rate(g_mdp, g_tgt, g_beh)
    g_rho = imp.per_step_second_moments(g_tgt, g_beh)
    np.testing.assert_allclose(gw.mean, 1.0, atol=1e-9)
    empirical = math.log(gw.second[-1] / gw.second[-2])
    assert abs(empirical - g_rate) < 1e-6
    steps = np.arange(1, T + 1)
    assert np.all(np.log(gw.second) >= steps * np.log(g_rho.min()) - 1e-9)
    assert np.all(np.log(gw.second) <= steps * np.log(g_rho.max()) + 1e-9)
    # State-independent rho with non-trivial dynamics: each state permutes the same two rows,
    # so rho(s) is the same everywhere and E[W_{1:t}^2] = rho^t whatever the transitions.
    perm = [rng.permutation(3) for _ in range(4)]
    b_row, t_row = rng.normal(size=3), rng.normal(size=3)
    p_mdp = FiniteMDP(rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4), size=(4, 3)),
                      rng.uniform(-1, 1, (4, 3)), T)
    p_tgt = SoftmaxPolicy(np.array([t_row[p] for p in perm]))
    p_beh = SoftmaxPolicy(np.array([b_row[p] for p in perm]))
    p_rho = imp.per_step_second_moments(p_tgt, p_beh)
    assert np.ptp(p_rho) < 1e-12
    np.testing.assert_allclose(imp.weight_moments(p_mdp, p_tgt, p_beh).second,
                               p_rho[0] ** steps, rtol=1e-10)
    assert abs(imp.variance_growth_rate(p_mdp, p_tgt, p_beh) - math.log(p_rho[0])) < 1e-12
    # Negative control: target == behaviour gives no growth at all, and the same rate test sees it.
    assert abs(imp.variance_growth_rate(g_mdp, g_beh, g_beh)) < 1e-12
    evidence.text("Exact DP over time (no enumeration). The notes' example: per-step ratios "
                  "1.1 and 0.9 (target (0.55, 0.45), behaviour (1/2, 1/2)). E[w] = 1 at every "
                  "T; E[w^2] = 1.01^T exactly, so Var[w] grows like 1.01^T; 1.1^100 is the "
                  "largest possible weight, not a typical one.")
    evidence.number("1.1^100", largest)
    evidence.number("P(w = 1.1^100)", 0.5 ** 100)
    evidence.number("median weight at T = 100", median)
    evidence.number("E[w] at T = 100 (notes' example)", w.mean[-1])
    evidence.number("Var[w] at T = 100 (notes' example)", w.variance[-1])
    evidence.number("growth rate of Var[w], notes' example", rate, unit="per step",
                    note="log rho, rho = sum_a pi'^2/pi = 1.01")
    evidence.number("growth rate, random 5x5 MDP (spectral radius)", g_rate, unit="per step")
    evidence.number("growth rate, random 5x5 MDP (log E[w_100^2]/E[w_99^2])", empirical,
                    unit="per step")
    evidence.number("per-step log rho(s), random 5x5 MDP", np.log(g_rho))
    evidence.number("Var[w] at T = 100, random 5x5 MDP", gw.variance[-1])
    evidence.number("state-independent rho, 4-state MDP: log rho and the DP growth rate",
                    [math.log(p_rho[0]), imp.variance_growth_rate(p_mdp, p_tgt, p_beh)],
                    note="E[w_{1:t}^2] = rho^t for t = 1..100 (rtol 1e-10)")
    evidence.curve("IS-6: Var[w_{1:T}] against T", x=steps,
                   series={"notes' example (ratios 1.1 / 0.9)": w.variance,
                           "random 5x5 MDP": gw.variance},
                   xlabel="T", ylabel="Var[w]", logy=True)


@pytest.mark.claim("IS-6")
def test_is6_weight_moment_dp_matches_enumeration(evidence):
    errors = []

    def body(case):
        mdp, target, behaviour = case
        traj = exact.enumerate_trajectories(mdp, behaviour)
        W = imp.prefix_weights(traj.batch, target)
        w = imp.weight_moments(mdp, target, behaviour)
        # Relative to 1 + E[W^2]: near-deterministic drawn policies make E[W^2] reach 1e7.
        err = max(np.abs(traj.probs @ W - w.mean).max(),
                  (np.abs(traj.probs @ W ** 2 - w.second) / (1 + w.second)).max())
        errors.append(err)
        assert err <= 1e-9
        np.testing.assert_allclose(w.mean, 1.0, atol=1e-9)

    run_given(pst.mdps_and_policies(n_policies=2, horizon=(1, 4)), body, max_examples=40)
    # Negative control: the same comparison rejects a DP that forgets the 1/pi in E[w^2].
    mdp, target, behaviour = fixed_case()
    traj = exact.enumerate_trajectories(mdp, behaviour)
    wrong = exact.state_distributions(mdp, target) @ (target.probs ** 2).sum(axis=1)
    assert np.abs(traj.probs @ imp.prefix_weights(traj.batch, target)[:, -1] ** 2
                  - wrong[-1]) > 1e-3
    evidence.number("max |DP - enumeration| for E[W_{1:t}] and E[W_{1:t}^2] / (1 + E[W^2])",
                    max(errors))
    evidence.number("drawn cases", len(errors))


# ---------------------------------------------------------------- IS-7

def enumerated_conditional(mdp, target, behaviour):
    """E[W_{1:t-1} | s_t] and Var[...] by grouping the behaviour's trajectories by s_t."""
    traj = exact.enumerate_trajectories(mdp, behaviour)
    W = imp.prefix_weights(traj.batch, target)
    past = np.column_stack([np.ones(len(traj)), W[:, :-1]])  # W_{1:t-1}, empty product = 1
    T, S = mdp.horizon, mdp.n_states
    mean = np.full((T, S), np.nan)
    var = np.full((T, S), np.nan)
    for t in range(T):
        for s in range(S):
            at = traj.batch.states[:, t] == s
            p = traj.probs[at]
            if p.sum() > 0:
                mean[t, s] = p @ past[at, t] / p.sum()
                var[t, s] = p @ (past[at, t] - mean[t, s]) ** 2 / p.sum()
    return mean, var


@pytest.mark.claim("IS-7")
def test_is7_past_ratio_product_equals_marginal_ratio_in_expectation(evidence):
    errors = []

    def body(case):
        mdp, target, behaviour = case
        mean, var = enumerated_conditional(mdp, target, behaviour)
        ratio = imp.state_marginal_ratio(mdp, target, behaviour)
        dp_mean, dp_var = imp.conditional_prefix_weight_moments(mdp, target, behaviour)
        seen = ~np.isnan(mean)
        assert np.array_equal(seen, ~np.isnan(ratio))
        errors.append(np.abs(mean - ratio)[seen].max())
        np.testing.assert_allclose(mean[seen], ratio[seen], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dp_mean[seen], mean[seen], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dp_var[seen], var[seen], rtol=1e-7, atol=1e-9)

    run_given(pst.mdps_and_policies(n_policies=2), body, max_examples=40)
    mdp, target, behaviour = fixed_case(S=2, A=3, T=3)
    mean, var = enumerated_conditional(mdp, target, behaviour)
    ratio = imp.state_marginal_ratio(mdp, target, behaviour)
    assert np.nanmax(var) > 1e-3                       # one product is a noisy estimate
    assert np.nanmax(np.abs(ratio - 1)) > 1e-2         # and the ratio is not 1 (notes' last step)
    # Negative control: a product that forgets the step just before t (W_{1:t-2}) fails
    # the same comparison. (W_{1:t}, one step too many, passes it: E[w_t | s_t] = 1.)
    traj = exact.enumerate_trajectories(mdp, behaviour)
    W = imp.prefix_weights(traj.batch, target)
    at = traj.batch.states[:, 2] == 0
    forgetful = traj.probs[at] @ W[at, 0] / traj.probs[at].sum()
    one_more = traj.probs[at] @ W[at, 2] / traj.probs[at].sum()
    assert abs(forgetful - ratio[2, 0]) > 1e-3
    assert abs(one_more - ratio[2, 0]) <= 1e-12
    evidence.text("E_theta[prod_{k<t} w_k | s_t] (enumeration, grouped by s_t) equals "
                  "p_theta'(s_t)/p_theta(s_t) (from the two state distributions) exactly on every "
                  "drawn case; the conditional variance of the single product is positive, so "
                  "one sampled product only estimates the ratio without bias.")
    evidence.number("max |E[W_{1:t-1} | s_t] - p_theta'(s_t)/p_theta(s_t)|", max(errors))
    evidence.table("fixed case: conditional moments of W_{1:t-1} given s_t",
                   ["t", "s", "p_theta'(s_t)/p_theta(s_t)", "E[W | s_t]", "Var[W | s_t]"],
                   [[t + 1, s, ratio[t, s], mean[t, s], var[t, s]]
                    for t in range(mdp.horizon) for s in range(mdp.n_states)])


# ---------------------------------------------------------------- IS-8

@pytest.mark.claim("IS-8")
def test_is8_surrogate_is_first_order_symbolic(evidence):
    out = sym.surrogate_first_order(horizon=2)
    assert out["first_order_agrees"] and out["second_order_nonzero"]
    # Negative control: the zeroth-order guess J(theta') ~ J(theta) fails at first order.
    eps = sp.Symbol("epsilon", real=True)
    naive = sp.expand(out["J_target"] - out["J_target"].subs(eps, 0))
    assert sp.simplify(sp.diff(naive, eps).subs(eps, 0)) != 0
    evidence.text("2 states, 2 actions, T = 2, generic initial probability, transitions, rewards "
                  "and behaviour; target pi'(0|s) = b_s + eps delta_s. J(theta') - L_theta(theta') "
                  "has no eps^0 or eps^1 term: value and gradient agree at theta' = theta.")
    evidence.expression("J(theta') - L_theta(theta')", sp.factor(out["difference"]))


@pytest.mark.claim("IS-8")
def test_is8_surrogate_gradient_first_order_and_trpo_bound(evidence):
    errors = []

    def body(case):
        mdp, target, behaviour = case
        m = check.exact_moments(imp.first_order_surrogate, mdp, target, behavior=behaviour)
        expected = imp.surrogate_gradient(mdp, target, behaviour)
        errors.append(np.abs(m.mean - expected).max())
        np.testing.assert_allclose(m.mean, expected, atol=1e-9)
        check.assert_unbiased(imp.first_order_surrogate, mdp, behaviour, behavior=behaviour)
        gap = abs(exact.value(mdp, target) - imp.surrogate_value(mdp, target, behaviour))
        assert gap <= imp.surrogate_error_bound(mdp, target, behaviour) + 1e-12

    run_given(pst.mdps_and_policies(n_policies=2), body, max_examples=40)

    mdp, behaviour, direction = sweep_case()
    res = sweep(mdp, behaviour, direction, STEPS)
    small = sweep(mdp, behaviour, direction, [1e-3, 1e-4])
    assert res["surr_bias"][0] <= 1e-12 and np.all(res["surr_bias"][1:] > 1e-6)
    assert np.all(res["value_gap"] <= res["bound"] + 1e-12)
    second_order = small["value_gap"] / np.array([1e-3, 1e-4]) ** 2
    assert abs(second_order[0] / second_order[1] - 1) < 0.01
    # The lemma behind the bound: TV(p_theta'(s_t), p_theta(s_t)) <= (t - 1) alpha.
    t = np.arange(mdp.horizon)
    assert np.all(res["tv_gap"] <= t[None, :] * res["alpha"][:, None] + 1e-12)
    # Negative control: the notes' assumption that the marginals do not move (bound 0) is rejected.
    assert not np.all(res["tv_gap"][1:] <= 0 * res["alpha"][1:, None] + 1e-12)
    evidence.text("E[first-order surrogate] equals grad_theta' L_theta(theta') exactly (and "
                  "grad J at theta' = theta) on every drawn case. Bound checked: "
                  "|J(theta') - L_theta(theta')| <= 4 alpha^2 sum_t gamma^(t-1) (t-1) eps_t, "
                  "alpha = max_s TV(pi'(.|s), pi(.|s)), eps_t = max |A^theta_t|, the finite-horizon "
                  "form of Schulman et al. 2015 (TRPO) Theorem 1 (the sum tends to "
                  "gamma/(1-gamma)^2 as T -> infinity). It holds on every drawn case and along "
                  "the sweep; |J - L| is second order in s.")
    evidence.number("max |E g_surrogate - grad L| over drawn cases", max(errors))
    evidence.number("|J - L| / s^2 near s = 0", second_order[1])
    evidence.number("max (|J - L| / bound) along the sweep",
                    float(np.max(res["value_gap"][1:] / res["bound"][1:])))
    evidence.curve("IS-8: surrogate error against the policy distance", x=STEPS,
                   series={"|J(theta') - L_theta(theta')|": res["value_gap"],
                           "TRPO-style bound": res["bound"],
                           "||E g_surrogate - grad J(theta')||": res["surr_bias"]},
                   xlabel="s (theta' = theta + s d)", ylabel="error", logy=True)
