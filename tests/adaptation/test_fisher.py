"""nutpie's Fisher warmup: schedule, estimators, the (init, update, transition) contract, and pa.sample with it."""

import functools

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import posteria as pa
from posteria.adaptation import ADAPTATIONS, build_fisher_schedule, final_parameters, fisher_dense_metric
from posteria.mcmc.metrics import dense_inverse_mass_matrix
from posteria.adaptation.fisher_dense import buffer_add, buffer_init, buffer_switch
from posteria.adaptation.fisher import EARLY_TREE_DEPTH
from posteria.adaptation.fisher_schedule import foreground_capacity
from posteria.mcmc import nuts

jax.config.update("jax_enable_x64", True)

SEED = 20261121


# --- schedule -------------------------------------------------------------------------


def test_schedule_switches_often_early_then_rarely_and_freezes_the_end():
    schedule = build_fisher_schedule(1000)
    ends = (np.flatnonzero(schedule.is_switch) + 1).tolist()
    # The background holds the initial point too, so the first switch comes after 9 draws.
    assert ends[:30] == list(range(9, 300, 10))
    assert ends[30:] == [379, 459, 539, 619, 699, 779, 859]  # 859 + 80 > 950: no switch after it
    np.testing.assert_array_equal(schedule.is_mass_matrix_window, np.arange(1000) < 950)


@pytest.mark.parametrize("num_warmup, early_metric_steps", [(1000, 379), (2000, 679), (200, 60), (10, 3), (0, 0)])
def test_early_metric_lasts_until_the_first_switch_at_the_later_frequency(num_warmup, early_metric_steps):
    # 1000: the first switch after 80 draws is at step 378 (its metric serves step 379); 200: no such
    # switch, so the early stretch (30%) alone.
    schedule = build_fisher_schedule(num_warmup)
    np.testing.assert_array_equal(schedule.is_early_metric, np.arange(num_warmup) < early_metric_steps)


@pytest.mark.parametrize("num_warmup", [0, 1, 10])
def test_short_schedules_have_no_switch(num_warmup):
    schedule = build_fisher_schedule(num_warmup)
    assert schedule.is_switch.shape == schedule.is_mass_matrix_window.shape == (num_warmup,)
    assert not schedule.is_switch.any()


@pytest.mark.parametrize("num_warmup", [-1, 2.5])
def test_bad_num_warmup_is_refused(num_warmup):
    with pytest.raises(ValueError, match="num_warmup"):
        build_fisher_schedule(num_warmup)


@pytest.mark.parametrize("num_warmup", [10, 100, 300, 1000])
def test_ring_buffer_always_holds_the_whole_foreground(num_warmup):
    # Draw t has position t: after every metric step the foreground read from
    # the buffer must be exactly the draws since the foreground started.
    schedule = build_fisher_schedule(num_warmup)
    steps = np.flatnonzero(schedule.is_mass_matrix_window)
    capacity = foreground_capacity(schedule)

    def one_step(buffer, step):
        value = jnp.full(1, step, dtype=float)
        buffer = buffer_add(buffer, step, value, -value, True)
        buffer = buffer_switch(buffer, step, jnp.asarray(schedule.is_switch)[step])
        is_foreground = buffer.steps >= buffer.foreground_start
        foreground_sum = jnp.sum(jnp.where(is_foreground, buffer.positions[:, 0], 0.0))
        return buffer, (buffer.foreground_start, jnp.sum(is_foreground), foreground_sum)

    _, (starts, counts, sums) = jax.lax.scan(one_step, buffer_init(jnp.full(1, -1.0), jnp.ones(1), capacity), steps)
    starts, counts, sums = map(np.asarray, (starts, counts, sums))
    expected_counts = steps - starts + 1
    np.testing.assert_array_equal(counts, expected_counts)
    np.testing.assert_allclose(sums, (starts + steps) * expected_counts / 2)  # sum of starts..steps
    assert counts.max() == capacity or num_warmup < 20


# --- estimators -----------------------------------------------------------------------


def _gaussian_draws(covariance, num_draws, seed=0):
    x = np.random.default_rng(seed).multivariate_normal(np.zeros(len(covariance)), covariance, size=num_draws)
    return x, -x @ np.linalg.inv(covariance)


