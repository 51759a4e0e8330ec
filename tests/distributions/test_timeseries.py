"""GaussianRandomWalk and AR: log density by hand, draws against moments, shapes, models, bad input."""

import jax
import numpy as np
import pytest
import scipy.stats as st

import posteria as pa
from posteria.distributions.continuous import StudentT
from posteria.distributions.discrete import Poisson
from posteria.distributions.timeseries import AR, GaussianRandomWalk, RandomWalk
from posteria.model.graph import evaluate

jax.config.update("jax_enable_x64", True)

RNG = np.random.default_rng(20)


def bound(dist):
    return evaluate([dist], {})[0]


def mcse_mean(draws):
    return np.sqrt(draws.var(axis=0) / draws.shape[0])


def mcse_var(draws):
    centred = draws - draws.mean(axis=0)
    return np.sqrt((np.mean(centred**4, axis=0) - centred.var(axis=0) ** 2) / draws.shape[0])


def ar_conditional_logp(x, rho, sigma, c, init):
    """The AR log density written out: init terms, then one normal term per later value."""
    order = len(rho)
    total = init.logpdf(x[:order]).sum()
    for t in range(order, len(x)):
        total += st.norm(c + sum(rho[i] * x[t - 1 - i] for i in range(order)), sigma).logpdf(x[t])
    return total


# -- GaussianRandomWalk ----------------------------------------------------------------------
def test_grw_logp_is_init_plus_normal_increments():
    x = RNG.normal(size=12).cumsum()
    d = GaussianRandomWalk.dist(mu=0.3, sigma=0.7, init_dist=pa.Normal.dist(1.0, 2.0), steps=11)
    expected = st.norm(1.0, 2.0).logpdf(x[0]) + st.norm(0.3, 0.7).logpdf(np.diff(x)).sum()
    assert float(pa.logp(d, x)) == pytest.approx(expected, rel=1e-10)


def test_grw_time_varying_drift_and_batches():
    x = RNG.normal(size=(2, 6)).cumsum(axis=-1)
    drift = np.linspace(-1.0, 1.0, 5)
    d = GaussianRandomWalk.dist(mu=drift, sigma=[[0.5], [2.0]], init_dist=pa.Normal.dist(0.0, 1.0), steps=5)
    assert d.shape == (2, 6)
    expected = [
        st.norm(0, 1).logpdf(x[i, 0]) + st.norm(drift, s).logpdf(np.diff(x[i])).sum() for i, s in enumerate([0.5, 2.0])
    ]
    np.testing.assert_allclose(np.asarray(pa.logp(d, x)), expected, rtol=1e-10)


def test_grw_draws_match_mean_and_variance_paths():
    d = GaussianRandomWalk.dist(mu=0.3, sigma=0.7, init_dist=pa.Normal.dist(1.0, 2.0), steps=20)
    b = bound(d)
    mean, variance = 1.0 + 0.3 * np.arange(21), 4.0 + 0.49 * np.arange(21)
    np.testing.assert_allclose(np.asarray(b.mean()), mean, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b.variance()), variance, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b.support_point()), mean, rtol=1e-12)
    draws = pa.draw(d, draws=20_000, random_seed=1)
    assert draws.shape == (20_000, 21)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * mcse_mean(draws))
    assert np.all(np.abs(draws.var(axis=0) - variance) < 4 * mcse_var(draws))
    increments = np.diff(draws, axis=-1)  # independent steps: no lag-1 correlation
    corr = np.corrcoef(increments[:, 3], increments[:, 4])[0, 1]
    assert abs(corr) < 4 / np.sqrt(draws.shape[0])


def test_grw_shapes_from_steps_shape_dims_and_observed():
    init = pa.Normal.dist(0.0, 1.0)
    assert GaussianRandomWalk.dist(init_dist=init, steps=10).shape == (11,)
    assert GaussianRandomWalk.dist(init_dist=init, shape=(3, 8)).shape == (3, 8)
    assert GaussianRandomWalk.dist(init_dist=init, steps=7, shape=(3, 8)).shape == (3, 8)
    assert GaussianRandomWalk.dist(init_dist=pa.Normal.dist(0.0, 1.0, shape=3), steps=4).shape == (3, 5)
    with pa.Model(coords={"time": range(6)}) as model:
        x = GaussianRandomWalk("x", init_dist=init, dims="time")
        y = GaussianRandomWalk("y", init_dist=init, observed=np.zeros((2, 9)))
        series = pa.Data("series", np.zeros(5))
        z = GaussianRandomWalk("z", init_dist=init, observed=series)
    assert (x.shape, y.shape, z.shape) == ((6,), (2, 9), (5,))
    pa.set_data({"series": np.zeros(7)}, model=model)
    assert z.shape == (7,)


def test_grw_default_init_dist_warns_as_pymc():
    with pytest.warns(UserWarning, match=r"defaulting to `Normal.dist\(0, 100\)`"):
        d = GaussianRandomWalk.dist(steps=3)
    assert float(pa.logp(d, np.zeros(4))) == pytest.approx(st.norm(0, 100).logpdf(0) + 3 * st.norm.logpdf(0))


