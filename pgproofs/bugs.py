"""A catalogue of classic PyTorch policy-gradient bugs, each beside its fix.

Every entry is a surrogate loss ``(logits, batch) -> scalar`` of the kind
``pgproofs.check.from_surrogate_loss`` accepts: the estimate of grad J is
minus its autograd gradient. The buggy loss is biased against the exact
gradient of the notes (section "REINFORCE" and "Reducing Variance"),

    grad J = E[ sum_t grad log pi(a_t|s_t) * sum_{t' >= t} gamma^(t'-1) r_t' ],

on some small MDP; the fixed loss is unbiased on every MDP. The test suite
checks both directions with ``pgproofs.testing.assert_estimator_unbiased``
and with the command line, e.g.::

    pgproofs verify pgproofs.bugs:greedy_action --surrogate        # exit 1
    pgproofs verify pgproofs.bugs:greedy_action_fixed --surrogate  # exit 0

``CATALOGUE`` lists the entries; the module-level names are ``<name>`` for
the buggy loss and ``<name>_fixed`` for the correct one.

``ADVANTAGE_CATALOGUE`` (second half of the module) lists advantage and
rollout bugs the same way, as ``adv_fn(buf, critic, gamma, lam)`` over a
rollout buffer, each naming the exact check that rejects it::

    pgproofs verify pgproofs.bugs:truncation_as_termination --advantages        # exit 1
    pgproofs verify pgproofs.bugs:truncation_as_termination_fixed --advantages  # exit 0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from pgproofs.mdp import Batch
from pgproofs.returns import reward_to_go

__all__ = ["ADVANTAGE_CATALOGUE", "AdvantageBug", "advantage_witness", "Bug", "CATALOGUE", "reward_to_go_loss"]


# --------------------------------------------------------------------------
# shared pieces: log pi(a_t|s_t), returns, and the reference (correct) loss

def _index(batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(batch.states), torch.as_tensor(batch.actions)


def _log_pi(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """log pi(a_t|s_t) recomputed from the logits, so it carries the graph; (n, T)."""
    states, actions = _index(batch)
    return torch.log_softmax(logits, dim=-1)[states, actions]


def _discounts(batch: Batch) -> torch.Tensor:
    """gamma^(t-1) for t = 1..T, shape (T,)."""
    return torch.as_tensor(batch.discount ** np.arange(batch.horizon), dtype=torch.float64)


def _returns(batch: Batch) -> torch.Tensor:
    """R(tau) = sum_t gamma^(t-1) r_t per trajectory, shape (n,)."""
    return torch.as_tensor(batch.rewards, dtype=torch.float64) @ _discounts(batch)


def _reward_to_go(batch: Batch) -> torch.Tensor:
    """gamma^(t-1) * Rhat_t = sum_{t' >= t} gamma^(t'-1) r_t', shape (n, T).

    The gamma^(t-1) in front keeps the estimator unbiased for the discounted
    objective too; with gamma = 1 it is the notes' reward-to-go.
    """
    rtg = reward_to_go(batch.rewards, batch.discount)
    return torch.as_tensor(rtg, dtype=torch.float64) * _discounts(batch)


def _policy_loss(logp: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """-(1/n) sum_i sum_t logp_it * w_it: sum over time, mean over trajectories."""
    return -(logp * weights).sum(dim=1).mean()


def reward_to_go_loss(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """The reference loss: REINFORCE with reward-to-go, -(1/n) sum_i sum_t logp_it Rhat_it."""
    return _policy_loss(_log_pi(logits, batch), _reward_to_go(batch))


def _critic_table(shape: torch.Size) -> torch.Tensor:
    """A fixed critic Q(s, a) = a + s/2 (a stand-in for a fitted critic; any table will do)."""
    S, A = shape
    s = torch.arange(S, dtype=torch.float64)[:, None]
    a = torch.arange(A, dtype=torch.float64)[None, :]
    return a + s / 2


def _state_baseline(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """b(s_t) = sum_a pi(a|s_t) Q(s_t, a): a state-value baseline that depends on the logits."""
    states, _ = _index(batch)
    values = (torch.softmax(logits, dim=-1) * _critic_table(logits.shape)).sum(dim=-1)
    return values[states]


# --------------------------------------------------------------------------
# the entries: buggy loss, then the fixed one

def sign_flip(logits, batch):
    """Forgot the minus: minimising +logp * R descends J."""
    return (_log_pi(logits, batch).sum(dim=1) * _returns(batch)).mean()


def sign_flip_fixed(logits, batch):
    """The notes' REINFORCE with the full return: -(1/n) sum_i R(tau_i) sum_t logp_it."""
    return -(_log_pi(logits, batch).sum(dim=1) * _returns(batch)).mean()


