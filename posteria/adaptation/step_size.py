"""Step-size adaptation: dual averaging, Stan's step-size search, and the adapted transition.

All pieces are pure and jit-able, so a warmup driver can run them inside one
``lax.scan``. :func:`adapted_transition` runs a pending search as one-leapfrog
trials of the NUTS kernel itself, so a chain program compiles one kernel and
no separate search code.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from posteria.mcmc import integrators, metrics
from posteria.mcmc.nuts import HMCState, NUTSInfo, blank_info
from posteria.mcmc.pytree import tree_select

__all__ = [
    "DualAveragingState", "StepSizeSearch", "adapted_transition", "dual_averaging", "final_parameters",
    "find_reasonable_step_size", "search_init", "search_update",
]


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


class StepSizeSearch(NamedTuple):
    """Stan's step-size search, one trial at a time.

    Attributes
    ----------
    step_size
        The next trial's step size; the search's result once it stops.
    is_growing
        The direction, set by trial 0: double (accepted) or halve (rejected).
    is_running
        Whether another trial is due.
    trial
        Trials made so far.
    """

    step_size: Array
    is_growing: Array
    is_running: Array
    trial: Array


def search_init(step_size: Array | float, is_running: Array | bool = True) -> StepSizeSearch:
    """A search from ``step_size`` (one that is not ``is_running`` makes no trial).

    Examples
    --------
    >>> search_init(0.5).trial.item(), bool(search_init(0.5, False).is_running)
    (0, False)
    """
    step_size = jnp.asarray(step_size, dtype=float)
    return StepSizeSearch(step_size, jnp.array(False), jnp.asarray(is_running), jnp.array(0))


def search_update(
    search: StepSizeSearch,
    acceptance_probability: Array,
    *,
    acceptance_threshold: float = 0.8,
    max_num_iterations: int = 100,
) -> StepSizeSearch:
    """The search after a trial at ``search.step_size`` had ``acceptance_probability`` (no change once stopped).

    Stan's ``init_stepsize``: the first trial fixes the direction (double if
    accepted, halve if not); each later trial either crosses the threshold
    (stop: when doubling, the first step size rejected; when halving, the
    first accepted) or moves the step size one more factor of 2. NaN counts
    as a rejection. At most ``max_num_iterations`` trials follow the first.

    References
    ----------
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15,
    Algorithm 4; Stan's ``base_hmc::init_stepsize``.

    Examples
    --------
    >>> search = search_update(search_init(1.0), 0.95)  # trial 0 accepted: double from now on
    >>> search = search_update(search, 0.9)
    >>> float(search.step_size), bool(search.is_running)
    (2.0, True)
    >>> search = search_update(search, 0.3)  # rejected: crossed, 2.0 is the result
    >>> float(search.step_size), bool(search.is_running)
    (2.0, False)
    """
    is_accepted = acceptance_probability > acceptance_threshold
    is_first = search.trial == 0
    is_growing = jnp.where(is_first, is_accepted, search.is_growing)
    is_crossed = ~is_first & (is_accepted != is_growing)
    factor = jnp.where(is_growing, 2.0, 0.5)
    step_size = jnp.where(is_crossed | is_first, search.step_size, search.step_size * factor)
    after = StepSizeSearch(step_size, is_growing, ~is_crossed & (search.trial + 1 <= max_num_iterations),
                           search.trial + 1)
    return tree_select(search.is_running, after, search)


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

    Stan's ``init_stepsize`` (:func:`search_update`) with its own leapfrog
    step: draw a momentum, take one step and compare ``min(1, exp(-delta_energy))``
    with ``acceptance_threshold``, in a ``lax.while_loop`` of at most
    ``max_num_iterations + 1`` trials, so it can run under ``jit``. A chain
    program runs the same search inside its NUTS kernel instead
    (:func:`adapted_transition`).

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
        1-D (diagonal), 2-D (dense) or low-rank inverse mass matrix.
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

    def acceptance_probability(key: Array, step_size: Array) -> Array:
        momentum = metric.sample_momentum_fn(key, state.position)
        start = integrators.integrator_state(
            state.position, momentum, state.logdensity, state.logdensity_grad, metric.velocity_fn
        )
        delta = integrators.energy(start) - integrators.energy(integrator(start, step_size))
        return jnp.where(jnp.isnan(delta), 0.0, jnp.exp(jnp.minimum(delta, 0.0)))

    def body(carry: tuple[Array, StepSizeSearch]) -> tuple[Array, StepSizeSearch]:
        key, search = carry
        key, trial_key = jax.random.split(key)
        acceptance = acceptance_probability(trial_key, search.step_size)
        return key, search_update(search, acceptance, acceptance_threshold=acceptance_threshold,
                                  max_num_iterations=max_num_iterations)

    search = search_init(jnp.asarray(initial_step_size, dtype=state.logdensity.dtype))
    _, search = jax.lax.while_loop(lambda carry: carry[1].is_running, body, (rng_key, search))
    return search.step_size


def adapted_transition(
    rng_key: Array,
    state: HMCState,
    adaptation: Any,
    is_warmup: Array | bool,
    logdensity_fn: Callable[[Array], Array],
    kernel: Callable,
    depth_limit: Array | int | None = None,
) -> tuple[HMCState, NUTSInfo, Any, Array]:
    """One NUTS transition under a warmup's parameters, after the step-size search it asks for.

    ``adaptation`` is a warmup state with ``dual_averaging``,
    ``inverse_mass_matrix`` and ``is_search_pending`` fields (Stan's and
    nutpie's warmups). If a search is pending, its trials are transitions of
    ``kernel`` limited to one leapfrog step (``depth_limit=1``; their
    acceptance rate is that step's ``min(1, exp(-delta_energy))``) from
    ``state``, which they leave where it is; dual averaging then restarts
    from the result. The transition itself runs with the dual-averaging
    iterate during warmup and its average afterwards (Stan's adapted step
    size). Trials and transition are one ``lax.while_loop`` around one
    kernel call, so a chain program compiles the kernel once and no
    separate search (a leapfrog step, a gradient and a momentum draw).

    Parameters
    ----------
    rng_key
        Key of this step; call ``i`` of the kernel uses ``fold_in(rng_key, i)``.
    state
        Where the transition starts.
    adaptation
        The warmup state.
    is_warmup
        Whether this is a warmup transition (a traced bool).
    logdensity_fn
        Log density over a flat position vector.
    kernel
        A NUTS kernel (:func:`posteria.mcmc.nuts.build_kernel`).
    depth_limit
        Most doublings of the transition, below the kernel's own
        ``max_tree_depth`` (a traced int; ``None``: no lower limit). The
        search trials are one leapfrog step whatever it is.

    Returns
    -------
    state, info, adaptation, step_size
        The transition's state and info, the warmup state with no search
        pending, and the step size the transition used.

    References
    ----------
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn Sampler. JMLR 15,
    Algorithms 4 and 5; Stan's ``base_hmc::init_stepsize``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from posteria.mcmc import nuts
    >>> class Warmup(NamedTuple):
    ...     dual_averaging: DualAveragingState
    ...     inverse_mass_matrix: jax.Array
    ...     is_search_pending: jax.Array
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum((x / 0.01) ** 2)
    >>> state = nuts.init(jnp.full(3, 0.01), logdensity_fn)
    >>> warmup = Warmup(dual_averaging()[0](1.0), jnp.ones(3), jnp.array(True))
    >>> _, info, warmup, step_size = adapted_transition(
    ...     jax.random.key(0), state, warmup, True, logdensity_fn, nuts.build_kernel())
    >>> bool(0.001 < step_size < 0.1), bool(warmup.is_search_pending), int(warmup.dual_averaging.step)
    (True, False, 0)
    """
    step_size_init, _, step_size_final = dual_averaging()
    inverse_mass_matrix = adaptation.inverse_mass_matrix
    search = search_init(jnp.exp(adaptation.dual_averaging.log_step_size), adaptation.is_search_pending)
    transition_depth_limit = jnp.iinfo(jnp.int32).max if depth_limit is None else depth_limit

    def dual_averaging_after(search: StepSizeSearch) -> DualAveragingState:
        return tree_select(adaptation.is_search_pending, step_size_init(search.step_size), adaptation.dual_averaging)

    def transition_step_size(dual_averaging_state: DualAveragingState) -> Array:
        return jnp.where(is_warmup, jnp.exp(dual_averaging_state.log_step_size), step_size_final(dual_averaging_state))

    def run_kernel(search: StepSizeSearch) -> tuple[HMCState, NUTSInfo]:
        step_size = jnp.where(search.is_running, search.step_size, transition_step_size(dual_averaging_after(search)))
        return kernel(jax.random.fold_in(rng_key, search.trial), state, logdensity_fn, step_size, inverse_mass_matrix,
                      depth_limit=jnp.where(search.is_running, 1, transition_depth_limit))

    def body(carry):
        search, _, _ = carry
        new_state, info = run_kernel(search)
        return search_update(search, info.acceptance_rate), (new_state, info), ~search.is_running

    search, (state, info), _ = jax.lax.while_loop(
        lambda carry: ~carry[2], body, (search, (state, blank_info(state)), jnp.array(False))
    )
    dual_averaging_state = dual_averaging_after(search)
    adaptation = adaptation._replace(dual_averaging=dual_averaging_state, is_search_pending=jnp.array(False))
    return state, info, adaptation, transition_step_size(dual_averaging_state)


def final_parameters(adaptation: Any) -> tuple[Array, Any]:
    """``(step_size, inverse_mass_matrix)`` after a warmup: the dual-averaging average, the last metric.

    A search still pending is not run. Stan's and nutpie's warmups end with a
    step-size-only stretch after their last metric, so none is pending
    unless a warmup is too short to have one; the first transition after it
    (:func:`adapted_transition`) would run it.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from typing import NamedTuple
    >>> class Warmup(NamedTuple):
    ...     dual_averaging: DualAveragingState
    ...     inverse_mass_matrix: jnp.ndarray
    >>> step_size, inverse_mass_matrix = final_parameters(Warmup(dual_averaging()[0](0.5), jnp.ones(2)))
    >>> round(float(step_size), 3), inverse_mass_matrix.shape
    (0.5, (2,))
    """
    return dual_averaging()[2](adaptation.dual_averaging), adaptation.inverse_mass_matrix
