"""The advantage/rollout bug catalogue, the Hypothesis properties and `verify --advantages`.

Every verdict here is exact (enumeration of every buffer against the linear
solve of exact.advantages), so no test has a false-alarm probability; the
Hypothesis searches are derandomized. The default run checks a sample of the
catalogue on its witness case and a few drawn cases; the whole catalogue and
the 100-case searches are marked slow (run by `pgproofs report`).
"""

import re

import pytest

from pgproofs import check, rollouts, strategies as pst, testing
from pgproofs.advantages import gae
from pgproofs.bugs import ADVANTAGE_CATALOGUE, AdvantageBug, advantage_witness
from pgproofs.cli import main

BY_NAME = {bug.name: bug for bug in ADVANTAGE_CATALOGUE}
# One bug of each kind for the default run: a truncation bug, a layout bug, and one that
# only the reference-GAE check (inexact critic) can see.
SAMPLE = ("truncation_as_termination", "flattened_env_major", "gae_across_episodes")
REJECTION = {"unbiased": r"advantage estimate biased at t=\d+, env=\d+ for s=\d+, a=\d+",
             "gae": r"not the reference GAE: at t=\d+, env=\d+"}


def _catalogue_params():
    return [pytest.param(bug, id=bug.name,
                         marks=() if bug.name in SAMPLE else pytest.mark.slow)
            for bug in ADVANTAGE_CATALOGUE]


def test_catalogue_has_at_least_ten_cited_entries():
    assert len(ADVANTAGE_CATALOGUE) >= 10
    assert len({bug.name for bug in ADVANTAGE_CATALOGUE}) == len(ADVANTAGE_CATALOGUE)
    for bug in ADVANTAGE_CATALOGUE:
        assert bug.reports and all(re.fullmatch(r"[\w.-]+/[\w.-]+#\d+", r) for r in bug.reports)
    assert {bug.check for bug in ADVANTAGE_CATALOGUE} == {"unbiased", "gae"}


def test_catalogue_entry_names_a_known_check():
    with pytest.raises(ValueError, match="check: expected one of"):
        AdvantageBug("x", "y", gae, gae, "exactish", ())


def test_witness_has_every_event_the_bugs_need():
    mdp, policy, T, n = advantage_witness()
    buffers = rollouts.enumerate_all(mdp, policy, T, n)
    assert len(buffers) == 729
    assert buffers.terminated.any() and buffers.truncated.any()
    assert (buffers.terminated & buffers.truncated).any()           # termination must win
    reset_differs = buffers.truncated[:, :-1] & ~buffers.terminated[:, :-1] \
        & (buffers.next_obs[:, :-1] != buffers.obs[:, 1:])
    assert reset_differs.any()                                      # final obs != reset obs


@pytest.mark.parametrize("bug", _catalogue_params())
def test_catalogued_bug_rejected_and_fix_accepted(bug):
    mdp, policy, T, n = advantage_witness()
    with pytest.raises(AssertionError, match=REJECTION[bug.check]) as caught:
        bug.check_fn(bug.buggy, mdp, policy, T, n, lam=0.95)
    assert "env 0:" in str(caught.value)                           # the buffer is printed
    check.assert_advantages_unbiased(bug.correct, mdp, policy, T, n, lam=0.95)
    check.assert_gae_matches_reference(bug.correct, mdp, policy, T, n, lam=0.95)
    if bug.check == "gae":
        # the reason it is catalogued under "gae": with an exact critic it is unbiased
        check.assert_advantages_unbiased(bug.buggy, mdp, policy, T, n, lam=0.95)


def _table_row(message: str, env: int, t: int) -> list[str]:
    block = message.split(f"env {env}:\n", 1)[1]
    for line in block.splitlines()[1:]:
        cells = line.split()
        if cells and cells[0] == str(t):
            return cells
    raise AssertionError(f"no row t={t} for env {env} in\n{message}")


def test_cleanrl_loop_is_rejected_at_the_truncation_step():
    """CleanRL's done = terminated | truncated: the position named is a truncation step."""
    mdp, policy, T, n = advantage_witness()
    with pytest.raises(AssertionError, match=REJECTION["unbiased"]) as caught:
        check.assert_advantages_unbiased(BY_NAME["truncation_as_termination"].buggy, mdp,
                                         policy, T, n, lam=0.95)
    message = str(caught.value)
    t, env = (int(x) for x in re.search(r"biased at t=(\d+), env=(\d+)", message).groups())
    # columns: t obs action reward term trunc next_obs start output reference
    row = _table_row(message, env, t)
    assert row[5] == "T" and row[4] == ".", row                     # truncated, not terminated
    assert float(row[8]) != float(row[9])


@pytest.mark.parametrize("lam", testing.LAMBDAS)
def test_reference_gae_accepted_on_drawn_cases(lam):
    testing.assert_advantages_unbiased(gae, max_examples=12, lam=lam)


@pytest.mark.slow
@pytest.mark.parametrize("lam", testing.LAMBDAS)
def test_reference_gae_accepted_on_100_drawn_cases(lam):
    """Acceptance: the reference GAE on every drawn case, n_envs in {1, 2}, both checks."""
    testing.assert_advantages_unbiased(gae, max_examples=100, lam=lam)
    testing.assert_gae_matches_reference(gae, max_examples=100, lam=lam)


