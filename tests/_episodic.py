"""Small episodic MDPs shared by the tests of issue 13 (episodic, rollouts, advantages, gym env)."""

import numpy as np

from pgproofs import EpisodicMDP, SoftmaxPolicy


def branching_mdp(time_limit: int = 2, discount: float = 0.9, initial=(0.8, 0.2, 0.0)) -> EpisodicMDP:
    """States 0, 1 live, 2 terminal; sparse, so enumerations stay small.

    From 0: action 0 goes to 1, action 1 to 0 or the terminal state (1/2 each).
    From 1: action 0 terminates, action 1 returns to 0. Episodes can end by
    termination at any step and by truncation at ``time_limit``, on the same
    step too (state 1, action 0 at the last step).
    """
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = 1.0
    P[0, 1, [0, 2]] = 0.5
    P[1, 0, 2] = 1.0
    P[1, 1, 0] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[1.0, -0.5], [2.0, 0.25], [0.0, 0.0]])
    return EpisodicMDP(initial=initial, transitions=P, rewards=R,
                       terminal=[False, False, True], discount=discount, time_limit=time_limit)


def branching_policy() -> SoftmaxPolicy:
    return SoftmaxPolicy([[0.4, -0.3], [-0.2, 0.5], [0.0, 0.0]])


def cycling_mdp(time_limit: int = 2, discount: float = 0.8) -> EpisodicMDP:
    """Two live states and no terminal state: every episode ends by truncation."""
    P = np.array([[[0.5, 0.5], [0.0, 1.0]], [[1.0, 0.0], [0.3, 0.7]]])
    R = np.array([[1.0, 0.0], [-1.0, 3.0]])
    return EpisodicMDP(initial=[0.6, 0.4], transitions=P, rewards=R, terminal=[False, False],
                       discount=discount, time_limit=time_limit)


def cycling_policy() -> SoftmaxPolicy:
    return SoftmaxPolicy([[0.2, -0.1], [0.3, 0.0]])


def random_episodic(seed: int, n_states: int = 4, n_actions: int = 2, n_terminal: int = 1,
                    time_limit: int = 3, discount: float = 0.9, density: float = 1.0):
    """A random EpisodicMDP and softmax policy; the last ``n_terminal`` states are terminal.

    density < 1 zeroes transition entries at random (keeping one per row), for
    enumerations that stay small.
    """
    rng = np.random.default_rng(seed)
    S, A = n_states, n_actions
    P = rng.dirichlet(np.ones(S), size=(S, A))
    if density < 1.0:
        keep = rng.random((S, A, S)) < density
        keep[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(S, size=(S, A))] = True
        P = P * keep
        P /= P.sum(axis=2, keepdims=True)
    terminal = np.zeros(S, dtype=bool)
    terminal[S - n_terminal:] = True
    p0 = np.where(terminal, 0.0, rng.random(S) + 0.1)
    mdp = EpisodicMDP(initial=p0 / p0.sum(), transitions=P, rewards=rng.normal(size=(S, A)),
                      terminal=terminal, discount=discount, time_limit=time_limit)
    return mdp, SoftmaxPolicy(rng.normal(size=(S, A)))
