"""The exact gradient a policy loss on rollout buffers should estimate, for the user's own network.

On-policy training code (A2C, PPO's first epoch) collects a buffer of
n_steps x n_envs steps, each env starting afresh, and minimises a loss whose
minus gradient, averaged over buffers, is

    g = sum_s w(s) sum_a grad_params pi(a|s) A(s, a),

    w(s) = E[number of visits of s in the buffer] / (n_steps * n_envs)   (reduction "mean")
    w(s) = E[number of visits of s in the buffer]                        (reduction "sum"),

the notes' policy gradient (section "REINFORCE", with the state-value
baseline of "Reducing Variance") with the states weighted by how often the
buffer visits them. w comes from a dynamic programme over (state, steps into
the episode): episodes end by termination or by the time limit and restart
from p(s_0), exactly as the vectorised env does. Softmax turns the inner sum
into a gradient with respect to the logits,

    d/d logits[s, b] of sum_a pi(a|s) A(s, a) = pi(b|s) A(s, b)   (since sum_a pi(a|s) A(s, a) = 0),

so g is ONE vector-Jacobian product of the module's logits on every state's
features with the (S, A) table w(s) pi(b|s) A(s, b).

The gradient of the discounted objective J = E[sum_t gamma^t r_t] weights
states by d_gamma(s) = sum_t gamma^t P(s_t = s) instead (policy gradient
theorem): d_gamma = p0 (I - gamma P_pi)^-1 over non-terminal states. Every
actor-critic in common use follows g, not grad J (Nota & Thomas, "Is the
policy gradient a gradient?", AAMAS 2020: the discount is dropped from the
state weighting); the check compares a loss with g and reports its gap to grad J.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from pgproofs import discounted
from pgproofs.episodic import EpisodicMDP
from pgproofs.policy import SoftmaxPolicy

__all__ = ["LossTarget", "REDUCTIONS", "check_row_independent", "discounted_state_weights", "exact_loss_target",
           "float64_module", "module_policy", "observation_features", "visit_weights"]

REDUCTIONS = ("mean", "sum")


def observation_features(mdp: EpisodicMDP, observe=None) -> np.ndarray:
    """observe as a read-only float64 (S, d) array; the identity (one-hot states) when None."""
    if observe is None:
        features = np.eye(mdp.n_states)
    else:
        features = np.array(observe, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] != mdp.n_states or features.shape[1] < 1:
            raise ValueError(f"observe: expected (S, d) features with S = {mdp.n_states}, "
                             f"got shape {features.shape}")
        if not np.all(np.isfinite(features)):
            raise ValueError("observe: contains non-finite entries")
    features.setflags(write=False)
    return features


def float64_module(module):
    """A float64 deep copy of a torch.nn.Module (the user's module is left untouched)."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ValueError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    return copy.deepcopy(module).to(torch.float64)


def _logits(module, features: np.ndarray, n_actions: int):
    """module(features) as a (S, A) float64 tensor; ValueError naming a wrong shape."""
    import torch

    out = module(torch.tensor(features))  # a copy: observe is read-only
    if not isinstance(out, torch.Tensor) or out.shape != (features.shape[0], n_actions):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"module: maps ({features.shape[0]}, {features.shape[1]}) observations to "
                         f"{shape}, expected logits of shape {(features.shape[0], n_actions)}")
    return out


def check_row_independent(module, features: np.ndarray) -> None:
    """ValueError unless module(x) is deterministic and row by row (no batch statistics).

    The target evaluates the module on every state's features at once while
    a loss evaluates it on a buffer's batch; both must give each row the same
    logits. Dropout left in training mode (two calls differ) and batch
    normalisation in training mode (adding a row changes the others) fail here.
    """
    import torch

    x = torch.tensor(features)
    with torch.no_grad():
        first, again = module(x), module(x)
        grown = module(torch.cat([x, x[:1] + 1.0]))[: len(x)]
    if not torch.equal(first, again):
        raise ValueError("module: two calls on the same observations differ (dropout or other "
                         "randomness in training mode?); call module.eval() or remove it")
    if not torch.allclose(first, grown, rtol=0, atol=1e-12):
        raise ValueError("module: a row's logits depend on the other rows of the batch (batch "
                         "normalisation in training mode?); the loss check needs row-wise logits")


def module_policy(module, mdp: EpisodicMDP, features: np.ndarray) -> SoftmaxPolicy:
    """The tabular policy the module acts with: softmax of module(observe[s]) per state."""
    import torch

    with torch.no_grad():
        logits = _logits(module, features, mdp.n_actions).numpy()
    if not np.all(np.isfinite(logits)):
        raise ValueError("module: returned non-finite logits")
    return SoftmaxPolicy(logits)