def test_dense_metric_is_the_gaussians_covariance():
    # A C_g A = C_x has the solution A = Sigma whenever g = -Sigma^-1 x, for
    # any draws: only the regularisation (1e-3 in the rescaled space) moves it.
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    covariance = (q * np.logspace(-1, 2, 6)) @ q.T
    x, g = _gaussian_draws(covariance, 40)
    estimate = np.asarray(fisher_dense_metric(x, g, np.ones(40)))
    np.testing.assert_allclose(estimate, covariance, atol=0.02 * np.abs(covariance).max())
    exact = np.asarray(fisher_dense_metric(x, g, np.ones(40), regularization=0.0))
    np.testing.assert_allclose(exact, covariance, rtol=1e-7, atol=1e-9)


def test_low_rank_metric_in_the_span_of_few_draws_ignores_weightless_rows():
    # d = 30 > 2 n = 20 solves in the span of draws and gradients; the same 10
    # draws padded with 6 weightless rows (2 n = 32 > d) solve in the full
    # space: both must agree, and the correction must be low-rank.
    d, n = 30, 10
    rng = np.random.default_rng(1)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    covariance = np.diag(np.linspace(0.5, 2.0, d)) + 400.0 * np.outer(direction, direction)
    x, g = _gaussian_draws(covariance, n)
    reduced = np.asarray(fisher_dense_metric(x, g, np.ones(n), eigenvalue_cutoff=10.0))
    padded = np.asarray(fisher_dense_metric(
        np.vstack([x, rng.normal(size=(6, d))]), np.vstack([g, rng.normal(size=(6, d))]),
        np.r_[np.ones(n), np.zeros(6)], eigenvalue_cutoff=10.0,
    ))
    np.testing.assert_allclose(reduced, padded, rtol=1e-6, atol=1e-8)
    # With no eigenvalue kept the metric is the diagonal S^2; the kept ones add
    # S U (Lambda - I) U^T S: here one direction, the planted one.
    diagonal = np.asarray(fisher_dense_metric(x, g, np.ones(n), eigenvalue_cutoff=np.inf))
    np.testing.assert_allclose(diagonal, np.diag(np.diag(diagonal)))
    scale = np.sqrt(np.diag(diagonal))
    correction = reduced / np.outer(scale, scale) - np.eye(d)
    singular_values = np.linalg.svd(correction, compute_uv=False)
    assert singular_values[0] > 10 and np.all(singular_values[1:] < 1e-8 * singular_values[0]), singular_values[:4]
    # from 10 draws the direction is rough, but far from a random one's cosine (about 0.2)
    vector = np.linalg.eigh(correction)[1][:, -1] * scale
    assert abs(vector @ direction) / np.linalg.norm(vector) > 0.7


@pytest.mark.parametrize("num_draws", [40, 10])  # full space, and the span of 10 draws in 30-D
def test_dense_shortcut_equals_keeping_every_eigenvalue(num_draws):
    # eigenvalue_cutoff=1 skips the eigendecomposition of A; a cutoff a hair
    # above 1 goes through it and keeps every eigenvalue: the same matrix.
    rng = np.random.default_rng(4)
    q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    x, g = _gaussian_draws((q * np.logspace(-1, 2, 30)) @ q.T, num_draws)
    weights = np.r_[np.ones(num_draws - 2), np.zeros(2)]
    shortcut = np.asarray(fisher_dense_metric(x, g, weights, eigenvalue_cutoff=1.0))
    decomposed = np.asarray(fisher_dense_metric(x, g, weights, eigenvalue_cutoff=1.0 + 1e-12))
    np.testing.assert_allclose(shortcut, decomposed, rtol=1e-8, atol=1e-10 * np.abs(shortcut).max())


