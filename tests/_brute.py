"""Independent brute-force enumeration used to check the engine (plain loops, no pgproofs code)."""

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
