"""Continuous univariate distributions.

Log densities are normalised (constants included) and match
``scipy.stats``; samplers use ``jax.random``.

Examples
--------
>>> import posteria as pa
>>> round(float(pa.logp(pa.HalfNormal.dist(sigma=2.0), 1.0)), 6)
-0.997736
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from posteria.distributions import constraints
from posteria.distributions.base import Distribution

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


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
    def canonical_params(cls, name, *args, tau=None, **kwargs):
        if tau is not None:
            if "sigma" in kwargs or len(args) > 1:
                raise TypeError(f"Normal {name!r}: give sigma or tau, not both")
            kwargs["sigma"] = tau ** -0.5
        return super().canonical_params(name, *args, **kwargs)

    @classmethod
    def param_defaults(cls):
        return {"mu": 0.0, "sigma": 1.0}

    @staticmethod
    def logp(value, mu, sigma):
        z = (value - mu) / sigma
        return -0.5 * z**2 - jnp.log(sigma) - _LOG_SQRT_2PI

    @staticmethod
    def random(key, shape, mu, sigma):
        return mu + sigma * jax.random.normal(key, shape)

    @staticmethod
    def mean(mu, sigma):
        return jnp.broadcast_to(mu, jnp.broadcast_shapes(jnp.shape(mu), jnp.shape(sigma)))

    @staticmethod
    def variance(mu, sigma):
        return jnp.broadcast_to(sigma**2, jnp.broadcast_shapes(jnp.shape(mu), jnp.shape(sigma)))


class HalfNormal(Distribution):
    """Normal(0, sigma) folded onto the positive reals.

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
    def canonical_params(cls, name, *args, tau=None, **kwargs):
        if tau is not None:
            kwargs["sigma"] = tau ** -0.5
        return super().canonical_params(name, *args, **kwargs)

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
