"""Welford (co)variance estimates against numpy, and Stan's regularisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from posteria.adaptation.mass_matrix import mass_matrix_adaptation, regularize, sample_covariance

jax.config.update("jax_enable_x64", True)


def _draws(seed=0, num_draws=300):
    rng = np.random.default_rng(seed)
    mixing = np.array(
        [[1.0, 0.0, 0.0, 0.0], [0.5, 2.0, 0.0, 0.0], [0.0, -3.0, 0.1, 0.0], [1.0, 1.0, 1.0, 50.0]]
    )
    return 7.0 + rng.standard_normal((num_draws, 4)) @ mixing.T


def _run_welford(draws, dense):
    init, update, _ = mass_matrix_adaptation(dense)

    @jax.jit
    def run(draws):
        state, _ = jax.lax.scan(lambda s, x: (update(s, x), None), init(draws[0]), draws)
        return state

    return run(jnp.asarray(draws))


@pytest.mark.parametrize("dense", [False, True])
def test_welford_matches_numpy(dense):
    draws = _draws()
    state = _run_welford(draws, dense)
    assert int(state.num_samples) == draws.shape[0]
    np.testing.assert_allclose(state.mean, draws.mean(axis=0), rtol=1e-10, atol=0)
    expected = np.cov(draws, rowvar=False) if dense else draws.var(axis=0, ddof=1)
    np.testing.assert_allclose(sample_covariance(state), expected, rtol=1e-10, atol=0)


def test_dense_estimate_is_exactly_symmetric():
    state = _run_welford(_draws(seed=1), dense=True)
    covariance = np.asarray(sample_covariance(state))
    np.testing.assert_array_equal(covariance, covariance.T)


def test_diagonal_of_dense_equals_diagonal_estimate():
    draws = _draws(seed=2)
    dense = sample_covariance(_run_welford(draws, dense=True))
    diagonal = sample_covariance(_run_welford(draws, dense=False))
    np.testing.assert_allclose(np.diag(dense), diagonal, rtol=1e-12)


def test_regularize_is_stans_formula():
    variance = jnp.array([0.01, 1.0, 400.0])
    np.testing.assert_array_equal(
        regularize(variance, 20), (20 / 25) * variance + 1e-3 * (5 / 25)
    )
    covariance = jnp.array([[4.0, 1.0], [1.0, 9.0]])
    expected = (95 / 100) * covariance + 1e-3 * (5 / 100) * jnp.eye(2)
    np.testing.assert_array_equal(regularize(covariance, 95), expected)


@pytest.mark.parametrize("dense", [False, True])
def test_final_is_regularised_sample_covariance(dense):
    draws = _draws(seed=3, num_draws=40)
    _, _, final = mass_matrix_adaptation(dense)
    state = _run_welford(draws, dense)
    expected = np.cov(draws, rowvar=False) if dense else draws.var(axis=0, ddof=1)
    shift = 1e-3 * (5 / 45) * (np.eye(4) if dense else np.ones(4))
    np.testing.assert_allclose(final(state), (40 / 45) * expected + shift, rtol=1e-10)


def test_init_restarts_the_window():
    init, update, _ = mass_matrix_adaptation(dense=True)
    state = init(jnp.ones(3))
    assert state.m2.shape == (3, 3)
    assert int(state.num_samples) == 0
    np.testing.assert_array_equal(state.mean, np.zeros(3))
    state = update(state, jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(state.mean, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(state.m2, np.zeros((3, 3)))
