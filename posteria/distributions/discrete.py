"""Discrete distributions.

Log probabilities are normalised and match ``scipy.stats``; ``random``
returns integer arrays drawn with ``jax.random``. Families with a
probability take it as ``p`` or ``logit_p`` (as PyMC) and keep the logit:
``log_sigmoid`` of a logit stays accurate where ``log(1 - p)`` would round to
``-inf``. Constant probabilities of exactly 0 or 1 are allowed (their logit
is infinite).

Examples
--------
>>> import posteria as pa
>>> from posteria.distributions.discrete import Poisson
>>> round(float(pa.logp(Poisson.dist(mu=2.0), 3)), 6)
-1.712318
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np

from posteria.distributions import constraints
from posteria.distributions.base import Distribution, _describe, _show
from posteria.distributions.special import betaln, gammaln
from posteria.errors import ModelError
from posteria.model.graph import Node, apply, as_node

_NEGATIVE_BINOMIAL_POISSON_LIMIT = 1e10  # alpha above which NegativeBinomial is evaluated as Poisson (as PyMC)
_OPEN_CLOSED_UNIT = constraints.interval(np.finfo(float).tiny, 1.0)
_OPEN_CLOSED_UNIT.name = "in (0, 1]"  # how error messages describe it


# -- argument handling -----------------------------------------------------------
def _collect(cls: type, name: str, signature: tuple[str, ...], args: tuple, kwargs: dict) -> dict[str, Any]:
    """Positional arguments mapped onto PyMC's parameter order, merged with the keywords."""
    if len(args) > len(signature):
        raise TypeError(
            f"{cls.__name__} {name!r} takes at most {len(signature)} parameters {signature}, got {len(args)}"
        )
    given = {key: value for key, value in kwargs.items() if value is not None}
    for key, value in zip(signature, args):
        if key in given:
            raise TypeError(f"{cls.__name__} {name!r} got parameter {key!r} twice")
        if value is not None:
            given[key] = value
    return {key: _as_param(value) for key, value in given.items()}


def _check_constant(name: str, key: str, value: Any, constraint: constraints.Constraint | None) -> None:
    """Validate a constant parameter that is converted before the base class sees it (``None``: not NaN)."""
    if isinstance(value, Node):
        return
    array = np.asarray(value, dtype=float)
    if constraint is None and np.any(np.isnan(array)):
        raise ModelError(f"{key} of {name} must not be NaN, got {_show(array)}")
    if constraint is not None and (np.any(np.isnan(array)) or not np.all(constraint.check(array))):
        raise ModelError(f"{key} of {name} must be {_describe(constraint)}, got {_show(array)}")


def _as_param(value: Any) -> Any:
    """A model quantity as it is (lists of them stacked); anything else as a float array.

    Lists must become one array here: the base class would treat a list as
    a tree of separate parameters.
    """
    if value is None or isinstance(value, Node):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Node) for v in value):
        return as_node(value)
    return np.asarray(value, dtype=float)


class _ArrayParams(Distribution):
    """Families whose parameters given as lists become arrays (see :func:`_as_param`)."""

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = {key: _as_param(value) for key, value in kwargs.items() if value is not None}
        return super().canonical_params(name, *map(_as_param, args), **given)


def _pop_probability(cls: type, name: str, given: dict[str, Any]) -> Any:
    """``logit_p`` from exactly one of ``p`` and ``logit_p`` (removed from ``given``)."""
    p, logit_p = given.pop("p", None), given.pop("logit_p", None)
    if (p is None) == (logit_p is None):
        raise TypeError(f"{cls.__name__} {name!r} needs exactly one of p and logit_p")
    if p is None:
        _check_constant(name, "logit_p", logit_p, None)
        return logit_p
    _check_constant(name, "p", p, constraints.unit_interval)
    if isinstance(p, Node):
        return apply(jsp.logit, p)
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def _in_support(value, lower=0, upper=jnp.inf):
    """Whether ``value`` is an integer in ``[lower, upper]``, and ``value`` as floats made safe where not.

    Integer data become floats: ``xlogy`` and friends differentiate with
    respect to every argument, which fails on integer arrays.
    """
    value = jnp.asarray(value, dtype=jnp.result_type(float))
    ok = (value == jnp.floor(value)) & (value >= lower) & (value <= upper)
    return ok, jnp.where(ok, value, jnp.where(jnp.isfinite(lower), lower, 0))


