"""The factored low-rank metric agrees with the same inverse mass matrix multiplied out."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from posteria.mcmc import nuts
from posteria.mcmc.metrics import LowRankInverseMass, dense_inverse_mass_matrix, gaussian_euclidean

jax.config.update("jax_enable_x64", True)


def low_rank(d=6, k=2, seed=0):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, k)))
    return LowRankInverseMass(jnp.asarray(rng.uniform(0.5, 2.0, d)), jnp.asarray(basis), jnp.array([9.0, 0.2][:k]))


def test_velocity_and_kinetic_energy_match_the_dense_matrix():
    inverse_mass = low_rank()
    dense = dense_inverse_mass_matrix(inverse_mass)
    factored, full = gaussian_euclidean(inverse_mass), gaussian_euclidean(dense)
    momentum = jnp.linspace(-1.0, 2.0, 6)
    np.testing.assert_allclose(factored.velocity_fn(momentum), dense @ momentum, rtol=1e-12)
    np.testing.assert_allclose(factored.kinetic_energy_fn(momentum), full.kinetic_energy_fn(momentum), rtol=1e-12)
    assert np.allclose(dense, dense.T) and np.all(np.linalg.eigvalsh(dense) > 0)


def test_momentum_covariance_is_the_mass_matrix():
    inverse_mass = low_rank()
    mass = np.linalg.inv(dense_inverse_mass_matrix(inverse_mass))
    num_draws = 40_000
    keys = jax.random.split(jax.random.key(1), num_draws)
    draws = np.asarray(jax.vmap(gaussian_euclidean(inverse_mass).sample_momentum_fn, in_axes=(0, None))(keys, jnp.zeros(6)))
    covariance = draws.T @ draws / num_draws
    standard_error = np.sqrt((np.outer(np.diag(mass), np.diag(mass)) + mass**2) / num_draws)
    assert np.max(np.abs(covariance - mass) / standard_error) < 5  # 36 entries, 5 standard errors


def test_a_wrong_square_root_fails_the_covariance_check():
    inverse_mass = low_rank()
    wrong = inverse_mass._replace(values=inverse_mass.values**2)  # momenta from another metric
    mass = np.linalg.inv(dense_inverse_mass_matrix(inverse_mass))
    keys = jax.random.split(jax.random.key(1), 40_000)
    draws = np.asarray(jax.vmap(gaussian_euclidean(wrong).sample_momentum_fn, in_axes=(0, None))(keys, jnp.zeros(6)))
    standard_error = np.sqrt((np.outer(np.diag(mass), np.diag(mass)) + mass**2) / 40_000)
    assert np.max(np.abs(draws.T @ draws / 40_000 - mass) / standard_error) > 5


@pytest.mark.parametrize("as_dense", [False, True])
def test_nuts_with_a_low_rank_metric_samples_a_correlated_gaussian(as_dense):
    covariance = np.array([[4.0, 3.8], [3.8, 4.0]])
    precision = jnp.asarray(np.linalg.inv(covariance))
    logdensity_fn = lambda x: -0.5 * x @ precision @ x  # noqa: E731
    values, vectors = np.linalg.eigh(covariance / 4.0)
    metric = LowRankInverseMass(jnp.full(2, 2.0), jnp.asarray(vectors), jnp.asarray(values))
    metric = dense_inverse_mass_matrix(metric) if as_dense else metric
    np.testing.assert_allclose(dense_inverse_mass_matrix(metric), covariance, rtol=1e-12)
    kernel = nuts.build_kernel()

    def step(state, key):
        state, info = kernel(key, state, logdensity_fn, 0.9, metric)
        return state, (state.position, info.num_integration_steps)

    _, (draws, steps) = jax.lax.scan(step, nuts.init(jnp.zeros(2), logdensity_fn), jax.random.split(jax.random.key(2), 4000))
    draws = np.asarray(draws)
    assert np.mean(steps) < 4  # the metric whitens the target: short trajectories
    standard_error = np.sqrt(np.diag(covariance) / 4000) * 2  # draws are nearly independent; 2x margin
    assert np.all(np.abs(draws.mean(axis=0)) < 4 * standard_error)
    assert abs(np.corrcoef(draws.T)[0, 1] - 0.95) < 0.02
