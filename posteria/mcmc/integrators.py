"""Symplectic integrators for Hamiltonian dynamics."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["IntegratorState", "velocity_verlet"]


class IntegratorState(NamedTuple):
    """A point in phase space, with the log density and its gradient there.

    Attributes
    ----------
    position
        Flat 1-D array of unconstrained parameters.
    momentum
        Array shaped like ``position``.
    logdensity
        Log density at ``position`` (scalar).
    logdensity_grad
        Gradient of the log density at ``position``.
    """

    position: Array
    momentum: Array
    logdensity: Array
    logdensity_grad: Array


def velocity_verlet(
    logdensity_fn: Callable[[Array], Array],
    velocity_fn: Callable[[Array], Array],
) -> Callable[[IntegratorState, Array], IntegratorState]:
    """Build one leapfrog (velocity Verlet) step.

    A step is a half step of momentum, a full step of position and a half step
    of momentum; it costs one gradient evaluation, since the gradient at the
    start is carried in the state. A negative ``step_size`` integrates
    backwards in time; the map is reversible (flip the momentum, step, flip
    again to return) and volume preserving.

    Parameters
    ----------
    logdensity_fn
        ``position -> log density`` (positive log density, scalar).
    velocity_fn
        ``momentum -> M^{-1} momentum``, the gradient of the kinetic energy:
        it moves the position (given directly, not by autodiff of the
        kinetic energy, which would repeat a dense or low-rank product).

    Returns
    -------
    step : callable
        ``step(state, step_size) -> IntegratorState``.

    References
    ----------
    Leimkuhler, B. and Reich, S. (2004). Simulating Hamiltonian Dynamics,
    chapter 2. Cambridge University Press.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)
    >>> velocity_fn = lambda p: p  # identity mass matrix
    >>> step = velocity_verlet(logdensity_fn, velocity_fn)
    >>> x = jnp.zeros(1)
    >>> state = IntegratorState(x, jnp.ones(1), logdensity_fn(x), -x)
    >>> new = step(state, 0.5)
    >>> new.position.tolist(), new.momentum.tolist()
    ([0.5], [0.875])
    """
    logdensity_and_grad_fn = jax.value_and_grad(logdensity_fn)

    def step(state: IntegratorState, step_size: Array) -> IntegratorState:
        half_step = 0.5 * step_size
        momentum = state.momentum + half_step * state.logdensity_grad
        velocity = velocity_fn(momentum)
        if jnp.shape(velocity) != jnp.shape(momentum):  # at trace time: a kinetic energy passed by mistake
            raise ValueError(f"velocity_fn must return M^-1 p, shaped like the momentum {jnp.shape(momentum)}; "
                             f"got shape {jnp.shape(velocity)}")
        position = state.position + step_size * velocity
        logdensity, logdensity_grad = logdensity_and_grad_fn(position)
        momentum = momentum + half_step * logdensity_grad
        return IntegratorState(position, momentum, logdensity, logdensity_grad)

    return step
