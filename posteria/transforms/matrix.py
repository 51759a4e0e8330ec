"""Transforms onto Cholesky factors, correlation and covariance matrices.

Matrices of size ``n`` are reached from a packed vector of their free
entries: ``n (n - 1) / 2`` for correlation (Cholesky) matrices, ``n (n + 1) / 2``
for covariance (Cholesky) matrices, in row-major order of the lower triangle
(``(1, 0), (2, 0), (2, 1), (3, 0), ...``), as Stan packs them.

References
----------
Lewandowski, D., Kurowicka, D., Joe, H. (2009). Generating random correlation
matrices based on vines and extended onion method. Journal of Multivariate
Analysis 100(9), 1989-2001. Stan Development Team, *Stan Reference Manual*,
"Cholesky factors of correlation matrices" and "Covariance matrices".

Examples
--------
>>> import jax.numpy as jnp
>>> from posteria.transforms import CholeskyCorr
>>> CholeskyCorr().forward(jnp.zeros(3)).tolist()
[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from posteria.transforms.bijectors import Transform, _event_axis_size


def _matrix_size(num_free: int, num_diagonal: int, transform: Transform) -> int:
    """``n`` with ``n (n - 1) / 2 + num_diagonal * n == num_free``; raises if there is none."""
    n = int(round((1 - 2 * num_diagonal + math.sqrt((2 * num_diagonal - 1) ** 2 + 8 * num_free)) / 2))
    if n * (n - 1) // 2 + num_diagonal * n != num_free:
        raise ValueError(f"transform {transform.name}: {num_free} unconstrained entries pack no square matrix")
    return n


def _square_shape(shape: tuple, transform: Transform) -> int:
    """``n`` of a constrained shape ``(..., n, n)``; raises otherwise."""
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"transform {transform.name} needs square matrices, got shape {tuple(shape)}")
    return shape[-1]


def _fill(values, rows, cols, n: int):
    """An ``(..., n, n)`` matrix of zeros with ``values[..., k]`` at ``(rows[k], cols[k])``."""
    matrix = jnp.zeros(values.shape[:-1] + (n, n), dtype=values.dtype)
    return matrix.at[..., rows, cols].set(values)


def _log_sech(x):
    """``log(1 - tanh(x)^2) / 2 = log sech(x)``, stable for large ``|x|``."""
    abs_x = jnp.abs(x)
    return jnp.log(2.0) - abs_x - jax.nn.softplus(-2.0 * abs_x)


def _corr_cholesky_parts(x):
    """Cholesky factor ``L`` from partial correlations ``tanh(x)``, and ``log`` of the row remainders.

    ``L[i, j] = z[i, j] * c[i, j]`` (``j < i``) and ``L[i, i] = c[i, i]`` with
    ``c[i, j] = prod_{k < j} sqrt(1 - z[i, k]^2)`` the norm left in row ``i``
    before column ``j``; ``log_c`` is computed as a cumulative sum of
    ``log sech`` so that it never underflows.
    """
    x = jnp.asarray(x, dtype=jnp.result_type(x, float))
    n = _matrix_size(x.shape[-1], 0, CholeskyCorr)
    rows, cols = np.tril_indices(n, -1)
    log_sech = _fill(_log_sech(x), rows, cols, n)
    log_c = jnp.cumsum(log_sech, axis=-1) - log_sech
    z_plus_identity = _fill(jnp.tanh(x), rows, cols, n) + jnp.eye(n, dtype=x.dtype)
    return z_plus_identity * jnp.exp(log_c), log_c, rows, cols


def _corr_cholesky_log_det(x, log_c, rows, cols):
    """Log Jacobian of ``x -> strictly lower entries of L`` (triangular: ``(1 - z^2) c``)."""
    return jnp.sum(2.0 * _log_sech(x) + log_c[..., rows, cols], axis=-1)


class CholeskyCorr(Transform):
    """Cholesky factors of correlation matrices, via canonical partial correlations.

    The ``n (n - 1) / 2`` reals are mapped by ``tanh`` to partial correlations
    in ``(-1, 1)``, which fill the rows of a lower-triangular ``L`` so that
    every row has unit norm and a positive diagonal (``L L^T`` is then a
    correlation matrix). The log Jacobian is taken with respect to the
    strictly-lower entries of ``L``; it and ``L`` are computed in log space,
    finite for any finite input.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import CholeskyCorr
    >>> t = CholeskyCorr()
    >>> L = t.forward(jnp.array([0.5, -0.2, 1.0]))
    >>> (L**2).sum(-1).round(6).tolist()
    [1.0, 1.0, 1.0]
    >>> t.inverse(L).round(6).tolist()
    [0.5, -0.2, 1.0]
    >>> t.unconstrained_shape((4, 4)), t.constrained_shape((6,))
    ((6,), (4, 4))
    """

    name = "cholesky_corr"
    event_dim = 2
    unconstrained_event_dim = 1

    def forward(self, x):
        return _corr_cholesky_parts(x)[0]

    def inverse(self, y):
        y = jnp.asarray(y)
        n = _square_shape(y.shape, self)
        rows, cols = np.tril_indices(n, -1)
        squares = y**2
        remainder = 1.0 - (jnp.cumsum(squares, axis=-1) - squares)
        z = y[..., rows, cols] / jnp.sqrt(remainder[..., rows, cols])
        return jnp.arctanh(z)

    def log_abs_det_jacobian(self, x, y):
        _, log_c, rows, cols = _corr_cholesky_parts(x)
        return _corr_cholesky_log_det(x, log_c, rows, cols)

    def unconstrained_shape(self, shape: tuple) -> tuple:
        n = _square_shape(shape, self)
        return tuple(shape[:-2]) + (n * (n - 1) // 2,)

    def constrained_shape(self, shape: tuple) -> tuple:
        n = _matrix_size(_event_axis_size(shape, self), 0, self)
        return tuple(shape[:-1]) + (n, n)


class CorrMatrix(CholeskyCorr):
    """Correlation matrices ``R = L L^T`` with ``L`` from :class:`CholeskyCorr`.

    The log Jacobian is taken with respect to the strictly-lower entries of
    ``R``: the one of ``CholeskyCorr`` plus ``sum_i (n - 1 - i) log L_ii``
    (0-based ``i``), the Jacobian of ``L -> L L^T`` on unit-norm rows.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import CorrMatrix
    >>> t = CorrMatrix()
    >>> R = t.forward(jnp.array([0.5, -0.2, 1.0]))
    >>> jnp.diagonal(R).round(6).tolist()
    [1.0, 1.0, 1.0]
    >>> t.inverse(R).round(6).tolist()
    [0.5, -0.2, 1.0]
    """

    name = "corr_matrix"

    def forward(self, x):
        chol = _corr_cholesky_parts(x)[0]
        return chol @ jnp.swapaxes(chol, -1, -2)

    def inverse(self, y):
        return super().inverse(jnp.linalg.cholesky(y))

    def log_abs_det_jacobian(self, x, y):
        _, log_c, rows, cols = _corr_cholesky_parts(x)
        n = log_c.shape[-1]
        log_diagonal = jnp.diagonal(log_c, axis1=-2, axis2=-1)
        powers = jnp.arange(n - 1, -1, -1, dtype=log_c.dtype)
        return _corr_cholesky_log_det(x, log_c, rows, cols) + jnp.sum(powers * log_diagonal, axis=-1)


class CholeskyCov(Transform):
    """Lower-triangular matrices with a positive diagonal (Cholesky factors of covariances).

    The ``n (n + 1) / 2`` reals fill the lower triangle row by row; diagonal
    entries are exponentiated. The log Jacobian (with respect to the lower
    triangle, diagonal included) is the sum of the unconstrained diagonal
    entries.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import CholeskyCov
    >>> CholeskyCov().forward(jnp.array([0.0, 2.0, 0.0])).tolist()
    [[1.0, 0.0], [2.0, 1.0]]
    """

    name = "cholesky_cov"
    event_dim = 2
    unconstrained_event_dim = 1

    def forward(self, x):
        x = jnp.asarray(x, dtype=jnp.result_type(x, float))
        n = _matrix_size(x.shape[-1], 1, self)
        rows, cols = np.tril_indices(n)
        return _fill(jnp.where(rows == cols, jnp.exp(x), x), rows, cols, n)

    def inverse(self, y):
        y = jnp.asarray(y)
        rows, cols = np.tril_indices(_square_shape(y.shape, self))
        packed = y[..., rows, cols]
        return jnp.where(rows == cols, jnp.log(jnp.where(rows == cols, packed, 1.0)), packed)

    def log_abs_det_jacobian(self, x, y):
        x = jnp.asarray(x)
        n = _matrix_size(x.shape[-1], 1, self)
        rows, cols = np.tril_indices(n)
        return jnp.sum(jnp.where(rows == cols, x, 0.0), axis=-1)

    def unconstrained_shape(self, shape: tuple) -> tuple:
        n = _square_shape(shape, self)
        return tuple(shape[:-2]) + (n * (n + 1) // 2,)

    def constrained_shape(self, shape: tuple) -> tuple:
        n = _matrix_size(_event_axis_size(shape, self), 1, self)
        return tuple(shape[:-1]) + (n, n)


class CovMatrix(CholeskyCov):
    """Symmetric positive-definite matrices ``S = L L^T`` with ``L`` from :class:`CholeskyCov`.

    The log Jacobian is taken with respect to the lower triangle of ``S``
    (diagonal included): the one of ``CholeskyCov`` plus
    ``n log 2 + sum_i (n - i) log L_ii`` (0-based ``i``).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import CovMatrix
    >>> t = CovMatrix()
    >>> S = t.forward(jnp.array([0.0, 2.0, 0.0]))
    >>> S.tolist()
    [[1.0, 2.0], [2.0, 5.0]]
    >>> t.inverse(S).round(6).tolist()
    [0.0, 2.0, 0.0]
    """

    name = "cov_matrix"

    def forward(self, x):
        chol = super().forward(x)
        return chol @ jnp.swapaxes(chol, -1, -2)

    def inverse(self, y):
        return super().inverse(jnp.linalg.cholesky(y))

    def log_abs_det_jacobian(self, x, y):
        x = jnp.asarray(x)
        n = _matrix_size(x.shape[-1], 1, self)
        rows, cols = np.tril_indices(n)
        powers = np.where(rows == cols, n - rows + 1, 0)
        return n * jnp.log(2.0) + jnp.sum(powers * x, axis=-1)
