"""Classic policy-loss bugs from public code, each beside its fix, decided by ``check.assert_loss_unbiased``.

Every entry is a loss ``(module, buf, critic) -> scalar`` over a rollout
buffer (see ``loss_checks``), written the way A2C / PPO code writes it, with
the reference GAE for advantages. The check enumerates every buffer of the
entry's minimal case and compares E[-grad_params loss] with the on-policy
gradient g of ``loss_target``. ``expected`` says what the check concludes
about the buggy loss: "rejected" for every entry but one, where the "bug"
(old log-probs recomputed from the current network) is harmless at the first
PPO epoch and only changes later epochs, which the check does not see.

The sources are public issue threads where each mistake was reported or
discussed (``sources``: repository#number). ``CATALOGUE`` lists the entries;
``WITNESS`` is the minimal MDP they share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from pgproofs.advantages import gae_returns
from pgproofs.episodic import EpisodicMDP
from pgproofs.policy_losses import (ActorCritic, a2c_loss, advantages_tensor, features, log_probs,
                                    mlp, ppo_clip_loss)

__all__ = ["CATALOGUE", "LossBug", "WITNESS", "check_entry", "witness_mdp"]

CLIP = 0.2


def witness_mdp() -> EpisodicMDP:
    """Two live states (0, 1) and a terminal one (2), two actions, gamma 0.9, time limit 2.

    Episodes end by termination or by truncation and have lengths 1 and 2,
    so buffers of 3 steps hold resets, and every advantage is non-zero.
    """
    return EpisodicMDP(
        initial=[0.7, 0.3, 0.0],
        transitions=[[[0.0, 0.6, 0.4], [1.0, 0.0, 0.0]],
                     [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]],
                     [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]],
        rewards=[[1.0, -0.5], [2.0, 0.25], [0.0, 0.0]],
        terminal=[False, False, True], discount=0.9, time_limit=2)


WITNESS = witness_mdp()


# ---- the mistakes and their fixes -------------------------------------------

def sign_flip(module, buf, critic):
    """+mean(logp * adv): the minus sign that turns descent into ascent is missing."""
    return (log_probs(module, buf) * advantages_tensor(buf, critic)).mean()


def greedy_action(module, buf, critic):
    """log-prob of the most probable action (argmax) instead of the action taken."""
    T, n, _ = buf.features.shape
    logp_all = torch.log_softmax(module(features(buf)).reshape(T, n, -1), dim=-1)
    return -(logp_all.max(dim=-1).values * advantages_tensor(buf, critic)).mean()


def _returns(buf, critic) -> torch.Tensor:
    return torch.as_tensor(gae_returns(buf, critic, buf.gamma, 0.95), dtype=torch.float64)


def _module_values(module, buf) -> torch.Tensor:
    T, n, _ = buf.features.shape
    return module.value(features(buf)).reshape(T, n)


def trunk_not_detached(module, buf, critic):
    """adv = returns - V(s) with V from the shared trunk, not detached: grad flows through V."""
    adv = _returns(buf, critic) - _module_values(module, buf)
    return -(log_probs(module, buf) * adv).mean()


def trunk_not_detached_fixed(module, buf, critic):
    """The same baseline detached: a function of the state only, so the estimate stays unbiased."""
    adv = _returns(buf, critic) - _module_values(module, buf).detach()
    return -(log_probs(module, buf) * adv).mean()


def value_loss_mixed(module, buf, critic):
    """policy loss + 0.5 * value loss on a shared trunk: the value gradient reaches the policy."""
    value_loss = ((_module_values(module, buf) - _returns(buf, critic)) ** 2).mean()
    return a2c_loss(module, buf, critic) + 0.5 * value_loss


def entropy_bonus(module, buf, critic):
    """policy loss - 0.01 * entropy: the update is grad g + 0.01 grad H, not the policy gradient."""
    entropy = torch.distributions.Categorical(logits=module(features(buf))).entropy()
    return a2c_loss(module, buf, critic) - 0.01 * entropy.mean()


def broadcast_wrong_axis(module, buf, critic):
    """logp (B,) times adv (B, 1) broadcasts to (B, B): the mean runs over every pair."""
    logp = log_probs(module, buf).reshape(-1)
    adv = advantages_tensor(buf, critic).reshape(-1, 1)
    return -(logp * adv).mean()


def flatten_order(module, buf, critic):
    """logp flattened time-major, advantages env-major: step t of env e meets another step's adv."""
    logp = log_probs(module, buf).reshape(-1)
    adv = advantages_tensor(buf, critic).T.reshape(-1)
    return -(logp * adv).mean()


