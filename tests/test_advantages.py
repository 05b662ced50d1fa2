"""The reference GAE and the exact advantage checks (issue 13).

Each check is called once on correct code and once per broken variant inside
``pytest.raises(AssertionError, match=...)`` naming the position the bug
shows at. Which check rejects which bug: bootstrap and masking bugs change the
conditional mean (``assert_advantages_unbiased``); weighting bugs (GAE carried
across an episode end, a missing gamma in the carry) keep it when the critic
is exact and only show against the reference with an inexact critic
(``assert_gae_matches_reference``).
"""

import dataclasses

import numpy as np
import pytest

from pgproofs import check, exact, rollouts
from pgproofs.advantage_checks import arbitrary_critic_values, checking_critic_values
from pgproofs.advantages import evaluate_critic, gae, gae_returns, tabular_critic
from pgproofs.returns import reward_to_go
from _episodic import (branching_mdp, branching_policy, cycling_mdp, cycling_policy,
                             random_episodic)

# (name, mdp and policy, [(n_steps, n_envs), ...]): at most ~330 buffers each by default;
# the slow shapes (1849-4096 buffers) run under `pgproofs report`
CASES = [
    ("branching L=2", lambda: (branching_mdp(2), branching_policy()), [(4, 1), (2, 2)], []),
    ("branching L=3", lambda: (branching_mdp(3), branching_policy()), [(4, 1), (2, 2)], [(3, 2)]),
    ("cycling L=2", lambda: (cycling_mdp(2), cycling_policy()), [(3, 1), (2, 2)], []),
    ("random, 2 terminal", lambda: random_episodic(2, 4, 2, 2, 3, density=0.4), [(4, 1), (2, 2)],
     [(3, 2)]),
    ("random, dense", lambda: random_episodic(0, 3, 2, 1, 2, density=0.5), [(3, 1)], [(2, 2)]),
]
LAMBDAS = [0.0, 0.5, 0.95, 1.0]


def _cases(slow=True):
    for name, make, shapes, slow_shapes in CASES:
        for n_steps, n_envs in shapes:
            yield pytest.param(make, n_steps, n_envs, id=f"{name}-T{n_steps}-n{n_envs}")
        for n_steps, n_envs in slow_shapes if slow else []:
            yield pytest.param(make, n_steps, n_envs, id=f"{name}-T{n_steps}-n{n_envs}",
                               marks=pytest.mark.slow)


def _case(name, n_steps, n_envs):
    make = next(c[1] for c in CASES if c[0] == name)
    return pytest.param(make, n_steps, n_envs, id=f"{name}-T{n_steps}-n{n_envs}")


# --- correct advantage code in several styles --------------------------------------------


def mc_return_minus_value(buf, critic, gamma, lam):
    """Discounted reward-to-go within each episode, bootstrapped where cut, minus V(obs_t).

    Uses pgproofs.returns.reward_to_go (the notes' reward-to-go), not the GAE
    recursion: bootstrap V(next_obs) at a truncation and at the buffer's end,
    nothing at a termination.
    """
    boot = np.where(buf.terminated, 0.0, critic(buf.next_obs))
    rtg = reward_to_go(buf.rewards.T, gamma, ends=buf.dones.T, bootstrap=boot.T).T
    return rtg - critic(buf.obs)


def td_error(buf, critic, gamma, lam):
    """delta_t = r_t + gamma (1 - terminated_t) V(next_obs_t) - V(obs_t)."""
    return buf.rewards + gamma * np.where(buf.terminated, 0.0, critic(buf.next_obs)) - critic(buf.obs)


def n_step_advantage(k):
    """k-step return minus V: sum_{i<k} gamma^i r_{t+i} + gamma^k V(s_{t+k}), cut at episode ends."""
    def adv(buf, critic, gamma, lam):
        T, n = buf.obs.shape
        v_next = np.where(buf.terminated, 0.0, critic(buf.next_obs))
        out = np.zeros((T, n))
        for t in range(T):
            total, disc, alive = np.zeros(n), np.ones(n), np.ones(n, bool)
            for i in range(k):
                u = t + i
                if u >= T:
                    break
                total += alive * disc * buf.rewards[u]
                last = alive & (buf.dones[u] | (i == k - 1) | (u == T - 1))
                total += last * disc * gamma * v_next[u]
                alive &= ~last
                disc = disc * gamma
            out[t] = total - critic(buf.obs[t])
        return out
    adv.__name__ = f"n_step_advantage({k})"
    return adv