def visit_weights(mdp: EpisodicMDP, policy: SoftmaxPolicy, n_steps: int) -> np.ndarray:
    """E[visits of s at steps 0..n_steps-1] for ONE env that starts afresh, (S,).

    Dynamic programme over (state, k = steps into the episode), k < L: the
    mass in (s, k) moves to (s', k + 1) unless s' is terminal or k + 1 = L, in
    which case the episode ends and the mass restarts from p(s_0) at k = 0.
    O(n_steps * L * S^2 * A). Multiply by n_envs for the whole buffer.
    """
    S, L = mdp.n_states, mdp.time_limit
    step = np.einsum("sa,sax->sx", policy.probs, mdp.transitions)  # P_pi[s, s']
    mass = np.zeros((S, L))
    mass[:, 0] = mdp.initial
    visits = np.zeros(S)
    for _ in range(int(n_steps)):
        visits += mass.sum(axis=1)
        moved = mass.T @ step  # (k, s'): mass arriving in s' after step k+1 of the episode
        nxt = np.zeros_like(mass)
        nxt[:, 1:] = np.where(mdp.terminal[:, None], 0.0, moved[:-1].T)
        ended = mass.sum() - nxt.sum()
        nxt[:, 0] = mdp.initial * ended
        mass = nxt
    return visits


def discounted_state_weights(mdp: EpisodicMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """d_gamma(s) = sum_t gamma^t P(s_t = s), no time limit; (S,), 0 at terminal states."""
    live = ~mdp.terminal
    step = np.einsum("sa,sax->sx", policy.probs, mdp.transitions)
    system = np.eye(int(live.sum())) - mdp.discount * step[np.ix_(live, live)]
    d = np.zeros(mdp.n_states)
    d[live] = np.linalg.solve(system.T, mdp.initial[live])
    return d


@dataclass(frozen=True)
class LossTarget:
    """The exact targets for one module, MDP and buffer shape.

    names: the module's parameter names (``named_parameters`` order);
    target, discounted: gradients per parameter (lists of arrays, float64) of
    the on-policy objective g and of the discounted objective J;
    weights (S,): w(s); state_weights_discounted (S,): d_gamma(s);
    logits_target (S, A): w(s) pi(b|s) A(s, b), the gradient of g's objective
    with respect to the logits; policy: the module's tabular policy;
    advantages (S, A): exact A of that policy.
    """

    names: tuple
    target: tuple
    discounted: tuple
    weights: np.ndarray
    state_weights_discounted: np.ndarray
    logits_target: np.ndarray
    policy: SoftmaxPolicy
    advantages: np.ndarray

    def gap(self) -> tuple[float, float]:
        """(max |g - grad J|, cosine of the angle between g and grad J) over all parameters."""
        g = np.concatenate([x.ravel() for x in self.target])
        j = np.concatenate([x.ravel() for x in self.discounted])
        norm = np.linalg.norm(g) * np.linalg.norm(j)
        cosine = float(g @ j / norm) if norm > 0 else float("nan")
        return float(np.abs(g - j).max()) if g.size else 0.0, cosine


def _vjp(module, features: np.ndarray, n_actions: int, table: np.ndarray) -> tuple:
    """sum_{s,b} table[s, b] d logits[s, b] / d params, per parameter (one backward pass)."""
    import torch

    params = [p for _, p in module.named_parameters()]
    logits = _logits(module, features, n_actions)
    grads = torch.autograd.grad(logits, params, grad_outputs=torch.as_tensor(table),
                                allow_unused=True) if params else ()
    return tuple(np.zeros(tuple(p.shape)) if g is None else g.detach().numpy().copy()
                 for p, g in zip(params, grads))


def exact_loss_target(module, mdp: EpisodicMDP, observe=None, n_steps: int = 1, n_envs: int = 1,
                      reduction: str = "mean") -> LossTarget:
    """g and grad J for ``module`` (used as is: pass a float64 module for exact numbers)."""
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp: expected an EpisodicMDP, got {type(mdp).__name__}")
    for name, value in (("n_steps", n_steps), ("n_envs", n_envs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: must be one of {REDUCTIONS}, got {reduction!r}")
    features = observation_features(mdp, observe)
    policy = module_policy(module, mdp, features)
    check_row_independent(module, features)
    visits = visit_weights(mdp, policy, n_steps) * n_envs
    weights = visits / (n_steps * n_envs) if reduction == "mean" else visits
    adv = discounted.advantages(mdp, policy)
    d_gamma = discounted_state_weights(mdp, policy)
    table = weights[:, None] * policy.probs * adv
    table_j = d_gamma[:, None] * policy.probs * adv
    names = tuple(name for name, _ in module.named_parameters())
    return LossTarget(names, _vjp(module, features, mdp.n_actions, table),
                      _vjp(module, features, mdp.n_actions, table_j), weights, d_gamma, table,
                      policy, adv)