def greedy_action(logits, batch):
    """Log-prob of the greedy (argmax) action instead of the action actually taken."""
    states, _ = _index(batch)
    logp_greedy = torch.log_softmax(logits, dim=-1)[states].max(dim=-1).values
    return _policy_loss(logp_greedy, _reward_to_go(batch))


def greedy_action_fixed(logits, batch):
    return reward_to_go_loss(logits, batch)


def mean_over_time(logits, batch):
    """.mean() over the (n, T) grid averages over time steps too: the estimate is grad J / T."""
    logp = _log_pi(logits, batch)
    return -(logp * _returns(batch)[:, None]).mean()


def mean_over_time_fixed(logits, batch):
    """Sum over time, mean over trajectories only."""
    logp = _log_pi(logits, batch)
    return -(logp * _returns(batch)[:, None]).sum(dim=1).mean()


def reward_to_go_skips_current(logits, batch):
    """Off by one: the weight of a_t is the reward-to-go from t+1, missing r(s_t, a_t)."""
    rtg = _reward_to_go(batch)
    later = torch.cat([rtg[:, 1:], torch.zeros_like(rtg[:, :1])], dim=1)
    return _policy_loss(_log_pi(logits, batch), later)


def reward_to_go_skips_current_fixed(logits, batch):
    return reward_to_go_loss(logits, batch)


def reward_so_far(logits, batch):
    """cumsum in the wrong direction: a_t is weighted by the rewards up to t, not from t on."""
    r = torch.as_tensor(batch.rewards, dtype=torch.float64) * _discounts(batch)
    return _policy_loss(_log_pi(logits, batch), torch.cumsum(r, dim=1))


def reward_so_far_fixed(logits, batch):
    """Reward-to-go as a reversed cumsum: flip, cumsum, flip back."""
    r = torch.as_tensor(batch.rewards, dtype=torch.float64) * _discounts(batch)
    rtg = torch.flip(torch.cumsum(torch.flip(r, [1]), dim=1), [1])
    return _policy_loss(_log_pi(logits, batch), rtg)


def _returns_by_loop(batch: Batch, *, reverse_back: bool) -> torch.Tensor:
    """The textbook loop: walk the rewards backwards, appending R_t = r_t + gamma R_{t+1}."""
    rows = []
    for rewards in batch.rewards:
        running, out = 0.0, []
        for r in reversed(rewards.tolist()):
            running = r + batch.discount * running
            out.append(running)
        if reverse_back:
            out.reverse()
        rows.append(out)
    return torch.tensor(rows, dtype=torch.float64) * _discounts(batch)


def returns_not_reversed(logits, batch):
    """The backward loop appends R_T first and the list is never reversed: weights run backwards in time."""
    return _policy_loss(_log_pi(logits, batch), _returns_by_loop(batch, reverse_back=False))


def returns_not_reversed_fixed(logits, batch):
    return _policy_loss(_log_pi(logits, batch), _returns_by_loop(batch, reverse_back=True))


def baseline_not_detached(logits, batch):
    """Advantage Rhat_t - b(s_t) with a baseline b that depends on the logits and is not detached."""
    advantage = _reward_to_go(batch) - _state_baseline(logits, batch) * _discounts(batch)
    return _policy_loss(_log_pi(logits, batch), advantage)