def test_grw_in_model_gradient_finite():
    with pa.Model() as model:
        sigma = pa.HalfNormal("sigma", 1.0)
        x = GaussianRandomWalk("x", mu=0.1, sigma=sigma, init_dist=pa.Normal.dist(0.0, 1.0), steps=30)
        pa.Normal("y", mu=x, sigma=0.5, observed=RNG.normal(size=31))
    ld = model.compile_logp()
    assert [s.value_name for s in ld.slots] == ["sigma_log__", "x"]
    point = model.initial_point()
    np.testing.assert_allclose(point["x"], 0.1 * np.arange(31))
    value, grad = ld.value_and_grad(ld.unconstrain(point))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_random_walk_with_student_t_steps():
    d = RandomWalk.dist(init_dist=pa.Normal.dist(1.0, 2.0), innovation_dist=StudentT.dist(nu=5.0, mu=0.2, sigma=1.0), steps=15)
    x = RNG.standard_t(5.0, size=16).cumsum()
    expected = st.norm(1.0, 2.0).logpdf(x[0]) + st.t(5.0, 0.2, 1.0).logpdf(np.diff(x)).sum()
    assert float(pa.logp(d, x)) == pytest.approx(expected, rel=1e-10)
    last = pa.draw(d, draws=20_000, random_seed=6)[:, -1]
    mean, variance = 1.0 + 15 * 0.2, 4.0 + 15 * 5.0 / 3.0
    np.testing.assert_allclose([float(bound(d).mean()[-1]), float(bound(d).variance()[-1])], [mean, variance])
    assert abs(last.mean() - mean) < 4 * mcse_mean(last)
    assert abs(last.var() - variance) < 4 * mcse_var(last)


# -- AR --------------------------------------------------------------------------------------
AR_CASES = {
    "AR(1)": dict(rho=[0.6], constant=False, lags=[0.6], c=0.0),
    "AR(2)": dict(rho=[0.5, -0.3], constant=False, lags=[0.5, -0.3], c=0.0),
    "AR(1) + constant": dict(rho=[2.0, 0.6], constant=True, lags=[0.6], c=2.0),
    "AR(2) + constant": dict(rho=[1.0, 0.5, -0.3], constant=True, lags=[0.5, -0.3], c=1.0),
}


@pytest.mark.parametrize("case", AR_CASES)
def test_ar_logp_equals_conditional_likelihood(case):
    spec = AR_CASES[case]
    x = RNG.normal(size=15) + 1.0
    d = AR.dist(rho=spec["rho"], sigma=0.8, constant=spec["constant"], init_dist=pa.Normal.dist(0.5, 2.0), steps=15 - len(spec["lags"]))
    assert d.shape == (15,)
    expected = ar_conditional_logp(x, spec["lags"], 0.8, spec["c"], st.norm(0.5, 2.0))
    assert float(pa.logp(d, x)) == pytest.approx(expected, rel=1e-10)


def test_ar_batches_and_tau():
    rho = np.array([[0.5, -0.3], [0.9, 0.05]])
    x = RNG.normal(size=(2, 10))
    d = AR.dist(rho=rho, tau=4.0, init_dist=pa.Normal.dist(0.0, 1.0, shape=(2, 1)), shape=(2, 10))
    expected = [ar_conditional_logp(x[i], rho[i], 0.5, 0.0, st.norm(0, 1)) for i in range(2)]
    np.testing.assert_allclose(np.asarray(pa.logp(d, x)), expected, rtol=1e-10)


def ar2_stationary_variance(r1, r2, sigma):
    return sigma**2 * (1 - r2) / ((1 + r2) * ((1 - r2) ** 2 - r1**2))


def test_ar1_draws_reach_the_stationary_distribution():
    d = AR.dist(rho=[0.6], sigma=1.0, init_dist=pa.Normal.dist(0.0, 100.0), steps=60)
    draws = pa.draw(d, draws=20_000, random_seed=2)
    assert draws.shape == (20_000, 61)
    last, before = draws[:, -1], draws[:, -2]
    variance = 1.0 / (1.0 - 0.6**2)
    assert abs(last.mean()) < 4 * mcse_mean(last)
    assert abs(last.var() - variance) < 4 * mcse_var(last)
    products = (last - last.mean()) * (before - before.mean())  # lag-1 autocovariance rho * variance
    assert abs(products.mean() - 0.6 * variance) < 4 * products.std() / np.sqrt(products.size)


def test_ar2_with_constant_draws_have_the_stationary_mean_and_variance():
    d = AR.dist(rho=[1.0, 0.5, -0.3], constant=True, sigma=1.0, init_dist=pa.Normal.dist(0.0, 1.0), steps=40)
    last = pa.draw(d, draws=20_000, random_seed=3)[:, -1]
    mean, variance = 1.0 / (1.0 - 0.5 + 0.3), ar2_stationary_variance(0.5, -0.3, 1.0)
    assert abs(last.mean() - mean) < 4 * mcse_mean(last)
    assert abs(last.var() - variance) < 4 * mcse_var(last)


