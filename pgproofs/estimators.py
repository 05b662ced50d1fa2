"""The REINFORCE family of policy-gradient estimators (sections "REINFORCE" and "Reducing Variance").

Every estimator follows the protocol of ``pgproofs.check``: a callable
``(batch, policy) -> (S, A)``, the estimate of dJ/dlogits averaged over the
batch. Those whose estimate is the batch mean of one term per trajectory
also expose ``per_trajectory(batch, policy) -> (n, S, A)``; every one has
``exact_moments(mdp, policy, batch_size)``, its exact mean and covariance by
dynamic programming (``pgproofs.variance``). With psi_t = grad log pi(a_t|s_t),
G = sum_t psi_t, R = sum_t gamma^(t-1) r_t and Rhat_t = sum_{t'>=t} gamma^(t'-t) r_t':

    reinforce                 G R
    reward_to_go              sum_t gamma^(t-1) psi_t Rhat_t
    constant_baseline(b)      G (R - b)  (b a number, or one per logit)
    batch_mean_baseline       G_i (R_i - mean_j R_j)    biased by (N-1)/N
    leave_one_out_baseline    G_i (R_i - mean_{j!=i} R_j)   unbiased
    optimal_baseline(m, pi)   G (R - b*),  b*_k = E[G_k^2 R] / E[G_k^2]
    state_baseline(b)         sum_t gamma^(t-1) psi_t (Rhat_t - b_t(s_t))

Negative controls (biased on purpose; the checks must reject them):
``action_baseline`` (b_t(s_t, a_t)), ``reward_to_go_off_by_one`` (t' > t),
``grad_pi_reinforce`` (grad pi in place of grad log pi).
The discount is taken from ``batch.discount``.
"""

from __future__ import annotations

import numpy as np

from pgproofs import exact, returns, variance
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.moments import Moments
from pgproofs.policy import SoftmaxPolicy

__all__ = [
    "Estimator", "PerTrajectoryEstimator", "action_baseline", "batch_mean_baseline",
    "constant_baseline", "grad_pi_reinforce", "leave_one_out_baseline", "optimal_baseline",
    "reinforce", "reward_to_go", "reward_to_go_off_by_one", "state_baseline",
    "state_value_baseline",
]


# ---- shared pieces -------------------------------------------------------------

def full_return(batch: Batch) -> np.ndarray:
    """R(tau) = sum_t gamma^(t-1) r_t per trajectory, shape (n,)."""
    return returns.discounted_return(batch.rewards, batch.discount)


def discounted_to_go(batch: Batch, *, include_current: bool = True) -> np.ndarray:
    """gamma^(t-1) Rhat_t, shape (n, T): the weight of psi_t in the reward-to-go estimator.

    include_current=False drops r_t (the off-by-one control sums t' > t).
    """
    rtg = returns.reward_to_go(batch.rewards, batch.discount)
    if not include_current:
        rtg = rtg - batch.rewards
    return rtg * batch.discount ** np.arange(batch.horizon)


def _check_batch(batch: Batch, policy: SoftmaxPolicy) -> None:
    if not isinstance(batch, Batch):
        raise ValueError(f"batch: expected a Batch, got {type(batch).__name__}")
    if not isinstance(policy, SoftmaxPolicy):
        raise ValueError(f"policy: expected a SoftmaxPolicy, got {type(policy).__name__}")
    S, A = policy.logits.shape
    if batch.states.size and (batch.states.max() >= S or batch.actions.max() >= A
                              or batch.states.min() < 0 or batch.actions.min() < 0):
        raise ValueError(f"batch: states/actions out of range for a policy with (S, A) = {(S, A)}")


def _float_array(x, name: str) -> np.ndarray:
    """A float64 copy of ``x``: an estimator built from a caller's array must not change
    when the caller later edits that array, and a non-numeric input is named."""
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected numbers, got {x!r}") from None


def _per_step_values(values, horizon: int, shape: tuple[int, ...], name: str) -> np.ndarray:
    """Validate a per-step table b_t(...) of shape (T, *shape)."""
    v = np.asarray(values, dtype=np.float64)
    if v.shape != (horizon, *shape):
        raise ValueError(f"{name}: expected shape {(horizon, *shape)}, got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name}: contains non-finite entries")
    return v


