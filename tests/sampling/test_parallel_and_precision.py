"""Chains at once (and the batched-LAPACK limit), and the float32 opt-in."""

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import posteria as pa
from posteria.sampling import parallel

RNG = np.random.default_rng(11)
X = RNG.normal(size=(200, 3))
Y = 0.5 + X @ np.array([1.0, -2.0, 0.5]) + RNG.normal(scale=0.7, size=200)


def regression():
    with pa.Model() as model:
        x = pa.Data("x", X)
        alpha = pa.Normal("alpha", 0.0, 5.0)
        beta = pa.Normal("beta", 0.0, 5.0, shape=3)
        sigma = pa.HalfNormal("sigma", 2.0)
        pa.Normal("y", alpha + pa.math.dot(x, beta), sigma, observed=Y)
    return model


def test_batched_lapack_is_found_inside_loops_and_branches():
    def in_scan(x):
        body = lambda c, _: (c + jnp.linalg.cholesky(x).sum(), None)  # noqa: E731
        return jax.lax.scan(body, 0.0, None, length=2)[0]

    def in_cond(x):
        return jax.lax.cond(True, lambda: jnp.linalg.solve(x, x).sum(), lambda: 0.0)

    batch, single = jnp.stack([jnp.eye(3)] * 4), jnp.eye(3)
    assert parallel.has_batched_lapack(jax.make_jaxpr(in_scan)(batch))
    assert parallel.has_batched_lapack(jax.make_jaxpr(in_cond)(batch))
    assert not parallel.has_batched_lapack(jax.make_jaxpr(in_scan)(single))
    assert not parallel.has_batched_lapack(jax.make_jaxpr(lambda x: (x @ x).sum())(batch))


def test_batched_lapack_leaves_one_core_free(monkeypatch):
    batched = jax.make_jaxpr(jnp.linalg.cholesky)(jnp.ones((4, 3, 3)))
    monkeypatch.setattr(parallel, "available_cores", lambda: 4)
    assert parallel.concurrent_chains(4, None) == 4
    assert parallel.concurrent_chains(6, None, batched) == 3
    assert parallel.concurrent_chains(2, 1, batched) == 1
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    assert parallel.concurrent_chains(4, None, batched) == 1
    with pytest.raises(ValueError, match="cores"):
        parallel.concurrent_chains(4, 0)


def test_chains_run_at_once_by_default_and_fewer_with_batched_cholesky():
    cores = parallel.available_cores()
    idata = pa.sample(100, tune=100, chains=4, seed=2, model=regression(), progressbar=False,
                      compute_convergence_checks=False)
    assert idata.attrs["concurrent_chains"] == min(4, cores)

    with pa.Model() as model:
        scale = pa.HalfNormal("scale", 1.0, shape=2)
        covs = pa.math.stack([np.eye(3) * scale[0], np.eye(3) * scale[1]])
        chol = pa.math.cholesky(covs)  # a batch of two factorisations in the log density
        pa.Potential("half_log_det", -pa.math.sum(pa.math.log(pa.math.diagonal(chol, axis1=-2, axis2=-1))))
    idata = pa.sample(100, tune=100, chains=4, seed=2, model=model, progressbar=False,
                      compute_convergence_checks=False)
    assert idata.attrs["concurrent_chains"] == max(1, min(4, cores - 1))


def test_float32_is_opt_in_and_lands_on_the_same_posterior():
    model = regression()
    double = pa.sample(500, tune=500, seed=4, model=model, progressbar=False)
    single = pa.sample(500, tune=500, seed=4, model=model, progressbar=False, dtype="float32")
    assert double.posterior["beta"].dtype == np.float64
    assert single.posterior["beta"].dtype == np.float32
    assert single.sample_stats["lp"].dtype == np.float32
    for name in ("alpha", "beta", "sigma"):
        mean64, mean32 = double.posterior[name].mean(("chain", "draw")), single.posterior[name].mean(("chain", "draw"))
        mcse = np.hypot(az.mcse(double, var_names=[name])[name], az.mcse(single, var_names=[name])[name])
        assert np.all(np.abs(mean64 - mean32) < 4 * mcse), name


def test_unknown_dtype_is_refused():
    with pytest.raises(ValueError, match="dtype"):
        pa.sample(10, tune=10, model=regression(), dtype="float16", progressbar=False)


def test_progress_bar_does_not_change_the_draws():
    model = regression()
    quiet = pa.sample(60, tune=40, chains=2, seed=9, model=model, progressbar=False, compute_convergence_checks=False)
    shown = pa.sample(60, tune=40, chains=2, seed=9, model=model, progressbar=True, compute_convergence_checks=False)
    np.testing.assert_array_equal(quiet.posterior["beta"].values, shown.posterior["beta"].values)
    np.testing.assert_array_equal(quiet.sample_stats["tree_depth"].values, shown.sample_stats["tree_depth"].values)
