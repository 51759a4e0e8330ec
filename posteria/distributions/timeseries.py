"""Time-series distributions: random walks and autoregressive processes.

A series is one value along the last axis (``event_ndim == 1``); leading
axes are independent series. As in PyMC 5, the series holds its initial
values followed by ``steps`` values, and its length is given by ``steps``
or by ``shape`` (or ``dims`` / ``observed``): a random walk of ``steps=10``
has 11 values, an AR(2) process 12. The initial values follow ``init_dist``
(default ``Normal.dist(0, 100)``, with a warning, as in PyMC).

References
----------
Hamilton, J. D. (1994), *Time Series Analysis*, Princeton University
Press, ch. 3 and 5 (AR processes, conditional likelihood); PyMC,
``pymc.GaussianRandomWalk``, ``pymc.RandomWalk`` and ``pymc.AR`` (the user interface).

Examples
--------
>>> import posteria as pa
>>> d = pa.GaussianRandomWalk.dist(mu=0.0, sigma=1.0, init_dist=pa.Normal.dist(0.0, 1.0), steps=3)
>>> d.shape
(4,)
>>> round(float(pa.logp(d, [0.0, 1.0, 1.0, 0.0])), 6)
-4.675754
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from posteria.distributions import constraints
from posteria.distributions.base import BoundDistribution, Distribution, _param_node, _unknown_keyword, fit_explicit_shape
from posteria.distributions.continuous import Normal
from posteria.errors import ModelError
from posteria.model.graph import Node, apply
from posteria.model.variables import DistributionNode


class _SeriesBound(BoundDistribution):
    """A series with evaluated parameters: its moments depend on the series' length."""

    __slots__ = ()

    def mean(self):
        return self.family.mean(self.shape[-1], **self.params)

    def variance(self):
        return self.family.variance(self.shape[-1], **self.params)

    def support_point(self):
        return self.family.support_point(self.shape[-1], **self.params)


class _TimeSeries(Distribution):
    """Shared machinery: the series' shape from ``steps`` / ``shape`` / observed data.

    A subclass defines ``num_init(params) -> int``, how many initial values
    (from ``init_dist``) begin the series, and ``batch_shape(name, params,
    length)``, the shape of independent series its parameters (graph nodes)
    imply; its ``mean``, ``variance`` and ``support_point`` take the series'
    length first.
    """

    support = constraints.real_vector
    event_ndim = 1

    @classmethod
    def shape_options(cls, name, kwargs):
        return {"steps": _as_steps(name, kwargs.pop("steps", None))}

    @classmethod
    def _node_shape(cls, name, params, explicit, observed, after_data_change, steps):
        # the observed series (pa.Data too) gives the length when neither shape nor steps do
        given = explicit if explicit is not None or steps is not None or observed is None else tuple(observed.shape)
        return cls._series_shape(name, params, steps, given)

    @classmethod
    def bind(cls, params, shape):
        return _SeriesBound(cls, params, shape)

    @classmethod
    def _series_shape(cls, name, params, steps, explicit):
        offset = cls.num_init(params)
        if explicit is None:
            if steps is None:
                raise ModelError(f"{cls.__name__} {name} needs steps or shape (the series holds steps + {offset} values)")
            length = steps + offset
            return (*cls.batch_shape(name, params, length), length)
        if not explicit:
            raise ModelError(f"{cls.__name__} {name} is a series: its shape needs a last (time) axis, got ()")
        length = explicit[-1]
        if steps is not None and length != steps + offset:
            raise ModelError(f"shape mismatch in {name}: steps={steps} gives {steps + offset} values but shape is {explicit}")
        if length <= offset:
            raise ModelError(f"{cls.__name__} {name} needs at least one step: its last axis has {length} values, {offset} of them initial")
        batch = cls.batch_shape(name, params, length)
        return fit_explicit_shape(name, (*batch, length), explicit, 1, {"series batch": batch})


