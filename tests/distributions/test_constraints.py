"""Constraints check concrete values in NumPy (no XLA program at model definition) and traced ones in JAX."""

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import posteria as pa
from posteria.distributions import constraints

CASES = [
    (constraints.real, [1.0, np.inf], [True, False]),
    (constraints.positive, [2.0, -1.0], [True, False]),
    (constraints.interval(0.0, 1.0), [0.5, 1.5], [True, False]),
    (constraints.simplex, [[0.3, 0.7], [0.5, 0.6]], [True, False]),
    (constraints.ordered_vector, [[1.0, 2.0], [2.0, 1.0]], [True, False]),
    (constraints.positive_definite, [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]], [True, False]),
    (constraints.nonnegative_integer, [3.0, 2.5], [True, False]),
    (constraints.integer_interval(0, 3), [3.0, 4.0], [True, False]),
    (constraints.multinomial(5), [[2.0, 3.0], [2.0, 2.0]], [True, False]),
]


@pytest.mark.parametrize("constraint, value, expected", CASES, ids=[c[0].name for c in CASES])
def test_numpy_values_check_in_numpy_and_jax_values_in_jax_with_the_same_answer(constraint, value, expected):
    in_numpy = constraint.check(np.asarray(value))
    in_jax = constraint.check(jnp.asarray(value))
    traced = jax.jit(constraint.check)(jnp.asarray(value))
    assert not isinstance(in_numpy, jax.Array) and isinstance(in_jax, jax.Array)
    assert np.asarray(in_numpy).tolist() == np.asarray(in_jax).tolist() == np.asarray(traced).tolist() == expected


def test_defining_a_model_with_observed_data_compiles_no_program(caplog):
    jax.clear_caches()  # an eager check compiled earlier in this process would not be logged again
    with caplog.at_level(logging.WARNING), jax.log_compiles(True), pa.Model():
        mu = pa.Normal("mu", 0.0, 1.0)
        sigma = pa.HalfNormal("sigma", 1.0)
        pa.Normal("y", mu, sigma, observed=np.linspace(-1.0, 1.0, 37))
        pa.Poisson("k", 3.0, observed=np.array([0, 2, 5]))
    assert not [r.message for r in caplog.records if "Compiling" in r.message]
