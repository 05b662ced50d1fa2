"""Exact check of a policy loss written with the user's own torch network (re-exported by ``check``).

A policy loss is what training code writes,

    loss_fn(module, buf, critic) -> scalar torch loss (minimised),

with ``module`` a torch.nn.Module mapping observations (batch, d) to logits
(batch, A), ``buf`` a rollout buffer (``rollouts.Rollout``) that also carries
``features`` (T, n, d) = observe[obs] (float64) and ``gamma`` (the MDP's
discount, which a loss needs to compute GAE), and ``critic(states)`` the
critic of ``check.assert_advantages_unbiased`` (exact V on non-terminal
states, deliberately wrong and non-zero on terminal states).

``assert_loss_unbiased`` enumerates every (n_steps, n_envs) buffer the
module's own policy can collect, evaluates the loss on each with a float64
copy of the module, and compares

    E[-grad_params loss] = sum_buffers P(buf) (-grad_params loss(buf))

with the exact target g of ``loss_target`` (the on-policy gradient that
rollout training estimates), parameter by parameter. By linearity the
expectation is ONE backward pass through sum_buf P(buf) loss(buf).

What "unbiased" means here: the first gradient step of A2C, or of PPO's
first epoch on the whole buffer (ratio exactly 1), points along g in
expectation. After the first step PPO's parameters differ from those that
collected the buffer: its later gradients are importance-weighted and
clipped estimates of a different quantity, about which this check says
nothing (a bug that only shows when the ratio differs from 1, such as old
log-probs recomputed from the current network, passes; see ``loss_bugs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from pgproofs.advantage_checks import checking_critic_values
from pgproofs.advantages import tabular_critic
from pgproofs.episodic import EpisodicMDP
from pgproofs.loss_target import (LossTarget, exact_loss_target, float64_module,
                                  observation_features)
from pgproofs.rollouts import MAX_BUFFERS, Buffers, Rollout, enumerate_all

__all__ = ["LossBuffer", "LossCheck", "assert_loss_unbiased", "expected_loss_gradient",
           "loss_buffer", "parameter_entry"]

LossFn = Callable


@dataclass(frozen=True)
class LossBuffer(Rollout):
    """A Rollout plus what a loss needs beyond it: features (T, n, d) and the discount gamma."""

    features: np.ndarray = field(default=None)
    gamma: float = field(default=0.0)

    def __post_init__(self) -> None:
        base = {name: getattr(self, name) for name in _ROLLOUT_FIELDS}
        Rollout(**base)  # validates the (T, n) fields
        shape = np.shape(self.obs)
        if np.ndim(self.features) != 3 or np.shape(self.features)[:2] != shape:
            raise ValueError(f"features: expected shape (n_steps, n_envs, d) with (n_steps, "
                             f"n_envs) = {shape}, got {np.shape(self.features)}")


_ROLLOUT_FIELDS = ("obs", "actions", "rewards", "log_probs", "terminated", "truncated",
                   "next_obs", "episode_starts")


def loss_buffer(buf: Rollout, features: np.ndarray, gamma: float) -> LossBuffer:
    """``buf`` with features = observe[buf.obs] (a fresh float64 array) and ``gamma`` attached."""
    feats = np.asarray(features, dtype=np.float64)[buf.obs]
    return LossBuffer._trusted({**{name: getattr(buf, name) for name in _ROLLOUT_FIELDS},
                                "features": feats, "gamma": float(gamma)})


def parameter_entry(name: str, shape: tuple, flat: int) -> str:
    """'name[i, j]' for the flat index of an entry of a parameter of that shape."""
    index = np.unravel_index(flat, shape) if shape else ()
    return f"{name}[{', '.join(str(int(i)) for i in index)}]"


def loss_value(loss_fn, module, buf, critic):
    import torch

    loss = loss_fn(module, buf, critic)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        what = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn: must return a scalar torch tensor, got {what}")
    if not torch.isfinite(loss.detach()).all():
        raise ValueError(f"loss_fn: returned a non-finite loss on buffer\n{buf.table()}")
    return loss.reshape(())


def expected_loss_gradient(loss_fn: LossFn, module, buffers: Buffers, features: np.ndarray,
                           gamma: float, critic) -> tuple:
    """E[-grad_params loss] over the enumerated buffers: one backward of sum P(buf) loss(buf)."""
    import torch

    params = [p for _, p in module.named_parameters()]
    total = torch.zeros((), dtype=torch.float64)
    for i in range(len(buffers)):
        loss = loss_value(loss_fn, module, loss_buffer(buffers[i], features, gamma), critic)
        total = total + float(buffers.probs[i]) * loss
    if not total.requires_grad:  # the loss never touches the parameters: zero gradient
        return tuple(np.zeros(tuple(p.shape)) for p in params)
    grads = torch.autograd.grad(total, params, allow_unused=True)
    return tuple(np.zeros(tuple(p.shape)) if g is None else -g.detach().numpy()
                 for p, g in zip(params, grads))


@dataclass(frozen=True)
class LossCheck:
    """What the exact loss check measured: E[-grad loss] per parameter beside the targets."""

    expected: tuple
    target: LossTarget
    n_buffers: int

    @property
    def bias(self) -> tuple:
        return tuple(e - g for e, g in zip(self.expected, self.target.target))

    def worst(self) -> tuple[int, int, float]:
        """(parameter index, flat entry, bias) of the largest |bias|; (-1, -1, 0.0) if no parameter."""
        best = (-1, -1, 0.0)
        for k, b in enumerate(self.bias):
            if b.size:
                j = int(np.argmax(np.abs(b)))
                if abs(b.flat[j]) > abs(best[2]):
                    best = (k, j, float(b.flat[j]))
        return best

    @property
    def max_abs_bias(self) -> float:
        return abs(self.worst()[2])


def _fmt(x) -> str:
    return np.array2string(np.asarray(x, dtype=np.float64), precision=6, separator=", ",
                           suppress_small=True, max_line_width=100)


def describe_case(mdp, features, policy, n_steps, n_envs, reduction, critic_values=None) -> str:
    """The case as text: MDP, features, the module's policy and the buffer shape."""
    lines = [f"mdp: {mdp!r}", f"observe (features of each state): {_fmt(features).replace(chr(10), ' ')}",
             f"module policy pi(a|s): {_fmt(policy.probs).replace(chr(10), ' ')}",
             f"n_steps={n_steps}, n_envs={n_envs}, reduction={reduction!r}"]
    if critic_values is not None:
        lines.append(f"critic: exact V on non-terminal states, deliberately wrong on terminal "
                     f"states: {_fmt(critic_values)}")
    return "\n".join(lines)


