"""Monte Carlo loss check: the reference loss is not rejected, a catalogued bug is, at alpha 1e-6.

Seeds come from pgproofs.testing.seeded_rng (shifted by PGPROOFS_SEED_OFFSET);
the verdicts were re-run with offsets 0-4.
"""

import numpy as np
import pytest
import torch

from pgproofs import check
from pgproofs.loss_bugs import WITNESS, sign_flip
from pgproofs.loss_target import float64_module, module_policy
from pgproofs.mc_loss import linear_a2c_bound, mc_loss_test
from pgproofs.policy_losses import a2c_loss, linear, mlp, ppo_clip_loss
from pgproofs.testing import seeded_rng


def _module(factory, seed=0):
    torch.manual_seed(seed)
    return factory(3, 2)


def test_student_t_accepts_a2c_and_rejects_the_sign_bug_for_an_mlp():
    """n = 300 buffers of 4 x 2: the sign bug's bias (-2g) is tens of standard errors."""
    module = _module(mlp)
    ok = check.mc_loss_unbiased(a2c_loss, module, WITNESS, n_steps=4, n_envs=2, n_buffers=300,
                                alpha=1e-6, rng=seeded_rng(140))
    assert ok.method == "student-t" and ok.guarantee == "asymptotic" and not ok.rejected
    with pytest.raises(AssertionError, match=r"policy loss is biased: rejected by the student-t "
                                             r"test .* worst [\w.]+\[[\d, ]+\]"):
        check.mc_loss_unbiased(sign_flip, module, WITNESS, n_steps=4, n_envs=2, n_buffers=300,
                               alpha=1e-6, rng=seeded_rng(141))


@pytest.mark.slow
def test_student_t_accepts_ppo_at_ratio_one_on_a_long_buffer():
    result = check.mc_loss_unbiased(ppo_clip_loss, _module(mlp), WITNESS, n_steps=16, n_envs=4,
                                    n_buffers=500, rng=seeded_rng(142))
    assert not result.rejected


@pytest.mark.slow
def test_bernstein_with_the_exact_bound_for_one_hot_linear_a2c():
    """Finite-sample: B = sup |GAE| bounds every entry of every per-buffer gradient."""
    module = _module(linear)
    bound = linear_a2c_bound(WITNESS, module_policy(float64_module(module), WITNESS, np.eye(3)),
                             0.95)
    ok = check.mc_loss_unbiased(a2c_loss, module, WITNESS, n_steps=2, n_envs=1, n_buffers=3000,
                                rng=seeded_rng(143), bound=bound)
    assert ok.method == "bernstein" and ok.guarantee == "finite-sample"
    with pytest.raises(AssertionError, match="rejected by the bernstein test"):
        check.mc_loss_unbiased(sign_flip, module, WITNESS, n_steps=2, n_envs=1, n_buffers=3000,
                               rng=seeded_rng(144), bound=bound)


def test_a_bound_the_sample_exceeds_is_an_error_not_a_verdict():
    with pytest.raises(ValueError, match="bound: .* lies outside .* the stated bound is false"):
        mc_loss_test(a2c_loss, _module(linear), WITNESS, n_steps=2, n_envs=1, n_buffers=20,
                     rng=seeded_rng(145), bound=1e-6)


@pytest.mark.parametrize("kwargs, match", [({"n_buffers": 1}, "n_buffers"),
                                           ({"alpha": 0.0}, "alpha"),
                                           ({"rng": 3}, "rng")])
def test_mc_loss_validates_arguments(kwargs, match):
    args = {"n_buffers": 10, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ValueError, match=match):
        mc_loss_test(a2c_loss, _module(mlp), WITNESS, n_steps=1, n_envs=1, **args)
