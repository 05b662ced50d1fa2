"""A reference policy-gradient learner for CartPole-v1, readable top to bottom.

Variants (notes, sections "REINFORCE", "Reducing Variance", "Advanced Policy
Gradients"), all maximising J = E[sum_t gamma^t r_t] with a softmax MLP policy:

- ``reinforce``     grad J ~ mean_rows grad log pi(a_t|s_t) * R(tau), R the
                    (discounted) return of the whole episode;
- ``rtg``           ... * Rhat_t, the reward-to-go from step t;
- ``rtg-baseline``  ... * (Rhat_t - V(s_t)), V a learned state-value network,
                    the advantages normalised to mean 0 / std 1 per batch
                    (``normalize_advantages``, a step-size device, not part of
                    the estimator);
- ``npg``           the same advantages, but the step is the KL-constrained
                    natural gradient (pgproofs.cartpole.npg).

``reinforce`` and ``rtg`` have no critic to bootstrap a cut episode, so they
sample batches of whole episodes (one per sub-environment), and the 500-step
time limit is the horizon of their finite-horizon objective. ``rtg-baseline``
and ``npg`` use fixed windows of ``window`` steps per sub-environment and
bootstrap V where a window or the 500-step time limit cuts an episode.
The learners, like most practice, drop the gamma^t factor in front of
grad log pi; pgproofs.cartpole.variance keeps it when it compares estimators.

The loop holds nothing but the learner. Measurements that only the claim
tests need (gradient variance, KL of control steps: pgproofs.cartpole.variance)
hook in from outside through ``on_update``, which is shown each ``Update``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from pgproofs.cartpole.evaluate import ENV_ID, Evaluator, SolvedProtocol
from pgproofs.cartpole.experiment import ALGOS
from pgproofs.cartpole.npg import NaturalStep, natural_gradient_step
from pgproofs.cartpole.rollout import (Rollout, collect_episodes, collect_window, full_returns,
                                       rollout_reward_to_go, start_streams)

__all__ = ["ALGOS", "Config", "TrainResult", "Update", "train", "make_networks", "sampler",
           "greedy", "state_values", "log_probs"]


@dataclass
class Config:
    algo: str = "rtg-baseline"
    seed: int = 0
    max_env_steps: int = 100_000   # give up after this many transitions
    num_envs: int = 8
    window: int = 64               # steps per sub-env per update (rtg-baseline, npg)
    discount: float = 0.99
    hidden: int = 64               # units in each of the two hidden layers
    policy_lr: float = 1e-2        # Adam (reinforce, rtg, rtg-baseline)
    value_lr: float = 1e-2         # Adam, critic of rtg-baseline and npg
    value_epochs: int = 10         # full-batch critic steps per update
    normalize_advantages: bool = True
    max_kl: float = 0.02           # npg: target KL per update
    cg_iters: int = 10
    cg_damping: float = 0.1        # CG solves (F + damping I) x = g
    kl_accept: float = 1.5         # npg line search accepts measured KL <= kl_accept * max_kl
    protocol: SolvedProtocol = field(default_factory=SolvedProtocol)

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise ValueError(f"algo: expected one of {ALGOS}, got {self.algo!r}")
        if self.seed < 0:
            raise ValueError(f"seed: must be >= 0, got {self.seed}")
        if self.max_env_steps < 1:
            raise ValueError(f"max_env_steps: must be >= 1, got {self.max_env_steps}")
        if not 0.0 <= self.discount <= 1.0:
            raise ValueError(f"discount: must lie in [0, 1], got {self.discount}")
        for name in ("num_envs", "window", "hidden", "value_epochs", "cg_iters"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("policy_lr", "value_lr", "max_kl"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)}")

    @property
    def uses_critic(self) -> bool:
        return self.algo in ("rtg-baseline", "npg")


@dataclass
class TrainResult:
    algo: str
    seed: int
    solved: bool
    env_steps: int              # transitions up to the confirmed evaluation (or the last)
    wall_s: float               # training time up to then, evaluation excluded
    eval_return_mean: float     # confirmation mean if solved, else the last evaluation's
    eval_episodes: int
    curve: list[dict]           # one point per evaluation
    updates: list[dict]         # one point per update (train return, KL, ...)
    config: dict
    policy: nn.Module | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict:
        """Everything but the trained policy network, JSON-ready."""
        return {k: v for k, v in asdict(self).items() if k != "policy"}

    def greedy(self) -> Callable[[np.ndarray], np.ndarray]:
        """The trained policy's greedy action, obs (n, 4) -> actions (n,)."""
        return greedy(self.policy)


