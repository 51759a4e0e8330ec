"""Continuous univariate distributions on the real line or on a bounded interval.

Log densities are normalised (constants included) and match
``scipy.stats``; samplers use ``jax.random``. Families on the positive
reals and on the unit interval live in :mod:`posteria.distributions.positive`.

Examples
--------
>>> import posteria as pa
>>> round(float(pa.logp(pa.HalfNormal.dist(sigma=2.0), 1.0)), 6)
-1.043939
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import i0e, i1e, log_ndtr, ndtr, ndtri

from posteria.distributions import constraints
from posteria.distributions.base import Distribution, _describe, _show, _unknown_keyword
from posteria.distributions.special import gammaln
from posteria.errors import ModelError
from posteria.model.graph import Node, as_node

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
_EULER_GAMMA = 0.5772156649015329


# -- helpers shared with posteria.distributions.positive -----------------------------
def _broadcast(value: Any, *params: Any) -> jax.Array:
    """``value`` broadcast to the broadcast shape of ``params`` (``None`` entries skipped)."""
    shapes = [jnp.shape(p) for p in params if p is not None]
    return jnp.broadcast_to(value, jnp.broadcast_shapes(jnp.shape(value), *shapes))


def _log_and_inverse(scale: Any) -> tuple[Any, Any]:
    """``log(scale)`` and ``1 / scale``, the inverse computed as ``exp(-log(scale))``.

    A scale is often ``exp`` of something (a log-volatility, a heteroscedastic
    regression's linear predictor). XLA then simplifies ``log(exp(h))`` to
    ``h``, and the inverse and its derivatives to the one ``exp(-h)``. Written
    as ``1 / scale``, XLA rewrites ``1 / exp(h)`` and the ``scale**-2`` of its
    derivative into new exponentials of their own: the value and gradient of
    a Normal likelihood of 1000 points with ``sigma = exp(h)`` took 11.6 us,
    3.1 us this way; a Student-t's 17.1 and 8.2 us (the stochastic volatility
    benchmark's whole gradient: 13.5 -> 11.2 us); a Cauchy's 16.9 and 7.7 us,
    a LogNormal's 11.8 and 3.1 us. Where the scale is a softplus or a
    parameter times data, the ``exp`` costs a little more than a division did
    (Normal, ``sigma = softplus(h)``: 16 -> 20 us; ``exp(a) * x``: 5.5 -> 6.4
    us; Cauchy and LogNormal 20-30% with a softplus); a scalar or a data scale
    costs the same either way. (Laplace gains little with an exp scale and
    keeps its division.)

    Examples
    --------
    >>> log_scale, inverse = _log_and_inverse(jnp.array([0.5, 4.0]))
    >>> [round(float(v), 6) for v in log_scale], [round(float(v), 6) for v in inverse]
    ([-0.693147, 1.386294], [2.0, 0.25])
    """
    log_scale = jnp.log(scale)
    return log_scale, jnp.exp(-log_scale)


def _on_support(inside: Any, value: Any, fill: Any, density_fn: Callable) -> jax.Array:
    """``density_fn(value)`` where ``inside``, ``-inf`` elsewhere.

    The density is evaluated at ``fill`` (a point of the support) outside, so
    no NaN reaches the gradient through the unselected branch.
    """
    safe = jnp.where(inside, value, fill)
    return jnp.where(inside, density_fn(safe), -jnp.inf)


def _gather(cls: type, name: str, signature: tuple[str, ...], args: tuple, kwargs: dict) -> dict[str, Any]:
    """PyMC-style arguments (positional in ``signature`` order, then keywords); ``None`` ones dropped."""
    if len(args) > len(signature):
        raise TypeError(
            f"{cls.__name__} {name!r} takes at most {len(signature)} parameters {signature}, got {len(args)}"
        )
    given = dict(zip(signature, args))
    for key, value in kwargs.items():
        if key not in signature:
            raise TypeError(_unknown_keyword(cls, name, key, signature))
        if key in given:
            raise TypeError(f"{cls.__name__} {name!r} got parameter {key!r} twice")
        given[key] = value
    return {key: _as_param(value) for key, value in given.items() if value is not None}


def _as_param(value: Any) -> Any:
    """A model quantity as it is (lists of them stacked); anything else as a float array."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, Node) for v in value):
        return as_node(value)
    return value if isinstance(value, Node) else np.asarray(value, dtype=float)


def _one_of(cls: type, name: str, given: dict, options: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Which of the alternative parameter sets ``options`` the given arguments use."""
    names = [n for option in options for n in option]
    used = {n for n in given if n in names}
    for option in options:
        if set(option) == used:
            return option
    choices = " or ".join(" and ".join(option) for option in options if option)
    raise TypeError(f"{cls.__name__} {name!r} takes {choices}; got {', '.join(sorted(used))}")


def _checked(name: str, key: str, value: Any, constraint: constraints.Constraint) -> Any:
    """``value``, after checking it against ``constraint`` when it is a constant."""
    if not isinstance(value, Node) and not np.all(np.asarray(constraint.check(value))):
        raise ModelError(f"{key} of {name} must be {_describe(constraint)}, got {_show(value)}")
    return value


def _scale_or_precision(cls: type, name: str, given: dict, scale: str = "sigma", precision: str = "tau") -> dict:
    """Replace a precision (``tau`` or ``lam``) in ``given`` by the scale ``precision ** -0.5``."""
    if _one_of(cls, name, given, ((), (scale,), (precision,))) == (precision,):
        given[scale] = _checked(name, precision, given.pop(precision), constraints.positive) ** -0.5
    return given


def _improper_draw(family: str, support: str, proper: str) -> ModelError:
    """The error for drawing from an improper prior (there are no draws)."""
    return ModelError(
        f"{family} is an improper prior (constant density over {support}): it has no draws, so it cannot be "
        f"sampled, e.g. for the prior predictive; give the variable a proper prior (e.g. a wide {proper})"
    )


def _std_bound(bound: Any, mu: Any, sigma: Any) -> Any:
    return None if bound is None else (bound - mu) / sigma


def _log_normal_mass(a: Any, b: Any) -> Any:
    """``log(Phi(b) - Phi(a))`` for standardised bounds (``None``: infinite).

    ``log_ndtr`` is accurate in both tails, so the difference is formed in
    log space: ``log Phi(b) + log(1 - exp(log Phi(a) - log Phi(b)))``.
    """
    if a is None and b is None:
        return 0.0
    if a is None:
        return log_ndtr(b)
    if b is None:
        return log_ndtr(-a)
    log_b = log_ndtr(b)
    return log_b + jnp.log(-jnp.expm1(log_ndtr(a) - log_b))


# -- the real line ---------------------------------------------------------------
class Normal(Distribution):
    """Normal with mean ``mu`` and standard deviation ``sigma`` (or precision ``tau``).

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     x = pa.Normal("x", mu=0.0, sigma=1.0, shape=3)
    >>> x.shape
    (3,)
    """

    params = ("mu", "sigma")
    param_constraints = {"sigma": constraints.positive}
    support = constraints.real

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _scale_or_precision(cls, name, _gather(cls, name, ("mu", "sigma", "tau"), args, kwargs))
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "sigma": 1.0}

    @staticmethod
    def logp(value, mu, sigma):
        # The inverse once per sigma, not a division per value: with a scalar sigma the gradient then has
        # no division over the data (linear regression, N = 1000: 4.3 -> 3.5 us for value and gradient).
        log_sigma, inverse_sigma = _log_and_inverse(sigma)
        z = (value - mu) * inverse_sigma
        return -0.5 * z**2 - log_sigma - _LOG_SQRT_2PI

    @staticmethod
    def random(key, shape, mu, sigma):
        return mu + sigma * jax.random.normal(key, shape)

    @staticmethod
    def mean(mu, sigma):
        return _broadcast(mu, sigma)

    @staticmethod
    def variance(mu, sigma):
        return _broadcast(sigma**2, mu)


class HalfNormal(Distribution):
    """Normal(0, sigma) folded onto the positive reals (``sigma`` or precision ``tau``).

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     s = pa.HalfNormal("s", sigma=1.0)
    >>> s.shape
    ()
    """

    params = ("sigma",)
    param_constraints = {"sigma": constraints.positive}
    support = constraints.positive

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _scale_or_precision(cls, name, _gather(cls, name, ("sigma", "tau"), args, kwargs))
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"sigma": 1.0}

    @staticmethod
    def logp(value, sigma):
        z = value / sigma
        density = -0.5 * z**2 - jnp.log(sigma) - _LOG_SQRT_2PI + jnp.log(2.0)
        return jnp.where(value >= 0, density, -jnp.inf)

    @staticmethod
    def random(key, shape, sigma):
        return jnp.abs(sigma * jax.random.normal(key, shape))

    @staticmethod
    def mean(sigma):
        return sigma * jnp.sqrt(2.0 / jnp.pi)

    @staticmethod
    def variance(sigma):
        return sigma**2 * (1.0 - 2.0 / jnp.pi)


class Cauchy(Distribution):
    """Cauchy with location ``alpha`` and scale ``beta``; it has no mean or variance (NaN).

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Cauchy.dist(alpha=0.0, beta=1.0), 1.0)), 6)
    -1.837877
    """

    params = ("alpha", "beta")
    param_constraints = {"beta": constraints.positive}

    @staticmethod
    def logp(value, alpha, beta):
        log_beta, inverse_beta = _log_and_inverse(beta)
        z = (value - alpha) * inverse_beta
        return -jnp.log(jnp.pi) - log_beta - jnp.log1p(z**2)

    @staticmethod
    def random(key, shape, alpha, beta):
        return alpha + beta * jax.random.cauchy(key, shape)

    @staticmethod
    def mean(alpha, beta):
        return _broadcast(jnp.nan, alpha, beta)

    variance = mean

    @classmethod
    def support_point(cls, alpha, beta):
        return _broadcast(alpha, beta)


class StudentT(Distribution):
    """Student's t with ``nu`` degrees of freedom, location ``mu`` and scale ``sigma`` (or precision ``lam``).

    The mean is NaN for ``nu <= 1``; the variance is infinite for ``1 < nu <= 2``
    and NaN for ``nu <= 1``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.StudentT.dist(nu=3.0, mu=0.0, sigma=1.0), 0.0)), 6)
    -1.000889
    """

    params = ("nu", "mu", "sigma")
    param_constraints = {"nu": constraints.positive, "sigma": constraints.positive}

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("nu", "mu", "sigma", "lam"), args, kwargs)
        return super().canonical_params(name, **_scale_or_precision(cls, name, given, precision="lam"))

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "sigma": 1.0}

    @staticmethod
    def logp(value, nu, mu, sigma):
        log_sigma, inverse_sigma = _log_and_inverse(sigma)
        z = (value - mu) * inverse_sigma
        norm = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * jnp.log(nu * jnp.pi) - log_sigma
        return norm - (nu + 1) / 2 * jnp.log1p(z**2 / nu)

    @staticmethod
    def random(key, shape, nu, mu, sigma):
        return mu + sigma * jax.random.t(key, jnp.broadcast_to(nu, shape), shape)

    @staticmethod
    def mean(nu, mu, sigma):
        return _broadcast(jnp.where(nu > 1, mu, jnp.nan), sigma)

    @staticmethod
    def variance(nu, mu, sigma):
        finite = sigma**2 * nu / jnp.where(nu > 2, nu - 2, 1.0)
        return _broadcast(jnp.where(nu > 2, finite, jnp.where(nu > 1, jnp.inf, jnp.nan)), mu)

    @classmethod
    def support_point(cls, nu, mu, sigma):
        return _broadcast(mu, nu, sigma)


class Laplace(Distribution):
    """Laplace (double exponential) with location ``mu`` and scale ``b``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Laplace.dist(mu=0.0, b=2.0), 1.0)), 6)
    -1.886294
    """

    params = ("mu", "b")
    param_constraints = {"b": constraints.positive}

    @staticmethod
    def logp(value, mu, b):
        return -jnp.log(2 * b) - jnp.abs(value - mu) / b

    @staticmethod
    def random(key, shape, mu, b):
        return mu + b * jax.random.laplace(key, shape)

    @staticmethod
    def mean(mu, b):
        return _broadcast(mu, b)

    @staticmethod
    def variance(mu, b):
        return _broadcast(2 * b**2, mu)


class AsymmetricLaplace(Distribution):
    """Asymmetric Laplace with asymmetry ``kappa`` (or quantile ``q``), location ``mu``, rate ``b``.

    The density is ``b / (kappa + 1/kappa) * exp(-(x - mu) * b * kappa)`` above
    ``mu`` and ``b / (kappa + 1/kappa) * exp((x - mu) * b / kappa)`` below.
    ``q`` sets ``kappa = sqrt(q / (1 - q))``, which makes ``mu`` the ``q``
    quantile (quantile regression).

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.AsymmetricLaplace.dist(kappa=2.0, mu=0.0, b=1.0), 1.0)), 6)
    -2.916291
    """

    params = ("kappa", "mu", "b")
    param_constraints = {"kappa": constraints.positive, "b": constraints.positive}

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("kappa", "mu", "b", "q"), args, kwargs)
        if _one_of(cls, name, given, (("kappa",), ("q",))) == ("q",):
            q = _checked(name, "q", given.pop("q"), constraints.interval(0.0, 1.0))
            given["kappa"] = (q / (1 - q)) ** 0.5
        return super().canonical_params(name, **given)

    @staticmethod
    def logp(value, kappa, mu, b):
        rate = jnp.where(value >= mu, kappa, -1 / kappa)
        return jnp.log(b) - jnp.log(kappa + 1 / kappa) - (value - mu) * b * rate

    @staticmethod
    def random(key, shape, kappa, mu, b):
        side_key, size_key = jax.random.split(key)
        above = jax.random.uniform(side_key, shape) * (1 + kappa**2) < 1
        distance = jax.random.exponential(size_key, shape) / b
        return mu + jnp.where(above, distance / kappa, -distance * kappa)

    @staticmethod
    def mean(kappa, mu, b):
        return mu + (1 / kappa - kappa) / b

    @staticmethod
    def variance(kappa, mu, b):
        return _broadcast((1 / kappa**2 + kappa**2) / b**2, mu)


class Logistic(Distribution):
    """Logistic with location ``mu`` and scale ``s``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Logistic.dist(mu=0.0, s=1.0), 0.0)), 6)
    -1.386294
    """

    params = ("mu", "s")
    param_constraints = {"s": constraints.positive}

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "s": 1.0}

    @staticmethod
    def logp(value, mu, s):
        z = (value - mu) / s
        return -z - 2 * jax.nn.softplus(-z) - jnp.log(s)

    @staticmethod
    def random(key, shape, mu, s):
        return mu + s * jax.random.logistic(key, shape)

    @staticmethod
    def mean(mu, s):
        return _broadcast(mu, s)

    @staticmethod
    def variance(mu, s):
        return _broadcast(s**2 * jnp.pi**2 / 3, mu)


class Gumbel(Distribution):
    """Gumbel (type I extreme value, maxima) with location ``mu`` and scale ``beta``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Gumbel.dist(mu=0.0, beta=1.0), 0.0)), 6)
    -1.0
    """

    params = ("mu", "beta")
    param_constraints = {"beta": constraints.positive}

    @staticmethod
    def logp(value, mu, beta):
        z = (value - mu) / beta
        return -z - jnp.exp(-z) - jnp.log(beta)

    @staticmethod
    def random(key, shape, mu, beta):
        return mu + beta * jax.random.gumbel(key, shape)

    @staticmethod
    def mean(mu, beta):
        return mu + beta * _EULER_GAMMA

    @staticmethod
    def variance(mu, beta):
        return _broadcast(beta**2 * jnp.pi**2 / 6, mu)


class SkewNormal(Distribution):
    """Skew-normal with location ``mu``, scale ``sigma`` (or precision ``tau``) and skewness ``alpha``.

    References
    ----------
    Azzalini, A. (1985). A class of distributions which includes the normal ones.
    *Scandinavian Journal of Statistics* 12, 171-178.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.SkewNormal.dist(mu=0.0, sigma=1.0, alpha=2.0), 0.5)), 6)
    -0.523545
    """

    params = ("mu", "sigma", "alpha")
    param_constraints = {"sigma": constraints.positive}

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _scale_or_precision(cls, name, _gather(cls, name, ("mu", "sigma", "tau", "alpha"), args, kwargs))
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "sigma": 1.0, "alpha": 1.0}

    @staticmethod
    def logp(value, mu, sigma, alpha):
        z = (value - mu) / sigma
        return jnp.log(2.0) - 0.5 * z**2 - _LOG_SQRT_2PI - jnp.log(sigma) + log_ndtr(alpha * z)

    @staticmethod
    def random(key, shape, mu, sigma, alpha):
        half_key, normal_key = jax.random.split(key)
        delta = alpha / jnp.sqrt(1 + alpha**2)
        half = jnp.abs(jax.random.normal(half_key, shape))
        return mu + sigma * (delta * half + jnp.sqrt(1 - delta**2) * jax.random.normal(normal_key, shape))

    @staticmethod
    def mean(mu, sigma, alpha):
        return mu + sigma * alpha / jnp.sqrt(1 + alpha**2) * jnp.sqrt(2 / jnp.pi)

    @staticmethod
    def variance(mu, sigma, alpha):
        return _broadcast(sigma**2 * (1 - 2 / jnp.pi * alpha**2 / (1 + alpha**2)), mu)


class ExGaussian(Distribution):
    """Exponentially modified Gaussian: Normal(``mu``, ``sigma``) plus an exponential of mean ``nu``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.ExGaussian.dist(mu=0.0, sigma=1.0, nu=2.0), 1.0)), 6)
    -1.437094
    """

    params = ("mu", "sigma", "nu")
    param_constraints = {"sigma": constraints.positive, "nu": constraints.positive}

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0}

    @staticmethod
    def logp(value, mu, sigma, nu):
        z = (value - mu) / sigma
        return -jnp.log(nu) - z * sigma / nu + 0.5 * (sigma / nu) ** 2 + log_ndtr(z - sigma / nu)

    @staticmethod
    def random(key, shape, mu, sigma, nu):
        normal_key, exponential_key = jax.random.split(key)
        return mu + sigma * jax.random.normal(normal_key, shape) + nu * jax.random.exponential(exponential_key, shape)

    @staticmethod
    def mean(mu, sigma, nu):
        return _broadcast(mu + nu, sigma)

    @staticmethod
    def variance(mu, sigma, nu):
        return _broadcast(sigma**2 + nu**2, mu)


class Flat(Distribution):
    """Improper uniform density over the real line (log density 0); it cannot be sampled.

    Give it a ``shape``; it starts at 0.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     x = pa.Flat("x", shape=2)
    >>> float(pa.logp(pa.Flat.dist(), 3.0))
    0.0
    """

    @staticmethod
    def logp(value):
        return jnp.zeros(jnp.shape(value))

    @staticmethod
    def random(key, shape):
        raise _improper_draw("Flat", "the real line", "pa.Normal")

    @staticmethod
    def mean():
        return jnp.asarray(jnp.nan)

    variance = mean

    @classmethod
    def support_point(cls):
        return jnp.asarray(0.0)


# -- bounded intervals ----------------------------------------------------------------
def _check_ordered(name: str, given: dict, lower: str = "lower", upper: str = "upper") -> None:
    low, high = given.get(lower), given.get(upper)
    if low is None or high is None or isinstance(low, Node) or isinstance(high, Node):
        return
    if not np.all(np.asarray(low) < np.asarray(high)):
        raise ModelError(f"{lower} of {name} must be below {upper}, got {_show(low)} and {_show(high)}")


class Uniform(Distribution):
    """Uniform on ``[lower, upper]``; the bounds may be model expressions.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Uniform.dist(lower=0.0, upper=4.0), 1.0)), 6)
    -1.386294
    """

    params = ("lower", "upper")
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, cls.params, args, kwargs)
        _check_ordered(name, given)
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"lower": 0.0, "upper": 1.0}

    @classmethod
    def support_of(cls, lower, upper):
        return constraints.interval(lower, upper)

    @staticmethod
    def logp(value, lower, upper):
        return jnp.where((value >= lower) & (value <= upper), -jnp.log(upper - lower), -jnp.inf)

    @staticmethod
    def random(key, shape, lower, upper):
        return lower + (upper - lower) * jax.random.uniform(key, shape)

    @staticmethod
    def mean(lower, upper):
        return (lower + upper) / 2

    @staticmethod
    def variance(lower, upper):
        return (upper - lower) ** 2 / 12


class TruncatedNormal(Distribution):
    """Normal(``mu``, ``sigma``) truncated to ``[lower, upper]``; either bound may be ``None`` (or infinite).

    The normalising mass is formed in log space and the sampler (inverse
    CDF) reflects an interval above the mean into the left tail, where
    ``Phi`` keeps its relative precision, so bounds far in the tails stay accurate.

    References
    ----------
    Chopin, N. (2011). Fast simulation of truncated Gaussian distributions.
    *Statistics and Computing* 21, 275-288 (section 2, inverse-CDF method).

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.TruncatedNormal.dist(mu=0.0, sigma=1.0, lower=0.0), 0.5)), 6)
    -0.350791
    """

    params = ("mu", "sigma", "lower", "upper")
    param_constraints = {"sigma": constraints.positive}
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("mu", "sigma", "tau", "lower", "upper"), args, kwargs)
        for bound in ("lower", "upper"):  # an infinite constant bound is no bound
            if bound in given and not isinstance(given[bound], Node) and np.all(np.isinf(given[bound])):
                del given[bound]
        _check_ordered(name, given)
        return super().canonical_params(name, **_scale_or_precision(cls, name, given))

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "sigma": 1.0, "lower": None, "upper": None}

    @classmethod
    def support_of(cls, mu, sigma, lower=None, upper=None):
        if lower is None:
            return constraints.real if upper is None else constraints.less_than(upper)
        return constraints.greater_than(lower) if upper is None else constraints.interval(lower, upper)

    @staticmethod
    def logp(value, mu, sigma, lower=None, upper=None):
        z = (value - mu) / sigma
        a, b = _std_bound(lower, mu, sigma), _std_bound(upper, mu, sigma)
        density = -0.5 * z**2 - jnp.log(sigma) - _LOG_SQRT_2PI - _log_normal_mass(a, b)
        inside = jnp.ones(jnp.shape(value), dtype=bool)
        inside = inside if lower is None else inside & (value >= lower)
        inside = inside if upper is None else inside & (value <= upper)
        return jnp.where(inside, density, -jnp.inf)

    @staticmethod
    def random(key, shape, mu, sigma, lower=None, upper=None):
        a = -jnp.inf if lower is None else (lower - mu) / sigma
        b = jnp.inf if upper is None else (upper - mu) / sigma
        flip = a > 0  # sample the reflected interval, in the left tail, where Phi is accurate
        lo, hi = jnp.where(flip, -b, a), jnp.where(flip, -a, b)
        p_lo, p_hi = ndtr(lo), ndtr(hi)
        u = jax.random.uniform(key, shape, minval=jnp.finfo(jnp.result_type(float)).tiny)
        x = jnp.clip(ndtri(p_lo + u * (p_hi - p_lo)), lo, hi)
        return mu + sigma * jnp.where(flip, -x, x)

    @staticmethod
    def _moments(mu, sigma, lower, upper):
        a, b = _std_bound(lower, mu, sigma), _std_bound(upper, mu, sigma)
        log_mass = _log_normal_mass(a, b)

        def ratio(t):  # phi(t) / (Phi(b) - Phi(a)); no bound, no term
            return 0.0 if t is None else jnp.exp(-0.5 * t**2 - _LOG_SQRT_2PI - log_mass)

        shift = ratio(a) - ratio(b)
        spread = (0.0 if a is None else a * ratio(a)) - (0.0 if b is None else b * ratio(b))
        mean = _broadcast(mu + sigma * shift, sigma, lower, upper)
        return mean, _broadcast(sigma**2 * (1 + spread - shift**2), mu, lower, upper)

    @staticmethod
    def mean(mu, sigma, lower=None, upper=None):
        return TruncatedNormal._moments(mu, sigma, lower, upper)[0]

    @staticmethod
    def variance(mu, sigma, lower=None, upper=None):
        return TruncatedNormal._moments(mu, sigma, lower, upper)[1]


@jax.jit
def _von_mises_centred(key: jax.Array, kappa: jax.Array) -> jax.Array:
    """Von Mises(0, ``kappa``) draws of ``kappa``'s shape by Best and Fisher's wrapped-Cauchy rejection."""
    root = jnp.sqrt(1 + 4 * kappa**2)
    tau = 1 + root
    rho = 2 * kappa * tau / ((root + 1) * (tau + jnp.sqrt(2 * tau)))  # (tau - sqrt(2 tau)) / (2 kappa), stably
    r = (1 + rho**2) / (2 * rho)

    def propose(state):
        key, done, theta = state
        key, angle_key, accept_key, sign_key = jax.random.split(key, 4)
        z = jnp.cos(jnp.pi * jax.random.uniform(angle_key, kappa.shape))
        f = (1 + r * z) / (r + z)
        c = kappa * (r - f)
        u = jax.random.uniform(accept_key, kappa.shape)
        accept = (c * (2 - c) > u) | (jnp.log(c / u) + 1 - c >= 0)
        sign = jnp.where(jax.random.bernoulli(sign_key, 0.5, kappa.shape), 1.0, -1.0)
        theta = jnp.where(done, theta, sign * jnp.arccos(jnp.clip(f, -1.0, 1.0)))
        return key, done | accept, theta

    init = (key, jnp.zeros(kappa.shape, dtype=bool), jnp.zeros(kappa.shape))
    return jax.lax.while_loop(lambda state: ~jnp.all(state[1]), propose, init)[2]


class VonMises(Distribution):
    """Von Mises (circular normal) on ``[-pi, pi]`` with mean direction ``mu`` and concentration ``kappa``.

    ``variance`` is the circular variance ``1 - I1(kappa) / I0(kappa)``.

    References
    ----------
    Best, D. J. and Fisher, N. I. (1979). Efficient simulation of the von Mises
    distribution. *Applied Statistics* 28, 152-157.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.VonMises.dist(mu=0.0, kappa=2.0), 0.0)), 6)
    -0.661871
    """

    params = ("mu", "kappa")
    param_constraints = {"kappa": constraints.positive}
    support = constraints.interval(-np.pi, np.pi)

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "kappa": 1.0}

    @staticmethod
    def logp(value, mu, kappa):
        density = kappa * (jnp.cos(value - mu) - 1) - jnp.log(2 * jnp.pi * i0e(kappa))
        return jnp.where(jnp.abs(value) <= jnp.pi, density, -jnp.inf)

    @staticmethod
    def random(key, shape, mu, kappa):
        theta = _von_mises_centred(key, jnp.broadcast_to(jnp.asarray(kappa, dtype=float), shape))
        return jnp.mod(mu + theta + jnp.pi, 2 * jnp.pi) - jnp.pi

    @staticmethod
    def mean(mu, kappa):
        return _broadcast(mu, kappa)

    @staticmethod
    def variance(mu, kappa):
        return _broadcast(1 - i1e(kappa) / i0e(kappa), mu)
