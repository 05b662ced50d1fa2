"""Rollout buffers: Gymnasium semantics of collect, the exact enumeration, and that they agree (issue 13)."""

import dataclasses
import itertools

import numpy as np
import pytest

from pgproofs import rollouts
from pgproofs.mdp import draw_from_cumsum, pinned_cumsum
from pgproofs.rollouts import Rollout
from pgproofs.testing import seeded_rng
from _episodic import (branching_mdp, branching_policy, cycling_mdp, cycling_policy,
                             random_episodic)


def check_semantics(buf: Rollout, mdp, policy):
    """AssertionError unless ``buf`` follows the documented rollout semantics on ``mdp``."""
    T, n = buf.obs.shape
    assert buf.obs.dtype.kind == "i" and buf.next_obs.dtype.kind == "i", "obs dtypes"
    assert buf.rewards.dtype == np.float64 and buf.log_probs.dtype == np.float64, "float dtypes"
    assert not mdp.terminal[buf.obs].any(), "an action is taken in a terminal state"
    assert np.array_equal(buf.rewards, mdp.rewards[buf.obs, buf.actions]), "rewards are not r(s, a)"
    assert np.array_equal(buf.log_probs, policy.log_probs[buf.obs, buf.actions]), "log_probs"
    assert np.array_equal(buf.terminated, mdp.terminal[buf.next_obs]), \
        "terminated is not 'next_obs is terminal'"
    assert (mdp.transitions[buf.obs, buf.actions, buf.next_obs] > 0).all(), "impossible transition"
    assert buf.episode_starts[0].all(), "t = 0 does not start an episode"
    # steps into the episode, counted from the episode ends: truncated exactly at the L-th step
    elapsed = np.zeros(n, dtype=int)
    for t in range(T):
        elapsed = np.where(t == 0 or buf.dones[t - 1], 1, elapsed + 1)
        assert np.array_equal(buf.truncated[t], elapsed >= mdp.time_limit), \
            f"truncated is not 'the time limit was reached' at t={t}"
    assert np.array_equal(buf.episode_starts[1:], buf.dones[:-1]), \
        "episode_starts is not 'the previous step ended an episode'"
    cont = ~buf.dones[:-1]
    assert np.array_equal(buf.obs[1:][cont], buf.next_obs[:-1][cont]), \
        "a running episode does not continue from next_obs"
    assert (mdp.initial[buf.obs[buf.episode_starts]] > 0).all(), "an episode starts off p(s_0)"


def test_collected_buffers_follow_gymnasium_semantics():
    mdp, policy = branching_mdp(time_limit=3), branching_policy()
    rng = seeded_rng(11)
    for n_envs in (1, 2, 5):
        buf = rollouts.collect(mdp, policy, n_steps=12, n_envs=n_envs, rng=rng)
        assert buf.obs.shape == (12, n_envs)
        check_semantics(buf, mdp, policy)
    # both flags on one step happen here (state 1, action 0 at the 3rd step) and are kept
    big = rollouts.collect(mdp, policy, n_steps=30, n_envs=200, rng=rng)
    assert (big.terminated & big.truncated).any()


@pytest.mark.parametrize("mutate, match", [
    (lambda b: dict(obs=np.where(b.episode_starts, np.roll(b.next_obs, 1, axis=0), b.obs)),
     "(terminal state|off p)"),                                 # no reset: continue from the final state
    (lambda b: dict(truncated=np.zeros_like(b.truncated)), "truncated is not"),
    (lambda b: dict(terminated=b.terminated | b.truncated), "terminated is not"),
    (lambda b: dict(next_obs=np.vstack([b.obs[1:], b.next_obs[-1:]])), "(terminated is not|impossible)"),
    (lambda b: dict(episode_starts=np.vstack([b.episode_starts[:1], b.episode_starts[:-1]])),
     "episode_starts is not"),
])
def test_semantics_check_rejects_broken_buffers(mutate, match):
    mdp, policy = branching_mdp(time_limit=2), branching_policy()
    buf = rollouts.collect(mdp, policy, n_steps=10, n_envs=6, rng=seeded_rng(3))
    check_semantics(buf, mdp, policy)
    broken = dataclasses.replace(buf, **mutate(buf))
    with pytest.raises(AssertionError, match=match):
        check_semantics(broken, mdp, policy)


