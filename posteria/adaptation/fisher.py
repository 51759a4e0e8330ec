"""nutpie's warmup: a mass matrix from the draws AND their gradients, in overlapping windows.

For a Gaussian, ``Cov(x) = Cov(grad log p)^{-1}``; the inverse mass matrix
that minimises the sample Fisher divergence between the preconditioned
posterior and a standard normal, ``A`` with ``A Cov(g) A = Cov(x)``, uses
both, and converges from far fewer draws than the draws' variance alone
(Stan's estimate). Among diagonal matrices the minimiser is
``sqrt(Var(x_i) / Var(g_i))``.

Two estimators run at once: every warmup draw goes into both, the metric is
recomputed from the *foreground* one, and every ``switch_freq`` draws the
*background* one becomes the foreground and a fresh background starts, so
the estimate forgets the transient of the first draws without ever starting
from nothing. The switches are frequent early in warmup and rarer later.
While the metric comes from the early, short windows, a warmup transition
makes at most :data:`EARLY_TREE_DEPTH` doublings: its draw only feeds the
next window, and a metric that lasts 10 transitions is not worth NUTS's
100-step trajectories. The last stretch of warmup (5%, Stan's term buffer)
keeps the metric fixed and tunes only the step size: the step size is
searched again under the final metric and dual averaging restarts, as Stan
does at its last window end. Its average over that short stretch gives
Stan's kept acceptance (about 0.88 at ``target_accept=0.8``), where NUTS's
doubling costs fewer gradients per effective draw on near-Gaussian
posteriors than at 0.8.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from posteria.adaptation.fisher_dense import (
    MAX_RANK,
    VARIANCE_BOUNDS,
    buffer_add,
    buffer_init,
    buffer_switch,
    fisher_dense_metric,
    fisher_low_rank_metric,
    low_rank_size,
)
from posteria.adaptation.fisher_schedule import (
    FisherSchedule,
    build_fisher_schedule,
    foreground_capacity,
    foreground_sizes,
)
from posteria.adaptation.mass_matrix import mass_matrix_adaptation
from posteria.adaptation.step_size import DualAveragingState, adapted_transition, dual_averaging
from posteria.mcmc import nuts
from posteria.mcmc.metrics import LowRankInverseMass
from posteria.mcmc.pytree import tree_select

__all__ = ["FisherAdaptationState", "fisher_adaptation_steps", "fisher_low_rank_adaptation_steps"]


def _gradient_metric(gradient: Array) -> Array:
    """nutpie's first metric: ``1 / |g_i|``, 1 where the gradient is 0 or not finite."""
    variance = jnp.clip(1.0 / jnp.abs(gradient), *VARIANCE_BOUNDS)
    return jnp.where(jnp.isfinite(variance) & (gradient != 0), variance, 1.0)


EARLY_TREE_DEPTH = 4
"""Most doublings of a warmup transition under the early windows' metrics (at most 15 leapfrog steps).

Those metrics come from 10 to 20 draws and last 10 transitions; under them
NUTS ran trajectories of 70-150 steps on the benchmark's 100-D correlated
Gaussian and 503-D stochastic volatility model (nutpie's run the same), most
of the warmup's gradients, for draws that only feed the next window. Capped
(4 chains of 1000 + 1000, seeds 1-4, 2026-12-04): warmup gradients
correlated Gaussian -69%, stochastic volatility -55%, diamonds -32%,
hierarchical -6%, logistic regression unchanged; ``pa.sample``'s run time
2.39 -> 1.24 s, 7.28 -> 5.10 s and 1.74 -> 1.31 s on the first three;
gradients per effective draw after warmup within the seeds' spread (8.40 ->
8.75, 134 -> 127, 4.72 -> 4.61). Depth 5 saved less; depth 3 began to cost
sampling efficiency on the stochastic volatility model.
"""

_NO_LIMIT = np.iinfo(np.int32).max

SMALL_WINDOW = 32
"""Rows a low-rank metric is computed from while the foreground is this small (nutpie's early switches)."""


