"""`pgproofs verify MODULE:FUNCTION`: verdicts, counterexamples and exit codes.

Each verdict is exact (enumeration against dynamic programming on drawn MDPs),
so no test here has a false-alarm probability; Hypothesis is derandomized.
"""

import subprocess
import sys
import textwrap

import pytest
import torch

from pgproofs.bugs import CATALOGUE
from pgproofs.cli import main

torch.set_num_threads(1)

# Sizes that expose every catalogue bug (see tests/test_testing.py) at a fraction of the cost.
SMALL = ["--max-states", "2", "--max-actions", "2", "--max-horizon", "2"]


def verify(capsys, *args):
    code = main(["verify", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_rejected(capsys, target, *args):
    code, out, err = verify(capsys, target, *args)
    assert code == 1, out + err
    assert f"FAIL: {target} is biased" in out
    for part in ("minimal case: S=", "P[s, a, s']", "r(s, a)", "policy logits",
                 "exact gradient dJ/dlogits", "estimator mean", "largest bias"):
        assert part in out
    return out


def assert_accepted(capsys, target, *args):
    code, out, err = verify(capsys, target, *args)
    assert code == 0, out + err
    assert f"PASS: {target} is unbiased" in out


def test_the_documented_invocation_rejects_a_bug_and_accepts_its_fix(capsys):
    assert_rejected(capsys, "pgproofs.bugs:baseline_not_detached", "--surrogate")
    assert_accepted(capsys, "pgproofs.bugs:baseline_not_detached_fixed", "--surrogate",
                    "--max-examples", "30")


@pytest.mark.parametrize("name", ["greedy_action", "mean_over_time"])
def test_catalogue_sample_on_the_command_line(capsys, name):
    assert_rejected(capsys, f"pgproofs.bugs:{name}", "--surrogate", "--max-examples", "25", *SMALL)
    assert_accepted(capsys, f"pgproofs.bugs:{name}_fixed", "--surrogate", "--max-examples", "30",
                    *SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("bug", CATALOGUE, ids=lambda bug: bug.name)
def test_whole_catalogue_on_the_command_line(capsys, bug):
    assert_rejected(capsys, f"pgproofs.bugs:{bug.name}", "--surrogate", "--max-examples", "25",
                    *SMALL)
    assert_accepted(capsys, f"pgproofs.bugs:{bug.name}_fixed", "--surrogate",
                    "--max-examples", "50", *SMALL)


ESTIMATORS = textwrap.dedent("""
    import numpy as np

    def reinforce(batch, policy):
        ret = batch.rewards.sum(axis=1)
        return (policy.score_sum(batch.states, batch.actions) * ret[:, None, None]).mean(axis=0)

    def mean_over_time(batch, policy):
        return reinforce(batch, policy) / batch.horizon

    def crashes(batch, policy):
        raise RuntimeError("boom")
""")


def test_plain_estimators_from_a_file_and_from_the_current_directory(capsys, tmp_path,
                                                                     monkeypatch):
    path = tmp_path / "my_estimators.py"
    path.write_text(ESTIMATORS)
    assert_accepted(capsys, f"{path}:reinforce", "--max-examples", "20", *SMALL)
    out = assert_rejected(capsys, f"{path}:mean_over_time", "--max-examples", "20", *SMALL)
    assert "horizon T=2" in out  # 1/T only shows once T > 1
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert_accepted(capsys, "my_estimators:reinforce", "--max-examples", "10")


def test_an_estimator_that_raises_fails_with_its_error(capsys, tmp_path):
    path = tmp_path / "estimators_that_crash.py"
    path.write_text(ESTIMATORS)
    code, out, _ = verify(capsys, f"{path}:crashes", "--max-examples", "5")
    assert code == 1
    assert "raised RuntimeError: boom" in out


@pytest.mark.parametrize("target, message", [
    ("pgproofs.bugs", "expected MODULE:FUNCTION"),
    ("no_such_module_xyz:f", "cannot import module 'no_such_module_xyz'"),
    ("pgproofs.bugs:no_such_function", "has no attribute 'no_such_function'"),
    ("pgproofs.bugs:CATALOGUE", "is a tuple, not a function"),
    ("missing_file.py:f", "no such file"),
])
def test_bad_targets_are_usage_errors(capsys, target, message):
    code, out, err = verify(capsys, target)
    assert code == 2
    assert message in err and "pgproofs verify: error:" in err


def test_module_that_fails_to_import_is_a_usage_error(capsys, tmp_path):
    path = tmp_path / "broken.py"
    path.write_text("raise ImportError('missing dependency')\n")
    code, _, err = verify(capsys, f"{path}:f")
    assert code == 2 and "missing dependency" in err


def test_bad_options_are_usage_errors(capsys):
    code, _, err = verify(capsys, "pgproofs.bugs:sign_flip", "--surrogate", "--batch-size", "9")
    assert code == 2 and "batch_size: 9 needs an explicit" in err
    with pytest.raises(SystemExit) as info:
        main(["verify", "pgproofs.bugs:sign_flip", "--max-examples", "0"])
    assert info.value.code == 2


def test_exit_status_of_the_installed_command():
    # One real process: python -m pgproofs is what the console script runs.
    proc = subprocess.run([sys.executable, "-m", "pgproofs", "verify", "no_such_module_xyz:f"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "cannot import module 'no_such_module_xyz'" in proc.stderr
