"""Monte Carlo check of advantage code on buffers too large to enumerate (e.g. 128 x 8).

``check.assert_advantages_unbiased`` enumerates every buffer; a realistic
buffer of n_steps x n_envs = 128 x 8 has astronomically many. Here the
buffers are sampled (``rollouts.collect``, i.i.d.), the exact answer still
comes from the linear solve (``exact.advantages``), and the claim tested is
the same one, position by position (DESIGN.md, "Checking real training code"):

    H0: E[adv_t | s_t = s, a_t = a] = A(s, a)  for every position (t, env) and (s, a).

The test
--------
A conditional mean is a ratio of two random counts; its unconditional twin is
a plain mean of i.i.d. bounded variables: for a buffer b and a cell c = (P, s, a)
with P a set of positions,

    Z_c(b) = (1 / |P|) sum_{(t, e) in P} 1[s_t = s, a_t = a] (adv_t - A(s, a)),

and H0 says E[Z_c] = 0 for every cell (E[1[.] (adv - A)] = P(s, a) * bias).
Three families of cells are tested at once, so that a bias is caught whether
it sits at one position or is spread thin:

* "position": P = {(t, e)}, one cell per position, state and action;
* "time": P = {(t, e) : e < n}, the envs of one step pooled (e.g. the last step);
* "pooled": P = every position (e.g. biases at truncations, which fall anywhere).

Each cell gets the two-sided empirical Bernstein test of Maurer & Pontil
(2009, Theorem 4), the one ``montecarlo.mc_bias_test`` uses, at level
alpha / m with m the number of cells over non-terminal states; by the union
(Bonferroni) bound the probability of rejecting code that satisfies H0 is at
most alpha, for every number of buffers, as long as every output lies in
[-B, B]: then Z_c lies in an interval of width w = max(2B, B + |A(s, a)|).
The bound B must come from an argument, not from the sample:
``advantage_bound`` computes the exact supremum of |GAE(gamma, lambda)| over all
buffers by value iteration and doubles it (room for other estimators and for
most bugs); an output outside [-B, B] raises ValueError, since the stated
guarantee would be false. With ``bound=None`` the per-cell test is Student's t instead, whose
level holds only asymptotically (CLT), as in ``montecarlo``; here it is badly
anti-conservative, because a cell's Z is zero in most buffers and skewed (a
cell hit k times by nearly equal values has t close to sqrt(k)): the benchmark
measured about half of 20 runs of the reference GAE rejected at alpha 0.05.
Use it to explore, never for a verdict.

Power is bought with buffers: the range term 7 w L / (3 (n - 1)),
L = ln(4 m / alpha), shrinks like 1/n, so a bias b in a cell of probability
p needs roughly n > 7 w L / (3 p b) buffers. ``benchmarks/mc_advantages.py``
measures the false-alarm rate (at alpha 0.05 and 0.01 over 1000 seeds) and
the power against the catalogued bugs.

The critic is the exact check's: exact V on non-terminal states, wrong and
non-zero on terminal ones (``advantage_checks.checking_critic_values``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from pgproofs import discounted
from pgproofs.advantage_checks import checking_critic_values
from pgproofs.advantages import gae, tabular_critic
from pgproofs.episodic import EpisodicMDP
from pgproofs.policy import SoftmaxPolicy
from pgproofs.rollouts import Rollout, collect

__all__ = ["FAMILIES", "MCAdvantageResult", "advantage_bound", "mc_advantage_test",
           "mc_advantages_unbiased"]

FAMILIES = ("position", "time", "pooled")
ROUNDING = 1e-9
_CHUNK_BYTES = 32_000_000


def advantage_bound(mdp: EpisodicMDP, policy: SoftmaxPolicy, critic_values: np.ndarray,
                    lam: float, *, slack: float = 2.0) -> float:
    """B = slack * sup |GAE(gamma, lam)| over every buffer of any length, with these critic values.

    GAE is a sum of TD errors delta(s, a, s') = r(s, a) + gamma 1[s' live] c(s')
    - c(s), weighted (gamma lam)^k, that may stop after any step (truncation,
    end of the buffer) and stops at a termination. Its largest and smallest
    values from state s solve, by value iteration (a gamma-lambda contraction),

        H(s) = max_{a, s'} delta(s, a, s') + gamma lam 1[s' live] max(0, H(s'))
        L(s) = min_{a, s'} delta(s, a, s') + gamma lam 1[s' live] min(0, L(s'))

    over actions with pi(a|s) > 0 and s' with P(s'|s, a) > 0; sup |GAE| =
    max over starting states of max(H, -L). Correct code in any style that
    computes GAE(gamma, lam) stays within it exactly; ``slack`` (default 2)
    leaves room for other estimators and for most bugs. Code whose output
    exceeds the bound makes the Monte Carlo test raise ValueError instead of
    deciding: pass a larger bound you can justify.
    """
    if not (slack >= 1):
        raise ValueError(f"slack: must be >= 1, got {slack}")
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"lam: must lie in [0, 1], got {lam}")
    c = np.asarray(critic_values, dtype=np.float64)
    live = ~mdp.terminal
    gamma = mdp.discount
    delta = mdp.rewards[:, :, None] + gamma * np.where(live, c, 0.0)[None, None, :] \
        - c[:, None, None]                                                   # (S, A, S')
    allowed = (policy.probs[:, :, None] > 0) & (mdp.transitions > 0) & live[:, None, None]
    hi = np.zeros(mdp.n_states)
    lo = np.zeros(mdp.n_states)
    for _ in range(100_000):
        new_hi = np.where(allowed, delta + gamma * lam * np.where(live, np.maximum(hi, 0), 0),
                          -np.inf).max(axis=(1, 2))
        new_lo = np.where(allowed, delta + gamma * lam * np.where(live, np.minimum(lo, 0), 0),
                          np.inf).min(axis=(1, 2))
        new_hi, new_lo = np.where(live, new_hi, 0.0), np.where(live, new_lo, 0.0)
        converged = max(np.abs(new_hi - hi).max(), np.abs(new_lo - lo).max()) <= 1e-13
        hi, lo = new_hi, new_lo
        if converged:
            break
    sup = float(max(hi.max(), -lo.min(), 0.0))
    return slack * sup * (1 + 1e-9) + 1e-12


@dataclass(frozen=True)
class MCAdvantageResult:
    """Outcome of the Monte Carlo advantage test (see the module docstring).

    family, t, env, state, action: the cell with the smallest p-value (t and
    env None where the family pools them); mean: its estimate of
    E[Z_c] = P(s, a in P) * bias; conditional_bias: the sample's
    sum(adv - A) / visits over that cell, the bias the mean estimates; visits:
    how many (buffer, position) samples hit the cell; threshold: the
    half-width a |mean| must exceed to reject that cell; statistic: the
    largest |mean| / threshold over all cells (> 1 iff rejected); p_value:
    Bonferroni-adjusted; example: when rejected, a sampled buffer where the
    output differs from the reference GAE, as text.
    """

    method: str
    guarantee: str
    alpha: float
    n_buffers: int
    n_steps: int
    n_envs: int
    lam: float
    bound: float | None
    n_cells: int
    family: str
    t: int | None
    env: int | None
    state: int
    action: int
    mean: float
    conditional_bias: float
    visits: int
    threshold: float
    statistic: float
    p_value: float
    rejected: bool
    example: str | None = None

    def summary(self) -> str:
        where = {"position": f"t={self.t}, env={self.env}", "time": f"t={self.t}, envs pooled",
                 "pooled": "all positions pooled"}[self.family]
        verdict = "rejected" if self.rejected else "not rejected"
        bound = f", |adv| <= {self.bound:.6g}" if self.bound is not None else ""
        return (f"{verdict} by the {self.method} test ({self.guarantee} false-alarm rate <= "
                f"{self.alpha:g}, Bonferroni over {self.n_cells} cells{bound}; {self.n_buffers} "
                f"sampled buffers of n_steps={self.n_steps}, n_envs={self.n_envs}, "
                f"lam={self.lam:g}): worst cell {where}, s={self.state}, a={self.action}: "
                f"estimated bias {self.conditional_bias:+.4g} over {self.visits} visits "
                f"(E[1[s,a] (adv - A)] estimated {self.mean:+.4g}, threshold "
                f"+-{self.threshold:.3g}); adjusted p-value {self.p_value:.3g}")


def positive_int(name: str, value, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name}: must be an integer >= {least}, got {value!r}")
    return int(value)


def _split(big: Rollout, n_envs: int) -> list[Rollout]:
    """Columns [j n, (j + 1) n) of a (T, k n) collection as k independent read-only buffers."""
    k = big.n_envs // n_envs
    out = []
    for j in range(k):
        cols = slice(j * n_envs, (j + 1) * n_envs)
        parts = {}
        for f in fields(Rollout):
            part = np.array(getattr(big, f.name)[:, cols])
            part.setflags(write=False)
            parts[f.name] = part
        out.append(Rollout(**parts))
    return out


def _outputs(adv_fn, bufs, critic, gamma, lam, bound):
    T, n = bufs[0].obs.shape
    out = np.empty((len(bufs), T, n))
    for j, buf in enumerate(bufs):
        y = np.asarray(adv_fn(buf, critic, gamma, lam), dtype=np.float64)
        if y.shape != (T, n):
            raise ValueError(f"adv_fn: returned shape {y.shape}, expected (n_steps, n_envs) = "
                             f"{(T, n)}")
        if not np.all(np.isfinite(y)):
            raise ValueError("adv_fn: returned non-finite values")
        if bound is not None and np.any(np.abs(y) > bound * (1 + ROUNDING)):
            t, e = (int(i) for i in np.argwhere(np.abs(y) > bound * (1 + ROUNDING))[0])
            raise ValueError(f"bound: output {y[t, e]:.6g} at t={t}, env={e} lies outside "
                             f"[-{bound:.6g}, {bound:.6g}]; the stated bound is false for this "
                             f"code, so the false-alarm guarantee would be too (pass a larger, "
                             f"justified bound)")
        out[j] = y
    return out


class _Sums:
    """Running sums of Z and Z^2 per cell, and visit counts, over buffers."""

    def __init__(self, T: int, n: int, S: int, A: int) -> None:
        self.T, self.n, self.S, self.A = T, n, S, A
        self.shape = {"position": (T, n, S, A), "time": (T, S, A), "pooled": (S, A)}
        self.sum = {f: np.zeros(s) for f, s in self.shape.items()}
        self.sq = {f: np.zeros(s) for f, s in self.shape.items()}
        self.visits = {f: np.zeros(s) for f, s in self.shape.items()}
        self.dev_sum = {f: np.zeros(s) for f, s in self.shape.items()}

    def add(self, obs, actions, dev) -> None:
        """obs, actions, dev: (k, T, n) for k buffers."""
        k, T, n = dev.shape
        S, A = self.S, self.A
        sa = obs * A + actions                                                     # (k, T, n)
        t_idx = np.arange(T)[None, :, None]
        e_idx = np.arange(n)[None, None, :]
        b_idx = np.arange(k)[:, None, None]
        # position cells: at most one term per (buffer, cell), so sums of squares add up
        cell = ((t_idx * n + e_idx) * S * A + sa).ravel()
        size = T * n * S * A
        self._accumulate("position", np.bincount(cell, dev.ravel(), size),
                         np.bincount(cell, (dev ** 2).ravel(), size),
                         np.bincount(cell, minlength=size))
        for family, index, width, pool in (
                ("time", (b_idx * T + t_idx) * S * A + sa, T * S * A, n),
                ("pooled", b_idx * S * A + sa, S * A, T * n)):
            z = np.bincount(index.ravel(), (dev / pool).ravel(), k * width).reshape(k, width)
            visits = np.bincount(index.ravel(), minlength=k * width).reshape(k, width).sum(0)
            self._accumulate(family, z.sum(0), (z ** 2).sum(0), visits,
                             np.bincount(index.ravel() % width, dev.ravel(), width))

    def _accumulate(self, family, s, sq, visits, dev_sum=None) -> None:
        shape = self.shape[family]
        self.sum[family] += s.reshape(shape)
        self.sq[family] += sq.reshape(shape)
        self.visits[family] += visits.reshape(shape)
        self.dev_sum[family] += (s if dev_sum is None else dev_sum).reshape(shape)


def _check_args(adv_fn, mdp, policy, n_steps, n_envs, lam, n_buffers, alpha, rng):
    if not callable(adv_fn):
        raise ValueError(f"adv_fn: expected a callable (buf, critic, gamma, lam) -> (T, n), "
                         f"got {type(adv_fn).__name__}")
    if not isinstance(mdp, EpisodicMDP):
        raise ValueError(f"mdp: expected an EpisodicMDP, got {type(mdp).__name__}")
    mdp.check_policy(policy)
    positive_int("n_steps", n_steps)
    positive_int("n_envs", n_envs)
    positive_int("n_buffers", n_buffers, least=2)
    if not (0.0 <= lam <= 1.0):
        raise ValueError(f"lam: must lie in [0, 1], got {lam}")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha: must lie in (0, 1), got {alpha}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator (Monte Carlo checks are "
                         f"seeded explicitly), got {type(rng).__name__}")


def mc_advantage_test(adv_fn, mdp: EpisodicMDP, policy: SoftmaxPolicy, *, n_steps: int,
                      n_envs: int, lam: float = 0.95, n_buffers: int = 2000,
                      alpha: float = 1e-6, rng: np.random.Generator | None = None,
                      bound="auto") -> MCAdvantageResult:
    """Test H0 (module docstring) on ``n_buffers`` sampled buffers; never raises on rejection.

    bound: "auto" (``advantage_bound(mdp, critic, lam)``, empirical Bernstein,
    finite-sample), a number B >= |adv| (Bernstein), or None (Student's t,
    asymptotic). ``mc_advantages_unbiased`` is the asserting version.
    """
    from pgproofs import montecarlo

    _check_args(adv_fn, mdp, policy, n_steps, n_envs, lam, n_buffers, alpha, rng)
    T, n, N = int(n_steps), int(n_envs), int(n_buffers)
    S, A = mdp.n_states, mdp.n_actions
    values = checking_critic_values(mdp, policy)
    critic = tabular_critic(values)
    truth = discounted.advantages(mdp, policy)
    if isinstance(bound, str):
        if bound != "auto":
            raise ValueError(f"bound: expected 'auto', a number or None, got {bound!r}")
        bound = advantage_bound(mdp, policy, values, lam)
    elif bound is not None:
        bound = float(bound)
        if not (np.isfinite(bound) and bound > 0):
            raise ValueError(f"bound: must be positive and finite, got {bound}")
    chunk = max(1, min(N, _CHUNK_BYTES // (T * n * 64)))
    sums = _Sums(T, n, S, A)
    seeds = []
    done = 0
    while done < N:
        k = min(chunk, N - done)
        seeds.append(int(rng.integers(2 ** 63)))
        bufs = _split(collect(mdp, policy, T, n * k, np.random.default_rng(seeds[-1])), n)
        out = _outputs(adv_fn, bufs, critic, mdp.discount, lam, bound)
        obs = np.stack([b.obs for b in bufs])
        actions = np.stack([b.actions for b in bufs])
        sums.add(obs, actions, out - truth[obs, actions])
        done += k

    live = ~mdp.terminal
    m = (T * n + T + 1) * int(live.sum()) * A
    delta = alpha / m
    best = None
    statistic = 0.0
    for family in FAMILIES:
        mean = sums.sum[family] / N
        var = np.maximum((sums.sq[family] - N * mean ** 2) / (N - 1), 0.0)
        scale = max(1.0, bound or 0.0, float(np.abs(truth).max()))
        dev = np.maximum(np.abs(mean) - ROUNDING * scale, 0.0)
        levels = np.full(mean.shape, delta)
        if bound is not None:
            width = np.maximum(2.0 * bound, bound + np.abs(truth))           # (S, A)
            p, half = montecarlo.bernstein_pvalues(dev, var, N, np.broadcast_to(width, mean.shape),
                                            levels)
        else:
            p, half = montecarlo.student_t_pvalues(dev, np.sqrt(var / N), N, levels)
        p = np.where(live[:, None], p, np.inf)                 # terminal states are never obs
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(half > 0, dev / np.where(half > 0, half, 1.0),
                             np.where(dev > 0, np.inf, 0.0))
        statistic = max(statistic, float(np.where(live[:, None], ratio, 0.0).max()))
        idx = np.unravel_index(np.argmin(p), p.shape)
        if best is None or p[idx] < best[0]:
            best = (float(p[idx]), family, idx, float(mean[idx]), float(half[idx]),
                    float(sums.dev_sum[family][idx]), int(sums.visits[family][idx]))
    p_min, family, idx, mean, half, dev_sum, visits = best
    s, a = int(idx[-2]), int(idx[-1])
    t = int(idx[0]) if family in ("position", "time") else None
    e = int(idx[1]) if family == "position" else None
    p_value = float(min(1.0, m * p_min))
    rejected = p_value < alpha
    method, guarantee = ("bernstein", "finite-sample") if bound is not None \
        else ("student-t", "asymptotic")
    example = _example(adv_fn, mdp, policy, critic, lam, T, n, seeds[0], chunk, min(N, chunk),
                       t, e, s, a) if rejected else None
    return MCAdvantageResult(method, guarantee, float(alpha), N, T, n, float(lam), bound, m,
                             family, t, e, s, a, mean, dev_sum / visits if visits else 0.0,
                             visits, half, statistic, p_value, rejected, example)


def _example(adv_fn, mdp, policy, critic, lam, T, n, seed, chunk, k, t, e, s, a) -> str | None:
    """Re-draw the first chunk and show a buffer whose output differs from the reference GAE
    where the worst cell is: rows around t of one env."""
    bufs = _split(collect(mdp, policy, T, n * chunk, np.random.default_rng(seed)), n)[:k]
    for j, buf in enumerate(bufs):
        out = np.asarray(adv_fn(buf, critic, mdp.discount, lam), dtype=np.float64)
        ref = gae(buf, critic, mdp.discount, lam)
        hit = (buf.obs == s) & (buf.actions == a) & (np.abs(out - ref) > ROUNDING)
        if t is not None:
            hit &= np.arange(T)[:, None] == t
        if e is not None:
            hit &= np.arange(n)[None, :] == e
        if not hit.any():
            continue
        tt, ee = (int(i) for i in np.argwhere(hit)[0])
        lo, hi = max(0, tt - 3), min(T, tt + 4)
        part = Rollout(**{f.name: getattr(buf, f.name)[lo:hi, ee:ee + 1] for f in fields(Rollout)})
        table = part.table(output=out[lo:hi, ee:ee + 1], reference=ref[lo:hi, ee:ee + 1])
        return (f"sampled buffer {j} of the first draw, env {ee}, rows t = {lo}..{hi - 1} "
                f"(row 0 below is t = {lo}); the output differs from the reference GAE at "
                f"t={tt}:\n{table}")
    return None


def mc_advantages_unbiased(adv_fn, mdp: EpisodicMDP, policy: SoftmaxPolicy, *, n_steps: int,
                           n_envs: int, lam: float = 0.95, n_buffers: int = 2000,
                           alpha: float = 1e-6, rng: np.random.Generator | None = None,
                           bound="auto") -> MCAdvantageResult:
    """AssertionError when the Monte Carlo test rejects unbiasedness; else the MCAdvantageResult.

    The Monte Carlo counterpart of ``check.assert_advantages_unbiased`` for
    buffers too large to enumerate: ``n_buffers`` i.i.d. buffers of
    (n_steps, n_envs) collected with ``rng``, the same critic, the same claim
    at every position. The probability of rejecting unbiased code is at most
    ``alpha`` (default 1e-6) for every n_buffers when the bound holds (the
    default derived bound; empirical Bernstein + Bonferroni), asymptotically
    with ``bound=None`` (Student's t). The message names the cell (position or
    pooled), (s, a), the estimated bias and a sampled buffer where the output
    differs from the reference GAE.
    """
    result = mc_advantage_test(adv_fn, mdp, policy, n_steps=n_steps, n_envs=n_envs, lam=lam,
                               n_buffers=n_buffers, alpha=alpha, rng=rng, bound=bound)
    if result.rejected:
        lines = [f"advantage estimate is biased: {result.summary()}"]
        if result.example:
            lines.append(result.example)
        lines += [f"mdp: {mdp!r}", f"policy: {policy!r}"]
        raise AssertionError("\n".join(lines))
    return result
