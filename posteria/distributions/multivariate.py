"""Multivariate distributions: MvNormal, Dirichlet, Multinomial.

A value spans the last axis (``event_ndim = 1``); leading axes are a batch of
independent vectors, so ``logp`` returns one number per vector. The LKJ
families (correlation matrices) are in :mod:`posteria.distributions.lkj`.

Examples
--------
>>> import numpy as np, posteria as pa
>>> from posteria.distributions.multivariate import MvNormal
>>> d = MvNormal.dist(mu=np.zeros((3, 2)), cov=np.eye(2))
>>> d.shape, pa.logp(d, np.zeros((3, 2))).shape
((3, 2), (3,))
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
from jax.scipy.linalg import solve_triangular

from posteria.distributions import constraints
from posteria.distributions.base import _describe, _show
from posteria.distributions.discrete import _ArrayParams, _collect
from posteria.distributions.special import gammaln
from posteria.errors import ModelError
from posteria.model.graph import Node, apply

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def _precision_to_chol(precision):
    """Lower Cholesky factor of ``inv(precision)`` by triangular solves only.

    With ``J`` the exchange matrix, ``J P J = F F^T`` gives ``P = U U^T`` with
    ``U = J F J`` upper triangular, so ``inv(P) = U^{-T} U^{-1}`` and
    ``U^{-T}`` (lower, positive diagonal) is the factor.
    """
    flipped = jnp.flip(precision, axis=(-2, -1))
    upper = jnp.flip(jnp.linalg.cholesky(flipped), axis=(-2, -1))
    identity = jnp.broadcast_to(jnp.eye(precision.shape[-1], dtype=upper.dtype), upper.shape)
    return solve_triangular(jnp.swapaxes(upper, -1, -2), identity, lower=True)


def _solve_lower(chol, b):
    """``chol^{-1} b`` for vectors ``b`` on the last axis, batch axes broadcast."""
    k = chol.shape[-1]
    if chol.ndim == 2:  # one factor for all vectors: a single solve with many right-hand sides
        flat = jnp.reshape(b, (-1, k)).T
        return jnp.reshape(solve_triangular(chol, flat, lower=True).T, b.shape)
    batch = jnp.broadcast_shapes(chol.shape[:-2], b.shape[:-1])
    chol = jnp.broadcast_to(chol, batch + (k, k))
    b = jnp.broadcast_to(b, batch + (k,))
    return solve_triangular(chol, b[..., None], lower=True)[..., 0]


def _square(name: str, key: str, value: Any) -> Any:
    shape = value.shape if isinstance(value, Node) else np.shape(value)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ModelError(f"{key} of {name} must be a square matrix (or a batch of them), got shape {tuple(shape)}")
    return value


def _cholesky_factor(name: str, key: str, matrix: Any, lower: bool) -> Any:
    """The lower Cholesky factor from ``cov``, ``tau`` or ``chol``.

    Constant matrices are checked and factorised once; model expressions
    (a covariance built from variables, e.g. a GP kernel) are factorised
    when the log density is evaluated.
    """
    _square(name, key, matrix)
    if key == "chol":
        if lower:
            return matrix
        return apply(jnp.swapaxes, matrix, -1, -2) if isinstance(matrix, Node) else np.swapaxes(matrix, -1, -2)
    factorise = jnp.linalg.cholesky if key == "cov" else _precision_to_chol
    if isinstance(matrix, Node):
        return apply(factorise, matrix)
    matrix = np.asarray(matrix, dtype=float)
    if not np.all(np.isfinite(matrix)) or not np.all(constraints.positive_definite.check(matrix)):
        raise ModelError(f"{key} of {name} must be {_describe(constraints.positive_definite)}, got {_show(matrix)}")
    return np.asarray(factorise(matrix))


class MvNormal(_ArrayParams):
    """Multivariate normal with mean ``mu`` and covariance ``cov`` (or precision ``tau``, or Cholesky factor ``chol``).

    The family works with the lower Cholesky factor ``L`` of the covariance:
    ``logp`` solves ``L z = x - mu`` (no inverse, no determinant beyond
    ``sum(log(diag(L)))``) and draws are ``mu + L z``. ``mu`` broadcasts
    against the rows of ``cov``: ``mu`` of shape ``(3, 2)`` with a ``(2, 2)``
    ``cov`` gives three independent 2-vectors.

    References
    ----------
    Rasmussen, C. E., Williams, C. K. I. (2006). *Gaussian Processes for
    Machine Learning*, Appendix A.4 (Cholesky decomposition).

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> from posteria.distributions.multivariate import MvNormal
    >>> cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    >>> round(float(pa.logp(MvNormal.dist(mu=np.zeros(2), cov=cov), np.array([1.0, -1.0]))), 6)
    -3.260542
    """

    params = ("mu", "chol")
    param_constraints = {"chol": constraints.cholesky_cov}
    support = constraints.real_vector
    event_ndim = 1

    @classmethod
    def canonical_params(cls, name, *args, lower: bool = True, **kwargs):
        given = _collect(cls, name, ("mu", "cov", "tau", "chol"), args, kwargs)
        matrices = [key for key in ("cov", "tau", "chol") if key in given]
        if len(matrices) != 1:
            raise TypeError(f"MvNormal {name!r} needs exactly one of cov, tau and chol, got {matrices or 'none'}")
        key = matrices[0]
        chol = _cholesky_factor(name, key, given.pop(key), lower)
        return super().canonical_params(name, chol=chol, **given)

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0}

    @classmethod
    def shape_from_params(cls, mu, chol):
        return tuple(jnp.broadcast_shapes(mu, tuple(chol[:-1])))

    @staticmethod
    def logp(value, mu, chol):
        z = _solve_lower(chol, jnp.asarray(value - mu))
        half_log_det = jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
        return -0.5 * jnp.sum(z**2, axis=-1) - half_log_det - chol.shape[-1] * _LOG_SQRT_2PI

    @staticmethod
    def random(key, shape, mu, chol):
        z = jax.random.normal(key, shape)
        return mu + jnp.matmul(chol, z[..., None])[..., 0]

    @staticmethod
    def mean(mu, chol):
        return jnp.broadcast_to(mu, jnp.broadcast_shapes(jnp.shape(mu), chol.shape[:-1]))

    @staticmethod
    def variance(mu, chol):
        return jnp.broadcast_to(jnp.sum(chol**2, axis=-1), jnp.broadcast_shapes(jnp.shape(mu), chol.shape[:-1]))


def _vector(name: str, key: str, value: Any) -> Any:
    shape = value.shape if isinstance(value, Node) else np.shape(value)
    if len(shape) == 0:
        raise ModelError(f"{key} of {name} must be a vector (categories on the last axis), got a scalar")
    return value


class Dirichlet(_ArrayParams):
    """Dirichlet over probability vectors, with concentrations ``a`` on the last axis.

    Free variables are sampled through the simplex transform.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> from posteria.distributions.multivariate import Dirichlet
    >>> round(float(pa.logp(Dirichlet.dist(a=np.ones(3)), np.array([0.2, 0.3, 0.5]))), 6)
    0.693147
    """

    params = ("a",)
    param_constraints = {"a": constraints.positive}
    support = constraints.simplex
    event_ndim = 1

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = super().canonical_params(name, *args, **kwargs)
        return {"a": _vector(name, "a", given["a"])}

    @staticmethod
    def logp(value, a):
        ok = constraints.simplex.check(value)
        x = jnp.where(ok[..., None], value, 1.0 / a.shape[-1])
        density = jnp.sum(jsp.xlogy(a - 1.0, x) - gammaln(a), axis=-1) + gammaln(jnp.sum(a, axis=-1))
        return jnp.where(ok, density, -jnp.inf)

    @staticmethod
    def random(key, shape, a):
        return jax.random.dirichlet(key, jnp.broadcast_to(a, shape), shape[:-1])

    @staticmethod
    def mean(a):
        return a / jnp.sum(a, axis=-1, keepdims=True)

    @staticmethod
    def variance(a):
        total = jnp.sum(a, axis=-1, keepdims=True)
        return a * (total - a) / (total**2 * (total + 1.0))


class _NonNegativeIntegerVector(constraints.Constraint):
    """Vectors of non-negative integers (Multinomial's support for any ``n``)."""

    name = "nonnegative_integer_vector"
    event_dim = 1
    is_discrete = True

    def check(self, value):
        return jnp.all((value == jnp.round(value)) & (value >= 0), axis=-1)


class Multinomial(_ArrayParams):
    """Counts in each of ``K`` categories from ``n`` draws with probabilities ``p`` (last axis).

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> from posteria.distributions.multivariate import Multinomial
    >>> d = Multinomial.dist(n=4, p=np.array([0.5, 0.25, 0.25]))
    >>> d.shape, round(float(pa.logp(d, np.array([2, 1, 1]))), 6)
    ((3,), -1.673976)
    """

    params = ("n", "p")
    param_constraints = {"n": constraints.nonnegative_integer, "p": constraints.simplex}
    support = _NonNegativeIntegerVector()  # for any n; support_of adds the total
    support_depends_on_params = True
    event_ndim = 1

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = super().canonical_params(name, *args, **kwargs)
        return {"n": given["n"], "p": _vector(name, "p", given["p"])}

    @classmethod
    def shape_from_params(cls, n, p):
        return tuple(jnp.broadcast_shapes(n, tuple(p[:-1]))) + tuple(p[-1:])

    @classmethod
    def support_of(cls, n, p):
        return constraints.multinomial(n)

    @staticmethod
    def logp(value, n, p):
        value = jnp.asarray(value, dtype=jnp.result_type(float))
        ok = Multinomial.support.check(value) & (jnp.sum(value, axis=-1) == n)
        x = jnp.where(ok[..., None], value, 0)
        density = gammaln(n + 1.0) + jnp.sum(jsp.xlogy(x, p) - gammaln(x + 1.0), axis=-1)
        return jnp.where(ok, density, -jnp.inf)

    @staticmethod
    def random(key, shape, n, p):
        n, p = jnp.broadcast_to(n, shape[:-1]), jnp.broadcast_to(p, shape)
        return jax.random.multinomial(key, n, p).astype(int)

    @staticmethod
    def mean(n, p):
        return jnp.expand_dims(n, -1) * p

    @staticmethod
    def variance(n, p):
        return jnp.expand_dims(n, -1) * p * (1.0 - p)
