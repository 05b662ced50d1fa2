"""Episodic discounted MDPs: terminal states, a time limit, and the discounted objective.

Training code does not live in the notes' fixed-horizon setting (section
"REINFORCE"): it maximises the infinite-horizon discounted return
    J = E[sum_{t >= 0} gamma^t r(s_t, a_t)],   0 <= gamma < 1,
where an episode ends when it enters a terminal state (Gymnasium's
``terminated``: nothing more is ever received, so V = 0 there). A time limit
``L`` cuts episodes that are still running after L steps (``truncated``); it
belongs to data collection, not to the objective, so correct advantage code
bootstraps at a truncation and not at a termination (Pardo et al., "Time
limits in reinforcement learning", 2018).
"""

from __future__ import annotations

import numpy as np

from pgproofs.mdp import checked_dynamics, pinned_cumsum, readonly
from pgproofs.policy import SoftmaxPolicy

__all__ = ["EpisodicMDP"]


class EpisodicMDP:
    """An episodic MDP with S states, A actions, terminal states and a time limit.

    initial (S,): p(s_0), with no mass on terminal states;
    transitions (S, A, S): P[s, a, s'] = p(s'|s, a);
    rewards (S, A): r(s, a), received on the step that leaves s;
    terminal (S,) bool: entering a terminal state ends the episode (terminated);
    discount: gamma in [0, 1);
    time_limit: L >= 1, an episode still running after L steps is truncated.

    Rows of ``transitions`` for terminal states are never used (an episode
    never leaves a terminal state) but must still be distributions, so that a
    bad table never passes unnoticed. Arrays are copied and made read-only;
    bad input raises ValueError naming the field.
    """

    def __init__(self, initial, transitions, rewards, terminal, discount: float, time_limit: int):
        initial, transitions, rewards = checked_dynamics(initial, transitions, rewards)
        S, A = rewards.shape
        terminal = np.array(terminal)
        if terminal.shape != (S,):
            raise ValueError(f"terminal: expected shape (S,) = {(S,)}, got {terminal.shape}")
        if terminal.dtype != np.bool_:
            # 0/1 integers or floats are refused rather than cast: a mask of
            # probabilities or state indices passed by mistake would cast silently.
            raise ValueError(f"terminal: expected a bool mask, got dtype {terminal.dtype}")
        on_terminal = np.flatnonzero(terminal & (initial > 0))
        if on_terminal.size:
            s = int(on_terminal[0])
            raise ValueError(f"initial: puts probability {float(initial[s]):g} on terminal state {s}; "
                             "an episode must start in a non-terminal state")
        if isinstance(discount, bool) or not isinstance(discount, (int, float, np.integer, np.floating)):
            raise ValueError(f"discount: must be a number in [0, 1), got {discount!r}")
        discount = float(discount)
        if not (0.0 <= discount < 1.0):
            raise ValueError(f"discount: must lie in [0, 1), got {discount}")
        if isinstance(time_limit, bool) or not isinstance(time_limit, (int, np.integer)):
            raise ValueError(f"time_limit: must be an integer, got {time_limit!r}")
        if time_limit < 1:
            raise ValueError(f"time_limit: must be >= 1, got {time_limit}")
        self.initial = readonly(initial)
        self.transitions = readonly(transitions)
        self.rewards = readonly(rewards)
        self.terminal = readonly(terminal.copy())
        self.discount = discount
        self.time_limit = int(time_limit)
        # Inverse-CDF tables for sampling, last column pinned to 1 (see mdp.pinned_cumsum).
        self._cum_initial = readonly(pinned_cumsum(initial))
        self._cum_transitions = readonly(pinned_cumsum(transitions.reshape(S * A, S)))

    @property
    def n_states(self) -> int:
        return self.initial.shape[0]

    @property
    def n_actions(self) -> int:
        return self.transitions.shape[1]

    def __repr__(self) -> str:
        return (f"EpisodicMDP(initial={self.initial.tolist()}, "
                f"transitions={self.transitions.tolist()}, rewards={self.rewards.tolist()}, "
                f"terminal={self.terminal.tolist()}, discount={self.discount}, "
                f"time_limit={self.time_limit})")

    def check_policy(self, policy: SoftmaxPolicy, name: str = "policy") -> None:
        """ValueError unless ``policy`` is a SoftmaxPolicy with this MDP's (S, A) shape."""
        if not isinstance(policy, SoftmaxPolicy):
            raise ValueError(f"{name}: expected a SoftmaxPolicy, got {type(policy).__name__}")
        if policy.logits.shape != (self.n_states, self.n_actions):
            raise ValueError(f"{name}: logits have shape {policy.logits.shape}, the MDP needs "
                             f"{(self.n_states, self.n_actions)}")
