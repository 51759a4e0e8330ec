"""The factored low-rank metric agrees with the same inverse mass matrix multiplied out."""

import arviz as az
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


def test_velocity_matches_the_dense_matrix():
    inverse_mass = low_rank()
    dense = dense_inverse_mass_matrix(inverse_mass)
    momentum = jnp.linspace(-1.0, 2.0, 6)
    np.testing.assert_allclose(gaussian_euclidean(inverse_mass).velocity_fn(momentum), dense @ momentum, rtol=1e-12)
    assert np.allclose(dense, dense.T) and np.all(np.linalg.eigvalsh(dense) > 0)


def momentum_covariance_error(sampled_from, mass, num_draws=40_000):
    """Largest |sample covariance - mass| of momenta drawn under ``sampled_from``, in standard errors."""
    keys = jax.random.split(jax.random.key(1), num_draws)
    draw = jax.vmap(gaussian_euclidean(sampled_from).sample_momentum_fn, in_axes=(0, None))
    draws = np.asarray(draw(keys, jnp.zeros(mass.shape[0])))
    standard_error = np.sqrt((np.outer(np.diag(mass), np.diag(mass)) + mass**2) / num_draws)  # Wishart entries
    return np.max(np.abs(draws.T @ draws / num_draws - mass) / standard_error)


def test_momentum_covariance_is_the_mass_matrix():
    inverse_mass = low_rank()
    mass = np.linalg.inv(dense_inverse_mass_matrix(inverse_mass))
    assert momentum_covariance_error(inverse_mass, mass) < 5  # 36 entries, 5 standard errors


def test_a_wrong_square_root_fails_the_covariance_check():
    inverse_mass = low_rank()
    wrong = inverse_mass._replace(values=inverse_mass.values**2)  # momenta from another metric
    mass = np.linalg.inv(dense_inverse_mass_matrix(inverse_mass))
    assert momentum_covariance_error(wrong, mass) > 5


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
    mcse = np.array([np.asarray(az.mcse(draws[None, :, i])).item() for i in range(2)])  # (1,) with numba
    assert np.all(np.abs(draws.mean(axis=0)) < 4 * mcse)
    # Correlation 0.95: its estimate's standard error is (1 - 0.95^2) / sqrt(ESS) for a Gaussian.
    ess = min(np.asarray(az.ess(draws[None, :, i])).item() for i in range(2))
    assert abs(np.corrcoef(draws.T)[0, 1] - 0.95) < 4 * (1 - 0.95**2) / np.sqrt(ess)
