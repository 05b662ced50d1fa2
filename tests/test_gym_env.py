"""The Gymnasium environment of an EpisodicMDP and collection through gymnasium.make_vec (issue 13)."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

from pgproofs import rollouts
from pgproofs.gym_env import ENV_ID, EpisodicMDPEnv, rollout_from_vector_env, states_from_observations
from pgproofs.rollouts import Rollout
from pgproofs.testing import seed_offset, seeded_rng
from _episodic import branching_mdp, branching_policy

SAME_STEP = dict(vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
MODES = [pytest.param({}, id="next_step"), pytest.param(SAME_STEP, id="same_step")]


@pytest.mark.parametrize("observation", ["discrete", "one_hot"])
def test_the_environment_passes_gymnasiums_checker(observation):
    env = gym.make(ENV_ID, mdp=branching_mdp(), observation=observation)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a checker warning fails the test
        check_env(env.unwrapped)
    assert isinstance(env.unwrapped, EpisodicMDPEnv)


def test_the_module_prefixed_id_imports_the_module():
    env = gym.make("pgproofs.gym_env:pgproofs/EpisodicMDP-v0", mdp=branching_mdp())
    assert env.spec.id == ENV_ID and env.unwrapped.mdp.time_limit == 2


def test_a_step_that_terminates_at_the_time_limit_reports_both_flags():
    # time limit 1, from state 1 action 0 goes to the terminal state
    env = EpisodicMDPEnv(branching_mdp(time_limit=1, initial=(0.0, 1.0, 0.0)))
    obs, info = env.reset(seed=0)
    assert obs == 1 and info["state"] == 1
    obs, reward, terminated, truncated, _ = env.step(0)
    assert (obs, reward, terminated, truncated) == (2, 2.0, True, True)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="observation: expected one of"):
        EpisodicMDPEnv(branching_mdp(), observation="pixels")
    with pytest.raises(ValueError, match="mdp: expected an EpisodicMDP"):
        EpisodicMDPEnv(object())
    env = EpisodicMDPEnv(branching_mdp())
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action: 5 is not in Discrete"):
        env.step(5)
    with pytest.raises(ValueError, match="observations: expected one-hot rows"):
        states_from_observations(np.array([[0.5, 0.5, 0.0]]), gym.spaces.Box(0, 1, (3,)))


@pytest.mark.parametrize("observation", ["discrete", "one_hot"])
@pytest.mark.parametrize("mode", MODES)
def test_make_vec_runs_in_both_autoreset_modes(mode, observation):
    mdp, policy = branching_mdp(), branching_policy()
    envs = gym.make_vec(ENV_ID, num_envs=3, mdp=mdp, observation=observation, **mode)
    expected = mode.get("vector_kwargs", {}).get("autoreset_mode", AutoresetMode.NEXT_STEP)
    assert envs.metadata["autoreset_mode"] == expected
    buf = rollout_from_vector_env(envs, policy, n_steps=12, rng=np.random.default_rng(0), seed=1)
    assert buf.obs.shape == (12, 3)
    assert buf.dones.any()
    assert np.array_equal(buf.terminated, mdp.terminal[buf.next_obs])
    assert np.array_equal(buf.episode_starts[1:], buf.dones[:-1])
    envs.close()


# --- make_vec buffers have the distribution of rollouts.collect ---------------------------------
# Both are compared with the exact buffer distribution (rollouts.enumerate_all) by
# rollouts.assert_same_distribution: exact binomial per buffer, Bonferroni, false alarms <= 1e-6.

N_STEPS, N_ENVS = 2, 2


def naive_rollout(envs, policy, n_steps, rng, seed=None):
    """Control: records every vector step as a transition and the returned observation as next_obs.

    In NEXT_STEP mode this keeps the autoreset rows (an action 'taken' in the final
    state, reward 0); in SAME_STEP mode next_obs is the reset observation.
    """
    obs, _ = envs.reset(seed=seed)
    space, n = envs.single_observation_space, envs.num_envs
    s = states_from_observations(obs, space)
    cols = {k: [] for k in ("obs", "actions", "rewards", "terminated", "truncated", "next_obs",
                            "episode_starts")}
    start = np.ones(n, bool)
    for _ in range(n_steps):
        a = (np.cumsum(policy.probs[s], axis=1)[:, :-1] <= rng.random(n)[:, None]).sum(axis=1)
        obs, r, te, tr, _ = envs.step(a)
        s_next = states_from_observations(obs, space)
        for name, value in (("obs", s), ("actions", a), ("rewards", r), ("terminated", te),
                            ("truncated", tr), ("next_obs", s_next), ("episode_starts", start)):
            cols[name].append(np.asarray(value))
        start, s = te | tr, s_next
    out = {k: np.stack(v) for k, v in cols.items()}
    return Rollout(log_probs=policy.log_probs[out["obs"], out["actions"]], **out)


def vector_samples(collect_fn, mode, seed, n_samples):
    """n_samples (N_STEPS, N_ENVS) buffers from one vector env via gymnasium.make_vec, lazily.

    The vector env is reset with ``seed`` once and then at the start of every
    buffer (rollouts start fresh episodes), so its own random stream runs on.
    """
    mdp, policy = branching_mdp(time_limit=2), branching_policy()
    rng = seeded_rng(seed)
    envs = gym.make_vec(ENV_ID, num_envs=N_ENVS, mdp=mdp, **mode)
    try:
        for i in range(n_samples):
            yield collect_fn(envs, policy, N_STEPS, rng,
                             seed=(seed + seed_offset()) if i == 0 else None)
    finally:
        envs.close()


def check_vector_collection(collect_fn, mode, seed, n_samples=1000):
    samples = vector_samples(collect_fn, mode, seed, n_samples)
    return rollouts.assert_same_distribution(samples, branching_mdp(time_limit=2), branching_policy(),
                                             n_steps=N_STEPS, n_envs=N_ENVS, alpha=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_make_vec_buffers_have_the_distribution_of_collect(mode):
    # rollouts.collect passes the same check against the same enumeration (tests/test_rollouts.py)
    result = check_vector_collection(rollout_from_vector_env, mode, seed=201)
    assert result["samples"] == 1000
    assert result["buffers"] == rollouts.count_buffers(branching_mdp(time_limit=2), branching_policy(),
                                                       N_STEPS, N_ENVS)


def test_vector_buffers_contain_resets_and_both_flags():
    # the case exercises what the adapter must get right: episodes ending at t = 0
    # (a reset inside the buffer) and termination at the time limit (both flags)
    samples = list(vector_samples(rollout_from_vector_env, {}, seed=202, n_samples=300))
    assert sum(b.dones[0].sum() for b in samples) > 50
    assert sum((b.terminated & b.truncated).sum() for b in samples) > 20


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_make_vec_buffers_have_the_distribution_of_collect_many_samples(mode):
    check_vector_collection(rollout_from_vector_env, mode, seed=211, n_samples=6000)


@pytest.mark.parametrize("mode", MODES)
def test_a_naive_collection_loop_is_rejected(mode):
    with pytest.raises(AssertionError, match="is not a possible buffer"):
        check_vector_collection(naive_rollout, mode, seed=203)
