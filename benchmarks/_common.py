"""What every benchmark script shares: timing, the machine's description, the JSON file."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np


def timed(fn, repeats: int):
    """Call fn ``repeats`` times; return (median seconds, fastest seconds, last result)."""
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(min(times)), out


def machine() -> dict:
    """Python, library versions and the CPU count, so a reader can compare runs."""
    info = {"python": platform.python_version(), "numpy": np.__version__,
            "cpus": os.cpu_count(), "platform": platform.platform()}
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def write_json(path: str | Path, result: dict) -> Path:
    """Stamp ``result`` with the machine and time and write it as indented JSON."""
    result = dict(result, machine=machine(),
                  created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