def baseline_not_detached_fixed(logits, batch):
    """The same state baseline, detached: it only shifts the weights, so the estimate stays unbiased."""
    baseline = _state_baseline(logits, batch).detach()
    advantage = _reward_to_go(batch) - baseline * _discounts(batch)
    return _policy_loss(_log_pi(logits, batch), advantage)


def probs_not_log_probs(logits, batch):
    """pi(a_t|s_t) where log pi(a_t|s_t) belongs: the gradient gains a factor pi."""
    states, actions = _index(batch)
    probs = torch.softmax(logits, dim=-1)[states, actions]
    return _policy_loss(probs, _reward_to_go(batch))


def probs_not_log_probs_fixed(logits, batch):
    return reward_to_go_loss(logits, batch)


def logits_not_log_softmax(logits, batch):
    """Raw logit theta[s_t, a_t] instead of log_softmax: the -pi(.|s) part of the score is lost."""
    states, actions = _index(batch)
    return _policy_loss(logits[states, actions], _reward_to_go(batch))


def logits_not_log_softmax_fixed(logits, batch):
    """log pi from torch.distributions.Categorical, which normalises the logits."""
    states, actions = _index(batch)
    logp = torch.distributions.Categorical(logits=logits[states]).log_prob(actions)
    return _policy_loss(logp, _reward_to_go(batch))


def entropy_in_grad(logits, batch):
    """An entropy bonus inside the loss: its gradient is grad J + 0.01 grad H, not grad J."""
    states, _ = _index(batch)
    entropy = torch.distributions.Categorical(logits=logits[states]).entropy()
    return reward_to_go_loss(logits, batch) - 0.01 * entropy.sum(dim=1).mean()


def entropy_in_grad_fixed(logits, batch):
    return reward_to_go_loss(logits, batch)


def normalised_returns(logits, batch):
    """Returns standardised by the batch's own mean and std: a ratio of batch statistics, not grad J."""
    rtg = _reward_to_go(batch)
    standardised = (rtg - rtg.mean()) / (rtg.std(correction=0) + 1e-8)
    return _policy_loss(_log_pi(logits, batch), standardised)


def normalised_returns_fixed(logits, batch):
    """Centre each trajectory's weights by the mean of the *other* trajectories (leave-one-out)."""
    rtg = _reward_to_go(batch)
    n = rtg.shape[0]
    others = (rtg.sum(dim=0, keepdim=True) - rtg) / (n - 1) if n > 1 else torch.zeros_like(rtg)
    return _policy_loss(_log_pi(logits, batch), rtg - others)


# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Bug:
    """One catalogue entry: a classic mistake and its fix, both as surrogate losses."""

    name: str
    description: str
    buggy: Callable
    correct: Callable


def _entry(name: str, description: str) -> Bug:
    found = globals()
    return Bug(name, description, found[name], found[f"{name}_fixed"])


CATALOGUE: tuple[Bug, ...] = (
    _entry("sign_flip", "loss = +logp * R: the minus sign is missing, so SGD descends J"),
    _entry("greedy_action", "log-prob of the argmax action instead of the action taken"),
    _entry("mean_over_time", ".mean() over trajectories AND time steps: estimates grad J / T"),
    _entry("reward_to_go_skips_current",
           "reward-to-go off by one: a_t weighted by rewards from t+1, missing r(s_t, a_t)"),
    _entry("reward_so_far", "cumsum forward instead of backward: a_t weighted by past rewards"),
    _entry("returns_not_reversed",
           "returns built by a backward loop and never reversed: weights run backwards in time"),
    _entry("baseline_not_detached",
           "state baseline computed from the logits and not detached: extra gradient term"),
    _entry("probs_not_log_probs", "pi(a|s) used where log pi(a|s) belongs"),
    _entry("logits_not_log_softmax", "raw logits used as log-probabilities (no log_softmax)"),
    _entry("entropy_in_grad", "entropy bonus left in the loss that is taken for grad J"),
    _entry("normalised_returns",
           "returns standardised by batch mean and std: a biased ratio, 0 at batch size 1"),
)


