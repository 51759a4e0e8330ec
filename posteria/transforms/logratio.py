"""The simplex transform: isometric log-ratio coordinates, as current Stan uses.

A vector ``x`` of length ``K - 1`` is mapped to a zero-sum vector ``z`` of
length ``K`` by an orthonormal (Helmert) basis of the zero-sum plane, and then
``y = softmax(z)``. Compared with stick-breaking the map treats all ``K``
components alike (no component is "last"), ``x = 0`` is the centre of the
simplex, and the log Jacobian ``sum_k log y_k + log(K) / 2`` is smooth and
cheap: a ``Dirichlet(alpha)`` becomes ``prod_k y_k ** alpha_k`` in ``x``,
log-concave with exponential tails, which NUTS handles well.
PyMC's ``simplex`` (sum-to-one by dropping the last coordinate) is the same
up to this rotation of the free coordinates.

References
----------
Egozcue, J. J., Pawlowsky-Glahn, V., Mateu-Figueras, G., Barcelo-Vidal, C.
(2003). Isometric logratio transformations for compositional data analysis.
Mathematical Geology 35(3), 279-300. Stan Math ``simplex_constrain`` (inverse ILR).

Examples
--------
>>> import jax.numpy as jnp
>>> from posteria.transforms import simplex
>>> simplex.forward(jnp.zeros(3)).round(6).tolist()
[0.25, 0.25, 0.25, 0.25]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from posteria.transforms.bijectors import Transform, _event_axis_size


def _sum_to_zero(x):
    """Isometric map R^(K-1) -> {z in R^K : sum z = 0} (Helmert basis), along the last axis.

    Basis vector ``j`` (1-based) is ``(1, ..., 1, -j, 0, ..., 0) / sqrt(j (j + 1))``
    with ``j`` ones, so with ``w_j = x_j / sqrt(j (j + 1))``,
    ``z_i = sum_{j >= i} w_j - (i - 1) w_{i - 1}``.
    """
    num_free = x.shape[-1]
    j = jnp.arange(1, num_free + 1, dtype=x.dtype)
    w = x / jnp.sqrt(j * (j + 1))
    tail_sums = jnp.flip(jnp.cumsum(jnp.flip(w, axis=-1), axis=-1), axis=-1)
    zeros = jnp.zeros(x.shape[:-1] + (1,), dtype=x.dtype)
    return jnp.concatenate([tail_sums, zeros], axis=-1) - jnp.concatenate([zeros, j * w], axis=-1)


def _sum_to_zero_inverse(z):
    """Coordinates of ``z`` in the Helmert basis (constants along the last axis are ignored)."""
    num_free = z.shape[-1] - 1
    j = jnp.arange(1, num_free + 1, dtype=z.dtype)
    head_sums = jnp.cumsum(z, axis=-1)[..., :num_free]
    return (head_sums - j * z[..., 1:]) / jnp.sqrt(j * (j + 1))


class SimplexTransform(Transform):
    """Vectors of ``K`` non-negative entries summing to one, from ``K - 1`` reals.

    ``forward(x) = softmax(V x)`` with ``V`` an orthonormal basis of the
    zero-sum plane; ``log_abs_det_jacobian`` is taken with respect to the
    first ``K - 1`` entries of ``y`` (the last is ``1 - sum`` of the others):
    ``sum_k log y_k + log(K) / 2``, computed with ``log_softmax`` so it stays
    finite when entries underflow.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import simplex
    >>> y = simplex.forward(jnp.array([0.3, -1.2]))
    >>> round(float(y.sum()), 6), simplex.inverse(y).round(6).tolist()
    (1.0, [0.3, -1.2])
    >>> simplex.unconstrained_shape((10, 4))
    (10, 3)
    """

    name = "simplex"
    event_dim = 1
    unconstrained_event_dim = 1

    def forward(self, x):
        return jax.nn.softmax(_sum_to_zero(jnp.asarray(x, dtype=jnp.result_type(x, float))), axis=-1)

    def inverse(self, y):
        return _sum_to_zero_inverse(jnp.log(y))

    def log_abs_det_jacobian(self, x, y):
        z = _sum_to_zero(jnp.asarray(x, dtype=jnp.result_type(x, float)))
        num_components = z.shape[-1]
        return jnp.sum(jax.nn.log_softmax(z, axis=-1), axis=-1) + 0.5 * jnp.log(num_components)

    def unconstrained_shape(self, shape: tuple) -> tuple:
        num_components = _event_axis_size(shape, self)
        if num_components < 1:
            raise ValueError(f"a simplex needs at least one component, got shape {tuple(shape)}")
        return tuple(shape[:-1]) + (num_components - 1,)

    def constrained_shape(self, shape: tuple) -> tuple:
        return tuple(shape[:-1]) + (_event_axis_size(shape, self) + 1,)


simplex = SimplexTransform()