def _recent_rows_pay(num_dimensions: int, capacity: int) -> bool:
    """Whether the latest ``SMALL_WINDOW`` rows give a cheaper low-rank metric of the same shape than the buffer.

    The metric is then solved in the span of those rows (``O(d w^2)``
    instead of ``O(d^3)`` or ``O(d capacity^2)``) with the same number of
    columns, and the program holds both paths. Measured with 4 chains of
    1000 + 1000: 10-17% less wall time on the 500-dimensional stochastic
    volatility model, nothing measurable at 89 and 100 dimensions, hence
    the ``4 * SMALL_WINDOW`` threshold.
    """
    same_shape = low_rank_size(num_dimensions, SMALL_WINDOW, MAX_RANK) == low_rank_size(num_dimensions, capacity, MAX_RANK)
    return num_dimensions > 4 * SMALL_WINDOW and capacity > SMALL_WINDOW and same_shape


def _is_final_metric_step(schedule: FisherSchedule) -> np.ndarray:
    """Flags the step that sets the final metric, when a step-size-only stretch follows it.

    There the step size is searched again and dual averaging restarts, as at
    the start of Stan's term buffer.
    """
    flags = np.zeros(schedule.is_switch.shape, dtype=bool)
    metric_steps = np.flatnonzero(schedule.is_mass_matrix_window)
    if metric_steps.size and metric_steps[-1] + 1 < flags.size:
        flags[metric_steps[-1]] = True
    return flags


class _Estimator(NamedTuple):
    """How one kind of metric is estimated.

    ``init(position, gradient) -> (estimator, first metric)``; ``add(estimator,
    step, position, gradient, is_good)`` and ``switch(estimator, step,
    is_switch)`` run every step and are cheap (masked, no ``lax.cond``);
    ``metric(estimator, previous, step) -> (metric, is_changed)`` runs under
    ``lax.cond`` only at the steps flagged in ``is_update``.
    """

    init: Callable[[Array, Array], tuple[Any, Array]]
    add: Callable[[Any, Array, Array, Array, Array], Any]
    switch: Callable[[Any, Array, Array], Any]
    metric: Callable[[Any, Array, Array], tuple[Array, Array]]
    is_update: np.ndarray


def _diagonal_estimator(schedule: FisherSchedule) -> _Estimator:
    """Foreground and background Welford moments of ``(x, g)``; the metric recomputed after every metric step.

    nutpie recomputes the diagonal after every draw (``mass_matrix_update_freq=1``);
    it costs ``O(d)``, as much as adding the draw.
    """
    welford_init, welford_update, _ = mass_matrix_adaptation()

    def init(position, gradient):
        draw_grad = jnp.concatenate([position, gradient])
        moments = welford_update(welford_init(draw_grad), draw_grad)
        return (moments, moments), _gradient_metric(gradient)

    def add(estimators, step, position, gradient, is_good):
        draw_grad = jnp.concatenate([position, gradient])
        return tree_select(is_good, tuple(welford_update(moments, draw_grad) for moments in estimators), estimators)

    def switch(estimators, step, is_switch):
        background = estimators[1]
        return tree_select(is_switch, (background, welford_init(background.mean)), estimators)

    def metric(estimators, previous, step):
        foreground = estimators[0]
        num_dimensions = previous.shape[0]
        variance = jnp.sqrt(foreground.m2[:num_dimensions] / foreground.m2[num_dimensions:])
        is_valid = jnp.isfinite(variance) & (variance > 0) & (foreground.num_samples >= 3)
        return jnp.where(is_valid, jnp.clip(variance, *VARIANCE_BOUNDS), previous), jnp.any(is_valid)

    return _Estimator(init, add, switch, metric, schedule.is_mass_matrix_window)


