"""nutpie's warmup schedule: when the background estimator replaces the foreground one.

The schedule is static: computed with numpy from ``num_warmup`` before
tracing, read as one pair of flags per warmup step inside ``lax.scan``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["FisherSchedule", "build_fisher_schedule", "foreground_capacity", "foreground_sizes"]


class FisherSchedule(NamedTuple):
    """Per-step flags of the Fisher warmup, each a boolean array of length ``num_warmup``.

    Attributes
    ----------
    is_mass_matrix_window
        The draw of this step enters the estimators and the metric may change
        (every step before the final step-size-only stretch).
    is_switch
        After this step the background estimator becomes the foreground and a
        new background starts.
    is_early_metric
        The transition of this step runs under a metric of the early, short
        windows: every step up to the first switch at the later frequency
        (that switch's step included, its metric serves the next one), or up
        to the end of the early stretch when no such switch comes.
    """

    is_mass_matrix_window: np.ndarray
    is_switch: np.ndarray
    is_early_metric: np.ndarray


def build_fisher_schedule(
    num_warmup: int,
    *,
    early_fraction: float = 0.3,
    final_fraction: float = 0.05,
    early_switch_freq: int = 10,
    switch_freq: int = 80,
) -> FisherSchedule:
    """nutpie's warmup schedule: frequent estimator switches early, rarer later, a step-size-only end.

    The metric adapts during the first ``num_warmup - int(final_fraction *
    num_warmup)`` steps. The background estimator (which starts with the
    initial point) becomes the foreground as soon as it holds
    ``early_switch_freq`` draws during the first ``int(early_fraction *
    num_warmup)`` steps and ``switch_freq`` draws afterwards, unless fewer
    than that many metric steps remain (the last foreground then grows to
    the end of the metric stage).

    Parameters
    ----------
    num_warmup
        Number of warmup steps.
    early_fraction, final_fraction
        Fractions of warmup with frequent switches, and with the metric frozen.
    early_switch_freq, switch_freq
        Background size at which it replaces the foreground, early and later.

    Returns
    -------
    FisherSchedule
        Boolean numpy arrays of length ``num_warmup``.

    References
    ----------
    nutpie / nuts-rs ``GlobalStrategy`` (defaults 0.3, 0.15, 10, 80). The
    final stretch here is Stan's term buffer instead (50 of 1000 steps): with
    the step-size restart before it (:mod:`posteria.adaptation.fisher`), 15%
    made the kept acceptance 0.85 instead of Stan's 0.88, and cost 17% more
    gradients per effective draw on the benchmark's linear regression.

    Examples
    --------
    >>> import numpy as np
    >>> schedule = build_fisher_schedule(1000)
    >>> int(schedule.is_mass_matrix_window.sum())
    950
    >>> switches = np.flatnonzero(schedule.is_switch) + 1
    >>> switches[:3].tolist(), switches[-3:].tolist()
    ([9, 19, 29], [699, 779, 859])
    >>> int(schedule.is_early_metric.sum())  # up to the first switch after 80 draws, at step 378
    379
    """
    if num_warmup < 0 or int(num_warmup) != num_warmup:
        raise ValueError(f"num_warmup must be a non-negative integer, got {num_warmup!r}")
    num_warmup = int(num_warmup)
    mass_matrix_end = num_warmup - int(final_fraction * num_warmup)
    early_end = int(early_fraction * num_warmup)
    is_switch = np.zeros(num_warmup, dtype=bool)
    background = 1  # the initial point
    for step in range(mass_matrix_end):
        background += 1
        freq = early_switch_freq if step < early_end else switch_freq
        if background >= freq and step + freq <= mass_matrix_end:
            is_switch[step] = True
            background = 0
    is_mass_matrix_window = np.arange(num_warmup) < mass_matrix_end
    late_switches = np.flatnonzero(is_switch[early_end:]) + early_end
    early_metric_end = late_switches[0] + 1 if late_switches.size else early_end
    return FisherSchedule(is_mass_matrix_window, is_switch, np.arange(num_warmup) < early_metric_end)


def foreground_sizes(schedule: FisherSchedule) -> np.ndarray:
    """Steps in the foreground window after each step's draw and switch (the initial point counts as one).

    Divergent draws are left out of the estimators, so a foreground holds at
    most this many rows. Only the values at metric steps matter: the count
    goes on through the final step-size-only stretch, where no draw is added.

    Examples
    --------
    >>> foreground_sizes(build_fisher_schedule(1000))[[0, 8, 9, 18, 949]].tolist()  # switches after 8 and 18
    [2, 10, 11, 10, 171]
    """
    sizes = np.zeros(schedule.is_switch.shape, dtype=int)
    foreground_start = background_start = -1  # the initial point's step
    for step, is_switch in enumerate(schedule.is_switch):
        if is_switch:
            foreground_start, background_start = background_start, step + 1
        sizes[step] = step - foreground_start + 1
    return sizes


def foreground_capacity(schedule: FisherSchedule) -> int:
    """Most draws a foreground window ever holds, the initial point and the draw being written included.

    A ring buffer of this many slots never overwrites a foreground draw.

    Parameters
    ----------
    schedule
        A Fisher warmup schedule.

    Returns
    -------
    int
        At least 2.

    Examples
    --------
    >>> foreground_capacity(build_fisher_schedule(1000))  # the last foreground: steps 779..949
    171
    """
    switches = np.flatnonzero(schedule.is_switch)
    num_steps = int(schedule.is_mass_matrix_window.sum())
    starts = np.concatenate([[-1, -1], switches + 1])  # foreground after k switches starts at starts[k]
    ends = np.concatenate([switches, [num_steps - 1]])  # ...and is last extended at ends[k]
    return int(np.max(ends - starts[: len(ends)] + 1, initial=2))