@functools.partial(jax.jit, static_argnames=("adaptation", "num_warmup", "dense_mass"))
def _warmup(rng_key, covariance, start, adaptation, num_warmup, dense_mass=False):
    """The warmup as pa.sample's chain program runs it: one scan, update only inside warmup."""
    precision = jnp.linalg.inv(covariance)

    def logdensity_fn(x):
        return -0.5 * x @ precision @ x

    init, update, transition = ADAPTATIONS[adaptation](logdensity_fn, num_warmup, dense_mass=dense_mass)
    kernel = nuts.build_kernel()
    state = nuts.init(start, logdensity_fn)

    def one_step(carry, xs):
        state, adaptation_state = carry
        step_index, key = xs
        state, info, adaptation_state, _ = transition(key, state, adaptation_state, True, kernel)
        adaptation_state = update(step_index, state, adaptation_state, info)
        return (state, adaptation_state), info.num_integration_steps

    (state, adaptation_state), num_steps = jax.lax.scan(
        one_step, (state, init(state)), (jnp.arange(num_warmup), jax.random.split(rng_key, num_warmup))
    )
    return final_parameters(adaptation_state), num_steps


def test_trajectories_are_capped_only_under_the_early_metrics():
    # A diagonal metric cannot straighten a correlation of 0.99, so NUTS needs long trajectories all warmup
    # long: under the early windows' metrics (steps 0-59 of 200) they stop at 2**4 - 1 leapfrog steps, after
    # them they run to their U-turn.
    covariance = jnp.array([[1.0, 0.99], [0.99, 1.0]])
    _, num_steps = _warmup(jax.random.key(SEED), covariance, jnp.array([5.0, -5.0]), "fisher", 200)
    early, late = np.asarray(num_steps[:60]), np.asarray(num_steps[60:])
    limit = 2**EARLY_TREE_DEPTH - 1
    assert early.max() == limit and (early == limit).sum() >= 10  # the limit binds, and holds
    assert late.max() > 2 * limit


@pytest.mark.parametrize("adaptation", ["fisher", "fisher_low_rank"])
def test_tree_depth_limit_is_lifted_after_the_early_metrics_and_for_sampling(adaptation):
    # 20 warmup steps: the early stretch is steps 0-5, and the last update (step 19) sets the sampling's limit.
    logdensity_fn = lambda x: -0.5 * jnp.sum(x**2)  # noqa: E731
    init, update, _ = ADAPTATIONS[adaptation](logdensity_fn, 20)
    state = nuts.init(jnp.ones(3), logdensity_fn)
    info = nuts.NUTSInfo(jnp.zeros(3), jnp.array(False), jnp.array(False), 0.0, 0.0, 1, 1, 0.8)
    limits = [int(init(state).tree_depth_limit)]
    limits += [int(update(step, state, init(state), info).tree_depth_limit) for step in (4, 5, 19)]
    no_limit = np.iinfo(np.int32).max
    assert limits == [EARLY_TREE_DEPTH, EARLY_TREE_DEPTH, no_limit, no_limit]


def test_diagonal_fisher_recovers_known_scales_exactly():
    # For independent Gaussian coordinates g_i = -x_i / s_i^2 on every draw, so
    # sqrt(Var(x_i) / Var(g_i)) = s_i^2 whatever the draws: the adapted metric
    # is the truth to rounding error, over eight orders of magnitude, after 50
    # warmup steps (Stan's variance estimate has 4 / sqrt(n) relative error).
    scales = jnp.logspace(-2, 2, 8)
    (step_size, inverse_mass_matrix), _ = _warmup(
        jax.random.key(0), jnp.diag(scales**2), jnp.linspace(-1, 1, 8), "fisher", 50
    )
    np.testing.assert_allclose(np.asarray(inverse_mass_matrix), np.asarray(scales**2), rtol=1e-8)
    # isotropic after preconditioning: a unit-scale step size, not one near the smallest scale 0.01.
    # It averages only the 2-step final stretch: over 40 seeds log(step size) has mean 0.85 and
    # sd 0.51, so the bounds are 4 sd either side.
    assert 0.3 < float(step_size) < 18.0


