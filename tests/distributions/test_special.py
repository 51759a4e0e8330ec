"""gammaln and betaln: jax.scipy's values, exact derivatives, and one kernel for value and derivative."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import pytest
import scipy.special as sps

from posteria.compiler import compile_lowered
from posteria.distributions.special import betaln, gammaln

jax.config.update("jax_enable_x64", True)

POINTS = np.array([1e-3, 0.3, 0.5, 1.0, 2.5, 7.9, 8.0, 40.0, 1e4, 1e7])


def test_gammaln_values_are_jax_scipys_bit_for_bit_and_integers_are_floats():
    assert np.array_equal(gammaln(POINTS), jsp.gammaln(POINTS))
    assert np.array_equal(gammaln(np.arange(1, 6)), jsp.gammaln(np.arange(1.0, 6.0)))
    assert gammaln(3).dtype == jnp.float64


def test_gammaln_derivatives_are_the_polygammas():
    grad = jax.vmap(jax.grad(gammaln))(POINTS)
    np.testing.assert_allclose(grad, sps.digamma(POINTS), rtol=1e-12, atol=1e-12)
    second = jax.vmap(jax.grad(jax.grad(gammaln)))(POINTS)
    np.testing.assert_allclose(second, sps.polygamma(1, POINTS), rtol=1e-10)


def test_betaln_values_are_jax_scipys_and_derivatives_are_digamma_differences():
    a, b = np.meshgrid(POINTS[:-1], POINTS[:-1])
    a, b = a.ravel(), b.ravel()
    assert np.array_equal(betaln(a, b), jsp.betaln(a, b))
    grad_a, grad_b = jax.vmap(jax.grad(betaln, argnums=(0, 1)))(a, b)
    np.testing.assert_allclose(grad_a, sps.digamma(a) - sps.digamma(a + b), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grad_b, sps.digamma(b) - sps.digamma(a + b), rtol=1e-9, atol=1e-12)


def test_betaln_broadcasts_a_scalar_against_a_vector():
    a = jnp.array([0.5, 2.0, 9.0])
    grad_a, grad_b = jax.grad(lambda a, b: betaln(a, b).sum(), argnums=(0, 1))(a, 3.0)
    np.testing.assert_allclose(grad_a, sps.digamma(a) - sps.digamma(a + 3.0), rtol=1e-12)
    np.testing.assert_allclose(grad_b, np.sum(sps.digamma(3.0) - sps.digamma(a + 3.0)), rtol=1e-12)


def _kernels(fn, *args) -> int:
    lowered = jax.jit(jax.value_and_grad(fn, argnums=tuple(range(len(args))))).lower(*args)
    entry = compile_lowered(lowered, "fast_compile", dtype="float64").as_text().split("ENTRY")[1]
    return entry.count(" fusion(")


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda nu, x: jnp.sum(gammaln((nu + 1) / 2) - gammaln(nu / 2) - (nu + 1) / 2 * jnp.log1p(x**2 / nu)),
         lambda nu, x: jnp.sum(jsp.gammaln((nu + 1) / 2) - jsp.gammaln(nu / 2) - (nu + 1) / 2 * jnp.log1p(x**2 / nu))),
        (lambda a, x: jnp.sum(-betaln(a, 3.0) + (a - 1) * jnp.log(x)),
         lambda a, x: jnp.sum(-jsp.betaln(a, 3.0) + (a - 1) * jnp.log(x))),
    ],
    ids=["studentt_nu", "beta_a"],
)
def test_the_gradient_of_a_log_density_runs_far_fewer_kernels(ours, theirs):
    # The value and the derivative share the special function's series: one
    # kernel for both here, where XLA:CPU splits jax.scipy's into one per term.
    x = jnp.linspace(0.1, 0.9, 500)
    assert 2 * _kernels(ours, 4.0, x) < _kernels(theirs, 4.0, x)
    value, grad = jax.value_and_grad(ours)(4.0, x)
    expected_value, expected_grad = jax.value_and_grad(theirs)(4.0, x)
    assert value == pytest.approx(float(expected_value), rel=1e-14)
    assert grad == pytest.approx(float(expected_grad), rel=1e-9)
