"""Mixture distributions: a weighted sum of component densities.

The components are unnamed distributions (``pa.Normal.dist(...)``), given
either as a list (one per component, each scalar-valued) or as one
distribution whose last axis indexes the components, as in PyMC. The log
density marginalises the component indicator,
``log p(x) = logsumexp_k(log w_k + log p_k(x))``, so a mixture samples with
NUTS without a discrete latent variable.

References
----------
McLachlan, G. and Peel, D. (2000), *Finite Mixture Models*, Wiley, ch. 1;
PyMC, ``pymc.Mixture`` (the user interface).

Examples
--------
>>> import posteria as pa
>>> d = pa.NormalMixture.dist(w=[0.3, 0.7], mu=[-1.0, 2.0], sigma=[1.0, 0.5])
>>> round(float(pa.logp(d, 2.0)), 6)
-0.580089
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from posteria.distributions import constraints
from posteria.distributions.base import BoundDistribution, Distribution, _param_node, _show
from posteria.distributions.continuous import Normal
from posteria.errors import ModelError
from posteria.model.graph import depends_on, evaluate
from posteria.model.variables import DistributionNode, RandomVariable

Components = BoundDistribution | Sequence[BoundDistribution]


class Mixture(Distribution):
    """Mixture of unnamed distributions with weights ``w``.

    Parameters
    ----------
    w : array_like
        Mixture weights, a probability vector along the last axis (one entry
        per component); leading axes are batch axes.
    comp_dists : list of distributions, or one distribution
        Either a list of scalar-valued unnamed distributions (made with
        ``.dist()``), or one unnamed distribution whose last axis indexes the
        components.

    Notes
    -----
    The support is the union of the components' supports: positive
    components give a positive mixture (sampled on the log scale); a real
    component makes the mixture real. Bounded supports combine into the
    smallest interval that holds them all. Discrete and continuous
    components cannot be mixed.

    Examples
    --------
    >>> import numpy as np
    >>> import posteria as pa
    >>> comps = [pa.Normal.dist(0.0, 1.0), pa.Normal.dist(5.0, 2.0)]
    >>> with pa.Model():
    ...     y = pa.Mixture("y", w=[0.4, 0.6], comp_dists=comps, observed=np.array([0.1, 4.0, 5.5]))
    >>> y.shape
    (3,)
    >>> round(float(pa.logp(pa.Mixture.dist(w=[0.4, 0.6], comp_dists=comps), 0.1)), 6)
    -1.803434
    """

    params = ("w", "comp_dists")
    param_constraints = {"w": constraints.simplex}
    support = constraints.real
    support_depends_on_params = True

    @classmethod
    def canonical_params(cls, name, *args, **kwargs):
        values = super().canonical_params(name, *args, **kwargs)
        comps = values["comp_dists"]
        listed = isinstance(comps, (list, tuple))
        for comp in comps if listed else [comps]:
            if not isinstance(comp, DistributionNode):
                raise TypeError(
                    f"comp_dists of {name} must be unnamed distributions made with .dist() "
                    f"(e.g. pa.Normal.dist(0, 1)), got {type(comp).__name__}"
                )
            if comp.family.event_ndim:
                raise ModelError(
                    f"comp_dists of {name} must be scalar-valued distributions, got the "
                    f"multivariate {comp.family.__name__}"
                )
        if listed and not comps:
            raise ModelError(f"comp_dists of {name} is an empty list")
        return {"w": _weights_node(name, values["w"]), "comp_dists": list(comps) if listed else comps}

    @classmethod
    def _make_node(cls, name, args, kwargs, shape, observed=None):
        node = super()._make_node(name, args, kwargs, shape, observed)
        _check_supports(name, node.params["comp_dists"])
        return node

    @classmethod
    def shape_from_params(cls, w: tuple[int, ...], comp_dists) -> tuple[int, ...]:
        """The mixture's shape from the shapes of ``w`` and the components.

        ``comp_dists`` is a list of shapes (one per listed component) or the
        shape of one stacked distribution.
        """
        if isinstance(comp_dists, list):
            if w[-1] != len(comp_dists):
                raise ValueError(f"w has {w[-1]} weights but {len(comp_dists)} components were given")
            parts = [w[:-1], *comp_dists]
        else:
            if not comp_dists:
                raise ValueError(
                    "comp_dists is one scalar distribution; its last axis must index the "
                    "components (give it shape=K) or pass a list of distributions"
                )
            if w[-1] != comp_dists[-1] and 1 not in (w[-1], comp_dists[-1]):
                raise ValueError(f"w has {w[-1]} weights but comp_dists has {comp_dists[-1]} components")
            parts = [w[:-1], comp_dists[:-1]]
        try:
            return tuple(jnp.broadcast_shapes(*parts))
        except ValueError:
            raise ValueError(f"the batch shapes of w and the components {parts} do not broadcast") from None

    @classmethod
    def support_of(cls, w, comp_dists):
        return union_support([c.support for c in _as_list(comp_dists)])

    @staticmethod
    def logp(value, w, comp_dists):
        value = jnp.asarray(value)
        if isinstance(comp_dists, BoundDistribution):
            logps = comp_dists.logp(value[..., None])
        else:
            logps = jnp.stack(jnp.broadcast_arrays(*[c.logp(value) for c in comp_dists]), axis=-1)
        return logsumexp(jnp.log(w) + logps, axis=-1)

    @staticmethod
    def random(key, shape, w, comp_dists):
        key_index, key_comp = jax.random.split(key)
        index = jax.random.categorical(key_index, jnp.log(w), shape=shape)
        if isinstance(comp_dists, BoundDistribution):
            num = max(w.shape[-1], comp_dists.shape[-1])
            draws = comp_dists.random(key_comp, (*shape, num))
        else:
            keys = jax.random.split(key_comp, len(comp_dists))
            draws = jnp.stack([c.random(k, shape) for c, k in zip(comp_dists, keys)], axis=-1)
        return jnp.take_along_axis(draws, index[..., None], axis=-1)[..., 0]

    @staticmethod
    def mean(w, comp_dists):
        return jnp.sum(w * _component_stat(comp_dists, lambda c: c.mean()), axis=-1)

    @staticmethod
    def variance(w, comp_dists):
        means = _component_stat(comp_dists, lambda c: c.mean())
        second = _component_stat(comp_dists, lambda c: c.variance()) + means**2
        return jnp.sum(w * second, axis=-1) - jnp.sum(w * means, axis=-1) ** 2

    @classmethod
    def support_point(cls, w, comp_dists):
        """The weighted average of the components' support points."""
        return jnp.sum(w * _component_stat(comp_dists, lambda c: c.support_point()), axis=-1)


