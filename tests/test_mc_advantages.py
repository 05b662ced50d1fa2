"""The Monte Carlo advantage check (pgproofs.mc_advantages) on sampled buffers.

Each verdict below is a test with false-alarm probability at most alpha = 1e-6
(empirical Bernstein with the bound of ``advantage_bound``, Bonferroni over
cells): finite-sample, for every seed. Seeds are fixed and shifted by
PGPROOFS_SEED_OFFSET. Power: on the witness case, 3000 buffers of 8 x 2 put
the bug's statistic at about 3 times the rejection threshold (seed 3), so the
rejection does not hinge on the draw (re-checked with offsets 0-4).
"""

import numpy as np
import pytest

from pgproofs import check
from pgproofs.advantage_checks import checking_critic_values
from pgproofs.advantages import gae
from pgproofs.bugs import ADVANTAGE_CATALOGUE, advantage_witness
from pgproofs.mc_advantages import advantage_bound, mc_advantage_test
from pgproofs.testing import seeded_rng

BUG = next(b for b in ADVANTAGE_CATALOGUE if b.name == "terminal_value_not_masked")
SIZE = dict(n_steps=8, n_envs=2, n_buffers=3000, lam=0.95)


def test_mc_accepts_the_reference_gae():
    mdp, policy, _, _ = advantage_witness()
    result = check.mc_advantages_unbiased(gae, mdp, policy, rng=seeded_rng(3), **SIZE)
    assert not result.rejected and result.method == "bernstein"
    assert result.guarantee == "finite-sample" and result.alpha == 1e-6
    assert result.statistic < 1


def test_mc_rejects_a_catalogued_bug_and_names_the_cell():
    mdp, policy, _, _ = advantage_witness()
    with pytest.raises(AssertionError, match=r"advantage estimate is biased: rejected by the "
                                             r"bernstein test .* worst cell t=\d+") as caught:
        check.mc_advantages_unbiased(BUG.buggy, mdp, policy, rng=seeded_rng(3), **SIZE)
    assert "differs from the reference GAE" in str(caught.value)    # a sampled buffer shown


def test_bound_is_the_sup_of_gae_and_holds_on_every_buffer():
    mdp, policy, T, n = advantage_witness()
    values = checking_critic_values(mdp, policy)
    from pgproofs.advantage_checks import reference_outputs
    from pgproofs.rollouts import enumerate_all
    for lam in (0.0, 0.5, 1.0):
        sup = advantage_bound(mdp, policy, values, lam, slack=1.0)
        largest = np.abs(reference_outputs(enumerate_all(mdp, policy, T, n), values,
                                           mdp.discount, lam)).max()
        assert largest <= sup                       # a bound ...
        if lam == 0.0:                              # ... attained: GAE(0) is one TD error
            assert largest == pytest.approx(sup, rel=1e-6)


def test_output_outside_the_bound_is_an_error_not_a_verdict():
    mdp, policy, _, _ = advantage_witness()

    def huge(buf, critic, gamma, lam):
        return np.full(buf.obs.shape, 1e6)

    with pytest.raises(ValueError, match="bound: output 1e\\+06 at t=0, env=0 lies outside"):
        mc_advantage_test(huge, mdp, policy, n_steps=4, n_envs=2, n_buffers=10,
                          rng=seeded_rng(0))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_buffers=1), "n_buffers"), (dict(alpha=0.0), "alpha"), (dict(lam=2.0), "lam"),
    (dict(rng=None), "rng"), (dict(bound=-1.0), "bound"), (dict(bound="big"), "bound")])
def test_mc_validates_arguments(kwargs, match):
    mdp, policy, _, _ = advantage_witness()
    args = dict(n_steps=2, n_envs=1, n_buffers=10, rng=seeded_rng(0)) | kwargs
    with pytest.raises(ValueError, match=match):
        mc_advantage_test(gae, mdp, policy, **args)
