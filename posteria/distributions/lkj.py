"""LKJ distributions: correlation matrices, and Cholesky factors of covariances.

``LKJCorr(n, eta)`` has density ``det(C) ** (eta - 1) / c_n(eta)`` over the
``n (n - 1) / 2`` free entries of a correlation matrix ``C``.
``LKJCholeskyCov(n, eta, sd_dist)`` is the covariance ``diag(s) C diag(s)``
with standard deviations ``s ~ sd_dist`` and ``C ~ LKJCorr(n, eta)``; its
value is the covariance's lower Cholesky factor ``L`` and its log density is
taken over the ``n (n + 1) / 2`` entries of ``L``'s lower triangle, the
coordinates the ``CholeskyCov`` transform uses.

Derivation (0-based row ``i``): write ``L = diag(s) W`` with ``s_i`` the norm
of row ``i`` and ``W`` the Cholesky factor of ``C`` (unit rows). Row ``i`` of
``L`` is ``s_i`` times a unit vector on a half-sphere in ``R^(i+1)`` whose
first ``i`` entries are ``W``'s free ones, so ``dL_i = s_i^i / W_ii ds_i
dW_i``. ``C = W W^T`` has ``dC = prod_i W_ii^(n-1-i) dW`` (see
:class:`posteria.transforms.CorrMatrix`) and ``det C = prod_i W_ii^2``, hence::

    log p(L) = sum_i log p_sd(s_i) - log c_n(eta)
               + sum_i (2 (eta - 1) + n - 1 - i) log W_ii       # LKJ density of W
               - sum_i (i log s_i - log W_ii)                     # Jacobian (s, W) -> L

Draws use the C-vine: the partial correlations in column ``j`` of ``W``
are independent, ``(z + 1) / 2 ~ Beta(b_j, b_j)`` with
``b_j = eta + (n - 2 - j) / 2``.

References
----------
Lewandowski, D., Kurowicka, D., Joe, H. (2009). Generating random correlation
matrices based on vines and extended onion method. Journal of Multivariate
Analysis 100(9), 1989-2001 (normalising constant: section 3.2).

Examples
--------
>>> import numpy as np, posteria as pa
>>> from posteria.distributions.lkj import LKJCorr
>>> round(float(np.exp(-pa.logp(LKJCorr.dist(n=3, eta=1.0), np.eye(3)))), 6)  # volume of 3x3 correlations
4.934802
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from posteria.distributions import constraints
from posteria.distributions.base import BoundDistribution, fit_explicit_shape
from posteria.distributions.discrete import _ArrayParams
from posteria.distributions.special import betaln
from posteria.errors import ModelError
from posteria.model.core import Deterministic
from posteria.model.graph import Constant, Variable, apply
from posteria.model.variables import DistributionNode, RandomVariable

_LOG_2 = float(np.log(2.0))


def _log_normaliser(n: int, eta):
    """The log normalising constant of LKJ(``eta``) over ``n x n`` correlation matrices.

    ``log c_n = sum_{k=1}^{n-1} (n - k) [(2 b_k - 1) log 2 + log B(b_k, b_k)]``
    with ``b_k = eta + (n - 1 - k) / 2`` (LKJ 2009, section 3.2).
    """
    k = jnp.arange(1, n)
    b = jnp.expand_dims(eta, -1) + (n - 1 - k) / 2.0
    return jnp.sum((n - k) * ((2.0 * b - 1.0) * _LOG_2 + betaln(b, b)), axis=-1)


def _column_betas(n: int, eta):
    """Beta parameter ``eta + (n - 2 - j) / 2`` of column ``j``'s partial correlations (used for ``j < n - 1``)."""
    columns = jnp.arange(n)
    return jnp.where(columns < n - 1, jnp.expand_dims(eta, -1) + (n - 2 - columns) / 2.0, 1.0)


def _random_corr_cholesky(key, batch: tuple, n: int, eta):
    """Cholesky factors ``W`` of LKJ(``eta``) correlation matrices, of shape ``batch + (n, n)``."""
    rows, cols = np.tril_indices(n, -1)
    b = jnp.broadcast_to(_column_betas(n, eta), tuple(batch) + (n,))[..., cols]
    z = 2.0 * jax.random.beta(key, b, b) - 1.0
    partial = jnp.zeros(tuple(batch) + (n, n), dtype=z.dtype).at[..., rows, cols].set(z)
    remainder = jnp.exp(_exclusive_cumsum(jnp.log1p(-(partial**2))))  # prod_{k<j} (1 - z_k^2)
    return (partial + jnp.eye(n)) * jnp.sqrt(remainder)