class RandomWalk(_TimeSeries):
    """Random walk with any scalar step distribution: ``x[t] - x[t-1] ~ innovation_dist``, ``x[0] ~ init_dist``.

    Parameters
    ----------
    init_dist : unnamed distribution
        Distribution of ``x[0]``, scalar-valued.
    innovation_dist : unnamed distribution
        Distribution of the steps, scalar-valued; its last axis, if any, is
        the time axis (length 1 or ``steps``).
    steps : int, optional
        Number of steps; the series has ``steps + 1`` values. Or give ``shape``.

    Examples
    --------
    >>> import posteria as pa
    >>> d = pa.RandomWalk.dist(init_dist=pa.Normal.dist(0.0, 1.0), innovation_dist=pa.Normal.dist(0.0, 1.0), steps=3)
    >>> round(float(pa.logp(d, [0.0, 1.0, 1.0, 0.0])), 6)
    -4.675754
    """

    params = ("init_dist", "innovation_dist")

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        values = super().canonical_params(name, *args, **kwargs)
        init = _init_dist(name, values["init_dist"], scalar=True)
        innovation = values["innovation_dist"]
        if not isinstance(innovation, DistributionNode) or innovation.family.event_ndim:
            raise TypeError(f"innovation_dist of {name} must be a scalar-valued unnamed distribution made with .dist()")
        if innovation.family.is_discrete:
            raise ModelError(f"innovation_dist of {name} is discrete ({innovation.family.__name__}); posteria's random walks are continuous")
        return {"init_dist": init, "innovation_dist": innovation}

    @classmethod
    def num_init(cls, params):
        return 1

    @classmethod
    def batch_shape(cls, name, params, length):
        shape = params["innovation_dist"].shape
        if shape and shape[-1] not in (1, length - 1):
            raise ModelError(
                f"shape mismatch in {name}: the steps' distribution has shape {shape}; its last axis is the time "
                f"axis and needs length 1 or steps={length - 1} (for one parameter per series use p[..., None])"
            )
        return _broadcast_batch(name, [shape[:-1], params["init_dist"].shape])

    @staticmethod
    def logp(value, init_dist, innovation_dist):
        value = jnp.asarray(value)
        return init_dist.logp(value[..., 0]) + jnp.sum(innovation_dist.logp(jnp.diff(value, axis=-1)), axis=-1)

    @staticmethod
    def random(key, shape, init_dist, innovation_dist):
        key_init, key_steps = jax.random.split(key)
        start = jnp.broadcast_to(init_dist.random(key_init, shape[:-1]), shape[:-1])[..., None]
        steps = innovation_dist.random(key_steps, (*shape[:-1], shape[-1] - 1))
        return jnp.concatenate([start, start + jnp.cumsum(steps, axis=-1)], axis=-1)

    @staticmethod
    def mean(length, init_dist, innovation_dist):
        return _walk(init_dist.mean(), innovation_dist.mean(), length)

    @staticmethod
    def variance(length, init_dist, innovation_dist):
        return _walk(init_dist.variance(), innovation_dist.variance(), length)

    @classmethod
    def support_point(cls, length, init_dist, innovation_dist):
        """The path of the support points of the start and of the steps."""
        return _walk(init_dist.support_point(), innovation_dist.support_point(), length)


class GaussianRandomWalk(RandomWalk):
    """Random walk with normal steps: ``x[t] - x[t-1] ~ Normal(mu, sigma)``, ``x[0] ~ init_dist``.

    Parameters
    ----------
    mu, sigma : array_like
        Drift and standard deviation of the steps. As in PyMC 5 their last
        axis is the time axis (length 1 or ``steps``); give one value per
        series as ``mu[..., None]``.
    init_dist : unnamed distribution, optional
        Distribution of ``x[0]``, scalar-valued (default ``Normal.dist(0, 100)``).
    steps : int, optional
        Number of steps; the series has ``steps + 1`` values. Or give ``shape``.

    Notes
    -----
    As in PyMC, this is a :class:`RandomWalk` whose ``innovation_dist`` is
    ``Normal.dist(mu, sigma)``.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     x = pa.GaussianRandomWalk("x", sigma=0.5, init_dist=pa.Normal.dist(0.0, 1.0), shape=(2, 20))
    >>> x.shape
    (2, 20)
    """

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        def signature(mu=0.0, sigma=1.0, *, init_dist=None):
            """PyMC's GaussianRandomWalk arguments."""

        given = _bind(cls, name, signature, args, kwargs)
        innovation = Normal._make_node(name, (), {"mu": _param_node(given["mu"]), "sigma": _param_node(given["sigma"])}, None)
        return {"init_dist": _init_dist(name, given["init_dist"], scalar=True), "innovation_dist": innovation}


