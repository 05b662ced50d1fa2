"""KL divergence, the Fisher matrix and the natural gradient (section "Advanced Policy Gradients").

The notes replace the Euclidean trust region ||theta' - theta||^2 <= eps by a
KL one, D_KL(pi_theta' || pi_theta) <= eps, expand the KL to second order with
the Fisher matrix
    F = E[grad log p(tau) grad log p(tau)^T]
and step along F^{-1} grad J. For a tabular softmax policy this module gives
every piece exactly:

* the trajectory Fisher matrix, both as the expectation over the trajectory
  distribution (enumeration, tiny MDPs) and as the visit-weighted sum of
  per-state Fishers sum_t sum_s d_t(s) F_s (dynamic programming); the
  cross-time terms vanish because E[score_t | s_t] = 0;
* the trajectory KL and the visitation-weighted ("state-averaged") KL;
* the natural gradient by pseudo-inverse, by damping (F + lambda I)^{-1}, and
  by conjugate gradient on Fisher-vector products that torch autograd
  computes as Hessian-vector products of the KL, the way TRPO does;
* the KL-constrained step size alpha = sqrt(2 eps / g^T F^{-1} g), which makes
  the quadratic model 1/2 (alpha x)^T F (alpha x) equal eps (NG-2, NG-4: the
  notes' quadratic lacks the 1/2, which shrinks alpha by sqrt(2));
* the closed form of NG-7: F^+ grad J is the visit-weighted, time-averaged
  advantage, centred in every state.

``conjugate_gradient``, ``fisher_vector_product``, ``flat_grad`` and
``trust_region_step`` are pure torch and work with any torch module; the
CartPole learner reuses them.

Logits are flattened row-major: index s * A + a.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from pgproofs import exact
from pgproofs.mdp import FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = [
    "FisherVectorProduct", "conjugate_gradient", "fisher_matrix", "fisher_matrix_enumerated",
    "fisher_vector_product", "flat_grad", "kl_step_size", "mean_advantage",
    "natural_gradient_damped", "natural_gradient_pinv", "natural_gradient_tabular",
    "per_state_kl", "state_averaged_kl", "state_fisher", "tabular_kl_fn", "trajectory_kl",
    "trust_region_step", "visits",
]

FisherVectorProduct = Callable[[torch.Tensor], torch.Tensor]


# ---------------------------------------------------------------------------
# Fisher matrices (exact)


def state_fisher(policy: SoftmaxPolicy) -> np.ndarray:
    """F_s = E_{a ~ pi(.|s)}[score score^T] = diag(pi_s) - pi_s pi_s^T; shape (S, A, A).

    The softmax score in state s is e_a - pi_s, whose outer product averages to
    this matrix; F_s 1 = pi_s - pi_s (1^T pi_s) = 0 (NG-6).
    """
    p = policy.probs
    return np.einsum("sa,ab->sab", p, np.eye(p.shape[1])) - p[:, :, None] * p[:, None, :]


def visits(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """rho(s) = sum_t d_t(s), the expected number of visits to s in one episode; (S,)."""
    return exact.state_distributions(mdp, policy).sum(axis=0)


def fisher_matrix(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """The trajectory Fisher matrix sum_t sum_s d_t(s) F_s by DP; (S*A, S*A), block diagonal.

    Equal to E[grad log p(tau) grad log p(tau)^T] (see ``fisher_matrix_enumerated``):
    grad log p(tau) = sum_t score_t and E[score_t score_u^T] = 0 for t < u,
    because E[score_u | history up to s_u] = 0. The dynamics carry no parameter,
    so the discount plays no part.
    """
    S, A = policy.logits.shape
    blocks = visits(mdp, policy)[:, None, None] * state_fisher(policy)
    f = np.zeros((S, A, S, A))
    f[np.arange(S), :, np.arange(S), :] = blocks
    return f.reshape(S * A, S * A)


def fisher_matrix_enumerated(mdp: FiniteMDP, policy: SoftmaxPolicy, *,
                             max_count: int = 200_000) -> np.ndarray:
    """E_{tau ~ p_theta}[grad log p(tau) grad log p(tau)^T] by enumerating every trajectory."""
    traj = exact.enumerate_trajectories(mdp, policy, max_count=max_count)
    scores = policy.score_sum(traj.batch.states, traj.batch.actions).reshape(len(traj), -1)
    return (scores * traj.probs[:, None]).T @ scores


# ---------------------------------------------------------------------------
# KL divergences (exact)


def _same_shape(p: SoftmaxPolicy, q: SoftmaxPolicy) -> None:
    for name, pol in (("p", p), ("q", q)):
        if not isinstance(pol, SoftmaxPolicy):
            raise ValueError(f"{name}: expected a SoftmaxPolicy, got {type(pol).__name__}")
    if p.logits.shape != q.logits.shape:
        raise ValueError(f"q: logits shape {q.logits.shape} differs from p {p.logits.shape}")


def per_state_kl(p: SoftmaxPolicy, q: SoftmaxPolicy) -> np.ndarray:
    """KL(p(.|s) || q(.|s)) = sum_a p(a|s) (log p(a|s) - log q(a|s)) for every s; (S,).

    The log ratio is formed from the logit difference D = theta_p - theta_q:
    log p - log q = D - log sum_b q_b exp(D_b), with log1p/expm1, so a KL of
    size t^2 keeps its relative precision for tiny steps t (the second-order
    checks of NG-2 and NG-4 go down to KL ~ 1e-10).
    """
    _same_shape(p, q)
    diff = p.logits - q.logits
    diff = diff - diff.max(axis=1, keepdims=True)  # exp below cannot overflow
    shift = np.log1p((q.probs * np.expm1(diff)).sum(axis=1, keepdims=True))
    return (p.probs * (diff - shift)).sum(axis=1)


def trajectory_kl(mdp: FiniteMDP, p: SoftmaxPolicy, q: SoftmaxPolicy) -> float:
    """KL(p_p(tau) || p_q(tau)) = sum_t sum_s d^p_t(s) KL(p(.|s) || q(.|s)), by DP.

    The dynamics factors of the two trajectory distributions cancel in the log
    ratio, leaving the per-step policy log ratios, averaged under p.
    """
    _same_shape(p, q)
    return float(visits(mdp, p) @ per_state_kl(p, q))


def state_averaged_kl(mdp: FiniteMDP, p: SoftmaxPolicy, q: SoftmaxPolicy, *,
                      under: SoftmaxPolicy | None = None) -> float:
    """sum_s rho(s) KL(p(.|s) || q(.|s)), rho = sum_t d_t visits under ``under`` (default q).

    This is the KL that TRPO-style code averages over sampled states. Its
    Hessian in p at p = q is the trajectory Fisher matrix, like that of the
    trajectory KL (the two differ at third order only).
    """
    under = q if under is None else under
    _same_shape(p, under)
    return float(visits(mdp, under) @ per_state_kl(p, q))


# ---------------------------------------------------------------------------
# Natural gradient, explicit solves (numpy)


#: Relative asymmetry |F - F^T| / max(1, |F|) tolerated as rounding in a Fisher matrix.
SYMMETRY_RTOL = 1e-9


def _square_and_vector(fisher: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fisher = np.asarray(fisher, dtype=np.float64)
    grad = np.asarray(grad, dtype=np.float64)
    if fisher.ndim != 2 or fisher.shape[0] != fisher.shape[1]:
        raise ValueError(f"fisher: expected a square matrix, got shape {fisher.shape}")
    if grad.size != fisher.shape[0]:
        raise ValueError(f"grad: has {grad.size} entries, fisher is {fisher.shape}")
    if not (np.all(np.isfinite(fisher)) and np.all(np.isfinite(grad))):
        raise ValueError("fisher/grad: contain non-finite entries")
    # A Fisher matrix is symmetric by definition; the solvers rely on it (pinv's hermitian
    # eigendecomposition reads one triangle only), so an asymmetric input is an error.
    asym = np.abs(fisher - fisher.T).max(initial=0.0)
    if asym > SYMMETRY_RTOL * max(1.0, np.abs(fisher).max(initial=0.0)):
        raise ValueError(f"fisher: not symmetric (max |F - F^T| = {asym:.3g})")
    return fisher, grad


def natural_gradient_pinv(fisher: np.ndarray, grad: np.ndarray, *,
                          rcond: float = 1e-10) -> np.ndarray:
    """F^+ g: the minimum-norm solution of F x = g (shape of ``grad``).

    Softmax Fisher matrices are singular (F 1_s = 0, NG-6), so a plain inverse
    does not exist; the pseudo-inverse drops the null space, i.e. it picks
    the solution with zero sum over the actions of every state.
    """
    fisher, g = _square_and_vector(fisher, grad)
    x = np.linalg.pinv(fisher, rcond=rcond, hermitian=True) @ g.ravel()
    return x.reshape(g.shape)


def natural_gradient_damped(fisher: np.ndarray, grad: np.ndarray, damping: float) -> np.ndarray:
    """(F + lambda I)^{-1} g with lambda = ``damping`` > 0 (shape of ``grad``)."""
    fisher, g = _square_and_vector(fisher, grad)
    if not (damping > 0 and math.isfinite(damping)):
        raise ValueError(f"damping: must be a finite number > 0, got {damping}")
    x = np.linalg.solve(fisher + damping * np.eye(len(fisher)), g.ravel())
    return x.reshape(g.shape)


def kl_step_size(max_kl: float, fisher_norm_sq: float) -> float:
    """alpha = sqrt(2 eps / x^T F x): then 1/2 (alpha x)^T F (alpha x) = eps (NG-4).

    For x = F^+ g, x^T F x = g^T F^+ g, which gives the textbook
    alpha = sqrt(2 eps / g^T F^{-1} g). ``fisher_norm_sq`` is x^T F x.
    """
    max_kl = float(max_kl)
    fisher_norm_sq = float(fisher_norm_sq)
    if not (max_kl > 0 and math.isfinite(max_kl)):
        raise ValueError(f"max_kl: must be a finite number > 0, got {max_kl}")
    if not (fisher_norm_sq > 0 and math.isfinite(fisher_norm_sq)):
        raise ValueError(f"fisher_norm_sq: x^T F x must be finite and > 0 (a direction the "
                         f"policy responds to), got {fisher_norm_sq}")
    return math.sqrt(2.0 * max_kl / fisher_norm_sq)


# ---------------------------------------------------------------------------
# NG-7: the natural gradient of a tabular softmax policy in closed form


def mean_advantage(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """A_bar(s, a) = sum_t gamma^(t-1) d_t(s) A_t(s, a) / sum_t d_t(s); 0 where rho(s) = 0.

    A_t = Q_t - V_t. The policy gradient is dJ/dtheta[s, a] = rho(s) pi(a|s) A_bar(s, a).
    """
    d = exact.state_distributions(mdp, policy)
    q, v = exact.values_to_go(mdp, policy)
    discounts = mdp.discount ** np.arange(mdp.horizon)
    weighted = np.einsum("t,ts,tsa->sa", discounts, d, q - v[:, :, None])
    rho = d.sum(axis=0)
    out = np.zeros_like(weighted)
    seen = rho > 0
    out[seen] = weighted[seen] / rho[seen, None]
    return out


def natural_gradient_tabular(mdp: FiniteMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """F^+ grad J in closed form: A_bar(s, a) - mean_b A_bar(s, b); (S, A) (NG-7).

    In a visited state, rho F_s (A_bar + c 1) = rho (pi * A_bar - pi (pi . A_bar))
    = rho pi * A_bar = grad J, since pi . A_bar = 0; so every A_bar + c(s) solves
    F x = grad J, and the pseudo-inverse takes the one orthogonal to the null
    vector 1_s (all pi > 0 make the null space of F_s exactly span(1_s)).
    Unvisited states have a zero block and get 0.
    """
    a_bar = mean_advantage(mdp, policy)
    return a_bar - a_bar.mean(axis=1, keepdims=True)


# ---------------------------------------------------------------------------
# Torch: Fisher-vector products and conjugate gradient (any torch module)


def flat_grad(output: torch.Tensor, params: Sequence[torch.Tensor], *,
              create_graph: bool = False, retain_graph: bool | None = None) -> torch.Tensor:
    """d output / d params, concatenated into one flat vector (zeros for unused params)."""
    grads = torch.autograd.grad(output, params, create_graph=create_graph,
                                retain_graph=retain_graph, allow_unused=True)
    return torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                      for g, p in zip(grads, params)])


def fisher_vector_product(kl_fn: Callable[[], torch.Tensor],
                          params: Iterable[torch.Tensor]) -> FisherVectorProduct:
    """v -> F v as the Hessian-vector product of the KL at theta' = theta (double backward).

    kl_fn() must return the scalar KL(pi_ref || pi_params) in which pi_ref is
    the current policy detached from the graph (e.g. built from
    ``logits.detach()``), so that the KL and its gradient vanish at the current
    parameters and its Hessian there is the Fisher matrix (NG-2, NG-3). The
    gradient graph is built once; each call costs one extra backward pass.
    v is a flat vector with one entry per parameter, in ``params`` order.
    """
    params = [p for p in params]
    if not params:
        raise ValueError("params: need at least one tensor")
    kl = kl_fn()
    if not (isinstance(kl, torch.Tensor) and kl.dim() == 0):
        raise ValueError("kl_fn: must return a scalar torch tensor")
    g = flat_grad(kl, params, create_graph=True)
    n = g.numel()

    def fvp(v: torch.Tensor) -> torch.Tensor:
        if not isinstance(v, torch.Tensor) or v.shape != (n,):
            raise ValueError(f"v: expected a flat tensor of shape ({n},), "
                             f"got {getattr(v, 'shape', type(v).__name__)}")
        return flat_grad(g @ v.to(g.dtype), params, retain_graph=True).detach()

    return fvp


def conjugate_gradient(fvp: FisherVectorProduct, b: torch.Tensor, *, iters: int = 10,
                       tol: float = 1e-10, damping: float = 0.0) -> torch.Tensor:
    """Solve (F + damping I) x = b by conjugate gradient, touching F only through fvp(v) = F v.

    Stops after ``iters`` iterations or when ||r|| <= tol ||b||. F must be
    symmetric positive semi-definite (with damping > 0 the system is definite;
    without it CG still converges to a solution when b lies in the range of F,
    as the policy gradient does for a softmax Fisher). Starts at x = 0.
    """
    if not isinstance(b, torch.Tensor) or b.dim() != 1:
        raise ValueError(f"b: expected a flat torch tensor, got {getattr(b, 'shape', type(b))}")
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters: must be a positive integer, got {iters!r}")
    if not (tol >= 0):
        raise ValueError(f"tol: must be >= 0, got {tol}")
    if not (damping >= 0 and math.isfinite(damping)):
        raise ValueError(f"damping: must be a finite number >= 0, got {damping}")
    b = b.detach()
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = r @ r
    stop = (tol * torch.linalg.vector_norm(b)) ** 2
    for _ in range(iters):
        if rr <= stop:
            break
        fp = fvp(p) + damping * p
        curvature = p @ fp
        if curvature <= 0:
            # p lies in the null space of an undamped F: no further progress is possible.
            break
        step = rr / curvature
        x = x + step * p
        r = r - step * fp
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def trust_region_step(fvp: FisherVectorProduct, grad: torch.Tensor, max_kl: float, *,
                      iters: int = 10, tol: float = 1e-10,
                      damping: float = 0.0) -> tuple[torch.Tensor, float]:
    """The natural-gradient step alpha x with x ~ (F + damping I)^{-1} g by CG.

    alpha = sqrt(2 max_kl / x^T F x) (undamped F), so the quadratic model of
    the KL, 1/2 (alpha x)^T F (alpha x), equals max_kl. Returns (step, alpha).
    """
    x = conjugate_gradient(fvp, grad, iters=iters, tol=tol, damping=damping)
    alpha = kl_step_size(max_kl, float(x @ fvp(x)))
    return alpha * x, alpha


def tabular_kl_fn(logits: torch.Tensor, weights) -> Callable[[], torch.Tensor]:
    """kl_fn for ``fisher_vector_product``: sum_s w(s) KL(softmax(logits.detach())_s || softmax(logits)_s).

    logits (S, A) is a leaf tensor with requires_grad; weights (S,) are the
    visits rho(s) (trajectory Fisher) or any state weighting.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        raise ValueError(f"logits: expected an (S, A) torch tensor, got {type(logits).__name__}")
    w = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=logits.dtype)
    if w.shape != logits.shape[:1]:
        raise ValueError(f"weights: expected shape ({logits.shape[0]},), got {tuple(w.shape)}")

    def kl() -> torch.Tensor:
        log_p = torch.log_softmax(logits, dim=1)
        log_ref = log_p.detach()
        return (w * (log_ref.exp() * (log_ref - log_p)).sum(dim=1)).sum()

    return kl
