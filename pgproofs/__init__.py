"""pgproofs: a machine-checked companion to the CS285 Lecture 5 policy-gradient notes.

    from pgproofs import FiniteMDP, SoftmaxPolicy, Batch, exact, check
    from pgproofs import EpisodicMDP, rollouts      # checking real training code
"""

from pgproofs import check, exact, rollouts
from pgproofs.episodic import EpisodicMDP
from pgproofs.mdp import Batch, FiniteMDP
from pgproofs.policy import SoftmaxPolicy

__version__ = "0.1.0"

__all__ = ["Batch", "EpisodicMDP", "FiniteMDP", "SoftmaxPolicy", "check", "exact", "rollouts", "__version__"]