# ==========================================================================
# Advantage and rollout bugs (issue 13): the second catalogue
#
# Every entry is an advantage function ``adv_fn(buf, critic, gamma, lam) -> (T, n)``
# over a ``pgproofs.rollouts.Rollout`` (arrays (T, n), time-major: obs, actions,
# rewards, terminated, truncated, next_obs, episode_starts), written the way
# training code writes it, beside the smallest change that fixes it. The
# reference is GAE(gamma, lambda) over the infinite-horizon discounted objective
# (DESIGN.md, "Checking real training code"):
#
#     delta_t = r_t + gamma (1 - terminated_t) V(next_obs_t) - V(obs_t)
#     A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1},   A_T = 0,
#
# done_t = terminated_t or truncated_t; at the end of the buffer the last
# ``next_obs`` is bootstrapped unless the episode terminated there.
#
# ``check`` names the check that rejects the bug:
#   "unbiased"  check.assert_advantages_unbiased (exact critic on non-terminal
#               states, wrong non-zero values on terminal ones): the bug biases
#               E[A_t | s_t, a_t] at some buffer position;
#   "gae"       check.assert_gae_matches_reference with an inexact critic: the
#               bug only re-weights future TD errors, which have mean zero when
#               the critic is exact, so it is unbiased there and only a
#               comparison with the reference GAE can see it.
# Descriptions cite public issue threads where the same mistake was reported
# (the code here is ours, written from the description).

_ADV_CHECKS = ("unbiased", "gae")


def _critic_values(critic, states) -> np.ndarray:
    """critic(states) as float64, called on an int array the way a network is called."""
    return np.asarray(critic(np.asarray(states)), dtype=np.float64)


def _gae_recursion(rewards, values, next_values, bootstrap, carry, gamma, lam, *,
                   carry_discount=None, first_weight=1.0) -> np.ndarray:
    """The backward GAE loop over axis 0 (time), vectorised over the remaining axes.

    delta_t = r_t + gamma * bootstrap_t * next_values_t - values_t
    A_t     = first_weight * delta_t + carry_discount * carry_t * A_{t+1},  A_T = 0,
    carry_discount defaulting to gamma * lam. The bugs below differ from the
    reference only in what they feed this loop, or in the two keywords.
    """
    carry_discount = gamma * lam if carry_discount is None else carry_discount
    delta = rewards + gamma * bootstrap * next_values - values
    adv = np.zeros_like(delta)
    last = np.zeros_like(delta[0])
    for t in reversed(range(len(delta))):
        last = first_weight * delta[t] + carry_discount * carry[t] * last
        adv[t] = last
    return adv


def _flags(buf):
    terminated = np.asarray(buf.terminated, dtype=bool)
    truncated = np.asarray(buf.truncated, dtype=bool)
    return terminated, truncated, terminated | truncated


def _reference_style(buf, critic, gamma, lam, **loop):
    """Reference GAE in the rlax style: next values from next_obs, masks from the flags."""
    terminated, _, done = _flags(buf)
    return _gae_recursion(np.asarray(buf.rewards, dtype=np.float64),
                          _critic_values(critic, buf.obs), _critic_values(critic, buf.next_obs),
                          (~terminated).astype(float), (~done).astype(float), gamma, lam, **loop)


def _cleanrl_style(buf, critic, gamma, lam, *, no_bootstrap, next_done_index=0,
                   bootstrap_from="next_obs", last_bootstrap=True):
    """The CleanRL PPO loop: ``values[t + 1]`` is the next state's value inside the buffer.

    no_bootstrap: "done" (terminated or truncated, as CleanRL does) or
    "terminated". At an episode end obs[t + 1] is the next episode's first
    state, so the true next state's value is taken from ``bootstrap_from``:
    "next_obs" (correct), "reset_obs" (obs[t + 1]) or "current_obs" (obs[t]).
    next_done_index 1 reads the done flag of step t + 1 for step t (the flag
    convention of a buffer that stores "obs[t] starts an episode"), except at
    the last step, which has no t + 1. last_bootstrap False ends the buffer
    with a value of 0.
    """
    terminated, _, done = _flags(buf)
    values = _critic_values(critic, buf.obs)
    final_values = _critic_values(critic, buf.next_obs)
    if bootstrap_from == "reset_obs":
        shifted = np.concatenate([values[1:], final_values[-1:]])
        final_values = np.where(done, shifted, final_values)
    elif bootstrap_from == "current_obs":
        final_values = np.where(done, values, final_values)
    next_values = np.concatenate([values[1:], final_values[-1:]])
    next_values = np.where(done, final_values, next_values)   # the episode's own final state
    if not last_bootstrap:
        next_values[-1] = 0.0
    stop = done if no_bootstrap == "done" else terminated
    if next_done_index:
        stop = np.concatenate([stop[1:], stop[-1:]])
        done = np.concatenate([done[1:], done[-1:]])
    return _gae_recursion(np.asarray(buf.rewards, dtype=np.float64), values, next_values,
                          (~stop).astype(float), (~done).astype(float), gamma, lam)


