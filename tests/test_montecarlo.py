"""Monte Carlo checks (pgproofs.montecarlo) on an MDP far too large to enumerate.

False alarms: every assertion that an unbiased estimator is ACCEPTED uses the
empirical Bernstein test with a proven bound on the estimates (or Student's t
on exactly Gaussian estimates), so its false-alarm probability is at most
alpha = 1e-6 for the sample size used, by the union bound over components
(see the module docstring of pgproofs.montecarlo). Assertions that a biased
estimator is REJECTED cannot false-alarm; their power is shown in the test:
the exact bias exceeds twice the test's threshold, so a miss needs the sample
mean to stray by more than half the bias, beyond the threshold itself.
Seeds honour $PGPROOFS_SEED_OFFSET.
"""

import numpy as np
import pytest
import torch

from pgproofs import FiniteMDP, SoftmaxPolicy, check, estimators, exact
from pgproofs import bugs
from pgproofs import montecarlo as mc
from pgproofs.testing import seeded_rng

torch.set_num_threads(1)

ALPHA = 1e-6


@pytest.fixture(scope="module")
def large():
    """S=4, A=3, T=8: 4 * 12^7 * 3 ~ 4e8 trajectories, so only sampling can check it.

    Action 0 earns +1 and the others -1 in every state, which makes the gradient
    large (about 0.65-1 on action 0) and a bug's bias easy to see.
    """
    rng = np.random.default_rng(11)
    S, A, T = 4, 3, 8
    rewards = np.where(np.arange(A) == 0, 1.0, -1.0)[None, :] * np.ones((S, 1))
    mdp = FiniteMDP(np.full(S, 1 / S), rng.dirichlet(np.ones(S), size=(S, A)), rewards, T)
    policy = SoftmaxPolicy(0.3 * rng.normal(size=(S, A)))
    with pytest.raises(ValueError, match="enumeration too large"):
        check.exact_moments(estimators.reinforce, mdp, policy)
    return mdp, policy


def scaled(estimator, factor, name):
    """The estimator times a constant (a vectorised biased control)."""
    def biased(batch, policy):
        return factor * estimator(batch, policy)
    biased.per_trajectory = lambda batch, policy: factor * estimator.per_trajectory(batch, policy)
    biased.__name__ = name
    return biased


def test_mc_unbiased_accepts_reinforce_and_reward_to_go_and_rejects_their_bugs(large):
    mdp, policy = large
    bound = mc.reinforce_bound(mdp)
    truth = exact.policy_gradient(mdp, policy)
    for seed, estimator in enumerate((estimators.reinforce, estimators.reward_to_go)):
        # False alarm <= 1e-6: empirical Bernstein (|g| <= bound) + Bonferroni, finite n.
        result = mc.mc_unbiased(estimator, mdp, policy, n_batches=20_000, alpha=ALPHA,
                                rng=seeded_rng(100 + seed), bound=bound)
        assert (result.method, result.guarantee) == ("bernstein", "finite-sample")
        assert not result.rejected and result.statistic <= 1 and result.p_value >= ALPHA
        assert result.n == 20_000 and result.mean.shape == truth.shape
    controls = [
        (scaled(estimators.reinforce, -1.0, "sign_flipped"), -truth),
        (scaled(estimators.reinforce, 1 / mdp.horizon, "mean_over_time"), truth / mdp.horizon),
    ]
    for seed, (biased, biased_mean) in enumerate(controls):
        result = mc.mc_bias_test(biased, mdp, policy, n_batches=20_000, alpha=ALPHA,
                                 rng=seeded_rng(200 + seed), bound=bound)
        bias = np.abs(biased_mean - truth)
        assert bias.max() > 2 * result.threshold.flat[np.argmax(bias)]  # the power margin
        assert result.rejected and result.statistic > 1 and result.p_value < ALPHA
        with pytest.raises(AssertionError, match="estimator is biased: rejected by the bernstein test"):
            mc.mc_unbiased(biased, mdp, policy, n_batches=20_000, alpha=ALPHA,
                           rng=seeded_rng(200 + seed), bound=bound)


def test_check_module_reexports_the_monte_carlo_functions(large):
    mdp, policy = large
    a = check.mc_unbiased(estimators.reinforce, mdp, policy, n_batches=500, rng=seeded_rng(3),
                          bound=mc.reinforce_bound(mdp))
    b = mc.mc_unbiased(estimators.reinforce, mdp, policy, n_batches=500, rng=seeded_rng(3),
                       bound=mc.reinforce_bound(mdp))
    np.testing.assert_array_equal(a.mean, b.mean)
    assert a.p_value == b.p_value


def test_surrogate_losses_plug_into_the_monte_carlo_test(large):
    mdp, policy = large
    good = check.from_surrogate_loss(bugs.reward_to_go_loss)
    # Accepting: Bernstein, false alarm <= 1e-6 for any n (power is not needed here).
    mc.mc_unbiased(good, mdp, policy, n_batches=1_000, rng=seeded_rng(300),
                   bound=mc.reinforce_bound(mdp))
    # Rejecting a flipped sign: Student's t at 1e-6 has a threshold near 6 s.e. ~ 0.4, the
    # bias is 2 |grad J| ~ 2 on the largest component.
    flipped = check.from_surrogate_loss(bugs.sign_flip)
    result = mc.mc_bias_test(flipped, mdp, policy, n_batches=1_000, rng=seeded_rng(301))
    assert result.method == "student-t" and result.guarantee == "asymptotic"
    truth = exact.policy_gradient(mdp, policy)
    assert 2 * np.abs(truth).max() > 2 * result.threshold.max()
    assert result.rejected


