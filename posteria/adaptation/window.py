"""Stan's windowed warmup for NUTS, as one ``lax.scan``.

Each warmup step makes one NUTS transition, updates the dual-averaging
step size and, inside a slow window, adds the draw to the Welford
(co)variance estimate. At the end of a slow window the estimate becomes the
inverse mass matrix, the step size is searched again (Stan's heuristic)
before the next transition, and dual averaging restarts from it
(:func:`~posteria.adaptation.step_size.adapted_transition`).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from posteria.adaptation.mass_matrix import WelfordState, mass_matrix_adaptation
from posteria.adaptation.schedule import build_schedule
from posteria.adaptation.step_size import DualAveragingState, adapted_transition, dual_averaging, final_parameters
from posteria.mcmc import nuts

__all__ = ["WarmupResult", "WindowAdaptationState", "window_adaptation", "window_adaptation_steps"]


class WindowAdaptationState(NamedTuple):
    """What the warmup carries from step to step besides the sampler state.

    Attributes
    ----------
    dual_averaging
        Step-size adaptation; ``exp(dual_averaging.log_step_size)`` is the
        step size of the next transition.
    welford
        Draws of the current slow window.
    inverse_mass_matrix
        Metric of the next transition.
    is_search_pending
        Whether the step size is searched again before the next transition
        (at the start and after each slow window).
    """

    dual_averaging: DualAveragingState
    welford: WelfordState
    inverse_mass_matrix: Array
    is_search_pending: Array


class WarmupResult(NamedTuple):
    """Outcome of the warmup.

    Attributes
    ----------
    state
        Sampler state after the last warmup step (an ``HMCState``).
    step_size
        Adapted step size: the dual-averaging average of the last stage.
    inverse_mass_matrix
        Adapted inverse mass matrix, 1-D (diagonal) or 2-D (dense).
    info
        ``NUTSInfo`` of every warmup step, stacked along a leading axis.
    """

    state: nuts.HMCState
    step_size: Array
    inverse_mass_matrix: Array
    info: nuts.NUTSInfo


def window_adaptation(
    logdensity_fn: Callable[[Array], Array],
    num_warmup: int,
    *,
    target_accept: float = 0.8,
    dense_mass: bool = False,
    max_tree_depth: int = 10,
    initial_step_size: float = 1.0,
    progress_fn: Callable[[Array, nuts.NUTSInfo], None] | None = None,
) -> Callable[[Array, Array], WarmupResult]:
    """Build Stan's warmup (step size and mass matrix) for NUTS.

    The schedule (:func:`~posteria.adaptation.schedule.build_schedule`) is
    fixed by ``num_warmup`` before tracing, so the returned ``run`` is pure
    and makes one ``lax.scan`` over ``num_warmup`` steps: it can be jitted
    alone or together with the sampling loop that follows. The metric starts
    at the identity and the step size at Stan's search from
    ``initial_step_size`` (:func:`~posteria.adaptation.step_size.search_update`).
    A slow window of fewer than two draws keeps the previous metric.

    Parameters
    ----------
    logdensity_fn
        Log density over a flat position vector.
    num_warmup
        Number of warmup steps (a Python int).
    target_accept
        Mean acceptance rate the step size is tuned to.
    dense_mass
        Adapt a dense inverse mass matrix instead of a diagonal one.
    max_tree_depth
        NUTS tree-depth limit during warmup.
    initial_step_size
        Where the first step-size search starts.
    progress_fn
        Optional ``progress_fn(step_index, info)`` called inside the scan
        body with traced values once per step; use ``jax.debug.callback``
        in it to reach the host (for a progress bar).

    Returns
    -------
    run
        ``run(rng_key, initial_position) -> WarmupResult``.

    References
    ----------
    Stan Reference Manual, "HMC algorithm parameters: automatic parameter
    tuning"; Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler.
    JMLR 15.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum((x / jnp.array([0.5, 3.0])) ** 2)
    >>> run = jax.jit(window_adaptation(logdensity_fn, num_warmup=200))
    >>> result = run(jax.random.key(0), jnp.zeros(2))
    >>> result.info.acceptance_rate.shape
    (200,)
    >>> result.inverse_mass_matrix.shape
    (2,)
    """
    kernel = nuts.build_kernel(max_tree_depth=max_tree_depth)
    init, update, transition = window_adaptation_steps(
        logdensity_fn, num_warmup, target_accept=target_accept, dense_mass=dense_mass,
        initial_step_size=initial_step_size,
    )

    def one_step(carry, xs):
        state, adaptation = carry
        step_index, rng_key = xs
        state, info, adaptation, _ = transition(rng_key, state, adaptation, True, kernel)
        adaptation = update(step_index, state, adaptation, info)
        if progress_fn is not None:
            progress_fn(step_index, info)
        return (state, adaptation), info

    def run(rng_key: Array, initial_position: Array) -> WarmupResult:
        state = nuts.init(jnp.asarray(initial_position, dtype=float), logdensity_fn)
        xs = (jnp.arange(num_warmup), jax.random.split(rng_key, num_warmup))
        (state, adaptation), info = jax.lax.scan(one_step, (state, init(state)), xs)
        return WarmupResult(state, *final_parameters(adaptation), info)

    return run


def window_adaptation_steps(
    logdensity_fn: Callable[[Array], Array],
    num_warmup: int,
    *,
    target_accept: float = 0.8,
    dense_mass: bool = False,
    initial_step_size: float = 1.0,
) -> tuple[Callable, Callable, Callable]:
    """Stan's warmup as ``(init, update, transition)``, for a loop that the caller owns.

    :func:`window_adaptation` is this in its own ``lax.scan``; ``pa.sample``
    runs warmup and sampling in ONE scan with one NUTS kernel (half the
    compiled code), updating the adaptation only while ``step < num_warmup``.

    Every step-size search runs in ``transition``, as one-leapfrog trials of
    the step's own NUTS kernel: ``init`` and ``update`` only ask for one, so
    a chain program compiles the kernel once and no separate search.

    Returns
    -------
    init
        ``init(state) -> WindowAdaptationState`` at the chain's first ``HMCState``
        (its log density and gradient are not recomputed); asks for the first step-size search.
    update
        ``update(step_index, state, adaptation, info) -> WindowAdaptationState`` after the
        transition of warmup step ``step_index`` (a traced int below ``num_warmup``).
    transition
        ``transition(rng_key, state, adaptation, is_warmup, kernel) -> (state, info,
        adaptation, step_size)``: one NUTS transition from ``state`` after a pending
        search (:func:`~posteria.adaptation.step_size.adapted_transition`), with the
        current dual-averaging iterate during warmup and its average afterwards (Stan's
        adapted step size); :func:`~posteria.adaptation.step_size.final_parameters`
        gives the latter without a transition.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc import nuts
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> init, update, transition = window_adaptation_steps(logdensity_fn, 100)
    >>> state = nuts.init(jnp.zeros(3), logdensity_fn)
    >>> state, info, adaptation, step_size = transition(jax.random.key(0), state, init(state), True, nuts.build_kernel())
    >>> adaptation.inverse_mass_matrix.shape, bool(adaptation.is_search_pending)
    ((3,), False)
    """
    schedule = build_schedule(num_warmup)
    is_slow_window = jnp.asarray(schedule.is_slow_window)
    is_window_end = jnp.asarray(schedule.is_window_end)
    step_size_init, step_size_update, _ = dual_averaging(target_accept)
    mass_matrix_init, mass_matrix_update, mass_matrix_final = mass_matrix_adaptation(dense_mass)

    def init(state: nuts.HMCState) -> WindowAdaptationState:
        position = state.position
        if dense_mass:
            inverse_mass_matrix = jnp.eye(position.shape[0], dtype=position.dtype)
        else:
            inverse_mass_matrix = jnp.ones(position.shape[0], dtype=position.dtype)
        return WindowAdaptationState(
            step_size_init(initial_step_size), mass_matrix_init(position), inverse_mass_matrix, jnp.array(True)
        )

    def end_window(state: nuts.HMCState, adaptation: WindowAdaptationState) -> WindowAdaptationState:
        welford = adaptation.welford
        inverse_mass_matrix = jnp.where(
            welford.num_samples > 1, mass_matrix_final(welford), adaptation.inverse_mass_matrix
        )
        return WindowAdaptationState(
            adaptation.dual_averaging, mass_matrix_init(state.position), inverse_mass_matrix, jnp.array(True)
        )

    def update(step_index, state, adaptation, info) -> WindowAdaptationState:
        welford = jax.lax.cond(
            is_slow_window[step_index],
            mass_matrix_update,
            lambda welford, _: welford,
            adaptation.welford,
            state.position,
        )
        adaptation = adaptation._replace(
            dual_averaging=step_size_update(adaptation.dual_averaging, info.acceptance_rate), welford=welford
        )
        return jax.lax.cond(is_window_end[step_index], end_window, lambda _, adaptation: adaptation, state, adaptation)

    def transition(rng_key, state, adaptation: WindowAdaptationState, is_warmup, kernel):
        return adapted_transition(rng_key, state, adaptation, is_warmup, logdensity_fn, kernel)

    return init, update, transition