def _sb3_style(buf, critic, gamma, lam, *, fold_gamma=True, respect_terminated=True,
               fold_buffer_end=False):
    """The Stable-Baselines3 rollout buffer: a truncation folds gamma V(final obs) into
    the reward, and the GAE loop then only tracks where episodes start.

    respect_terminated False folds the bootstrap whenever ``truncated`` is set,
    even when ``terminated`` is set on the same step; fold_buffer_end True also
    folds the bootstrap of the buffer's last step into its reward, although the
    loop bootstraps there as well.
    """
    terminated, truncated, done = _flags(buf)
    rewards = np.array(buf.rewards, dtype=np.float64)
    final_values = _critic_values(critic, buf.next_obs)
    timeout = truncated if not respect_terminated else truncated & ~terminated
    rewards = rewards + np.where(timeout, (gamma if fold_gamma else 1.0) * final_values, 0.0)
    if fold_buffer_end:
        rewards[-1] += np.where(done[-1], 0.0, gamma * final_values[-1])
    values = _critic_values(critic, buf.obs)
    # next_non_terminal: 1 - episode_starts[t + 1] inside the buffer, 1 - done at its end
    starts_next = np.concatenate([np.asarray(buf.episode_starts, dtype=bool)[1:], done[-1:]])
    next_values = np.concatenate([values[1:], final_values[-1:]])
    keep = (~starts_next).astype(float)
    return _gae_recursion(rewards, values, next_values, keep, keep, gamma, lam)


def _per_env_sequences(buf, to_rows, from_rows, critic, gamma, lam):
    """GAE computed env by env on (n, T) rows made by ``to_rows``, put back by ``from_rows``.

    Inside a row the next state's value is the next entry's value (values[t + 1]
    in the row) unless the episode ended, when it is V(next_obs); the last entry
    bootstraps from its own next_obs.
    """
    T, n = np.shape(buf.rewards)
    rows = {name: to_rows(np.asarray(getattr(buf, name)), T, n)
            for name in ("obs", "next_obs", "rewards", "terminated", "truncated")}
    done = rows["terminated"] | rows["truncated"]
    values = _critic_values(critic, rows["obs"])
    final_values = _critic_values(critic, rows["next_obs"])
    next_values = np.concatenate([values[:, 1:], final_values[:, -1:]], axis=1)
    next_values = np.where(done, final_values, next_values)
    adv = _gae_recursion(rows["rewards"].T.astype(np.float64), values.T, next_values.T,
                         (~rows["terminated"]).T.astype(float), (~done).T.astype(float),
                         gamma, lam)
    return from_rows(adv.T, T, n)


# ---- the entries ----------------------------------------------------------

def truncation_as_termination(buf, critic, gamma, lam):
    """CleanRL's loop: done = terminated or truncated, so a time-limit cut gets no bootstrap."""
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="done")


def truncation_as_termination_fixed(buf, critic, gamma, lam):
    """Mask the bootstrap with ``terminated`` only; bootstrap a truncation from V(next_obs)."""
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated")


def bootstrap_from_reset_obs(buf, critic, gamma, lam):
    """At a truncation, bootstraps from values[t + 1] = V(reset observation of the next episode)."""
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated",
                          bootstrap_from="reset_obs")


