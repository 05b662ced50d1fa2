"""Loading a user's function named on the command line, and the exit statuses of ``pgproofs verify``.

Shared by every mode of ``pgproofs verify`` (estimators, surrogate losses,
advantage functions, policy losses): 0 the check passed, 1 it failed (or the
function raised), 2 the command was misused.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path

__all__ = ["EXIT_PASS", "EXIT_FAIL", "EXIT_USAGE", "UsageError", "load_target", "crashed"]

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A target that cannot be loaded; reported with exit status 2."""


def load_target(target: str):
    """The callable named by ``MODULE:FUNCTION`` (or ``path/file.py:FUNCTION``); UsageError if not."""
    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"target {target!r}: expected MODULE:FUNCTION, e.g. "
                         f"pgproofs.bugs:greedy_action")
    if module_name.endswith(".py"):
        module = _load_file(Path(module_name))
    else:
        # Like `python -m`, let modules in the current directory be found.
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(f"cannot import module {module_name!r}: {exc}") from None
        except Exception as exc:  # an error while executing the user's module
            raise UsageError(f"importing {module_name!r} failed:\n"
                             f"{''.join(traceback.format_exception(exc)).rstrip()}") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise UsageError(f"{target!r} is a {type(obj).__name__}, not a function")
    return obj


def _load_file(path: Path):
    if not path.is_file():
        raise UsageError(f"no such file: {str(path)!r}")
    spec = importlib.util.spec_from_file_location(f"_pgproofs_verify_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"running {str(path)!r} failed:\n"
                         f"{''.join(traceback.format_exception(exc)).rstrip()}") from None
    return module


def crashed(target: str, exc: BaseException) -> int:
    """Report that the user's function raised; the exit status of a failed check."""
    notes = "\n".join(getattr(exc, "__notes__", []))
    print(f"FAIL: {target} raised {type(exc).__name__}: {exc}\n{notes}".rstrip())
    return EXIT_FAIL
