"""Exact tests of the leapfrog integrator and of the Gaussian Euclidean metric."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from posteria.mcmc.integrators import integrator_state, velocity_verlet
from posteria.mcmc.metrics import LowRankInverseMass, dense_inverse_mass_matrix, gaussian_euclidean

jax.config.update("jax_enable_x64", True)

COVARIANCE = np.array([[1.0, 0.6, 0.0], [0.6, 2.0, -0.5], [0.0, -0.5, 0.5]])
PRECISION = np.linalg.inv(COVARIANCE)
METRICS = {
    "diagonal": np.array([1.5, 0.7, 0.4]),
    "dense": np.array([[1.0, 0.3, 0.1], [0.3, 2.0, -0.4], [0.1, -0.4, 0.6]]),
}


def gaussian_logdensity(x):
    return -0.5 * x @ PRECISION @ x


def start_state(logdensity_fn, position, momentum, velocity_fn):
    position, momentum = jnp.asarray(position), jnp.asarray(momentum)
    logdensity, logdensity_grad = jax.value_and_grad(logdensity_fn)(position)
    return integrator_state(position, momentum, logdensity, logdensity_grad, velocity_fn)


def integrate(step, state, step_size, num_steps):
    def body(state, _):
        state = step(state, step_size)
        return state, state

    return jax.lax.scan(body, state, None, length=num_steps)


@pytest.mark.parametrize("metric_kind", sorted(METRICS))
def test_leapfrog_is_reversible(metric_kind):
    metric = gaussian_euclidean(METRICS[metric_kind])
    step = velocity_verlet(gaussian_logdensity, metric.velocity_fn)
    state = start_state(gaussian_logdensity, [0.3, -1.2, 0.8], [1.1, 0.4, -0.7], metric.velocity_fn)
    run = jax.jit(lambda state, step_size: integrate(step, state, step_size, 50)[0])

    end = run(state, 0.1)
    flipped = end._replace(momentum=-end.momentum, velocity=-end.velocity)
    back = run(flipped, 0.1)
    np.testing.assert_allclose(back.position, state.position, atol=1e-10)
    np.testing.assert_allclose(-back.momentum, state.momentum, atol=1e-10)
    np.testing.assert_allclose(back.logdensity, state.logdensity, atol=1e-10)

    # A negative step size integrates backwards in time (what NUTS does).
    back = run(end, -0.1)
    np.testing.assert_allclose(back.position, state.position, atol=1e-10)
    np.testing.assert_allclose(back.momentum, state.momentum, atol=1e-10)


@pytest.mark.parametrize("metric_kind", sorted(METRICS))
def test_leapfrog_energy_error_is_second_order(metric_kind):
    metric = gaussian_euclidean(METRICS[metric_kind])
    step = velocity_verlet(gaussian_logdensity, metric.velocity_fn)
    state = start_state(gaussian_logdensity, [0.3, -1.2, 0.8], [1.1, 0.4, -0.7], metric.velocity_fn)

    dense = METRICS[metric_kind] if METRICS[metric_kind].ndim == 2 else np.diag(METRICS[metric_kind])

    def energy(s):  # from the matrix, not from the velocity the integrator carries
        return -s.logdensity + 0.5 * jnp.einsum("...i,ij,...j->...", s.momentum, dense, s.momentum)

    initial_energy = energy(state)

    @jax.jit
    def max_energy_error(step_size):
        # The same time span (3.0) for every step size; one compilation.
        _, path = integrate(step, state, step_size, 120)
        in_span = jnp.arange(1, 121) * step_size <= 3.0 + 1e-9
        return jnp.max(jnp.where(in_span, jnp.abs(energy(path) - initial_energy), 0.0))

    errors = [float(max_energy_error(step_size)) for step_size in (0.1, 0.05, 0.025)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    # Halving the step size divides the energy error by 4 for a second-order integrator.
    np.testing.assert_allclose(ratios, 4.0, rtol=0.1)
    assert errors[0] < 0.05


def test_leapfrog_matches_closed_form_harmonic_oscillator():
    # For N(0, 1) from x = 0 the leapfrog momenta are exactly p0 cos(n theta),
    # with cos(theta) = 1 - eps^2 / 2 (Leimkuhler and Reich 2004, ch. 2).
    step_size, momentum = 0.7, 1.3
    metric = gaussian_euclidean(jnp.ones(1))
    step = velocity_verlet(lambda x: -0.5 * jnp.sum(x**2), metric.velocity_fn)
    state = start_state(lambda x: -0.5 * jnp.sum(x**2), [0.0], [momentum], metric.velocity_fn)
    _, path = integrate(step, state, step_size, 9)
    theta = np.arccos(1 - step_size**2 / 2)
    n = np.arange(1, 10)
    np.testing.assert_allclose(path.momentum[:, 0], momentum * np.cos(n * theta), atol=1e-12)
    np.testing.assert_allclose(
        path.position[:, 0], momentum * step_size * np.sin(n * theta) / np.sin(theta), atol=1e-12
    )


def low_rank_metric():
    basis, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 2)))
    return LowRankInverseMass(jnp.array([1.2, 0.8, 0.5]), jnp.asarray(basis), jnp.array([4.0, 0.3]))


@pytest.mark.parametrize("metric_kind", sorted(METRICS) + ["low_rank"])
def test_leapfrog_velocities_stay_the_metric_products_of_momentum_and_gradient(metric_kind):
    # The step finds M^-1 p by linearity from the carried M^-1 g: after 200
    # steps both still equal the direct products (a sign or half-step slip
    # in the update would be off by O(step_size) at once).
    inverse_mass_matrix = low_rank_metric() if metric_kind == "low_rank" else METRICS[metric_kind]
    metric = gaussian_euclidean(inverse_mass_matrix)
    step = velocity_verlet(gaussian_logdensity, metric.velocity_fn)
    state = start_state(gaussian_logdensity, [0.3, -1.2, 0.8], [1.1, 0.4, -0.7], metric.velocity_fn)
    _, path = integrate(step, state, 0.15, 200)
    dense = dense_inverse_mass_matrix(inverse_mass_matrix)
    dense = np.diag(dense) if dense.ndim == 1 else dense
    np.testing.assert_allclose(path.velocity, path.momentum @ dense.T, rtol=0, atol=1e-12)
    np.testing.assert_allclose(path.grad_velocity, path.logdensity_grad @ dense.T, rtol=0, atol=1e-12)


@pytest.mark.parametrize("metric_kind", sorted(METRICS))
def test_metric_velocity_is_the_kinetic_energy_gradient(metric_kind):
    inverse_mass_matrix = METRICS[metric_kind]
    dense = np.diag(inverse_mass_matrix) if inverse_mass_matrix.ndim == 1 else inverse_mass_matrix
    metric = gaussian_euclidean(inverse_mass_matrix)
    momentum = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(metric.velocity_fn(momentum), dense @ momentum, rtol=1e-14)
    kinetic_energy = lambda p: 0.5 * p @ dense @ p  # noqa: E731
    np.testing.assert_allclose(metric.velocity_fn(momentum), jax.grad(kinetic_energy)(momentum), rtol=1e-14)


@pytest.mark.parametrize("metric_kind", sorted(METRICS))
def test_metric_momentum_has_covariance_mass_matrix(metric_kind):
    inverse_mass_matrix = METRICS[metric_kind]
    dense = np.diag(inverse_mass_matrix) if inverse_mass_matrix.ndim == 1 else inverse_mass_matrix
    mass_matrix = np.linalg.inv(dense)
    metric = gaussian_euclidean(inverse_mass_matrix)
    num_draws = 20_000
    keys = jax.random.split(jax.random.key(3), num_draws)
    draws = np.asarray(jax.vmap(metric.sample_momentum_fn, (0, None))(keys, jnp.zeros(3)))
    assert draws.shape == (num_draws, 3) and draws.dtype == np.float64
    covariance = draws.T @ draws / num_draws
    # Standard error of a Gaussian second moment: sqrt((M_ii M_jj + M_ij^2) / n).
    standard_error = np.sqrt((np.outer(np.diag(mass_matrix), np.diag(mass_matrix)) + mass_matrix**2) / num_draws)
    assert np.all(np.abs(covariance - mass_matrix) < 4 * standard_error)
    assert np.all(np.abs(draws.mean(axis=0)) < 4 * np.sqrt(np.diag(mass_matrix) / num_draws))


def test_metric_is_turning_criterion():
    metric = gaussian_euclidean(jnp.ones(2))
    forward = jnp.array([1.0, 0.0])
    assert not metric.is_turning_fn(forward, forward, forward)
    assert metric.is_turning_fn(forward, -forward, forward)
    assert metric.is_turning_fn(forward, forward, jnp.zeros(2))  # strict inequality, as in Stan
    assert metric.is_turning_fn(forward, forward, jnp.array([jnp.nan, 0.0]))
    # Leading axes broadcast: three checks at once.
    velocities = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(metric.is_turning_fn(velocities, forward, forward), [False, True, True])


@pytest.mark.parametrize("shape", [(), (2, 3), (2, 2, 2)])
def test_metric_rejects_bad_inverse_mass_matrix(shape):
    with pytest.raises(ValueError, match="inverse_mass_matrix"):
        gaussian_euclidean(jnp.ones(shape))


def test_leapfrog_refuses_a_kinetic_energy_in_place_of_a_velocity():
    with pytest.raises(ValueError, match="velocity_fn must return"):
        start_state(lambda x: -0.5 * jnp.sum(x**2), [0.0, 0.0], [1.0, 1.0], lambda p: 0.5 * jnp.dot(p, p))
