"""Rollout buffers of n_steps x n_envs from vectorised episodic environments, sampled or enumerated.

This is the data that on-policy training code (A2C, PPO) computes advantages
on. Semantics follow Gymnasium 1.x vector environments:

- every env starts a fresh episode at t = 0, s_0 ~ p(s_0);
- at step t the env is in obs[t], takes actions[t] ~ pi(.|obs[t]), receives
  rewards[t] = r(obs[t], actions[t]) and moves to next_obs[t] ~ P(.|obs[t], actions[t]);
- terminated[t]: next_obs[t] is a terminal state; truncated[t]: this was the
  episode's L-th step (L = mdp.time_limit). Both can be true at once, exactly
  as Gymnasium's TimeLimit reports it; then termination wins (no bootstrap);
- after terminated | truncated the env resets at once: obs[t+1] is a fresh
  s_0 and episode_starts[t+1] is True, while next_obs[t] keeps the true final
  state (Gymnasium's ``final_obs``), the one a truncation bootstraps from.

The end of the buffer is neither a termination nor a truncation: the episode
runs on, and correct code bootstraps from critic(next_obs[-1]).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, fields
from typing import Iterable, Iterator

import numpy as np

from pgproofs.episodic import EpisodicMDP
from pgproofs.mdp import draw_from_cumsum, pinned_cumsum
from pgproofs.policy import SoftmaxPolicy

__all__ = ["Buffers", "Rollout", "assert_same_distribution", "collect", "count_buffers",
           "enumerate", "enumerate_all"]

MAX_BUFFERS = 200_000
_INT_FIELDS = ("obs", "actions", "next_obs")
_FLOAT_FIELDS = ("rewards", "log_probs")
_BOOL_FIELDS = ("terminated", "truncated", "episode_starts")
_ROLLOUT_FIELDS = ("obs", "actions", "rewards", "log_probs", "terminated", "truncated", "next_obs",
                   "episode_starts")


@dataclass(frozen=True)
class Rollout:
    """A rollout buffer; every field has shape (T, n) = (n_steps, n_envs), time first.

    obs            int    state s_t the action was chosen in
    actions        int    a_t
    rewards        float  r(s_t, a_t)
    log_probs      float  log pi(a_t | s_t) under the policy that collected the buffer
    terminated     bool   next_obs[t] is terminal: the episode ended, V = 0 after it
    truncated      bool   the time limit cut the episode at this step (bootstrap)
    next_obs       int    the true s_{t+1}, the final state when the episode ended
    episode_starts bool   obs[t] opens an episode (t = 0, or the step after an end)
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    log_probs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    episode_starts: np.ndarray

    def __post_init__(self) -> None:
        shape = np.shape(self.obs)
        if len(shape) != 2:
            raise ValueError(f"obs: expected shape (n_steps, n_envs), got {shape}")
        for f in fields(self):
            value = getattr(self, f.name)
            if np.shape(value) != shape:
                raise ValueError(f"{f.name}: shape {np.shape(value)} differs from obs {shape}")
            kind = np.asarray(value).dtype.kind
            if f.name in _BOOL_FIELDS and kind != "b":
                raise ValueError(f"{f.name}: expected a bool array, got dtype {np.asarray(value).dtype}")
            if f.name in _INT_FIELDS and kind not in "iu":
                raise ValueError(f"{f.name}: expected an int array, got dtype {np.asarray(value).dtype}")

    @classmethod
    def _trusted(cls, values: dict) -> "Rollout":
        """A Rollout of fields already known to be valid (enumerated views), without re-checking."""
        buf = object.__new__(cls)
        for name, value in values.items():
            object.__setattr__(buf, name, value)
        return buf

    @property
    def n_steps(self) -> int:
        return self.obs.shape[0]

    @property
    def n_envs(self) -> int:
        return self.obs.shape[1]

    @property
    def dones(self) -> np.ndarray:
        """terminated | truncated: the episode ended at this step, (T, n)."""
        return self.terminated | self.truncated

    def table(self, **columns: np.ndarray) -> str:
        """The buffer as text, one block per env, with extra (T, n) ``columns`` (e.g. adv=...)."""
        names = ["t", "obs", "action", "reward", "term", "trunc", "next_obs", "start", *columns]
        lines = []
        for e in range(self.n_envs):
            lines.append(f"env {e}:")
            lines.append("  " + " ".join(f"{name:>9}" for name in names))
            for t in range(self.n_steps):
                cells = [t, int(self.obs[t, e]), int(self.actions[t, e]),
                         _num(self.rewards[t, e]), _flag(self.terminated[t, e]),
                         _flag(self.truncated[t, e]), int(self.next_obs[t, e]),
                         _flag(self.episode_starts[t, e])]
                cells += [_num(np.asarray(col)[t, e]) for col in columns.values()]
                lines.append("  " + " ".join(f"{c:>9}" for c in cells))
        return "\n".join(lines)


