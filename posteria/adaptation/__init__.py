"""Stan-style warmup adaptation for NUTS: step size, mass matrix, window schedule.

Adaptation knows only a log density over a flat vector and the NUTS kernel;
every piece is a pure ``(init, update, final)`` triple that runs under
``lax.scan``, and :func:`window_adaptation` joins them into one warmup loop.
"""

from posteria.adaptation.mass_matrix import (
    WelfordState,
    mass_matrix_adaptation,
    regularize,
    sample_covariance,
)
from posteria.adaptation.schedule import WarmupSchedule, build_schedule
from posteria.adaptation.step_size import (
    DualAveragingState,
    dual_averaging,
    find_reasonable_step_size,
)
from posteria.adaptation.window import WarmupResult, WindowAdaptationState, window_adaptation, window_adaptation_steps

ADAPTATIONS = {"stan": window_adaptation_steps}
"""Warmup methods by name, each ``steps(logdensity_fn, num_warmup, *, target_accept, dense_mass)``
returning ``(init, update, parameters)`` (see :func:`window_adaptation_steps`); ``pa.sample(adaptation=...)``."""

__all__ = [
    "ADAPTATIONS",
    "DualAveragingState",
    "WarmupResult",
    "WarmupSchedule",
    "WelfordState",
    "WindowAdaptationState",
    "build_schedule",
    "dual_averaging",
    "find_reasonable_step_size",
    "mass_matrix_adaptation",
    "regularize",
    "sample_covariance",
    "window_adaptation",
    "window_adaptation_steps",
]