@dataclass(frozen=True)
class Update:
    """What an ``on_update`` observer is shown: the log entry and, to read, the learner.

    ``number`` 0 is the call before the first update (initial networks, no
    batch); then one call per update, after the critic step and the solved
    protocol (``"eval_mean" in info`` when an evaluation just ran). ``info``
    is the update's entry of ``TrainResult.updates``: an observer may add its
    own numbers to it. An observer may run the networks but must leave their
    parameters as it found them; its time is not counted in ``wall_s``.
    """

    number: int
    info: dict
    config: Config
    policy: nn.Module
    value: nn.Module
    obs: torch.Tensor | None = None   # the batch's states (valid rows)
    grad: torch.Tensor | None = None  # npg: flat gradient of the objective
    step: NaturalStep | None = None   # npg: the natural step just taken


def make_networks(hidden: int, obs_dim: int = 4, actions: int = 2
                  ) -> tuple[nn.Module, nn.Module]:
    """Policy logits and state-value MLPs, two tanh hidden layers each."""
    def mlp(out: int, gain: float) -> nn.Sequential:
        net = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(),
                            nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, out))
        for layer in net[::2]:
            nn.init.orthogonal_(layer.weight, 2 ** 0.5)
            nn.init.zeros_(layer.bias)
        nn.init.orthogonal_(net[-1].weight, gain)
        return net
    # a near-uniform initial policy, as in CleanRL / SB3
    return mlp(actions, 0.01), mlp(1, 1.0)