@functools.partial(jax.jit, static_argnames=("adaptation", "num_warmup", "dense_mass", "divergent_scale"))
def _warmup_on_exact_draws(rng_key, covariance, adaptation, num_warmup, dense_mass=False, divergent_scale=1.0):
    """The adaptation fed exact Gaussian draws in place of NUTS transitions.

    Every 7th one is marked divergent and its position multiplied by ``divergent_scale``.
    Returns the final ``(step_size, inverse_mass_matrix)``, the warmup step sizes and the draws.
    """
    precision = jnp.linalg.inv(covariance)

    def logdensity_fn(x):
        return -0.5 * x @ precision @ x

    init, update, transition = ADAPTATIONS[adaptation](logdensity_fn, num_warmup, dense_mass=dense_mass)
    kernel = nuts.build_kernel()
    draw_key, scan_key = jax.random.split(rng_key)
    dimension = covariance.shape[0]
    draws = jax.random.normal(draw_key, (num_warmup, dimension)) @ jnp.linalg.cholesky(covariance).T
    draws = jnp.where((jnp.arange(num_warmup) % 7 == 6)[:, None], divergent_scale * draws, draws)
    state = nuts.init(jnp.ones(dimension), logdensity_fn)

    def one_step(adaptation_state, xs):
        step_index, position, key = xs
        zero = jnp.zeros(())
        info = nuts.NUTSInfo(jnp.zeros(dimension), step_index % 7 == 6, jnp.array(True), zero, zero, 3, 1, 0.8 + zero)
        state = nuts.init(position, logdensity_fn)
        adaptation_state = update(step_index, state, adaptation_state, info)
        _, _, adaptation_state, step_size = transition(key, state, adaptation_state, True, kernel)  # the next step's
        return adaptation_state, step_size

    adaptation_state, step_sizes = jax.lax.scan(
        one_step, init(state), (jnp.arange(num_warmup), draws, jax.random.split(scan_key, num_warmup))
    )
    step_size, inverse_mass_matrix = final_parameters(adaptation_state)
    return (step_size, dense_inverse_mass_matrix(inverse_mass_matrix)), step_sizes, draws


def _condition_number(inverse_mass_matrix, covariance):
    """Of the preconditioned covariance M^(1/2) Sigma M^(1/2) (1 for a perfect metric)."""
    inverse_mass_matrix = np.asarray(inverse_mass_matrix)
    if inverse_mass_matrix.ndim == 1:
        inverse_mass_matrix = np.diag(inverse_mass_matrix)
    root = np.linalg.cholesky(np.linalg.inv(inverse_mass_matrix))
    eigenvalues = np.linalg.eigvalsh(root.T @ covariance @ root)
    return eigenvalues.max() / eigenvalues.min()


def test_dense_and_low_rank_fisher_whiten_a_correlated_gaussian():
    # Condition number 1e3 under a random rotation. The dense Fisher metric is
    # exact up to its regularisation; the low-rank one corrects the diagonal
    # metric along every eigenvalue beyond its cutoff (2), so at most 2 / (1/2)
    # remains; the diagonal one cannot undo a rotation.
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    covariance = (q * np.logspace(0, 3, 10)) @ q.T
    condition = {}
    for adaptation, dense_mass in [("fisher", False), ("fisher", True), ("fisher_low_rank", False)]:
        (step_size, inverse_mass_matrix), _, _ = _warmup_on_exact_draws(
            jax.random.key(1), jnp.asarray(covariance), adaptation, 200, dense_mass
        )
        condition[adaptation, dense_mass] = _condition_number(inverse_mass_matrix, covariance)
    assert condition["fisher", True] < 1.1, condition
    assert condition["fisher", False] > 100, condition
    assert condition["fisher_low_rank", False] < 4, condition


@pytest.mark.parametrize("adaptation, dense_mass", [("fisher", False), ("fisher_low_rank", False)])
def test_divergent_draws_are_left_out(adaptation, dense_mass):
    # Under correlation the diagonal estimate depends on which draws it sees:
    # moving the divergent draws (x 30, gradients to match) must change nothing.
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    covariance = jnp.asarray((q * np.logspace(0, 3, 10)) @ q.T)
    metrics = [
        np.asarray(_warmup_on_exact_draws(jax.random.key(3), covariance, adaptation, 200, dense_mass, scale)[0][1])
        for scale in (1.0, 30.0)
    ]
    np.testing.assert_allclose(metrics[1], metrics[0], rtol=1e-12)