class NormalMixture(Distribution):
    """Mixture of normals; the last axis of ``w``, ``mu`` and ``sigma`` (or ``tau``) indexes the components.

    Parameters
    ----------
    w : array_like
        Mixture weights, a probability vector along the last axis.
    mu, sigma : array_like
        Component means and standard deviations (``tau = sigma**-2`` instead of ``sigma``).

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     x = pa.NormalMixture("x", w=[0.5, 0.5], mu=[-2.0, 2.0], sigma=1.0, shape=4)
    >>> x.shape
    (4,)
    """

    params = ("w", "mu", "sigma")
    param_constraints = {"w": constraints.simplex, "sigma": constraints.positive}
    support = constraints.real

    @classmethod
    def canonical_params(cls, name, *args, tau=None, **kwargs):
        if tau is not None:
            if "sigma" in kwargs or len(args) > 2:
                raise TypeError(f"NormalMixture {name!r}: give sigma or tau, not both")
            kwargs["sigma"] = _param_node(tau) ** -0.5
        values = super().canonical_params(name, *args, **kwargs)
        return {key: _weights_node(name, value) if key == "w" else _param_node(value) for key, value in values.items()}

    @classmethod
    def param_defaults(cls):
        return {"sigma": 1.0}

    @classmethod
    def shape_from_params(cls, w, mu, sigma):
        return tuple(jnp.broadcast_shapes(w, mu, sigma))[:-1]

    @staticmethod
    def logp(value, w, mu, sigma):
        return logsumexp(jnp.log(w) + Normal.logp(jnp.asarray(value)[..., None], mu, sigma), axis=-1)

    @staticmethod
    def random(key, shape, w, mu, sigma):
        key_index, key_normal = jax.random.split(key)
        index = jax.random.categorical(key_index, jnp.log(w), shape=shape)[..., None]
        full = (*shape, jnp.broadcast_shapes(w.shape, mu.shape, sigma.shape)[-1])
        loc = jnp.take_along_axis(jnp.broadcast_to(mu, full), index, axis=-1)[..., 0]
        scale = jnp.take_along_axis(jnp.broadcast_to(sigma, full), index, axis=-1)[..., 0]
        return loc + scale * jax.random.normal(key_normal, shape)

    @staticmethod
    def mean(w, mu, sigma):
        return jnp.sum(w * jnp.broadcast_to(mu, jnp.broadcast_shapes(w.shape, mu.shape, sigma.shape)), axis=-1)

    @staticmethod
    def variance(w, mu, sigma):
        mean = NormalMixture.mean(w, mu, sigma)
        return jnp.sum(w * (sigma**2 + mu**2), axis=-1) - mean**2