def assert_loss_unbiased(loss_fn: LossFn, module, mdp: EpisodicMDP, observe=None, n_steps: int = 1,
                         n_envs: int = 1, reduction: str = "mean", atol: float = 1e-9, *,
                         max_buffers: int = MAX_BUFFERS) -> LossCheck:
    """AssertionError unless E[-grad_params loss_fn] equals the on-policy gradient g exactly.

    loss_fn(module, buf, critic) -> scalar torch loss runs on every buffer of
    (n_steps, n_envs) the module's policy (softmax of module(observe[s])) can
    collect, with a float64 copy of ``module``; buf also has ``features``
    (T, n, d) and ``gamma``. g = sum_s w(s) sum_a grad pi(a|s) A(s, a) with
    w(s) = E[visits of s] / (n_steps n_envs) for reduction "mean", E[visits]
    for "sum" (``loss_target``). The message names the parameter tensor and
    entry with the largest bias, both values, the gap between g and the
    gradient of the discounted objective, and the case (MDP, features,
    policy). Returns the LossCheck.
    """
    if not callable(loss_fn):
        raise ValueError(f"loss_fn: expected a callable (module, buf, critic) -> scalar loss, "
                         f"got {type(loss_fn).__name__}")
    if not (atol >= 0):
        raise ValueError(f"atol: must be >= 0, got {atol}")
    module64 = float64_module(module)
    features = observation_features(mdp, observe) if isinstance(mdp, EpisodicMDP) else None
    target = exact_loss_target(module64, mdp, features, n_steps, n_envs, reduction)
    policy = target.policy
    buffers = enumerate_all(mdp, policy, n_steps, n_envs, max_buffers=max_buffers)
    critic_values = checking_critic_values(mdp, policy)
    expected = expected_loss_gradient(loss_fn, module64, buffers, features, mdp.discount,
                                      tabular_critic(critic_values))
    result = LossCheck(expected, target, len(buffers))
    k, j, bias = result.worst()
    if abs(bias) <= atol:
        return result
    name, shape = target.names[k], expected[k].shape
    n_bad = sum(int((np.abs(b) > atol).sum()) for b in result.bias)
    gap, cosine = target.gap()
    raise AssertionError("\n".join([
        f"policy loss is biased: largest bias at parameter {parameter_entry(name, shape, j)}: "
        f"E[-grad loss] = {expected[k].flat[j]:.10g}, exact on-policy gradient g = "
        f"{target.target[k].flat[j]:.10g}, bias {bias:+.6g} (atol {atol:g}; {n_bad} biased "
        f"entries over {len(target.names)} parameter tensors)",
        f"gradient of the discounted objective there: {target.discounted[k].flat[j]:.10g} "
        f"(g weights states by w(s) = {_fmt(target.weights)}, grad J by gamma^t visits "
        f"{_fmt(target.state_weights_discounted)}; max |g - grad J| = {gap:.6g}, cosine {cosine:.6g})",
        f"exact over all {len(buffers)} buffers; A(s, a) = {_fmt(target.advantages).replace(chr(10), ' ')}",
        describe_case(mdp, features, policy, n_steps, n_envs, reduction, critic_values),
    ]))
