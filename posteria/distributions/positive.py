"""Continuous univariate distributions on the positive reals and on the unit interval.

Log densities are normalised (constants included) and match
``scipy.stats``; samplers use ``jax.random``. ``HalfNormal`` lives with
``Normal`` in :mod:`posteria.distributions.continuous`.

Examples
--------
>>> import posteria as pa
>>> round(float(pa.logp(pa.Gamma.dist(mu=2.0, sigma=1.0), 1.5)), 6)
-0.802775
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import xlog1py, xlogy

from posteria.distributions import constraints
from posteria.distributions.base import Distribution, _show
from posteria.distributions.continuous import (
    _LOG_SQRT_2PI,
    _broadcast,
    _checked,
    _improper_draw,
    _gather,
    _log_and_inverse,
    _on_support,
    _one_of,
    _scale_or_precision,
)
from posteria.distributions.special import betaln, gammaln
from posteria.errors import ModelError
from posteria.model.graph import Node


class HalfCauchy(Distribution):
    """Cauchy(0, ``beta``) folded onto the positive reals; its mean and variance are infinite.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.HalfCauchy.dist(beta=1.0), 1.0)), 6)
    -1.14473
    """

    params = ("beta",)
    param_constraints = {"beta": constraints.positive}
    support = constraints.positive

    @staticmethod
    def logp(value, beta):
        density = jnp.log(2 / jnp.pi) - jnp.log(beta) - jnp.log1p((value / beta) ** 2)
        return jnp.where(value >= 0, density, -jnp.inf)

    @staticmethod
    def random(key, shape, beta):
        return jnp.abs(beta * jax.random.cauchy(key, shape))

    @staticmethod
    def mean(beta):
        return _broadcast(jnp.inf, beta)

    variance = mean

    @classmethod
    def support_point(cls, beta):
        return beta


class HalfStudentT(Distribution):
    """Student's t(``nu``, 0, ``sigma``) folded onto the positive reals (scale ``sigma`` or precision ``lam``).

    The mean is infinite for ``nu <= 1``, the variance for ``nu <= 2``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.HalfStudentT.dist(nu=3.0, sigma=1.0), 1.0)), 6)
    -0.883106
    """

    params = ("nu", "sigma")
    param_constraints = {"nu": constraints.positive, "sigma": constraints.positive}
    support = constraints.positive

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("nu", "sigma", "lam"), args, kwargs)
        return super().canonical_params(name, **_scale_or_precision(cls, name, given, precision="lam"))

    @classmethod
    def param_defaults(cls):
        return {"nu": 1.0, "sigma": 1.0}

    @staticmethod
    def logp(value, nu, sigma):
        z = value / sigma
        norm = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * jnp.log(nu * jnp.pi) - jnp.log(sigma / 2)
        return jnp.where(value >= 0, norm - (nu + 1) / 2 * jnp.log1p(z**2 / nu), -jnp.inf)

    @staticmethod
    def random(key, shape, nu, sigma):
        return jnp.abs(sigma * jax.random.t(key, jnp.broadcast_to(nu, shape), shape))

    @staticmethod
    def mean(nu, sigma):
        safe = jnp.where(nu > 1, nu, 2.0)
        finite = 2 * sigma * jnp.sqrt(safe / jnp.pi) * jnp.exp(gammaln((safe + 1) / 2) - gammaln(safe / 2)) / (safe - 1)
        return jnp.where(nu > 1, finite, jnp.inf)

    @staticmethod
    def variance(nu, sigma):
        safe = jnp.where(nu > 2, nu, 3.0)
        finite = sigma**2 * safe / (safe - 2) - HalfStudentT.mean(safe, sigma) ** 2
        return jnp.where(nu > 2, finite, jnp.inf)

    @classmethod
    def support_point(cls, nu, sigma):
        return _broadcast(sigma, nu)


class LogNormal(Distribution):
    """Log-normal: ``log x`` is Normal(``mu``, ``sigma``) (or precision ``tau``).

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.LogNormal.dist(mu=0.0, sigma=1.0), 1.0)), 6)
    -0.918939
    """

    params = ("mu", "sigma")
    param_constraints = {"sigma": constraints.positive}
    support = constraints.positive

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _scale_or_precision(cls, name, _gather(cls, name, ("mu", "sigma", "tau"), args, kwargs))
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "sigma": 1.0}

    @staticmethod
    def logp(value, mu, sigma):
        log_sigma, inverse_sigma = _log_and_inverse(sigma)

        def density(x):
            z = (jnp.log(x) - mu) * inverse_sigma
            return -0.5 * z**2 - log_sigma - _LOG_SQRT_2PI - jnp.log(x)

        return _on_support(value > 0, value, 1.0, density)

    @staticmethod
    def random(key, shape, mu, sigma):
        return jnp.exp(mu + sigma * jax.random.normal(key, shape))

    @staticmethod
    def mean(mu, sigma):
        return jnp.exp(mu + sigma**2 / 2)

    @staticmethod
    def variance(mu, sigma):
        return jnp.expm1(sigma**2) * jnp.exp(2 * mu + sigma**2)


class Exponential(Distribution):
    """Exponential with rate ``lam`` (or ``scale = 1 / lam``).

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Exponential.dist(scale=2.0), 1.0)), 6)
    -1.193147
    """

    params = ("lam",)
    param_constraints = {"lam": constraints.positive}
    support = constraints.positive

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("lam", "scale"), args, kwargs)
        if _one_of(cls, name, given, (("lam",), ("scale",))) == ("scale",):
            given["lam"] = 1 / _checked(name, "scale", given.pop("scale"), constraints.positive)
        return super().canonical_params(name, **given)

    @staticmethod
    def logp(value, lam):
        return jnp.where(value >= 0, jnp.log(lam) - lam * value, -jnp.inf)

    @staticmethod
    def random(key, shape, lam):
        return jax.random.exponential(key, shape) / lam

    @staticmethod
    def mean(lam):
        return 1 / lam

    @staticmethod
    def variance(lam):
        return 1 / lam**2


def _alpha_beta_or_mu_sigma(cls, name, args, kwargs, mu_sigma_fn, beta_optional=False):
    """Shape ``alpha`` and rate/scale ``beta``, given directly or through the mean ``mu`` and sd ``sigma``."""
    given = _gather(cls, name, ("alpha", "beta", "mu", "sigma"), args, kwargs)
    options = (("alpha", "beta"), ("mu", "sigma")) + ((("alpha",),) if beta_optional else ())
    if _one_of(cls, name, given, options) == ("mu", "sigma"):
        mu = _checked(name, "mu", given.pop("mu"), constraints.positive)
        sigma = _checked(name, "sigma", given.pop("sigma"), constraints.positive)
        given["alpha"], given["beta"] = mu_sigma_fn(mu, sigma)
    return given


class Gamma(Distribution):
    """Gamma with shape ``alpha`` and rate ``beta``, or mean ``mu`` and standard deviation ``sigma``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Gamma.dist(alpha=2.0, beta=1.0), 1.0)), 6)
    -1.0
    """

    params = ("alpha", "beta")
    param_constraints = {"alpha": constraints.positive, "beta": constraints.positive}
    support = constraints.positive

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _alpha_beta_or_mu_sigma(cls, name, args, kwargs, lambda mu, sigma: (mu**2 / sigma**2, mu / sigma**2))
        return super().canonical_params(name, **given)

    @staticmethod
    def logp(value, alpha, beta):
        def density(x):
            return xlogy(alpha, beta) - gammaln(alpha) + xlogy(alpha - 1, x) - beta * x

        return _on_support(value >= 0, value, 1.0, density)

    @staticmethod
    def random(key, shape, alpha, beta):
        return jax.random.gamma(key, jnp.broadcast_to(alpha, shape), shape) / beta

    @staticmethod
    def mean(alpha, beta):
        return alpha / beta

    @staticmethod
    def variance(alpha, beta):
        return alpha / beta**2


class InverseGamma(Distribution):
    """Inverse gamma with shape ``alpha`` and scale ``beta`` (default 1), or mean ``mu`` and sd ``sigma``.

    The mean is infinite for ``alpha <= 1`` (the mode is the starting point
    then), the variance for ``alpha <= 2``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.InverseGamma.dist(alpha=3.0, beta=2.0), 1.0)), 6)
    -0.613706
    """

    params = ("alpha", "beta")
    param_constraints = {"alpha": constraints.positive, "beta": constraints.positive}
    support = constraints.positive

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        def from_moments(mu, sigma):
            return 2 + mu**2 / sigma**2, mu * (1 + mu**2 / sigma**2)

        given = _alpha_beta_or_mu_sigma(cls, name, args, kwargs, from_moments, beta_optional=True)
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"beta": 1.0}

    @staticmethod
    def logp(value, alpha, beta):
        def density(x):
            return xlogy(alpha, beta) - gammaln(alpha) - (alpha + 1) * jnp.log(x) - beta / x

        return _on_support(value > 0, value, 1.0, density)

    @staticmethod
    def random(key, shape, alpha, beta):
        return beta / jax.random.gamma(key, jnp.broadcast_to(alpha, shape), shape)

    @staticmethod
    def mean(alpha, beta):
        return jnp.where(alpha > 1, beta / jnp.where(alpha > 1, alpha - 1, 1.0), jnp.inf)

    @staticmethod
    def variance(alpha, beta):
        safe = jnp.where(alpha > 2, alpha, 3.0)
        return jnp.where(alpha > 2, beta**2 / ((safe - 1) ** 2 * (safe - 2)), jnp.inf)

    @classmethod
    def support_point(cls, alpha, beta):
        return jnp.where(alpha > 1, cls.mean(alpha, beta), beta / (alpha + 1))


class ChiSquared(Distribution):
    """Chi-squared with ``nu`` degrees of freedom (Gamma(nu / 2, rate 1 / 2)).

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.ChiSquared.dist(nu=2.0), 1.0)), 6)
    -1.193147
    """

    params = ("nu",)
    param_constraints = {"nu": constraints.positive}
    support = constraints.positive

    @staticmethod
    def logp(value, nu):
        return Gamma.logp(value, nu / 2, 0.5)

    @staticmethod
    def random(key, shape, nu):
        return 2 * jax.random.gamma(key, jnp.broadcast_to(nu / 2, shape), shape)

    @staticmethod
    def mean(nu):
        return nu

    @staticmethod
    def variance(nu):
        return 2 * nu


class Weibull(Distribution):
    """Weibull with shape ``alpha`` and scale ``beta``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Weibull.dist(alpha=2.0, beta=1.0), 1.0)), 6)
    -0.306853
    """

    params = ("alpha", "beta")
    param_constraints = {"alpha": constraints.positive, "beta": constraints.positive}
    support = constraints.positive

    @staticmethod
    def logp(value, alpha, beta):
        def density(x):
            z = x / beta
            return jnp.log(alpha / beta) + xlogy(alpha - 1, z) - z**alpha

        return _on_support(value >= 0, value, 1.0, density)

    @staticmethod
    def random(key, shape, alpha, beta):
        return beta * jax.random.exponential(key, shape) ** (1 / alpha)

    @staticmethod
    def mean(alpha, beta):
        return beta * jnp.exp(gammaln(1 + 1 / alpha))

    @staticmethod
    def variance(alpha, beta):
        return beta**2 * (jnp.exp(gammaln(1 + 2 / alpha)) - jnp.exp(2 * gammaln(1 + 1 / alpha)))


class Pareto(Distribution):
    """Pareto (type I) with shape ``alpha`` on ``[m, inf)``; ``m`` may be a model expression.

    The mean is infinite for ``alpha <= 1``, the variance for ``alpha <= 2``;
    a variable starts at the median ``m * 2 ** (1 / alpha)``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Pareto.dist(alpha=3.0, m=1.0), 2.0)), 6)
    -1.673976
    """

    params = ("alpha", "m")
    param_constraints = {"alpha": constraints.positive, "m": constraints.positive}
    support = constraints.positive
    support_depends_on_params = True

    @classmethod
    def support_of(cls, alpha, m):
        return constraints.greater_than_eq(m)

    @staticmethod
    def logp(value, alpha, m):
        def density(x):
            return jnp.log(alpha) + alpha * jnp.log(m) - (alpha + 1) * jnp.log(x)

        return _on_support(value >= m, value, m, density)

    @staticmethod
    def random(key, shape, alpha, m):
        return m * jnp.exp(jax.random.exponential(key, shape) / alpha)

    @staticmethod
    def mean(alpha, m):
        return jnp.where(alpha > 1, alpha * m / jnp.where(alpha > 1, alpha - 1, 1.0), jnp.inf)

    @staticmethod
    def variance(alpha, m):
        safe = jnp.where(alpha > 2, alpha, 3.0)
        return jnp.where(alpha > 2, m**2 * safe / ((safe - 1) ** 2 * (safe - 2)), jnp.inf)

    @classmethod
    def support_point(cls, alpha, m):
        return m * 2 ** (1 / alpha)


class Wald(Distribution):
    """Wald (inverse Gaussian) with mean ``mu`` and shape ``lam``, shifted by ``alpha`` (default 0).

    Give two of ``mu``, ``lam`` and ``phi = lam / mu``.

    References
    ----------
    Michael, J. R., Schucany, W. R. and Haas, R. W. (1976). Generating random
    variates using transformations with multiple roots. *The American
    Statistician* 30, 88-90.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Wald.dist(mu=1.0, lam=2.0), 1.0)), 6)
    -0.572365
    """

    params = ("mu", "lam", "alpha")
    param_constraints = {"mu": constraints.positive, "lam": constraints.positive}
    support = constraints.real
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("mu", "lam", "phi", "alpha"), args, kwargs)
        option = _one_of(cls, name, given, (("mu", "lam"), ("mu", "phi"), ("lam", "phi")))
        if "phi" in option:
            phi = _checked(name, "phi", given.pop("phi"), constraints.positive)
            if option == ("mu", "phi"):
                given["lam"] = given["mu"] * phi
            else:
                given["mu"] = _checked(name, "lam", given["lam"], constraints.positive) / phi
        return super().canonical_params(name, **given)

    @classmethod
    def param_defaults(cls):
        return {"alpha": 0.0}

    @classmethod
    def support_of(cls, mu, lam, alpha):
        return constraints.greater_than(alpha)

    @staticmethod
    def logp(value, mu, lam, alpha):
        def density(x):
            y = x - alpha
            return 0.5 * jnp.log(lam / (2 * jnp.pi)) - 1.5 * jnp.log(y) - lam * (y - mu) ** 2 / (2 * mu**2 * y)

        return _on_support(value > alpha, value, alpha + mu, density)

    @staticmethod
    def random(key, shape, mu, lam, alpha):
        normal_key, root_key = jax.random.split(key)
        w = mu * jax.random.normal(normal_key, shape) ** 2 / (2 * lam)
        small = mu / (1 + w + jnp.sqrt(w * (2 + w)))  # the smaller root, free of cancellation
        pick_small = jax.random.uniform(root_key, shape) * (mu + small) <= mu
        return alpha + jnp.where(pick_small, small, mu**2 / small)

    @staticmethod
    def mean(mu, lam, alpha):
        return _broadcast(mu + alpha, lam)

    @staticmethod
    def variance(mu, lam, alpha):
        return _broadcast(mu**3 / lam, alpha)


class HalfFlat(Distribution):
    """Improper flat density over the positive reals (log density 0); it cannot be sampled.

    Give it a ``shape``; it starts at 1.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     s = pa.HalfFlat("s", shape=2)
    >>> float(pa.logp(pa.HalfFlat.dist(), -1.0))
    -inf
    """

    support = constraints.positive

    @staticmethod
    def logp(value):
        return jnp.where(value >= 0, 0.0, -jnp.inf)

    @staticmethod
    def random(key, shape):
        raise _improper_draw("HalfFlat", "the positive reals", "pa.HalfNormal")

    @staticmethod
    def mean():
        return jnp.asarray(jnp.nan)

    variance = mean

    @classmethod
    def support_point(cls):
        return jnp.asarray(1.0)


# -- the unit interval ---------------------------------------------------------------
class Beta(Distribution):
    """Beta with shapes ``alpha`` and ``beta``, or mean ``mu`` with sd ``sigma`` or concentration ``nu``.

    ``mu, sigma`` give ``alpha = mu * kappa``, ``beta = (1 - mu) * kappa``
    with ``kappa = mu (1 - mu) / sigma**2 - 1`` (so ``sigma**2 < mu (1 - mu)``);
    ``mu, nu`` give ``alpha = mu * nu``, ``beta = (1 - mu) * nu``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Beta.dist(alpha=2.0, beta=3.0), 0.5)), 6)
    0.405465
    """

    params = ("alpha", "beta")
    param_constraints = {"alpha": constraints.positive, "beta": constraints.positive}
    support = constraints.unit_interval

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _gather(cls, name, ("alpha", "beta", "mu", "sigma", "nu"), args, kwargs)
        option = _one_of(cls, name, given, (("alpha", "beta"), ("mu", "sigma"), ("mu", "nu")))
        if option != ("alpha", "beta"):
            mu = _checked(name, "mu", given.pop("mu"), constraints.interval(0.0, 1.0))
            if option == ("mu", "sigma"):
                sigma = _checked(name, "sigma", given.pop("sigma"), constraints.positive)
                if not isinstance(mu, Node) and not isinstance(sigma, Node) and np.any(sigma**2 >= mu * (1 - mu)):
                    raise ModelError(f"sigma of {name} must be below sqrt(mu * (1 - mu)), got sigma {_show(sigma)} "
                                     f"with mu {_show(mu)}")
                nu = mu * (1 - mu) / sigma**2 - 1
            else:
                nu = _checked(name, "nu", given.pop("nu"), constraints.positive)
            given["alpha"], given["beta"] = mu * nu, (1 - mu) * nu
        return super().canonical_params(name, **given)

    @staticmethod
    def logp(value, alpha, beta):
        def density(x):
            return xlogy(alpha - 1, x) + xlog1py(beta - 1, -x) - betaln(alpha, beta)

        return _on_support((value >= 0) & (value <= 1), value, 0.5, density)

    @staticmethod
    def random(key, shape, alpha, beta):
        return jax.random.beta(key, alpha, beta, shape)

    @staticmethod
    def mean(alpha, beta):
        return alpha / (alpha + beta)

    @staticmethod
    def variance(alpha, beta):
        total = alpha + beta
        return alpha * beta / (total**2 * (total + 1))


class Kumaraswamy(Distribution):
    """Kumaraswamy on ``[0, 1]``: density ``a b x**(a - 1) (1 - x**a)**(b - 1)``.

    References
    ----------
    Kumaraswamy, P. (1980). A generalized probability density function for
    double-bounded random processes. *Journal of Hydrology* 46, 79-88.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Kumaraswamy.dist(a=2.0, b=3.0), 0.5)), 6)
    0.523248
    """

    params = ("a", "b")
    param_constraints = {"a": constraints.positive, "b": constraints.positive}
    support = constraints.unit_interval

    @staticmethod
    def logp(value, a, b):
        def density(x):
            return jnp.log(a * b) + xlogy(a - 1, x) + xlog1py(b - 1, -(x**a))

        return _on_support((value >= 0) & (value <= 1), value, 0.5, density)

    @staticmethod
    def random(key, shape, a, b):
        u = jax.random.uniform(key, shape)  # inverse CDF: x = (1 - (1 - u)**(1 / b))**(1 / a)
        return jnp.exp(jnp.log(-jnp.expm1(jnp.log1p(-u) / b)) / a)

    @staticmethod
    def _raw_moment(a, b, k):
        return jnp.exp(jnp.log(b) + betaln(1 + k / a, b))

    @staticmethod
    def mean(a, b):
        return Kumaraswamy._raw_moment(a, b, 1)

    @staticmethod
    def variance(a, b):
        return Kumaraswamy._raw_moment(a, b, 2) - Kumaraswamy._raw_moment(a, b, 1) ** 2
