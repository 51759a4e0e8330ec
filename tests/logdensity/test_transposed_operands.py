"""Products of a tall data matrix and a vector, computed from a transposed copy of the matrix."""

import jax
import jax.extend.core
import jax.numpy as jnp
import numpy as np
import pytest

import posteria as pa
from posteria.sampling.chain import in_precision, program_data


def _regression(X, y, *, as_data: bool = False):
    with pa.Model() as model:
        matrix = pa.Data("X", X) if as_data else X
        beta = pa.Normal("beta", 0.0, 1.0, shape=X.shape[1])
        sigma = pa.HalfNormal("sigma", 1.0)
        pa.Normal("y", matrix @ beta, sigma, observed=y)
    return model


def _plain(data: dict) -> dict:
    """The data without the transposed copies: every product computed as written."""
    return {key: value for key, value in data.items() if not key.endswith(".T")}


def _used_inputs(fn, *args) -> list[bool]:
    """Whether each flattened input of ``fn(*args)`` is read by its jaxpr."""
    jaxpr = jax.make_jaxpr(fn)(*args).jaxpr
    read = {var for eqn in jaxpr.eqns for var in eqn.invars if isinstance(var, jax.extend.core.Var)}
    read |= {var for var in jaxpr.outvars if isinstance(var, jax.extend.core.Var)}
    return [var in read for var in jaxpr.invars]


@pytest.mark.parametrize("as_data", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_product_is_computed_from_the_copy_with_the_same_value_and_gradient(as_data, dtype):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    ld = _regression(X, y, as_data=as_data).compile_logp()
    key = "X" if as_data else next(iter(ld.transposed.values()))
    assert ld.transposed == {f"{key}.T": key}
    assert f"{key}.T" not in ld.data()  # one-off evaluations take the data as given
    copy = ld.data(transposed=True)[f"{key}.T"]
    assert copy.flags.c_contiguous and np.array_equal(copy, X.T)

    with jax.enable_x64(dtype == "float64"):
        data = {k: jnp.asarray(v) for k, v in program_data(ld, dtype).items()}
        theta = jnp.asarray(in_precision(rng.normal(size=ld.size), dtype))
        # The rewrite happened: the log density reads the copy and never the matrix as given.
        used = dict(zip(sorted(data), _used_inputs(ld.logdensity_fn, theta, data)[1:]))
        assert used[f"{key}.T"] and not used[key]
        value, grad = jax.value_and_grad(ld.logdensity_fn)(theta, data)
        plain_value, plain_grad = jax.value_and_grad(ld.logdensity_fn)(theta, _plain(data))
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(value, plain_value, rtol=tolerance)
    np.testing.assert_allclose(grad, plain_grad, rtol=tolerance, atol=tolerance)


def test_set_data_refreshes_the_copy():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    model = _regression(X, y, as_data=True)
    ld = model.compile_logp()
    theta = np.array([0.3, -0.2, 0.1])
    new_X = rng.normal(size=(30, 2))
    with model:
        pa.set_data({"X": new_X})
    data = ld.data(transposed=True)
    assert np.array_equal(data["X.T"], new_X.T)
    value = float(ld.logdensity_fn(jnp.asarray(theta), data))
    assert value == pytest.approx(float(ld.value_and_grad(theta)[0]), rel=1e-12)  # the product as written
    assert value != pytest.approx(float(_regression(X, y).compile_logp().value_and_grad(theta)[0]))


def test_other_products_are_left_as_written():
    rng = np.random.default_rng(2)
    with pa.Model() as model:
        beta = pa.Normal("beta", 0.0, 1.0, shape=40)
        gamma = pa.Normal("gamma", 0.0, 1.0, shape=(3, 2))
        pa.Normal("wide", rng.normal(size=(3, 40)) @ beta, 1.0, observed=np.zeros(3))  # more columns than rows
        pa.Normal("matrix", rng.normal(size=(10, 3)) @ gamma, 1.0, observed=np.zeros((10, 2)))  # matrix @ matrix
        pa.Normal("integer", np.ones((50, 40), dtype=np.int64) @ beta, 1.0, observed=np.zeros(50))
    assert model.compile_logp().transposed == {}