def sb3_style_gae(buf, critic, gamma, lam):
    """Stable-Baselines3's bookkeeping: gamma V(final obs) folded into the reward at a
    truncation, then a GAE loop that only reads episode_starts of the next step."""
    values = critic(buf.obs)
    rewards = buf.rewards + np.where(buf.truncated & ~buf.terminated,
                                     gamma * critic(buf.next_obs), 0.0)
    T = buf.n_steps
    last_values, last_dones = critic(buf.next_obs[-1]), buf.dones[-1]
    adv = np.zeros_like(values)
    last_gae = 0.0
    for step in reversed(range(T)):
        if step == T - 1:
            non_terminal, next_values = 1.0 - last_dones, last_values
        else:
            non_terminal, next_values = 1.0 - buf.episode_starts[step + 1], values[step + 1]
        delta = rewards[step] + gamma * next_values * non_terminal - values[step]
        last_gae = delta + gamma * lam * non_terminal * last_gae
        adv[step] = last_gae
    return adv


# --- broken advantage code ----------------------------------------------------------------


def truncation_as_termination(buf, critic, gamma, lam):
    """CleanRL-style: done = terminated | truncated, and no bootstrap at any done."""
    return gae(dataclasses.replace(buf, terminated=buf.dones), critic, gamma, lam)


def bootstrap_from_reset_observation(buf, critic, gamma, lam):
    """V(obs[t+1]) as the next value, which after an episode end is the reset state."""
    next_obs = np.vstack([buf.obs[1:], buf.next_obs[-1:]])
    return gae(dataclasses.replace(buf, next_obs=next_obs), critic, gamma, lam)


def terminal_value_not_masked(buf, critic, gamma, lam):
    """Bootstraps V(next_obs) at a termination too (reads the critic on terminal states)."""
    flags = np.zeros_like(buf.terminated)
    return gae(dataclasses.replace(buf, terminated=flags, truncated=buf.dones), critic, gamma, lam)


def no_bootstrap_at_buffer_end(buf, critic, gamma, lam):
    """Treats the end of the buffer like a termination."""
    term = buf.terminated.copy()
    term[-1] = True
    return gae(dataclasses.replace(buf, terminated=term), critic, gamma, lam)


def gae_carried_across_episodes(buf, critic, gamma, lam):
    """Masks the bootstrap correctly but never resets the GAE carry at an episode end."""
    v_t, v_tp1 = critic(buf.obs), np.where(buf.terminated, 0.0, critic(buf.next_obs))
    delta = buf.rewards + gamma * v_tp1 - v_t
    adv, running = np.zeros_like(delta), np.zeros(buf.n_envs)
    for t in reversed(range(buf.n_steps)):
        running = delta[t] + gamma * lam * running
        adv[t] = running
    return adv


def carry_without_gamma(buf, critic, gamma, lam):
    """A_t = delta_t + lam (1 - done_t) A_{t+1}: the carry forgets gamma."""
    return _gae_with_carry(buf, critic, gamma, lam, carry=lam)


def _gae_with_carry(buf, critic, gamma, lam, carry):
    v_t, v_tp1 = critic(buf.obs), np.where(buf.terminated, 0.0, critic(buf.next_obs))
    delta = buf.rewards + gamma * v_tp1 - v_t
    adv, running = np.zeros_like(delta), np.zeros(buf.n_envs)
    for t in reversed(range(buf.n_steps)):
        running = delta[t] + carry * ~buf.dones[t] * running
        adv[t] = running
    return adv


# --- the reference GAE ---------------------------------------------------------------------


