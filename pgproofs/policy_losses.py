"""Reference policy losses over rollout buffers, written the way training code writes them.

``loss_fn(module, buf, critic) -> scalar`` (see ``loss_checks``): the module
maps features (batch, d) to logits (batch, A); ``buf.features`` is (T, n, d);
advantages come from the reference GAE (``advantages.gae``) with the critic
handed in. Both losses estimate the on-policy gradient g of ``loss_target``
(section "Reducing Variance" of the notes: grad log pi(a_t|s_t) times an
advantage whose conditional mean is A(s_t, a_t)):

- ``a2c_loss``:  -mean_{t,e} log pi(a_t|s_t) * adv_t;
- ``ppo_clip_loss``: PPO's clipped surrogate (Schulman et al. 2017, CleanRL's
  form) -mean min(ratio adv, clip(ratio, 1 - eps, 1 + eps) adv) with
  ratio = exp(log pi(a_t|s_t) - buf.log_probs); at the first epoch ratio = 1,
  clipping is inactive and d ratio = d log pi, so its gradient is A2C's.

``mlp`` and ``linear`` build small networks for the checks and the tutorial.
"""

from __future__ import annotations

import numpy as np
import torch

from pgproofs.advantages import gae

__all__ = ["ActorCritic", "a2c_loss", "advantages_tensor", "features", "linear", "log_probs", "mlp",
           "ppo_clip_loss"]

LAMBDA = 0.95
CLIP = 0.2


def log_probs(module: torch.nn.Module, buf) -> torch.Tensor:
    """log pi(a_t|s_t) recomputed by the module on buf.features, (T, n), carrying the graph."""
    T, n, d = buf.features.shape
    logits = module(features(buf)).reshape(T, n, -1)
    actions = torch.tensor(buf.actions)
    return torch.log_softmax(logits, dim=-1).gather(-1, actions[..., None])[..., 0]


def advantages_tensor(buf, critic, lam: float = LAMBDA) -> torch.Tensor:
    """Reference GAE(gamma = buf.gamma, lam) as a float64 tensor (no graph), (T, n)."""
    return torch.as_tensor(gae(buf, critic, buf.gamma, lam), dtype=torch.float64)


def a2c_loss(module, buf, critic, lam: float = LAMBDA):
    """-mean_{t,e} log pi(a_t|s_t) adv_t with the reference GAE: the A2C policy loss."""
    return -(log_probs(module, buf) * advantages_tensor(buf, critic, lam)).mean()


def ppo_clip_loss(module, buf, critic, lam: float = LAMBDA, clip: float = CLIP):
    """PPO's clipped policy loss, CleanRL style: max(-adv ratio, -adv clip(ratio)).mean()."""
    adv = advantages_tensor(buf, critic, lam)
    ratio = torch.exp(log_probs(module, buf) - torch.tensor(buf.log_probs))
    pg_loss1 = -adv * ratio
    pg_loss2 = -adv * torch.clamp(ratio, 1 - clip, 1 + clip)
    return torch.max(pg_loss1, pg_loss2).mean()


def mlp(n_features: int, n_actions: int, hidden: int = 8) -> torch.nn.Module:
    """features -> Linear(d, hidden) -> tanh -> Linear(hidden, A): the small MLP of the checks."""
    return torch.nn.Sequential(torch.nn.Linear(n_features, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, n_actions))


def linear(n_features: int, n_actions: int) -> torch.nn.Module:
    """logits = W x (no bias): with one-hot features, W.T is the tabular logits table."""
    return torch.nn.Linear(n_features, n_actions, bias=False)


class ActorCritic(torch.nn.Module):
    """A shared tanh trunk with a policy head (forward: logits) and a value head (``value``)."""

    def __init__(self, n_features: int, n_actions: int, hidden: int = 8) -> None:
        super().__init__()
        self.trunk = torch.nn.Sequential(torch.nn.Linear(n_features, hidden), torch.nn.Tanh())
        self.actor = torch.nn.Linear(hidden, n_actions)
        self.critic = torch.nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.actor(self.trunk(x))

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """V(x) from the shared trunk, shape (batch,)."""
        return self.critic(self.trunk(x))[..., 0]


def features(buf) -> torch.Tensor:
    """buf.features flattened time-major to (T * n, d), as a tensor."""
    T, n, d = np.shape(buf.features)
    return torch.tensor(buf.features).reshape(T * n, d)