def bootstrap_from_reset_obs_fixed(buf, critic, gamma, lam):
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated",
                          bootstrap_from="next_obs")


def bootstrap_from_current_obs(buf, critic, gamma, lam):
    """At a truncation, bootstraps from V(obs_t), the state the last action was taken in."""
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated",
                          bootstrap_from="current_obs")


def bootstrap_from_current_obs_fixed(buf, critic, gamma, lam):
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated",
                          bootstrap_from="next_obs")


def terminal_value_not_masked(buf, critic, gamma, lam):
    """delta_t = r_t + gamma V(next_obs_t) - V(obs_t) always: the critic's value of a
    terminal state (which it was never trained to make 0) leaks into the advantage."""
    _, _, done = _flags(buf)
    ones = np.ones(done.shape)
    return _gae_recursion(np.asarray(buf.rewards, dtype=np.float64),
                          _critic_values(critic, buf.obs), _critic_values(critic, buf.next_obs),
                          ones, (~done).astype(float), gamma, lam)


def terminal_value_not_masked_fixed(buf, critic, gamma, lam):
    return _reference_style(buf, critic, gamma, lam)


def truncation_overrides_termination(buf, critic, gamma, lam):
    """SB3-style timeout bootstrap gated by ``truncated`` alone: on a step that is both
    terminated and truncated the terminal state is bootstrapped."""
    return _sb3_style(buf, critic, gamma, lam, respect_terminated=False)


def truncation_overrides_termination_fixed(buf, critic, gamma, lam):
    """Bootstrap only where truncated and not terminated: termination wins."""
    return _sb3_style(buf, critic, gamma, lam, respect_terminated=True)


def timeout_bootstrap_without_gamma(buf, critic, gamma, lam):
    """SB3-style timeout bootstrap that adds V(final obs) to the reward without gamma."""
    return _sb3_style(buf, critic, gamma, lam, fold_gamma=False)


def timeout_bootstrap_without_gamma_fixed(buf, critic, gamma, lam):
    return _sb3_style(buf, critic, gamma, lam, fold_gamma=True)


def bootstrap_counted_twice(buf, critic, gamma, lam):
    """The end of the buffer handled like a timeout (gamma V(last next_obs) folded into the
    last reward) AND bootstrapped by the GAE loop: the bootstrap is counted twice."""
    return _sb3_style(buf, critic, gamma, lam, fold_buffer_end=True)


def bootstrap_counted_twice_fixed(buf, critic, gamma, lam):
    return _sb3_style(buf, critic, gamma, lam, fold_buffer_end=False)


def dones_one_step_late(buf, critic, gamma, lam):
    """Masks step t with the done flag of step t + 1 (flags meaning "this step ended the
    episode" read with the convention of "obs[t] starts an episode"), except at the last step."""
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated", next_done_index=1)


def dones_one_step_late_fixed(buf, critic, gamma, lam):
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated", next_done_index=0)


def no_bootstrap_at_buffer_end(buf, critic, gamma, lam):
    """The last step of the buffer gets next value 0, as if every rollout ended in a terminal state."""
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated",
                          last_bootstrap=False)


def no_bootstrap_at_buffer_end_fixed(buf, critic, gamma, lam):
    return _cleanrl_style(buf, critic, gamma, lam, no_bootstrap="terminated",
                          last_bootstrap=True)


def _env_major_rows(x, T, n):
    return x.reshape(n, T)          # the bug: a time-major (T, n) array read as env-major


def _env_major_back(x, T, n):
    return x.reshape(T, n)


def _transpose_rows(x, T, n):
    return x.T


def _transpose_back(x, T, n):
    return x.T


def flattened_env_major(buf, critic, gamma, lam):
    """The time-major (T, n) buffer reshaped to (n, T) rows instead of transposed: each
    "episode" the GAE loop walks interleaves the envs, so values[t + 1] is another env's state."""
    return _per_env_sequences(buf, _env_major_rows, _env_major_back, critic, gamma, lam)


def flattened_env_major_fixed(buf, critic, gamma, lam):
    return _per_env_sequences(buf, _transpose_rows, _transpose_back, critic, gamma, lam)


