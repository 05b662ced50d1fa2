"""The vectorised sampler draws from the trajectory distribution p_theta(tau).

Both tests bound their false-alarm probability by Hoeffding's inequality,
which holds for any sample size (no normal approximation): for i.i.d.
X_i in [lo, hi], P(|mean - E X| >= eps) <= 2 exp(-2 n eps^2 / (hi - lo)^2).
Setting eps = (hi - lo) sqrt(log(2 k / delta) / (2 n)) makes the chance that
any of k such comparisons fails at most delta (a union bound). delta = 1e-6.
"""

import numpy as np
import pytest

from pgproofs import FiniteMDP, SoftmaxPolicy, exact
from pgproofs.testing import seeded_rng

DELTA = 1e-6


def hoeffding_radius(n, width, k=1, delta=DELTA):
    return width * np.sqrt(np.log(2 * k / delta) / (2 * n))


def example():
    rng = np.random.default_rng(11)
    S, A = 3, 2
    P = rng.dirichlet(np.full(S, 0.7), size=(S, A))
    mdp = FiniteMDP(rng.dirichlet(np.ones(S)), P, rng.uniform(-1, 1, size=(S, A)), 4)
    return mdp, SoftmaxPolicy(rng.normal(size=(S, A)))


def returns_within_bound(returns, target, mdp):
    lo, hi = mdp.horizon * mdp.rewards.min(), mdp.horizon * mdp.rewards.max()
    return abs(returns.mean() - target) < hoeffding_radius(len(returns), hi - lo)


@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_mean_return_matches_exact_value(seed):
    mdp, policy = example()
    batch = mdp.sample(policy, 400_000, seeded_rng(seed))
    assert returns_within_bound(batch.rewards.sum(axis=1), exact.value(mdp, policy), mdp)
    # Negative control: the same test rejects a sampler that ignores the policy
    # (uniform actions); its value differs from J by far more than the radius.
    uniform = mdp.sample(SoftmaxPolicy(np.zeros_like(policy.logits)), 400_000,
                         seeded_rng(seed))
    assert not returns_within_bound(uniform.rewards.sum(axis=1), exact.value(mdp, policy), mdp)


def test_sampled_trajectory_frequencies_match_enumeration():
    mdp, policy = example()
    mdp = FiniteMDP(mdp.initial, mdp.transitions, mdp.rewards, 3)
    traj = exact.enumerate_trajectories(mdp, policy)
    n = 400_000
    batch = mdp.sample(policy, n, seeded_rng(5))
    S, A = mdp.n_states, mdp.n_actions
    code = lambda s, a: ((s * A + a) * (S * A) ** np.arange(mdp.horizon)).sum(axis=1)  # noqa: E731
    keys = code(traj.batch.states, traj.batch.actions)
    order = np.argsort(keys)
    counts = np.searchsorted(keys[order], code(batch.states, batch.actions))
    assert np.all(keys[order][counts] == code(batch.states, batch.actions))  # support respected
    freq = np.bincount(counts, minlength=len(keys)) / n
    # each frequency is a mean of indicators in [0, 1]; union bound over all trajectories
    radius = hoeffding_radius(n, 1.0, k=len(keys))
    assert np.max(np.abs(freq - traj.probs[order])) < radius
    # power: a 1e-2 shift of probability between two trajectories would exceed the radius
    assert radius < 5e-3


def reference_trajectories(mdp, policy, n, rng):
    """Independent inverse-CDF sampler: s_1, then for t = 1..T an action and, for t < T only, the
    next state, each drawn for all n trajectories from n uniforms of ``rng`` (no s_{T+1})."""
    def draw(p_rows, u):  # first outcome whose cumulative probability exceeds u
        idx = np.array([np.searchsorted(np.cumsum(row), x, side="right") for row, x in zip(p_rows, u)])
        return np.minimum(idx, p_rows.shape[1] - 1)
    T = mdp.horizon
    states, actions = np.zeros((n, T), int), np.zeros((n, T), int)
    s = draw(np.broadcast_to(mdp.initial, (n, mdp.n_states)), rng.random(n))
    for t in range(T):
        a = draw(policy.probs[s], rng.random(n))
        states[:, t], actions[:, t] = s, a
        if t + 1 < T:
            s = draw(mdp.transitions[s, a], rng.random(n))
    return states, actions


def test_successive_batches_from_one_generator_follow_the_documented_draws():
    """sample draws n uniforms for s_1, then per step n for the actions and n for the next states,
    and none for the unused s_{T+1}: two batches taken one after the other from one Generator equal
    the reference sampler's on the same stream (a wasted draw would shift the second batch)."""
    mdp, policy = example()
    rng, ref = seeded_rng(3), seeded_rng(3)
    for _ in range(2):
        batch = mdp.sample(policy, 50, rng)
        states, actions = reference_trajectories(mdp, policy, 50, ref)
        np.testing.assert_array_equal(batch.states, states)
        np.testing.assert_array_equal(batch.actions, actions)
    assert rng.random() == ref.random()  # both generators are at the same point of the stream