def _episodes(buf) -> list[tuple[int, int, int]]:
    """(env, first step, end step) of every episode piece in the buffer, env by env."""
    pieces = []
    for e in range(buf.n_envs):
        start = 0
        for t in range(buf.n_steps):
            if buf.terminated[t, e] or buf.truncated[t, e] or t + 1 == buf.n_steps:
                pieces.append((e, start, t + 1))
                start = t + 1
    return pieces


def padded_normalisation(module, buf, critic):
    """Episodes padded to equal length with zeros, advantages standardised over the padded tensor.

    Mean and std include the padding; the mask only enters the final average.
    """
    logp, adv = log_probs(module, buf), advantages_tensor(buf, critic)
    pieces = _episodes(buf)
    width = max(stop - start for _, start, stop in pieces)
    padded_logp = torch.zeros(len(pieces), width, dtype=torch.float64)
    padded_adv = torch.zeros(len(pieces), width, dtype=torch.float64)
    mask = torch.zeros(len(pieces), width, dtype=torch.float64)
    for i, (e, start, stop) in enumerate(pieces):
        padded_logp[i, :stop - start] = logp[start:stop, e]
        padded_adv[i, :stop - start] = adv[start:stop, e]
        mask[i, :stop - start] = 1.0
    normalised = (padded_adv - padded_adv.mean()) / (padded_adv.std() + 1e-8)
    return -(padded_logp * normalised * mask).sum() / mask.sum()


def _ppo(module, buf, critic, *, adv=None, old_logp=None, inverted=False):
    """The clipped PPO loss with its pieces replaceable, so each variant changes one thing."""
    logp = log_probs(module, buf)
    adv = advantages_tensor(buf, critic) if adv is None else adv
    old_logp = torch.tensor(buf.log_probs) if old_logp is None else old_logp
    ratio = torch.exp(old_logp - logp) if inverted else torch.exp(logp - old_logp)
    return torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)).mean()


def ppo_minibatch_normalisation(module, buf, critic):
    """Advantages standardised inside each of two minibatches (CleanRL's norm_adv per minibatch)."""
    logp = log_probs(module, buf).reshape(-1)
    adv = advantages_tensor(buf, critic).reshape(-1)
    old = torch.tensor(buf.log_probs).reshape(-1)
    losses = []
    for idx in np.array_split(np.arange(len(adv)), min(2, len(adv))):
        a = adv[idx]
        a = (a - a.mean()) / (a.std(correction=0) + 1e-8)
        ratio = torch.exp(logp[idx] - old[idx])
        losses.append(torch.max(-a * ratio, -a * torch.clamp(ratio, 1 - CLIP, 1 + CLIP)).mean())
    return torch.stack(losses).mean()


def ppo_inverted_ratio(module, buf, critic):
    """ratio = exp(old - new) (pi_old / pi): at ratio 1 its gradient is minus the policy gradient."""
    return _ppo(module, buf, critic, inverted=True)


def ppo_stale_other_action(module, buf, critic):
    """old log-prob read one step off in storage: log pi_old of another step's action and state."""
    old = torch.tensor(np.roll(buf.log_probs, 1, axis=0))
    return _ppo(module, buf, critic, old_logp=old)


def ppo_old_logprob_recomputed(module, buf, critic):
    """old log-prob recomputed from the current network (detached), not read from the buffer.

    At the first epoch the parameters ARE those that collected the buffer, so
    ratio = 1 either way and the gradient is exact: the check accepts it. At
    later epochs the ratio stays 1 and clipping never acts (the reported
    bug); no first-epoch check can see that.
    """
    return _ppo(module, buf, critic, old_logp=log_probs(module, buf).detach())


# ---- the catalogue ----------------------------------------------------------

def _mlp(n_features: int, n_actions: int) -> torch.nn.Module:
    return mlp(n_features, n_actions, hidden=4)


def _actor_critic(n_features: int, n_actions: int) -> torch.nn.Module:
    return ActorCritic(n_features, n_actions, hidden=4)


@dataclass(frozen=True)
class LossBug:
    """One catalogue entry: a classic mistake in a policy loss and its fix.

    buggy, correct: losses (module, buf, critic) -> scalar; module_factory(d, A)
    builds the network of the minimal case (seeded by ``seed``); n_steps,
    n_envs: the minimal buffer (on ``WITNESS``, one-hot features); expected:
    "rejected" or "accepted", what ``check.assert_loss_unbiased`` concludes
    about the buggy loss; sources: public threads (repository#number).
    """

    name: str
    description: str
    buggy: Callable
    correct: Callable
    module_factory: Callable
    n_steps: int
    n_envs: int
    expected: str
    sources: tuple
    seed: int = 0

    def module(self) -> torch.nn.Module:
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            return self.module_factory(WITNESS.n_states, WITNESS.n_actions)


