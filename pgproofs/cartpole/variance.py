"""Measurements behind E2E-2 (gradient variance) and E2E-3 (KL per update).

Gradient variance. At a policy snapshot, sample M whole episodes (horizon
500, the time limit) and compute, for each episode, the per-episode gradient
estimate of J = E[sum_t gamma^t r_t] under each estimator of the notes:

    full return     g = sum_t grad log pi(a_t|s_t) * R(tau)
    reward-to-go    g = sum_t gamma^t grad log pi(a_t|s_t) * Rhat_t
    rtg + baseline  g = sum_t gamma^t grad log pi(a_t|s_t) * (Rhat_t - V(s_t))

with R(tau) = sum_t gamma^t r_t, Rhat_t = sum_{t'>=t} gamma^(t'-t) r_t' and V
the learner's critic. All three are unbiased for the same gradient on the
same episodes (the gamma^t factor is kept so that reward-to-go stays exact
for the discounted objective, and V depends on the state only), so their
variances are comparable and

    Var_A - Var_B = E ||g_A||^2 - E ||g_B||^2,

the mean of a per-episode paired difference. A control "rtg + anti-baseline"
(Rhat_t + V(s_t)) is unbiased too and must come out *worse* than reward-to-go.

KL of control steps (E2E-3): at each natural-gradient update, the measured
KL of the full step and of steps a bug would take (see ``kl_of_controls``).

Neither is part of the learner: ``VarianceProbe`` and ``KLControlProbe`` are
``on_update`` observers of ``pgproofs.cartpole.learner.train``; they read the
networks and the batch the learner shows them and leave them unchanged.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from pgproofs.cartpole.evaluate import ENV_ID
from pgproofs.cartpole.learner import Update, log_probs, sampler, state_values
from pgproofs.cartpole.npg import NaturalStep, categorical_kl
from pgproofs.cartpole.rollout import collect_episodes, full_returns, rollout_reward_to_go

__all__ = ["ESTIMATORS", "COMPARISONS", "gradient_variance", "paired_z", "kl_of_controls",
           "VarianceProbe", "KLControlProbe", "VARIANCE_SEED_BASE"]

VARIANCE_SEED_BASE = 2**40
ESTIMATORS = ("full return", "reward-to-go", "rtg + baseline", "rtg + anti-baseline (control)")
# (worse, better) pairs whose variance difference is measured
COMPARISONS = (("full return", "reward-to-go"), ("reward-to-go", "rtg + baseline"),
               ("reward-to-go", "rtg + anti-baseline (control)"))


def _estimator_weights(rollout, values: np.ndarray, discount: float) -> np.ndarray:
    """(K, n, T) credit of grad log pi(a_t|s_t) for each estimator."""
    T = rollout.rewards.shape[1]
    disc = discount ** np.arange(T)  # episodes start at column 0
    rtg = rollout_reward_to_go(rollout, discount)
    return np.stack([full_returns(rollout, discount), disc * rtg,
                     disc * (rtg - values), disc * (rtg + values)])


def gradient_variance(policy: torch.nn.Module, value: torch.nn.Module, discount: float,
                      episodes: int, seed: int) -> dict:
    """Per-episode gradients of each estimator on the same ``episodes`` episodes.

    Returns trace-of-covariance variances, squared norms per episode, and the
    paired statistics of COMPARISONS (see ``paired_z``).
    """
    if episodes < 2:
        raise ValueError(f"episodes: need >= 2 to estimate a variance, got {episodes}")
    env = gym.make_vec(ENV_ID, num_envs=episodes)
    rng = np.random.default_rng(seed)
    rollout = collect_episodes(env, sampler(policy, rng), VARIANCE_SEED_BASE + seed)
    env.close()
    values = state_values(value, rollout.obs)
    weights = _estimator_weights(rollout, values, discount)
    params = list(policy.parameters())
    grads = np.empty((len(ESTIMATORS), episodes, sum(p.numel() for p in params)))
    for i in range(episodes):
        rows = rollout.valid[i]
        obs = torch.from_numpy(rollout.obs[i, rows])
        act = torch.from_numpy(rollout.actions[i, rows])
        logp = log_probs(policy, obs, act)
        w = torch.from_numpy(weights[:, i, rows].astype(np.float32))
        # one batched vector-Jacobian product: row k is sum_t w[k, t] grad log pi_t
        g = torch.autograd.grad(logp, params, grad_outputs=w, is_grads_batched=True)
        grads[:, i] = torch.cat([x.reshape(len(ESTIMATORS), -1) for x in g], 1).double().numpy()
    sq = (grads ** 2).sum(-1)
    var = {name: float(((grads[k] - grads[k].mean(0)) ** 2).sum(-1).mean() * episodes
                       / (episodes - 1)) for k, name in enumerate(ESTIMATORS)}
    out = {"episodes": episodes, "mean_length": float(rollout.valid.sum(1).mean()),
           "variance": var,
           "sq_norms": {name: sq[k].tolist() for k, name in enumerate(ESTIMATORS)}}
    out["paired"] = {f"{a} -> {b}": paired_z(sq[ESTIMATORS.index(a)], sq[ESTIMATORS.index(b)])
                     for a, b in COMPARISONS}
    return out


def paired_z(sq_worse: np.ndarray, sq_better: np.ndarray) -> dict:
    """z statistic of d_i = ||g_worse,i||^2 - ||g_better,i||^2 (mean / standard error).

    For two estimators with the same mean, E[d] = Var_worse - Var_better.
    """
    d = np.asarray(sq_worse, float) - np.asarray(sq_better, float)
    se = d.std(ddof=1) / np.sqrt(len(d))
    return {"mean_diff": float(d.mean()), "se": float(se),
            "z": float(d.mean() / se) if se > 0 else float("inf") * np.sign(d.mean())}


def kl_of_controls(policy: torch.nn.Module, obs: torch.Tensor, grad: torch.Tensor,
                   step: NaturalStep) -> dict:
    """Measured KL, on the update's states, of the full natural step and controls.

    kl_full     d, the step scaled so that 1/2 d^T F d = max_kl
    kl_sqrt2    sqrt(2) d (overshoots: ~2 max_kl)
    kl_no_half  d / sqrt(2), the step sized with the notes' quadratic d^T F d
                (without the 1/2) = max_kl (undershoots: ~max_kl / 2)
    kl_plain    the plain gradient direction with the same Euclidean norm as d
    Leaves the policy's parameters as they were.
    """
    params = list(policy.parameters())
    v2p, p2v = torch.nn.utils.vector_to_parameters, torch.nn.utils.parameters_to_vector
    with torch.no_grad():
        theta_new = p2v(params).detach().clone()
        theta_old = theta_new - step.step_fraction * step.full_step
        v2p(theta_old, params)
        old = policy(obs)
        d = step.full_step
        plain = grad / grad.norm() * d.norm()
        out = {}
        for name, delta in (("kl_full", d), ("kl_sqrt2", d * 2 ** 0.5),
                            ("kl_no_half", d / 2 ** 0.5), ("kl_plain", plain)):
            v2p(theta_old + delta, params)
            out[name] = float(categorical_kl(old, policy(obs)))
        v2p(theta_new, params)
    return out


class VarianceProbe:
    """``on_update`` observer: ``gradient_variance`` before training and at every evaluation.

    ``snapshots`` holds one ``gradient_variance`` result per measurement, with
    the ``env_steps`` of training it was taken at. Snapshot k of the run with
    seed s samples with seed s * 2**20 + k + offset, apart from every seed the
    run uses; ``offset`` re-draws the measurement without touching training.
    """

    def __init__(self, episodes: int = 32, offset: int = 0) -> None:
        if episodes < 2:
            raise ValueError(f"episodes: need >= 2 to estimate a variance, got {episodes}")
        if offset < 0:
            raise ValueError(f"offset: must be >= 0, got {offset}")
        self.episodes, self.offset = episodes, offset
        self.snapshots: list[dict] = []

    def __call__(self, update: Update) -> None:
        if update.number > 0 and "eval_mean" not in update.info:
            return
        cfg = update.config
        snap = gradient_variance(update.policy, update.value, cfg.discount, self.episodes,
                                 seed=cfg.seed * 2**20 + len(self.snapshots) + self.offset)
        snap["env_steps"] = update.info["env_steps"]
        self.snapshots.append(snap)


class KLControlProbe:
    """``on_update`` observer: adds ``kl_of_controls`` to the log entry of every natural step."""

    def __call__(self, update: Update) -> None:
        if update.step is not None:
            update.info.update(kl_of_controls(update.policy, update.obs, update.grad,
                                              update.step))
