"""Exact checks of advantage code on rollout buffers (re-exported by ``check``).

Every (n_steps, n_envs) buffer of a small episodic MDP is enumerated with
its probability (``rollouts.enumerate_all``), the user's
``adv_fn(buf, critic, gamma, lam)`` is run on each, and its conditional
means are compared with the exact answer, position by position:

- ``assert_advantages_unbiased``: E[adv_t | s_t = s, a_t = a] = A(s, a) at
  every buffer position (t, env) and every (s, a) with positive probability
  there. The critic is exact V on non-terminal states and deliberately wrong
  (non-zero) on terminal states, which correct code never reads. This judges
  unbiasedness, not resemblance: n-step returns, Monte Carlo return minus V
  and GAE in any style pass, as the notes' "Reducing Variance" section says
  any baseline that depends on the state only keeps the gradient unbiased.
- ``assert_value_targets_unbiased``: E[return_t | s_t = s, a_t = a] = Q(s, a)
  for value targets (returns = advantages + values).
- ``assert_gae_matches_reference``: for code that claims to compute GAE, its
  output equals ``advantages.gae`` on every buffer with an inexact critic.
  Some bugs (GAE carried across an episode end, a missing gamma in the carry)
  are unbiased when the critic is exact, since they only reweight later TD
  errors of mean zero; they show against the reference with a wrong critic.

Conditioning on (t, env) keeps positions apart: a bug that only shows at the
end of the buffer, or right after a reset, is named at that position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgproofs import discounted
from pgproofs.advantages import AdvantageFn, gae, tabular_critic
from pgproofs.episodic import EpisodicMDP
from pgproofs.policy import SoftmaxPolicy
from pgproofs.rollouts import MAX_BUFFERS, Buffers, Rollout, enumerate_all

__all__ = ["ConditionalMeans", "arbitrary_critic_values", "assert_advantages_unbiased",
           "assert_gae_matches_reference", "assert_value_targets_unbiased",
           "checking_critic_values", "conditional_means", "reference_outputs", "run_on_buffers"]


@dataclass(frozen=True)
class ConditionalMeans:
    """What an exact check measured.

    mean (T, n, S, A): E[output_t | s_t = s, a_t = a] at each position (NaN
    where (s, a) has probability 0 there); mass (T, n, S, A): P(s_t = s,
    a_t = a); truth (S, A): the exact target; n_buffers enumerated.
    """

    mean: np.ndarray
    mass: np.ndarray
    truth: np.ndarray
    n_buffers: int

    @property
    def bias(self) -> np.ndarray:
        """mean - truth, (T, n, S, A); NaN where the cell has probability 0."""
        return self.mean - self.truth

    @property
    def max_abs_bias(self) -> float:
        seen = self.mass > 0
        return float(np.abs(self.bias[seen]).max()) if seen.any() else 0.0


def checking_critic_values(mdp: EpisodicMDP, policy: SoftmaxPolicy) -> np.ndarray:
    """Exact V on non-terminal states, wrong and non-zero on terminal ones, (S,).

    The terminal values are large (several times max |V| + 1, distinct per
    state), so code that reads them instead of masking shows a large bias.
    """
    v = discounted.discounted_values(mdp, policy)
    wrong = (1.0 + np.abs(v).max()) * (3.0 + np.arange(mdp.n_states))
    return np.where(mdp.terminal, wrong, v)


def arbitrary_critic_values(mdp: EpisodicMDP, policy: SoftmaxPolicy, seed: int = 20160) -> np.ndarray:
    """An inexact critic, (S,): exact V plus fixed pseudo-random offsets of the size of V.

    Generic values, so that two different formulas agree on every buffer only
    if they are the same formula; terminal states get wrong non-zero values too.
    """
    v = discounted.discounted_values(mdp, policy)
    scale = 1.0 + np.abs(v).max()
    offsets = np.random.default_rng(seed).uniform(0.25, 1.0, mdp.n_states)
    signs = np.where(np.arange(mdp.n_states) % 2 == 0, 1.0, -1.0)
    return v + scale * signs * offsets


def _check_args(adv_fn, mdp, lam, atol, name="adv_fn"):
    if not callable(adv_fn):
        raise ValueError(f"{name}: expected a callable (buf, critic, gamma, lam) -> (T, n), "
                         f"got {type(adv_fn).__name__}")
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp: expected an EpisodicMDP, got {type(mdp).__name__}")
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"lam: must lie in [0, 1], got {lam}")
    if not (atol >= 0):
        raise ValueError(f"atol: must be >= 0, got {atol}")


def _flat(buffers: Buffers) -> Rollout:
    """All buffers side by side as one (T, N * n) Rollout, so the reference runs once."""
    N, T, n = buffers.obs.shape
    return Rollout(**{name: getattr(buffers, name).transpose(1, 0, 2).reshape(T, N * n)
                      for name in ("obs", "actions", "rewards", "log_probs", "terminated",
                                   "truncated", "next_obs", "episode_starts")})


def _unflat(x: np.ndarray, N: int, n: int) -> np.ndarray:
    T = x.shape[0]
    return x.reshape(T, N, n).transpose(1, 0, 2)


def reference_outputs(buffers: Buffers, critic_values: np.ndarray, gamma: float, lam: float,
                      *, returns: bool = False) -> np.ndarray:
    """advantages.gae (or its value targets) on every buffer, (N, T, n), in one call."""
    N, _, n = buffers.obs.shape
    critic = tabular_critic(critic_values)
    flat = _flat(buffers)
    out = gae(flat, critic, gamma, lam)
    if returns:
        out = out + critic(flat.obs)
    return _unflat(out, N, n)


def run_on_buffers(fn: AdvantageFn, buffers: Buffers, critic_values: np.ndarray, gamma: float,
                   lam: float, name: str = "adv_fn") -> np.ndarray:
    """fn(buf, critic, gamma, lam) on every buffer, (N, T, n); ValueError naming a bad output."""
    critic = tabular_critic(critic_values)
    N, T, n = buffers.obs.shape
    out = np.empty((N, T, n))
    for i in range(N):
        buf = buffers[i]
        y = np.asarray(fn(buf, critic, gamma, lam), dtype=np.float64)
        if y.shape != (T, n):
            raise ValueError(f"{name}: returned shape {y.shape}, expected (n_steps, n_envs) = "
                             f"{(T, n)}")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name}: returned non-finite values on buffer\n{buf.table()}")
        out[i] = y
    return out


def conditional_means(outputs: np.ndarray, buffers: Buffers, truth: np.ndarray) -> ConditionalMeans:
    """E[outputs[:, t, e] | obs[t, e] = s, actions[t, e] = a] for every (t, e, s, a), exactly."""
    N, T, n = outputs.shape
    S, A = truth.shape
    cell = ((np.arange(T)[:, None] * n + np.arange(n)[None, :]) * S + buffers.obs) * A \
        + buffers.actions  # (N, T, n)
    weights = np.broadcast_to(buffers.probs[:, None, None], outputs.shape)
    size = T * n * S * A
    mass = np.bincount(cell.ravel(), weights=weights.ravel(), minlength=size)
    total = np.bincount(cell.ravel(), weights=(weights * outputs).ravel(), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)
    return ConditionalMeans(mean.reshape(T, n, S, A), mass.reshape(T, n, S, A), truth, N)


def _assert_conditionally_unbiased(fn, mdp, policy, n_steps, n_envs, lam, atol, *,
                                   truth, what, target, returns, max_buffers):
    buffers = enumerate_all(mdp, policy, n_steps, n_envs, max_buffers=max_buffers)
    critic_values = checking_critic_values(mdp, policy)
    outputs = run_on_buffers(fn, buffers, critic_values, mdp.discount, lam)
    means = conditional_means(outputs, buffers, truth)
    seen = means.mass > 0
    bias = np.where(seen, means.bias, 0.0)
    bad = np.abs(bias) > atol
    if not bad.any():
        return means
    # the largest bias; among ties (equal up to rounding) the earliest position, first env
    size = np.abs(bias)
    top = np.flatnonzero(size.ravel() >= size.max() * (1 - 1e-9))[0]
    t, e, s, a = (int(i) for i in np.unravel_index(top, bias.shape))
    positions = sorted({(int(pt), int(pe)) for pt, pe, _, _ in np.argwhere(bad)})
    reference = reference_outputs(buffers, critic_values, mdp.discount, lam, returns=returns)
    here = (buffers.obs[:, t, e] == s) & (buffers.actions[:, t, e] == a)
    differs = here & (np.abs(outputs[:, t, e] - reference[:, t, e]) > atol)
    lines = [
        f"{what} biased at t={t}, env={e} for s={s}, a={a}: "
        f"E[{target}_t | s_t={s}, a_t={a}] = {means.mean[t, e, s, a]:.10g}, exact "
        f"{'Q' if returns else 'A'}(s, a) = {truth[s, a]:.10g}, bias {bias[t, e, s, a]:+.6g} "
        f"(atol {atol:g}; P(s_t={s}, a_t={a}) = {means.mass[t, e, s, a]:.6g} at that position)",
        f"biased positions (t, env): {', '.join(f'({pt}, {pe})' for pt, pe in positions)}",
        f"exact over all {len(buffers)} buffers of n_steps={n_steps}, n_envs={n_envs}; "
        f"gamma={mdp.discount:g}, lam={lam:g}; critic: exact V on non-terminal states, "
        f"deliberately wrong on terminal states {_fmt(critic_values)}",
    ]
    if differs.any():
        i = int(np.flatnonzero(differs)[np.argmax(buffers.probs[differs])])
        lines.append(f"a buffer (probability {buffers.probs[i]:.6g}) where the output differs "
                     f"from the reference GAE at t={t}, env={e}:")
        lines.append(buffers[i].table(output=outputs[i], reference=reference[i]))
    lines.append(f"mdp: {mdp!r}")
    lines.append(f"policy: {policy!r}")
    raise AssertionError("\n".join(lines))


def assert_advantages_unbiased(adv_fn: AdvantageFn, mdp: EpisodicMDP, policy: SoftmaxPolicy,
                               n_steps: int, n_envs: int, lam: float = 0.95, atol: float = 1e-9,
                               *, max_buffers: int = MAX_BUFFERS) -> ConditionalMeans:
    """AssertionError unless E[adv_t | s_t = s, a_t = a] = A(s, a) at every position, exactly.

    ``adv_fn(buf, critic, gamma, lam) -> (T, n)`` runs on every buffer of
    (n_steps, n_envs) with gamma = mdp.discount and a critic that is exact V on
    non-terminal states and deliberately wrong, non-zero, on terminal states.
    For every position (t, env) and every (s, a) with positive probability
    there, its conditional mean must equal exact.advantages within ``atol``.
    The message names t, env, s, a, the bias, every biased position, and one
    buffer where the output differs from the reference GAE (``advantages.gae``).
    Returns the measured ConditionalMeans.
    """
    _check_args(adv_fn, mdp, lam, atol)
    return _assert_conditionally_unbiased(
        adv_fn, mdp, policy, n_steps, n_envs, lam, atol,
        truth=discounted.advantages(mdp, policy), what="advantage estimate", target="adv",
        returns=False, max_buffers=max_buffers)


def assert_value_targets_unbiased(returns_fn: AdvantageFn, mdp: EpisodicMDP,
                                  policy: SoftmaxPolicy, n_steps: int, n_envs: int,
                                  lam: float = 0.95, atol: float = 1e-9, *,
                                  max_buffers: int = MAX_BUFFERS) -> ConditionalMeans:
    """AssertionError unless E[return_t | s_t = s, a_t = a] = Q(s, a) at every position, exactly.

    ``returns_fn(buf, critic, gamma, lam) -> (T, n)`` gives the critic's
    regression targets (returns = advantages + values); the critic and the
    enumeration are those of ``assert_advantages_unbiased``. The message
    names the position, (s, a), the bias and a buffer where the targets
    differ from the reference GAE targets (``advantages.gae_returns``).
    """
    _check_args(returns_fn, mdp, lam, atol, name="returns_fn")
    return _assert_conditionally_unbiased(
        returns_fn, mdp, policy, n_steps, n_envs, lam, atol,
        truth=discounted.q_values(mdp, policy), what="value target", target="return",
        returns=True, max_buffers=max_buffers)


def assert_gae_matches_reference(adv_fn: AdvantageFn, mdp: EpisodicMDP, policy: SoftmaxPolicy,
                                 n_steps: int, n_envs: int, lam: float = 0.95, critic=None,
                                 atol: float = 1e-9, *, max_buffers: int = MAX_BUFFERS) -> int:
    """AssertionError unless adv_fn equals the reference GAE on every buffer, with an inexact critic.

    critic: state values (S,) or None for ``arbitrary_critic_values(mdp, policy)``
    (exact V plus offsets of the size of V, wrong on terminal states too).
    Every buffer of (n_steps, n_envs) is enumerated; the message names the
    most probable buffer that differs, its first differing position (t, env)
    and every differing position, with both outputs. Returns the number of
    buffers compared.
    """
    _check_args(adv_fn, mdp, lam, atol)
    buffers = enumerate_all(mdp, policy, n_steps, n_envs, max_buffers=max_buffers)
    if critic is None:
        values = arbitrary_critic_values(mdp, policy)
    else:
        values = np.array(critic, dtype=np.float64)
        if values.shape != (mdp.n_states,):
            raise ValueError(f"critic: expected state values of shape {(mdp.n_states,)}, "
                             f"got {values.shape}")
        if not np.all(np.isfinite(values)):
            raise ValueError("critic: contains non-finite values")
    outputs = run_on_buffers(adv_fn, buffers, values, mdp.discount, lam)
    reference = reference_outputs(buffers, values, mdp.discount, lam)
    differs = np.abs(outputs - reference) > atol
    wrong = differs.any(axis=(1, 2))
    if not wrong.any():
        return len(buffers)
    i = int(np.flatnonzero(wrong)[np.argmax(buffers.probs[wrong])])
    positions = [(int(t), int(e)) for t, e in np.argwhere(differs[i])]
    t, e = positions[0]
    raise AssertionError("\n".join([
        f"not the reference GAE: at t={t}, env={e} the output is {outputs[i, t, e]:.10g}, "
        f"the reference {reference[i, t, e]:.10g} (difference "
        f"{outputs[i, t, e] - reference[i, t, e]:+.6g}, atol {atol:g})",
        f"{int(wrong.sum())} of {len(buffers)} buffers differ; in the buffer below "
        f"(probability {buffers.probs[i]:.6g}) at positions (t, env): "
        f"{', '.join(f'({pt}, {pe})' for pt, pe in positions)}",
        f"gamma={mdp.discount:g}, lam={lam:g}, inexact critic V = {_fmt(values)}",
        buffers[i].table(output=outputs[i], reference=reference[i]),
        f"mdp: {mdp!r}",
        f"policy: {policy!r}",
    ]))


def _fmt(x: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.6g}" for v in np.asarray(x, dtype=np.float64)) + "]"
