"""Dual averaging on problems with a known answer, and the step-size search."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from posteria.adaptation.step_size import dual_averaging, find_reasonable_step_size
from posteria.mcmc import nuts

jax.config.update("jax_enable_x64", True)


def _acceptance(step_size):
    """Synthetic acceptance curve exp(-(step_size / 0.5)^2): 1 at 0, falling smoothly."""
    return jnp.exp(-((step_size / 0.5) ** 2))


def _optimal_step_size(target_accept):
    return 0.5 * np.sqrt(-np.log(target_accept))


@functools.partial(jax.jit, static_argnames=("num_steps", "is_noisy"))
def _adapt(rng_key, target_accept, initial_step_size, num_steps, is_noisy):
    """Run dual averaging; return the final step size and the acceptance probabilities seen.

    Noisy runs observe a Bernoulli(acceptance) indicator instead of the
    probability itself, like a Metropolis step, so the noise has mean 0.
    """
    init, update, final = dual_averaging(target_accept)

    def one_step(state, key):
        probability = _acceptance(jnp.exp(state.log_step_size))
        observed = jax.random.bernoulli(key, probability).astype(float) if is_noisy else probability
        return update(state, observed), probability

    keys = jax.random.split(rng_key, num_steps)
    state, probabilities = jax.lax.scan(one_step, init(initial_step_size), keys)
    return final(state), probabilities


@pytest.mark.parametrize("target_accept", [0.65, 0.8, 0.95])
@pytest.mark.parametrize("initial_step_size", [1e-3, 1.0, 100.0])
def test_converges_to_the_step_size_of_target_accept(target_accept, initial_step_size):
    # The average forgets its start slowly (weights t^-0.75): within 4% after
    # 5000 steps from 1e-3 to 100 times too large, and closer as t grows.
    truth = _optimal_step_size(target_accept)
    errors = []
    for num_steps in (1000, 5000):
        step_size, _ = _adapt(jax.random.key(0), target_accept, initial_step_size, num_steps, False)
        errors.append(abs(float(step_size) / truth - 1))
    assert errors[1] < 0.04, errors
    assert errors[1] < errors[0] / 1.5, errors


def test_converges_with_noisy_acceptance():
    # Observing only accept/reject, the iterates' mean acceptance settles on
    # the target, and the averaged step size accepts a little more (averaging
    # log step sizes is conservative): each of 10 seeds within 0.05 and 0.06.
    for seed in range(10):
        step_size, probabilities = _adapt(jax.random.key(seed), 0.8, 1.0, 2000, True)
        mean_acceptance = float(probabilities[1000:].mean())
        assert abs(mean_acceptance - 0.8) < 0.05, (seed, mean_acceptance)
        assert abs(float(_acceptance(step_size)) - 0.8) < 0.06, (seed, float(step_size))


def test_first_update_matches_hand_computation():
    init, update, final = dual_averaging(0.8)
    state = update(init(2.0), 0.3)
    avg_error = (0.8 - 0.3) / 11
    log_step_size = np.log(20.0) - np.sqrt(1.0) / 0.05 * avg_error
    np.testing.assert_allclose(state.avg_error, avg_error, rtol=1e-14)
    np.testing.assert_allclose(state.log_step_size, log_step_size, rtol=1e-14)
    np.testing.assert_allclose(final(state), np.exp(log_step_size), rtol=1e-14)
    state = update(state, 0.9)
    avg_error = (11 / 12) * avg_error + (0.8 - 0.9) / 12
    second = np.log(20.0) - np.sqrt(2.0) / 0.05 * avg_error
    weight = 2.0**-0.75
    np.testing.assert_allclose(state.log_step_size, second, rtol=1e-14)
    np.testing.assert_allclose(
        state.log_step_size_avg, (1 - weight) * log_step_size + weight * second, rtol=1e-14
    )


def test_init_centres_on_ten_times_the_step_size():
    init, _, final = dual_averaging()
    state = init(0.3)
    np.testing.assert_allclose(state.mu, np.log(3.0), rtol=1e-14)
    np.testing.assert_allclose(final(state), 0.3, rtol=1e-14)
    assert int(state.step) == 0


def test_acceptance_above_one_is_clipped_and_nan_counts_as_zero():
    init, update, _ = dual_averaging()
    state = init(1.0)
    for got, expected in [(1.7, 1.0), (jnp.nan, 0.0)]:
        np.testing.assert_array_equal(
            update(state, got).log_step_size, update(state, expected).log_step_size
        )


@jax.jit
def _search(rng_key, scales, inverse_mass_matrix, initial_step_size):
    """Step-size search on N(0, diag(scales^2)) from a fixed typical point."""

    def logdensity_fn(x):
        return -0.5 * jnp.sum((x / scales) ** 2)

    position = scales * jax.random.normal(jax.random.key(99), scales.shape)
    state = nuts.init(position, logdensity_fn)
    return find_reasonable_step_size(rng_key, state, logdensity_fn, initial_step_size, inverse_mass_matrix)


def test_search_scales_with_the_posterior():
    # The leapfrog on N(0, s^2) with step e equals the leapfrog on N(0, 1) with
    # step e / s, so scaling the target and the starting step by a power of 2
    # scales the answer exactly.
    scales = jnp.ones(3)
    unit = float(_search(jax.random.key(0), scales, jnp.ones(3), 1.0))
    assert 0.1 < unit < 4.0
    for factor in [2.0**-7, 2.0**5]:
        scaled = _search(jax.random.key(0), factor * scales, jnp.ones(3), factor)
        assert float(scaled) == factor * unit


def test_search_uses_the_inverse_mass_matrix():
    # With the identity, the scale 0.01 direction forces a step below 0.1;
    # with the true variances the problem is isotropic and the step of order 1.
    scales = jnp.array([0.01, 1.0, 100.0])
    for seed in range(5):
        key = jax.random.key(seed)
        assert float(_search(key, scales, jnp.ones(3), 1.0)) < 0.1
        assert float(_search(key, scales, scales**2, 1.0)) > 0.25


def test_search_stops_after_max_num_iterations():
    # A flat density accepts every step, so the step size doubles each trial.
    def logdensity_fn(x):
        return 0.0 * jnp.sum(x)

    state = nuts.init(jnp.zeros(2), logdensity_fn)
    step_size = find_reasonable_step_size(
        jax.random.key(0), state, logdensity_fn, 1.0, jnp.ones(2), max_num_iterations=7
    )
    assert float(step_size) == 2.0**7


def test_search_stops_growing_at_a_nan_energy():
    # Flat inside the unit box, NaN outside: the step doubles until a leapfrog
    # step leaves the box, whose NaN energy must count as a rejection (else
    # the search would run all 100 trials, to 1e-3 * 2^100).
    def logdensity_fn(x):
        return jnp.where(jnp.all(jnp.abs(x) < 1.0), 0.0 * jnp.sum(x), jnp.nan)

    state = nuts.init(jnp.zeros(2), logdensity_fn)
    step_size = float(
        find_reasonable_step_size(jax.random.key(3), state, logdensity_fn, 1e-3, jnp.ones(2))
    )
    assert 0.1 < step_size < 1e3