def gae_across_episodes(buf, critic, gamma, lam):
    """The bootstrap is masked at an episode end but the GAE carry is not: the next
    episode's TD errors leak into this one's advantages."""
    terminated, _, _ = _flags(buf)
    return _gae_recursion(np.asarray(buf.rewards, dtype=np.float64),
                          _critic_values(critic, buf.obs), _critic_values(critic, buf.next_obs),
                          (~terminated).astype(float), np.ones(terminated.shape), gamma, lam)


def gae_across_episodes_fixed(buf, critic, gamma, lam):
    return _reference_style(buf, critic, gamma, lam)


def missing_gamma_in_carry(buf, critic, gamma, lam):
    """A_t = delta_t + lambda A_{t+1}: the carry is discounted by lambda, not gamma lambda."""
    return _reference_style(buf, critic, gamma, lam, carry_discount=lam)


def missing_gamma_in_carry_fixed(buf, critic, gamma, lam):
    return _reference_style(buf, critic, gamma, lam)


def lambda_on_first_td(buf, critic, gamma, lam):
    """Weights lambda^(k+1) gamma^k on delta_{t+k}: the first TD error is scaled by lambda too."""
    return _reference_style(buf, critic, gamma, lam, first_weight=lam)


def lambda_on_first_td_fixed(buf, critic, gamma, lam):
    return _reference_style(buf, critic, gamma, lam)


def advantage_witness():
    """(mdp, policy, n_steps, n_envs): one small case on which every catalogued bug shows.

    States 0 and 1 are non-terminal, 2 is terminal; every episode starts in 0.
    Action 0 moves deterministically (0 -> 1, 1 -> 1), action 1 reaches the
    terminal state with probability 1/2. The time limit 2 is shorter than the
    buffer (n_steps 3), so truncations, terminations, both on the same step,
    resets into a state other than the final one and the end of the buffer
    all occur; n_envs 2 makes the flattening order matter. 729 buffers.
    """
    from pgproofs.episodic import EpisodicMDP
    from pgproofs.policy import SoftmaxPolicy

    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = 1.0
    P[0, 1, [1, 2]] = 0.5
    P[1, 0, 1] = 1.0
    P[1, 1, [0, 2]] = 0.5
    P[2, :, 2] = 1.0
    mdp = EpisodicMDP(initial=[1.0, 0.0, 0.0], transitions=P,
                      rewards=[[1.0, 0.0], [-1.0, 2.0], [0.0, 0.0]],
                      terminal=np.array([False, False, True]), discount=0.9, time_limit=2)
    policy = SoftmaxPolicy([[0.3, -0.2], [0.1, 0.4], [0.0, 0.0]])
    return mdp, policy, 3, 2


@dataclass(frozen=True)
class AdvantageBug:
    """One advantage/rollout bug and its fix, both ``adv_fn(buf, critic, gamma, lam) -> (T, n)``.

    check: "unbiased" (check.assert_advantages_unbiased rejects the bug) or
    "gae" (only check.assert_gae_matches_reference, with an inexact critic,
    rejects it); reports: where the mistake was reported in public.
    """

    name: str
    description: str
    buggy: Callable
    correct: Callable
    check: str
    reports: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.check not in _ADV_CHECKS:
            raise ValueError(f"check: expected one of {_ADV_CHECKS}, got {self.check!r}")

    @property
    def check_fn(self) -> Callable:
        """The exact check that rejects the bug: (adv_fn, mdp, policy, n_steps, n_envs, lam)."""
        from pgproofs import check
        return {"unbiased": check.assert_advantages_unbiased,
                "gae": check.assert_gae_matches_reference}[self.check]


def _adv_entry(name: str, check: str, description: str, *reports: str) -> AdvantageBug:
    found = globals()
    return AdvantageBug(name, description, found[name], found[f"{name}_fixed"], check, reports)


