"""Supports of distributions.

A constraint says where a value may lie. It is used to validate observed data
and constant parameters, and the transform registry
(:func:`posteria.transforms.transform_for`) maps it to the bijector that
takes the real line (or R^n) onto it.

Bounds may be JAX arrays (also traced ones): ``interval(lower, upper)`` built
inside a log density carries the evaluated bounds of a ``Uniform``. A check
computes in NumPy when the value and the bounds are all concrete (observed
data and constant parameters at model definition: no XLA program to compile
for them), in ``jax.numpy`` otherwise.

Examples
--------
>>> import numpy as np
>>> from posteria.distributions import constraints
>>> bool(constraints.positive.check(np.array(2.0)))
True
>>> constraints.interval(0.0, 1.0).check(np.array([0.5, 1.5])).tolist()
[True, False]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _numpy_or_jax(*values):
    """NumPy if no value is a JAX array (or tracer), else ``jax.numpy``."""
    return jnp if any(isinstance(v, jax.Array) for v in values) else np


class Constraint:
    """Base class. ``event_dim`` is the number of trailing axes one value spans."""

    event_dim: int = 0
    is_discrete: bool = False
    name: str = "constraint"

    def check(self, value):
        """Elementwise (per event) boolean array: True where ``value`` lies in the support."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class _Real(Constraint):
    name = "real"

    def check(self, value):
        return _numpy_or_jax(value).isfinite(value)


class _RealVector(Constraint):
    name = "real_vector"
    event_dim = 1

    def check(self, value):
        xp = _numpy_or_jax(value)
        return xp.all(xp.isfinite(value), axis=-1)


class _GreaterThan(Constraint):
    def __init__(self, lower):
        self.lower = lower
        self.name = "greater_than"

    def check(self, value):
        return value > self.lower


class _GreaterThanEq(Constraint):
    def __init__(self, lower):
        self.lower = lower
        self.name = "greater_than_eq"

    def check(self, value):
        return value >= self.lower


class _LessThan(Constraint):
    def __init__(self, upper):
        self.upper = upper
        self.name = "less_than"

    def check(self, value):
        return value < self.upper


class _Interval(Constraint):
    """Open interval (lower, upper); observed values on the edges are allowed by ``check``."""

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper
        self.name = "interval"

    def check(self, value):
        return (value >= self.lower) & (value <= self.upper)


class _Positive(_GreaterThan):
    def __init__(self):
        super().__init__(0.0)
        self.name = "positive"


class _NonNegative(_GreaterThanEq):
    def __init__(self):
        super().__init__(0.0)
        self.name = "nonnegative"


class _UnitInterval(_Interval):
    def __init__(self):
        super().__init__(0.0, 1.0)
        self.name = "unit_interval"


class _Simplex(Constraint):
    name = "simplex"
    event_dim = 1

    def check(self, value):
        xp = _numpy_or_jax(value)
        return xp.all(value >= 0, axis=-1) & (xp.abs(xp.sum(value, axis=-1) - 1.0) < 1e-6)


class _OrderedVector(Constraint):
    name = "ordered_vector"
    event_dim = 1

    def check(self, value):
        return _numpy_or_jax(value).all(value[..., 1:] > value[..., :-1], axis=-1)


class _PositiveDefinite(Constraint):
    name = "positive_definite"
    event_dim = 2

    def check(self, value):
        xp = _numpy_or_jax(value)
        symmetric = xp.all(xp.abs(value - xp.swapaxes(value, -1, -2)) < 1e-6, axis=(-2, -1))
        return symmetric & xp.all(xp.linalg.eigvalsh(value) > 0, axis=-1)


class _CorrCholesky(Constraint):
    """Lower-triangular with positive diagonal and unit-norm rows."""

    name = "corr_cholesky"
    event_dim = 2

    def check(self, value):
        xp = _numpy_or_jax(value)
        lower = xp.all(xp.triu(value, 1) == 0, axis=(-2, -1))
        positive = xp.all(xp.diagonal(value, axis1=-2, axis2=-1) > 0, axis=-1)
        unit = xp.all(xp.abs(xp.sum(value**2, axis=-1) - 1.0) < 1e-6, axis=-1)
        return lower & positive & unit


class _CorrMatrix(Constraint):
    name = "corr_matrix"
    event_dim = 2

    def check(self, value):
        xp = _numpy_or_jax(value)
        unit_diag = xp.all(xp.abs(xp.diagonal(value, axis1=-2, axis2=-1) - 1.0) < 1e-6, axis=-1)
        return unit_diag & _PositiveDefinite().check(value)


class _CholeskyCov(Constraint):
    """Lower-triangular with positive diagonal (Cholesky factor of a covariance)."""

    name = "cholesky_cov"
    event_dim = 2

    def check(self, value):
        xp = _numpy_or_jax(value)
        lower = xp.all(xp.triu(value, 1) == 0, axis=(-2, -1))
        return lower & xp.all(xp.diagonal(value, axis1=-2, axis2=-1) > 0, axis=-1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper
        self.name = "integer_interval"

    def check(self, value):
        xp = _numpy_or_jax(value, self.lower, self.upper)
        return (value == xp.round(value)) & (value >= self.lower) & (value <= self.upper)


class _IntegerGreaterThanEq(Constraint):
    is_discrete = True

    def __init__(self, lower):
        self.lower = lower
        self.name = "integer_greater_than_eq"

    def check(self, value):
        return (value == _numpy_or_jax(value, self.lower).round(value)) & (value >= self.lower)


class _NonNegativeInteger(_IntegerGreaterThanEq):
    def __init__(self):
        super().__init__(0)
        self.name = "nonnegative_integer"


class _PositiveInteger(_IntegerGreaterThanEq):
    def __init__(self):
        super().__init__(1)
        self.name = "positive_integer"


class _Boolean(_IntegerInterval):
    def __init__(self):
        super().__init__(0, 1)
        self.name = "boolean"


class _IntegerVectorSum(Constraint):
    """Non-negative integer vectors summing to ``total`` (Multinomial support)."""

    is_discrete = True
    event_dim = 1

    def __init__(self, total):
        self.total = total
        self.name = "multinomial"

    def check(self, value):
        xp = _numpy_or_jax(value, self.total)
        integer = xp.all((value == xp.round(value)) & (value >= 0), axis=-1)
        return integer & (xp.sum(value, axis=-1) == self.total)


real = _Real()
real_vector = _RealVector()
positive = _Positive()
nonnegative = _NonNegative()
unit_interval = _UnitInterval()
simplex = _Simplex()
ordered_vector = _OrderedVector()
positive_definite = _PositiveDefinite()
corr_cholesky = _CorrCholesky()
corr_matrix = _CorrMatrix()
cholesky_cov = _CholeskyCov()
nonnegative_integer = _NonNegativeInteger()
positive_integer = _PositiveInteger()
boolean = _Boolean()
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
interval = _Interval
integer_interval = _IntegerInterval
integer_greater_than_eq = _IntegerGreaterThanEq
multinomial = _IntegerVectorSum
