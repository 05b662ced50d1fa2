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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from pgproofs.mdp import Batch
from pgproofs.returns import reward_to_go

__all__ = ["Bug", "CATALOGUE", "reward_to_go_loss"]


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
