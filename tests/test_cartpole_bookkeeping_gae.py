"""The CartPole learner's rollout bookkeeping, checked against the reference GAE (issue 13).

pgproofs.cartpole collects windows from a Gymnasium NEXT_STEP vector env
(``collect_window``: autoreset rows marked invalid, episodes running on across
windows) and regresses its critic on ``rollout_reward_to_go(rollout, gamma,
V(next_obs))``: the discounted return bootstrapped at truncations and at the
window's end, not at terminations. That is GAE's value target at lambda = 1.
Here the same code runs on the Gymnasium env of an EpisodicMDP (one-hot
observations) with an inexact critic, and on every collected window its
targets must equal ``advantages.gae_returns(..., lam=1)`` computed on the
valid rows of each stream, exactly (no statistics: an identity per buffer).
"""

import gymnasium as gym
import numpy as np
import pytest

from pgproofs.advantage_checks import arbitrary_critic_values
from pgproofs.advantages import gae_returns, tabular_critic
from pgproofs.cartpole.rollout import collect_window, rollout_reward_to_go, start_streams
from pgproofs.gym_env import ENV_ID
from pgproofs.rollouts import Rollout
from pgproofs.testing import seeded_rng
from _episodic import branching_mdp, branching_policy


def learner_targets(rollout, gamma, values):
    """What pgproofs/cartpole/learner.py regresses its critic on (value baseline variant)."""
    return rollout_reward_to_go(rollout, gamma, values[rollout.next_obs.argmax(-1)])


def targets_without_bootstrap(rollout, gamma, values):
    """Control: the finite-horizon reward-to-go, cut at truncations and at the window's end."""
    return rollout_reward_to_go(rollout, gamma)


def check_targets_match_reference(targets_fn, n_windows=15, steps=6, seed=0):
    """AssertionError unless targets_fn equals the reference lambda-return on every valid row."""
    mdp, policy = branching_mdp(time_limit=3), branching_policy()
    values = arbitrary_critic_values(mdp, policy)
    rng = seeded_rng(seed)
    envs = gym.make_vec(ENV_ID, num_envs=2, mdp=mdp, observation="one_hot")   # NEXT_STEP

    def act(obs):
        cum = np.cumsum(policy.probs[obs.argmax(-1)], axis=1)
        return (cum[:, :-1] <= rng.random(len(obs))[:, None]).sum(axis=1)

    state = start_streams(envs, seed=seed)
    seen = {"rows": 0, "terminated": 0, "truncated": 0, "cut by the window": 0}
    try:
        for w in range(n_windows):
            r = collect_window(envs, act, state, steps)
            theirs = targets_fn(r, mdp.discount, values)
            states, next_states = r.obs.argmax(-1), r.next_obs.argmax(-1)
            for i in range(r.valid.shape[0]):
                v = r.valid[i]
                col = lambda x: np.asarray(x)[i, v][:, None]
                ours = Rollout(obs=col(states), actions=col(r.actions), rewards=col(r.rewards),
                               log_probs=col(policy.log_probs[states, r.actions]),
                               terminated=col(r.terminated), truncated=col(r.truncated),
                               next_obs=col(next_states), episode_starts=col(r.starts))
                ref = gae_returns(ours, tabular_critic(values), mdp.discount, 1.0)[:, 0]
                bad = np.flatnonzero(np.abs(theirs[i, v] - ref) > 1e-12)
                if bad.size:
                    k = int(np.flatnonzero(v)[bad[0]])
                    raise AssertionError(
                        f"window {w}, stream {i}, step {k} (valid row {bad[0]}): target {theirs[i, k]:.10g}, reference "
                        f"lambda-return {ref[bad[0]]:.10g}\n{ours.table(target=col(theirs), reference=ref[:, None])}")
                seen["rows"] += int(v.sum())
                seen["terminated"] += int(r.terminated[i, v].sum())
                seen["truncated"] += int((r.truncated & ~r.terminated)[i, v].sum())
                seen["cut by the window"] += int(v[-1] and not (r.terminated[i, -1] | r.truncated[i, -1]))
    finally:
        envs.close()
    return seen


def test_the_learners_value_targets_are_the_reference_lambda_return():
    seen = check_targets_match_reference(learner_targets)
    # every kind of episode end the bookkeeping must handle occurred
    assert seen["terminated"] >= 5 and seen["truncated"] >= 5 and seen["cut by the window"] >= 5, seen


def test_targets_without_bootstrap_are_rejected():
    with pytest.raises(AssertionError, match=r"window \d+, stream \d, step \d \(valid row \d\): target"):
        check_targets_match_reference(targets_without_bootstrap)
