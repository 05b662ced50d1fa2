"""End to end: a policy-gradient learner on Gymnasium's vectorised CartPole-v1.

    from pgproofs.cartpole import Config, train
    result = train(Config(algo="rtg-baseline", seed=0))

Modules: ``rollout`` (vector-env bookkeeping and returns), ``learner`` (the
variants, one loop), ``npg`` (conjugate gradient on Fisher-vector products),
``evaluate`` (the solved protocol), ``variance`` (E2E-2/E2E-3 measurements),
``experiment`` (the variants, the tuning and the held-out seeds), ``cli``
(``pgproofs train``). torch and gymnasium load on first use of the learner.
"""

from __future__ import annotations

from pgproofs.cartpole.experiment import ALGOS, HELD_OUT_SEEDS, TUNING_SEEDS

__all__ = ["ALGOS", "TUNING_SEEDS", "HELD_OUT_SEEDS", "Config", "TrainResult", "train"]


def __getattr__(name: str):
    # PEP 562 lazy re-export: ``pgproofs --help`` must not pay for importing torch.
    if name in ("Config", "TrainResult", "train"):
        from pgproofs.cartpole import learner
        return getattr(learner, name)
    raise AttributeError(f"module 'pgproofs.cartpole' has no attribute {name!r}")