@pytest.mark.parametrize("adaptation, dense_mass", [("fisher", False), ("fisher", True), ("fisher_low_rank", False)])
def test_final_metric_comes_from_the_last_foreground_window_only(adaptation, dense_mass):
    # After the last switch the foreground is the draws since the switch
    # before it: recompute the metric from exactly those (divergent ones left
    # out) with numpy / fisher_dense_metric; any draw too many or too few shows.
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    covariance = (q * np.logspace(0, 2, 6)) @ q.T
    num_warmup = 300  # last switches after steps 88 and 168: the foreground is steps 89..254
    (_, inverse_mass_matrix), _, draws = _warmup_on_exact_draws(
        jax.random.key(4), jnp.asarray(covariance), adaptation, num_warmup, dense_mass
    )
    schedule = build_fisher_schedule(num_warmup)
    switches = np.flatnonzero(schedule.is_switch)
    steps = np.arange(switches[-2] + 1, schedule.is_mass_matrix_window.sum())
    steps = steps[steps % 7 != 6]
    x = np.asarray(draws)[steps]
    g = -x @ np.linalg.inv(covariance)
    if adaptation == "fisher" and not dense_mass:
        expected = np.sqrt(x.var(axis=0) / g.var(axis=0))
    else:
        cutoff = 1.0 if dense_mass else 2.0
        expected = np.asarray(fisher_dense_metric(x, g, np.ones(len(x)), eigenvalue_cutoff=cutoff))
    np.testing.assert_allclose(np.asarray(inverse_mass_matrix), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("adaptation", ["fisher", "fisher_low_rank"])
def test_dual_averaging_restarts_under_the_final_metric(adaptation):
    # Stan's term buffer: the kept step size averages only the final
    # step-size-only stretch, which starts from a fresh search.
    logdensity_fn = lambda x: -0.5 * jnp.sum(x**2 / jnp.array([0.01, 1.0, 100.0]))  # noqa: E731
    num_warmup = 200
    init, update, transition = ADAPTATIONS[adaptation](logdensity_fn, num_warmup)
    kernel = nuts.build_kernel()
    schedule = build_fisher_schedule(num_warmup)
    final_stretch = num_warmup - int(schedule.is_mass_matrix_window.sum())
    assert final_stretch == 10
    state = nuts.init(jnp.ones(3), logdensity_fn)
    zero = jnp.zeros(())
    info = nuts.NUTSInfo(jnp.zeros(3), jnp.array(False), jnp.array(True), zero, zero, 3, 1, 0.6 + zero)
    adaptation_state = init(state)
    update, transition = jax.jit(update), jax.jit(transition, static_argnums=(3, 4))
    for step in range(num_warmup):
        adaptation_state = update(step, state, adaptation_state, info)
        _, _, adaptation_state, _ = transition(jax.random.key(step), state, adaptation_state, True, kernel)
        if step == num_warmup - final_stretch - 2:
            assert int(adaptation_state.dual_averaging.step) > final_stretch  # not restarted yet
    assert int(adaptation_state.dual_averaging.step) == final_stretch


def test_early_low_rank_metric_from_the_latest_rows_equals_the_whole_buffers():
    # Above 128 dimensions an early switch solves in the span of the latest 32
    # rows only: the metric must be the one of the foreground draws all the same.
    dimension, num_warmup = 140, 1000  # early switches every 10 steps up to step 298; the 171-row ring wraps
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.normal(size=(dimension, dimension)))
    covariance = (q * np.logspace(0, 2, dimension)) @ q.T
    precision = jnp.asarray(np.linalg.inv(covariance))
    logdensity_fn = lambda x: -0.5 * x @ precision @ x  # noqa: E731
    init, update, _ = ADAPTATIONS["fisher_low_rank"](logdensity_fn, num_warmup)
    draws = rng.normal(size=(num_warmup, dimension)) @ np.linalg.cholesky(covariance).T
    zero = jnp.zeros(())
    info = nuts.NUTSInfo(jnp.zeros(dimension), jnp.array(False), jnp.array(True), zero, zero, 3, 1, 0.8 + zero)
    adaptation_state = init(nuts.init(jnp.ones(dimension), logdensity_fn))
    update = jax.jit(update)
    switches = np.flatnonzero(build_fisher_schedule(num_warmup).is_switch)
    assert switches[20] > foreground_capacity(build_fisher_schedule(num_warmup))
    for step in range(switches[20] + 1):  # the foreground is then the draws after switch 19
        adaptation_state = update(step, nuts.init(jnp.asarray(draws[step]), logdensity_fn), adaptation_state, info)
    x = draws[switches[19] + 1: switches[20] + 1]
    expected = fisher_dense_metric(x, -x @ np.asarray(precision), np.ones(len(x)), eigenvalue_cutoff=2.0)
    actual = dense_inverse_mass_matrix(adaptation_state.inverse_mass_matrix)
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-4, atol=1e-6)  # solved two ways