ADVANTAGE_CATALOGUE: tuple[AdvantageBug, ...] = (
    _adv_entry("truncation_as_termination", "unbiased",
               "a time-limit truncation treated as a termination: no bootstrap where the episode "
               "was only cut (CleanRL's PPO documents it; skrl's time_limit_bootstrap=True zeroed "
               "the future value at truncations)",
               "vwxyzjn/cleanrl#198", "Toni-SM/skrl#449", "anthonytorlucci/rlevo#170"),
    _adv_entry("bootstrap_from_reset_obs", "unbiased",
               "the critic evaluated on the reset observation (the next episode's first state) "
               "instead of the final observation of the truncated episode",
               "Unity-Technologies/ml-agents#574", "google-deepmind/mujoco_playground#351",
               "sail-sg/envpool#33"),
    _adv_entry("bootstrap_from_current_obs", "unbiased",
               "a timeout bootstrapped with V(s_t), the value stored for the state the last "
               "action was taken in, because the final observation was not kept",
               "Denys88/rl_games#128", "leggedrobotics/rsl_rl#20", "DexForce/EmbodiChain#610"),
    _adv_entry("terminal_value_not_masked", "unbiased",
               "the value of a terminal next state not masked: delta = r + gamma V(s') even "
               "when the episode terminated",
               "thu-ml/tianshou#869", "openai/spinningup#257", "alibaba/ROLL#447"),
    _adv_entry("truncation_overrides_termination", "unbiased",
               "a step that is both terminated and truncated bootstrapped as a timeout: "
               "termination must win",
               "openai/gym#3102", "DexForce/EmbodiChain#612", "openai/spinningup#233"),
    _adv_entry("timeout_bootstrap_without_gamma", "unbiased",
               "the timeout bootstrap folded into the reward as r + V(s') instead of "
               "r + gamma V(s')",
               "AgibotTech/agibot_x1_train#12", "leggedrobotics/rsl_rl#151"),
    _adv_entry("bootstrap_counted_twice", "unbiased",
               "the end of the buffer bootstrapped twice: gamma V(last next obs) folded into the "
               "last reward as for a timeout, and again as the GAE loop's last next value",
               "Denys88/rl_games#128", "huggingface/trl#1536"),
    _adv_entry("dones_one_step_late", "unbiased",
               "done flags read one step off: step t masked with the flag of step t + 1, so the "
               "step that ends an episode is bootstrapped and the step before it is cut",
               "anthonytorlucci/rlevo#342", "RoboVerseOrg/RoboVerse#814",
               "DLR-RM/stable-baselines3#105", "vwxyzjn/cleanrl#393"),
    _adv_entry("no_bootstrap_at_buffer_end", "unbiased",
               "no bootstrap at the end of the buffer: the last step of an unfinished episode "
               "gets next value 0",
               "ray-project/ray#1003", "huggingface/trl#1536", "PufferAI/PufferLib#445"),
    _adv_entry("flattened_env_major", "unbiased",
               "a buffer written time-major (T, n) reshaped to (n, T) instead of transposed: "
               "the per-env sequences interleave the envs",
               "pytorch/rl#2086", "Stable-Baselines-Team/stable-baselines3-contrib#111"),
    _adv_entry("gae_across_episodes", "gae",
               "the GAE carry not reset at an episode boundary (the bootstrap is masked, the "
               "carry is not): unbiased with an exact critic, wrong with any other",
               "Toni-SM/skrl#449", "ModuRL/ModuRL#44",
               "vietnh1009/Super-mario-bros-PPO-pytorch#21"),
    _adv_entry("missing_gamma_in_carry", "gae",
               "the GAE carry discounted by lambda instead of gamma * lambda: unbiased with an "
               "exact critic, wrong with any other",
               "labmlai/annotated_deep_learning_paper_implementations#255"),
    _adv_entry("lambda_on_first_td", "unbiased",
               "lambda applied to the first TD error too (weights lambda^(k+1) gamma^k): the "
               "advantage shrinks by lambda",
               "labmlai/annotated_deep_learning_paper_implementations#255"),
)

# Policy losses over rollout buffers with the user's own network (issue 14): pgproofs.loss_bugs.
from pgproofs.loss_bugs import CATALOGUE as LOSS_CATALOGUE  # noqa: E402,F401
