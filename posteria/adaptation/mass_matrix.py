"""Mass-matrix adaptation: Welford estimates of the posterior (co)variance.

The inverse mass matrix is the regularised sample variance (diagonal) or
covariance (dense) of the draws of a slow warmup window.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax.numpy as jnp
from jax import Array

__all__ = ["WelfordState", "mass_matrix_adaptation", "regularize", "sample_covariance"]


class WelfordState(NamedTuple):
    """Running moments of the draws seen so far (Welford's algorithm).

    Attributes
    ----------
    mean
        Running mean, shape ``(d,)``.
    m2
        Sum of squared deviations from the mean: shape ``(d,)`` for a
        diagonal estimate, ``(d, d)`` for a dense one.
    num_samples
        Number of draws added.
    """

    mean: Array
    m2: Array
    num_samples: Array


def mass_matrix_adaptation(
    dense: bool = False,
) -> tuple[
    Callable[[Array], WelfordState],
    Callable[[WelfordState, Array], WelfordState],
    Callable[[WelfordState], Array],
]:
    """Welford estimator of the inverse mass matrix.

    Parameters
    ----------
    dense
        Estimate the full covariance (dense metric) instead of the variances
        (diagonal metric).

    Returns
    -------
    init, update, final
        ``init(position) -> WelfordState`` starts an empty window shaped like
        ``position``; ``update(state, position)`` adds one draw;
        ``final(state)`` returns the inverse mass matrix: the sample
        (co)variance shrunk as Stan does (see :func:`regularize`). ``final``
        needs at least two draws.

    References
    ----------
    Welford, B. P. (1962). Note on a method for calculating corrected sums of
    squares and products. Technometrics 4(3); Stan's
    ``welford_var_estimator``, ``welford_covar_estimator`` and
    ``var_adaptation::learn_variance``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> init, update, final = mass_matrix_adaptation()
    >>> state = init(jnp.zeros(2))
    >>> for x in jnp.array([[0.0, 1.0], [2.0, 5.0], [4.0, 3.0]]):
    ...     state = update(state, x)
    >>> state.mean
    Array([2., 3.], dtype=float64)
    >>> sample_covariance(state)
    Array([4., 4.], dtype=float64)
    >>> final(state)  # (3 / 8) * 4 + 1e-3 * (5 / 8)
    Array([1.500625, 1.500625], dtype=float64)
    """

    def init(position: Array) -> WelfordState:
        position = jnp.asarray(position)
        num_dimensions = position.shape[0]
        shape = (num_dimensions, num_dimensions) if dense else (num_dimensions,)
        return WelfordState(
            mean=jnp.zeros_like(position),
            m2=jnp.zeros(shape, dtype=position.dtype),
            num_samples=jnp.zeros((), dtype=jnp.int32),
        )

    def update(state: WelfordState, position: Array) -> WelfordState:
        num_samples = state.num_samples + 1
        n = num_samples.astype(state.mean.dtype)
        delta = position - state.mean
        mean = state.mean + delta / n
        # (x - new_mean) (x - old_mean)^T written as a symmetric product.
        if dense:
            m2 = state.m2 + ((n - 1.0) / n) * jnp.outer(delta, delta)
        else:
            m2 = state.m2 + ((n - 1.0) / n) * delta**2
        return WelfordState(mean, m2, num_samples)

    def final(state: WelfordState) -> Array:
        return regularize(sample_covariance(state), state.num_samples)

    return init, update, final


def sample_covariance(state: WelfordState) -> Array:
    """Unbiased sample variance (1-D ``m2``) or covariance (2-D ``m2``).

    Parameters
    ----------
    state
        Welford state with at least two draws.

    Returns
    -------
    covariance
        ``m2 / (num_samples - 1)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> init, update, _ = mass_matrix_adaptation(dense=True)
    >>> state = init(jnp.zeros(2))
    >>> for x in jnp.array([[0.0, 0.0], [1.0, 2.0]]):
    ...     state = update(state, x)
    >>> sample_covariance(state)
    Array([[0.5, 1. ],
           [1. , 2. ]], dtype=float64)
    """
    return state.m2 / (state.num_samples - 1).astype(state.m2.dtype)


def regularize(covariance: Array, num_samples: Array | int) -> Array:
    """Shrink a (co)variance estimate towards ``1e-3`` times the identity, as Stan does.

    ``(n / (n + 5)) * covariance + 1e-3 * (5 / (n + 5)) * I`` with ``n`` the
    number of draws behind the estimate; a 1-D ``covariance`` is a diagonal.

    Parameters
    ----------
    covariance
        Sample variances, shape ``(d,)``, or covariance, shape ``(d, d)``.
    num_samples
        Number of draws the estimate came from.

    Returns
    -------
    inverse_mass_matrix
        The regularised estimate, same shape as ``covariance``.

    References
    ----------
    Stan's ``var_adaptation::learn_variance`` and
    ``covar_adaptation::learn_covariance``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> regularize(jnp.array([[2.0, 1.0], [1.0, 2.0]]), 5)
    Array([[1.0005, 0.5   ],
           [0.5   , 1.0005]], dtype=float64)
    """
    covariance = jnp.asarray(covariance)
    n = jnp.asarray(num_samples, dtype=covariance.dtype)
    shift = 1e-3 * (5.0 / (n + 5.0))
    shrunk = (n / (n + 5.0)) * covariance
    if covariance.ndim == 2:
        return shrunk + shift * jnp.eye(covariance.shape[0], dtype=covariance.dtype)
    return shrunk + shift
