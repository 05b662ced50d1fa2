"""``pgproofs verify MODULE:FUNCTION``: check your own estimator from the command line.

Runs ``pgproofs.testing.assert_estimator_unbiased`` on the named function:
Hypothesis draws small MDPs and policies, each is decided exactly against
``exact.policy_gradient``, and a failure is shrunk to a minimal case. With
``--surrogate`` the function is a PyTorch loss ``(logits, batch) -> scalar``
(the estimate is minus its gradient); without, an estimator
``(batch, policy) -> (S, A)``.

With ``--advantages`` the function is advantage code
``(buf, critic, gamma, lam) -> (T, n)`` over a rollout buffer (issue 13):
``pgproofs.testing.assert_advantages_unbiased`` draws episodic MDPs, policies,
gamma, lambda, n_steps and n_envs, decides each case exactly over every
buffer, and prints the minimal MDP, the buffer and the position; with
``--gae`` as well, the output must equal the reference GAE with an inexact
critic (``assert_gae_matches_reference``).

Exit status: 0 unbiased on every drawn case, 1 biased (or the estimator
raised), 2 usage error (bad target, bad option).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import textwrap
import traceback
from pathlib import Path

from pgproofs.loss_verify import add_loss_options, run_loss
from pgproofs.targets import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, UsageError, crashed, load_target

__all__ = ["load_target", "register", "run"]

_DESCRIPTION = (
    "Check an estimator (batch, policy) -> (S, A), or with --surrogate a PyTorch loss "
    "(logits, batch) -> scalar whose minus gradient is the estimate, against the exact policy "
    "gradient on small MDPs drawn by Hypothesis; each case is decided by enumeration and a "
    "failure is shrunk to a minimal MDP. Exit status: 0 unbiased, 1 biased (or the function "
    "raised), 2 usage error.")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "verify", help="check an estimator or PyTorch surrogate loss against the exact gradient",
        description=textwrap.fill(_DESCRIPTION, 79),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  pgproofs verify pgproofs.bugs:greedy_action --surrogate        # exit 1\n"
               "  pgproofs verify pgproofs.bugs:greedy_action_fixed --surrogate  # exit 0\n"
               "  pgproofs verify my_losses.py:policy_loss --surrogate --batch-size 2\n"
               "  pgproofs verify pgproofs.bugs:truncation_as_termination --advantages  # exit 1\n"
               "  pgproofs verify pgproofs.advantages:gae --advantages --gae           # exit 0")
    parser.add_argument("target", metavar="MODULE:FUNCTION",
                        help="dotted module (importable, or relative to the current directory) "
                             "or a path/to/file.py, then ':' and the function name")
    parser.add_argument("--surrogate", action="store_true",
                        help="FUNCTION is a loss (logits, batch) -> scalar torch tensor")
    parser.add_argument("--advantages", action="store_true",
                        help="FUNCTION is advantage code (buf, critic, gamma, lam) -> (T, n) over "
                             "a rollout buffer; checked for unbiasedness at every buffer position")
    parser.add_argument("--gae", action="store_true",
                        help="with --advantages: also require the reference GAE's output, with "
                             "an inexact critic (catches bugs an exact critic hides)")
    parser.add_argument("--lam", type=_unit, default=None, metavar="LAMBDA",
                        help="with --advantages: check this lambda only (default: drawn from "
                             "{0, 0.5, 0.95, 1} and [0, 1])")
    parser.add_argument("--max-examples", type=_positive, default=100, metavar="N",
                        help="number of MDP/policy cases Hypothesis draws (default 100)")
    parser.add_argument("--batch-size", type=_positive, default=1, metavar="N",
                        help="trajectories per batch given to the estimator (default 1)")
    parser.add_argument("--off-policy", action="store_true",
                        help="draw batches under a second, behaviour policy")
    parser.add_argument("--max-states", type=_positive, default=None, metavar="S",
                        help="largest number of states drawn (default 3 for batch size 1)")
    parser.add_argument("--max-actions", type=_positive, default=None, metavar="A",
                        help="largest number of actions drawn (default 3 for batch size 1)")
    parser.add_argument("--max-horizon", type=_positive, default=None, metavar="T",
                        help="longest horizon drawn (default 3 for batch size 1; the defaults "
                             "shrink as --batch-size grows so that enumeration stays quick)")
    add_loss_options(parser)
    parser.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _unit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not (0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {value}")
    return value


def _mdps(args):
    from pgproofs import strategies as pst
    from pgproofs.testing import ENUMERABLE_SIZES

    limits = (args.max_states, args.max_actions, args.max_horizon)
    if all(v is None for v in limits):
        return None
    defaults = ENUMERABLE_SIZES.get(args.batch_size, ((1, 2), (1, 2), (1, 1)))
    states, actions, horizon = ((1, v) if v is not None else d for v, d in zip(limits, defaults))
    return pst.finite_mdps(states=states, actions=actions, horizon=horizon)


def run_advantages(args) -> int:
    from pgproofs.testing import (AdvantageBiasError, assert_advantages_unbiased,
                                  assert_gae_matches_reference)

    conflicts = [flag for flag, on in (("--surrogate", args.surrogate),
                                       ("--off-policy", args.off_policy),
                                       ("--batch-size", args.batch_size != 1),
                                       ("--max-states", args.max_states is not None),
                                       ("--max-actions", args.max_actions is not None),
                                       ("--max-horizon", args.max_horizon is not None)) if on]
    if conflicts:
        print(f"pgproofs verify: error: --advantages does not take {', '.join(conflicts)}",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        fn = load_target(args.target)
    except UsageError as exc:
        print(f"pgproofs verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    lam = "drawn" if args.lam is None else f"{args.lam:g}"
    print(f"pgproofs verify: advantage code {args.target}: up to {args.max_examples} drawn "
          f"episodic MDPs, policies, n_steps and n_envs (1-2), lambda {lam}; each case decided "
          f"exactly over every buffer against exact.advantages"
          f"{' and the reference GAE' if args.gae else ''}")
    checks = [(assert_advantages_unbiased, "is biased")]
    if args.gae:
        checks.append((assert_gae_matches_reference, "is not the reference GAE"))
    for prop, what in checks:
        try:
            prop(fn, max_examples=args.max_examples, lam=args.lam)
        except AdvantageBiasError as exc:
            print(f"FAIL: {args.target} {what} (minimal counterexample, shrunk by "
                  f"Hypothesis).\n{exc.counterexample}")
            return EXIT_FAIL
        except Exception as exc:  # the user's code raised: a failure, not a usage error
            return crashed(args.target, exc)
    print(f"PASS: {args.target} is unbiased at every buffer position on every drawn case"
          f"{' and equals the reference GAE' if args.gae else ''} (exact enumeration, atol 1e-9).")
    return EXIT_PASS


def run(args) -> int:
    if args.loss:
        return run_loss(args)
    if args.module is not None or args.reduction != "mean":
        print("pgproofs verify: error: --module and --reduction need --loss", file=sys.stderr)
        return EXIT_USAGE
    if args.advantages:
        return run_advantages(args)
    if args.gae or args.lam is not None:
        print("pgproofs verify: error: --gae and --lam need --advantages", file=sys.stderr)
        return EXIT_USAGE
    from pgproofs import check
    from pgproofs.testing import EstimatorBiasError, assert_estimator_unbiased, default_cases

    try:
        fn = load_target(args.target)
        estimator = check.from_surrogate_loss(fn) if args.surrogate else fn
        mdps = _mdps(args)
        default_cases(args.batch_size, off_policy=args.off_policy, mdps=mdps)  # validates sizes
    except (UsageError, ValueError) as exc:
        print(f"pgproofs verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    kind = "surrogate loss" if args.surrogate else "estimator"
    print(f"pgproofs verify: {kind} {args.target}: up to {args.max_examples} drawn MDPs and "
          f"policies, batch_size={args.batch_size}{', off-policy' if args.off_policy else ''}, "
          f"each decided exactly against dJ/dlogits")
    try:
        assert_estimator_unbiased(estimator, max_examples=args.max_examples,
                                  batch_size=args.batch_size, mdps=mdps,
                                  off_policy=args.off_policy)
    except EstimatorBiasError as exc:
        print(f"FAIL: {args.target} is biased (minimal counterexample, shrunk by Hypothesis).\n"
              f"{exc.counterexample}")
        return EXIT_FAIL
    except Exception as exc:  # the user's code raised: a failure, not a usage error
        return crashed(args.target, exc)
    print(f"PASS: {args.target} is unbiased on every drawn case (exact enumeration, atol 1e-9).")
    return EXIT_PASS
