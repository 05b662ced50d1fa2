"""What every CartPole experiment shares: the learner variants and the seed sets.

The defaults of :class:`pgproofs.cartpole.learner.Config` were tuned by
looking at runs on ``TUNING_SEEDS``. Every verdict (the E2E claim tests) is
taken on ``HELD_OUT_SEEDS``, which no tuning has looked at; keep it that way:
tune on ``TUNING_SEEDS`` only. Benchmarks report both sets, so the gap
between them is visible.
"""

from __future__ import annotations

__all__ = ["ALGOS", "TUNING_SEEDS", "HELD_OUT_SEEDS"]

ALGOS = ("reinforce", "rtg", "rtg-baseline", "npg")

#: Seeds the defaults were tuned on (and the only ones to tune on).
TUNING_SEEDS = range(0, 10)
#: Seeds every verdict uses; disjoint from TUNING_SEEDS, never tuned on.
HELD_OUT_SEEDS = range(1000, 1010)

if set(TUNING_SEEDS) & set(HELD_OUT_SEEDS):  # pragma: no cover - guards an edit
    raise RuntimeError("TUNING_SEEDS and HELD_OUT_SEEDS must be disjoint")
