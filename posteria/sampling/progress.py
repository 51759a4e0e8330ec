"""A live progress bar for chains: one rich bar per chain (draws/s, divergences so far).

Chains run their compiled program chunk by chunk (:mod:`posteria.sampling.chain`)
and report here between chunks, from their threads.
"""

from __future__ import annotations

import threading


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
        return self

    def __exit__(self, *exc) -> None:
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
