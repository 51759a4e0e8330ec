"""A live progress bar for chains that run inside compiled programs.

The compiled loop reports every ``every`` steps through
``jax.debug.callback``; the reports go to the :class:`ChainProgress` that is
active at the time, which draws one rich progress bar per chain (draws/s
and divergences so far). Compiled programs hold no reference to a
particular bar, so one program serves many runs.
"""

from __future__ import annotations

import threading

import jax
import numpy as np

_active: list["ChainProgress"] = []


class ChainProgress:
    """Progress of several chains; a no-op when disabled.

    Examples
    --------
    >>> with ChainProgress(num_chains=2, num_steps=10, enabled=False) as progress:
    ...     progress.update(0, 10, 0)
    """

    def __init__(self, num_chains: int, num_steps: int, enabled: bool = True, num_tune: int = 0):
        self.enabled = enabled
        self.num_chains = num_chains
        self.num_steps = num_steps
        self.num_tune = num_tune
        self._lock = threading.Lock()
        self._progress = None
        self._tasks: list = []

    def __enter__(self) -> "ChainProgress":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("chain {task.fields[chain]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[phase]}"),
                TextColumn("{task.fields[rate]}"),
                TextColumn("divergences: {task.fields[divergences]}"),
                TimeRemainingColumn(),
            )
            self._progress.__enter__()
            self._tasks = [
                self._progress.add_task("", total=self.num_steps, chain=c, phase="warmup", rate="", divergences=0)
                for c in range(self.num_chains)
            ]
        _active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active.remove(self)
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def update(self, chain: int, step: int, num_divergent: int) -> None:
        """Record that ``chain`` finished ``step`` steps with ``num_divergent`` divergences."""
        if self._progress is None:
            return
        with self._lock:
            task = self._tasks[int(chain)]
            phase = "warmup" if step <= self.num_tune else "sampling"
            self._progress.update(task, completed=int(step), phase=phase, divergences=int(num_divergent))
            speed = self._progress.tasks[task].speed
            self._progress.update(task, rate=f"{speed:,.0f} draws/s" if speed else "")


def _to_active_bar(chain, step, num_divergent) -> None:
    if _active:
        _active[-1].update(int(np.asarray(chain)), int(np.asarray(step)), int(np.asarray(num_divergent)))


def report_fn(chain: jax.Array, num_steps: int, enabled: bool):
    """``report(step, num_divergent)`` for use inside a compiled loop; reports every 2% of ``num_steps``.

    Examples
    --------
    >>> report = report_fn(0, 100, enabled=False)
    >>> report(3, 0) is None
    True
    """
    if not enabled:
        return lambda step, num_divergent: None
    every = max(1, num_steps // 50)

    def report(step, num_divergent):
        is_due = ((step + 1) % every == 0) | (step + 1 == num_steps)
        jax.lax.cond(
            is_due,
            lambda: jax.debug.callback(_to_active_bar, chain, step + 1, num_divergent),
            lambda: None,
        )

    return report
