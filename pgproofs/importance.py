"""Off-policy policy gradients by importance sampling (the notes' section
"Off-Policy Policy Gradients").

Trajectories come from a behaviour policy pi_theta (``batch.log_probs``
holds log pi_theta(a_t|s_t)); the gradient is wanted at a target pi_theta'
(the ``policy`` argument). The per-step ratio and its products are

    w_t = pi_theta'(a_t|s_t) / pi_theta(a_t|s_t),   W_{1:t} = prod_{k<=t} w_k,

and p_theta'(tau)/p_theta(tau) = W_{1:T}: the initial-state and transition
factors cancel (IS-2), so nothing here ever reads the dynamics.

Every estimator follows the protocol of :mod:`pgproofs.check`:
``(batch, policy) -> (S, A)``, the batch mean of per-trajectory terms that
``.per_trajectory(batch, policy) -> (n, S, A)`` exposes, so
``check.exact_moments(est, mdp, target, behavior=behaviour)`` decides bias and
variance exactly. With g_t = grad_theta' log pi_theta'(a_t|s_t), discount
gamma and r~_t = gamma^(t-1) r_t (time t = 1..T):

    off_policy_reinforce    W_{1:T} sum_t g_t sum_t' r~_t'               (IS-3)
    per_decision            sum_t g_t sum_{t'>=t} r~_t' W_{1:t'}          (IS-4, corrected)
    double_counted          sum_t g_t W_{1:t} (sum_t' r~_t') W_{t:T}      (IS-4, as written)
    dropped_future_ratios   sum_t g_t W_{1:t} sum_{t'>=t} r~_t'           (IS-5)
    first_order_surrogate   sum_t g_t w_t sum_{t'>=t} r~_t'               (IS-8)

The second half of the module computes exact quantities by dynamic
programming over time (cost O(T S^2 A), no enumeration): the moments of the
weights (IS-6), their conditional moments given s_t (IS-7), and the
first-order surrogate L_theta(theta') with a TRPO-style bound on its error
(IS-8).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from pgproofs import exact
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.policy import SoftmaxPolicy
from pgproofs.returns import reward_to_go

__all__ = [
    "WeightMoments", "conditional_prefix_weight_moments", "double_counted",
    "dropped_future_ratios", "dropped_future_ratios_mean", "first_order_surrogate", "log_importance_ratios",
    "max_tv_distance", "off_policy_reinforce", "per_decision", "per_step_second_moments",
    "prefix_weights", "state_marginal_ratio", "surrogate_error_bound", "surrogate_gradient",
    "surrogate_gap_decomposition", "surrogate_value", "trajectory_weights", "variance_growth_rate", "weight_moments",
]


# ---------------------------------------------------------------- weights from logged data

def log_importance_ratios(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """log w_t = log pi_theta'(a_t|s_t) - log pi_theta(a_t|s_t); shape (n, T).

    pi_theta' is ``policy`` (the target), pi_theta is read from
    ``batch.log_probs`` (the behaviour that collected the batch). Only the two
    policies enter: p(s_1) and p(s'|s, a) cancel in p_theta'(tau)/p_theta(tau)
    (IS-2, notes' "importance sampling").
    """
    if not isinstance(batch, Batch):
        raise ValueError(f"batch: expected a Batch, got {type(batch).__name__}")
    if not isinstance(policy, SoftmaxPolicy):
        raise ValueError(f"policy: expected a SoftmaxPolicy, got {type(policy).__name__}")
    S, A = policy.logits.shape
    states, actions = np.asarray(batch.states), np.asarray(batch.actions)
    if states.size and (states.min() < 0 or states.max() >= S):
        raise ValueError(f"batch.states: values must lie in [0, {S}), the policy's states")
    if actions.size and (actions.min() < 0 or actions.max() >= A):
        raise ValueError(f"batch.actions: values must lie in [0, {A}), the policy's actions")
    behaviour = np.asarray(batch.log_probs, dtype=np.float64)
    if not np.all(np.isfinite(behaviour)):
        # A logged action had probability zero (or the log is corrupt): no ratio exists.
        raise ValueError("batch.log_probs: contains non-finite entries; every logged action "
                         "must have positive probability under the behaviour policy")
    return policy.log_prob(states, actions) - behaviour


def prefix_weights(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """W_{1:t} = prod_{k<=t} w_k for t = 1..T; shape (n, T). Summed in log space."""
    return np.exp(np.cumsum(log_importance_ratios(batch, policy), axis=1))


def trajectory_weights(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """p_theta'(tau)/p_theta(tau) = W_{1:T} = prod_t w_t; shape (n,)."""
    return np.exp(log_importance_ratios(batch, policy).sum(axis=1))


# ---------------------------------------------------------------- estimators

def _batch_mean(per_trajectory):
    """Make an estimator (batch, policy) -> (S, A) from its per-trajectory terms."""

    @functools.wraps(per_trajectory)
    def estimator(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        return per_trajectory(batch, policy).mean(axis=0)

    estimator.per_trajectory = per_trajectory
    return estimator


def _discounted_rewards(batch: Batch) -> np.ndarray:
    """r~_t = gamma^(t-1) r_t, so that sums over t' need no further discounting."""
    return np.asarray(batch.rewards, dtype=np.float64) * batch.discount ** np.arange(batch.horizon)


def _tail_sums(x: np.ndarray) -> np.ndarray:
    """sum_{t'>=t} x_t' along time (the reward-to-go recursion with gamma = 1)."""
    return reward_to_go(x, 1.0)


@_batch_mean
def off_policy_reinforce(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """Full-trajectory off-policy REINFORCE (IS-3):

        g = (p_theta'(tau)/p_theta(tau)) grad log pi_theta'(tau) r(tau)
          = W_{1:T} (sum_t grad log pi_theta'(a_t|s_t)) (sum_t gamma^(t-1) r_t).

    Unbiased for grad J(theta') when the behaviour covers the target's support.
    Notes, "Off-Policy Policy Gradients", first formula. It is also what the
    notes' past/future split becomes once the future product starts at t+1.
    """
    w = trajectory_weights(batch, policy) * _discounted_rewards(batch).sum(axis=1)
    return policy.score_sum(batch.states, batch.actions, np.repeat(w[:, None], batch.horizon, 1))


@_batch_mean
def per_decision(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """Per-decision importance sampling (IS-4, the corrected form):

        g = sum_t grad log pi_theta'(a_t|s_t) sum_{t'>=t} gamma^(t'-1) r_t' W_{1:t'}.

    Each reward r_t' depends only on the trajectory up to t', so it needs the
    ratios up to t' and no later ones; unbiased for grad J(theta')
    (Precup, Sutton & Singh 2000). Notes, "Off-Policy Policy Gradients".
    """
    weighted = _discounted_rewards(batch) * prefix_weights(batch, policy)
    return policy.score_sum(batch.states, batch.actions, _tail_sums(weighted))


@_batch_mean
def double_counted(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """The past/future split exactly as the notes write it (IS-4, erratum):

        g = sum_t grad log pi_theta'(a_t|s_t) W_{1:t} r(tau) prod_{t''=t}^{T} w_t''
          = sum_t grad log pi_theta'(a_t|s_t) W_{1:T} w_t r(tau).

    The ratio w_t sits in both products, so this is the unbiased full-trajectory
    estimator with an extra factor w_t at every step: biased when theta' != theta.
    Notes, "Off-Policy Policy Gradients", the past/future split.
    """
    log_w = log_importance_ratios(batch, policy)
    past = np.cumsum(log_w, axis=1)                          # log prod_{t'<=t}
    future = np.cumsum(log_w[:, ::-1], axis=1)[:, ::-1]      # log prod_{t''=t}^{T}
    ret = _discounted_rewards(batch).sum(axis=1, keepdims=True)
    return policy.score_sum(batch.states, batch.actions, np.exp(past + future) * ret)


@_batch_mean
def dropped_future_ratios(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """Future ratios dropped (IS-5):

        g = sum_t grad log pi_theta'(a_t|s_t) W_{1:t} sum_{t'>=t} gamma^(t'-1) r_t'.

    Its mean is sum_t E_{theta'}[grad log pi_theta'(a_t|s_t) gamma^(t-1) Q^theta_t(s_t, a_t)]:
    the future is valued under the behaviour, so it is biased by O(|theta' - theta|).
    Notes, "Off-Policy Policy Gradients" ("future actions don't affect current weight").
    """
    to_go = _tail_sums(_discounted_rewards(batch))
    return policy.score_sum(batch.states, batch.actions, prefix_weights(batch, policy) * to_go)


@_batch_mean
def first_order_surrogate(batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
    """Only the current ratio kept (IS-8):

        g = sum_t grad log pi_theta'(a_t|s_t) w_t sum_{t'>=t} gamma^(t'-1) r_t'.

    The notes ("Off-Policy Policy Gradients", last step) replace W_{1:t-1} by
    p_theta'(s_t)/p_theta(s_t) and then by 1.
    Its mean is exactly grad_theta' L_theta(theta') (see :func:`surrogate_gradient`),
    which equals grad J at theta' = theta.
    """
    to_go = _tail_sums(_discounted_rewards(batch))
    ratio = np.exp(log_importance_ratios(batch, policy))
    return policy.score_sum(batch.states, batch.actions, ratio * to_go)


# ---------------------------------------------------------------- exact moments by DP

def _check_pair(mdp: FiniteMDP, policy: SoftmaxPolicy, behavior: SoftmaxPolicy) -> None:
    if not isinstance(mdp, FiniteMDP):
        raise ValueError(f"mdp: expected a FiniteMDP, got {type(mdp).__name__}")
    mdp.check_policy(policy, "policy")
    mdp.check_policy(behavior, "behavior")


def _ratio_power_kernel(policy: SoftmaxPolicy, behavior: SoftmaxPolicy, k: int) -> np.ndarray:
    """K_k[s, a] = pi(a|s) w(s, a)^k = pi'(a|s)^k pi(a|s)^(1-k) on the behaviour's support.

    Actions the behaviour never takes contribute nothing: samples cannot see
    them, which is how a support mismatch shows up in every moment.
    """
    on = behavior.probs > 0
    log_k = k * policy.log_probs - (k - 1) * behavior.log_probs
    return np.where(on, np.exp(np.where(on, log_k, 0.0)), 0.0)


def _forward(mdp: FiniteMDP, kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """u_t(s) = E_theta[W^k_{1:t-1} ; s_t = s] for t = 1..T, as (shape (T, S), log scale (T,)).

    u_1 = p(s_1), u_{t+1}(s') = sum_{s,a} u_t(s) K_k[s, a] p(s'|s, a). Each row is
    stored divided by its sum, with the log of the sums kept apart, so that
    E[W^2] growing like e^(1000) at T = 1000 neither overflows nor loses precision:
    u_t = exp(log_scale[t]) * shape[t].
    """
    shape = np.zeros((mdp.horizon, mdp.n_states))
    log_scale = np.full(mdp.horizon, -np.inf)
    step = np.einsum("sa,sax->sx", kernel, mdp.transitions)
    row, log_c = np.array(mdp.initial), 0.0
    for t in range(mdp.horizon):
        total = row.sum()
        if total == 0:  # all mass has left the behaviour's support
            break
        row, log_c = row / total, log_c + np.log(total)
        shape[t], log_scale[t] = row, log_c
        row = row @ step
    return shape, log_scale


def _log_forward(mdp: FiniteMDP, kernel: np.ndarray) -> np.ndarray:
    """log u_t(s), (T, S): the forward masses of :func:`_forward`, state by state in log space.

    One scale per time step serves sums over states, but a state whose mass is
    more than ~1e308 times below the largest one underflows to 0 in the scaled row
    (and inf times a small share is inf, times 0 nan). So, per state:
    log u_{t+1}(s') = logsumexp_s (log u_t(s) + log sum_a K_k[s, a] p(s'|s, a)).
    """
    with np.errstate(divide="ignore"):  # log 0 = -inf: no mass, no path
        log_step = np.log(np.einsum("sa,sax->sx", kernel, mdp.transitions))
        row = np.log(mdp.initial)
    log_u = np.empty((mdp.horizon, mdp.n_states))
    for t in range(mdp.horizon):
        log_u[t] = row
        row = logsumexp(row[:, None] + log_step, axis=0)
    return log_u


@dataclass(frozen=True)
class WeightMoments:
    """Exact moments of the prefix weights W_{1:t}, t = 1..T, under the behaviour.

    mean[t-1] = E[W_{1:t}] (1 when the behaviour covers the target; 1 minus the
    target's probability of leaving the support otherwise); second[t-1] = E[W_{1:t}^2];
    log_second = log E[W_{1:t}^2], finite even where ``second`` overflows to inf.
    """

    mean: np.ndarray
    second: np.ndarray
    log_second: np.ndarray

    @property
    def variance(self) -> np.ndarray:
        """Var[W_{1:t}] = E[W^2] - E[W]^2, shape (T,)."""
        return self.second - self.mean ** 2


def weight_moments(mdp: FiniteMDP, policy: SoftmaxPolicy,
                   behavior: SoftmaxPolicy) -> WeightMoments:
    """E[W_{1:t}] and E[W_{1:t}^2] for every t by DP over time (IS-6).

    E[W^k_{1:t}] = sum_s u_t(s) sum_a K_k[s, a] with the forward masses of
    :func:`_forward`; O(T S^2 A), so T = 100 or 10^4 is exact and quick.
    """
    _check_pair(mdp, policy, behavior)
    logs = []
    for k in (1, 2):
        kernel = _ratio_power_kernel(policy, behavior, k)
        shape, log_scale = _forward(mdp, kernel)
        with np.errstate(divide="ignore"):
            logs.append(log_scale + np.log(shape @ kernel.sum(axis=1)))
    with np.errstate(over="ignore"):
        return WeightMoments(np.exp(logs[0]), np.exp(logs[1]), logs[1])


def per_step_second_moments(policy: SoftmaxPolicy, behavior: SoftmaxPolicy) -> np.ndarray:
    """rho(s) = E_{a~pi(.|s)}[w(s, a)^2] = sum_a pi'(a|s)^2 / pi(a|s) = 1 + chi^2(pi'||pi); (S,).

    When rho(s) = rho for every s, E[W_{1:T}^2] = rho^T exactly.
    """
    if policy.logits.shape != behavior.logits.shape:
        raise ValueError(f"behavior: logits shape {behavior.logits.shape} differs from "
                         f"policy {policy.logits.shape}")
    return _ratio_power_kernel(policy, behavior, 2).sum(axis=1)


def _reachable(mdp: FiniteMDP, behavior: SoftmaxPolicy) -> np.ndarray:
    """States the behaviour can reach from p(s_1) in any number of steps; bool (S,)."""
    edge = np.einsum("sa,sax->sx", behavior.probs, mdp.transitions) > 0
    seen = mdp.initial > 0
    while True:
        grown = seen | (seen @ edge)
        if np.array_equal(grown, seen):
            return seen
        seen = grown


def variance_growth_rate(mdp: FiniteMDP, policy: SoftmaxPolicy,
                         behavior: SoftmaxPolicy) -> float:
    """lim_T (1/T) log E[W_{1:T}^2]: the per-step exponential growth rate of Var[w] (IS-6).

    E[W_{1:T}^2] = u_1 M^(T-1) rho with M[s, s'] = sum_a pi'(a|s)^2/pi(a|s) p(s'|s, a),
    a non-negative matrix; restricted to the reachable states its spectral radius
    r gives E[W^2] = r^(T + o(T)). It equals log rho when rho(s) is state-independent
    (then M = rho * P_pi). The horizon is irrelevant: the rate is a property of the chain.
    """
    _check_pair(mdp, policy, behavior)
    keep = _reachable(mdp, behavior)
    step = np.einsum("sa,sax->sx", _ratio_power_kernel(policy, behavior, 2), mdp.transitions)
    radius = np.max(np.abs(np.linalg.eigvals(step[np.ix_(keep, keep)])))
    return float(np.log(radius))


def conditional_prefix_weight_moments(mdp: FiniteMDP, policy: SoftmaxPolicy,
                                      behavior: SoftmaxPolicy) -> tuple[np.ndarray, np.ndarray]:
    """E_theta[W_{1:t-1} | s_t] and Var_theta[W_{1:t-1} | s_t], each (T, S) (IS-7).

    The forward recursion of :func:`_forward` with k = 1 is the state
    distribution of the target, so the conditional mean is exactly
    p_theta'(s_t)/p_theta(s_t); the conditional variance is what one sampled
    product adds on top. NaN where p_theta(s_t) = 0 (no condition to take). Each
    state's moments are taken in log space, so one state's E[W^2] overflowing
    float64 leaves the others exact; where a state's own E[W^2 | s_t] overflows it
    is inf, and its variance inf (nan if E[W | s_t]^2 overflows too).
    """
    _check_pair(mdp, policy, behavior)
    d = exact.state_distributions(mdp, behavior)
    moments = []
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_d = np.log(d)
        for k in (1, 2):
            log_joint = _log_forward(mdp, _ratio_power_kernel(policy, behavior, k))
            moments.append(np.where(d > 0, np.exp(log_joint - log_d), np.nan))
        mean, second = moments
        return mean, second - mean ** 2


def state_marginal_ratio(mdp: FiniteMDP, policy: SoftmaxPolicy,
                         behavior: SoftmaxPolicy) -> np.ndarray:
    """p_theta'(s_t = s) / p_theta(s_t = s), (T, S), from the two state distributions.

    NaN where p_theta(s_t) = 0. The notes' "approximately equal" (section
    "Off-Policy Policy Gradients") is an equality in conditional expectation (IS-7).
    """
    _check_pair(mdp, policy, behavior)
    target = exact.state_distributions(mdp, policy)
    base = exact.state_distributions(mdp, behavior)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, target / base, np.nan)


# ---------------------------------------------------------------- the first-order surrogate

def _advantages(mdp: FiniteMDP, behavior: SoftmaxPolicy) -> tuple[np.ndarray, np.ndarray]:
    """Q^theta_t (T, S, A) and A^theta_t = Q_t - V_t of the behaviour, values to go from t."""
    q, v = exact.values_to_go(mdp, behavior)
    return q, q - v[:, :, None]


def surrogate_value(mdp: FiniteMDP, policy: SoftmaxPolicy, behavior: SoftmaxPolicy) -> float:
    """L_theta(theta') = J(theta) + sum_t gamma^(t-1) E_{s~p_theta(s_t)} E_{a~pi_theta'}[A^theta_t(s, a)].

    The objective whose gradient the first-order surrogate estimates: states
    weighted by the behaviour's marginals, actions by the target (IS-8). It
    touches J(theta') to first order at theta' = theta.
    """
    _check_pair(mdp, policy, behavior)
    d = exact.state_distributions(mdp, behavior)
    _, adv = _advantages(mdp, behavior)
    discounts = mdp.discount ** np.arange(mdp.horizon)
    gain = np.einsum("t,ts,sa,tsa->", discounts, d, policy.probs, adv)
    return exact.value(mdp, behavior) + float(gain)


def surrogate_gradient(mdp: FiniteMDP, policy: SoftmaxPolicy,
                       behavior: SoftmaxPolicy) -> np.ndarray:
    """d L_theta(theta') / d theta'[s, a]; (S, A).

    = sum_t gamma^(t-1) p_theta(s_t = s) pi'(a|s) (Q^theta_t(s, a) - sum_b pi'(b|s) Q^theta_t(s, b)).
    """
    _check_pair(mdp, policy, behavior)
    d = exact.state_distributions(mdp, behavior)
    q, _ = _advantages(mdp, behavior)
    discounts = mdp.discount ** np.arange(mdp.horizon)
    centred = q - np.einsum("sa,tsa->ts", policy.probs, q)[:, :, None]
    return policy.probs * np.einsum("t,ts,tsa->sa", discounts, d, centred)


def dropped_future_ratios_mean(mdp: FiniteMDP, policy: SoftmaxPolicy,
                               behavior: SoftmaxPolicy) -> np.ndarray:
    """E_theta[dropped_future_ratios] by DP; (S, A) (IS-5).

    W_{1:t} turns the behaviour's law of (s_t, a_t) into the target's, while the
    rewards after t still follow the behaviour's actions, so
        E = sum_t gamma^(t-1) E_{p_theta'(s_t, a_t)}[grad log pi_theta'(a_t|s_t) Q^theta_t(s_t, a_t)]
          = sum_t gamma^(t-1) p_theta'(s_t = s) pi'(a|s) (Q^theta_t(s, a) - sum_b pi'(b|s) Q^theta_t(s, b)).
    With Q^theta' in place of Q^theta this is grad J(theta'): the bias is the
    same sum over Q^theta - Q^theta', which is O(|theta' - theta|).
    """
    _check_pair(mdp, policy, behavior)
    d = exact.state_distributions(mdp, policy)
    q, _ = _advantages(mdp, behavior)
    discounts = mdp.discount ** np.arange(mdp.horizon)
    centred = q - np.einsum("sa,tsa->ts", policy.probs, q)[:, :, None]
    return policy.probs * np.einsum("t,ts,tsa->sa", discounts, d, centred)


def surrogate_gap_decomposition(mdp: FiniteMDP, policy: SoftmaxPolicy,
                                behavior: SoftmaxPolicy) -> np.ndarray:
    """Per step t, gamma^(t-1) sum_s (p_theta'(s_t = s) - p_theta(s_t = s)) Abar_t(s); (T,) (IS-8).

    Abar_t(s) = sum_a pi'(a|s) A^theta_t(s, a). By the performance-difference
    lemma J(theta') - J(theta) = sum_t gamma^(t-1) E_{p_theta'(s_t)}[Abar_t], and
    L_theta(theta') - J(theta) is the same sum under p_theta(s_t), so the sum of
    this array is exactly J(theta') - L_theta(theta'): the error of the
    surrogate is the state-marginal shift that the notes drop, nothing else.
    """
    _check_pair(mdp, policy, behavior)
    shift = exact.state_distributions(mdp, policy) - exact.state_distributions(mdp, behavior)
    _, adv = _advantages(mdp, behavior)
    abar = np.einsum("sa,tsa->ts", policy.probs, adv)
    return mdp.discount ** np.arange(mdp.horizon) * np.einsum("ts,ts->t", shift, abar)


def max_tv_distance(policy: SoftmaxPolicy, behavior: SoftmaxPolicy) -> float:
    """alpha = max_s TV(pi'(.|s), pi(.|s)) = max_s (1/2) sum_a |pi'(a|s) - pi(a|s)|."""
    if policy.logits.shape != behavior.logits.shape:
        raise ValueError(f"behavior: logits shape {behavior.logits.shape} differs from "
                         f"policy {policy.logits.shape}")
    return float(0.5 * np.abs(policy.probs - behavior.probs).sum(axis=1).max())


def surrogate_error_bound(mdp: FiniteMDP, policy: SoftmaxPolicy,
                          behavior: SoftmaxPolicy) -> float:
    """A finite-horizon TRPO-style bound: |J(theta') - L_theta(theta')| <= 4 alpha^2 sum_t gamma^(t-1) (t-1) eps_t.

    alpha = max_s TV(pi'(.|s), pi(.|s)); eps_t = max_{s,a} |A^theta_t(s, a)|.
    Proof: by the performance-difference lemma J(theta') - J(theta) =
    sum_t gamma^(t-1) E_{p_theta'(s_t)}[Abar_t(s)] with Abar_t(s) = sum_a pi'(a|s) A^theta_t(s, a),
    so J - L = sum_t gamma^(t-1) sum_s (p_theta'(s_t) - p_theta(s_t)) Abar_t(s). Here
    |Abar_t(s)| = |sum_a (pi' - pi) A_t| <= 2 alpha eps_t (since sum_a pi A_t = 0) and
    ||p_theta'(s_t) - p_theta(s_t)||_1 <= 2 (t-1) alpha (one coupled step at a time).
    With eps_t <= eps and T -> infinity, sum_t gamma^(t-1) (t-1) = gamma/(1-gamma)^2 gives
    exactly the constant 4 eps gamma alpha^2/(1-gamma)^2 of Schulman et al. 2015 (TRPO),
    Theorem 1 (after Kakade & Langford 2002).
    """
    _check_pair(mdp, policy, behavior)
    _, adv = _advantages(mdp, behavior)
    eps = np.abs(adv).max(axis=(1, 2))
    t = np.arange(mdp.horizon)
    alpha = max_tv_distance(policy, behavior)
    return float(4.0 * alpha ** 2 * np.sum(mdp.discount ** t * t * eps))