def test_student_t_is_exact_for_gaussian_estimates(large):
    # Estimates = grad J + N(0, 1) noise: Student's t is exact for Gaussian samples, so the
    # false alarm of the accepting call is <= 1e-6 (Bonferroni) with no approximation.
    mdp, policy = large
    truth = exact.policy_gradient(mdp, policy)

    def noisy(shift, seed):
        noise = seeded_rng(seed)

        def per_trajectory(batch, pol):
            return truth + shift + noise.normal(size=(len(batch),) + truth.shape)
        est = lambda batch, pol: per_trajectory(batch, pol).mean(axis=0)  # noqa: E731
        est.per_trajectory = per_trajectory
        return est

    accepted = mc.mc_unbiased(noisy(0.0, 400), mdp, policy, n_batches=4_000, rng=seeded_rng(401))
    assert accepted.method == "student-t"
    # Shift 0.3 vs a threshold of about 5.6 / sqrt(4000) = 0.09: power margin > 3.
    result = mc.mc_bias_test(noisy(0.3, 402), mdp, policy, n_batches=4_000, rng=seeded_rng(403))
    assert 0.3 > 3 * result.threshold.max() and result.rejected


def test_estimates_outside_the_stated_bound_are_refused(large):
    mdp, policy = large
    with pytest.raises(ValueError, match="bound: estimate .* the stated bound is false"):
        mc.mc_unbiased(estimators.reinforce, mdp, policy, n_batches=200, rng=seeded_rng(5),
                       bound=0.5)


def test_bad_arguments_raise_value_errors(large):
    mdp, policy = large
    run = lambda **kw: mc.mc_unbiased(estimators.reinforce, mdp, policy, **kw)  # noqa: E731
    with pytest.raises(ValueError, match="rng: expected a numpy.random.Generator"):
        run(n_batches=10)
    with pytest.raises(ValueError, match="alpha: must lie in"):
        run(n_batches=10, rng=seeded_rng(0), alpha=0.0)
    with pytest.raises(ValueError, match="n_batches: must be an integer >= 2"):
        run(n_batches=1, rng=seeded_rng(0))
    with pytest.raises(ValueError, match="bound: must be positive"):
        run(n_batches=10, rng=seeded_rng(0), bound=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        run(n_batches=10, rng=seeded_rng(0), batch_size=0)


# ---- compare_variance --------------------------------------------------------------

def test_compare_variance_is_exact_when_enumerable():
    rng = np.random.default_rng(4)
    mdp = FiniteMDP([1.0, 0.0], rng.dirichlet([1, 1], size=(2, 2)), rng.normal(size=(2, 2)), 3)
    policy = SoftmaxPolicy(rng.normal(size=(2, 2)))
    result = mc.compare_variance(estimators.reward_to_go, estimators.reinforce, mdp, policy)
    m_a = check.exact_moments(estimators.reward_to_go, mdp, policy)
    m_b = check.exact_moments(estimators.reinforce, mdp, policy)
    assert result.method == "exact" and result.stderr is None
    assert (result.var_a, result.var_b) == (m_a.total_variance, m_b.total_variance)
    assert result.verdict == ("a_lower" if m_a.total_variance < m_b.total_variance else "b_lower")
    same = check.compare_variance(estimators.reinforce, estimators.reinforce, mdp, policy)
    assert same.verdict == "equal" and same.difference == 0


def test_compare_variance_by_monte_carlo_pairs_the_batches(large):
    mdp, policy = large
    doubled = scaled(estimators.reinforce, 2.0, "doubled")
    result = mc.compare_variance(estimators.reinforce, doubled, mdp, policy, n_batches=5_000,
                                 rng=seeded_rng(500))
    assert result.method == "monte-carlo" and result.n == 5_000
    # Same batches for both: the sample variances are exactly in ratio 4, and the
    # difference (3 var_a, about 30) dwarfs its interval (half-width = z_{1-1e-6/2} s.e.).
    assert result.var_b == pytest.approx(4 * result.var_a, rel=1e-12)
    assert result.verdict == "a_lower" and abs(result.difference) > 3 * result.half_width
    with pytest.raises(ValueError, match="rng: expected"):
        mc.compare_variance(estimators.reinforce, doubled, mdp, policy)


@pytest.mark.slow
def test_calibration_benchmark_runs_and_writes_its_outputs(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration.py"
    out, svg = tmp_path / "cal.json", tmp_path / "cal.svg"
    subprocess.run([sys.executable, str(script), "--seeds", "3", "--out", str(out),
                    "--plot", str(svg)], check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["seeds"] == 3 and len(result["false_alarms"]) == 16
    assert set(result["power"]["curves"]) == {"student-t", "bernstein"}
    assert svg.read_text().lstrip().startswith("<?xml")