def union_support(supports: Sequence[constraints.Constraint]) -> constraints.Constraint:
    """The support of a mixture: the union of its components' scalar supports.

    Identical supports are kept; otherwise lower and upper bounds combine
    into the smallest (half-)line or interval that holds every component's
    support (a component on the whole real line makes the mixture real).

    Parameters
    ----------
    supports : sequence of Constraint
        The components' supports (scalar, ``event_dim == 0``).

    Returns
    -------
    Constraint

    Raises
    ------
    ModelError
        If discrete and continuous supports are mixed, or a support has no
        known bounds (e.g. a discrete support unbounded below).

    Examples
    --------
    >>> from posteria.distributions import constraints
    >>> union_support([constraints.positive, constraints.positive]).name
    'positive'
    >>> union_support([constraints.positive, constraints.real]).name
    'real'
    >>> c = union_support([constraints.unit_interval, constraints.interval(0.5, 3.0)])
    >>> c.name, float(c.lower), float(c.upper)
    ('interval', 0.0, 3.0)
    """
    names = [s.name for s in supports]
    if len(set(names)) == 1 and names[0] in _FIXED:
        return supports[0]
    if len({bool(s.is_discrete) for s in supports}) > 1:
        raise ModelError(f"a mixture cannot combine discrete and continuous components (supports: {', '.join(names)})")
    unknown = [n for n in names if n not in _BOUNDS]
    if unknown:
        raise ModelError(f"no union is known for mixture components with supports {', '.join(names)}")
    bounds = [_BOUNDS[s.name](s) for s in supports]
    lowers, uppers = [b[0] for b in bounds], [b[1] for b in bounds]
    lower = None if any(b is None for b in lowers) else functools.reduce(jnp.minimum, lowers)
    upper = None if any(b is None for b in uppers) else functools.reduce(jnp.maximum, uppers)
    if supports[0].is_discrete:
        if lower is None:
            raise ModelError(f"no union is known for discrete mixture components with supports {', '.join(names)}")
        return constraints.integer_greater_than_eq(lower) if upper is None else constraints.integer_interval(lower, upper)
    if lower is None:
        return constraints.real if upper is None else constraints.less_than(upper)
    return constraints.greater_than_eq(lower) if upper is None else constraints.interval(lower, upper)


# Supports without parameters: identical ones are their own union.
_FIXED = {"real", "positive", "nonnegative", "unit_interval", "nonnegative_integer", "positive_integer", "boolean"}

# (lower, upper) of each scalar support; None is unbounded.
_BOUNDS: dict[str, Callable[[Any], tuple[Any, Any]]] = {
    "real": lambda c: (None, None),
    "positive": lambda c: (0.0, None),
    "nonnegative": lambda c: (0.0, None),
    "greater_than": lambda c: (c.lower, None),
    "greater_than_eq": lambda c: (c.lower, None),
    "less_than": lambda c: (None, c.upper),
    "interval": lambda c: (c.lower, c.upper),
    "unit_interval": lambda c: (0.0, 1.0),
    "nonnegative_integer": lambda c: (0, None),
    "positive_integer": lambda c: (1, None),
    "integer_greater_than_eq": lambda c: (c.lower, None),
    "integer_interval": lambda c: (c.lower, c.upper),
    "boolean": lambda c: (0, 1),
}


def _weights_node(name: str, w: Any):
    """``w`` as a graph node, checked to have a component axis and, when constant, to be a probability vector."""
    node = _param_node(w)
    if not node.shape:
        raise ModelError(f"w of {name} must be a vector of weights (its last axis indexes the components), got a scalar")
    if not depends_on(node, RandomVariable):
        value = np.asarray(evaluate([node], {})[0])
        ok = np.asarray(constraints.simplex.check(value))
        if not np.all(ok):
            first = tuple(int(i) for i in np.argwhere(~ok)[0]) if ok.ndim else ()
            where = f" at index {first}" if first else ""
            raise ModelError(
                f"w of {name} must be a probability vector (non-negative, summing to 1) along its last axis, "
                f"got {_show(value[first])}{where}"
            )
    return node


def _as_list(comp_dists: Any) -> list:
    return list(comp_dists) if isinstance(comp_dists, (list, tuple)) else [comp_dists]


def _component_stat(comp_dists: Components, stat: Callable[[BoundDistribution], Any]) -> jax.Array:
    """A per-component statistic with the components on the last axis."""
    if isinstance(comp_dists, BoundDistribution):
        return jnp.asarray(stat(comp_dists))
    return jnp.stack(jnp.broadcast_arrays(*[jnp.asarray(stat(c)) for c in comp_dists]), axis=-1)


def _check_supports(name: str, comp_dists: Any) -> None:
    """Fail at definition when the components' supports have no union."""
    supports = []
    for comp in _as_list(comp_dists):
        if not depends_on(comp, RandomVariable):
            supports.append(evaluate([comp], {})[0].support)
        elif not comp.family.support_depends_on_params:
            supports.append(comp.family.support)
    if supports:
        try:
            union_support(supports)
        except ModelError as err:
            raise ModelError(f"comp_dists of {name}: {err}") from None