@pytest.mark.slow
@pytest.mark.parametrize("bug", ADVANTAGE_CATALOGUE, ids=lambda b: b.name)
def test_property_search_rejects_catalogued_bug_and_accepts_fix(bug):
    prop = {"unbiased": testing.assert_advantages_unbiased,
            "gae": testing.assert_gae_matches_reference}[bug.check]
    with pytest.raises(testing.AdvantageBiasError, match="minimal case") as caught:
        prop(bug.buggy)
    example = caught.value.counterexample
    print(f"{bug.name}: {example}")
    prop(bug.correct)


@pytest.mark.slow
def test_property_shrinks_to_a_minimal_case():
    bug = BY_NAME["no_bootstrap_at_buffer_end"]
    with pytest.raises(testing.AdvantageBiasError,
                       match=r"no_bootstrap_at_buffer_end is biased") as caught:
        testing.assert_advantages_unbiased(bug.buggy, max_examples=30, lam=0.0)
    example = caught.value.counterexample
    # one state, one action, one step, one env: the smallest buffer that has an end
    assert (example.mdp.n_states, example.mdp.n_actions) == (1, 1)
    assert (example.n_steps, example.n_envs) == (1, 1)
    assert "a buffer (probability" in str(example) and "minimal case" in str(example)


def test_strategies_draw_the_cases_the_issue_asks_for():
    from hypothesis import given, settings

    seen = set()

    @settings(max_examples=60, derandomize=True, database=None, deadline=None)
    @given(pst.episodic_cases())
    def draw(case):
        mdp, policy, T, n = case
        assert rollouts.count_buffers(mdp, policy, T, n) <= 1500
        seen.add(("n_envs", n))
        seen.add(("terminal", bool(mdp.terminal.any())))
        seen.add(("limit below n_steps", mdp.time_limit < T))

    draw()
    assert seen >= {("n_envs", 1), ("n_envs", 2), ("terminal", True), ("terminal", False),
                    ("limit below n_steps", True), ("limit below n_steps", False)}


@pytest.mark.parametrize("kwargs, match", [
    (dict(states=(0, 2)), "states"), (dict(time_limit=(0, 2)), "time_limit"),
    (dict(discount=1.0), "discount"), (dict(reward_scale=0.0), "reward_scale")])
def test_episodic_mdps_validates_arguments(kwargs, match):
    from hypothesis import find

    with pytest.raises(ValueError, match=match):
        find(pst.episodic_mdps(**kwargs), lambda mdp: True)


def test_properties_validate_arguments():
    with pytest.raises(ValueError, match="adv_fn"):
        testing.assert_advantages_unbiased(42)
    with pytest.raises(ValueError, match="max_examples"):
        testing.assert_advantages_unbiased(gae, max_examples=0)
    with pytest.raises(ValueError, match="lam"):
        testing.assert_advantages_unbiased(gae, lam=1.5)


# ---- pgproofs verify --advantages ------------------------------------------------

def _verify(capsys, *args):
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_advantages_rejects_a_bug_with_mdp_buffer_and_position(capsys):
    target = "pgproofs.bugs:timeout_bootstrap_without_gamma"
    code, out, err = _verify(capsys, target, "--advantages", "--max-examples", "10",
                             "--lam", "0")
    assert code == 1, out + err
    assert f"FAIL: {target} is biased" in out
    # shrunk: one state, one action, one step, one env, cut by a time limit of 1
    assert "minimal case: S=1, A=1," in out and "n_steps=1, n_envs=1" in out
    for part in ("minimal case: S=", "P[s, a, s']", "r(s, a)", "pi(a|s)",
                 "biased at t=0, env=0", "output reference", "env 0:"):
        assert part in out, part


def test_verify_advantages_accepts_the_reference(capsys):
    code, out, err = _verify(capsys, "pgproofs.advantages:gae", "--advantages", "--gae",
                             "--max-examples", "10", "--lam", "0.95")
    assert code == 0, out + err
    assert "PASS: pgproofs.advantages:gae is unbiased" in out


@pytest.mark.slow
def test_verify_advantages_gae_flag_catches_what_an_exact_critic_hides(capsys):
    target = "pgproofs.bugs:missing_gamma_in_carry"
    code, out, _ = _verify(capsys, target, "--advantages", "--max-examples", "15")
    assert code == 0, out                                # unbiased with the exact critic
    code, out, _ = _verify(capsys, target, "--advantages", "--gae", "--max-examples", "15")
    assert code == 1 and "is not the reference GAE" in out and "not the reference GAE: at t=" in out


@pytest.mark.parametrize("args, match", [
    (["pgproofs.advantages:gae", "--advantages", "--surrogate"], "does not take --surrogate"),
    (["pgproofs.advantages:gae", "--gae"], "need --advantages"),
    (["pgproofs.advantages:gae", "--advantages", "--max-states", "2"],
     "does not take --max-states"),
    (["pgproofs.advantages:nope", "--advantages"], "has no attribute")])
def test_verify_advantages_usage_errors(capsys, args, match):
    code, out, err = _verify(capsys, *args)
    assert code == 2 and re.search(match, err), out + err


def test_verify_advantages_crash_is_a_failure(capsys, tmp_path, monkeypatch):
    path = tmp_path / "mine.py"
    path.write_text("def adv(buf, critic, gamma, lam):\n    raise RuntimeError('boom')\n")
    code, out, _ = _verify(capsys, f"{path}:adv", "--advantages", "--max-examples", "3")
    assert code == 1 and "raised RuntimeError: boom" in out


def test_verify_advantages_bad_lambda_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["verify", "pgproofs.advantages:gae", "--advantages", "--lam", "2"])
    assert caught.value.code == 2
    assert "expected a number in [0, 1]" in capsys.readouterr().err