def _log_binomial_coefficient(n, k):
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _xlog_sigmoid(k, logit_p):
    """``k log(sigmoid(logit_p))``, 0 where ``k`` is 0 (also for an infinite logit)."""
    return jnp.where(k == 0, 0.0, k * jax.nn.log_sigmoid(logit_p))


def _broadcast(value, *params):
    return jnp.broadcast_to(value, jnp.broadcast_shapes(*(jnp.shape(p) for p in params)))


# -- families ----------------------------------------------------------------------
class Bernoulli(_ArrayParams):
    """Bernoulli: 1 with probability ``p`` (or ``sigmoid(logit_p)``), else 0.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import Bernoulli
    >>> round(float(pa.logp(Bernoulli.dist(p=0.25), 1)), 6)
    -1.386294
    """

    params = ("logit_p",)
    support = constraints.boolean

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _collect(cls, name, ("p", "logit_p"), args, kwargs)
        given["logit_p"] = _pop_probability(cls, name, given)
        return super().canonical_params(name, **given)

    @staticmethod
    def logp(value, logit_p):
        ok, k = _in_support(value, 0, 1)
        # log sigmoid(+-logit_p) = -softplus(-+logit_p): one softplus, not two
        density = -jax.nn.softplus(jnp.where(k == 1, -logit_p, logit_p))
        return jnp.where(ok, density, -jnp.inf)

    @staticmethod
    def random(key, shape, logit_p):
        return jax.random.bernoulli(key, jax.nn.sigmoid(logit_p), shape).astype(int)

    @staticmethod
    def mean(logit_p):
        return jax.nn.sigmoid(logit_p)

    @staticmethod
    def variance(logit_p):
        return jax.nn.sigmoid(logit_p) * jax.nn.sigmoid(-logit_p)


class Binomial(_ArrayParams):
    """Binomial: successes in ``n`` trials of probability ``p`` (or ``sigmoid(logit_p)``).

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import Binomial
    >>> round(float(pa.logp(Binomial.dist(n=10, p=0.3), 3)), 6)
    -1.321151
    """

    params = ("n", "logit_p")
    param_constraints = {"n": constraints.nonnegative_integer}
    support = constraints.nonnegative_integer  # for any n; support_of gives {0, ..., n}
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _collect(cls, name, ("n", "p", "logit_p"), args, kwargs)
        given["logit_p"] = _pop_probability(cls, name, given)
        return super().canonical_params(name, **given)

    @classmethod
    def support_of(cls, n, logit_p):
        return constraints.integer_interval(0, n)

    @staticmethod
    def logp(value, n, logit_p):
        ok, k = _in_support(value, 0, n)
        density = _log_binomial_coefficient(n, k) + _xlog_sigmoid(k, logit_p) + _xlog_sigmoid(n - k, -logit_p)
        return jnp.where(ok, density, -jnp.inf)

    @staticmethod
    def random(key, shape, n, logit_p):
        return jax.random.binomial(key, n, jax.nn.sigmoid(logit_p), shape).astype(int)

    @staticmethod
    def mean(n, logit_p):
        return n * jax.nn.sigmoid(logit_p)

    @staticmethod
    def variance(n, logit_p):
        return n * jax.nn.sigmoid(logit_p) * jax.nn.sigmoid(-logit_p)