def test_ar_mean_path_and_support_point():
    d = AR.dist(rho=[1.0, 0.5, -0.3], constant=True, init_dist=pa.Normal.dist(mu=[1.0, 2.0], sigma=1.0), steps=5)
    path = [1.0, 2.0]
    for _ in range(5):
        path.append(1.0 + 0.5 * path[-1] - 0.3 * path[-2])
    b = bound(d)
    np.testing.assert_allclose(np.asarray(b.mean()), path, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(b.support_point()), np.full(7, 2.0))


def test_ar_shapes():
    init = pa.Normal.dist(0.0, 1.0)
    assert AR.dist(rho=0.5, init_dist=init, steps=10).shape == (11,)
    assert AR.dist(rho=[0.5, 0.1], init_dist=init, steps=10).shape == (12,)
    assert AR.dist(rho=[1.0, 0.5, 0.1], constant=True, ar_order=2, init_dist=init, steps=10).shape == (12,)
    assert AR.dist(rho=[0.5, 0.1], sigma=[1.0, 2.0, 3.0], init_dist=init, steps=4).shape == (3, 6)
    assert AR.dist(rho=[0.5], init_dist=init, shape=(4, 9)).shape == (4, 9)


def test_ar_in_model_defines_and_has_finite_gradient():
    with pa.Model() as model:
        with pytest.warns(UserWarning, match="Initial distribution"):
            x = AR("x", rho=[0.5], sigma=1.0, steps=50)
        rho = pa.Normal("rho", 0.0, 0.5, shape=2)
        sigma = pa.HalfNormal("sigma", 1.0)
        AR("y", rho=rho, sigma=sigma, init_dist=pa.Normal.dist(0.0, 1.0), observed=RNG.normal(size=(3, 40)))
    assert x.shape == (51,)
    ld = model.compile_logp()
    assert [s.value_name for s in ld.slots] == ["x", "rho", "sigma_log__"]
    point = model.initial_point()
    value, grad = ld.value_and_grad(ld.unconstrain(point))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    assert np.any(grad != 0.0)


# -- bad input ---------------------------------------------------------------------------------
def test_bad_time_series_input_names_the_variable():
    init = pa.Normal.dist(0.0, 1.0)
    with pa.Model():
        named = pa.Normal("named")
        with pytest.raises(pa.ModelError, match="sigma of g1 must be positive"):
            GaussianRandomWalk("g1", sigma=-1.0, init_dist=init, steps=3)
        with pytest.raises(pa.ModelError, match="g2 needs steps or shape"):
            GaussianRandomWalk("g2", init_dist=init)
        with pytest.raises(pa.ModelError, match="shape mismatch in g3: steps=5"):
            GaussianRandomWalk("g3", init_dist=init, steps=5, shape=8)
        with pytest.raises(pa.ModelError, match="steps of g4 must be a positive integer"):
            GaussianRandomWalk("g4", init_dist=init, steps=0)
        with pytest.raises(TypeError, match="init_dist of g5 must be an unnamed distribution"):
            GaussianRandomWalk("g5", init_dist=named, steps=3)
        with pytest.raises(pa.ModelError, match=r"shape mismatch in g6: the steps. distribution has shape \(3,\); its last axis is the time axis"):
            GaussianRandomWalk("g6", mu=[0.0, 1.0, 2.0], init_dist=init, steps=5)
        with pytest.raises(pa.ModelError, match="shape mismatch in g7"):
            GaussianRandomWalk("g7", init_dist=pa.Normal.dist(shape=3), shape=(4, 6))
        with pytest.raises(pa.ModelError, match="ar_order=3 of a1 does not match rho"):
            AR("a1", rho=[0.5, 0.2], ar_order=3, init_dist=init, steps=5)
        with pytest.raises(pa.ModelError, match="rho of a2 needs at least one lag"):
            AR("a2", rho=[1.0], constant=True, init_dist=init, steps=5)
        with pytest.raises(pa.ModelError, match="tau of a3 must be positive"):
            AR("a3", rho=[0.5], tau=-1.0, init_dist=init, steps=5)
        with pytest.raises(TypeError, match="AR 'a4' got an unexpected keyword argument 'phi'"):
            AR("a4", phi=[0.5], init_dist=init, steps=5)
        with pytest.raises(pa.ModelError, match="a5 needs at least one step"):
            AR("a5", rho=[0.5, 0.1], init_dist=init, shape=2)
        with pytest.raises(TypeError, match="innovation_dist of r1 must be a scalar-valued unnamed distribution"):
            RandomWalk("r1", init_dist=init, innovation_dist=1.0, steps=3)
        with pytest.raises(pa.ModelError, match=r"innovation_dist of r2 is discrete \(Poisson\)"):
            RandomWalk("r2", init_dist=init, innovation_dist=Poisson.dist(1.0), steps=3)
        with pytest.raises(pa.ModelError, match=r"init_dist of a6 is discrete \(Poisson\)"):
            AR("a6", rho=[0.5], init_dist=Poisson.dist(1.0), steps=3)