def _exclusive_cumsum(x):
    """``sum_{k<j} x_k`` along the last axis."""
    return jnp.concatenate([jnp.zeros_like(x[..., :1]), jnp.cumsum(x, axis=-1)[..., :-1]], axis=-1)


def _stds(chol):
    return jnp.sqrt(jnp.sum(chol**2, axis=-1))


def _corr(chol):
    unit_rows = chol / _stds(chol)[..., None]
    return unit_rows @ jnp.swapaxes(unit_rows, -1, -2)


def _per_row(value, n: int):
    """A per-row quantity (scalar or ``(..., n)``) broadcast to ``(..., n)``."""
    value = jnp.asarray(value)
    return jnp.broadcast_to(value, jnp.broadcast_shapes(value.shape, (n,)))


class _FixedSize(_ArrayParams):
    """Families whose constant parameter ``n`` sets the matrix size ``(n, n)``.

    ``logp``, ``random`` and the moments receive ``n`` as a Python ``int``.
    """

    event_ndim = 2

    @classmethod
    def _batch_shape(cls, name: str, n: int, params: dict[str, Any]) -> tuple[int, ...]:
        return tuple(params["eta"].shape)

    @classmethod
    def _resolve_shape(cls, name, params, explicit):
        node = params["n"]
        if not isinstance(node, Constant) or np.ndim(node.value) != 0:
            raise ModelError(f"n of {name} must be a constant integer: it sets the size of the matrix")
        n = int(node.value)
        batch = cls._batch_shape(name, n, params)
        return fit_explicit_shape(name, batch + (n, n), explicit, 2, {"n": n})

    @classmethod
    def bind(cls, params, shape):
        return super().bind({**params, "n": shape[-1]}, shape)


class LKJCorr(_FixedSize):
    """LKJ distribution over ``n x n`` correlation matrices, density proportional to ``det(C) ** (eta - 1)``.

    The value is the full matrix (as PyMC 5 with ``return_matrix=True``);
    ``eta = 1`` is uniform, larger ``eta`` favours weaker correlations. Each
    correlation ``r`` has ``(r + 1) / 2 ~ Beta(eta - 1 + n / 2, eta - 1 + n / 2)``.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> from posteria.distributions.lkj import LKJCorr
    >>> with pa.Model() as model:
    ...     corr = LKJCorr("corr", n=3, eta=2.0)
    >>> corr.shape, model.compile_logp().slots[0].value_name
    ((3, 3), 'corr_corr_matrix__')
    """

    params = ("n", "eta")
    param_constraints = {"n": constraints.positive_integer, "eta": constraints.positive}
    support = constraints.corr_matrix

    @classmethod
    def canonical_params(cls, name, *args, return_matrix: bool = True, **kwargs):
        if not return_matrix:
            raise TypeError(f"LKJCorr {name!r}: posteria's LKJCorr is the full matrix (return_matrix=True)")
        return super().canonical_params(name, *args, **kwargs)

    @staticmethod
    def logp(value, n, eta):
        value = jnp.asarray(value, dtype=jnp.result_type(float))
        chol = jnp.linalg.cholesky(value)
        ok = (
            jnp.all(jnp.isfinite(chol), axis=(-2, -1))
            & jnp.all(jnp.abs(jnp.diagonal(value, axis1=-2, axis2=-1) - 1.0) < 1e-6, axis=-1)
            & jnp.all(jnp.abs(value - jnp.swapaxes(value, -1, -2)) < 1e-6, axis=(-2, -1))
        )
        safe = jnp.where(ok[..., None, None], chol, jnp.eye(n))
        log_det = 2.0 * jnp.sum(jnp.log(jnp.diagonal(safe, axis1=-2, axis2=-1)), axis=-1)
        return jnp.where(ok, (eta - 1.0) * log_det - _log_normaliser(n, eta), -jnp.inf)

    @staticmethod
    def random(key, shape, n, eta):
        chol = _random_corr_cholesky(key, shape[:-2], n, eta)
        return chol @ jnp.swapaxes(chol, -1, -2)

    @staticmethod
    def mean(n, eta):
        return jnp.broadcast_to(jnp.eye(n), jnp.shape(eta) + (n, n))

    @staticmethod
    def variance(n, eta):
        return (1.0 - jnp.eye(n)) / (2.0 * jnp.asarray(eta)[..., None, None] + n - 1.0)