class Poisson(_ArrayParams):
    """Poisson with rate ``mu``.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> from posteria.distributions.discrete import Poisson
    >>> with pa.Model():
    ...     rate = pa.HalfNormal("rate", sigma=5.0)
    ...     y = Poisson("y", mu=rate, observed=np.array([2, 0, 3]))
    >>> y.shape
    (3,)
    """

    params = ("mu",)
    param_constraints = {"mu": constraints.nonnegative}
    support = constraints.nonnegative_integer

    @staticmethod
    def logp(value, mu):
        ok, k = _in_support(value)
        return jnp.where(ok, jsp.xlogy(k, mu) - mu - gammaln(k + 1), -jnp.inf)

    @staticmethod
    def random(key, shape, mu):
        return jax.random.poisson(key, mu, shape).astype(int)

    @staticmethod
    def mean(mu):
        return jnp.asarray(mu)

    @staticmethod
    def variance(mu):
        return jnp.asarray(mu)


class NegativeBinomial(_ArrayParams):
    """Negative binomial with mean ``mu`` and shape ``alpha`` (or ``n``, ``p`` as scipy's ``nbinom``).

    ``Var = mu + mu**2 / alpha``; ``n = alpha`` and ``p = alpha / (mu + alpha)``.
    Draws are Poisson with a Gamma(alpha, alpha / mu) rate.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import NegativeBinomial
    >>> d = NegativeBinomial.dist(n=3.0, p=0.6)
    >>> round(float(pa.logp(d, 2)), 6), round(float(d.params["mu"].value), 6)
    (-1.573299, 2.0)
    """

    params = ("mu", "alpha")
    param_constraints = {"mu": constraints.positive, "alpha": constraints.positive}
    support = constraints.nonnegative_integer

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _collect(cls, name, ("mu", "alpha", "p", "n"), args, kwargs)
        return super().canonical_params(name, **_mu_alpha(cls, name, given))

    @staticmethod
    def logp(value, mu, alpha):
        ok, k = _in_support(value)
        gamma_poisson = (
            gammaln(k + alpha) - gammaln(alpha) - gammaln(k + 1)
            - alpha * jnp.log1p(mu / alpha) + jsp.xlogy(k, mu) - jsp.xlogy(k, mu + alpha)
        )
        density = jnp.where(alpha > _NEGATIVE_BINOMIAL_POISSON_LIMIT, Poisson.logp(k, mu), gamma_poisson)
        return jnp.where(ok, density, -jnp.inf)

    @staticmethod
    def random(key, shape, mu, alpha):
        gamma_key, poisson_key = jax.random.split(key)
        rate = jax.random.gamma(gamma_key, jnp.broadcast_to(alpha, shape)) * (mu / alpha)
        return jax.random.poisson(poisson_key, rate, shape).astype(int)

    @staticmethod
    def mean(mu, alpha):
        return _broadcast(mu, mu, alpha)

    @staticmethod
    def variance(mu, alpha):
        return mu + mu**2 / alpha


def _mu_alpha(cls: type, name: str, given: dict[str, Any]) -> dict[str, Any]:
    """NegativeBinomial's ``mu, alpha`` from ``mu, alpha`` or ``n, p`` (both removed from ``given``)."""
    p, n = given.pop("p", None), given.pop("n", None)
    if p is None and n is None:
        return given
    if p is None or n is None or "mu" in given or "alpha" in given:
        raise TypeError(f"{cls.__name__} {name!r} needs mu and alpha, or n and p")
    _check_constant(name, "p", p, _OPEN_CLOSED_UNIT)
    p, n = _as_param(p), _as_param(n)
    return {**given, "mu": n * (1.0 - p) / p, "alpha": n}


