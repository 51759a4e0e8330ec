"""The machine and the library versions a benchmark ran on (read without importing the libraries)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

PACKAGES = ("posteria", "jax", "jaxlib", "numpyro", "blackjax", "pymc", "pytensor", "nutpie", "arviz", "numpy")
"""Distributions whose versions are recorded."""


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``).

    Examples
    --------
    >>> isinstance(cpu_model(), str)
    True
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_revision() -> str | None:
    try:
        completed = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=Path(__file__).parent,
                                   capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def environment() -> dict[str, Any]:
    """Date, CPU, cores, load, Python and package versions, and the repository revision.

    Examples
    --------
    >>> env = environment()
    >>> sorted(env)
    ['cores', 'cores_available', 'cpu', 'date', 'git_revision', 'load_average', 'platform', 'python', 'versions']
    >>> env["versions"]["posteria"] is not None
    True
    """
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in PACKAGES},
        "git_revision": _git_revision(),
    }
