"""Dual averaging on problems with a known answer, the step-size search, and the adapted transition."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from posteria.adaptation.step_size import (
    DualAveragingState, adapted_transition, dual_averaging, find_reasonable_step_size,
)
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


class _Warmup(NamedTuple):
    dual_averaging: DualAveragingState
    inverse_mass_matrix: jax.Array
    is_search_pending: jax.Array


def _standard_gaussian(x):
    return -0.5 * jnp.sum(x**2)


_KERNEL = nuts.build_kernel()
_STATE = nuts.init(jax.random.normal(jax.random.key(99), (8,)), _standard_gaussian)


def test_adapted_transition_without_a_search_is_one_kernel_call():
    warmup = _Warmup(dual_averaging()[0](0.7), jnp.ones(8), jnp.array(False))
    key = jax.random.key(4)
    state, info, after, step_size = jax.jit(adapted_transition, static_argnums=(3, 4, 5))(
        key, _STATE, warmup, True, _standard_gaussian, _KERNEL)
    expected_state, expected_info = _KERNEL(jax.random.fold_in(key, 0), _STATE, _standard_gaussian, 0.7, jnp.ones(8))
    assert float(step_size) == pytest.approx(0.7)
    assert bool(jnp.all(state.position == expected_state.position))
    assert int(info.num_integration_steps) == int(expected_info.num_integration_steps)
    assert after.dual_averaging == warmup.dual_averaging  # only update() moves dual averaging


def test_adapted_transition_searches_with_one_leapfrog_trials_and_leaves_the_state_alone():
    # The search inside the kernel must find what Stan's own search finds: over
    # 2000 keys, the frequency of each step size agrees within 4 standard errors.
    warmup = _Warmup(dual_averaging()[0](1.0), jnp.ones(8), jnp.array(True))
    keys = jax.random.split(jax.random.key(0), 2000)
    searched = jax.jit(jax.vmap(lambda k: adapted_transition(k, _STATE, warmup, True, _standard_gaussian, _KERNEL)))
    states, _, afters, step_sizes = searched(keys)
    reference = jax.jit(jax.vmap(lambda k: find_reasonable_step_size(k, _STATE, _standard_gaussian, 1.0, jnp.ones(8))))
    expected = np.asarray(reference(jax.random.split(jax.random.key(1), 2000)))
    step_sizes = np.asarray(step_sizes)
    for value in [0.5, 1.0, 2.0]:
        p, q = (step_sizes == value).mean(), (expected == value).mean()
        assert abs(p - q) < 4 * np.sqrt(2 * q * (1 - q) / len(keys)), (value, p, q)
    assert not bool(afters.is_search_pending.any()) and int(afters.dual_averaging.step.max()) == 0
    np.testing.assert_array_equal(np.exp(np.asarray(afters.dual_averaging.log_step_size)), step_sizes)
    # The transition starts where the trials did: it is the kernel's call number (trials made) from _STATE.
    first = jax.tree_util.tree_map(lambda a: a[0], states)
    calls = [_KERNEL(jax.random.fold_in(keys[0], n), _STATE, _standard_gaussian, float(step_sizes[0]), jnp.ones(8))[0]
             for n in range(1, 8)]
    assert any(bool(jnp.all(call.position == first.position)) for call in calls)