class Geometric(_ArrayParams):
    """Number of Bernoulli(``p``) trials up to and including the first success (1, 2, ...).

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import Geometric
    >>> round(float(pa.logp(Geometric.dist(p=0.5), 2)), 6)
    -1.386294
    """

    params = ("p",)
    param_constraints = {"p": _OPEN_CLOSED_UNIT}
    support = constraints.positive_integer

    @staticmethod
    def logp(value, p):
        ok, k = _in_support(value, 1)
        return jnp.where(ok, jnp.log(p) + jsp.xlog1py(k - 1, -p), -jnp.inf)

    @staticmethod
    def random(key, shape, p):
        u = 1.0 - jax.random.uniform(key, shape)  # in (0, 1]
        return (jnp.floor(jnp.log(u) / jnp.log1p(-p)) + 1).astype(int)

    @staticmethod
    def mean(p):
        return 1.0 / p

    @staticmethod
    def variance(p):
        return (1.0 - p) / p**2


class Categorical(_ArrayParams):
    """An index in ``0, ..., K - 1`` with probabilities ``p`` (or ``softmax(logit_p)``) on the last axis.

    The value has one entry per row of ``p``: its shape is ``p.shape[:-1]``.
    A constant ``p`` must sum to one.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import Categorical
    >>> d = Categorical.dist(p=[0.2, 0.5, 0.3])
    >>> d.shape, round(float(pa.logp(d, 1)), 6)
    ((), -0.693147)
    """

    params = ("logit_p",)
    support = constraints.nonnegative_integer  # for any K; support_of gives {0, ..., K - 1}

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _collect(cls, name, ("p", "logit_p"), args, kwargs)
        p, logit_p = given.pop("p", None), given.pop("logit_p", None)
        if (p is None) == (logit_p is None):
            raise TypeError(f"Categorical {name!r} needs exactly one of p and logit_p")
        given_value = p if logit_p is None else logit_p
        if len(given_value.shape if isinstance(given_value, Node) else np.shape(given_value)) == 0:
            raise ModelError(f"{'p' if logit_p is None else 'logit_p'} of {name} needs a last axis of categories")
        if logit_p is None:
            _check_constant(name, "p", p, constraints.simplex)
            with np.errstate(divide="ignore"):
                logit_p = apply(jnp.log, p) if isinstance(p, Node) else np.log(np.asarray(p, dtype=float))
        return super().canonical_params(name, logit_p=logit_p, **given)

    @classmethod
    def shape_from_params(cls, logit_p):
        return tuple(logit_p[:-1])

    @classmethod
    def support_of(cls, logit_p):
        return constraints.integer_interval(0, jnp.shape(logit_p)[-1] - 1)

    @staticmethod
    def logp(value, logit_p):
        num_categories = jnp.shape(logit_p)[-1]
        ok, k = _in_support(value, 0, num_categories - 1)
        chosen = jnp.arange(num_categories) == jnp.expand_dims(k, -1)
        log_p = jnp.sum(jnp.where(chosen, jax.nn.log_softmax(logit_p, axis=-1), 0.0), axis=-1)
        return jnp.where(ok, log_p, -jnp.inf)

    @staticmethod
    def random(key, shape, logit_p):
        return jax.random.categorical(key, logit_p, axis=-1, shape=shape).astype(int)

    @staticmethod
    def mean(logit_p):
        return jnp.sum(jax.nn.softmax(logit_p, axis=-1) * jnp.arange(jnp.shape(logit_p)[-1]), axis=-1)

    @staticmethod
    def variance(logit_p):
        p, k = jax.nn.softmax(logit_p, axis=-1), jnp.arange(jnp.shape(logit_p)[-1])
        return jnp.sum(p * k**2, axis=-1) - jnp.sum(p * k, axis=-1) ** 2

    @classmethod
    def support_point(cls, logit_p):
        return jnp.argmax(logit_p, axis=-1)