def brute_force_buffers(mdp, policy, T):
    """{key: prob} of one env's buffers by itertools over (a, s', reset state) per step."""
    S, A = mdp.n_states, mdp.n_actions
    out = {}
    for s0 in range(S):
        for choices in itertools.product(range(A), range(S), range(S), repeat=T):
            p = mdp.initial[s0]
            s, k, start = s0, 0, True
            rows = []
            for t in range(T):
                a, s1, reset = choices[3 * t: 3 * t + 3]
                p *= policy.probs[s, a] * mdp.transitions[s, a, s1]
                k += 1
                term, trunc = bool(mdp.terminal[s1]), k >= mdp.time_limit
                rows.append((s, a, s1, term, trunc, start))
                if t + 1 < T and (term or trunc):
                    p *= mdp.initial[reset]
                    s, k, start = reset, 0, True
                else:
                    if reset != 0:  # the reset draw is unused: count the path once
                        p = 0.0
                    s, start = s1, False
            if p > 0:
                out[tuple(rows)] = out.get(tuple(rows), 0.0) + p
    return out


@pytest.mark.parametrize("make", [lambda: (branching_mdp(2), branching_policy()),
                                  lambda: (cycling_mdp(1), cycling_policy()),
                                  lambda: random_episodic(5, n_states=3, time_limit=2)])
def test_enumeration_equals_a_brute_force_enumeration(make):
    mdp, policy = make()
    T = 3
    bufs = rollouts.enumerate_all(mdp, policy, n_steps=T, n_envs=1)
    mine = {}
    for i in range(len(bufs)):
        b = bufs[i]
        key = tuple((int(b.obs[t, 0]), int(b.actions[t, 0]), int(b.next_obs[t, 0]),
                     bool(b.terminated[t, 0]), bool(b.truncated[t, 0]),
                     bool(b.episode_starts[t, 0])) for t in range(T))
        assert key not in mine, "a buffer is enumerated twice"
        mine[key] = bufs.probs[i]
    brute = brute_force_buffers(mdp, policy, T)
    assert mine.keys() == brute.keys()
    assert max(abs(mine[k] - brute[k]) for k in brute) < 1e-15
    assert rollouts.count_buffers(mdp, policy, T, 1) == len(bufs)


def test_two_env_buffers_are_all_pairs_with_product_probabilities():
    mdp, policy = branching_mdp(2), branching_policy()
    one = rollouts.enumerate_all(mdp, policy, n_steps=2, n_envs=1)
    two = list(rollouts.enumerate(mdp, policy, n_steps=2, n_envs=2))
    assert len(two) == len(one) ** 2 == rollouts.count_buffers(mdp, policy, 2, 2)
    assert abs(sum(p for _, p in two) - 1.0) < 1e-12
    for buf, p in two:
        check_semantics(buf, mdp, policy)
        i = [next(j for j in range(len(one)) if np.array_equal(one.obs[j, :, 0], buf.obs[:, e])
                  and np.array_equal(one.actions[j, :, 0], buf.actions[:, e])
                  and np.array_equal(one.next_obs[j, :, 0], buf.next_obs[:, e])) for e in range(2)]
        assert abs(p - one.probs[i[0]] * one.probs[i[1]]) < 1e-15
    with pytest.raises(ValueError, match="read-only"):
        two[0][0].rewards[0, 0] = 1.0


