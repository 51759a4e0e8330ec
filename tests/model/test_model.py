"""The model API: the issue's regression block, expressions, data, shapes and bad input."""

import numpy as np
import pytest
import scipy.stats as st

import posteria as pa
from posteria.logdensity import initial_point


@pytest.fixture(scope="module")
def regression_data():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(1000, 10))
    beta = rng.normal(size=10)
    y = 1.5 + X @ beta + rng.normal(scale=0.7, size=1000)
    return X, y


def regression_model(X, y):
    with pa.Model() as model:
        alpha = pa.Normal("alpha", mu=0, sigma=10)
        beta = pa.Normal("beta", mu=0, sigma=10, shape=X.shape[1])
        sigma = pa.HalfNormal("sigma", sigma=1)
        mu = alpha + pa.math.dot(X, beta)
        pa.Normal("y_obs", mu=mu, sigma=sigma, observed=y)
    return model


def test_regression_block_logp_matches_scipy(regression_data):
    X, y = regression_data
    model = regression_model(X, y)
    point = {"alpha": 1.2, "beta": np.linspace(-1, 1, 10), "sigma": 0.8}
    expected = (
        st.norm(0, 10).logpdf(point["alpha"])
        + st.norm(0, 10).logpdf(point["beta"]).sum()
        + st.halfnorm(scale=1).logpdf(point["sigma"])
        + st.norm(point["alpha"] + X @ point["beta"], point["sigma"]).logpdf(y).sum()
    )
    assert model.logp(point) == pytest.approx(expected, rel=1e-6)


def test_jacobian_term_and_gradient(regression_data):
    X, y = regression_data
    model = regression_model(X, y)
    ld = model.compile_logp()
    assert [s.value_name for s in ld.slots] == ["alpha", "beta", "sigma_log__"]
    theta = np.concatenate([[1.2], np.linspace(-1, 1, 10), [np.log(0.8)]])
    value, grad = ld.value_and_grad(theta)
    point = {"alpha": 1.2, "beta": np.linspace(-1, 1, 10), "sigma": 0.8}
    assert float(value) == pytest.approx(model.logp(point) + np.log(0.8), rel=1e-10)
    eps = 1e-6
    for i in (0, 5, 11):
        step = np.zeros(12)
        step[i] = eps
        numeric = (float(ld(theta + step)) - float(ld(theta - step))) / (2 * eps)
        assert float(grad[i]) == pytest.approx(numeric, rel=1e-5, abs=1e-4)


def test_data_are_arguments_not_constants(regression_data):
    X, y = regression_data
    with pa.Model() as model:
        x_data = pa.Data("x", X)
        y_data = pa.Data("y", y)
        beta = pa.Normal("beta", 0, 10, shape=10)
        sigma = pa.HalfNormal("sigma", 1)
        pa.Normal("y_obs", mu=pa.math.dot(x_data, beta), sigma=sigma, observed=y_data)
    ld = model.compile_logp()
    theta = np.zeros(11)
    before = float(ld.value_and_grad(theta)[0])
    compiled_before = ld._value_and_grad._cache_size()
    pa.set_data({"y": y + 1.0}, model=model)
    after = float(ld.value_and_grad(theta)[0])
    assert after != before
    assert ld._value_and_grad._cache_size() == compiled_before  # same shapes: no recompilation
    expected = st.norm(0, 1).logpdf(y + 1.0).sum() + st.norm(0, 10).logpdf(0).sum() * 10 + st.halfnorm().logpdf(1.0)
    assert after == pytest.approx(expected, rel=1e-10)


def test_expressions_ufuncs_indexing_and_deterministic():
    with pa.Model() as model:
        x = pa.Normal("x", 0.0, 1.0, shape=4)
        y = np.exp(x)[1:3] * 2.0 + pa.math.sum(x)
        z = pa.Deterministic("z", pa.math.stack([x[0], (x ** 2).mean()]))
        pa.Potential("pot", -pa.math.softplus(x).sum())
        w = x[np.array([0, 0, 2])] > 0.5
    assert y.shape == (2,)
    assert z.shape == (2,)
    assert w.shape == (3,)
    ld = model.compile_logp()
    values = ld.constrained_fn(np.arange(4.0), ld.data())
    np.testing.assert_allclose(values["z"], [0.0, np.mean(np.arange(4.0) ** 2)])
    expected = st.norm.logpdf(np.arange(4.0)).sum() - np.log1p(np.exp(np.arange(4.0))).sum()
    assert model.logp({"x": np.arange(4.0)}) == pytest.approx(expected, rel=1e-12)


def test_op_lifts_jax_functions():
    import jax

    @pa.op
    def ar1_path(innovations, rho):
        return jax.lax.scan(lambda prev, e: (rho * prev + e, rho * prev + e), 0.0, innovations)[1]

    with pa.Model() as model:
        rho = pa.Uniform("rho", -1, 1)
        eps = pa.Normal("eps", 0, 1, shape=5)
        path = pa.Deterministic("path", ar1_path(eps, rho))
    values = model.compile_logp().constrained_fn(np.concatenate([[0.0], np.ones(5)]), {})
    assert path.shape == (5,)
    rho_value = float(values["rho"])
    expected = [1.0]
    for _ in range(4):
        expected.append(rho_value * expected[-1] + 1.0)
    np.testing.assert_allclose(values["path"], expected, rtol=1e-12)