class DiscreteUniform(_ArrayParams):
    """Equally likely integers ``lower, ..., upper`` (both included; bounds rounded down, as PyMC).

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import DiscreteUniform
    >>> round(float(pa.logp(DiscreteUniform.dist(1, 4), 4)), 6)
    -1.386294
    """

    params = ("lower", "upper")
    support = constraints.integer_interval(-jnp.inf, jnp.inf)  # for any bounds; support_of gives them
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = super().canonical_params(name, *args, **kwargs)
        floored = {key: apply(jnp.floor, v) if isinstance(v, Node) else np.floor(v) for key, v in given.items()}
        lower, upper = floored["lower"], floored["upper"]
        if not isinstance(lower, Node) and not isinstance(upper, Node) and np.any(np.asarray(lower) > upper):
            raise ModelError(f"upper of {name} must be >= lower, got lower {_show(lower)} and upper {_show(upper)}")
        return floored

    @classmethod
    def support_of(cls, lower, upper):
        return constraints.integer_interval(lower, upper)

    @staticmethod
    def logp(value, lower, upper):
        ok, _ = _in_support(value, lower, upper)
        return jnp.where(ok, -jnp.log(upper - lower + 1), -jnp.inf)

    @staticmethod
    def random(key, shape, lower, upper):
        return (lower + jnp.floor(jax.random.uniform(key, shape) * (upper - lower + 1))).astype(int)

    @staticmethod
    def mean(lower, upper):
        return (lower + upper) / 2.0

    @staticmethod
    def variance(lower, upper):
        return ((upper - lower + 1) ** 2 - 1) / 12.0


class BetaBinomial(_ArrayParams):
    """Binomial(``n``, p) with p ~ Beta(``alpha``, ``beta``).

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import BetaBinomial
    >>> round(float(pa.logp(BetaBinomial.dist(alpha=1.0, beta=1.0, n=4), 2)), 6)
    -1.609438
    """

    params = ("alpha", "beta", "n")
    param_constraints = {
        "alpha": constraints.positive,
        "beta": constraints.positive,
        "n": constraints.nonnegative_integer,
    }
    support = constraints.nonnegative_integer  # for any n; support_of gives {0, ..., n}
    support_depends_on_params = True

    @classmethod
    def support_of(cls, alpha, beta, n):
        return constraints.integer_interval(0, n)

    @staticmethod
    def logp(value, alpha, beta, n):
        ok, k = _in_support(value, 0, n)
        density = _log_binomial_coefficient(n, k) + betaln(k + alpha, n - k + beta) - betaln(alpha, beta)
        return jnp.where(ok, density, -jnp.inf)

    @staticmethod
    def random(key, shape, alpha, beta, n):
        beta_key, binomial_key = jax.random.split(key)
        p = jax.random.beta(beta_key, alpha, beta, shape)
        return jax.random.binomial(binomial_key, n, p, shape).astype(int)

    @staticmethod
    def mean(alpha, beta, n):
        return n * alpha / (alpha + beta)

    @staticmethod
    def variance(alpha, beta, n):
        total = alpha + beta
        return n * alpha * beta * (total + n) / (total**2 * (total + 1))


# -- zero inflation ---------------------------------------------------------------
def _zero_inflated_logp(value, psi, base_logp):
    """``log((1 - psi) [value == 0] + psi p(value))`` from the base family's ``log p(value)``."""
    value = jnp.asarray(value)
    with_base = jnp.log(psi) + base_logp
    return jnp.where(value == 0, jnp.logaddexp(jnp.log1p(-psi), with_base), with_base)


def _zero_inflated_random(key, shape, psi, base_draw):
    return jnp.where(jax.random.bernoulli(key, psi, shape), base_draw, 0)


def _zero_inflated_variance(psi, base_mean, base_variance):
    return psi * base_variance + psi * (1.0 - psi) * base_mean**2