def test_too_large_an_enumeration_is_refused_with_the_count():
    mdp, policy = random_episodic(0, n_states=4, time_limit=3)
    k = rollouts.count_buffers(mdp, policy, n_steps=4, n_envs=1)
    with pytest.raises(ValueError, match=f"{k} one-env sequences give {k ** 2} buffers for n_envs=2"):
        rollouts.enumerate_all(mdp, policy, n_steps=4, n_envs=2, max_buffers=k ** 2 - 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_steps=0), "n_steps: must be a positive integer"),
    (dict(n_envs=1.0), "n_envs: must be a positive integer"),
    (dict(rng=0), "rng: expected a numpy.random.Generator"),
    (dict(policy=cycling_policy()), "policy: logits have shape"),
    (dict(mdp=object()), "mdp: expected an EpisodicMDP"),
])
def test_collect_refuses_bad_arguments(kwargs, match):
    args = dict(mdp=branching_mdp(), policy=branching_policy(), n_steps=2, n_envs=1,
                rng=np.random.default_rng(0))
    rollouts.collect(**args)
    with pytest.raises(ValueError, match=match):
        rollouts.collect(**{**args, **kwargs})


def test_rollout_refuses_mismatched_fields():
    buf = rollouts.collect(branching_mdp(), branching_policy(), 3, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"rewards: shape \(3, 1\) differs from obs \(3, 2\)"):
        dataclasses.replace(buf, rewards=buf.rewards[:, :1])
    with pytest.raises(ValueError, match="terminated: expected a bool array"):
        dataclasses.replace(buf, terminated=buf.terminated.astype(float))
    with pytest.raises(ValueError, match="obs: expected an int array"):
        dataclasses.replace(buf, obs=buf.obs.astype(float))


# --- collect and enumerate agree --------------------------------------------------------------
# alpha = 1e-6 bounds the false-alarm probability of each assert_same_distribution call
# (exact binomial tail per buffer, Bonferroni over the buffers).

N_SAMPLES = 2000


def collect_without_reset_at_truncation(mdp, policy, n_steps, n_envs, rng):
    """Control: a time-limit cut does not reset the env (obs[t+1] = next_obs[t])."""
    buf = rollouts.collect(mdp, policy, n_steps, n_envs, rng)
    obs = buf.obs.copy()
    cut = buf.truncated & ~buf.terminated
    obs[1:][cut[:-1]] = buf.next_obs[:-1][cut[:-1]]
    return dataclasses.replace(buf, obs=obs)


def collect_with_uniform_resets(mdp, policy, n_steps, n_envs, rng):
    """Control: resets draw s_0 uniformly over live states instead of p(s_0) (first start kept)."""
    live = np.flatnonzero(~mdp.terminal)
    wrong = np.zeros(mdp.n_states)
    wrong[live] = 1.0 / len(live)
    T, n, A = n_steps, n_envs, mdp.n_actions
    cum_pi, cum_wrong = pinned_cumsum(policy.probs), pinned_cumsum(wrong)
    fields = {k: np.zeros((T, n), dtype=int) for k in ("obs", "actions", "next_obs")}
    fields.update({k: np.zeros((T, n), dtype=bool) for k in ("terminated", "truncated", "episode_starts")})
    s = draw_from_cumsum(np.broadcast_to(mdp._cum_initial, (n, mdp.n_states)), rng.random(n))
    k, start = np.zeros(n, int), np.ones(n, bool)
    for t in range(T):
        a = draw_from_cumsum(cum_pi[s], rng.random(n))
        s1 = draw_from_cumsum(mdp._cum_transitions[s * A + a], rng.random(n))
        k += 1
        term, trunc = mdp.terminal[s1], k >= mdp.time_limit
        for name, value in (("obs", s), ("actions", a), ("next_obs", s1), ("terminated", term),
                            ("truncated", trunc), ("episode_starts", start)):
            fields[name][t] = value
        start = term | trunc
        s = np.where(start, draw_from_cumsum(np.broadcast_to(cum_wrong, (n, mdp.n_states)), rng.random(n)), s1)
        k[start] = 0
    return Rollout(rewards=mdp.rewards[fields["obs"], fields["actions"]],
                   log_probs=policy.log_probs[fields["obs"], fields["actions"]], **fields)


