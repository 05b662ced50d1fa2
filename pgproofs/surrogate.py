"""Turn a PyTorch surrogate loss into a policy-gradient estimator.

Training code rarely computes grad J directly; it builds a scalar *loss* whose
autograd gradient is the estimate, e.g. REINFORCE (section "REINFORCE")::

    logp = torch.log_softmax(logits, -1)[states, actions]   # log pi(a_t|s_t)
    loss = -(logp.sum(1) * returns).mean()                  # minimised by SGD

Minimising the loss ascends J, so the estimate of grad J is **minus** the
gradient of the loss with respect to the logits:

    g_hat = - d loss / d logits            (S, A), float64 numpy

``from_surrogate_loss`` wraps such a function into the estimator protocol of
``pgproofs.check`` (a callable ``(batch, policy) -> (S, A)``), so every exact
and Monte Carlo check applies to the loss code exactly as it is written.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from pgproofs.mdp import Batch
from pgproofs.policy import SoftmaxPolicy

__all__ = ["SurrogateEstimator", "from_surrogate_loss"]


class SurrogateEstimator:
    """The estimator g_hat(batch, policy) = -d loss_fn(logits, batch) / d logits.

    ``logits`` is a fresh float64 leaf tensor holding ``policy.logits`` with
    ``requires_grad=True``. A loss that does not depend on the logits at all
    (e.g. one built from the numpy ``batch.log_probs``, which carry no graph)
    has gradient zero, so it estimates 0: the checks then report it as biased
    wherever grad J is not 0, which is the bug it is.
    """

    def __init__(self, loss_fn: Callable) -> None:
        if not callable(loss_fn):
            raise ValueError(f"loss_fn: expected a callable (logits, batch) -> scalar loss, "
                             f"got {type(loss_fn).__name__}")
        self.loss_fn = loss_fn
        functools.update_wrapper(self, loss_fn, updated=())

    def __repr__(self) -> str:
        name = getattr(self.loss_fn, "__qualname__", repr(self.loss_fn))
        return f"from_surrogate_loss({name})"

    def __call__(self, batch: Batch, policy: SoftmaxPolicy) -> np.ndarray:
        import torch

        if not isinstance(batch, Batch):
            raise ValueError(f"batch: expected a pgproofs Batch, got {type(batch).__name__}")
        if not isinstance(policy, SoftmaxPolicy):
            raise ValueError(f"policy: expected a SoftmaxPolicy, got {type(policy).__name__}")
        logits = torch.tensor(policy.logits, dtype=torch.float64, requires_grad=True)
        loss = self.loss_fn(logits, batch)
        if not isinstance(loss, torch.Tensor):
            raise ValueError(f"loss_fn: must return a torch.Tensor, got {type(loss).__name__}")
        if loss.numel() != 1:
            raise ValueError(f"loss_fn: must return a scalar loss, got shape {tuple(loss.shape)}")
        if not loss.requires_grad:
            return np.zeros(policy.logits.shape)
        (grad,) = torch.autograd.grad(loss.reshape(()), logits, allow_unused=True)
        if grad is None:
            return np.zeros(policy.logits.shape)
        return -grad.detach().to(torch.float64).numpy().copy()


def from_surrogate_loss(loss_fn: Callable) -> SurrogateEstimator:
    """An estimator whose estimate is MINUS the autograd gradient of ``loss_fn``.

    loss_fn(logits, batch): ``logits`` a float64 torch tensor (S, A) requiring
    grad, ``batch`` a pgproofs Batch (numpy fields of shape (n, T)); returns a
    scalar torch loss written the way training code writes it (it is
    minimised). So ``-(logp * R).mean()``-style losses estimate +grad J.

    >>> import torch
    >>> def reinforce_loss(logits, batch):
    ...     logp = torch.log_softmax(logits, -1)[batch.states, batch.actions]
    ...     returns = torch.as_tensor(batch.rewards).sum(1)
    ...     return -(logp.sum(1) * returns).mean()
    >>> estimator = from_surrogate_loss(reinforce_loss)
    >>> estimator
    from_surrogate_loss(reinforce_loss)
    """
    return SurrogateEstimator(loss_fn)