class ZeroInflatedPoisson(_ArrayParams):
    """Poisson(``mu``) with probability ``psi``, else 0.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import ZeroInflatedPoisson
    >>> round(float(pa.logp(ZeroInflatedPoisson.dist(psi=0.5, mu=1.0), 0)), 6)
    -0.379885
    """

    params = ("psi", "mu")
    param_constraints = {"psi": constraints.unit_interval, "mu": constraints.nonnegative}
    support = constraints.nonnegative_integer

    @staticmethod
    def logp(value, psi, mu):
        return _zero_inflated_logp(value, psi, Poisson.logp(value, mu))

    @staticmethod
    def random(key, shape, psi, mu):
        keys = jax.random.split(key)
        return _zero_inflated_random(keys[0], shape, psi, Poisson.random(keys[1], shape, mu))

    @staticmethod
    def mean(psi, mu):
        return psi * mu

    @staticmethod
    def variance(psi, mu):
        return _zero_inflated_variance(psi, mu, mu)


class ZeroInflatedBinomial(_ArrayParams):
    """Binomial(``n``, ``p``) with probability ``psi``, else 0.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import ZeroInflatedBinomial
    >>> round(float(pa.logp(ZeroInflatedBinomial.dist(psi=0.5, n=2, p=0.5), 0)), 6)
    -0.470004
    """

    params = ("psi", "n", "logit_p")
    param_constraints = {"psi": constraints.unit_interval, "n": constraints.nonnegative_integer}
    support = constraints.nonnegative_integer  # for any n; support_of gives {0, ..., n}
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _collect(cls, name, ("psi", "n", "p", "logit_p"), args, kwargs)
        given["logit_p"] = _pop_probability(cls, name, given)
        return super().canonical_params(name, **given)

    @classmethod
    def support_of(cls, psi, n, logit_p):
        return constraints.integer_interval(0, n)

    @staticmethod
    def logp(value, psi, n, logit_p):
        return _zero_inflated_logp(value, psi, Binomial.logp(value, n, logit_p))

    @staticmethod
    def random(key, shape, psi, n, logit_p):
        keys = jax.random.split(key)
        return _zero_inflated_random(keys[0], shape, psi, Binomial.random(keys[1], shape, n, logit_p))

    @staticmethod
    def mean(psi, n, logit_p):
        return psi * Binomial.mean(n, logit_p)

    @staticmethod
    def variance(psi, n, logit_p):
        return _zero_inflated_variance(psi, Binomial.mean(n, logit_p), Binomial.variance(n, logit_p))


class ZeroInflatedNegativeBinomial(_ArrayParams):
    """NegativeBinomial(``mu``, ``alpha``) (or ``n``, ``p``) with probability ``psi``, else 0.

    Examples
    --------
    >>> import posteria as pa
    >>> from posteria.distributions.discrete import ZeroInflatedNegativeBinomial
    >>> round(float(pa.logp(ZeroInflatedNegativeBinomial.dist(psi=0.5, mu=1.0, alpha=1.0), 0)), 6)
    -0.287682
    """

    params = ("psi", "mu", "alpha")
    param_constraints = {"psi": constraints.unit_interval, **NegativeBinomial.param_constraints}
    support = constraints.nonnegative_integer

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        given = _collect(cls, name, ("psi", "mu", "alpha", "p", "n"), args, kwargs)
        return super().canonical_params(name, **_mu_alpha(cls, name, given))

    @staticmethod
    def logp(value, psi, mu, alpha):
        return _zero_inflated_logp(value, psi, NegativeBinomial.logp(value, mu, alpha))

    @staticmethod
    def random(key, shape, psi, mu, alpha):
        keys = jax.random.split(key)
        return _zero_inflated_random(keys[0], shape, psi, NegativeBinomial.random(keys[1], shape, mu, alpha))

    @staticmethod
    def mean(psi, mu, alpha):
        return psi * _broadcast(mu, mu, alpha)

    @staticmethod
    def variance(psi, mu, alpha):
        return _zero_inflated_variance(psi, _broadcast(mu, mu, alpha), NegativeBinomial.variance(mu, alpha))