def check_collector(collector, mdp, policy, n_steps, n_envs, seed, *, one_call=True):
    """assert_same_distribution of N_SAMPLES buffers from ``collector`` (false alarms <= 1e-6).

    one_call: draw all buffers in one call with n_envs * N_SAMPLES envs and cut
    it into groups of n_envs columns (envs are independent and identically
    distributed, which this also tests); otherwise one call per buffer (slow).
    """
    rng = seeded_rng(seed)
    if one_call:
        big = collector(mdp, policy, n_steps, n_envs * N_SAMPLES, rng)
        samples = (Rollout(**{f.name: getattr(big, f.name)[:, i * n_envs:(i + 1) * n_envs]
                              for f in dataclasses.fields(Rollout)}) for i in range(N_SAMPLES))
    else:
        samples = (collector(mdp, policy, n_steps, n_envs, rng) for _ in range(N_SAMPLES))
    return rollouts.assert_same_distribution(samples, mdp, policy, n_steps=n_steps, n_envs=n_envs,
                                             alpha=1e-6)


@pytest.mark.parametrize("n_steps, n_envs", [(2, 2), (3, 1)])
def test_collect_has_the_distribution_of_the_enumeration(n_steps, n_envs):
    mdp, policy = branching_mdp(time_limit=2), branching_policy()
    result = check_collector(rollouts.collect, mdp, policy, n_steps, n_envs, seed=101 + n_envs)
    assert result["samples"] == N_SAMPLES
    assert result["buffers"] == rollouts.count_buffers(mdp, policy, n_steps, n_envs)


@pytest.mark.slow
@pytest.mark.parametrize("n_steps, n_envs", [(2, 2), (3, 1)])
def test_collect_one_buffer_per_call_has_the_distribution_of_the_enumeration(n_steps, n_envs):
    mdp, policy = branching_mdp(time_limit=2), branching_policy()
    check_collector(rollouts.collect, mdp, policy, n_steps, n_envs, seed=111 + n_envs,
                    one_call=False)


def test_distribution_check_rejects_a_collector_that_does_not_reset_at_truncation():
    # every episode starts in state 0, so continuing in state 1 after a cut is impossible;
    # about 11% of buffers have such a cut at t = 1 (0 -a1-> 0 -a0-> 1)
    mdp = branching_mdp(time_limit=2, initial=(1.0, 0.0, 0.0))
    with pytest.raises(AssertionError, match="is not a possible buffer"):
        check_collector(collect_without_reset_at_truncation, mdp, branching_policy(), 3, 1, seed=102)


def test_distribution_check_rejects_a_collector_with_the_wrong_reset_distribution():
    # time limit 1: every step resets; p(s_0) = (0.8, 0.2) against uniform resets makes
    # the 10 buffers that reset into state 1 2.5 times likelier (about 1 in 25 buffers
    # each: 80 expected, 200 seen), far beyond the Bonferroni threshold over 25 buffers
    mdp = branching_mdp(time_limit=1)
    with pytest.raises(AssertionError, match=r"seen \d+ times in 2000 samples, expected"):
        check_collector(collect_with_uniform_resets, mdp, branching_policy(), 2, 1, seed=103)


def test_enumerated_buffers_carry_every_rollout_field():
    # Buffers.__getitem__ builds Rollouts without re-validation from this list of names
    assert rollouts._ROLLOUT_FIELDS == tuple(f.name for f in dataclasses.fields(Rollout))
    bufs = rollouts.enumerate_all(branching_mdp(2), branching_policy(), 2, 2)
    b = bufs[5]
    dataclasses.replace(b)  # the validating constructor accepts what the fast path built
    assert all(getattr(b, name).shape == (2, 2) for name in rollouts._ROLLOUT_FIELDS)
