"""Warmup adaptation for NUTS: step size, mass matrix, window schedules (Stan's and nutpie's).

Adaptation knows only a log density over a flat vector and the NUTS kernel;
every piece is a pure ``(init, update, final)`` triple that runs under
``lax.scan``, and :func:`window_adaptation` joins them into one warmup loop.
"""

from posteria.adaptation.fisher import (
    FisherAdaptationState,
    fisher_adaptation_steps,
    fisher_low_rank_adaptation_steps,
)
from posteria.adaptation.fisher_dense import DrawGradBuffer, fisher_dense_metric
from posteria.adaptation.fisher_schedule import FisherSchedule, build_fisher_schedule
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

ADAPTATIONS = {
    "stan": window_adaptation_steps,
    "fisher": fisher_adaptation_steps,
    "fisher_low_rank": fisher_low_rank_adaptation_steps,
}
"""Warmup methods by name, each ``steps(logdensity_fn, num_warmup, *, target_accept, dense_mass)``
returning ``(init, update, parameters)`` (see :func:`window_adaptation_steps`); ``pa.sample(adaptation=...)``.

``dense_mass=True`` means: ``"stan"``, the draws' covariance; ``"fisher"``, the dense
Fisher-divergence minimiser; ``"fisher_low_rank"`` ignores it (its metric is a factored low-rank one)."""

__all__ = [
    "ADAPTATIONS",
    "DrawGradBuffer",
    "DualAveragingState",
    "FisherAdaptationState",
    "FisherSchedule",
    "WarmupResult",
    "WarmupSchedule",
    "WelfordState",
    "WindowAdaptationState",
    "build_fisher_schedule",
    "build_schedule",
    "dual_averaging",
    "find_reasonable_step_size",
    "fisher_adaptation_steps",
    "fisher_dense_metric",
    "fisher_low_rank_adaptation_steps",
    "mass_matrix_adaptation",
    "regularize",
    "sample_covariance",
    "window_adaptation",
    "window_adaptation_steps",
]