class LKJCholeskyCov(_FixedSize):
    """Cholesky factor of a covariance with LKJ(``eta``) correlations and standard deviations from ``sd_dist``.

    As in PyMC, ``chol, corr, stds = LKJCholeskyCov("chol", n=3, eta=2.0,
    sd_dist=pa.HalfNormal.dist(1.0))`` returns the ``(n, n)`` lower Cholesky
    factor (the random variable itself, sampled through the ``CholeskyCov``
    transform) with the correlation matrix and standard deviations, recorded
    as Deterministics ``chol_corr`` and ``chol_stds`` (``store_in_trace=False``
    leaves them unrecorded). With ``compute_corr=False`` it returns the packed
    lower triangle (row-major, as PyMC), an expression of the variable; use
    :func:`expand_packed_triangular` to unpack it. The posterior holds the
    matrix under ``name`` (PyMC holds the packed vector).

    ``sd_dist`` is an unnamed distribution (``.dist()``) of shape ``()`` or
    ``(..., n)``. Positional order as PyMC: ``(name, eta, n, sd_dist)``, and
    ``.dist(n, eta, sd_dist)``.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> from posteria.distributions.lkj import LKJCholeskyCov
    >>> with pa.Model() as model:
    ...     chol, corr, stds = LKJCholeskyCov("chol", n=3, eta=2.0, sd_dist=pa.HalfNormal.dist(1.0))
    >>> chol.shape, corr.shape, stds.shape, [d.name for d in model.deterministics]
    ((3, 3), (3, 3), (3,), ['chol_corr', 'chol_stds'])
    """

    params = ("n", "eta", "sd_dist")
    param_constraints = {"n": constraints.positive_integer, "eta": constraints.positive}
    support = constraints.cholesky_cov

    def __new__(
        cls,
        name: str,
        eta: Any = None,
        n: Any = None,
        sd_dist: DistributionNode | None = None,
        *,
        compute_corr: bool = True,
        store_in_trace: bool = True,
        **kwargs: Any,
    ):
        given = {key: value for key, value in (("eta", eta), ("n", n), ("sd_dist", sd_dist)) if value is not None}
        chol = super().__new__(cls, name, **given, **kwargs)
        if not compute_corr:
            rows, cols = np.tril_indices(chol.shape[-1])
            return apply(lambda x: x[..., rows, cols], chol)
        corr, stds = apply(_corr, chol), apply(_stds, chol)
        if store_in_trace:
            corr = Deterministic(f"{name}_corr", corr, model=kwargs.get("model"))
            stds = Deterministic(f"{name}_stds", stds, model=kwargs.get("model"))
        return chol, corr, stds

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = super().canonical_params(name, *args, **kwargs)
        sd_dist = given["sd_dist"]
        if not isinstance(sd_dist, DistributionNode):
            kind = "a model variable" if isinstance(sd_dist, RandomVariable) else type(sd_dist).__name__
            raise TypeError(
                f"sd_dist of {name} must be an unnamed distribution such as pa.HalfNormal.dist(1.0), got {kind}"
            )
        if sd_dist.family.is_discrete:
            raise TypeError(f"sd_dist of {name} must be a continuous distribution on the positive reals")
        return given

    @classmethod
    def _batch_shape(cls, name, n, params):
        sd_shape = tuple(params["sd_dist"].shape)
        if sd_shape and sd_shape[-1] != n:
            raise ModelError(f"sd_dist of {name} must have shape () or (..., {n}), got {sd_shape}")
        try:
            return tuple(jnp.broadcast_shapes(tuple(params["eta"].shape), sd_shape[:-1]))
        except ValueError:
            raise ModelError(f"shape mismatch in {name}: eta {params['eta'].shape} and sd_dist {sd_shape}") from None

    @staticmethod
    def logp(value, n, eta, sd_dist: BoundDistribution):
        value = jnp.asarray(value, dtype=jnp.result_type(float))
        ok = constraints.cholesky_cov.check(value)
        chol = jnp.where(ok[..., None, None], value, jnp.eye(n))
        stds = _stds(chol)
        log_w_diagonal = jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)) - jnp.log(stds)
        rows = jnp.arange(n)
        eta = jnp.asarray(eta)[..., None]
        log_lkj = jnp.sum((2.0 * (eta - 1.0) + n - 1 - rows) * log_w_diagonal, axis=-1)
        log_lkj = log_lkj - _log_normaliser(n, eta[..., 0])
        log_jacobian = jnp.sum(rows * jnp.log(stds) - log_w_diagonal, axis=-1)
        log_sd = sd_dist.logp(stds)
        if sd_dist.family.event_ndim == 0:
            log_sd = jnp.sum(log_sd, axis=-1)
        return jnp.where(ok, log_sd + log_lkj - log_jacobian, -jnp.inf)

    @staticmethod
    def random(key, shape, n, eta, sd_dist: BoundDistribution):
        sd_key, corr_key = jax.random.split(key)
        stds = sd_dist.random(sd_key, tuple(shape[:-1]))
        return stds[..., None] * _random_corr_cholesky(corr_key, shape[:-2], n, eta)

    @staticmethod
    def mean(n, eta, sd_dist: BoundDistribution):
        b = _column_betas(n, eta)
        log_sqrt_remainder = _LOG_2 + betaln(b + 0.5, b + 0.5) - betaln(b, b)  # log E sqrt(1 - z_j^2)
        w_diagonal = jnp.exp(_exclusive_cumsum(log_sqrt_remainder))  # E W_ii = prod_{j<i} E sqrt(1 - z_j^2)
        return (_per_row(sd_dist.mean(), n) * w_diagonal)[..., None] * jnp.eye(n)

    @staticmethod
    def variance(n, eta, sd_dist: BoundDistribution):
        b = _column_betas(n, eta)
        prefix = jnp.exp(_exclusive_cumsum(jnp.log(2.0 * b / (2.0 * b + 1.0))))[..., None, :]  # prod_{k<j} E(1 - z_k^2)
        i, j = np.indices((n, n))
        w_square = jnp.where(j < i, prefix / (2.0 * b[..., None, :] + 1.0), jnp.where(i == j, prefix, 0.0))
        sd_mean, sd_variance = _per_row(sd_dist.mean(), n), _per_row(sd_dist.variance(), n)
        mean = LKJCholeskyCov.mean(n, eta, sd_dist)
        return (sd_variance + sd_mean**2)[..., None] * w_square - mean**2

    @classmethod
    def support_point(cls, n, eta, sd_dist: BoundDistribution):
        return _per_row(sd_dist.support_point(), n)[..., None] * jnp.eye(n)


