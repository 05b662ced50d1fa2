"""check.assert_loss_unbiased on the user's own network: reference losses accepted, bugs rejected.

Acceptance (issue 14): the A2C loss (reference GAE, exact critic) and PPO's
clipped loss at ratio 1 are unbiased for an MLP with a hidden layer on
drawn cases with n_envs in {1, 2}; every catalogued bug gets the verdict its
entry states on its minimal case, and every fix is accepted there.
"""

import re

import numpy as np
import pytest
import torch

from pgproofs import check, testing
from pgproofs.cli import main
from pgproofs.loss_bugs import CATALOGUE, WITNESS, check_entry, sign_flip
from pgproofs.loss_target import exact_loss_target, float64_module
from pgproofs.policy_losses import a2c_loss, advantages_tensor, linear, log_probs, mlp, ppo_clip_loss


def _mlp(seed=0, d=3, A=2):
    torch.manual_seed(seed)
    return mlp(d, A)


# ---- the reference losses, on drawn cases ------------------------------------

@pytest.mark.parametrize("loss_fn", [a2c_loss, ppo_clip_loss])
def test_reference_losses_unbiased_for_an_mlp_on_drawn_cases(loss_fn):
    testing.assert_loss_unbiased(loss_fn, mlp, max_examples=12, n_envs=(1, 2))


@pytest.mark.slow
@pytest.mark.parametrize("loss_fn", [a2c_loss, ppo_clip_loss])
def test_reference_losses_unbiased_for_an_mlp_on_many_drawn_cases(loss_fn):
    testing.assert_loss_unbiased(loss_fn, mlp, max_examples=150, n_envs=(1, 2))


@pytest.mark.parametrize("n_envs", [1, 2])
def test_reference_losses_unbiased_on_the_witness(n_envs):
    T = 3 if n_envs == 1 else 2
    for loss_fn in (a2c_loss, ppo_clip_loss):
        result = check.assert_loss_unbiased(loss_fn, _mlp(), WITNESS, n_steps=T, n_envs=n_envs)
        assert result.max_abs_bias <= 1e-9 and result.n_buffers > 1


def test_linear_one_hot_a2c_matches_the_tabular_target_on_average():
    """The check's two sides for a one-hot linear module: both are the tabular gradient."""
    torch.manual_seed(1)
    result = check.assert_loss_unbiased(a2c_loss, linear(3, 2), WITNESS, n_steps=3, n_envs=1)
    np.testing.assert_allclose(result.expected[0], result.target.target[0], atol=1e-12)


# ---- the catalogue -----------------------------------------------------------

def test_catalogue_has_eight_classic_bugs_with_sources():
    assert len(CATALOGUE) >= 8
    assert len({bug.name for bug in CATALOGUE}) == len(CATALOGUE)
    for bug in CATALOGUE:
        assert bug.sources and all(re.fullmatch(r"[\w.-]+/[\w.-]+#\d+", s) for s in bug.sources)
        assert bug.expected in ("rejected", "accepted")


@pytest.mark.parametrize("bug", CATALOGUE, ids=lambda b: b.name)
def test_catalogued_bug_gets_its_verdict_and_its_fix_is_accepted(bug):
    if bug.expected == "rejected":
        with pytest.raises(AssertionError, match=r"policy loss is biased: largest bias at "
                                                 r"parameter [\w.]+\[[\d, ]+\]"):
            check_entry(bug)
    else:
        assert check_entry(bug).max_abs_bias <= 1e-9
    assert check_entry(bug, bug.correct).max_abs_bias <= 1e-9


def test_sign_flip_bias_is_minus_twice_the_target_and_the_message_names_the_case():
    """E[-grad(+loss)] = -g exactly, so the bias is -2 g at every entry."""
    module = _mlp()
    with pytest.raises(AssertionError) as caught:
        check.assert_loss_unbiased(sign_flip, module, WITNESS, n_steps=2, n_envs=1)
    text = str(caught.value)
    target = exact_loss_target(float64_module(module), WITNESS, None, 2, 1)
    k = max(range(len(target.target)), key=lambda i: np.abs(target.target[i]).max())
    j = int(np.argmax(np.abs(target.target[k])))
    name = target.names[k]
    index = ", ".join(str(int(i)) for i in np.unravel_index(j, target.target[k].shape))
    assert f"parameter {name}[{index}]" in text
    bias = float(re.search(r"bias ([-+][\d.e-]+) \(atol", text).group(1))
    assert bias == pytest.approx(-2 * target.target[k].flat[j], rel=1e-5)
    for part in ("gradient of the discounted objective there", "max |g - grad J|",
                 "mdp: EpisodicMDP(", "observe (features of each state)", "module policy pi(a|s)",
                 "deliberately wrong on terminal states"):
        assert part in text, part


def test_reduction_sum_accepts_a_summed_loss_that_mean_rejects():
    def summed(module, buf, critic):
        return -(log_probs(module, buf) * advantages_tensor(buf, critic)).sum()

    check.assert_loss_unbiased(summed, _mlp(), WITNESS, n_steps=2, n_envs=2, reduction="sum")
    with pytest.raises(AssertionError, match="policy loss is biased"):
        check.assert_loss_unbiased(summed, _mlp(), WITNESS, n_steps=2, n_envs=2)