# --- contract -------------------------------------------------------------------------


@pytest.mark.parametrize("adaptation, dense_mass, shape", [
    ("fisher", False, (3,)), ("fisher", True, (3, 3)), ("fisher_low_rank", False, (3, 3)),
])
@pytest.mark.parametrize("num_warmup", [1, 10, 50])
def test_contract_with_tiny_warmups(adaptation, dense_mass, shape, num_warmup):
    covariance = jnp.diag(jnp.array([0.01, 1.0, 100.0]))
    (step_size, inverse_mass_matrix), step_sizes, _ = _warmup_on_exact_draws(
        jax.random.key(2), covariance, adaptation, num_warmup, dense_mass
    )
    assert step_size.shape == () and step_size.dtype == jnp.float64 and 0 < float(step_size) < np.inf
    assert inverse_mass_matrix.shape == shape and inverse_mass_matrix.dtype == jnp.float64
    assert np.all(np.isfinite(np.asarray(inverse_mass_matrix)))
    assert step_sizes.shape == (num_warmup,) and np.all(np.isfinite(np.asarray(step_sizes)))
    if num_warmup == 50:  # the metric has learnt the scales
        assert _condition_number(inverse_mass_matrix, np.asarray(covariance)) < 2


def test_initial_metric_comes_from_the_gradient():
    # nutpie's first guess 1 / |g_i| (1 where g_i = 0), before any draw
    logdensity_fn = lambda x: -0.5 * jnp.sum(x**2 / jnp.array([4.0, 1.0, 0.25]))  # noqa: E731
    init, _, transition = ADAPTATIONS["fisher"](logdensity_fn, 10)
    state = nuts.init(jnp.array([2.0, 0.0, 1.0]), logdensity_fn)
    _, _, adaptation_state, step_size = transition(jax.random.key(0), state, init(state), True, nuts.build_kernel())
    np.testing.assert_allclose(np.asarray(adaptation_state.inverse_mass_matrix), [2.0, 1.0, 0.25])
    assert float(step_size) == float(final_parameters(adaptation_state)[0])  # dual averaging restarted at the search


# --- pa.sample ------------------------------------------------------------------------


def test_sample_with_fisher_lands_on_a_closed_form_posterior():
    # Normal mean with known variance (posterior N(m, v)) next to a prior-only
    # coordinate 1e4 times narrower: means and variances within 4 MCSE.
    rng = np.random.default_rng(1)
    sigma, m0, s0 = 2.0, 1.0, 3.0
    y = rng.normal(0.7, sigma, size=20)
    with pa.Model():
        mu = pa.Normal("mu", m0, s0)
        pa.Normal("tiny", 0.0, 1e-4)
        pa.Normal("y", mu, sigma, observed=y)
        idata = pa.sample(1000, tune=300, chains=4, seed=SEED, progressbar=False, adaptation="fisher")
    precision = 1 / s0**2 + len(y) / sigma**2
    truths = {"mu": ((m0 / s0**2 + y.sum() / sigma**2) / precision, 1 / precision), "tiny": (0.0, 1e-8)}
    for name, (mean, variance) in truths.items():
        draws = idata.posterior[name].values
        assert abs(draws.mean() - mean) < 4 * np.asarray(az.mcse(draws)).item(), name
        squared = (draws - draws.mean()) ** 2
        assert abs(squared.mean() - variance) < 4 * np.asarray(az.mcse(squared)).item(), name
    report = pa.check(idata)
    assert report.num_divergent == 0 and max(report.rhat.values()) < 1.01
    assert min(report.ess_bulk.values()) > 1000