def _dense_estimator(schedule: FisherSchedule, eigenvalue_cutoff: float) -> _Estimator:
    """A ring buffer of the foreground draws; the metric recomputed at each switch and at the end.

    ``eigenvalue_cutoff=1``: the dense Fisher metric, a ``(d, d)`` array.
    Otherwise the diagonal one with at most ``MAX_RANK`` corrections, kept
    factored (:class:`~posteria.mcmc.metrics.LowRankInverseMass`).
    """
    capacity = foreground_capacity(schedule)
    mass_matrix_steps = np.flatnonzero(schedule.is_mass_matrix_window)
    is_update = schedule.is_switch.copy()
    if mass_matrix_steps.size:
        is_update[mass_matrix_steps[-1]] = True
    is_dense = eigenvalue_cutoff == 1.0
    is_small_update = jnp.asarray(foreground_sizes(schedule) <= SMALL_WINDOW)

    def init(position, gradient):
        variance = _gradient_metric(gradient)
        if is_dense:
            return buffer_init(position, gradient, capacity), jnp.diag(variance)
        rank = low_rank_size(position.shape[0], capacity, MAX_RANK)
        first = LowRankInverseMass(jnp.sqrt(variance), jnp.zeros((position.shape[0], rank), variance.dtype),
                                   jnp.ones(rank, variance.dtype))
        return buffer_init(position, gradient, capacity), first

    def from_rows(positions, gradients, steps, foreground_start, previous):
        weights = steps >= foreground_start
        if is_dense:
            inverse_mass_matrix = fisher_dense_metric(positions, gradients, weights)
        else:
            inverse_mass_matrix = fisher_low_rank_metric(positions, gradients, weights, eigenvalue_cutoff=eigenvalue_cutoff)
        is_finite = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda a: jnp.all(jnp.isfinite(a)), inverse_mass_matrix))
        is_valid = jnp.all(jnp.stack(is_finite)) & (jnp.sum(weights) >= 3)
        return tree_select(is_valid, inverse_mass_matrix, previous), is_valid

    def from_buffer(buffer, previous):
        return from_rows(buffer.positions, buffer.gradients, buffer.steps, buffer.foreground_start, previous)

    def from_recent_rows(buffer, previous):
        rows = (buffer.next_slot - 1 - jnp.arange(SMALL_WINDOW)) % capacity  # the latest draws, newest first
        return from_rows(buffer.positions[rows], buffer.gradients[rows], buffer.steps[rows], buffer.foreground_start,
                         previous)

    def metric(buffer, previous, step):
        num_dimensions = buffer.positions.shape[1]
        if is_dense or not _recent_rows_pay(num_dimensions, capacity):
            return from_buffer(buffer, previous)
        return jax.lax.cond(is_small_update[step], from_recent_rows, from_buffer, buffer, previous)

    return _Estimator(init, buffer_add, buffer_switch, metric, is_update)


class FisherAdaptationState(NamedTuple):
    """What the Fisher warmup carries from step to step besides the sampler state.

    Attributes
    ----------
    dual_averaging
        Step-size adaptation; ``exp(dual_averaging.log_step_size)`` is the
        step size of the next warmup transition.
    estimator
        Foreground and background estimators: two
        :class:`~posteria.adaptation.mass_matrix.WelfordState` of the
        concatenated draw and gradient for a diagonal metric, a
        :class:`~posteria.adaptation.fisher_dense.DrawGradBuffer` for a dense or low-rank one.
    inverse_mass_matrix
        Metric of the next transition: 1-D (diagonal), 2-D (dense) or a
        :class:`~posteria.mcmc.metrics.LowRankInverseMass`.
    is_initial_metric
        Whether the metric is still the first guess from the initial gradient
        (the step size is searched again when it first changes). Not a
        function of the step: which step first changes the metric depends on
        divergences and on degenerate estimates.
    is_search_pending
        Whether the step size is searched again before the next transition.
    tree_depth_limit
        Most doublings of the next transition: :data:`EARLY_TREE_DEPTH` under
        the early windows' metrics, no limit (the kernel's own) after them and
        after warmup.
    """

    dual_averaging: DualAveragingState
    estimator: Any
    inverse_mass_matrix: Array
    is_initial_metric: Array
    is_search_pending: Array
    tree_depth_limit: Array