def test_reference_gae_on_a_hand_computed_buffer():
    # gamma = 0.5, lam = 0.5, V = [1, 2, 10] (state 2 terminal; its value must not be read)
    # t=0: s=0 -> 1, r=1, running                   delta0 = 1 + 0.5*2 - 1 = 1
    # t=1: s=1 -> 0, r=2, truncated: bootstrap V(0)  delta1 = 2 + 0.5*1 - 2 = 0.5
    # t=2: s=1 -> 2, r=3, terminated (reset at t=1)  delta2 = 3 + 0 - 2 = 1
    # t=3: s=0 -> 0, r=4, end of buffer: bootstrap   delta3 = 4 + 0.5*1 - 1 = 3.5
    # A3 = 3.5; A2 = 1 (episode ended); A1 = 0.5 (episode ended); A0 = 1 + 0.25*0.5 = 1.125
    col = lambda *x: np.array(x)[:, None]
    buf = rollouts.Rollout(obs=col(0, 1, 1, 0), actions=col(0, 0, 0, 0),
                           rewards=col(1.0, 2.0, 3.0, 4.0), log_probs=col(0.0, 0.0, 0.0, 0.0),
                           terminated=col(False, False, True, False),
                           truncated=col(False, True, False, False), next_obs=col(1, 0, 2, 0),
                           episode_starts=col(True, False, True, False))
    adv = gae(buf, tabular_critic([1.0, 2.0, 10.0]), gamma=0.5, lam=0.5)
    np.testing.assert_allclose(adv[:, 0], [1.125, 0.5, 1.0, 3.5], rtol=0, atol=1e-15)


def lebesgue_constant(nodes) -> float:
    """max over lambda in [0, 1] of sum_i |l_i(lambda)|, the Lagrange basis on ``nodes`` (dense grid)."""
    grid = np.linspace(0.0, 1.0, 20001)
    total = np.zeros_like(grid)
    for i, x in enumerate(nodes):
        basis = np.ones_like(grid)
        for j, y in enumerate(nodes):
            if j != i:
                basis *= (grid - y) / (x - y)
        total += np.abs(basis)
    return float(total.max())


@pytest.mark.parametrize("make, n_steps, n_envs", list(_cases()))
def test_reference_gae_is_unbiased_for_every_lambda(make, n_steps, n_envs):
    """Unbiased at the 4 lambdas of LAMBDAS, hence at every lambda in [0, 1].

    On each buffer GAE is a polynomial in lambda of degree <= n_steps - 1 (the
    carry multiplies by gamma lambda once per step), so each conditional bias
    is one too. n_steps <= 4 nodes determine it: |bias(lambda)| <= Lambda *
    max_i |bias(lambda_i)| with Lambda the Lebesgue constant of the nodes
    (5.5 here), so atol 1e-9 at the nodes bounds it by 5.5e-9 everywhere.
    """
    assert n_steps <= len(LAMBDAS)
    assert lebesgue_constant(LAMBDAS) < 6
    mdp, policy = make()
    for lam in LAMBDAS:
        m = check.assert_advantages_unbiased(gae, mdp, policy, n_steps=n_steps, n_envs=n_envs,
                                             lam=lam, atol=1e-9)
        assert m.n_buffers == rollouts.count_buffers(mdp, policy, n_steps, n_envs)
    # a non-trivial target: the advantages the estimator had to match are far from 0
    assert np.abs(exact.advantages(mdp, policy)).max() > 0.1


@pytest.mark.parametrize("make, n_steps, n_envs", list(_cases(slow=False)))
def test_reference_value_targets_are_unbiased(make, n_steps, n_envs):
    mdp, policy = make()
    for lam in LAMBDAS:
        check.assert_value_targets_unbiased(gae_returns, mdp, policy, n_steps=n_steps,
                                            n_envs=n_envs, lam=lam)


@pytest.mark.parametrize("make, n_steps, n_envs", list(_cases(slow=False)))
def test_lambda_one_is_the_monte_carlo_return_minus_value_and_lambda_zero_the_td_error(
        make, n_steps, n_envs):
    # per buffer, for an arbitrary inexact critic (the check's default)
    mdp, policy = make()
    check.assert_gae_matches_reference(mc_return_minus_value, mdp, policy, n_steps, n_envs, lam=1.0)
    check.assert_gae_matches_reference(td_error, mdp, policy, n_steps, n_envs, lam=0.0)
    # and a user-given critic
    wrong = np.arange(mdp.n_states, dtype=float) * 1.7 - 2.0
    check.assert_gae_matches_reference(mc_return_minus_value, mdp, policy, n_steps, n_envs,
                                       lam=1.0, critic=wrong)


def test_the_reference_check_rejects_other_lambdas_than_the_estimator_has():
    mdp, policy = branching_mdp(2), branching_policy()
    with pytest.raises(AssertionError, match=r"not the reference GAE: at t=0, env=0"):
        check.assert_gae_matches_reference(mc_return_minus_value, mdp, policy, 2, 2, lam=0.5)
    with pytest.raises(AssertionError, match=r"not the reference GAE: at t=0, env=0"):
        check.assert_gae_matches_reference(td_error, mdp, policy, 2, 2, lam=0.5)


