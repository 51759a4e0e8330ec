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
    StepSizeSearch,
    adapted_transition,
    dual_averaging,
    final_parameters,
    find_reasonable_step_size,
)
from posteria.adaptation.window import WarmupResult, WindowAdaptationState, window_adaptation, window_adaptation_steps

ADAPTATIONS = {
    "stan": window_adaptation_steps,
    "fisher": fisher_adaptation_steps,
    "fisher_low_rank": fisher_low_rank_adaptation_steps,
}
"""Warmup methods by name, each ``steps(logdensity_fn, num_warmup, *, target_accept, dense_mass)``
returning ``(init, update, transition)`` (see :func:`window_adaptation_steps`); ``pa.sample(adaptation=...)``.

``dense_mass=True`` means: ``"stan"``, the draws' covariance; ``"fisher"``, the dense
Fisher-divergence minimiser; ``"fisher_low_rank"`` ignores it (its metric is a factored low-rank one)."""

LOW_RANK_MIN_DIMENSIONS = 20
"""From this many unconstrained dimensions up, ``adaptation="auto"`` adapts a low-rank metric."""


def choose_adaptation(adaptation: str, num_dimensions: int, dense_mass: bool) -> str:
    """The warmup ``pa.sample(adaptation=...)`` runs: a name of :data:`ADAPTATIONS`, ``"auto"`` resolved.

    ``"auto"`` is nutpie's low-rank Fisher warmup from
    :data:`LOW_RANK_MIN_DIMENSIONS` dimensions up, and Stan's below them or
    with ``dense_mass=True``. From 20 dimensions the posteriors a low-rank
    metric fixes gain most (gradients per bulk effective draw, seed-averaged:
    diamonds, 26-D, 3.5 against 3100 with Stan's warmup; the 100-D
    correlated Gaussian 8.6 against 132; stochastic volatility, 503-D, 113
    against 660); where it fixes nothing it samples as fast (hierarchical,
    logistic regression) but compiles 0.5-1 s longer (the hierarchical
    model's first call: 20-30% fewer effective draws per second). Below, those
    fixed costs (and about 1 us more per leapfrog step) are most of a fit's
    time, and on posteriordb's 13-D Gaussian-process funnel it mixes worse
    than Stan's diagonal metric; pass ``adaptation="fisher_low_rank"`` for a small,
    strongly correlated posterior (posteriordb's 3-D earnings regression:
    4.5 gradients per effective draw against 220).

    Examples
    --------
    >>> choose_adaptation("auto", 10, dense_mass=False), choose_adaptation("auto", 500, dense_mass=False)
    ('stan', 'fisher_low_rank')
    >>> choose_adaptation("auto", 500, dense_mass=True), choose_adaptation("fisher", 5, dense_mass=False)
    ('stan', 'fisher')
    """
    if adaptation != "auto":
        if adaptation not in ADAPTATIONS:
            raise ValueError(f"adaptation must be 'auto' or one of {sorted(ADAPTATIONS)}, got {adaptation!r}")
        return adaptation
    if dense_mass or num_dimensions < LOW_RANK_MIN_DIMENSIONS:
        return "stan"
    return "fisher_low_rank"


__all__ = [
    "ADAPTATIONS",
    "LOW_RANK_MIN_DIMENSIONS",
    "choose_adaptation",
    "DrawGradBuffer",
    "DualAveragingState",
    "FisherAdaptationState",
    "FisherSchedule",
    "StepSizeSearch",
    "WarmupResult",
    "WarmupSchedule",
    "WelfordState",
    "WindowAdaptationState",
    "adapted_transition",
    "build_fisher_schedule",
    "build_schedule",
    "dual_averaging",
    "final_parameters",
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
