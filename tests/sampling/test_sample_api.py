"""pa.sample's front door and the predictive samplers."""

import arviz as az
import numpy as np
import pytest

import posteria as pa
from posteria.adaptation import LOW_RANK_MIN_DIMENSIONS

RNG = np.random.default_rng(3)
X = RNG.normal(size=(1000, 10))
Y = 1.0 + X @ RNG.normal(size=10) + RNG.normal(scale=0.5, size=1000)


def regression(X=X, y=Y):
    with pa.Model(coords={"feature": [f"x{i}" for i in range(10)]}) as model:
        x_data = pa.Data("x", X)
        alpha = pa.Normal("alpha", mu=0, sigma=10)
        beta = pa.Normal("beta", mu=0, sigma=10, dims="feature")
        sigma = pa.HalfNormal("sigma", sigma=1)
        mu = pa.Deterministic("mu", alpha + pa.math.dot(x_data, beta))
        pa.Normal("y_obs", mu=mu, sigma=sigma, observed=y, shape=x_data.shape[0])
    return model


def test_prior_predictive_shapes_and_moments():
    model = regression()
    prior = pa.sample_prior_predictive(2000, model=model, random_seed=5)
    assert prior.prior["beta"].shape == (1, 2000, 10)
    assert prior.prior["beta"].dims == ("chain", "draw", "feature")
    assert prior.prior_predictive["y_obs"].shape == (1, 2000, 1000)
    assert "observed_data" in prior.groups()
    for name, mean, sd in [("alpha", 0.0, 10.0), ("sigma", np.sqrt(2 / np.pi), np.sqrt(1 - 2 / np.pi))]:
        draws = prior.prior[name].values.ravel()
        assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(draws.size)
    # y = alpha + x.beta + noise: Var(y_i) = 100 + 100 |x_i|^2 + E[sigma^2] = 100 + 100 |x_i|^2 + 1
    y = prior.prior_predictive["y_obs"].values[0, :, 0]
    expected_var = 100 + 100 * (X[0] ** 2).sum() + 1.0
    assert abs(y.var() / expected_var - 1) < 4 * np.sqrt(2 / y.size)


def test_prior_draws_under_a_seed_do_not_depend_on_what_was_built_before():
    def draws():
        with pa.Model():
            pa.HalfNormal("s", 2.0)
            return pa.sample_prior_predictive(50, random_seed=0).prior["s"].values

    first = draws()
    regression()  # unrelated variables created in between: nodes numbered 1000s apart
    np.testing.assert_array_equal(draws(), first)


def test_posterior_predictive_in_place_and_after_set_data():
    model = regression()
    with model:
        idata = pa.sample(300, tune=300, chains=2, seed=2, progressbar=False, idata_kwargs={"log_likelihood": True})
        returned = pa.sample_posterior_predictive(idata, random_seed=3)
    assert returned is idata
    pp = idata.posterior_predictive["y_obs"]
    assert pp.shape == (2, 300, 1000)
    residual_sd = float((pp - Y).std())
    # a predictive draw and the data each carry independent noise of sd 0.5: sd of the difference ~ 0.5 * sqrt(2)
    assert 0.66 < residual_sd < 0.76
    loo = az.loo(idata)
    assert np.isfinite(loo.elpd_loo)
    assert idata.log_likelihood["y_obs"].shape == (2, 300, 1000)
    assert idata.constant_data["x"].shape == (1000, 10)

    with model:
        pa.sample_posterior_predictive(idata, random_seed=5)
    (forward,) = [fn for key, fn in model._compiled.items() if key[0] == "forward"]
    assert forward._cache_size() == 1  # the second call reused the compiled sampler

    new_x = np.zeros((5, 10))
    pa.set_data({"x": new_x}, model=model)
    with model:
        predictions = pa.sample_posterior_predictive(idata, random_seed=4, predictions=True)
    draws = predictions.predictions["y_obs"]
    assert draws.shape == (2, 300, 5)
    alpha = idata.posterior["alpha"].values
    assert abs(float(draws.mean()) - alpha.mean()) < 0.1


def test_posterior_has_dims_coords_deterministics_and_stats():
    model = regression()
    idata = pa.sample(200, tune=200, chains=2, seed=1, model=model, progressbar=False)
    assert idata.posterior["beta"].dims == ("chain", "draw", "feature")
    assert list(idata.posterior["beta"].coords["feature"].values) == [f"x{i}" for i in range(10)]
    assert idata.posterior["mu"].shape == (2, 200, 1000)
    for stat in ("lp", "diverging", "tree_depth", "n_steps", "step_size", "acceptance_rate", "energy"):
        assert idata.sample_stats[stat].shape == (2, 200), stat
    assert idata.sample_stats["inverse_mass_matrix"].shape == (2, 12)
    mean_accept = float(idata.sample_stats["acceptance_rate"].mean())
    assert 0.7 < mean_accept < 0.97


