"""Natural policy gradient step for the CartPole learner, with a KL line search.

Notes, section "Advanced Policy Gradients": maximise the linearised objective
(theta' - theta)^T g subject to D_KL(pi_theta || pi_theta') <= delta. To second
order D_KL ~= 1/2 d^T F d with F the Fisher matrix, the Hessian of the KL at
d = 0 (the notes write the quadratic without the 1/2; the constant matters for
hitting delta, see NG-4 and E2E-3). The solution is d = sqrt(2 delta / x^T F x) x
with x = F^{-1} g.

F is never formed: ``pgproofs.natural`` supplies F v as the Hessian-vector
product of the sample KL (double backward) and x by conjugate gradient
(``trust_region_step``). This module adds what a neural policy on sampled
states needs: the mean KL over the batch's states, and a backtracking line
search that halves d until the *measured* KL is <= ``accept * delta``, as TRPO
does, but on the plain natural-gradient direction: no importance-weighted
surrogate, no clipping.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pgproofs.natural import fisher_vector_product, trust_region_step

__all__ = ["categorical_kl", "NaturalStep", "natural_gradient_step"]


def categorical_kl(logits_p: torch.Tensor, logits_q: torch.Tensor) -> torch.Tensor:
    """Mean over rows (states) of KL(p || q) between categoricals given by logits."""
    logp = torch.log_softmax(logits_p, dim=-1)
    logq = torch.log_softmax(logits_q, dim=-1)
    return (logp.exp() * (logp - logq)).sum(-1).mean()


@dataclass(frozen=True)
class NaturalStep:
    kl: float                # measured KL of the accepted step (0 if none was accepted)
    step_fraction: float     # 1, 1/2, 1/4, ... of the full step taken; 0 if all rejected
    full_step: torch.Tensor  # d, flat: 1/2 d^T F d = max_kl


def natural_gradient_step(policy: torch.nn.Module, obs: torch.Tensor, grad: torch.Tensor,
                          max_kl: float, *, cg_iters: int = 10, damping: float = 0.1,
                          accept: float = 1.5, backtracks: int = 10) -> NaturalStep:
    """Move the policy's parameters (in place) by the KL-constrained natural step.

    grad: flat gradient g of the objective (ascent direction); obs: the
    batch's states, over which both F and the measured KL are averaged.
    Damping regularises only the CG direction; the length makes the quadratic
    model with the undamped F equal max_kl.
    """
    params = list(policy.parameters())
    old_logits = policy(obs).detach()
    fvp = fisher_vector_product(lambda: categorical_kl(old_logits, policy(obs)), params)
    full, _ = trust_region_step(fvp, grad, max_kl, iters=cg_iters, damping=damping)
    theta0 = torch.nn.utils.parameters_to_vector(params).detach()
    fraction = 1.0
    with torch.no_grad():
        for _ in range(backtracks):
            torch.nn.utils.vector_to_parameters(theta0 + fraction * full, params)
            kl = float(categorical_kl(old_logits, policy(obs)))
            if kl <= accept * max_kl:
                return NaturalStep(kl, fraction, full)
            fraction *= 0.5
        torch.nn.utils.vector_to_parameters(theta0, params)
    return NaturalStep(0.0, 0.0, full)