# --- the unbiasedness check accepts every unbiased style ------------------------------------


@pytest.mark.parametrize("adv_fn", [mc_return_minus_value, td_error, n_step_advantage(2),
                                    n_step_advantage(3), sb3_style_gae,
                                    gae_carried_across_episodes, carry_without_gamma],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("make, n_steps, n_envs", [_case("branching L=3", 4, 1),
                                                    _case("cycling L=2", 2, 2),
                                                    _case("random, 2 terminal", 2, 2)])
def test_every_unbiased_estimator_passes(adv_fn, make, n_steps, n_envs):
    mdp, policy = make()
    check.assert_advantages_unbiased(adv_fn, mdp, policy, n_steps=n_steps, n_envs=n_envs)


def test_sb3_style_is_the_reference_gae():
    mdp, policy = branching_mdp(2), branching_policy()
    check.assert_gae_matches_reference(sb3_style_gae, mdp, policy, 2, 2, lam=0.8)


# --- broken code is rejected where the bug shows --------------------------------------------


def test_truncation_as_termination_is_rejected_at_the_truncation_step():
    # no terminal state, time limit 2: the first episode is cut at t = 1; the
    # second one runs past the buffer's end at t = 2, where the bug does nothing
    mdp, policy = cycling_mdp(2), cycling_policy()
    check.assert_advantages_unbiased(gae, mdp, policy, n_steps=3, n_envs=1)
    with pytest.raises(AssertionError, match=r"biased at t=1, env=0 .*\n"
                                             r"biased positions \(t, env\): \(0, 0\), \(1, 0\)\n"):
        check.assert_advantages_unbiased(truncation_as_termination, mdp, policy, n_steps=3, n_envs=1)
    # with two envs both columns are named
    with pytest.raises(AssertionError, match=r"biased at t=1, env=0 .*\n"
                                             r"biased positions \(t, env\): \(0, 0\), \(0, 1\), "
                                             r"\(1, 0\), \(1, 1\)\n"):
        check.assert_advantages_unbiased(truncation_as_termination, mdp, policy, n_steps=2, n_envs=2)


def test_bootstrap_from_the_reset_observation_is_rejected_at_the_truncation_step():
    mdp, policy = cycling_mdp(2), cycling_policy()
    with pytest.raises(AssertionError, match=r"biased at t=1, env=0 .*\n"
                                             r"biased positions \(t, env\): \(1, 0\)\n"):
        check.assert_advantages_unbiased(bootstrap_from_reset_observation, mdp, policy,
                                         n_steps=3, n_envs=1, lam=0.0)


def test_reading_the_critic_on_terminal_states_is_rejected():
    mdp, policy = branching_mdp(3), branching_policy()
    with pytest.raises(AssertionError, match=r"deliberately wrong on terminal states"):
        check.assert_advantages_unbiased(terminal_value_not_masked, mdp, policy, n_steps=2, n_envs=2)


def test_no_bootstrap_at_the_end_of_the_buffer_is_rejected_at_the_last_step():
    mdp, policy = cycling_mdp(5), cycling_policy()
    with pytest.raises(AssertionError, match=r"biased at t=2, env=0 .*\n"
                                             r"biased positions \(t, env\): \(0, 0\), \(1, 0\), "
                                             r"\(2, 0\)\n"):
        check.assert_advantages_unbiased(no_bootstrap_at_buffer_end, mdp, policy, n_steps=3, n_envs=1)


def test_the_message_shows_a_buffer_where_the_output_differs_from_the_reference():
    mdp, policy = cycling_mdp(2), cycling_policy()
    with pytest.raises(AssertionError) as info:
        check.assert_advantages_unbiased(truncation_as_termination, mdp, policy, n_steps=3, n_envs=1)
    text = str(info.value)
    assert "where the output differs from the reference GAE at t=1, env=0" in text
    table = text.split("env 0:\n")[1].splitlines()
    header, row1 = table[0].split(), table[2].split()
    assert header[-2:] == ["output", "reference"] and row1[0] == "1" and row1[5] == "T"
    assert float(row1[-2]) != float(row1[-1])


@pytest.mark.parametrize("bug", [gae_carried_across_episodes, carry_without_gamma],
                         ids=lambda f: f.__name__)
def test_weighting_bugs_pass_the_unbiasedness_check_but_not_the_reference(bug):
    mdp, policy = branching_mdp(2), branching_policy()
    check.assert_advantages_unbiased(bug, mdp, policy, n_steps=2, n_envs=2)   # exact critic
    with pytest.raises(AssertionError, match=r"not the reference GAE: at t=0, env=\d"):
        check.assert_gae_matches_reference(bug, mdp, policy, n_steps=2, n_envs=2)


def test_gae_carried_across_an_episode_end_is_named_just_before_the_end():
    # time limit 1 on a cycling MDP: every step ends an episode, so the carried
    # term shows at t = 0 (the carry from t = 1) and not at the last step
    mdp, policy = cycling_mdp(1), cycling_policy()
    with pytest.raises(AssertionError, match=r"at t=0, env=0 .*\n.* at positions \(t, env\): "
                                             r"\(0, 0\), \(0, 1\)\n"):
        check.assert_gae_matches_reference(gae_carried_across_episodes, mdp, policy, 2, 2)


def test_value_targets_without_the_value_or_without_bootstrap_are_rejected():
    mdp, policy = cycling_mdp(2), cycling_policy()

    def advantages_as_targets(buf, critic, gamma, lam):
        return gae(buf, critic, gamma, lam)

    def targets_cut_at_truncation(buf, critic, gamma, lam):
        return truncation_as_termination(buf, critic, gamma, lam) + critic(buf.obs)

    check.assert_value_targets_unbiased(gae_returns, mdp, policy, n_steps=3, n_envs=1)
    with pytest.raises(AssertionError, match=r"value target biased at t=\d, env=0 .*exact Q"):
        check.assert_value_targets_unbiased(advantages_as_targets, mdp, policy, n_steps=3, n_envs=1)
    with pytest.raises(AssertionError, match=r"value target biased at t=1, env=0 "):
        check.assert_value_targets_unbiased(targets_cut_at_truncation, mdp, policy, n_steps=3, n_envs=1)


# --- the checks' own contract --------------------------------------------------------------


def test_the_checking_critic_is_exact_on_live_states_and_wrong_on_terminal_ones():
    mdp, policy = branching_mdp(2), branching_policy()
    v, c = exact.discounted_values(mdp, policy), checking_critic_values(mdp, policy)
    assert np.array_equal(c[~mdp.terminal], v[~mdp.terminal])
    assert np.all(c[mdp.terminal] != 0) and np.all(np.abs(c[mdp.terminal]) > np.abs(v).max())
    arb = arbitrary_critic_values(mdp, policy)
    assert np.all(np.abs(arb - v) >= 0.25)


def test_the_check_refuses_bad_output_and_arguments():
    mdp, policy = branching_mdp(2), branching_policy()
    with pytest.raises(ValueError, match=r"adv_fn: returned shape \(2,\), expected"):
        check.assert_advantages_unbiased(lambda b, c, g, l: np.zeros(2), mdp, policy, 2, 1)
    with pytest.raises(ValueError, match="adv_fn: returned non-finite values"):
        check.assert_advantages_unbiased(lambda b, c, g, l: np.full((2, 1), np.nan), mdp, policy, 2, 1)
    with pytest.raises(ValueError, match=r"lam: must lie in \[0, 1\]"):
        check.assert_advantages_unbiased(gae, mdp, policy, 2, 1, lam=1.5)
    with pytest.raises(ValueError, match="enumeration too large"):
        check.assert_advantages_unbiased(gae, mdp, policy, 4, 3)
    with pytest.raises(ValueError, match=r"critic: expected state values of shape \(3,\)"):
        check.assert_gae_matches_reference(gae, mdp, policy, 2, 1, critic=[0.0, 1.0])
    with pytest.raises(ValueError, match="critic: returned shape"):
        gae(rollouts.collect(mdp, policy, 2, 1, np.random.default_rng(0)),
            lambda s: np.zeros(3), 0.9, 0.9)
    with pytest.raises(ValueError, match="states: expected integer states"):
        tabular_critic([1.0, 2.0])(np.array([0.0]))
    assert evaluate_critic(tabular_critic([1.0, 2.0]), np.array([[1]])).shape == (1, 1)