def test_default_warmup_is_stan_for_small_models_and_low_rank_fisher_from_20_dimensions():
    small = regression()  # 12 unconstrained dimensions
    idata = pa.sample(100, tune=100, chains=1, seed=1, model=small, progressbar=False,
                      compute_convergence_checks=False)
    assert idata.attrs["adaptation"] == "stan" and idata.sample_stats["inverse_mass_matrix"].shape == (1, 12)
    with pa.Model() as large:
        pa.Normal("x", 0.0, 1.0, shape=LOW_RANK_MIN_DIMENSIONS)
    idata = pa.sample(100, tune=100, chains=1, seed=1, model=large, progressbar=False,
                      compute_convergence_checks=False)
    assert idata.attrs["adaptation"] == "fisher_low_rank"
    dims = (1, LOW_RANK_MIN_DIMENSIONS, LOW_RANK_MIN_DIMENSIONS)
    assert idata.sample_stats["inverse_mass_matrix"].shape == dims  # the low-rank metric, multiplied out
    idata = pa.sample(100, tune=100, chains=1, seed=1, model=large, progressbar=False, dense_mass=True,
                      compute_convergence_checks=False)
    assert idata.attrs["adaptation"] == "stan"
    with pytest.raises(ValueError, match="adaptation must be 'auto' or one of"):
        pa.sample(10, tune=10, chains=1, model=large, progressbar=False, adaptation="nutpie")


def test_var_names_and_plain_arrays():
    model = regression()
    values = pa.sample(100, tune=100, chains=1, seed=1, model=model, progressbar=False, var_names=["alpha"],
                       return_inferencedata=False, compute_convergence_checks=False)
    assert set(values) == {"alpha"} and values["alpha"].shape == (1, 100)


def test_bad_start_names_the_variable():
    with pa.Model() as model:
        s = pa.HalfNormal("s", 1.0)
        pa.Potential("impossible", pa.math.log(s - 10.0))  # -inf/NaN wherever s < 10
    with pytest.raises(pa.SamplingError, match="impossible"):
        pa.sample(10, tune=10, chains=1, model=model, progressbar=False)


def test_unknown_argument_is_refused_by_name():
    with pytest.raises(TypeError, match="step_scale"):
        pa.sample(10, model=regression(), step_scale=0.3)


def test_start_search_retries_jittered_points_inside_the_program():
    with pa.Model() as model:
        s = pa.HalfNormal("s", 1.0)
        pa.Potential("above_one", pa.math.log(s - 1.0))  # the central value s = 0.8 is invalid
    idata = pa.sample(20, tune=20, chains=2, seed=3, model=model, progressbar=False, compute_convergence_checks=False)
    assert float(idata.posterior["s"].min()) > 1.0
    with pytest.raises(pa.SamplingError, match="above_one"):  # without jitter there is one try only
        pa.sample(5, tune=5, chains=1, seed=3, model=model, init="adapt_diag", progressbar=False)


def test_initvals_are_used():
    with pa.Model() as model:
        x = pa.Normal("x", 0, 1)
        pa.Normal("y", 0, 1, shape=2)
        pa.Potential("above", pa.math.log(x - 2.5))  # jitter around x = 0 never reaches x > 2.5
    assert model.initial_point()["x"] == 0.0
    settings = dict(draws=5, tune=5, seed=1, model=model, progressbar=False, compute_convergence_checks=False)
    with pytest.raises(pa.SamplingError, match="above"):
        pa.sample(chains=1, **settings)
    idata = pa.sample(chains=2, initvals=[{"x": 3.0}, {"x": 2.6, "y": [1.0, 2.0]}], **settings)
    assert idata.posterior["x"].shape == (2, 5) and float(idata.posterior["x"].min()) > 2.5


def test_compiled_chain_is_reused_across_calls_and_after_set_data():
    model = regression()
    settings = dict(draws=30, tune=30, chains=2, model=model, progressbar=False, compute_convergence_checks=False)
    first = pa.sample(seed=1, **settings)
    chain_programs = lambda: [p for key, p in model.compile_logp().programs.items() if key[0] == "chain"]  # noqa: E731
    (program,) = chain_programs()
    with model:
        pa.set_data({"x": X[::-1]})
    second = pa.sample(seed=1, **settings)
    assert chain_programs() == [program]  # same settings and shapes: nothing compiled again
    assert not np.allclose(first.posterior["beta"].values, second.posterior["beta"].values)  # the new data was used
    pa.sample(seed=1, **{**settings, "draws": 40})
    assert len(chain_programs()) == 2
