"""Shared test settings: deterministic Hypothesis profiles and one torch thread."""

import os

import torch
from hypothesis import HealthCheck, settings

# One thread per xdist worker: two workers on two cores, no oversubscription.
torch.set_num_threads(1)

_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI=true makes Hypothesis load its built-in "ci" profile (derandomized, no
# database); ours builds on it so CI runs stay deterministic.
settings.register_profile("pgproofs-ci", settings.get_profile("ci"), **_common)
settings.register_profile("pgproofs-dev", derandomize=True, database=None, **_common)
settings.load_profile(os.environ.get("PGPROOFS_HYPOTHESIS_PROFILE",
                                     "pgproofs-ci" if os.environ.get("CI") else "pgproofs-dev"))
