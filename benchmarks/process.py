"""Each benchmark step in a fresh Python process, killed with everything it started when it runs out of time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_module(args: list[str], *, env: dict[str, str] | None = None, timeout: float) -> subprocess.CompletedProcess:
    """Run ``python -m ARGS`` from the repository root in a new session and collect its output.

    ``subprocess.run(timeout=...)`` kills only the child it started; PyMC's
    sampler processes (and any other grandchild) would live on and load the
    machine for the runs that follow. Here the child leads its own process
    group, and the whole group is killed when the time is up (POSIX only).

    Raises
    ------
    subprocess.TimeoutExpired
        After ``timeout`` seconds, once the process group has been killed.

    Examples
    --------
    >>> done = run_module(["this"], timeout=60)
    >>> done.returncode, done.stdout.splitlines()[0]
    (0, 'The Zen of Python, by Tim Peters')
    >>> run_module(["timeit", "-n1", "import time; time.sleep(30)"], timeout=0.5)
    Traceback (most recent call last):
    subprocess.TimeoutExpired: Command '...' timed out after 0.5 seconds
    """
    with subprocess.Popen([sys.executable, "-m", *args], cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:  # time out or Ctrl-C: the child has not been reaped, so its group id is still its own
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
