"""Independent reference computations used to check the engine (plain loops, no pgproofs code)."""

import itertools

import numpy as np


def brute_force_trajectories(mdp, policy):
    """Every (s_1, a_1, ..., s_T, a_T) with its probability, by itertools (independent code)."""
    S, A, T = mdp.n_states, mdp.n_actions, mdp.horizon
    out = []
    for seq in itertools.product(range(S), range(A), repeat=T):
        s, a = seq[0::2], seq[1::2]
        p = mdp.initial[s[0]]
        for t in range(T):
            p *= policy.probs[s[t], a[t]]
            if t + 1 < T:
                p *= mdp.transitions[s[t], a[t], s[t + 1]]
        if p > 0:
            out.append((np.array(s), np.array(a), p))
    return out


def finite_difference_gradient(f, logits, h=1e-3):
    """d f(theta) / d theta at theta = logits, for f: (S, A) array -> array of shape (...).

    Central differences with one Richardson step, (4 D(h/2) - D(h)) / 3:
    error O(h^4) + rounding O(eps / h), about 1e-11 for the smooth functions
    of softmax logits checked here. Returns shape (..., S, A).
    """
    logits = np.asarray(logits, dtype=np.float64)

    def central(step):
        grads = []
        for idx in np.ndindex(logits.shape):
            e = np.zeros_like(logits)
            e[idx] = step
            grads.append((np.asarray(f(logits + e)) - np.asarray(f(logits - e))) / (2 * step))
        return np.stack(grads, axis=-1).reshape(np.shape(grads[0]) + logits.shape)

    return (4 * central(h / 2) - central(h)) / 3