def _fisher_steps(logdensity_fn, num_warmup, target_accept, initial_step_size, schedule, eigenvalue_cutoff):
    """``(init, update, transition)`` of the Fisher warmup; ``eigenvalue_cutoff=None`` for a diagonal metric."""
    schedule = build_fisher_schedule(num_warmup) if schedule is None else schedule
    if eigenvalue_cutoff is None:
        estimator = _diagonal_estimator(schedule)
    else:
        estimator = _dense_estimator(schedule, eigenvalue_cutoff)
    is_mass_matrix_window = jnp.asarray(schedule.is_mass_matrix_window)
    is_switch = jnp.asarray(schedule.is_switch)
    is_update = jnp.asarray(estimator.is_update)
    is_final_metric = jnp.asarray(_is_final_metric_step(schedule))
    # The limit of each warmup step's transition, then none: the last update sets it for sampling.
    tree_depth_limits = np.where(schedule.is_early_metric, EARLY_TREE_DEPTH, _NO_LIMIT)
    tree_depth_limits = jnp.asarray(np.append(tree_depth_limits, _NO_LIMIT), dtype=jnp.int32)
    step_size_init, step_size_update, _ = dual_averaging(target_accept)

    def init(state: nuts.HMCState) -> FisherAdaptationState:
        estimators, inverse_mass_matrix = estimator.init(state.position, state.logdensity_grad)
        return FisherAdaptationState(
            step_size_init(initial_step_size), estimators, inverse_mass_matrix, jnp.array(True), jnp.array(True),
            tree_depth_limits[0],
        )

    def update(step_index, state, adaptation, info) -> FisherAdaptationState:
        is_good = (
            is_mass_matrix_window[step_index]
            & ~info.is_divergent
            & jnp.isfinite(state.logdensity)
            & jnp.all(jnp.isfinite(state.logdensity_grad))
        )
        estimators = estimator.add(adaptation.estimator, step_index, state.position, state.logdensity_grad, is_good)
        estimators = estimator.switch(estimators, step_index, is_switch[step_index])
        inverse_mass_matrix, is_changed = jax.lax.cond(
            is_update[step_index],
            estimator.metric,
            lambda _, previous, __: (previous, jnp.array(False)),
            estimators,
            adaptation.inverse_mass_matrix,
            step_index,
        )
        is_restart = (is_changed & adaptation.is_initial_metric) | is_final_metric[step_index]
        dual_averaging_state = tree_select(
            is_restart, adaptation.dual_averaging, step_size_update(adaptation.dual_averaging, info.acceptance_rate)
        )
        return FisherAdaptationState(
            dual_averaging_state, estimators, inverse_mass_matrix, adaptation.is_initial_metric & ~is_changed,
            is_restart, tree_depth_limits[step_index + 1],
        )

    def transition(rng_key, state, adaptation: FisherAdaptationState, is_warmup, kernel):
        return adapted_transition(rng_key, state, adaptation, is_warmup, logdensity_fn, kernel,
                                  adaptation.tree_depth_limit)

    return init, update, transition


