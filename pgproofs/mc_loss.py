"""Monte Carlo check of a policy loss for buffers and networks too large to enumerate.

``check.assert_loss_unbiased`` enumerates every buffer. Here buffers are
sampled i.i.d. (``rollouts.collect`` under the module's own policy); each
gives one per-buffer estimate G_i = -grad_params loss(buf_i), flattened over
all m parameter entries, and the target g still comes exactly from dynamic
programming (``loss_target``, cheap at any n_steps). The claim tested is

    H0: E[G][j] = g[j]  for every parameter entry j.

Each entry gets a two-sided test at level alpha / m; by the union
(Bonferroni) bound the probability of rejecting a loss that satisfies H0 is
at most alpha. The per-entry test is the one ``montecarlo.mc_bias_test`` uses:

* ``bound`` B given (method "bernstein", FINITE-SAMPLE guarantee): if every
  entry of every G_i lies in [-B, B], the empirical Bernstein bound of Maurer
  & Pontil (2009, Theorem 4) holds for every number of buffers. B must come
  from an argument, not from the sample: ``linear_a2c_bound`` gives one for
  the A2C loss of a one-hot linear policy (each entry is a mean over buffer
  positions of (1[b = a_t] - pi(b|s_t)) 1[s = s_t] adv_t, so |G_i[j]| <=
  sup |GAE|, computed exactly by ``mc_advantages.advantage_bound``). An
  observed entry outside [-B, B] raises ValueError: the stated bound is false.
* no ``bound`` (method "student-t", ASYMPTOTIC guarantee): Student's t with
  n - 1 degrees of freedom per entry; its level holds as n -> infinity (CLT)
  and can be exceeded far in the tail for skewed gradients at moderate n (see
  ``montecarlo``'s docstring and ``benchmarks/calibration.py``). For an MLP no
  per-buffer bound is known in general, so this is the only option there.

Differences below 1e-9 * max(1, |g|_max) count as zero (float rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgproofs.advantage_checks import checking_critic_values
from pgproofs.advantages import tabular_critic
from pgproofs.episodic import EpisodicMDP
from pgproofs.loss_checks import loss_value, describe_case, loss_buffer, parameter_entry
from pgproofs.loss_target import LossTarget, exact_loss_target, float64_module, observation_features
from pgproofs.montecarlo import (bernstein_pvalues, check_alpha, check_rng, positive_int,
                                 student_t_pvalues)
from pgproofs.policy import SoftmaxPolicy
from pgproofs.rollouts import collect

__all__ = ["MCLossResult", "linear_a2c_bound", "mc_loss_test", "mc_loss_unbiased",
           "sample_loss_gradients"]

ROUNDING = 1e-9


def linear_a2c_bound(mdp: EpisodicMDP, policy: SoftmaxPolicy, lam: float) -> float:
    """sup |G_i[j]| for ``policy_losses.a2c_loss`` with a one-hot linear module (reduction "mean").

    Equal to the exact sup of |GAE(gamma, lam)| over buffers with the check's
    critic (exact V, wrong on terminal states), by value iteration.
    """
    from pgproofs.mc_advantages import advantage_bound

    return advantage_bound(mdp, policy, checking_critic_values(mdp, policy), lam, slack=1.0)


def sample_loss_gradients(loss_fn, module, mdp: EpisodicMDP, features: np.ndarray, policy,
                          n_steps: int, n_envs: int, n_buffers: int,
                          rng: np.random.Generator) -> np.ndarray:
    """(n_buffers, m): -grad_params loss on i.i.d. buffers, flattened over the parameters."""
    import torch

    params = [p for _, p in module.named_parameters()]
    critic = tabular_critic(checking_critic_values(mdp, policy))
    out = np.zeros((n_buffers, sum(p.numel() for p in params)))
    for i in range(n_buffers):
        buf = loss_buffer(collect(mdp, policy, n_steps, n_envs, rng), features, mdp.discount)
        loss = loss_value(loss_fn, module, buf, critic)
        if not loss.requires_grad:
            continue  # the loss ignores the parameters: a zero gradient
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        out[i] = np.concatenate([np.zeros(p.numel()) if g is None else -g.detach().numpy().ravel()
                                 for p, g in zip(params, grads)])
    return out


@dataclass(frozen=True)
class MCLossResult:
    """Outcome of the Monte Carlo loss test: flat (m,) arrays over the parameter entries.

    mean, stderr: of the sampled -grad loss; target: g; threshold: the
    per-entry half-width at level alpha/m; p_value: Bonferroni-adjusted;
    worst: 'name[index]' of the smallest p-value; guarantee: "finite-sample"
    (bound given) or "asymptotic" (Student's t).
    """

    method: str
    guarantee: str
    alpha: float
    n: int
    mean: np.ndarray
    stderr: np.ndarray
    target: np.ndarray
    threshold: np.ndarray
    p_value: float
    worst: str
    worst_index: int
    rejected: bool
    exact: LossTarget

    def summary(self) -> str:
        j = self.worst_index
        verdict = "rejected" if self.rejected else "not rejected"
        return (f"{verdict} by the {self.method} test ({self.guarantee} false-alarm rate <= "
                f"{self.alpha:g}, Bonferroni over {self.mean.size} parameter entries, n={self.n} "
                f"buffers): worst {self.worst}: mean of -grad loss {self.mean[j]:.6g} +- "
                f"{self.stderr[j]:.3g} (s.e.), exact g {self.target[j]:.6g}, threshold "
                f"+-{self.threshold[j]:.3g}; adjusted p-value {self.p_value:.3g}")


def mc_loss_test(loss_fn, module, mdp: EpisodicMDP, observe=None, n_steps: int = 1,
                 n_envs: int = 1, reduction: str = "mean", *, n_buffers: int = 2000,
                 alpha: float = 1e-6, rng: np.random.Generator | None = None,
                 bound: float | None = None) -> MCLossResult:
    """Test H0: E[-grad loss] = g by sampling buffers; never raises on rejection (see the module)."""
    if not callable(loss_fn):
        raise ValueError(f"loss_fn: expected a callable (module, buf, critic) -> scalar loss, "
                         f"got {type(loss_fn).__name__}")
    alpha = check_alpha(alpha)
    n = positive_int("n_buffers", n_buffers, least=2)
    check_rng(rng)
    module64 = float64_module(module)
    features = observation_features(mdp, observe) if isinstance(mdp, EpisodicMDP) else None
    exact = exact_loss_target(module64, mdp, features, n_steps, n_envs, reduction)
    g = sample_loss_gradients(loss_fn, module64, mdp, features, exact.policy, int(n_steps),
                              int(n_envs), n, rng)
    target = np.concatenate([x.ravel() for x in exact.target])
    mean, var = g.mean(axis=0), g.var(axis=0, ddof=1)
    stderr = np.sqrt(var / n)
    slack = ROUNDING * max(1.0, float(np.abs(target).max()) if target.size else 1.0)
    dev = np.maximum(np.abs(mean - target) - slack, 0.0)
    m = max(target.size, 1)
    levels = np.full(target.shape, alpha / m)
    names = [parameter_entry(name, x.shape, j) for name, x in zip(exact.names, exact.target)
             for j in range(x.size)]
    if bound is not None:
        B = float(bound)
        if not (np.isfinite(B) and B > 0):
            raise ValueError(f"bound: must be positive and finite, got {bound!r}")
        outside = np.abs(g) > B * (1 + ROUNDING)
        if outside.any():
            i, j = (int(k) for k in np.argwhere(outside)[0])
            raise ValueError(f"bound: -grad loss {g[i, j]:.6g} at {names[j]} (buffer {i}) lies "
                             f"outside [-{B:g}, {B:g}]; the stated bound is false")
        p, half = bernstein_pvalues(dev, var, n, 2.0 * B, levels)
        method, guarantee = "bernstein", "finite-sample"
    else:
        p, half = student_t_pvalues(dev, stderr, n, levels)
        method, guarantee = "student-t", "asymptotic"
    j = int(np.argmin(p)) if p.size else 0
    p_value = float(min(1.0, m * p.min())) if p.size else 1.0
    return MCLossResult(method, guarantee, alpha, n, mean, stderr, target, half, p_value,
                        names[j] if names else "(no parameters)", j, p_value < alpha, exact)


def mc_loss_unbiased(loss_fn, module, mdp: EpisodicMDP, observe=None, n_steps: int = 1,
                     n_envs: int = 1, reduction: str = "mean", **kwargs) -> MCLossResult:
    """AssertionError when ``mc_loss_test`` rejects E[-grad loss] = g; else its MCLossResult.

    Keyword arguments: n_buffers, alpha (false-alarm probability, default
    1e-6), rng, bound (see the module docstring for what each guarantees).
    """
    result = mc_loss_test(loss_fn, module, mdp, observe, n_steps, n_envs, reduction, **kwargs)
    if result.rejected:
        raise AssertionError(f"policy loss is biased: {result.summary()}\n"
                             + describe_case(mdp, observation_features(mdp, observe),
                                             result.exact.policy, n_steps, n_envs, reduction))
    return result
