"""End to end: a policy-gradient learner on Gymnasium's vectorised CartPole-v1.

    from pgproofs.cartpole import Config, train
    result = train(Config(algo="rtg-baseline", seed=0))

Modules: ``rollout`` (vector-env bookkeeping and returns), ``learner`` (the
variants, one loop), ``npg`` (conjugate gradient on Fisher-vector products),
``evaluate`` (the solved protocol), ``variance`` (E2E-2/E2E-3 measurements),
``cli`` (``pgproofs train``). torch and gymnasium load on first use.
"""

from __future__ import annotations

__all__ = ["ALGOS", "Config", "TrainResult", "train"]

ALGOS = ("reinforce", "rtg", "rtg-baseline", "npg")


def __getattr__(name: str):
    if name in ("Config", "TrainResult", "train"):
        from pgproofs.cartpole import learner
        return getattr(learner, name)
    raise AttributeError(f"module 'pgproofs.cartpole' has no attribute {name!r}")