def fisher_adaptation_steps(
    logdensity_fn: Callable[[Array], Array],
    num_warmup: int,
    *,
    target_accept: float = 0.8,
    dense_mass: bool = False,
    initial_step_size: float = 1.0,
    schedule: FisherSchedule | None = None,
) -> tuple[Callable, Callable, Callable]:
    """nutpie's warmup as ``(init, update, transition)``, the same contract as Stan's.

    The metric starts at ``1 / |grad log p(x0)|`` and is recomputed after
    every warmup step of the metric stage from the foreground window's draws
    and gradients: ``sqrt(Var(x_i) / Var(g_i))`` per coordinate (clipped to
    ``VARIANCE_BOUNDS``; a coordinate whose estimate is not finite keeps its
    previous value), or, with ``dense_mass=True``, the dense Fisher metric of
    :func:`~posteria.adaptation.fisher_dense.fisher_dense_metric` (recomputed
    at each switch and at the end of the metric stage, ``O(d^3)``). Divergent draws are left out of the
    estimates. The step size: found by Stan's heuristic at the start, again
    when the metric first changes and again under the final metric (as at
    the start of Stan's term buffer), otherwise dual averaging; after warmup,
    its average over the final stretch. Under the early windows' metrics
    (``schedule.is_early_metric``) a transition makes at most
    :data:`EARLY_TREE_DEPTH` doublings.

    Parameters
    ----------
    logdensity_fn
        Log density over a flat position vector.
    num_warmup
        Number of warmup steps (a Python int); any value from 1 works.
    target_accept
        Mean acceptance rate the step size is tuned to.
    dense_mass
        Adapt a dense metric (the full Fisher-divergence minimiser) instead of a diagonal one.
    initial_step_size
        Where the first step-size search starts.
    schedule
        Switch schedule (default :func:`build_fisher_schedule` of ``num_warmup``).

    Returns
    -------
    init, update, transition
        As :func:`~posteria.adaptation.window.window_adaptation_steps`, with a
        :class:`FisherAdaptationState`.

    References
    ----------
    Seyboldt, A., Carlson, E. L. and Carpenter, B. (2026). Preconditioning
    Hamiltonian Monte Carlo by minimizing Fisher divergence. arXiv:2603.18845;
    nutpie / nuts-rs ``GlobalStrategy`` and its diagonal ``Strategy``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc import nuts
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> init, update, transition = fisher_adaptation_steps(logdensity_fn, 100)
    >>> state = nuts.init(jnp.ones(3), logdensity_fn)
    >>> init(state).inverse_mass_matrix  # nutpie's first guess, 1 / |gradient|
    Array([1., 1., 1.], dtype=float64)
    """
    return _fisher_steps(
        logdensity_fn, num_warmup, target_accept, initial_step_size, schedule, 1.0 if dense_mass else None
    )


def fisher_low_rank_adaptation_steps(
    logdensity_fn: Callable[[Array], Array],
    num_warmup: int,
    *,
    target_accept: float = 0.8,
    dense_mass: bool = False,
    initial_step_size: float = 1.0,
    schedule: FisherSchedule | None = None,
    eigenvalue_cutoff: float = 2.0,
) -> tuple[Callable, Callable, Callable]:
    """nutpie's low-rank-modified warmup: the diagonal Fisher metric plus corrections along its worst directions.

    As :func:`fisher_adaptation_steps`, but the metric is
    ``S (I + U (Lambda - I) U^T) S`` (see
    :func:`~posteria.adaptation.fisher_dense.fisher_low_rank_metric`), keeping
    at most ``MAX_RANK`` eigenvalues outside ``[1 / eigenvalue_cutoff,
    eigenvalue_cutoff]``, recomputed at each switch and at the end of the
    metric stage from a buffer of the foreground draws (above 128 dimensions,
    the early switches solve in the span of the latest ``SMALL_WINDOW``
    draws, which hold the whole foreground then). The metric stays
    factored (:class:`~posteria.mcmc.metrics.LowRankInverseMass`: ``O(d k)``
    per leapfrog step, no factorisation per transition), so ``dense_mass``
    changes nothing here: it is accepted for the common signature. The
    default cutoff 2 was chosen by measurement (nutpie's 100 corrected
    nothing on a 100-D Gaussian of condition number 1e3 and little on
    posteriordb's diamonds).

    Parameters
    ----------
    logdensity_fn, num_warmup, target_accept, initial_step_size, schedule
        As :func:`fisher_adaptation_steps`.
    dense_mass
        Ignored (the metric is low-rank by construction).
    eigenvalue_cutoff
        Eigenvalues of the rescaled metric within this factor of 1 are set to 1.

    Returns
    -------
    init, update, transition
        As :func:`fisher_adaptation_steps`; the metric is a ``LowRankInverseMass``.

    References
    ----------
    Seyboldt, A., Carlson, E. L. and Carpenter, B. (2026). Preconditioning
    Hamiltonian Monte Carlo by minimizing Fisher divergence. arXiv:2603.18845;
    nutpie's ``low_rank_modified_mass_matrix``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc import nuts
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> init, update, transition = fisher_low_rank_adaptation_steps(logdensity_fn, 100)
    >>> state = nuts.init(jnp.ones(3), logdensity_fn)
    >>> init(state).inverse_mass_matrix.basis.shape  # (d, rank)
    (3, 3)
    """
    del dense_mass
    return _fisher_steps(logdensity_fn, num_warmup, target_accept, initial_step_size, schedule, eigenvalue_cutoff)