def expand_packed_triangular(n: int, packed: Any, lower: bool = True) -> Any:
    """The ``(..., n, n)`` triangular matrix from its packed entries (row-major, as PyMC).

    Parameters
    ----------
    n : int
        Matrix size.
    packed : array or model expression
        ``n (n + 1) / 2`` entries on the last axis.
    lower : bool
        Lower (default) or upper triangle.

    Returns
    -------
    array or model expression

    Examples
    --------
    >>> import numpy as np
    >>> from posteria.distributions.lkj import expand_packed_triangular
    >>> expand_packed_triangular(2, np.array([1.0, 2.0, 3.0])).tolist()
    [[1.0, 0.0], [2.0, 3.0]]
    """
    rows, cols = np.tril_indices(n) if lower else np.triu_indices(n)
    shape = tuple(packed.shape) if isinstance(packed, Variable) else np.shape(packed)
    if shape[-1:] != (rows.size,):
        raise ValueError(
            f"expand_packed_triangular: an {n} x {n} matrix needs {rows.size} packed entries, got shape {shape}"
        )

    def expand(x):
        x = jnp.asarray(x)
        return jnp.zeros(x.shape[:-1] + (n, n), dtype=x.dtype).at[..., rows, cols].set(x)

    return apply(expand, packed)
