"""Symplectic integrators for Hamiltonian dynamics."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

Array = jax.Array

__all__ = ["IntegratorState", "energy", "integrator_state", "velocity_verlet"]


class IntegratorState(NamedTuple):
    """A point in phase space, with the log density, its gradient and their images under ``M^{-1}``.

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
    velocity
        ``M^{-1} momentum``, the sharp momentum.
    grad_velocity
        ``M^{-1} logdensity_grad``. With it a leapfrog step finds its
        velocities by linearity, at one metric product a step instead of two.
    """

    position: Array
    momentum: Array
    logdensity: Array
    logdensity_grad: Array
    velocity: Array
    grad_velocity: Array


def integrator_state(
    position: Array, momentum: Array, logdensity: Array, logdensity_grad: Array,
    velocity_fn: Callable[[Array], Array],
) -> IntegratorState:
    """The :class:`IntegratorState` of a point, with its velocities from ``velocity_fn`` (``p -> M^{-1} p``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> state = integrator_state(jnp.zeros(2), jnp.ones(2), 0.0, jnp.array([1.0, -1.0]), lambda p: 2.0 * p)
    >>> state.velocity.tolist(), state.grad_velocity.tolist()
    ([2.0, 2.0], [2.0, -2.0])
    """
    velocity = velocity_fn(momentum)
    if jnp.shape(velocity) != jnp.shape(momentum):  # at trace time: a kinetic energy passed by mistake
        raise ValueError(f"velocity_fn must return M^-1 p, shaped like the momentum {jnp.shape(momentum)}; "
                         f"got shape {jnp.shape(velocity)}")
    return IntegratorState(position, momentum, jnp.asarray(logdensity), logdensity_grad, velocity,
                           velocity_fn(logdensity_grad))


def energy(state: IntegratorState) -> Array:
    """The Hamiltonian ``H = -log p(x) + p^T M^{-1} p / 2``, from the carried velocity (no metric product).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> state = integrator_state(jnp.zeros(2), jnp.ones(2), -1.0, jnp.zeros(2), lambda p: 2.0 * p)
    >>> float(energy(state))  # 1 + (1 * 2 + 1 * 2) / 2
    3.0
    """
    return -state.logdensity + 0.5 * jnp.dot(state.momentum, state.velocity)


def velocity_verlet(
    logdensity_fn: Callable[[Array], Array],
    velocity_fn: Callable[[Array], Array],
) -> Callable[[IntegratorState, Array], IntegratorState]:
    """Build one leapfrog (velocity Verlet) step.

    A step is a half step of momentum, a full step of position and a half step
    of momentum; it costs one gradient evaluation and one product with
    ``M^{-1}`` (of the new gradient), since the gradient and both velocities
    at the start are carried in the state and ``M^{-1}`` is linear:
    ``M^{-1}(p + h g) = v + h M^{-1} g``. A negative ``step_size`` integrates
    backwards in time; the map is reversible (flip the momentum, step, flip
    again to return) and volume preserving.

    Parameters
    ----------
    logdensity_fn
        ``position -> log density`` (positive log density, scalar).
    velocity_fn
        ``momentum -> M^{-1} momentum``, the gradient of the kinetic energy
        (given directly, not by autodiff of the kinetic energy, which would
        repeat a dense or low-rank product).

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
    >>> new = step(integrator_state(x, jnp.ones(1), logdensity_fn(x), -x, velocity_fn), 0.5)
    >>> new.position.tolist(), new.momentum.tolist(), new.velocity.tolist()
    ([0.5], [0.875], [0.875])
    """
    logdensity_and_grad_fn = jax.value_and_grad(logdensity_fn)

    def step(state: IntegratorState, step_size: Array) -> IntegratorState:
        half_step = 0.5 * step_size
        velocity = state.velocity + half_step * state.grad_velocity  # M^-1 of the half-step momentum
        position = state.position + step_size * velocity
        logdensity, logdensity_grad = logdensity_and_grad_fn(position)
        grad_velocity = velocity_fn(logdensity_grad)
        momentum = state.momentum + half_step * (state.logdensity_grad + logdensity_grad)
        velocity = velocity + half_step * grad_velocity
        return IntegratorState(position, momentum, logdensity, logdensity_grad, velocity, grad_velocity)

    return step
