"""Tests of posteria.transforms: round trips, Jacobians, registry, numerics, densities."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.scipy.special import gammaln

from posteria.distributions import constraints
from posteria.transforms import (
    Chain,
    CholeskyCorr,
    CholeskyCov,
    CorrMatrix,
    CovMatrix,
    Interval,
    LowerBound,
    Transform,
    UpperBound,
    identity,
    log,
    logodds,
    ordered,
    simplex,
    transform_for,
)

jax.config.update("jax_enable_x64", True)

LOWER = jnp.array([-1.0, 0.0, 2.0, 5.0, 10.0])
UPPER = jnp.array([-0.5, 1.0, 2.1, 50.0, 1e3])
BATCH = (3, 2)


def _strict_lower(matrix):
    rows, cols = np.tril_indices(matrix.shape[-1], -1)
    return matrix[..., rows, cols]


def _lower(matrix):
    rows, cols = np.tril_indices(matrix.shape[-1])
    return matrix[..., rows, cols]


def _random_corr_cholesky(key, shape, n):
    a = jax.random.normal(key, shape + (n, n + 2))
    cov = a @ jnp.swapaxes(a, -1, -2)
    sd = jnp.sqrt(jnp.diagonal(cov, axis1=-2, axis2=-1))
    return jnp.linalg.cholesky(cov / sd[..., :, None] / sd[..., None, :])


def _random_cholesky_cov(key, shape, n):
    k1, k2 = jax.random.split(key)
    below = jnp.tril(jax.random.normal(k1, shape + (n, n)), -1)
    return below + jnp.exp(jax.random.normal(k2, shape + (n,)))[..., None] * jnp.eye(n)


@dataclass
class Case:
    transform: Transform
    x_event: tuple  # unconstrained shape of one point used in the tests
    sample_y: Callable  # (key, batch shape) -> constrained values drawn independently of forward
    free: Callable  # constrained value -> its free coordinates (last axis)
    x_scale: float = 1.5  # sd of the random unconstrained points
    large: float = 700.0  # |x| up to which forward values must be representable


CASES = {
    "identity": Case(identity, (5,), lambda k, s: jax.random.normal(k, s + (5,)), lambda y: y),
    "log": Case(log, (5,), lambda k, s: jnp.exp(jax.random.normal(k, s + (5,))), lambda y: y),
    "lower_bound": Case(
        LowerBound(LOWER), (5,), lambda k, s: LOWER + jnp.exp(jax.random.normal(k, s + (5,))), lambda y: y
    ),
    "upper_bound": Case(
        UpperBound(UPPER), (5,), lambda k, s: UPPER - jnp.exp(jax.random.normal(k, s + (5,))), lambda y: y
    ),
    "interval": Case(
        Interval(LOWER, UPPER),
        (5,),
        lambda k, s: LOWER + (UPPER - LOWER) * jax.random.uniform(k, s + (5,), minval=0.01, maxval=0.99),
        lambda y: y,
    ),
    "logodds": Case(logodds, (5,), lambda k, s: jax.random.uniform(k, s + (5,), minval=0.01, maxval=0.99), lambda y: y),
    "ordered": Case(ordered, (4,), lambda k, s: jnp.sort(jax.random.normal(k, s + (4,)), axis=-1), lambda y: y),
    "simplex": Case(
        simplex, (3,), lambda k, s: jax.random.dirichlet(k, jnp.array([0.5, 1.0, 2.0, 4.0]), s), lambda y: y[..., :-1]
    ),
    "cholesky_corr": Case(CholeskyCorr(), (6,), lambda k, s: _random_corr_cholesky(k, s, 4), _strict_lower),
    "corr_matrix": Case(
        CorrMatrix(),
        (6,),
        lambda k, s: (lambda c: c @ jnp.swapaxes(c, -1, -2))(_random_corr_cholesky(k, s, 4)),
        _strict_lower,
    ),
    "cholesky_cov": Case(CholeskyCov(), (6,), lambda k, s: _random_cholesky_cov(k, s, 3), _lower),
    "cov_matrix": Case(
        CovMatrix(),
        (6,),
        lambda k, s: (lambda c: c @ jnp.swapaxes(c, -1, -2))(_random_cholesky_cov(k, s, 3)),
        _lower,
        large=300.0,  # exp(2 * 700) overflows float64
    ),
    "chain_log_ordered": Case(
        Chain([log, ordered]),
        (4,),
        lambda k, s: jnp.exp(jnp.sort(jax.random.normal(k, s + (4,)), axis=-1)),
        lambda y: y,
        large=5.0,  # exp(x_0 + 3 exp(5)) is near the float64 limit
    ),
    "chain_interval_ordered": Case(
        Chain([Interval(-2.0, 3.0), ordered]),
        (4,),
        lambda k, s: jnp.sort(jax.random.uniform(k, s + (4,), minval=-1.9, maxval=2.9), axis=-1),
        lambda y: y,
        x_scale=0.5,  # sums of increments past ~30 saturate the logistic in float64
    ),
}


def _random_x(case: Case, seed: int, scale: float) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(BATCH + case.x_event)


@functools.cache
def _case_results(name: str) -> dict:
    """Everything the per-case tests check, computed by one compiled function per case."""
    case = CASES[name]
    t = case.transform

    def numerical_log_det(x_event):
        jac = jax.jacfwd(lambda v: case.free(t.forward(v)))(x_event)
        return jnp.linalg.slogdet(jac)[1]

    @jax.jit
    def compute(x, key, x_large):
        y_sampled = case.sample_y(key, BATCH)
        x_from_sampled = t.inverse(y_sampled)
        y_large = t.forward(x_large)
        return {
            "x_round_trip": t.inverse(t.forward(x)),
            "y_sampled": y_sampled,
            "x_from_sampled": x_from_sampled,
            "y_round_trip": t.forward(x_from_sampled),
            # elementwise transforms: the event of the Jacobian check is the whole last axis
            "ladj": t.log_abs_det_jacobian(x, t.forward(x)).reshape(BATCH + (-1,)).sum(-1),
            "ladj_autodiff": jax.vmap(numerical_log_det)(x.reshape((-1,) + case.x_event)).reshape(BATCH),
            "large": [
                y_large,
                t.log_abs_det_jacobian(x_large, y_large),
                jax.grad(lambda v: jnp.sum(t.log_abs_det_jacobian(v, t.forward(v))))(x_large),
                jax.jacfwd(t.forward)(x_large[0, 0]),
            ],
        }

    x = _random_x(case, 0, case.x_scale)
    x_large = case.large * np.tanh(_random_x(case, 1, 3.0))
    x_large[0, 0], x_large[0, 1] = case.large, -case.large
    return {"x": x} | compute(x, jax.random.key(2), x_large)


@pytest.mark.parametrize("name", CASES)
def test_round_trip_from_unconstrained(name):
    result = _case_results(name)
    np.testing.assert_allclose(result["x_round_trip"], result["x"], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_round_trip_from_constrained(name):
    result = _case_results(name)
    assert result["x_from_sampled"].shape == BATCH + CASES[name].x_event
    np.testing.assert_allclose(result["y_round_trip"], result["y_sampled"], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_log_abs_det_jacobian_matches_autodiff(name):
    """log|det J| of x -> free coordinates of forward(x), by jacfwd, on a batch of points."""
    result = _case_results(name)
    np.testing.assert_allclose(result["ladj"], result["ladj_autodiff"], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_large_inputs_stay_finite(name):
    """Forward values, log Jacobians, their gradients and forward's Jacobian are finite up to |x| = 700
    (lower where the constrained value itself overflows float64)."""
    for value in _case_results(name)["large"]:
        assert bool(jnp.all(jnp.isfinite(value)))


@pytest.mark.parametrize("name", CASES)
def test_shapes(name):
    case = CASES[name]
    t = case.transform
    x = jax.ShapeDtypeStruct(BATCH + case.x_event, jnp.float64)
    y = jax.eval_shape(t.forward, x)
    assert t.unconstrained_shape(y.shape) == x.shape
    assert t.constrained_shape(x.shape) == y.shape
    assert jax.eval_shape(t.log_abs_det_jacobian, x, y).shape == y.shape[: len(y.shape) - t.event_dim]


def test_interval_forward_is_stable_and_in_range():
    x = jnp.array([-700.0, -40.0, 0.0, 40.0, 700.0])
    y = Interval(2.0, 5.0).forward(x)
    assert bool(jnp.all((y >= 2.0) & (y <= 5.0)))
    np.testing.assert_allclose(y[2], 3.5)
    ladj = Interval(2.0, 5.0).log_abs_det_jacobian(x, y)
    np.testing.assert_allclose(ladj, jnp.log(3.0) - jnp.abs(x) - 2 * jax.nn.softplus(-jnp.abs(x)))


def test_interval_with_traced_bounds_under_jit():
    @jax.jit
    def f(lower, upper, x):
        t = transform_for(constraints.interval(lower, upper))
        y = t.forward(x)
        return y, t.log_abs_det_jacobian(x, y)

    y, ladj = f(jnp.array([0.0, -3.0]), jnp.array([1.0, 7.0]), jnp.array([0.0, 0.0]))
    np.testing.assert_allclose(y, [0.5, 2.0])
    np.testing.assert_allclose(ladj, [math.log(0.25), math.log(10 * 0.25)])


def test_ordered_definition():
    x = jnp.array([[0.5, 0.0, math.log(2.0)], [-1.0, math.log(0.5), 0.0]])
    np.testing.assert_allclose(ordered.forward(x), [[0.5, 1.5, 3.5], [-1.0, -0.5, 0.5]])
    np.testing.assert_allclose(ordered.log_abs_det_jacobian(x, None), [math.log(2.0), math.log(0.5)])


def test_simplex_is_isometric_log_ratio():
    """x is the ILR coordinate vector: |x| equals the Aitchison norm of y (clr norm)."""
    x = jax.random.normal(jax.random.key(4), (10, 5))
    y = simplex.forward(x)
    clr = jnp.log(y) - jnp.mean(jnp.log(y), axis=-1, keepdims=True)
    np.testing.assert_allclose(jnp.linalg.norm(clr, axis=-1), jnp.linalg.norm(x, axis=-1), rtol=1e-10)
    np.testing.assert_allclose(simplex.forward(jnp.zeros(4)), jnp.full(5, 0.2))


def test_chain_semantics_match_pymc():
    """Chain([t1, t2]): inverse applies t1 first, forward applies t2 first."""
    t = Chain([log, ordered])
    x = jax.random.normal(jax.random.key(5), (7, 4))
    np.testing.assert_allclose(t.forward(x), jnp.exp(ordered.forward(x)))
    y = t.forward(x)
    np.testing.assert_allclose(t.inverse(y), ordered.inverse(jnp.log(y)))
    assert bool(jnp.all(y > 0)) and bool(jnp.all(constraints.ordered_vector.check(y)))
    assert (t.event_dim, t.unconstrained_event_dim) == (1, 1)
    assert t.name == "chain(log, ordered)"
    corr = Chain([CholeskyCorr()])
    assert (corr.event_dim, corr.unconstrained_event_dim) == (2, 1)
    assert corr.unconstrained_shape((2, 3, 3)) == (2, 3) and corr.constrained_shape((2, 3)) == (2, 3, 3)
    with pytest.raises(ValueError, match="at least one"):
        Chain([])


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="pack no square matrix"):
        CholeskyCorr().constrained_shape((4,))
    with pytest.raises(ValueError, match="square"):
        CorrMatrix().unconstrained_shape((3, 2))
    with pytest.raises(ValueError, match="vector"):
        simplex.unconstrained_shape(())


# ---------------------------------------------------------------- registry

# (constraint, expected transform, unconstrained event shape, scale of x for the support check)
REGISTRY_CASES = {
    "positive": (constraints.positive, log, (3,), 700.0),
    "nonnegative": (constraints.nonnegative, log, (3,), 700.0),
    "greater_than": (constraints.greater_than(jnp.array([-3.0, 0.0, 2.5])), LowerBound, (3,), 30.0),
    "greater_than_eq": (constraints.greater_than_eq(jnp.array([-3.0, 0.0, 2.5])), LowerBound, (3,), 30.0),
    "less_than": (constraints.less_than(jnp.array([-3.0, 0.0, 2.5])), UpperBound, (3,), 30.0),
    "interval": (constraints.interval(jnp.array([-3.0, 0.0]), jnp.array([-1.0, 1e3])), Interval, (2,), 700.0),
    "unit_interval": (constraints.unit_interval, logodds, (3,), 700.0),
    "simplex": (constraints.simplex, simplex, (4,), 700.0),
    "ordered_vector": (constraints.ordered_vector, ordered, (4,), 3.0),
    "corr_cholesky": (constraints.corr_cholesky, CholeskyCorr, (6,), 5.0),
    "corr_matrix": (constraints.corr_matrix, CorrMatrix, (6,), 1.5),
    "cholesky_cov": (constraints.cholesky_cov, CholeskyCov, (6,), 30.0),
    "positive_definite": (constraints.positive_definite, CovMatrix, (6,), 2.0),
}
UNCONSTRAINED = {"real": constraints.real, "real_vector": constraints.real_vector}
DISCRETE = {
    "nonnegative_integer": constraints.nonnegative_integer,
    "positive_integer": constraints.positive_integer,
    "boolean": constraints.boolean,
    "integer_interval": constraints.integer_interval(0, 3),
    "integer_greater_than_eq": constraints.integer_greater_than_eq(2),
    "multinomial": constraints.multinomial(10),
}


def test_registry_covers_every_constraint():
    def is_public_constraint(name, value):
        if name.startswith("_") or value is constraints.Constraint:
            return False
        is_class = isinstance(value, type) and issubclass(value, constraints.Constraint)
        return is_class or isinstance(value, constraints.Constraint)

    public = {name for name, value in vars(constraints).items() if is_public_constraint(name, value)}
    assert public == set(REGISTRY_CASES) | set(UNCONSTRAINED) | set(DISCRETE)


@pytest.mark.parametrize("name", REGISTRY_CASES)
def test_registry_forward_lands_in_support(name):
    constraint, expected, x_event, scale = REGISTRY_CASES[name]
    t = transform_for(constraint)
    if isinstance(expected, Transform):
        assert t is expected
    else:
        assert type(t) is expected
    assert t.event_dim == constraint.event_dim
    rng = np.random.default_rng(6)
    x = np.concatenate([scale * np.tanh(rng.standard_normal((50,) + x_event)), rng.standard_normal((50,) + x_event)])
    x[0], x[1] = scale, -scale
    assert bool(jnp.all(jax.jit(lambda v: constraint.check(t.forward(v)))(x)))


def test_registry_passes_bounds_through():
    t = transform_for(constraints.interval(-2.0, 4.0))
    assert (t.lower, t.upper) == (-2.0, 4.0)
    assert transform_for(constraints.greater_than(1.5)).lower == 1.5
    assert transform_for(constraints.less_than(-1.5)).upper == -1.5


@pytest.mark.parametrize("name", UNCONSTRAINED)
def test_registry_real_needs_no_transform(name):
    assert transform_for(UNCONSTRAINED[name]) is None


@pytest.mark.parametrize("name", DISCRETE)
def test_registry_rejects_discrete(name):
    with pytest.raises(TypeError, match=name):
        transform_for(DISCRETE[name])


def test_registry_rejects_unknown_constraint():
    class Odd(constraints.Constraint):
        name = "odd_numbers_only"

    with pytest.raises(TypeError, match="odd_numbers_only"):
        transform_for(Odd())


# ------------------------------------------------- densities pushed through


def _grid(half_width: float, step: float, dim: int):
    axis = jnp.arange(-half_width, half_width + step / 2, step)
    return axis, step**dim


def test_dirichlet_through_simplex_integrates_to_one_with_right_mean():
    """Dirichlet(alpha) density times the Jacobian integrates to 1 over R^2, with mean alpha / sum(alpha).

    Trapezoid quadrature of a smooth, exponentially decaying integrand: its
    error here is far below the 1e-6 tolerance, while dropping either term of
    the Jacobian changes the integral by a factor sqrt(3) or more.
    """
    alpha = jnp.array([1.5, 2.0, 3.0])
    axis, cell = _grid(40.0, 0.1, 2)
    x = jnp.stack(jnp.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    y = simplex.forward(x)
    log_dirichlet = gammaln(alpha.sum()) - gammaln(alpha).sum() + jnp.sum((alpha - 1) * jnp.log(y), axis=-1)
    density = jnp.exp(log_dirichlet + simplex.log_abs_det_jacobian(x, y))
    np.testing.assert_allclose(jnp.sum(density) * cell, 1.0, atol=1e-6)
    np.testing.assert_allclose(jnp.sum(density[:, None] * y, axis=0) * cell, alpha / alpha.sum(), atol=1e-6)


@pytest.mark.parametrize("transform", [CholeskyCorr(), CorrMatrix()], ids=["cholesky_corr", "corr_matrix"])
def test_uniform_correlations_have_the_elliptope_volume(transform):
    """The volume of 3x3 correlation matrices in (r21, r31, r32) is pi^2 / 2.

    For ``CorrMatrix`` it is the integral of exp(log Jacobian) over R^3; for
    ``CholeskyCorr`` the uniform (LKJ eta = 1) density on L is
    prod_i L_ii^(n - 1 - i) times the Jacobian of L -> R, so the same integral
    with that factor included. Quadrature error is far below the tolerance.
    """
    axis, cell = _grid(14.0, 0.25, 3)
    rest = jnp.stack(jnp.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)

    @jax.jit
    def slab(first):
        x = jnp.concatenate([jnp.full((rest.shape[0], 1), first), rest], axis=-1)
        y = transform.forward(x)
        log_density = transform.log_abs_det_jacobian(x, y)
        if isinstance(transform, CholeskyCorr) and not isinstance(transform, CorrMatrix):
            log_diagonal = jnp.log(jnp.diagonal(y, axis1=-2, axis2=-1))
            log_density = log_density + log_diagonal @ jnp.array([2.0, 1.0, 0.0])
        return jnp.sum(jnp.exp(log_density))

    volume = sum(float(slab(first)) for first in axis) * cell
    np.testing.assert_allclose(volume, math.pi**2 / 2, rtol=1e-6)
