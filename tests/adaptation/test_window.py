"""Stan's window schedule, and the whole warmup on Gaussians with known covariance."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from posteria.adaptation.schedule import build_schedule
from posteria.adaptation.window import window_adaptation
from posteria.mcmc import nuts

jax.config.update("jax_enable_x64", True)


def _windows(schedule):
    """(start, stop) of each slow window, stop exclusive."""
    ends = np.flatnonzero(schedule.is_window_end) + 1
    starts = np.concatenate([[np.flatnonzero(schedule.is_slow_window)[0]], ends[:-1]])
    return list(zip(starts.tolist(), ends.tolist()))


@pytest.mark.parametrize(
    "num_warmup, windows",
    [
        (1000, [(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]),
        (2000, [(75, 100), (100, 150), (150, 250), (250, 450), (450, 850), (850, 1950)]),
        (150, [(75, 100)]),  # exactly the three stages
        (200, [(75, 100), (100, 150)]),
        (160, [(75, 100), (100, 110)]),  # Stan never stretches the first window
        (100, [(15, 90)]),  # fallback: 15% / 75% / 10%
        (20, [(3, 18)]),
    ],
)
def test_windows_are_stans(num_warmup, windows):
    schedule = build_schedule(num_warmup)
    assert schedule.is_slow_window.shape == schedule.is_window_end.shape == (num_warmup,)
    assert _windows(schedule) == windows
    slow = np.zeros(num_warmup, dtype=bool)
    for start, stop in windows:
        slow[start:stop] = True
    np.testing.assert_array_equal(schedule.is_slow_window, slow)


def test_fast_windows_of_a_long_warmup():
    schedule = build_schedule(1000)
    assert not schedule.is_slow_window[:75].any() and not schedule.is_slow_window[950:].any()
    assert schedule.is_slow_window[75:950].all()


@pytest.mark.parametrize("num_warmup", [0, 1, 19])
def test_short_warmup_adapts_step_size_only(num_warmup):
    schedule = build_schedule(num_warmup)
    assert schedule.is_slow_window.shape == (num_warmup,)
    assert not schedule.is_slow_window.any() and not schedule.is_window_end.any()


def test_custom_stages():
    schedule = build_schedule(300, initial_buffer=10, first_window=20, final_buffer=10)
    assert _windows(schedule) == [(10, 30), (30, 70), (70, 290)]


@pytest.mark.parametrize("num_warmup", [-1, 2.5])
def test_bad_num_warmup_is_refused(num_warmup):
    with pytest.raises(ValueError, match="num_warmup"):
        build_schedule(num_warmup)


@functools.partial(jax.jit, static_argnames=("num_warmup", "num_samples", "dense_mass"))
def _warmup_then_sample(rng_key, covariance, num_warmup, num_samples, dense_mass):
    """Warmup and sampling on N(0, covariance) in one program, as the sampling driver runs them."""
    precision = jnp.linalg.inv(covariance)

    def logdensity_fn(x):
        return -0.5 * x @ precision @ x

    warmup = window_adaptation(logdensity_fn, num_warmup, dense_mass=dense_mass)
    kernel = nuts.build_kernel()
    warmup_key, sample_key = jax.random.split(rng_key)
    result = warmup(warmup_key, jnp.ones(covariance.shape[0]))

    def one_step(state, key):
        state, info = kernel(key, state, logdensity_fn, result.step_size, result.inverse_mass_matrix)
        return state, info.acceptance_rate

    _, acceptance = jax.lax.scan(one_step, result.state, jax.random.split(sample_key, num_samples))
    return result, acceptance


# The last slow window of a 1000-step warmup holds n = 500 draws. A sample
# variance of n independent Gaussian draws has relative standard error
# sqrt(2 / n) = 0.063 and a covariance entry the standard error
# sqrt((S_ii S_jj + S_ij^2) / n). The tolerances are 4 of those (NUTS draws
# of a Gaussian are close to independent) plus 1% for Stan's shrinkage
# n / (n + 5).
NUM_WINDOW_DRAWS = 500


def _check_step_size(result, acceptance):
    # Dual averaging holds the acceptance of its iterates at the target over
    # the final fast window (50 draws, standard error about 0.03). The step
    # size it keeps, exp(x_bar), is the average of the log iterates, which
    # accepts more: in low dimension Stan's, NumPyro's and this warmup all
    # sample at 0.85-0.93 for a target of 0.8 (numpyro issue #1786).
    warmup_acceptance = float(result.info.acceptance_rate[-50:].mean())
    assert abs(warmup_acceptance - 0.8) < 0.05, warmup_acceptance
    assert 0.75 < float(acceptance.mean()) < 0.95, float(acceptance.mean())


def test_diagonal_adaptation_on_a_badly_scaled_gaussian():
    scales = jnp.array([0.1, 1.0, 10.0, 100.0, 1.0])
    result, acceptance = _warmup_then_sample(
        jax.random.key(0), jnp.diag(scales**2), num_warmup=1000, num_samples=1000, dense_mass=False
    )
    assert result.info.acceptance_rate.shape == (1000,)
    relative_error = np.asarray(result.inverse_mass_matrix) / np.asarray(scales**2) - 1
    assert np.all(np.abs(relative_error) < 4 * np.sqrt(2 / NUM_WINDOW_DRAWS) + 0.01), relative_error
    _check_step_size(result, acceptance)
    # After each window end dual averaging restarts at mu = log(10 * step):
    # its second transition tries about 14 times the searched step, far past
    # the leapfrog's stability limit, and is all but rejected.
    window_ends = np.array([99, 149, 249, 449, 949])
    assert np.all(np.asarray(result.info.acceptance_rate)[window_ends + 2] < 0.1)
    # Adapted, the problem is isotropic and the step size of order 1, where
    # the identity metric would need a step below the smallest scale, 0.1.
    assert 0.3 < float(result.step_size) < 2.0


def test_dense_adaptation_recovers_a_correlated_covariance():
    sd = np.array([1.0, 3.0, 0.2])
    correlation = np.array([[1.0, 0.9, -0.5], [0.9, 1.0, -0.3], [-0.5, -0.3, 1.0]])
    covariance = correlation * np.outer(sd, sd)
    result, acceptance = _warmup_then_sample(
        jax.random.key(0), jnp.asarray(covariance), num_warmup=1000, num_samples=1000, dense_mass=True
    )
    estimate = np.asarray(result.inverse_mass_matrix)
    variances = np.diag(covariance)
    standard_error = np.sqrt((np.outer(variances, variances) + covariance**2) / NUM_WINDOW_DRAWS)
    assert np.all(np.abs(estimate - covariance) < 4 * standard_error + 0.01 * np.abs(covariance)), estimate
    _check_step_size(result, acceptance)


def test_short_warmup_progress_and_determinism():
    # Below 20 steps the metric stays the identity; progress_fn sees every
    # step in order; the same key gives the same warmup.
    seen = []

    def progress_fn(step_index, info):
        jax.debug.callback(lambda i: seen.append(int(i)), step_index, ordered=True)

    def logdensity_fn(x):
        return -0.5 * jnp.sum(x**2)

    run = jax.jit(window_adaptation(logdensity_fn, 10, dense_mass=True, progress_fn=progress_fn))
    first = run(jax.random.key(5), jnp.zeros(2))
    second = run(jax.random.key(5), jnp.zeros(2))
    jax.effects_barrier()
    assert seen == list(range(10)) * 2
    np.testing.assert_array_equal(first.inverse_mass_matrix, np.eye(2))
    assert first.info.tree_depth.shape == (10,)
    np.testing.assert_array_equal(first.state.position, second.state.position)
    assert float(first.step_size) == float(second.step_size)
    assert 0.1 < float(first.step_size) < 10.0
