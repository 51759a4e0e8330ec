"""Step-size adaptation: dual averaging and Stan's initial step-size heuristic.

Both pieces are pure and jit-able, so the warmup driver can run them inside
one ``lax.scan``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from posteria.mcmc import integrators, metrics
from posteria.mcmc.nuts import HMCState

__all__ = ["DualAveragingState", "dual_averaging", "find_reasonable_step_size", "step_parameters"]


class DualAveragingState(NamedTuple):
    """State of the dual-averaging step-size adaptation.

    Attributes
    ----------
    log_step_size
        Current iterate ``x_t``; ``exp(log_step_size)`` is the step size used
        during warmup.
    log_step_size_avg
        Weighted average ``x_bar_t``; ``exp(log_step_size_avg)`` is the step
        size kept after warmup.
    step
        Number of updates since the last (re)start, ``t``.
    avg_error
        Running average of ``target_accept - acceptance_rate``, ``H_bar_t``.
    mu
        Point the iterates are shrunk towards, ``log(10 * step_size)``.
    """

    log_step_size: Array
    log_step_size_avg: Array
    step: Array
    avg_error: Array
    mu: Array


def dual_averaging(
    target_accept: float = 0.8,
    *,
    gamma: float = 0.05,
    t0: float = 10.0,
    kappa: float = 0.75,
) -> tuple[
    Callable[[Array | float], DualAveragingState],
    Callable[[DualAveragingState, Array], DualAveragingState],
    Callable[[DualAveragingState], Array],
]:
    """Nesterov dual averaging of the log step size, with Stan's constants.

    Drives the mean acceptance rate towards ``target_accept``. Restarting the
    adaptation (as Stan does after each mass-matrix update) is calling
    ``init`` again with the new step size.

    Parameters
    ----------
    target_accept
        Acceptance rate to reach, ``delta`` in the paper.
    gamma, t0, kappa
        Shrinkage strength, iteration offset and averaging decay (Stan's
        defaults 0.05, 10, 0.75).

    Returns
    -------
    init, update, final
        ``init(step_size) -> DualAveragingState`` starts with
        ``mu = log(10 * step_size)``; ``update(state, acceptance_rate)`` makes
        one step (rates above 1 are clipped to 1 and NaN counts as 0);
        ``final(state)`` returns the averaged step size ``exp(x_bar)``.

    References
    ----------
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15,
    Algorithm 5; Stan's ``stepsize_adaptation::learn_stepsize``.

    Examples
    --------
    Acceptance ``exp(-step_size)`` is 0.8 at ``step_size = -log(0.8) = 0.223``:

    >>> import jax, jax.numpy as jnp
    >>> init, update, final = dual_averaging(target_accept=0.8)
    >>> def one_step(_, state):
    ...     return update(state, jnp.exp(-jnp.exp(state.log_step_size)))
    >>> state = jax.lax.fori_loop(0, 2000, one_step, init(0.1))
    >>> round(float(final(state)), 3)
    0.224
    """

    def init(step_size: Array | float) -> DualAveragingState:
        log_step_size = jnp.log(jnp.asarray(step_size, dtype=float))
        return DualAveragingState(
            log_step_size=log_step_size,
            log_step_size_avg=log_step_size,
            step=jnp.zeros((), dtype=jnp.int32),
            avg_error=jnp.zeros_like(log_step_size),
            mu=jnp.log(10.0) + log_step_size,
        )

    def update(state: DualAveragingState, acceptance_rate: Array) -> DualAveragingState:
        acceptance_rate = jnp.where(jnp.isnan(acceptance_rate), 0.0, acceptance_rate)
        acceptance_rate = jnp.minimum(acceptance_rate, 1.0)
        step = state.step + 1
        t = step.astype(state.avg_error.dtype)
        eta = 1.0 / (t + t0)
        avg_error = (1.0 - eta) * state.avg_error + eta * (target_accept - acceptance_rate)
        log_step_size = state.mu - jnp.sqrt(t) / gamma * avg_error
        weight = t**-kappa
        log_step_size_avg = (1.0 - weight) * state.log_step_size_avg + weight * log_step_size
        return DualAveragingState(log_step_size, log_step_size_avg, step, avg_error, state.mu)

    def final(state: DualAveragingState) -> Array:
        return jnp.exp(state.log_step_size_avg)

    return init, update, final


def find_reasonable_step_size(
    rng_key: Array,
    state: HMCState,
    logdensity_fn: Callable[[Array], Array],
    initial_step_size: Array | float,
    inverse_mass_matrix: Array,
    *,
    acceptance_threshold: float = 0.8,
    max_num_iterations: int = 100,
) -> Array:
    """Double or halve the step size until one leapfrog step's acceptance crosses a threshold.

    Stan's ``init_stepsize``: draw a momentum, take one leapfrog step and
    compare ``exp(-delta_energy)`` with ``acceptance_threshold``; the first
    trial fixes the direction (double if accepted, halve if not), and each
    later trial, with a fresh momentum, either crosses the threshold (stop)
    or moves the step size one more factor of 2. A NaN energy counts as a
    rejection. The loop is a ``lax.while_loop`` of at most
    ``max_num_iterations`` trials, so it can run under ``jit``.

    Parameters
    ----------
    rng_key
        Random key for the momenta.
    state
        Current point, with its log density and gradient (none is
        recomputed).
    logdensity_fn
        Log density over a flat position vector.
    initial_step_size
        Where the search starts.
    inverse_mass_matrix
        1-D (diagonal) or 2-D (dense) inverse mass matrix.
    acceptance_threshold
        Acceptance probability to cross (Stan: 0.8).
    max_num_iterations
        Bound on the number of trials after the first.

    Returns
    -------
    step_size
        The first step size whose trial crossed the threshold: when
        doubling, the first one rejected; when halving, the first accepted.

    References
    ----------
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15,
    Algorithm 4; Stan's ``base_hmc::init_stepsize``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc import nuts
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum((x / 0.01) ** 2)
    >>> state = nuts.init(jnp.full(3, 0.01), logdensity_fn)
    >>> step_size = find_reasonable_step_size(
    ...     jax.random.key(0), state, logdensity_fn, 1.0, jnp.ones(3))
    >>> bool(0.001 < step_size < 0.1)
    True
    """
    metric = metrics.gaussian_euclidean(inverse_mass_matrix)
    integrator = integrators.velocity_verlet(logdensity_fn, metric.velocity_fn)
    log_threshold = jnp.log(acceptance_threshold)

    def log_acceptance(key: Array, step_size: Array) -> Array:
        momentum = metric.sample_momentum_fn(key, state.position)
        start = integrators.integrator_state(
            state.position, momentum, state.logdensity, state.logdensity_grad, metric.velocity_fn
        )
        end = integrator(start, step_size)
        delta = integrators.energy(start) - integrators.energy(end)
        return jnp.where(jnp.isnan(delta), -jnp.inf, delta)

    # One loop holds the only leapfrog step (half the compiled code of a
    # separate first trial): trial 0 sets the direction, later ones cross or move.
    def cond(carry: tuple[Array, Array, Array, Array, Array]) -> Array:
        _, _, _, is_crossed, trial = carry
        return ~is_crossed & (trial <= max_num_iterations)

    def body(carry: tuple[Array, Array, Array, Array, Array]) -> tuple[Array, Array, Array, Array, Array]:
        key, step_size, is_growing, _, trial = carry
        key, trial_key = jax.random.split(key)
        is_accepted = log_acceptance(trial_key, step_size) > log_threshold
        is_growing = jnp.where(trial == 0, is_accepted, is_growing)
        is_crossed = (trial > 0) & (is_accepted != is_growing)
        factor = jnp.where(is_growing, 2.0, 0.5)
        step_size = jnp.where(is_crossed | (trial == 0), step_size, step_size * factor)
        return key, step_size, is_growing, is_crossed, trial + 1

    step_size = jnp.asarray(initial_step_size, dtype=state.logdensity.dtype)
    carry = (rng_key, step_size, jnp.array(False), jnp.array(False), jnp.array(0))
    _, step_size, _, _, _ = jax.lax.while_loop(cond, body, carry)
    return step_size


def step_parameters(
    rng_key: Array,
    state: HMCState,
    logdensity_fn: Callable[[Array], Array],
    adaptation: Any,
    is_warmup: Array | bool,
) -> tuple[Any, Array, Array]:
    """``(adaptation, step_size, inverse_mass_matrix)`` of the next transition, after a pending step-size search.

    ``adaptation`` is a warmup state with ``dual_averaging``,
    ``inverse_mass_matrix`` and ``is_search_pending`` fields. If a search is
    pending, dual averaging restarts from :func:`find_reasonable_step_size`
    at ``state``, started from the current iterate ``exp(log_step_size)``.
    The step size is then the dual-averaging iterate during warmup and its
    average afterwards (Stan's adapted step size). A warmup whose ``init``
    and ``update`` only ask for searches, and whose ``parameters`` is this
    at the top of each step, compiles the search (a leapfrog step, a
    gradient and a momentum draw) once.

    Parameters
    ----------
    rng_key
        Random key for the search's momenta.
    state
        Where the next transition starts.
    logdensity_fn
        Log density over a flat position vector.
    adaptation
        The warmup state.
    is_warmup
        Whether the next transition is a warmup one (a traced bool).

    Returns
    -------
    adaptation, step_size, inverse_mass_matrix
        The state with no search pending, and the next transition's parameters.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from typing import NamedTuple
    >>> from posteria.mcmc import nuts
    >>> class Warmup(NamedTuple):
    ...     dual_averaging: DualAveragingState
    ...     inverse_mass_matrix: jax.Array
    ...     is_search_pending: jax.Array
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum((x / 0.01) ** 2)
    >>> state = nuts.init(jnp.full(3, 0.01), logdensity_fn)
    >>> warmup = Warmup(dual_averaging()[0](1.0), jnp.ones(3), jnp.array(True))
    >>> warmup, step_size, _ = step_parameters(jax.random.key(0), state, logdensity_fn, warmup, True)
    >>> bool(0.001 < step_size < 0.1), bool(warmup.is_search_pending)
    (True, False)
    """
    step_size_init, _, step_size_final = dual_averaging()

    def restart(dual_averaging_state: DualAveragingState) -> DualAveragingState:
        step_size = find_reasonable_step_size(
            rng_key, state, logdensity_fn, jnp.exp(dual_averaging_state.log_step_size), adaptation.inverse_mass_matrix
        )
        return step_size_init(step_size)

    dual_averaging_state = jax.lax.cond(
        adaptation.is_search_pending, restart, lambda dual_averaging_state: dual_averaging_state,
        adaptation.dual_averaging,
    )
    adaptation = adaptation._replace(dual_averaging=dual_averaging_state, is_search_pending=jnp.array(False))
    current = jnp.exp(dual_averaging_state.log_step_size)
    step_size = jnp.where(is_warmup, current, step_size_final(dual_averaging_state))
    return adaptation, step_size, adaptation.inverse_mass_matrix
