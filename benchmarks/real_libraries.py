"""Check the advantage code of maintained RL libraries, as installed from PyPI (optional, not CI).

    pip install "pgproofs[bench]"        # stable-baselines3, torchrl (no other torch)
    python benchmarks/real_libraries.py [--max-examples 50] [--out reports/bench-real-libraries.json]

Each library gets a thin adapter to ``adv_fn(buf, critic, gamma, lam) -> (T, n)``:

* Stable-Baselines3 ``RolloutBuffer``: what ``OnPolicyAlgorithm.collect_rollouts``
  does is replayed step by step (``add(obs, action, reward, episode_start, value,
  log_prob)``; at a time-limit truncation that is not a termination, the VecEnv
  reports ``TimeLimit.truncated`` and SB3 adds gamma * V(terminal_observation) to
  the reward), then ``compute_returns_and_advantage(last_values, dones)``; the
  buffer's ``advantages`` are returned. SB3 stores rewards and values in float32.
* TorchRL ``objectives.value.functional.generalized_advantage_estimate`` with
  ``done = terminated | truncated`` and ``terminated`` passed separately,
  values V(obs) and V(next_obs), float64 tensors of shape (n_envs, T, 1).

Each adapter is checked exactly on the catalogue's witness case and on
Hypothesis-drawn cases (``testing.assert_advantages_unbiased`` and
``assert_gae_matches_reference``), at atol 1e-9 and at 1e-5: both libraries
round through float32 (SB3 stores rewards and values in float32; TorchRL's
GAE, given float64 tensors, still differs from the exact answer by about
2.4e-7 on a single step with gamma 0.9 and V = -10, i.e. 10 * (0.9 - fl32(0.9)):
gamma is applied in single precision), so at 1e-9 they are rejected for rounding
and the 1e-5 verdict is the one about the formula. Whatever fails is reported with the
minimal counterexample (MDP, buffer, position) in the JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_json  # noqa: E402

from pgproofs import check, testing  # noqa: E402
from pgproofs.bugs import advantage_witness  # noqa: E402


def sb3_rollout_buffer(buf, critic, gamma, lam):
    """Stable-Baselines3's RolloutBuffer with SB3's own timeout bootstrap."""
    import torch
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    T, n = buf.obs.shape
    n_states = int(max(buf.obs.max(), buf.next_obs.max())) + 1
    rb = RolloutBuffer(T, spaces.Discrete(n_states), spaces.Discrete(int(buf.actions.max()) + 1),
                       device="cpu", gae_lambda=lam, gamma=gamma, n_envs=n)
    for t in range(T):
        rewards = np.array(buf.rewards[t], dtype=np.float32)
        timeout = buf.truncated[t] & ~buf.terminated[t]      # SB3's TimeLimit.truncated
        rewards[timeout] += gamma * np.asarray(critic(buf.next_obs[t]), np.float32)[timeout]
        rb.add(buf.obs[t][:, None], buf.actions[t][:, None], rewards, buf.episode_starts[t],
               torch.as_tensor(np.asarray(critic(buf.obs[t]), dtype=np.float32)),
               torch.as_tensor(buf.log_probs[t]))
    last_values = torch.as_tensor(np.asarray(critic(buf.next_obs[-1]), dtype=np.float32))
    rb.compute_returns_and_advantage(last_values, (buf.terminated[-1] | buf.truncated[-1]))
    return np.asarray(rb.advantages, dtype=np.float64)


def torchrl_gae(buf, critic, gamma, lam):
    """TorchRL's functional GAE, done and terminated passed separately."""
    import torch
    from torchrl.objectives.value.functional import generalized_advantage_estimate

    def tensor(x, dtype=torch.float64):
        return torch.as_tensor(np.ascontiguousarray(np.asarray(x).T)[..., None], dtype=dtype)

    adv, _ = generalized_advantage_estimate(
        gamma, lam, tensor(critic(buf.obs)), tensor(critic(buf.next_obs)), tensor(buf.rewards),
        tensor(buf.terminated | buf.truncated, torch.bool), tensor(buf.terminated, torch.bool))
    return adv[..., 0].numpy().T


LIBRARIES = {
    "stable-baselines3 RolloutBuffer": ("stable_baselines3", sb3_rollout_buffer, (1e-9, 1e-5)),
    "torchrl functional GAE": ("torchrl", torchrl_gae, (1e-9, 1e-5)),
}


def _verdict(fn, *args, **kwargs) -> dict:
    t0 = time.perf_counter()
    try:
        fn(*args, **kwargs)
        out = {"verdict": "passed"}
    except AssertionError as exc:
        out = {"verdict": "failed", "report": str(exc)}
    except Exception as exc:  # the adapter or the library raised
        out = {"verdict": "error", "report": f"{type(exc).__name__}: {exc}"}
    out["seconds"] = time.perf_counter() - t0
    return out


def run(max_examples: int) -> dict:
    import torch
    torch.set_num_threads(1)
    mdp, policy, T, n = advantage_witness()
    results = {}
    for name, (package, adapter, atols) in LIBRARIES.items():
        try:
            entry = {"package": package, "version": version(package)}
        except Exception as exc:
            results[name] = {"package": package, "verdict": f"not installed: {exc}"}
            continue
        for atol in atols:
            key = f"atol {atol:g}"
            entry[key] = {
                "witness, unbiased": _verdict(check.assert_advantages_unbiased, adapter, mdp,
                                              policy, T, n, lam=0.95, atol=atol),
                "witness, reference GAE": _verdict(check.assert_gae_matches_reference, adapter,
                                                   mdp, policy, T, n, lam=0.95, atol=atol),
                "drawn cases, unbiased": _verdict(testing.assert_advantages_unbiased, adapter,
                                                  max_examples=max_examples, atol=atol),
                "drawn cases, reference GAE": _verdict(testing.assert_gae_matches_reference,
                                                       adapter, max_examples=max_examples,
                                                       atol=atol),
            }
            print(f"{name} ({entry['version']}), {key}: " + ", ".join(
                f"{k}: {v['verdict']}" for k, v in entry[key].items()), flush=True)
        results[name] = entry
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=50)
    parser.add_argument("--out", default="reports/bench-real-libraries.json")
    args = parser.parse_args(argv)
    result = {"benchmark": "real_libraries", "max_examples": args.max_examples,
              "results": run(args.max_examples)}
    print(f"wrote {write_json(args.out, result)}")


if __name__ == "__main__":
    main()