class Estimator:
    """Base class: a named estimator with exact moments by dynamic programming."""

    name = "estimator"

    def __call__(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def exact_moments(self, mdp: FiniteMDP, policy: SoftmaxPolicy,
                      batch_size: int = 1) -> Moments:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class PerTrajectoryEstimator(Estimator):
    """An estimator whose estimate is the batch mean of one term per trajectory."""

    def per_trajectory(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        _check_batch(batch, policy)
        return self._terms(batch, policy)

    def __call__(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        return self.per_trajectory(batch, policy).mean(axis=0)

    def exact_moments(self, mdp: FiniteMDP, policy: SoftmaxPolicy,
                      batch_size: int = 1) -> Moments:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size: must be a positive integer, got {batch_size!r}")
        m = self._single(mdp, policy)
        return Moments(m.mean, m.cov / batch_size, 0)


# ---- full return: G (R - b) ------------------------------------------------------

class FullReturn(PerTrajectoryEstimator):
    """g(tau) = G(tau) (R(tau) - b); b a number or an (S, A) array (one per logit)."""

    def __init__(self, baseline=0.0, name: str = "reinforce") -> None:
        b = _float_array(baseline, "baseline")
        if b.ndim not in (0, 2):
            raise ValueError(f"baseline: expected a number or an (S, A) array, got shape {b.shape}")
        if not np.all(np.isfinite(b)):
            raise ValueError("baseline: contains non-finite entries")
        self.baseline = b
        self.name = name

    def _terms(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        b = self.baseline
        if b.ndim == 2 and b.shape != policy.logits.shape:
            raise ValueError(f"baseline: shape {b.shape} differs from the logits {policy.logits.shape}")
        R = full_return(batch)
        if b.ndim == 0:  # one weighted score sum: psi_t weighted by R - b
            w = np.broadcast_to((R - b)[:, None], batch.states.shape)
            return policy.score_sum(batch.states, batch.actions, w)
        return policy.score_sum(batch.states, batch.actions) * (R[:, None, None] - b[None])

    def _single(self, mdp: FiniteMDP, policy: SoftmaxPolicy) -> Moments:
        tm = variance.trajectory_moments(mdp, policy)
        return variance.full_return_moments(tm, self.baseline)


reinforce = FullReturn(0.0, "reinforce")
reinforce.__doc__ = "REINFORCE: G(tau) R(tau), the notes' estimator (section 'REINFORCE')."


def constant_baseline(b, *, to_go: bool = False) -> PerTrajectoryEstimator:
    """G (R - b), or with ``to_go`` sum_t gamma^(t-1) psi_t (Rhat_t - b).

    b: a number (the same for every logit) or, for the full return, an (S, A)
    array with one baseline per logit. Unbiased for any b fixed in advance
    (section "Reducing Variance", part 2).
    """
    if to_go:
        b_array = _float_array(b, "b")
        if b_array.ndim != 0 or not np.isfinite(b_array):
            raise ValueError(f"b: the reward-to-go form takes one finite number, got {b!r}")
        b = float(b_array)
        return ToGo(lambda T, S, A: np.full((T, S, A), b), name=f"reward_to_go - {b:g}")
    return FullReturn(b, name="constant_baseline")


def optimal_baseline(mdp: FiniteMDP, policy: SoftmaxPolicy) -> FullReturn:
    """G (R - b*) with the variance-minimising constant b*_k = E[G_k^2 R] / E[G_k^2] per logit.

    b* is computed exactly for this MDP and policy (``variance.optimal_baseline``).
    """
    b = variance.optimal_baseline(variance.trajectory_moments(mdp, policy))
    return FullReturn(b, name="optimal_baseline")


# ---- reward-to-go: sum_t gamma^(t-1) psi_t (Rhat_t - b_t) -----------------------

class ToGo(PerTrajectoryEstimator):
    """sum_t gamma^(t-1) psi_t (Rhat_t - b_t(s_t, a_t)).

    baseline_table(T, S, A) -> (T, S, A) gives b_t; a state baseline repeats
    over actions. include_current=False is the off-by-one control (t' > t).
    """

    def __init__(self, baseline_table=None, *, include_current: bool = True,
                 name: str = "reward_to_go") -> None:
        self.baseline_table = baseline_table
        self.include_current = include_current
        self.name = name

    def _table(self, T: int, S: int, A: int) -> np.ndarray | None:
        return None if self.baseline_table is None else self.baseline_table(T, S, A)

    def _terms(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        S, A = policy.logits.shape
        T = batch.horizon
        w = discounted_to_go(batch, include_current=self.include_current)
        table = self._table(T, S, A)
        if table is not None:
            b = table[np.arange(T)[None, :], batch.states, batch.actions]
            w = w - b * batch.discount ** np.arange(T)
        return policy.score_sum(batch.states, batch.actions, w)

    def _single(self, mdp: FiniteMDP, policy: SoftmaxPolicy) -> Moments:
        table = self._table(mdp.horizon, mdp.n_states, mdp.n_actions)
        return variance.causal_moments(mdp, policy, table, include_current=self.include_current)


reward_to_go = ToGo(name="reward_to_go")
reward_to_go.__doc__ = ("Reward-to-go: sum_t gamma^(t-1) psi_t Rhat_t "
                        "(section 'Reducing Variance', part 1).")


def state_baseline(values) -> ToGo:
    """Reward-to-go minus a state-dependent baseline b_t(s_t); values (T, S).

    Unbiased because E[psi_t | s_t] = 0 and b_t(s_t) is fixed given s_t.
    """
    values = _float_array(values, "values")
    if values.ndim != 2:
        raise ValueError(f"values: expected shape (T, S), got {values.shape}")

    def table(T, S, A):
        v = _per_step_values(values, T, (S,), "values")
        return np.repeat(v[:, :, None], A, axis=2)
    return ToGo(table, name="state_baseline")


def state_value_baseline(mdp: FiniteMDP, policy: SoftmaxPolicy) -> ToGo:
    """Reward-to-go minus the exact value-to-go V_t(s_t) of this MDP and policy."""
    _, v = exact.values_to_go(mdp, policy)
    est = state_baseline(v)
    est.name = "state_value_baseline"
    return est


# ---- batch baselines (not a mean of per-trajectory terms) ------------------------

class BatchBaseline(Estimator):
    """G_i (R_i - b_i) averaged over the batch, with b_i the batch mean or the leave-one-out mean."""

    def __init__(self, leave_one_out: bool) -> None:
        self.leave_one_out = leave_one_out
        self.name = "leave_one_out_baseline" if leave_one_out else "batch_mean_baseline"

    def __call__(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        _check_batch(batch, policy)
        n = len(batch)
        R = full_return(batch)
        if self.leave_one_out:
            if n < 2:
                raise ValueError("batch: the leave-one-out baseline needs at least 2 trajectories")
            b = (R.sum() - R) / (n - 1)
        else:
            b = np.full(n, R.mean())
        w = np.broadcast_to((R - b)[:, None], batch.states.shape)
        return policy.score_sum(batch.states, batch.actions, w).mean(axis=0)

    def exact_moments(self, mdp: FiniteMDP, policy: SoftmaxPolicy,
                      batch_size: int = 1) -> Moments:
        tm = variance.trajectory_moments(mdp, policy)
        return variance.batch_baseline_moments(tm, batch_size, leave_one_out=self.leave_one_out)


batch_mean_baseline = BatchBaseline(leave_one_out=False)
leave_one_out_baseline = BatchBaseline(leave_one_out=True)


# ---- negative controls -----------------------------------------------------------

def action_baseline(values) -> ToGo:
    """NEGATIVE CONTROL: reward-to-go minus b_t(s_t, a_t); values (T, S, A).

    Biased by -sum_t gamma^(t-1) E[psi_t b_t(s_t, a_t)] unless b_t does not
    depend on the action.
    """
    values = _float_array(values, "values")
    if values.ndim != 3:
        raise ValueError(f"values: expected shape (T, S, A), got {values.shape}")
    return ToGo(lambda T, S, A: _per_step_values(values, T, (S, A), "values"),
                name="action_baseline")


reward_to_go_off_by_one = ToGo(include_current=False, name="reward_to_go_off_by_one")
reward_to_go_off_by_one.__doc__ = ("NEGATIVE CONTROL: sum_t psi_t sum_{t'>t} r_t', dropping the "
                                   "reward of the action being scored.")


class GradPi(PerTrajectoryEstimator):
    """NEGATIVE CONTROL: sum_t grad pi(a_t|s_t) R, i.e. grad pi in place of grad log pi.

    grad pi = pi grad log pi, so each step's score is scaled by pi(a_t|s_t).
    No exact DP: check it by enumeration.
    """

    name = "grad_pi_reinforce"

    def _terms(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        R = full_return(batch)
        w = policy.probs[batch.states, batch.actions] * R[:, None]
        return policy.score_sum(batch.states, batch.actions, w)

    def exact_moments(self, mdp, policy, batch_size=1):
        raise ValueError("estimator: grad_pi_reinforce has no exact DP; use check.exact_moments")


grad_pi_reinforce = GradPi()
