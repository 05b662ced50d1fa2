"""Shared test settings: deterministic Hypothesis profiles and one torch thread."""

import os

import torch
from hypothesis import HealthCheck, settings
from hypothesis.internal.conjecture import providers as _hypothesis_providers

# One thread per xdist worker: two workers on two cores, no oversubscription.
torch.set_num_threads(1)

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI=true makes Hypothesis load its built-in "ci" profile (derandomized, no
# database); ours builds on it so CI runs stay deterministic.
settings.register_profile("pgproofs-ci", settings.get_profile("ci"), **_common)
settings.register_profile("pgproofs-dev", derandomize=True, database=None, **_common)
settings.load_profile(os.environ.get("PGPROOFS_HYPOTHESIS_PROFILE",
                                     "pgproofs-ci" if os.environ.get("CI") else "pgproofs-dev"))

# Hypothesis (6.131 and later) mixes literals found in the project's own loaded modules into the
# data it generates. Which modules an xdist worker has imported when a test starts depends on
# scheduling, so a derandomized search could see different cases from one run to the next, and
# adding a module anywhere could change (and once did weaken) another test's search. The suite's
# examples must be a function of the test alone: no local constants. (A private hook; if a later
# Hypothesis renames it, this assertion says so rather than letting the nondeterminism back in.)
# Taken from the module, not from the hook's globals: a second pytest session in one process (as
# mutmut runs) loads this file again, after the hook is already replaced.
assert hasattr(_hypothesis_providers, "_get_local_constants") \
    and hasattr(_hypothesis_providers, "Constants"), \
    "Hypothesis changed its local-constants hook: update tests/conftest.py"
_NO_LOCAL_CONSTANTS = _hypothesis_providers.Constants(
    integers=_hypothesis_providers.SortedSet(),
    floats=_hypothesis_providers.SortedSet(key=_hypothesis_providers.float_to_int),
    bytes=_hypothesis_providers.SortedSet(), strings=_hypothesis_providers.SortedSet())
_hypothesis_providers._get_local_constants = lambda *args, **kwargs: _NO_LOCAL_CONSTANTS


def pytest_collection_modifyitems(items):
    """Longest work first, so two xdist workers finish together: the CartPole group (one
    worker, its runs cached), then the other slow checks, then the rest (order kept within
    each)."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("xdist_group")
               else 1 if item.get_closest_marker("slow") else 2)
