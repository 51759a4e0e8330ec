"""Euclidean metrics: momentum distribution, sharp momentum and U-turn criterion.

A metric fixes the kinetic energy ``K(p) = p^T M^{-1} p / 2`` of Hamiltonian
Monte Carlo, where ``M^{-1}`` is the inverse mass matrix (the adapted estimate
of the posterior covariance). Everything a kernel needs from it is bundled in
:class:`Metric`, so a kernel never branches on the metric's structure.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

Array = jax.Array

__all__ = ["LowRankInverseMass", "Metric", "gaussian_euclidean", "dense_inverse_mass_matrix"]


class LowRankInverseMass(NamedTuple):
    """A diagonal inverse mass matrix with a low-rank correction, kept factored.

    ``M^{-1} = S (I + U diag(values - 1) U^T) S`` with ``S = diag(scale)`` and
    ``U = basis`` of orthonormal columns (zero columns whose value is 1 are
    allowed: they change nothing). Every operation a kernel needs costs
    ``O(d k)`` for ``k`` columns, never ``O(d^2)`` or a factorisation.

    Attributes
    ----------
    scale
        ``(d,)``, the square root of the diagonal part.
    basis
        ``(d, k)``, orthonormal directions in the rescaled space.
    values
        ``(k,)``, the positive eigenvalues of the rescaled metric along them.
    """

    scale: Array
    basis: Array
    values: Array


class Metric(NamedTuple):
    """The functions that a Euclidean metric gives to a kernel.

    Attributes
    ----------
    sample_momentum_fn
        ``(rng_key, position) -> momentum``: a draw from ``N(0, M)``, shaped
        and typed like ``position``.
    is_turning_fn
        ``(velocity_left, velocity_right, momentum_sum) -> bool``: the
        generalized no-U-turn criterion, ``True`` unless both
        ``velocity_left . momentum_sum > 0`` and
        ``velocity_right . momentum_sum > 0``. The velocities are the sharp
        momenta ``M^{-1} p`` at the two ends of a trajectory and
        ``momentum_sum`` the sum of the momenta along it; leading axes
        broadcast, so many trajectories can be checked at once.
    velocity_fn
        ``momentum -> M^{-1} p``, the sharp momentum (the derivative of the
        kinetic energy ``p^T M^{-1} p / 2``, which a kernel computes from it:
        :func:`~posteria.mcmc.integrators.energy`).
    """

    sample_momentum_fn: Callable[[Array, Array], Array]
    is_turning_fn: Callable[[Array, Array, Array], Array]
    velocity_fn: Callable[[Array], Array]


def _is_turning(velocity_left: Array, velocity_right: Array, momentum_sum: Array) -> Array:
    # Written as "not (a > 0 and b > 0)" so that a NaN counts as turning.
    persists_left = jnp.sum(velocity_left * momentum_sum, axis=-1) > 0
    persists_right = jnp.sum(velocity_right * momentum_sum, axis=-1) > 0
    return ~(persists_left & persists_right)


def gaussian_euclidean(inverse_mass_matrix: Array) -> Metric:
    """Build the Gaussian Euclidean metric of an inverse mass matrix.

    Parameters
    ----------
    inverse_mass_matrix
        A 1-D array (the diagonal of ``M^{-1}``), a 2-D symmetric positive
        definite array (a dense ``M^{-1}``: one Cholesky factorisation per
        call) or a :class:`LowRankInverseMass`.

    Returns
    -------
    Metric
        Momentum sampler ``p ~ N(0, M)``, sharp momentum and U-turn
        criterion for this metric.

    Raises
    ------
    ValueError
        If ``inverse_mass_matrix`` is neither 1-D nor square 2-D.

    References
    ----------
    Betancourt, M. (2017). A Conceptual Introduction to Hamiltonian Monte
    Carlo, sections 4.2 and A.4.2. arXiv:1701.02434.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> metric = gaussian_euclidean(jnp.array([1.0, 4.0]))
    >>> metric.velocity_fn(jnp.array([1.0, 1.0])).tolist()
    [1.0, 4.0]
    >>> bool(metric.is_turning_fn(jnp.array([1.0, 0.0]), jnp.array([-1.0, 0.0]), jnp.array([1.0, 0.0])))
    True
    >>> metric.sample_momentum_fn(jax.random.key(0), jnp.zeros(2)).shape
    (2,)
    """
    if isinstance(inverse_mass_matrix, LowRankInverseMass):
        return _low_rank_euclidean(inverse_mass_matrix)
    inverse_mass_matrix = jnp.asarray(inverse_mass_matrix)
    ndim = inverse_mass_matrix.ndim
    if ndim == 1:

        def velocity_fn(momentum: Array) -> Array:
            return inverse_mass_matrix * momentum

        def sample_momentum_fn(rng_key: Array, position: Array) -> Array:
            noise = jax.random.normal(rng_key, position.shape, position.dtype)
            return noise / jnp.sqrt(inverse_mass_matrix).astype(position.dtype)

    elif ndim == 2 and inverse_mass_matrix.shape[0] == inverse_mass_matrix.shape[1]:
        # M^{-1} = L L^T, so p = L^{-T} z has covariance (L L^T)^{-1} = M.
        cholesky = jnp.linalg.cholesky(inverse_mass_matrix)

        def velocity_fn(momentum: Array) -> Array:
            return inverse_mass_matrix @ momentum

        def sample_momentum_fn(rng_key: Array, position: Array) -> Array:
            noise = jax.random.normal(rng_key, position.shape, position.dtype)
            return solve_triangular(cholesky.T, noise, lower=False).astype(position.dtype)

    else:
        raise ValueError(
            "inverse_mass_matrix must be 1-D (diagonal) or square 2-D (dense), "
            f"got shape {inverse_mass_matrix.shape}"
        )

    return Metric(sample_momentum_fn, _is_turning, velocity_fn)


def _low_rank_euclidean(inverse_mass: LowRankInverseMass) -> Metric:
    scale, basis, values = inverse_mass

    # U^T r is written r @ U: XLA:CPU then contracts U in place; basis.T @ r
    # transposed U at every call (2.2x the time per gradient at d = 503, k = 64).
    def velocity_fn(momentum: Array) -> Array:
        rescaled = scale * momentum
        return scale * (rescaled + basis @ ((values - 1.0) * (rescaled @ basis)))

    def sample_momentum_fn(rng_key: Array, position: Array) -> Array:
        # M = S^-1 (I + U (1/values - 1) U^T) S^-1 = B B^T with B = S^-1 (I + U (values^-1/2 - 1) U^T).
        noise = jax.random.normal(rng_key, position.shape, position.dtype)
        return ((noise + basis @ ((jax.lax.rsqrt(values) - 1.0) * (noise @ basis))) / scale).astype(position.dtype)

    return Metric(sample_momentum_fn, _is_turning, velocity_fn)


def dense_inverse_mass_matrix(inverse_mass_matrix) -> Array:
    """The inverse mass matrix as an array: itself, or a :class:`LowRankInverseMass` multiplied out.

    NumPy leaves are multiplied out in NumPy: after sampling that costs no
    JAX compilation (0.3 s of a first call's wall time when it did).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> low_rank = LowRankInverseMass(jnp.array([1.0, 2.0]), jnp.array([[1.0], [0.0]]), jnp.array([4.0]))
    >>> dense_inverse_mass_matrix(low_rank).tolist()
    [[4.0, 0.0], [0.0, 4.0]]
    """
    if not isinstance(inverse_mass_matrix, LowRankInverseMass):
        return inverse_mass_matrix
    scale, basis, values = inverse_mass_matrix
    xp = np if isinstance(scale, np.ndarray) else jnp
    inner = xp.eye(scale.shape[-1], dtype=scale.dtype) + (basis * (values - 1.0)) @ basis.T
    return scale[:, None] * inner * scale[None, :]