def _inference_forward(net: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``net``'s forward for acting, without ``nn.Module.__call__``'s hook dispatch.

    Acting calls the network once per environment step on a handful of rows, where
    that dispatch is about half the cost. A Sequential's layers' own ``forward``
    methods run the same kernels in the same order, so the result is bit for bit
    the same; any other module is called as it is.
    """
    if type(net) is not nn.Sequential:
        return net
    layers = [layer.forward for layer in net]

    def forward(x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = layer(x)
        return x
    return forward


def sampler(policy: nn.Module, rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """a ~ pi(.|s) for a batch of observations (n, obs_dim) -> actions (n,)."""
    forward = _inference_forward(policy)

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            probs = torch.softmax(forward(torch.from_numpy(obs)), -1).numpy()
        # inverse-CDF sampling with numpy's rng keeps torch's RNG out of rollouts
        u = rng.random((len(obs), 1))
        return np.minimum((u > probs.cumsum(1)).sum(1), probs.shape[1] - 1)
    return act


def greedy(policy: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """argmax_a pi(a|s) for a batch of observations (n, obs_dim) -> actions (n,)."""
    forward = _inference_forward(policy)

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return forward(torch.from_numpy(obs)).argmax(-1).numpy()
    return act


def state_values(value: nn.Module, obs: np.ndarray) -> np.ndarray:
    """V(s) for observations of shape (..., obs_dim), as float64 of shape (...)."""
    with torch.inference_mode():
        return value(torch.from_numpy(obs.reshape(-1, obs.shape[-1]))).numpy().reshape(
            obs.shape[:-1]).astype(np.float64)


def log_probs(policy: nn.Module, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """log pi(a_t|s_t) for rows of states (m, obs_dim) and actions (m,), differentiable."""
    return torch.log_softmax(policy(obs), -1).gather(-1, actions[:, None]).squeeze(-1)


def _weights(cfg: Config, rollout: Rollout,
             value: nn.Module) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-row credit of grad log pi, and the critic's regression target (n, T) or None."""
    if cfg.algo == "reinforce":
        return full_returns(rollout, cfg.discount), None
    if cfg.algo == "rtg":
        return rollout_reward_to_go(rollout, cfg.discount), None
    target = rollout_reward_to_go(rollout, cfg.discount, state_values(value, rollout.next_obs))
    adv = target - state_values(value, rollout.obs)
    if cfg.normalize_advantages:
        v = adv[rollout.valid]
        adv = (adv - v.mean()) / (v.std() + 1e-8)
    return adv, target


def train(cfg: Config, on_update: Callable[[Update], None] | None = None) -> TrainResult:
    """Train until the protocol confirms a solve or ``max_env_steps`` transitions.

    ``on_update`` (optional) is shown an :class:`Update` before the first
    update and after every update.
    """
    import gymnasium as gym

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    policy, value = make_networks(cfg.hidden)
    pi_opt = torch.optim.Adam(policy.parameters(), lr=cfg.policy_lr)
    v_opt = torch.optim.Adam(value.parameters(), lr=cfg.value_lr)
    env = gym.make_vec(ENV_ID, num_envs=cfg.num_envs)
    act = sampler(policy, rng)
    streams = start_streams(env, cfg.seed) if cfg.uses_critic else None
    evaluator = Evaluator(cfg.seed, cfg.protocol)
    observe = on_update if on_update is not None else (lambda update: None)

    env_steps, wall, recent = 0, 0.0, []
    curve, updates = [], []
    last = None
    observe(Update(0, {"env_steps": 0, "train_return": None}, cfg, policy, value))
    while env_steps < cfg.max_env_steps:
        t0 = time.perf_counter()
        # 1. sample
        if cfg.uses_critic:
            rollout = collect_window(env, act, streams, cfg.window)
            recent = (recent + streams.finished)[-20:]
            streams.finished.clear()
        else:
            rollout = collect_episodes(env, act, int(rng.integers(2**31)))
            recent = (recent + rollout.episode_returns().tolist())[-20:]
        env_steps += rollout.num_steps
        # 2. credit each action
        weights, target = _weights(cfg, rollout, value)
        mask = rollout.valid
        obs = torch.from_numpy(rollout.obs[mask])
        actions = torch.from_numpy(rollout.actions[mask])
        w = torch.from_numpy(weights[mask].astype(np.float32))
        # 3. policy step
        info = {"env_steps": env_steps, "train_return": float(np.mean(recent)) if recent else None}
        objective = (log_probs(policy, obs, actions) * w).mean()
        grad = step = None
        if cfg.algo == "npg":
            params = list(policy.parameters())
            grad = torch.cat([g.reshape(-1) for g in torch.autograd.grad(objective, params)])
            step = natural_gradient_step(policy, obs, grad, cfg.max_kl, cg_iters=cfg.cg_iters,
                                         damping=cfg.cg_damping, accept=cfg.kl_accept)
            info.update(kl=step.kl, kl_target=cfg.max_kl, step_fraction=step.step_fraction)
        else:
            pi_opt.zero_grad()
            (-objective).backward()
            pi_opt.step()
        # 4. critic regression on the bootstrapped reward-to-go
        if target is not None:
            y = torch.from_numpy(target[mask].astype(np.float32))
            for _ in range(cfg.value_epochs):
                v_opt.zero_grad()
                ((value(obs).squeeze(-1) - y) ** 2).mean().backward()
                v_opt.step()
        wall += time.perf_counter() - t0
        info["wall_s"] = wall
        updates.append(info)
        # 5. the solved protocol (not timed)
        if evaluator.due(env_steps):
            last = evaluator.evaluate(greedy(policy), env_steps)
            curve.append({"env_steps": env_steps, "wall_s": wall, "eval_mean": last.mean,
                          "confirm_mean": last.confirm_mean,
                          "train_return": info["train_return"]})
            info["eval_mean"] = last.mean
        observe(Update(len(updates), info, cfg, policy, value, obs, grad, step))
        if last is not None and last.solved:
            break
    env.close()
    if last is None:
        mean, episodes = float("nan"), 0
    elif last.confirm_mean is not None:
        mean, episodes = last.confirm_mean, cfg.protocol.confirm_episodes
    else:
        mean, episodes = last.mean, cfg.protocol.episodes
    return TrainResult(cfg.algo, cfg.seed, bool(last is not None and last.solved),
                       env_steps, wall, mean, episodes, curve, updates, asdict(cfg), policy)