class AR(_TimeSeries):
    """Autoregressive process: ``x[t] = c + sum_i rho[i-1] x[t-i] + eps[t]``, ``eps[t] ~ Normal(0, sigma)``.

    The first ``ar_order`` values follow ``init_dist``; the log density is
    their density plus the conditional density of the rest given the past.

    Parameters
    ----------
    rho : array_like
        Coefficients along the last axis: entry ``i`` multiplies lag ``i + 1``.
        With ``constant=True`` the first entry is the constant ``c`` instead.
    sigma : array_like, optional
        Innovation standard deviation, one per series (default 1); or ``tau = sigma**-2``.
    constant : bool
        Whether ``rho[..., 0]`` is a constant term (default ``c = 0``).
    init_dist : unnamed distribution, optional
        Distribution of the first ``ar_order`` values (default ``Normal.dist(0, 100)``);
        its last axis, if any, has length 1 or ``ar_order``.
    ar_order : int, optional
        The order, checked against ``rho`` (it is inferred from ``rho``'s last axis).
    steps : int, optional
        Number of values after the initial ones; or give ``shape``.

    Notes
    -----
    After :meth:`canonical_params`, ``rho`` holds the lag coefficients only
    and ``constant_term`` the constant.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     x = pa.AR("x", rho=[0.5, -0.2], sigma=1.0, init_dist=pa.Normal.dist(0.0, 1.0), steps=30)
    >>> x.shape
    (32,)
    """

    params = ("rho", "sigma", "constant_term", "init_dist")
    param_constraints = {"sigma": constraints.positive}

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        def signature(rho, sigma=None, tau=None, *, init_dist=None, constant=False, ar_order=None):
            """PyMC's AR arguments."""

        given = _bind(cls, name, signature, args, kwargs)
        sigma = _sigma_from(name, given["sigma"], given["tau"])
        rho = given["rho"]
        if not isinstance(rho, Node):
            rho = np.atleast_1d(np.asarray(rho, dtype=float))
        elif not rho.shape:
            rho = apply(jnp.atleast_1d, rho)
        constant_term = 0.0
        if given["constant"]:
            constant_term, rho = rho[..., 0], rho[..., 1:]
        rho, constant_term = _param_node(rho), _param_node(constant_term)
        order = rho.shape[-1]
        if order == 0:
            raise ModelError(f"rho of {name} needs at least one lag coefficient after the constant")
        if given["ar_order"] is not None and int(given["ar_order"]) != order:
            raise ModelError(f"ar_order={given['ar_order']} of {name} does not match rho, which has {order} lag coefficient(s)")
        init = _init_dist(name, given["init_dist"], scalar=False)
        return {"rho": rho, "sigma": sigma, "constant_term": constant_term, "init_dist": init}

    @classmethod
    def num_init(cls, params):
        return params["rho"].shape[-1]

    @classmethod
    def batch_shape(cls, name, params, length):
        order = params["rho"].shape[-1]
        init = params["init_dist"].shape
        if init and init[-1] not in (1, order):
            raise ModelError(f"shape mismatch in {name}: the last axis of init_dist (shape {init}) needs length 1 or ar_order={order}")
        parts = [params["rho"].shape[:-1], params["sigma"].shape, params["constant_term"].shape, init[:-1]]
        return _broadcast_batch(name, parts)

    @staticmethod
    def logp(value, rho, sigma, constant_term, init_dist):
        value = jnp.asarray(value)
        order, length = rho.shape[-1], value.shape[-1]
        expected = jnp.asarray(constant_term)[..., None]
        for lag in range(1, order + 1):
            expected = expected + rho[..., lag - 1, None] * value[..., order - lag: length - lag]
        innovations = jnp.sum(Normal.logp(value[..., order:], expected, jnp.asarray(sigma)[..., None]), axis=-1)
        init = init_dist.logp(value[..., :order])
        return innovations + (jnp.sum(init, axis=-1) if init_dist.family.event_ndim == 0 else init)

    @staticmethod
    def random(key, shape, rho, sigma, constant_term, init_dist):
        order, batch = rho.shape[-1], tuple(shape[:-1])
        key_init, key_noise = jax.random.split(key)
        init = jnp.broadcast_to(init_dist.random(key_init, (*batch, order)), (*batch, order))
        noise = jnp.asarray(sigma)[..., None] * jax.random.normal(key_noise, (*batch, shape[-1] - order))
        return _recurse(init, rho, constant_term, noise)

    @staticmethod
    def mean(length, rho, sigma, constant_term, init_dist):
        order = rho.shape[-1]
        batch = jnp.broadcast_shapes(rho.shape[:-1], jnp.shape(sigma), jnp.shape(constant_term), jnp.shape(init_dist.mean())[:-1])
        init = jnp.broadcast_to(init_dist.mean(), (*batch, order))
        return _recurse(init, rho, constant_term, jnp.zeros((*batch, length - order)))

    @classmethod
    def support_point(cls, length, rho, sigma, constant_term, init_dist):
        """The initial distribution's support point (its last lag) held along the series, as PyMC."""
        start = jnp.atleast_1d(init_dist.support_point())[..., -1:]
        batch = jnp.broadcast_shapes(rho.shape[:-1], jnp.shape(sigma), jnp.shape(constant_term), start.shape[:-1])
        return jnp.broadcast_to(start, (*batch, length))