def check_entry(bug: LossBug, loss_fn: Callable | None = None):
    """``check.assert_loss_unbiased`` on the entry's minimal case (its buggy loss by default)."""
    from pgproofs.loss_checks import assert_loss_unbiased

    return assert_loss_unbiased(bug.buggy if loss_fn is None else loss_fn, bug.module(), WITNESS,
                                n_steps=bug.n_steps, n_envs=bug.n_envs)


def _bug(name, description, correct, n_steps, n_envs, sources, *, factory=_mlp,
         expected="rejected") -> LossBug:
    return LossBug(name, description, globals()[name], correct, factory, n_steps, n_envs,
                   expected, tuple(sources))


CATALOGUE: tuple[LossBug, ...] = (
    _bug("sign_flip", "loss = +logp * adv: SGD then descends the objective", a2c_loss, 1, 1,
         ["ikostrikov/pytorch-a3c#30", "openai/spinningup#436"]),
    _bug("greedy_action", "log-prob of the argmax action instead of the action taken", a2c_loss,
         1, 1, ["henrywoo/chatllama#7", "muupan/async-rl#12"]),
    _bug("trunk_not_detached",
         "advantage = returns - V(s) with V from the shared trunk and not detached",
         trunk_not_detached_fixed, 1, 1,
         ["astariul/encode-attend-navigate-pytorch#2", "keras-team/keras-io#194",
          "muupan/async-rl#12"], factory=_actor_critic),
    _bug("value_loss_mixed",
         "value loss added to the policy loss on a shared trunk: the value gradient moves the "
         "policy (check the policy term; fit the critic with its own loss)", a2c_loss, 1, 1,
         ["ikostrikov/pytorch-a2c-ppo-acktr-gail#48", "DLR-RM/stable-baselines3#2006"],
         factory=_actor_critic),
    _bug("entropy_bonus", "entropy bonus in the loss whose gradient is taken for the policy "
         "gradient (a deliberate regulariser: check the policy term alone)", a2c_loss, 1, 1,
         ["ikostrikov/pytorch-a3c#30", "ikostrikov/pytorch-a2c-ppo-acktr-gail#48"]),
    _bug("broadcast_wrong_axis", "logp (B,) times adv (B, 1): the mean runs over a (B, B) "
         "matrix of every pair", a2c_loss, 2, 1,
         ["pytorch/rl#1243", "LucasAlegre/morl-baselines#88"]),
    _bug("flatten_order", "logp flattened time-major, advantages env-major: positions "
         "mismatched when n_envs > 1", a2c_loss, 2, 2,
         ["pytorch/rl#1243", "openai/baselines#323"]),
    _bug("padded_normalisation", "episodes padded with zeros and advantages standardised over "
         "the padded tensor (fix: no standardisation; any batch statistic biases the gradient)",
         a2c_loss, 3, 1, ["openai/baselines#323", "cooijmanstim/recurrent-batch-normalization#2"]),
    _bug("ppo_minibatch_normalisation", "advantages standardised per minibatch inside PPO's "
         "loss: a ratio of batch statistics (0 for a minibatch of one)", ppo_clip_loss, 2, 1,
         ["hill-a/stable-baselines#697", "DLR-RM/stable-baselines3#485",
          "HorizonRobotics/alf#1642"]),
    _bug("ppo_inverted_ratio", "ratio = exp(old_logp - logp): the policy gradient with its "
         "sign flipped, clipped on the wrong side", ppo_clip_loss, 1, 1,
         ["openai/baselines#652"]),
    _bug("ppo_stale_other_action", "old log-prob read from another step of the storage: the "
         "ratio is not 1 at the first epoch and clipping acts", ppo_clip_loss, 2, 1,
         ["openai/spinningup#181", "henrywoo/chatllama#7"]),
    _bug("ppo_old_logprob_recomputed", "old log-probs recomputed from the current network: "
         "exact at the first epoch (accepted), the ratio stays 1 at later epochs",
         ppo_clip_loss, 2, 1,
         ["higgsfield-ai/higgsfield#20", "tensorforce/tensorforce#312"], expected="accepted"),
)
