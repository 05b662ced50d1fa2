"""Rollout bookkeeping of pgproofs.cartpole on a tiny deterministic vector env.

The tiny env mimics Gymnasium 1.x NEXT_STEP autoreset exactly (the step after
an episode end resets, ignores the action, returns reward 0 and both flags
False), so every expected number below is derived by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from pgproofs.cartpole.rollout import (bootstrap_values, collect_episodes, collect_window,
                                       full_returns, rollout_reward_to_go, start_streams)


class TinyVectorEnv:
    """Sub-env i terminates after ``lengths[i]`` steps unless the time limit cuts first.

    Observation [k, e]: step k within episode e of that sub-env. The reward of
    step k of episode e is 10 * e + k + 1, so sums identify their terms.
    """

    def __init__(self, lengths, time_limit=100):
        self.lengths = np.asarray(lengths)
        self.time_limit = time_limit
        self.n = len(self.lengths)

    def _obs(self):
        return np.stack([self.k, self.e], 1).astype(np.float32)

    def reset(self, seed=None):
        self.k = np.zeros(self.n, int)
        self.e = np.zeros(self.n, int)
        self.prev_done = np.zeros(self.n, bool)
        self.actions_seen = []
        return self._obs(), {}

    def step(self, actions):
        self.actions_seen.append(np.asarray(actions).copy())
        reward = 10.0 * self.e + self.k + 1
        self.k = self.k + 1
        term = self.k >= self.lengths
        trunc = (self.k >= self.time_limit) & ~term
        # NEXT_STEP autoreset: rows after an end reset and report nothing
        reset = self.prev_done
        self.e = np.where(reset, self.e + 1, self.e)
        self.k = np.where(reset, 0, self.k)
        reward[reset], term[reset], trunc[reset] = 0.0, False, False
        self.prev_done = term | trunc
        return self._obs(), reward, term, trunc, {}


def zeros(obs):
    return np.zeros(len(obs), dtype=np.int64)


def test_window_marks_autoreset_rows_invalid_and_counts_only_transitions():
    env = TinyVectorEnv([2, 3])
    state = start_streams(env, seed=0)
    r = collect_window(env, zeros, state, steps=7)
    # stream 0: e0 k0,k1(end) | reset | e1 k0,k1(end) | reset | e2 k0
    assert r.valid[0].tolist() == [True, True, False, True, True, False, True]
    assert r.starts[0].tolist() == [True, False, False, True, False, False, True]
    assert r.rewards[0].tolist() == [1, 2, 0, 11, 12, 0, 21]
    assert r.terminated[0].tolist() == [False, True, False, False, True, False, False]
    # stream 1: e0 k0,k1,k2(end) | reset | e1 k0,k1,k2(end)
    assert r.valid[1].tolist() == [True, True, True, False, True, True, True]
    assert r.num_steps == 5 + 6
    assert sorted(state.finished) == [1 + 2, 1 + 2 + 3, 11 + 12, 11 + 12 + 13]


def test_reward_to_go_stops_at_episode_boundaries():
    env = TinyVectorEnv([2, 3])
    r = collect_window(env, zeros, start_streams(env, 0), steps=7)
    rtg = rollout_reward_to_go(r, discount=1.0)
    v = r.valid
    # episode e0 of stream 0 = rewards 1, 2; e1 = 11, 12; e2 is cut after 21
    assert rtg[0][v[0]].tolist() == [3, 2, 23, 12, 21]
    assert rtg[1][v[1]].tolist() == [6, 5, 3, 36, 25, 13]
    half = rollout_reward_to_go(r, discount=0.5)
    assert half[0][v[0]].tolist() == [1 + 0.5 * 2, 2, 11 + 0.5 * 12, 12, 21]


def test_full_return_credits_each_row_with_its_own_episode():
    env = TinyVectorEnv([2, 3])
    r = collect_episodes(env, zeros, seed=0)
    # one episode per stream; stream 0's rows after its end are padding
    assert r.valid.tolist() == [[True, True, False], [True, True, True]]
    g = full_returns(r, discount=1.0)
    assert g[0, :2].tolist() == [3, 3] and g[1].tolist() == [6, 6, 6]
    assert full_returns(r, discount=0.5)[1].tolist() == [1 + 0.5 * 2 + 0.25 * 3] * 3
    assert sorted(r.episode_returns().tolist()) == [3, 6]


def test_full_return_refuses_incomplete_episodes():
    env = TinyVectorEnv([2, 3])
    r = collect_window(env, zeros, start_streams(env, 0), steps=7)
    with pytest.raises(ValueError, match="rollout: .*not complete"):
        full_returns(r, 1.0)
    # the incomplete ones are exactly stream 0's last row
    g = full_returns(r, 1.0, complete_only=False)
    assert g[0][r.valid[0]][:4].tolist() == [3, 3, 23, 23]
    assert sorted(r.episode_returns().tolist()) == [3, 6, 23, 36]


def test_episodes_spanning_windows_continue_in_the_next_window():
    env = TinyVectorEnv([5])
    state = start_streams(env, 0)
    first = collect_window(env, zeros, state, steps=3)
    second = collect_window(env, zeros, state, steps=4)
    assert first.starts[0].tolist() == [True, False, False]
    assert second.starts[0].tolist() == [False, False, False, True]  # end, reset, new episode
    assert second.valid[0].tolist() == [True, True, False, True]
    assert second.rewards[0].tolist() == [4, 5, 0, 11]
    assert state.finished == [15.0]
    # bootstrapping: the first window is cut mid-episode after obs [3, 0]
    assert first.last_obs[0].tolist() == [3, 0]


def test_truncation_bootstraps_the_final_observation_termination_does_not():
    # stream 0 terminates after 2 steps; stream 1 is cut by the time limit at 2
    env = TinyVectorEnv([2, 10], time_limit=2)
    r = collect_window(env, zeros, start_streams(env, 0), steps=4)
    assert r.terminated[0].tolist() == [False, True, False, False]
    assert r.truncated[1].tolist() == [False, True, False, False]
    # V(s) := 100 + step index k, so V(final obs) of an episode of length 2 is 102
    next_v = 100.0 + r.next_obs[..., 0]
    boot = bootstrap_values(r, next_v)
    assert boot[0].tolist() == [0, 0, 0, 101]      # terminal: 0; window cut after k0: V=101
    assert boot[1].tolist() == [0, 102, 0, 101]    # truncated after k1: V(final obs)=102
    rtg = rollout_reward_to_go(r, 1.0, next_v)
    assert rtg[0][r.valid[0]].tolist() == [3, 2, 11 + 101]
    assert rtg[1][r.valid[1]].tolist() == [1 + 2 + 102, 2 + 102, 11 + 101]


def test_next_obs_is_the_final_observation_at_an_episode_end():
    env = TinyVectorEnv([2])
    r = collect_window(env, zeros, start_streams(env, 0), steps=3)
    # row 1 ends the episode; its next observation is the final one [2, 0], which
    # is also the (invalid) autoreset row's observation
    assert r.next_obs[0, 1].tolist() == [2, 0]
    assert r.obs[0, 2].tolist() == [2, 0] and not r.valid[0, 2]
    assert r.last_obs[0].tolist() == [0, 1]


def test_bad_arguments_raise_value_errors_naming_them():
    env = TinyVectorEnv([2])
    r = collect_window(env, zeros, start_streams(env, 0), steps=3)
    with pytest.raises(ValueError, match="steps"):
        collect_window(env, zeros, start_streams(env, 0), steps=0)
    with pytest.raises(ValueError, match="next_values"):
        bootstrap_values(r, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="max_steps"):
        collect_episodes(TinyVectorEnv([50]), zeros, seed=0, max_steps=10)


def test_real_cartpole_vector_env_has_the_semantics_the_rollout_assumes():
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    env = gym.make_vec("CartPole-v1", num_envs=4)
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    rng = np.random.default_rng(0)
    r = collect_window(env, lambda o: rng.integers(0, 2, len(o)), start_streams(env, 0), 200)
    ends = r.ends
    # every invalid row directly follows an episode end, and every end is followed by one
    after_end = np.zeros_like(ends)
    after_end[:, 1:] = ends[:, :-1]
    assert ends.any() and ((~r.valid) == after_end).all()
    assert (r.rewards[~r.valid] == 0).all() and (r.rewards[r.valid] == 1).all()
    # within an episode the next row's observation is the step's next observation
    same = r.valid[:, :-1] & ~ends[:, :-1]
    assert np.array_equal(r.next_obs[:, :-1][same], r.obs[:, 1:][same])
    # CartPole terminates when |theta| > 12 degrees or |x| > 2.4: true on final obs only
    final = r.next_obs[r.terminated]
    assert ((np.abs(final[:, 2]) > 0.2094) | (np.abs(final[:, 0]) > 2.4)).all()


def test_config_rejects_bad_hyperparameters():
    from pgproofs.cartpole.learner import Config

    with pytest.raises(ValueError, match="algo"):
        Config(algo="ppo")
    with pytest.raises(ValueError, match="discount"):
        Config(discount=1.5)
    with pytest.raises(ValueError, match="max_kl"):
        Config(algo="npg", max_kl=0.0)
    with pytest.raises(ValueError, match="window"):
        Config(window=0)


def test_evaluator_uses_fresh_seeds_and_rejects_a_bad_policy():
    from pgproofs.cartpole.evaluate import EVAL_SEED_BASE, Evaluator

    ev = Evaluator(run_seed=3)
    assert not ev.due(4_999) and ev.due(5_000)
    first = ev.evaluate(zeros, 5_000)
    second = ev.evaluate(zeros, 10_000)
    # always pushing left falls over within a few dozen steps: no confirmation run
    assert first.mean < 100 and first.confirm_mean is None and not first.solved
    assert first.episodes == 20 and ev.next_at == 15_000
    # fresh seeds, never reused and far from the small seeds training resets with
    assert len(first.seeds) == 1 and first.seeds != second.seeds
    assert min(first.seeds + second.seeds) >= EVAL_SEED_BASE


# ------------------------------------------------------- observers of the learner


def _short_npg(on_update=None):
    """A cheap npg run: 4 envs x 64 steps per update, 3 updates, one evaluation at 500 steps."""
    import dataclasses

    import torch

    from pgproofs.cartpole.evaluate import SolvedProtocol
    from pgproofs.cartpole.learner import Config, train

    torch.set_num_threads(1)
    protocol = dataclasses.replace(SolvedProtocol(), every=500)
    return train(Config(algo="npg", seed=3, num_envs=4, max_env_steps=700, protocol=protocol),
                 on_update)


def check_same_training(plain, observed) -> None:
    """Two runs of one config took the same steps: same logged numbers (the observer's own
    keys and the wall time aside), same evaluations, same final policy."""
    import torch

    def core(result):
        return [{k: v for k, v in u.items() if k != "wall_s" and not k.startswith("kl_")}
                for u in result.updates]
    assert core(plain) == core(observed), "an observer changed the learner's updates"
    assert [c["eval_mean"] for c in plain.curve] == [c["eval_mean"] for c in observed.curve], (
        "an observer changed the learner's evaluations")
    vec = torch.nn.utils.parameters_to_vector
    assert torch.equal(vec(plain.policy.parameters()), vec(observed.policy.parameters())), (
        "an observer changed the learner's updates")


def test_observers_see_every_update_and_leave_training_unchanged():
    import torch

    from pgproofs.cartpole.variance import KLControlProbe, VarianceProbe

    seen, kl, variance = [], KLControlProbe(), VarianceProbe(episodes=4)

    def observe(update):
        seen.append((update.number, update.obs is None, dict(update.info)))
        kl(update)
        variance(update)

    plain, observed = _short_npg(), _short_npg(observe)
    check_same_training(plain, observed)
    # number 0 before training (no batch), then once per update, with its log entry
    assert [n for n, _, _ in seen] == list(range(len(observed.updates) + 1))
    assert seen[0][1] and not any(no_batch for _, no_batch, _ in seen[1:])
    assert all(s[2]["env_steps"] == u["env_steps"] for s, u in zip(seen[1:], observed.updates))
    # the probes measured where they should: every natural step, start and each evaluation
    controls = {"kl_full", "kl_sqrt2", "kl_no_half", "kl_plain"}
    assert all(controls <= set(u) for u in observed.updates)
    assert [s["env_steps"] for s in variance.snapshots] == [0] + [c["env_steps"]
                                                                  for c in observed.curve]

    # control: an observer that nudges the policy is caught by the same check
    def meddle(update):
        if update.number == 1:
            with torch.no_grad():
                next(update.policy.parameters()).add_(1e-3)

    with pytest.raises(AssertionError, match="observer changed the learner's updates"):
        check_same_training(plain, _short_npg(meddle))


def test_probes_reject_bad_arguments():
    from pgproofs.cartpole.variance import VarianceProbe

    with pytest.raises(ValueError, match="episodes"):
        VarianceProbe(episodes=1)
    with pytest.raises(ValueError, match="offset"):
        VarianceProbe(offset=-1)


def test_acting_forward_is_bit_for_bit_the_network_and_sees_updated_weights():
    """The rollout's hook-free forward of a Sequential (learner._inference_forward) returns
    exactly what calling the network returns, also after an in-place parameter update
    (the optimiser's), and leaves any other module to be called as it is."""
    import torch
    from torch import nn

    from pgproofs.cartpole.learner import _inference_forward, make_networks

    torch.manual_seed(0)
    policy, _ = make_networks(16)
    obs = torch.as_tensor(np.random.default_rng(0).normal(size=(8, 4)), dtype=torch.float32)
    forward = _inference_forward(policy)
    assert torch.equal(forward(obs), policy(obs))
    with torch.no_grad():
        policy[0].weight.add_(0.5)
    assert torch.equal(forward(obs), policy(obs))
    other = nn.Linear(4, 2)
    assert _inference_forward(other) is other
