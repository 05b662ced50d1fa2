"""``pgproofs verify MODULE:FUNCTION --loss --module MODULE:FACTORY``: check a policy loss.

FUNCTION is a loss (module, buf, critic) -> scalar torch loss over a rollout
buffer; FACTORY(n_features, n_actions) builds the torch.nn.Module it trains.
``pgproofs.testing.assert_loss_unbiased`` draws episodic MDPs, features,
module seeds, n_steps and n_envs (1-2), decides each case exactly against
the on-policy gradient g over every buffer, and prints the minimal case.
Exit status as for every ``verify``: 0 unbiased, 1 biased (or the code
raised), 2 usage error.
"""

from __future__ import annotations

import sys

from pgproofs.targets import EXIT_FAIL, EXIT_PASS, EXIT_USAGE, UsageError, crashed, load_target

__all__ = ["add_loss_options", "run_loss"]


def add_loss_options(parser) -> None:
    """The --loss / --module / --reduction options of ``pgproofs verify``."""
    parser.add_argument("--loss", action="store_true",
                        help="FUNCTION is a policy loss (module, buf, critic) -> scalar torch loss "
                             "over a rollout buffer; needs --module")
    parser.add_argument("--module", metavar="MODULE:FACTORY", default=None,
                        help="with --loss: FACTORY(n_features, n_actions) -> torch.nn.Module, "
                             "e.g. pgproofs.policy_losses:mlp")
    parser.add_argument("--reduction", choices=("mean", "sum"), default="mean",
                        help="with --loss: the loss averages (mean, default) or sums over the "
                             "n_steps * n_envs buffer positions")


def run_loss(args) -> int:
    conflicts = [flag for flag, on in (("--surrogate", args.surrogate),
                                       ("--advantages", args.advantages),
                                       ("--off-policy", args.off_policy),
                                       ("--gae", args.gae), ("--lam", args.lam is not None),
                                       ("--batch-size", args.batch_size != 1)) if on]
    if conflicts:
        print(f"pgproofs verify: error: --loss does not take {', '.join(conflicts)}",
              file=sys.stderr)
        return EXIT_USAGE
    if args.module is None:
        print("pgproofs verify: error: --loss needs --module MODULE:FACTORY", file=sys.stderr)
        return EXIT_USAGE
    try:
        fn = load_target(args.target)
        factory = load_target(args.module)
    except UsageError as exc:
        print(f"pgproofs verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from pgproofs.testing import LossBiasError, assert_loss_unbiased

    print(f"pgproofs verify: policy loss {args.target} with modules from {args.module}: up to "
          f"{args.max_examples} drawn episodic MDPs, features, module seeds, n_steps and n_envs "
          f"(1-2); each case decided exactly over every buffer against the on-policy gradient g "
          f"(reduction {args.reduction!r})")
    try:
        assert_loss_unbiased(fn, factory, max_examples=args.max_examples,
                             reduction=args.reduction)
    except LossBiasError as exc:
        print(f"FAIL: {args.target} is biased (minimal counterexample, shrunk by Hypothesis).\n"
              f"{exc.counterexample}")
        return EXIT_FAIL
    except Exception as exc:  # the user's code raised: a failure, not a usage error
        return crashed(args.target, exc)
    print(f"PASS: {args.target} is unbiased on every drawn case (exact enumeration, atol 1e-9).")
    return EXIT_PASS