def test_dims_and_coords():
    with pa.Model(coords={"group": ["a", "b", "c"]}) as model:
        mu = pa.Normal("mu", 0.0, 1.0, dims="group")
        pa.Normal("obs", mu=mu, sigma=1.0, observed=np.zeros((5, 3)), dims=("row", "group"))
    assert mu.shape == (3,)
    assert model.coords["row"] == (0, 1, 2, 3, 4)
    assert model.named_vars_to_dims["obs"] == ("row", "group")


def test_hierarchical_parameters_are_expressions():
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 5)
        tau = pa.HalfCauchy("tau", 5)
        theta = pa.Normal("theta", mu=mu, sigma=tau, shape=8)
    point = model.initial_point()
    assert set(point) == {"mu", "tau_log__", "theta"}
    assert theta.shape == (8,)
    value, grad = model.compile_logp().value_and_grad(np.zeros(10))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_initval_and_positional_parameters():
    with pa.Model() as model:
        x = pa.Normal("x", 3.0, 2.0, initval=1.5)
        s = pa.HalfNormal("s", 2.0, initval=0.5)
    point = model.initial_point()
    assert point["x"] == pytest.approx(1.5)
    assert point["s_log__"] == pytest.approx(np.log(0.5))
    assert model.logp({"x": 0.0, "s": 1.0}) == pytest.approx(st.norm(3, 2).logpdf(0) + st.halfnorm(scale=2).logpdf(1))
    assert x.shape == s.shape == ()


def test_jitter_moves_each_free_value_within_its_width_in_unconstrained_space():
    # One uniform draw covers the whole vector: every element of every
    # variable without an initval moves by less than the jitter, each by its
    # own amount; a child's centre follows its parent's jittered value.
    with pa.Model() as model:
        mu = pa.Normal("mu", 0.0, 1.0)
        pa.Normal("theta", mu=mu, sigma=1.0, shape=3)
        pa.HalfNormal("s", 1.0, shape=2)
        pa.Normal("fixed", 0.0, 1.0, initval=0.7)
    centre = initial_point(model)
    point = initial_point(model, seed=3, jitter=0.5)
    moved = {name: np.asarray(point[name]) - np.asarray(centre[name]) for name in ("mu", "s_log__")}
    moved["theta"] = np.asarray(point["theta"]) - point["mu"]  # centred on the jittered mu
    values = np.concatenate([np.ravel(v) for v in moved.values()])
    assert np.all((np.abs(values) > 0) & (np.abs(values) < 0.5)) and len(set(values.tolist())) == values.size
    assert point["fixed"] == pytest.approx(0.7)


def test_user_transform_overrides_default():
    with pa.Model() as model:
        pa.Normal("x", 0.0, 1.0, shape=3, transform=pa.transforms.ordered, initval=np.array([-1.0, 0.0, 1.0]))
    ld = model.compile_logp()
    assert ld.slots[0].value_name == "x_ordered__"
    values = ld.constrained_fn(np.array([0.0, 0.0, 0.0]), ld.data())["x"]
    assert np.all(np.diff(values) > 0)


# -- bad input ------------------------------------------------------------------
def test_duplicate_name():
    with pa.Model():
        pa.Normal("x", 0, 1)
        with pytest.raises(ValueError, match="'x'"):
            pa.Normal("x", 0, 1)


def test_outside_model_context():
    with pytest.raises(TypeError, match="'x'.*pa.Model"):
        pa.Normal("x", 0, 1)


def test_unknown_keyword_names_variable():
    with pa.Model():
        with pytest.raises(TypeError, match="'x'.*'sd'.*sigma"):
            pa.Normal("x", mu=0, sd=1)


def test_negative_sigma_names_variable():
    with pa.Model():
        with pytest.raises(ValueError, match="sigma of y_obs must be positive, got -1.0"):
            pa.Normal("y_obs", mu=0, sigma=-1.0, observed=[1.0])


def test_nan_in_observed_names_variable():
    with pa.Model():
        with pytest.raises(ValueError, match="observed data of y_obs contains 1 NaN"):
            pa.Normal("y_obs", mu=0, sigma=1, observed=np.array([1.0, np.nan, 2.0]))


def test_shape_mismatch_names_variable_and_shapes():
    with pa.Model():
        mu = pa.Normal("mu", 0, 1, shape=3)
        with pytest.raises(ValueError, match=r"shape mismatch in y_obs.*\(3,\).*\(4,\)"):
            pa.Normal("y_obs", mu=mu, sigma=1, observed=np.zeros(4))
        with pytest.raises(ValueError, match=r"shape mismatch in z.*\(3,\).*\(5,\)"):
            pa.Normal("z", mu=mu, sigma=1, shape=5)


def test_dims_mismatch_names_variable():
    with pa.Model(coords={"g": [1, 2]}):
        with pytest.raises(ValueError, match="x"):
            pa.Normal("x", 0, 1, dims="g", shape=3)


def test_expression_shape_mismatch():
    with pa.Model():
        a = pa.Normal("a", 0, 1, shape=3)
        b = pa.Normal("b", 0, 1, shape=4)
        with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
            a + b


def test_control_flow_on_variables_is_refused():
    with pa.Model():
        a = pa.Normal("a", 0, 1)
        with pytest.raises(TypeError, match="pa.math.where"):
            if a > 0:
                pass


def test_free_discrete_variable_is_refused_with_its_name():
    with pa.Model() as model:
        n = pa.Poisson("n", 3.0)
        pa.Normal("y", n, 1.0, observed=np.array([2.0, 3.0]))
    prior = pa.sample_prior_predictive(50, model=model, random_seed=1)  # forward sampling is fine
    assert prior.prior["n"].shape == (1, 50)
    with pytest.raises(ValueError, match=r"free discrete variable\(s\) n \(Poisson\)"):
        model.compile_logp()
