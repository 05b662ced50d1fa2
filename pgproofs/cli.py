"""The ``pgproofs`` command.

Each subcommand lives with the code it drives; a module listed in
``SUBCOMMANDS`` exposes ``register(subparsers)``, which adds its parser and
sets ``func`` (called with the parsed args, returning an exit code). Heavy
imports (torch, gymnasium, matplotlib) stay inside those functions so that
``pgproofs --help`` is quick.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMANDS = (
    "pgproofs.report.cli",      # report, claims
    "pgproofs.cartpole.cli",    # train
    "pgproofs.verify",          # verify
)


def build_parser() -> argparse.ArgumentParser:
    from pgproofs import __version__

    parser = argparse.ArgumentParser(
        prog="pgproofs",
        description="Machine-checked claims of the CS285 Lecture 5 policy-gradient notes.")
    parser.add_argument("--version", action="version", version=f"pgproofs {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # a subcommand that is not built yet
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # `pgproofs claims --json | head` closed the pipe: not an error of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