# -- helpers -----------------------------------------------------------------------
def _bind(cls: type, name: str, signature: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """PyMC-style arguments bound to ``signature`` (defaults filled in), with errors naming the variable."""
    parameters = inspect.signature(signature)
    for key in kwargs:
        if key not in parameters.parameters:
            raise TypeError(_unknown_keyword(cls, name, key, tuple(parameters.parameters)))
    try:
        bound = parameters.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{cls.__name__} {name!r}: {err}") from None
    bound.apply_defaults()
    return bound.arguments


def _as_steps(name: str, steps: Any) -> int | None:
    if steps is None:
        return None
    if isinstance(steps, Node) or np.ndim(steps) != 0 or int(steps) != steps or int(steps) < 1:
        raise ModelError(f"steps of {name} must be a positive integer, got {steps!r}")
    return int(steps)


def _sigma_from(name: str, sigma: Any, tau: Any) -> Node:
    if sigma is not None and tau is not None:
        raise TypeError(f"{name!r}: give sigma or tau, not both")
    if tau is None:
        return _param_node(1.0 if sigma is None else sigma)
    if not isinstance(tau, Node) and not np.all(np.asarray(tau) > 0):
        raise ModelError(f"tau of {name} must be positive, got {tau!r}")
    return _param_node(tau) ** -0.5


def _init_dist(name: str, init_dist: Any, scalar: bool) -> DistributionNode:
    """The user's initial distribution, checked, or PyMC's default with its warning."""
    if init_dist is None:
        warnings.warn(
            f"Initial distribution of {name} not specified, defaulting to `Normal.dist(0, 100)`. "
            "You can specify an init_dist manually to suppress this warning.",
            UserWarning,
            stacklevel=5,
        )
        return Normal.dist(0.0, 100.0)
    if not isinstance(init_dist, DistributionNode):
        raise TypeError(f"init_dist of {name} must be an unnamed distribution made with .dist(), got {type(init_dist).__name__}")
    if init_dist.family.is_discrete:
        raise ModelError(f"init_dist of {name} is discrete ({init_dist.family.__name__}); posteria's time series are continuous")
    if init_dist.family.event_ndim > (0 if scalar else 1):
        kind = "scalar-valued" if scalar else "scalar- or vector-valued"
        raise ModelError(f"init_dist of {name} must be {kind}, got {init_dist.family.__name__}")
    return init_dist


def _broadcast_batch(name: str, parts: list[tuple[int, ...]]) -> tuple[int, ...]:
    try:
        return tuple(jnp.broadcast_shapes(*parts))
    except ValueError:
        raise ModelError(f"shape mismatch in {name}: the parameters' batch shapes {parts} do not broadcast") from None


def _walk(start: Any, increment: Any, length: int) -> jax.Array:
    """``start`` followed by its cumulative sums with ``increment`` (time on the last axis)."""
    increment = jnp.asarray(increment)
    increment = jnp.broadcast_to(increment, jnp.broadcast_shapes(increment.shape, (length - 1,)))
    path = jnp.concatenate([jnp.zeros((*increment.shape[:-1], 1)), jnp.cumsum(increment, axis=-1)], axis=-1)
    return jnp.asarray(start)[..., None] + path


def _recurse(init: jax.Array, rho: jax.Array, constant_term: Any, noise: jax.Array) -> jax.Array:
    """The AR recursion from the initial values ``init`` (..., order) driven by ``noise`` (..., steps)."""
    batch = jnp.broadcast_shapes(init.shape[:-1], noise.shape[:-1])
    lags = jnp.broadcast_to(init, (*batch, init.shape[-1]))
    weights = jnp.broadcast_to(rho[..., ::-1], lags.shape)  # weights[..., j] multiplies lags[..., j] = x[t - order + j]
    constant = jnp.broadcast_to(constant_term, batch)

    def step(window, eps):
        x = constant + jnp.sum(weights * window, axis=-1) + eps
        return jnp.concatenate([window[..., 1:], x[..., None]], axis=-1), x

    _, path = jax.lax.scan(step, lags, jnp.moveaxis(jnp.broadcast_to(noise, (*batch, noise.shape[-1])), -1, 0))
    return jnp.concatenate([lags, jnp.moveaxis(path, 0, -1)], axis=-1)
