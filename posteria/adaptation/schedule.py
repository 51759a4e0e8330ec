"""Stan's warmup schedule: fast and slow windows as per-step flags.

The schedule is static: it is computed with numpy from ``num_warmup`` before
tracing, and the warmup ``lax.scan`` reads one pair of flags per step.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["WarmupSchedule", "build_schedule"]


class WarmupSchedule(NamedTuple):
    """Per-step flags of a warmup schedule, each a boolean array of length ``num_warmup``.

    Attributes
    ----------
    is_slow_window
        The draw of this step goes into the mass-matrix estimate.
    is_window_end
        A slow window ends after this step: the estimate becomes the new
        inverse mass matrix and the step-size adaptation restarts.
    """

    is_slow_window: np.ndarray
    is_window_end: np.ndarray


def build_schedule(
    num_warmup: int,
    *,
    initial_buffer: int = 75,
    first_window: int = 25,
    final_buffer: int = 50,
) -> WarmupSchedule:
    """Stan's windowed-adaptation schedule.

    Warmup opens with a fast window of ``initial_buffer`` steps (step size
    only), then slow windows of ``first_window`` steps doubling in length,
    and closes with a fast window of ``final_buffer`` steps. A slow window
    is stretched to the start of the final buffer when the window after it
    would not fit there (Stan never stretches the first one). When
    ``num_warmup`` is shorter than the three stages, Stan's fallback
    applies: 15% initial, 75% one slow window, 10% final. Below 20 steps
    there are no slow windows (step-size adaptation only).

    Parameters
    ----------
    num_warmup
        Number of warmup steps.
    initial_buffer, first_window, final_buffer
        Stage lengths (Stan's ``init_buffer``, ``window``, ``term_buffer``).

    Returns
    -------
    WarmupSchedule
        Boolean numpy arrays of length ``num_warmup``.

    References
    ----------
    Stan Reference Manual, "HMC algorithm parameters: automatic parameter
    tuning"; Stan's ``windowed_adaptation``.

    Examples
    --------
    >>> import numpy as np
    >>> schedule = build_schedule(1000)
    >>> (np.flatnonzero(schedule.is_window_end) + 1).tolist()
    [100, 150, 250, 450, 950]
    >>> np.flatnonzero(schedule.is_slow_window)[[0, -1]].tolist()
    [75, 949]
    >>> build_schedule(19).is_slow_window.any()
    np.False_
    """
    if num_warmup < 0 or int(num_warmup) != num_warmup:
        raise ValueError(f"num_warmup must be a non-negative integer, got {num_warmup!r}")
    num_warmup = int(num_warmup)
    is_slow_window = np.zeros(num_warmup, dtype=bool)
    is_window_end = np.zeros(num_warmup, dtype=bool)
    if num_warmup < 20:
        return WarmupSchedule(is_slow_window, is_window_end)
    if initial_buffer + first_window + final_buffer > num_warmup:
        initial_buffer = int(0.15 * num_warmup)
        final_buffer = int(0.1 * num_warmup)
        first_window = num_warmup - initial_buffer - final_buffer

    slow_end = num_warmup - final_buffer
    is_slow_window[initial_buffer:slow_end] = True
    window_end, window_size = initial_buffer + first_window, first_window
    is_window_end[window_end - 1] = True
    while window_end < slow_end:
        window_size *= 2
        window_end += window_size
        if window_end + 2 * window_size > slow_end:
            window_end = slow_end
        is_window_end[window_end - 1] = True
    return WarmupSchedule(is_slow_window, is_window_end)
