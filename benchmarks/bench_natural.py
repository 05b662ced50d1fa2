"""Natural-gradient benchmark: CG on Fisher-vector products vs forming F explicitly.

    python benchmarks/bench_natural.py [--out reports/bench-natural.json]

For two policies with a few thousand parameters, both on one CPU thread:
- an MLP softmax policy (4 -> 48 -> 48 -> 2, tanh; 2,690 parameters) on 1,024 states;
- a tabular softmax policy on an MDP with |S| = 1000, |A| = 3, T = 20 (3,000 logits);
the natural direction (F + lambda I)^-1 g is
computed two ways, in the same run (lambda = 0.1 for the MLP, as in Spinning Up's TRPO;
1e-4 for the tabular policy, whose trajectory-Fisher blocks rho(s) F_s are ~1e-2):
- explicit: form F (MLP: per-state Jacobians of log pi with torch.func, F = J^T diag(pi) J / N;
  tabular: the exact block-diagonal trajectory Fisher, as a dense matrix) and solve;
- FVP-CG: ``pgproofs.natural.conjugate_gradient`` with 10 iterations on
  ``fisher_vector_product`` (double backward of the KL), as TRPO implementations do.
Reported: median times, the ratio explicit / CG, and the relative error of the CG
direction against the explicit solve (10 iterations, and 50 to show convergence).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

from _common import timed, write_json

from pgproofs import FiniteMDP, SoftmaxPolicy, exact
from pgproofs import natural as ng

MLP_DAMPING = 0.1     # Spinning Up's TRPO default, for a mean-over-states KL
TABULAR_DAMPING = 1e-4  # the trajectory Fisher's blocks are rho(s) F_s ~ 1e-2 here
CG_ITERS = 10




def relative_error(x, ref):
    return float(torch.linalg.vector_norm(x - ref) / torch.linalg.vector_norm(ref))


def mlp_case(n_states=1024, hidden=48, seed=0):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
                              torch.nn.Linear(hidden, 2)).double()
    obs = torch.randn(n_states, 4, dtype=torch.float64)
    params = list(net.parameters())
    names = [n for n, _ in net.named_parameters()]
    grad = torch.randn(sum(p.numel() for p in params), dtype=torch.float64)

    def kl():
        log_p = torch.log_softmax(net(obs), dim=1)
        log_ref = log_p.detach()
        return (log_ref.exp() * (log_ref - log_p)).sum(dim=1).mean()

    def explicit():
        detached = {n: p.detach() for n, p in zip(names, params)}

        def log_pi(p, o):
            return torch.log_softmax(functional_call(net, p, (o[None],))[0], dim=0)

        jac = vmap(jacrev(log_pi), in_dims=(None, 0))(detached, obs)  # dict of (N, A, *shape)
        j = torch.cat([jac[n].reshape(n_states, 2, -1) for n in names], dim=2)
        with torch.no_grad():
            w = torch.softmax(net(obs), dim=1) / n_states
        fisher = torch.einsum("na,nap,naq->pq", w, j, j)
        return torch.linalg.solve(fisher + MLP_DAMPING * torch.eye(len(grad), dtype=torch.float64),
                                  grad)

    def cg(iters):
        return ng.conjugate_gradient(ng.fisher_vector_product(kl, params), grad, iters=iters,
                                     tol=0.0, damping=MLP_DAMPING)

    return "mlp softmax policy, 4-48-48-2", len(grad), MLP_DAMPING, explicit, cg


def tabular_case(S=1000, A=3, T=20, seed=0):
    rng = np.random.default_rng(seed)
    mdp = FiniteMDP(rng.dirichlet(np.ones(S)), rng.dirichlet(np.ones(S) * 0.05, size=(S, A)),
                    rng.normal(size=(S, A)), T)
    policy = SoftmaxPolicy(rng.normal(size=(S, A)))
    grad_np = exact.policy_gradient(mdp, policy).ravel()
    grad = torch.as_tensor(grad_np)
    rho = ng.visits(mdp, policy)

    def explicit():
        fisher = ng.fisher_matrix(mdp, policy)
        return torch.as_tensor(ng.natural_gradient_damped(fisher, grad_np, TABULAR_DAMPING))

    def cg(iters):
        logits = torch.tensor(policy.logits, requires_grad=True)
        fvp = ng.fisher_vector_product(ng.tabular_kl_fn(logits, rho), [logits])
        return ng.conjugate_gradient(fvp, grad, iters=iters, tol=0.0, damping=TABULAR_DAMPING)

    return f"tabular softmax, |S|={S}, |A|={A}, T={T}", S * A, TABULAR_DAMPING, explicit, cg


def run(repeats_explicit=3, repeats_cg=5):
    torch.set_num_threads(1)
    results = []
    for name, n_params, damping, explicit, cg in (mlp_case(), tabular_case()):
        t_explicit, _, x_explicit = timed(explicit, repeats_explicit)
        t_cg, _, x_cg = timed(lambda: cg(CG_ITERS), repeats_cg)
        t_cg50, _, x_cg50 = timed(lambda: cg(50), repeats_cg)
        results.append({
            "policy": name, "parameters": n_params, "damping": damping, "cg_iterations": CG_ITERS,
            "explicit_seconds": t_explicit, "fvp_cg_seconds": t_cg,
            "ratio_explicit_over_cg": t_explicit / t_cg,
            "fvp_cg50_seconds": t_cg50, "ratio_explicit_over_cg50": t_explicit / t_cg50,
            "cg_relative_error_vs_explicit": relative_error(x_cg, x_explicit),
            "cg50_relative_error_vs_explicit": relative_error(x_cg50, x_explicit),
        })
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/bench-natural.json")
    args = parser.parse_args(argv)
    results = run()
    report = {
        "benchmark": "natural",
        "what": "natural direction (F + lambda I)^-1 g: form F and solve vs CG on autograd "
                "Fisher-vector products, same run, one thread",
        "cases": results,
    }
    out = write_json(args.out, report)
    for r in results:
        print(f"{r['policy']} ({r['parameters']} params): explicit {r['explicit_seconds']:.3f} s, "
              f"FVP-CG {r['fvp_cg_seconds'] * 1e3:.1f} ms, ratio {r['ratio_explicit_over_cg']:.0f}x "
              f"(50 iterations: {r['ratio_explicit_over_cg50']:.0f}x), "
              f"CG rel. error {r['cg_relative_error_vs_explicit']:.2e} "
              f"({r['cg50_relative_error_vs_explicit']:.1e} after 50 iterations)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
