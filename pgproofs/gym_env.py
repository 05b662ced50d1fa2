"""An EpisodicMDP as a Gymnasium environment, and a vector-env collection loop into a Rollout.

So a user can drive their own collection loop on a small MDP whose true
advantages are known exactly::

    import gymnasium as gym
    import pgproofs.gym_env                      # registers ENV_ID
    envs = gym.make_vec(pgproofs.gym_env.ENV_ID, num_envs=2, vectorization_mode="sync",
                        mdp=mdp)                 # or observation="one_hot"
    buf = pgproofs.gym_env.rollout_from_vector_env(envs, policy, n_steps=4, rng=rng, seed=0)

(``gym.make("pgproofs.gym_env:pgproofs/EpisodicMDP-v0", mdp=mdp)`` imports the module itself.)

The environment applies the MDP's own time limit (truncated after
``mdp.time_limit`` steps, both flags true when the last step also enters a
terminal state, as Gymnasium's TimeLimit reports), so it is registered
without ``max_episode_steps``. ``rollout_from_vector_env`` turns either
autoreset mode of a Gymnasium 1.x vector env into the Rollout layout of
``pgproofs.rollouts``: NEXT_STEP (the default: the step after an episode end
only resets, ignores the action and returns reward 0; that row is dropped)
and SAME_STEP (the reset observation comes at once, the final one in
``info["final_obs"]``).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from pgproofs.episodic import EpisodicMDP
from pgproofs.mdp import pinned_cumsum
from pgproofs.policy import SoftmaxPolicy
from pgproofs.rollouts import Rollout

__all__ = ["ENV_ID", "EpisodicMDPEnv", "rollout_from_vector_env", "states_from_observations"]

ENV_ID = "pgproofs/EpisodicMDP-v0"
OBSERVATIONS = ("discrete", "one_hot")


class EpisodicMDPEnv(gym.Env):
    """Gymnasium environment of an EpisodicMDP.

    observation="discrete": Discrete(S) observations (the state index);
    observation="one_hot": Box(0, 1, (S,), float32), the one-hot state.
    Action space Discrete(A). reward = r(s, a); terminated when the next state
    is terminal; truncated at the MDP's time limit. info["state"] holds the
    state index in both observation modes.
    """

    metadata = {"render_modes": []}

    def __init__(self, mdp: EpisodicMDP, observation: str = "discrete"):
        if not isinstance(mdp, EpisodicMDP):
            raise ValueError(f"mdp: expected an EpisodicMDP, got {type(mdp).__name__}")
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation: expected one of {OBSERVATIONS}, got {observation!r}")
        self.mdp = mdp
        self.observation = observation
        S, A = mdp.n_states, mdp.n_actions
        self.action_space = spaces.Discrete(A)
        self.observation_space = spaces.Discrete(S) if observation == "discrete" else \
            spaces.Box(0.0, 1.0, shape=(S,), dtype=np.float32)
        self._cum_initial = pinned_cumsum(mdp.initial)
        self._cum_transitions = pinned_cumsum(mdp.transitions)
        self._state: int | None = None
        self._elapsed = 0

    def _observe(self, s: int):
        if self.observation == "discrete":
            return np.int64(s)
        obs = np.zeros(self.mdp.n_states, dtype=np.float32)
        obs[s] = 1.0
        return obs

    def draw_from_cumsum(self, cum: np.ndarray) -> int:
        # inverse CDF as in pgproofs.mdp.draw_from_cumsum, so zero-probability outcomes are never drawn
        return int((cum[:-1] <= self.np_random.random()).sum())

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._state = self.draw_from_cumsum(self._cum_initial)
        self._elapsed = 0
        return self._observe(self._state), {"state": self._state}

    def step(self, action):
        if self._state is None:
            raise RuntimeError("step: the episode has ended (or never started); call reset()")
        if not self.action_space.contains(action):
            raise ValueError(f"action: {action!r} is not in {self.action_space}")
        s, a = self._state, int(action)
        reward = float(self.mdp.rewards[s, a])
        s_next = self.draw_from_cumsum(self._cum_transitions[s, a])
        self._elapsed += 1
        terminated = bool(self.mdp.terminal[s_next])
        truncated = self._elapsed >= self.mdp.time_limit
        self._state = None if (terminated or truncated) else s_next
        return self._observe(s_next), reward, terminated, truncated, {"state": s_next}


if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="pgproofs.gym_env:EpisodicMDPEnv")


def states_from_observations(observations, space: gym.Space) -> np.ndarray:
    """State indices (n,) from a batch of Discrete or one-hot Box observations."""
    obs = np.asarray(observations)
    if isinstance(space, spaces.Discrete):
        return obs.astype(np.int64) - int(space.start)
    if isinstance(space, spaces.Box) and obs.ndim == 2:
        states = obs.argmax(axis=1)
        if not np.array_equal(obs, np.eye(obs.shape[1], dtype=obs.dtype)[states]):
            raise ValueError("observations: expected one-hot rows")
        return states.astype(np.int64)
    raise ValueError(f"space: expected Discrete or one-hot Box observations, got {space}")


def rollout_from_vector_env(envs, policy: SoftmaxPolicy, n_steps: int, rng: np.random.Generator,
                            seed: int | None = None) -> Rollout:
    """Reset ``envs`` (with ``seed``) and collect n_steps transitions per env into a Rollout.

    Actions are drawn from ``policy`` with ``rng``, vectorised over envs. In
    NEXT_STEP mode an env needs one extra step after each episode end (the
    reset row, which is not a transition and is dropped), so envs fill their
    columns at different speeds; the loop runs until every column is full and
    transitions beyond n_steps are discarded (envs are independent, so this
    does not change the buffer's distribution).
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps: must be a positive integer, got {n_steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    mode = AutoresetMode(envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP))
    if mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
        raise ValueError(f"envs: autoreset mode {mode} is not supported (NEXT_STEP or SAME_STEP)")
    space = envs.single_observation_space
    n, T = envs.num_envs, int(n_steps)
    if policy.n_actions != envs.single_action_space.n:
        raise ValueError(f"policy: {policy.n_actions} actions, the envs have "
                         f"{envs.single_action_space.n}")
    cum_pi = pinned_cumsum(policy.probs)
    out = {name: np.zeros((T, n), dtype=np.int64) for name in ("obs", "actions", "next_obs")}
    out.update({name: np.zeros((T, n), dtype=bool)
                for name in ("terminated", "truncated", "episode_starts")})
    out["rewards"] = np.zeros((T, n))

    obs, _ = envs.reset(seed=seed)
    s = states_from_observations(obs, space)
    filled = np.zeros(n, dtype=np.int64)
    pending = np.zeros(n, dtype=bool)   # NEXT_STEP: this env's next step is a reset row
    start = np.ones(n, dtype=bool)
    while (filled < T).any():
        a = (cum_pi[s, :-1] <= rng.random(n)[:, None]).sum(axis=1)
        obs, reward, term, trunc, info = envs.step(a)
        s_step = states_from_observations(obs, space)
        done = term | trunc
        record = ~pending & (filled < T)
        next_s = s_step.copy()
        if mode == AutoresetMode.SAME_STEP and done.any():
            # the returned observation already starts the next episode
            final = np.stack([info["final_obs"][i] for i in np.flatnonzero(done)])
            next_s[done] = states_from_observations(final, space)
        cols, rows = np.flatnonzero(record), filled[record]
        for name, value in (("obs", s), ("actions", a), ("next_obs", next_s),
                            ("terminated", term), ("truncated", trunc),
                            ("episode_starts", start), ("rewards", reward)):
            out[name][rows, cols] = np.asarray(value)[cols]
        filled += record
        if mode == AutoresetMode.NEXT_STEP:
            start = pending.copy()          # a reset row hands out the new episode's first state
            pending = ~pending & done
        else:
            start = done
        s = s_step
    return Rollout(log_probs=policy.log_probs[out["obs"], out["actions"]], **out)