def test_features_through_the_network():
    observe = np.array([[1.0, -0.5], [0.5, 1.5], [0.0, 0.0]])
    check.assert_loss_unbiased(a2c_loss, _mlp(d=2), WITNESS, observe, n_steps=3, n_envs=1)
    with pytest.raises(AssertionError, match="policy loss is biased"):
        check.assert_loss_unbiased(sign_flip, _mlp(d=2), WITNESS, observe, n_steps=3, n_envs=1)


def test_the_users_module_is_left_float32_and_unchanged():
    module = _mlp()
    before = [p.detach().clone() for p in module.parameters()]
    check.assert_loss_unbiased(a2c_loss, module, WITNESS, n_steps=2, n_envs=1)
    assert all(p.dtype == torch.float32 for p in module.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_a_loss_that_ignores_the_parameters_is_rejected():
    def from_buffer_log_probs(module, buf, critic):
        return -(torch.tensor(buf.log_probs) * advantages_tensor(buf, critic)).mean()

    with pytest.raises(AssertionError, match=r"E\[-grad loss\] = 0,"):
        check.assert_loss_unbiased(from_buffer_log_probs, _mlp(), WITNESS, n_steps=1, n_envs=1)


@pytest.mark.parametrize("kwargs, loss_fn, match", [
    ({"reduction": "avg"}, a2c_loss, "reduction"),
    ({"atol": -1.0}, a2c_loss, "atol"),
    ({"n_envs": 0}, a2c_loss, "n_envs"),
    ({"observe": np.eye(2)}, a2c_loss, "observe"),
    ({}, lambda m, b, c: torch.cat([log_probs(m, b).reshape(-1)] * 2), "loss_fn: must return a scalar"),
    ({}, lambda m, b, c: torch.tensor(float("nan"), requires_grad=True), "non-finite"),
    ({}, 3, "loss_fn: expected a callable"),
])
def test_bad_input_is_a_value_error_naming_the_argument(kwargs, loss_fn, match):
    with pytest.raises(ValueError, match=match):
        check.assert_loss_unbiased(loss_fn, _mlp(), WITNESS, **{"n_steps": 1, "n_envs": 1,
                                                                 **kwargs})


# ---- the property and the command line ---------------------------------------

@pytest.mark.slow
def test_property_shrinks_a_bug_to_a_minimal_case():
    with pytest.raises(testing.LossBiasError) as caught:
        testing.assert_loss_unbiased(sign_flip, mlp, max_examples=10)
    example = caught.value.counterexample
    assert (example.mdp.n_states, example.n_steps, example.n_envs) == (1, 1, 1)
    assert "policy loss is biased" in example.report


def test_property_validates_arguments():
    with pytest.raises(ValueError, match="module_factory"):
        testing.assert_loss_unbiased(a2c_loss, 3)
    with pytest.raises(ValueError, match="max_examples"):
        testing.assert_loss_unbiased(a2c_loss, mlp, max_examples=0)


def _verify(capsys, *args):
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_verify_loss_rejects_a_bug_with_its_shrunk_case(capsys):
    code, out, err = _verify(capsys, "pgproofs.loss_bugs:sign_flip", "--loss", "--module",
                             "pgproofs.policy_losses:mlp", "--max-examples", "5")
    assert code == 1 and "FAIL: pgproofs.loss_bugs:sign_flip is biased" in out, out + err
    assert "minimal case: S=1" in out and "n_steps=1, n_envs=1" in out
    assert "largest bias at parameter" in out


def test_verify_loss_crash_is_a_failure(capsys, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("def loss(module, buf, critic):\n    raise RuntimeError('boom')\n")
    code, out, _ = _verify(capsys, f"{path}:loss", "--loss", "--module",
                           "pgproofs.policy_losses:mlp", "--max-examples", "3")
    assert code == 1 and "raised RuntimeError: boom" in out, out


@pytest.mark.slow
def test_verify_loss_accepts_ppo(capsys):
    code, out, err = _verify(capsys, "pgproofs.policy_losses:ppo_clip_loss", "--loss",
                             "--module", "pgproofs.policy_losses:mlp", "--max-examples", "5")
    assert code == 0 and "PASS" in out, out + err


@pytest.mark.parametrize("args, match", [
    (["pgproofs.policy_losses:a2c_loss", "--loss"], "needs --module"),
    (["pgproofs.policy_losses:a2c_loss", "--loss", "--module", "pgproofs.policy_losses:nope"],
     "has no attribute"),
    (["pgproofs.policy_losses:a2c_loss", "--loss", "--surrogate", "--module",
      "pgproofs.policy_losses:mlp"], "does not take --surrogate"),
    (["pgproofs.policy_losses:a2c_loss", "--module", "pgproofs.policy_losses:mlp"],
     "need --loss")])
def test_verify_loss_usage_errors(capsys, args, match):
    code, out, err = _verify(capsys, *args)
    assert code == 2 and re.search(match, err), out + err