def _num(x) -> str:
    return f"{float(x):.6g}"


def _flag(x) -> str:
    return "T" if x else "."


def _check_args(mdp, policy, n_steps, n_envs) -> None:
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp: expected an EpisodicMDP, got {type(mdp).__name__}")
    mdp.check_policy(policy)
    for name, value in (("n_steps", n_steps), ("n_envs", n_envs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")


def collect(mdp: EpisodicMDP, policy: SoftmaxPolicy, n_steps: int, n_envs: int,
            rng: np.random.Generator) -> Rollout:
    """Sample one (n_steps, n_envs) buffer, vectorised over envs (the only loop runs over time).

    Each step draws, for all envs at once, the action, the next state and a
    reset state (used where the episode ended), by inverse-CDF lookup.
    """
    _check_args(mdp, policy, n_steps, n_envs)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    T, n, A = int(n_steps), int(n_envs), mdp.n_actions
    cum_pi = pinned_cumsum(policy.probs)
    cum_init = np.broadcast_to(mdp._cum_initial, (n, mdp.n_states))
    out = {name: np.empty((T, n), dtype=np.int64) for name in _INT_FIELDS}
    out.update({name: np.empty((T, n), dtype=bool) for name in _BOOL_FIELDS})
    s = draw_from_cumsum(cum_init, rng.random(n))
    elapsed = np.zeros(n, dtype=np.int64)
    start = np.ones(n, dtype=bool)
    for t in range(T):
        a = draw_from_cumsum(cum_pi[s], rng.random(n))
        s_next = draw_from_cumsum(mdp._cum_transitions[s * A + a], rng.random(n))
        elapsed += 1
        term = mdp.terminal[s_next]
        trunc = elapsed >= mdp.time_limit
        out["obs"][t], out["actions"][t], out["next_obs"][t] = s, a, s_next
        out["terminated"][t], out["truncated"][t], out["episode_starts"][t] = term, trunc, start
        done = term | trunc
        s = np.where(done, draw_from_cumsum(cum_init, rng.random(n)), s_next)
        elapsed[done] = 0
        start = done
    return Rollout(rewards=mdp.rewards[out["obs"], out["actions"]],
                   log_probs=policy.log_probs[out["obs"], out["actions"]], **out)


def count_buffers(mdp: EpisodicMDP, policy: SoftmaxPolicy, n_steps: int, n_envs: int) -> int:
    """How many (n_steps, n_envs) buffers have positive probability (counted, not built).

    Envs are independent, so this is K ** n_envs with K the number of one-env
    sequences, counted by a dynamic programme over (state, steps into the episode).
    """
    _check_args(mdp, policy, n_steps, n_envs)
    return _count_env_sequences(mdp, policy, int(n_steps)) ** int(n_envs)


def _count_env_sequences(mdp: EpisodicMDP, policy: SoftmaxPolicy, T: int) -> int:
    L = mdp.time_limit
    branches = np.einsum("sa,sax->sx", (policy.probs > 0).astype(object),
                         (mdp.transitions > 0).astype(object))  # exact integer counts
    starts = (mdp.initial > 0).astype(object)
    paths = np.zeros((mdp.n_states, L), dtype=object)  # paths now in state s, k steps into the episode
    paths[:, 0] = starts
    for t in range(T):
        moved = np.stack([paths[:, k] @ branches for k in range(L)], axis=1)  # (S', k) before the step
        if t + 1 == T:
            return int(moved.sum())
        paths = np.zeros_like(paths)
        # alive: k+1 < L and s' not terminal; every other path ended and resets
        paths[:, 1:] = np.where(mdp.terminal[:, None], 0, moved[:, :-1])
        ended = moved.sum() - paths.sum()
        paths[:, 0] = starts * ended
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Buffers:
    """Every buffer with positive probability, stacked: each field (N, T, n), probs (N,).

    ``buffers[i]`` is the i-th buffer as a Rollout (read-only views).
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    log_probs: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    next_obs: np.ndarray
    episode_starts: np.ndarray
    probs: np.ndarray

    def __len__(self) -> int:
        return len(self.probs)

    def __getitem__(self, i: int) -> Rollout:
        return Rollout._trusted({name: getattr(self, name)[i] for name in _ROLLOUT_FIELDS})


def enumerate_all(mdp: EpisodicMDP, policy: SoftmaxPolicy, n_steps: int, n_envs: int, *,
                  max_buffers: int = MAX_BUFFERS) -> Buffers:
    """Every (n_steps, n_envs) buffer with positive probability, stacked, with its probability.

    One env's sequences are built step by step (expand by actions, next states
    and, where the episode ended, reset states); buffers are all n_envs-tuples
    of them, with the product of their probabilities. ValueError with the
    count when there would be more than ``max_buffers``.
    """
    count = count_buffers(mdp, policy, n_steps, n_envs)
    if count > max_buffers:
        k = _count_env_sequences(mdp, policy, int(n_steps))
        raise ValueError(f"enumeration too large: {k} one-env sequences give {count} buffers "
                         f"for n_envs={n_envs}, more than max_buffers={max_buffers}")
    seq, probs = _env_sequences(mdp, policy, int(n_steps))
    K, n = len(probs), int(n_envs)
    index = np.indices((K,) * n).reshape(n, -1).T  # (N, n): which sequence each env follows
    stacked = {}
    for name, values in seq.items():
        arr = np.ascontiguousarray(values[index].transpose(0, 2, 1))  # (N, n, T) -> (N, T, n)
        arr.setflags(write=False)
        stacked[name] = arr
    p = np.prod(probs[index], axis=1)
    p.setflags(write=False)
    return Buffers(probs=p, **stacked)


def enumerate(mdp: EpisodicMDP, policy: SoftmaxPolicy, n_steps: int, n_envs: int, *,
              max_buffers: int = MAX_BUFFERS) -> Iterator[tuple[Rollout, float]]:
    """Yield (buf, prob) for every (n_steps, n_envs) buffer with positive probability.

    The probabilities sum to 1. Buffers are read-only. ValueError with the
    count when there are more than ``max_buffers`` (see ``enumerate_all``).
    """
    buffers = enumerate_all(mdp, policy, n_steps, n_envs, max_buffers=max_buffers)
    for i in range(len(buffers)):
        yield buffers[i], float(buffers.probs[i])


def _env_sequences(mdp: EpisodicMDP, policy: SoftmaxPolicy, T: int):
    """One env's sequences with positive probability: fields (K, T) and probs (K,)."""
    init = np.flatnonzero(mdp.initial > 0)
    s = init.copy()
    k = np.zeros(len(s), dtype=np.int64)
    start = np.ones(len(s), dtype=bool)
    prob = mdp.initial[init]
    cols = {name: np.empty((len(s), 0), dtype=np.int64) for name in _INT_FIELDS}
    cols.update({name: np.empty((len(s), 0), dtype=bool) for name in _BOOL_FIELDS})

    def expand(rows, **new):
        nonlocal s, k, start, prob
        for name in cols:
            cols[name] = cols[name][rows]
        s, k, start, prob = s[rows], k[rows], start[rows], prob[rows]
        for name, value in new.items():
            cols[name] = np.column_stack([cols[name], value])

    for t in range(T):
        rows, a = np.nonzero(policy.probs[s] > 0)
        prob_a = policy.probs[s[rows], a]
        expand(rows)
        prob = prob * prob_a
        rows, s_next = np.nonzero(mdp.transitions[s, a] > 0)
        prob_s = mdp.transitions[s[rows], a[rows], s_next]
        a = a[rows]
        expand(rows)
        prob = prob * prob_s
        term = mdp.terminal[s_next]
        trunc = k + 1 >= mdp.time_limit
        done = term | trunc
        cols["obs"] = np.column_stack([cols["obs"], s])
        cols["actions"] = np.column_stack([cols["actions"], a])
        cols["next_obs"] = np.column_stack([cols["next_obs"], s_next])
        cols["terminated"] = np.column_stack([cols["terminated"], term])
        cols["truncated"] = np.column_stack([cols["truncated"], trunc])
        cols["episode_starts"] = np.column_stack([cols["episode_starts"], start])
        if t + 1 == T:
            break
        # an ended episode branches into every reset state; a running one continues
        reps = np.where(done, len(init), 1)
        rows = np.repeat(np.arange(len(prob)), reps)
        offset = np.arange(len(rows)) - np.repeat(np.cumsum(reps) - reps, reps)
        reset_state = init[np.minimum(offset, len(init) - 1)]
        ended = done[rows]
        s_new = np.where(ended, reset_state, s_next[rows])
        p_new = np.where(ended, mdp.initial[reset_state], 1.0)
        k_new = np.where(ended, 0, k[rows] + 1)
        expand(rows)
        s, k, start, prob = s_new, k_new, ended, prob * p_new
    cols["rewards"] = mdp.rewards[cols["obs"], cols["actions"]]
    cols["log_probs"] = policy.log_probs[cols["obs"], cols["actions"]]
    return cols, prob


def _key_rows(fields_: dict, N: int) -> np.ndarray:
    """(N, bytes) uint8: each buffer's fields as int64 / uint8 / float64 bytes, side by side."""
    parts = [np.ascontiguousarray(fields_[name], np.int64) for name in _INT_FIELDS]
    parts += [np.ascontiguousarray(fields_[name], np.uint8) for name in _BOOL_FIELDS]
    parts += [np.ascontiguousarray(fields_[name], np.float64) for name in _FLOAT_FIELDS]
    return np.concatenate([p.reshape(N, -1).view(np.uint8) for p in parts], axis=1)


def _key(buf: Rollout) -> bytes:
    """Bytes identifying a buffer exactly (its fields' values, whatever their dtypes)."""
    return _key_rows({f.name: np.asarray(getattr(buf, f.name))[None] for f in fields(Rollout)},
                     1)[0].tobytes()


def assert_same_distribution(sampled: Iterable[Rollout], mdp: EpisodicMDP, policy: SoftmaxPolicy,
                             n_steps: int, n_envs: int, *, alpha: float = 1e-6,
                             max_buffers: int = MAX_BUFFERS) -> dict:
    """AssertionError unless ``sampled`` buffers look drawn from the exact buffer distribution.

    A buffer outside the support (impossible under the MDP) fails at once.
    Otherwise each of the N possible buffers gets an exact two-sided binomial
    test of its count against m * p (m samples; p-value 2 min(P(X <= c),
    P(X >= c))), at level alpha / N (Bonferroni), so the false-alarm probability of the whole check is at
    most ``alpha``. Returns {"samples", "buffers", "min_pvalue"}.
    """
    from scipy.special import bdtr, bdtrc  # binomial tails; scipy.stats is slow to import

    if not (0 < alpha < 1):
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
    buffers = enumerate_all(mdp, policy, n_steps, n_envs, max_buffers=max_buffers)
    rows = _key_rows({f.name: getattr(buffers, f.name) for f in fields(Rollout)}, len(buffers))
    where = {row.tobytes(): i for i, row in builtins.enumerate(rows)}
    counts = np.zeros(len(buffers), dtype=np.int64)
    m = 0
    for buf in sampled:
        i = where.get(_key(buf))
        if i is None:
            raise AssertionError(f"sample {m} is not a possible buffer of this MDP:\n{buf.table()}")
        counts[i] += 1
        m += 1
    if m == 0:
        raise ValueError("sampled: no buffers")
    # two-sided p-value 2 min(P(X <= c), P(X >= c)), X ~ Binomial(m, p): a valid
    # (conservative) exact level for every cell, vectorised
    lower = bdtr(counts, m, buffers.probs)
    upper = np.where(counts > 0, bdtrc(np.maximum(counts - 1, 0), m, buffers.probs), 1.0)
    pvalues = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    worst = int(np.argmin(pvalues))
    level = alpha / len(buffers)
    if pvalues[worst] < level:
        raise AssertionError(
            f"buffer {worst} seen {counts[worst]} times in {m} samples, expected "
            f"{m * buffers.probs[worst]:.6g} (p = {buffers.probs[worst]:.6g}); exact binomial "
            f"p-value {pvalues[worst]:.3g} < alpha/N = {level:.3g} (alpha {alpha:g}, "
            f"N = {len(buffers)} buffers):\n{buffers[worst].table()}")
    return {"samples": m, "buffers": len(buffers), "min_pvalue": float(pvalues[worst])}
