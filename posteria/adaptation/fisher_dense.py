"""Dense and low-rank metrics that minimise the Fisher divergence, from a buffer of draws and gradients.

The diagonal Fisher metric (:mod:`posteria.adaptation.fisher`) needs only
running moments; a dense or low-rank one needs the draws and gradients
themselves. They are kept in a fixed-size ring buffer (:class:`DrawGradBuffer`,
static shapes for ``lax.scan``) whose live part is the foreground window.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from posteria.mcmc.metrics import LowRankInverseMass, dense_inverse_mass_matrix

__all__ = [
    "MAX_RANK", "VARIANCE_BOUNDS", "DrawGradBuffer", "buffer_add", "buffer_init", "buffer_switch",
    "fisher_dense_metric", "fisher_low_rank_metric", "low_rank_size",
]

VARIANCE_BOUNDS = (1e-10, 1e10)
"""Clip of every diagonal Fisher estimate ``sqrt(Var(x_i) / Var(g_i))`` (the initial one included)."""

MAX_RANK = 64
"""Most directions a low-rank metric corrects: a leapfrog step then costs at most ``O(64 d)`` more."""

_EMPTY = -(2**30)


class DrawGradBuffer(NamedTuple):
    """Warmup draws and their log-density gradients in a ring buffer.

    Attributes
    ----------
    positions, gradients
        Shape ``(capacity, d)``.
    steps
        Warmup step of each slot's draw (``-1`` for the initial point, a large
        negative number for an empty slot), shape ``(capacity,)``.
    next_slot
        Slot the next draw is written to.
    foreground_start, background_start
        First warmup step of the foreground and of the background window: the
        foreground is every buffered draw with ``steps >= foreground_start``.
    """

    positions: Array
    gradients: Array
    steps: Array
    next_slot: Array
    foreground_start: Array
    background_start: Array


def buffer_init(position: Array, gradient: Array, capacity: int) -> DrawGradBuffer:
    """A buffer of ``capacity`` slots holding only the initial point (step ``-1``).

    Parameters
    ----------
    position, gradient
        The initial point and its log-density gradient, shape ``(d,)``.
    capacity
        Number of slots: at least the largest foreground window plus one.

    Returns
    -------
    DrawGradBuffer
        Both windows start at the initial point.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> buffer = buffer_init(jnp.zeros(2), jnp.ones(2), capacity=4)
    >>> buffer.positions.shape, buffer.steps.tolist()
    ((4, 2), [-1, -1073741824, -1073741824, -1073741824])
    """
    positions = jnp.zeros((capacity,) + position.shape, position.dtype).at[0].set(position)
    gradients = jnp.zeros((capacity,) + gradient.shape, gradient.dtype).at[0].set(gradient)
    steps = jnp.full((capacity,), _EMPTY, dtype=jnp.int32).at[0].set(-1)
    start = jnp.array(-1, dtype=jnp.int32)
    return DrawGradBuffer(positions, gradients, steps, jnp.array(1 % capacity, dtype=jnp.int32), start, start)


def buffer_add(buffer: DrawGradBuffer, step: Array, position: Array, gradient: Array, is_good: Array) -> DrawGradBuffer:
    """Write the draw of warmup step ``step`` over the oldest slot, if ``is_good``.

    Parameters
    ----------
    buffer
        The buffer.
    step
        Warmup step index of the draw (a traced int).
    position, gradient
        The draw and its log-density gradient.
    is_good
        Whether to keep the draw (a traced bool); ``False`` leaves the buffer unchanged.

    Returns
    -------
    DrawGradBuffer

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> buffer = buffer_init(jnp.zeros(1), jnp.zeros(1), capacity=2)
    >>> buffer = buffer_add(buffer, 0, jnp.ones(1), -jnp.ones(1), True)
    >>> buffer = buffer_add(buffer, 1, 2 * jnp.ones(1), -2 * jnp.ones(1), True)
    >>> buffer.steps.tolist(), buffer.positions[:, 0].tolist()
    ([1, 0], [2.0, 1.0])
    """
    slot = buffer.next_slot
    capacity = buffer.steps.shape[0]
    return buffer._replace(
        positions=buffer.positions.at[slot].set(jnp.where(is_good, position, buffer.positions[slot])),
        gradients=buffer.gradients.at[slot].set(jnp.where(is_good, gradient, buffer.gradients[slot])),
        steps=buffer.steps.at[slot].set(jnp.where(is_good, jnp.asarray(step, jnp.int32), buffer.steps[slot])),
        next_slot=jnp.where(is_good, (slot + 1) % capacity, slot).astype(jnp.int32),
    )


def buffer_switch(buffer: DrawGradBuffer, step: Array, is_switch: Array | bool = True) -> DrawGradBuffer:
    """If ``is_switch``, the background window becomes the foreground and a new background starts after ``step``.

    Only the two window starts change (no draw is moved), so the flag is
    applied with ``jnp.where`` and the buffer is never copied.

    Parameters
    ----------
    buffer
        The buffer.
    step
        Warmup step index of the draw just added (a traced int).
    is_switch
        Whether to switch (a traced bool); ``False`` returns the buffer unchanged.

    Returns
    -------
    DrawGradBuffer

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> buffer = buffer_switch(buffer_init(jnp.zeros(1), jnp.zeros(1), capacity=2), 9)
    >>> int(buffer.foreground_start), int(buffer.background_start)
    (-1, 10)
    >>> int(buffer_switch(buffer, 20, is_switch=False).background_start)
    10
    """
    return buffer._replace(
        foreground_start=jnp.where(is_switch, buffer.background_start, buffer.foreground_start),
        background_start=jnp.where(is_switch, jnp.asarray(step, jnp.int32) + 1, buffer.background_start),
    )


def _spd_geometric_mean(draw_covariance: Array, gradient_covariance: Array) -> Array:
    """The SPD matrix ``A`` with ``A @ gradient_covariance @ A = draw_covariance``.

    With ``gradient_covariance = L L^T``, ``A = L^-T (L^T C_x L)^(1/2) L^-1``:
    one Cholesky factor and one eigendecomposition (NaN if ``gradient_covariance``
    is singular; the caller regularises it).
    """
    lower = jnp.linalg.cholesky(gradient_covariance)
    middle = lower.T @ draw_covariance @ lower
    values, vectors = jnp.linalg.eigh(0.5 * (middle + middle.T))
    root = (vectors * jnp.sqrt(jnp.maximum(values, 0.0))) @ vectors.T
    left = jax.scipy.linalg.solve_triangular(lower, root, lower=True, trans=1)  # L^-T root
    return jax.scipy.linalg.solve_triangular(lower, left.T, lower=True, trans=1)  # L^-T root L^-1 (symmetric)


def _rescaled_fisher_metric(positions, gradients, weights, regularization, variance_bounds):
    """The diagonal scale ``s``, the Fisher metric in the rescaled space, its basis (``None``: the identity), the weight."""
    positions, gradients = jnp.asarray(positions), jnp.asarray(gradients)
    num_draws, num_dimensions = positions.shape
    weights = jnp.asarray(weights, positions.dtype)
    count = jnp.sum(weights)
    draws = (positions - weights @ positions / count) * weights[:, None]
    grads = (gradients - weights @ gradients / count) * weights[:, None]
    diagonal = jnp.sqrt(jnp.sum(draws**2, axis=0) / jnp.sum(grads**2, axis=0))
    scale = jnp.sqrt(jnp.clip(diagonal, *variance_bounds))
    draws = draws / (scale * jnp.sqrt(count))
    grads = grads * (scale / jnp.sqrt(count))
    basis = None
    if num_dimensions > 2 * num_draws:  # static: solve in the span of the draws and gradients
        basis, _ = jnp.linalg.qr(jnp.concatenate([draws.T, grads.T], axis=1))
        draws, grads = draws @ basis, grads @ basis
    identity = jnp.eye(draws.shape[1], dtype=draws.dtype)
    metric = _spd_geometric_mean(
        draws.T @ draws + regularization * identity, grads.T @ grads + regularization * identity
    )
    return scale, 0.5 * (metric + metric.T), basis, count


def low_rank_size(num_dimensions: int, num_draws: int, max_rank: int | None) -> int:
    """Columns of the :func:`fisher_low_rank_metric` of ``num_draws`` draws in ``num_dimensions``.

    Examples
    --------
    >>> low_rank_size(500, 100, 64), low_rank_size(10, 100, 64), low_rank_size(500, 100, None)
    (64, 10, 200)
    """
    span = num_dimensions if num_dimensions <= 2 * num_draws else 2 * num_draws
    return span if max_rank is None else min(span, max_rank)


def fisher_low_rank_metric(
    positions: Array,
    gradients: Array,
    weights: Array,
    *,
    eigenvalue_cutoff: float = 2.0,
    max_rank: int | None = MAX_RANK,
    regularization: float = 1e-3,
    variance_bounds: tuple[float, float] = VARIANCE_BOUNDS,
) -> LowRankInverseMass:
    """The Fisher metric as the diagonal estimate plus a low-rank correction, kept factored.

    First the diagonal estimate ``s_i^2 = sqrt(Var(x_i) / Var(g_i))`` rescales
    every coordinate; in the rescaled space the draw covariance ``C_x`` and
    the gradient covariance ``C_g`` (each plus ``regularization * I``) give
    the matrix ``A`` with ``A C_g A = C_x`` (their SPD geometric mean: for a
    Gaussian, its covariance). The eigenvectors of ``A`` whose eigenvalues lie
    outside ``[1 / eigenvalue_cutoff, eigenvalue_cutoff]``, at most
    ``max_rank`` of them (the farthest from 1 on a log scale), correct the
    diagonal metric: ``S (I + U (Lambda - I) U^T) S`` with ``S = diag(s)``.
    When ``d`` exceeds twice the number of draws the eigenproblem is solved
    in the span of the draws and gradients (``2n`` dimensions), so the cost
    is ``O(d n^2)`` there; a kernel then pays ``O(d k)`` per leapfrog step.

    Parameters
    ----------
    positions, gradients
        Draws and their log-density gradients, shape ``(n, d)``.
    weights
        0/1 weight of each row, shape ``(n,)``: rows of weight 0 are ignored.
    eigenvalue_cutoff
        Eigenvalues of ``A`` within this factor of 1 are left at 1.
    max_rank
        Most correction directions kept (``None``: all; see :func:`low_rank_size`).
    regularization
        Added to the diagonal of both rescaled covariances; directions no draw
        explores get eigenvalue 1 (the diagonal metric).
    variance_bounds
        Clip of the diagonal estimate ``s_i^2``.

    Returns
    -------
    LowRankInverseMass
        NaN when fewer than two rows have weight.

    References
    ----------
    Seyboldt, A., Carlson, E. L. and Carpenter, B. (2026). Preconditioning
    Hamiltonian Monte Carlo by minimizing Fisher divergence. arXiv:2603.18845;
    nutpie's ``low_rank_modified_mass_matrix``.

    Examples
    --------
    Exact draws and gradients of a correlated Gaussian: both directions of the
    rescaled metric need correcting, and together they give back the covariance.

    >>> import jax, jax.numpy as jnp
    >>> covariance = jnp.array([[4.0, 1.9], [1.9, 1.0]])
    >>> x = jax.random.normal(jax.random.key(0), (50, 2)) @ jnp.linalg.cholesky(covariance).T
    >>> g = -x @ jnp.linalg.inv(covariance)
    >>> metric = fisher_low_rank_metric(x, g, jnp.ones(50), regularization=0.0)
    >>> metric.basis.shape, jnp.round(dense_inverse_mass_matrix(metric), 3)
    ((2, 2), Array([[4. , 1.9],
           [1.9, 1. ]], dtype=float64))
    >>> fisher_low_rank_metric(x, g, jnp.ones(50), max_rank=1).basis.shape
    (2, 1)
    """
    scale, metric, basis, count = _rescaled_fisher_metric(positions, gradients, weights, regularization, variance_bounds)
    values, vectors = jnp.linalg.eigh(metric)
    num_columns = low_rank_size(scale.shape[0], jnp.shape(positions)[0], max_rank)
    is_kept = (values > eigenvalue_cutoff) | (values < 1.0 / eigenvalue_cutoff)
    order = jnp.argsort(-jnp.where(is_kept, jnp.abs(jnp.log(values)), -1.0))[:num_columns]
    vectors = vectors[:, order] if basis is None else basis @ vectors[:, order]
    values = jnp.where(is_kept[order], values[order], 1.0)
    scale = jnp.where(count >= 2, scale, jnp.nan)
    return LowRankInverseMass(scale, vectors, values)


def fisher_dense_metric(
    positions: Array,
    gradients: Array,
    weights: Array,
    *,
    regularization: float = 1e-3,
    eigenvalue_cutoff: float = 1.0,
    variance_bounds: tuple[float, float] = VARIANCE_BOUNDS,
) -> Array:
    """Dense inverse mass matrix minimising the sample Fisher divergence (multiplied out if low-rank).

    As :func:`fisher_low_rank_metric` with every direction kept (``max_rank=None``),
    as one ``(d, d)`` array. ``eigenvalue_cutoff=1`` keeps all eigenvalues of
    ``A`` (a dense metric; the eigendecomposition is then skipped).

    Parameters
    ----------
    positions, gradients, weights, regularization, variance_bounds
        As :func:`fisher_low_rank_metric`.
    eigenvalue_cutoff
        As :func:`fisher_low_rank_metric` (a Python float).

    Returns
    -------
    inverse_mass_matrix
        Shape ``(d, d)``, symmetric; NaN when fewer than two rows have weight.

    References
    ----------
    Seyboldt, A., Carlson, E. L. and Carpenter, B. (2026). Preconditioning
    Hamiltonian Monte Carlo by minimizing Fisher divergence. arXiv:2603.18845.

    Examples
    --------
    Exact draws and gradients of a correlated Gaussian give back its covariance:

    >>> import jax, jax.numpy as jnp
    >>> covariance = jnp.array([[4.0, 1.9], [1.9, 1.0]])
    >>> x = jax.random.normal(jax.random.key(0), (50, 2)) @ jnp.linalg.cholesky(covariance).T
    >>> g = -x @ jnp.linalg.inv(covariance)
    >>> jnp.round(fisher_dense_metric(x, g, jnp.ones(50), regularization=0.0), 3)
    Array([[4. , 1.9],
           [1.9, 1. ]], dtype=float64)
    """
    if eigenvalue_cutoff != 1.0:
        return dense_inverse_mass_matrix(fisher_low_rank_metric(
            positions, gradients, weights, eigenvalue_cutoff=eigenvalue_cutoff, max_rank=None,
            regularization=regularization, variance_bounds=variance_bounds,
        ))
    scale, metric, basis, count = _rescaled_fisher_metric(positions, gradients, weights, regularization, variance_bounds)
    correction = metric - jnp.eye(metric.shape[0], dtype=metric.dtype)
    if basis is not None:
        correction = basis @ correction @ basis.T
    inner = jnp.eye(scale.shape[0], dtype=metric.dtype) + correction
    inverse_mass_matrix = scale[:, None] * inner * scale[None, :]
    inverse_mass_matrix = 0.5 * (inverse_mass_matrix + inverse_mass_matrix.T)
    return jnp.where(count >= 2, inverse_mass_matrix, jnp.nan)
