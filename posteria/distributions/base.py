"""The base of every distribution family.

A family is a class with pure JAX functions of its parameters::

    class Normal(Distribution):
        params = ("mu", "sigma")
        param_constraints = {"sigma": constraints.positive}
        support = constraints.real

        @staticmethod
        def logp(value, mu, sigma): ...         # elementwise (event axes summed)
        @staticmethod
        def random(key, shape, mu, sigma): ...  # draws of exactly ``shape``
        @staticmethod
        def mean(mu, sigma): ...
        @staticmethod
        def variance(mu, sigma): ...

Calling the class inside a model creates a named random variable, as in
PyMC: ``pa.Normal("x", mu=0, sigma=1)``; ``pa.Normal.dist(0, 1)`` makes an
unnamed distribution for ``init_dist=``, mixture components and
:func:`logp`. Parameters may be numbers, arrays or model expressions.
Constant parameters are validated at once: ``pa.Normal("y", 0, -1)`` fails
with "sigma of y must be positive, got -1.0".
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from posteria.distributions import constraints
from posteria.errors import ModelError
from posteria.model.core import Model, _to_array, modelcontext
from posteria.model.graph import Constant, Node, Variable, as_node, depends_on, evaluate
from posteria.model.variables import DEFAULT_TRANSFORM, DistributionNode, RandomVariable


class BoundDistribution:
    """A family with evaluated parameters: what a distribution node computes to."""

    __slots__ = ("family", "params", "shape")

    def __init__(self, family: type["Distribution"], params: dict[str, Any], shape: tuple[int, ...]):
        self.family = family
        self.params = params
        self.shape = shape

    def logp(self, value):
        """Elementwise log density of ``value`` (event axes summed)."""
        return self.family.logp(value, **self.params)

    def random(self, key, shape: tuple[int, ...] | None = None):
        """Draws of ``shape`` (default: the distribution's own shape)."""
        return self.family.random(key, tuple(self.shape if shape is None else shape), **self.params)

    @property
    def support(self) -> constraints.Constraint:
        return self.family.support_of(**self.params)

    def mean(self):
        return self.family.mean(**self.params)

    def variance(self):
        return self.family.variance(**self.params)

    def support_point(self):
        return self.family.support_point(**self.params)


class Distribution:
    """Base class of distribution families (see the module docstring)."""

    params: ClassVar[tuple[str, ...]] = ()
    param_constraints: ClassVar[dict[str, constraints.Constraint]] = {}
    support: ClassVar[constraints.Constraint] = constraints.real
    support_depends_on_params: ClassVar[bool] = False
    event_ndim: ClassVar[int] = 0
    is_discrete: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.support.is_discrete:  # a discrete support makes the family discrete
            cls.is_discrete = True

    # -- user-facing constructors -----------------------------------------
    def __new__(
        cls,
        name: str,
        *args: Any,
        shape: Any = None,
        size: Any = None,
        dims: Any = None,
        observed: Any = None,
        initval: Any = None,
        transform: Any = DEFAULT_TRANSFORM,
        default_transform: Any = DEFAULT_TRANSFORM,
        model: Model | None = None,
        total_size: Any = None,
        **kwargs: Any,
    ) -> RandomVariable:
        if not isinstance(name, str):
            raise TypeError(
                f"{cls.__name__} needs a name as its first argument, e.g. pa.{cls.__name__}('x', ...); "
                f"for an unnamed distribution use pa.{cls.__name__}.dist(...)"
            )
        model = modelcontext(model, what=f"pa.{cls.__name__}({name!r}) (unnamed: pa.{cls.__name__}.dist(...))")
        if name in model.named_vars:
            raise ModelError(f"variable name {name!r} is already used in this model")
        if isinstance(dims, str):
            dims = (dims,)
        if shape is None and size is not None:
            shape = size
        if shape is None and dims is not None:
            shape = model.shape_from_dims(name, dims)
        observed_node = None if observed is None else _observed_node(name, observed)
        dist = cls._make_node(name, args, kwargs, shape, observed_node)
        if observed_node is not None:
            _check_observed(name, dist, observed_node)
        transform = _choose_transform(transform, default_transform)
        rv = RandomVariable(name, dist, observed=observed_node, transform=transform, initval=initval)
        return model.register(rv, dims=dims)

    @classmethod
    def dist(cls, *args: Any, shape: Any = None, size: Any = None, **kwargs: Any) -> DistributionNode:
        """An unnamed distribution, e.g. ``pa.Normal.dist(0, 1)``.

        Examples
        --------
        >>> import posteria as pa
        >>> d = pa.Normal.dist(mu=0.0, sigma=2.0, shape=3)
        >>> d.shape
        (3,)
        """
        return cls._make_node(f"{cls.__name__}.dist", args, kwargs, shape if shape is not None else size)

    @classmethod
    def _make_node(cls, name: str, args: tuple, kwargs: dict, shape: Any, observed: Variable | None = None) -> DistributionNode:
        kwargs = dict(kwargs)
        options = cls.shape_options(name, kwargs)
        raw = cls.canonical_params(name, *args, **kwargs)
        params = jax.tree_util.tree_map(_param_node, raw, is_leaf=lambda x: isinstance(x, (Node, list, tuple)))
        cls._validate_constant_params(name, params)
        explicit = None if shape is None else _as_shape(shape)

        def shape_fn(after_data_change: bool = False):  # called again after pa.set_data
            return cls._node_shape(name, params, explicit, observed, after_data_change, **options)

        return DistributionNode(cls, params, shape_fn(), shape_fn)

    @classmethod
    def shape_options(cls, name: str, kwargs: dict) -> dict[str, Any]:
        """Pop family-specific shape arguments from ``kwargs`` (a series' ``steps``); none by default."""
        return {}

    @classmethod
    def _node_shape(cls, name: str, params: dict, explicit: tuple[int, ...] | None, observed: Variable | None,
                    after_data_change: bool) -> tuple[int, ...]:
        """The variable's shape: explicit, else the observed data's, else the parameters'."""
        if observed is None:
            return cls._resolve_shape(name, params, explicit)
        if explicit is not None:
            try:
                return cls._resolve_shape(name, params, explicit)
            except ModelError:
                # pa.set_data gave new inputs: PyMC's `shape=x.shape[0]` follows them
                if not after_data_change:
                    raise
        natural = cls._resolve_shape(name, params, None)
        try:
            fits = tuple(jnp.broadcast_shapes(natural, observed.shape)) == tuple(observed.shape)
        except ValueError:
            fits = False
        # the observed data set the shape; when pa.set_data changed the inputs only,
        # predictions take the parameters' shape
        return tuple(observed.shape) if fits else natural

    # -- parameters ------------------------------------------------------------
    @classmethod
    def canonical_params(cls, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Map PyMC-style positional and keyword arguments onto ``cls.params``.

        Families with alternative parametrisations (``p`` or ``logit_p``)
        override this and convert to their canonical parameters.
        """
        if len(args) > len(cls.params):
            raise TypeError(f"{cls.__name__} {name!r} takes at most {len(cls.params)} parameters {cls.params}, got {len(args)}")
        values = dict(zip(cls.params, args))
        for key, value in kwargs.items():
            if key not in cls.params:
                raise TypeError(_unknown_keyword(cls, name, key, cls.params))
            if key in values:
                raise TypeError(f"{cls.__name__} {name!r} got parameter {key!r} twice")
            values[key] = value
        missing = [p for p in cls.params if p not in values and p not in cls.param_defaults()]
        if missing:
            raise TypeError(f"{cls.__name__} {name!r} is missing parameter(s) {missing}")
        return {p: values.get(p, cls.param_defaults().get(p)) for p in cls.params}

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """Defaults for optional parameters (e.g. ``mu=0`` of Normal)."""
        return {}

    @classmethod
    def _validate_constant_params(cls, name: str, params: dict[str, Any]) -> None:
        for key, constraint in cls.param_constraints.items():
            node = params.get(key)
            if not isinstance(node, Variable) or depends_on(node, RandomVariable):
                continue
            value = np.asarray(evaluate([node], {})[0])
            if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
                raise ModelError(f"{key} of {name} must be finite, got {_show(value)}")
            ok = np.asarray(constraint.check(value))
            if not np.all(ok):
                if value.ndim == 0:
                    bad = value
                elif constraint.event_dim:
                    bad = value[~ok]
                else:
                    bad = value[~np.broadcast_to(ok, value.shape)]
                raise ModelError(f"{key} of {name} must be {_describe(constraint)}, got {_show(bad)}")

    # -- shapes --------------------------------------------------------------
    @classmethod
    def shape_from_params(cls, **param_shapes: tuple[int, ...]) -> tuple[int, ...]:
        """The shape the parameters imply (default: their broadcast shape)."""
        return tuple(jnp.broadcast_shapes(*param_shapes.values())) if param_shapes else ()

    @classmethod
    def _resolve_shape(cls, name: str, params: dict[str, Any], explicit: tuple[int, ...] | None) -> tuple[int, ...]:
        shapes = {k: _shape_of(v) for k, v in params.items() if _shape_of(v) is not None}
        try:
            natural = tuple(cls.shape_from_params(**shapes))
        except ValueError as err:
            raise ModelError(f"shape mismatch in {name}: parameter shapes {shapes} do not fit together ({err})") from None
        return fit_explicit_shape(name, natural, explicit, cls.event_ndim, shapes)

    # -- the family's functions (override) -------------------------------------
    @classmethod
    def bind(cls, params: dict[str, Any], shape: tuple[int, ...]) -> BoundDistribution:
        """This family with evaluated parameters."""
        return BoundDistribution(cls, params, shape)

    @classmethod
    def support_of(cls, **params: Any) -> constraints.Constraint:
        """The support for these parameters (override, and set ``support_depends_on_params``, when it depends on them)."""
        return cls.support

    @staticmethod
    def logp(value, **params):
        raise NotImplementedError

    @staticmethod
    def random(key, shape, **params):
        raise NotImplementedError

    @staticmethod
    def mean(**params):
        raise NotImplementedError

    @staticmethod
    def variance(**params):
        raise NotImplementedError

    @classmethod
    def support_point(cls, **params):
        """A central point of the support: the starting value of a free variable."""
        return cls.mean(**params)


def logp(dist: DistributionNode | RandomVariable, value: Any) -> jax.Array:
    """Elementwise log density of an unnamed distribution (or variable) at ``value``.

    Examples
    --------
    >>> import posteria as pa
    >>> round(float(pa.logp(pa.Normal.dist(0.0, 1.0), 0.0)), 6)
    -0.918939
    """
    node = dist.dist if isinstance(dist, RandomVariable) else dist
    if depends_on(node, RandomVariable):
        raise ModelError("pa.logp needs a distribution whose parameters are constants")
    bound = evaluate([node], {})[0]
    return bound.logp(jnp.asarray(value))


def draw(dist: DistributionNode, draws: int | None = None, random_seed: int | None = None) -> np.ndarray:
    """Random draws from an unnamed distribution with constant parameters.

    Examples
    --------
    >>> import posteria as pa
    >>> pa.draw(pa.Normal.dist(0.0, 1.0, shape=2), draws=5, random_seed=1).shape
    (5, 2)
    """
    node = dist.dist if isinstance(dist, RandomVariable) else dist
    bound = evaluate([node], {})[0]
    key = jax.random.key(0 if random_seed is None else random_seed)
    shape = bound.shape if draws is None else (draws, *bound.shape)
    return np.asarray(bound.random(key, shape))


# -- helpers -------------------------------------------------------------------
def fit_explicit_shape(name: str, natural: tuple[int, ...], explicit: tuple[int, ...] | None, event_ndim: int,
                       shapes: dict) -> tuple[int, ...]:
    """``explicit`` if the parameters' shape fits it (same event axes, batch broadcasting), else ModelError."""
    if explicit is None:
        return natural
    split, explicit_split = len(natural) - event_ndim, len(explicit) - event_ndim
    try:
        fits = (natural[split:] == explicit[explicit_split:]
                and tuple(jnp.broadcast_shapes(natural[:split], explicit[:explicit_split])) == explicit[:explicit_split])
    except ValueError:
        fits = False
    if not fits:
        raise ModelError(
            f"shape mismatch in {name}: its parameters have shape {natural} "
            f"({', '.join(f'{k} {s}' for k, s in shapes.items())}), which does not fit shape {explicit}"
        )
    return explicit


def _shape_of(param: Any) -> Any:
    """A parameter's shape; a list of distributions gives a list of shapes; None for static values."""
    if isinstance(param, list):
        return [p.shape for p in param]
    return param.shape if isinstance(param, (Variable, DistributionNode)) else None


def _param_node(value: Any) -> Any:
    if value is None or isinstance(value, Node):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Node) for v in value):
        return as_node(value) if all(isinstance(v, Variable) or not isinstance(v, Node) for v in value) else list(value)
    array = _to_array(value, "parameter")
    if array.dtype.kind in "iu" and array.ndim == 0:
        array = array.astype(np.float64)
    return Constant(array)


def _as_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, Variable):
        raise ModelError("shape must be concrete integers; use .shape of a variable (a tuple) instead")
    if np.ndim(shape) == 0:
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _observed_node(name: str, observed: Any) -> Variable:
    if isinstance(observed, Variable):
        if depends_on(observed, RandomVariable):
            raise ModelError(f"observed data of {name} must not depend on random variables")
        value = np.asarray(evaluate([observed], {})[0])
        node = observed
    else:
        value = _to_array(observed, f"observed data of {name}")
        node = Constant(value, name=name)
    if not np.issubdtype(value.dtype, np.number):
        raise TypeError(f"observed data of {name} must be numeric, got dtype {value.dtype}")
    bad = ~np.isfinite(value)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ModelError(
            f"observed data of {name} contains {int(bad.sum())} NaN or inf value(s) (first at index {first}); "
            "remove them or model the missing values explicitly"
        )
    return node


def _check_observed(name: str, dist: DistributionNode, observed: Variable) -> None:
    try:
        shape = tuple(jnp.broadcast_shapes(dist.shape, observed.shape))
    except ValueError:
        shape = None
    if shape != tuple(observed.shape):
        raise ModelError(
            f"shape mismatch in {name}: its parameters have shape {dist.shape} but the observed data have shape {observed.shape}"
        )
    if not depends_on(dist, RandomVariable):
        support = evaluate([dist], {})[0].support
    else:
        # with random bounds, check the family's parameter-free support (a superset);
        # the log density is -inf outside the actual bounds
        support = dist.family.support
    value = np.asarray(evaluate([observed], {})[0])
    ok = np.broadcast_to(np.asarray(support.check(value)), value.shape[: value.ndim - support.event_dim])
    if not np.all(ok):
        first = tuple(int(i) for i in np.argwhere(~ok)[0])
        raise ModelError(
            f"observed data of {name} lie outside the support of {dist.family.__name__} "
            f"({_describe(support)}): {_show(value[first])} at index {first}"
        )


def _choose_transform(transform: Any, default_transform: Any) -> Any:
    """Combine PyMC's ``transform`` and ``default_transform`` arguments.

    ``default_transform=None`` samples the variable as it is; a ``transform``
    replaces the support's default transform.
    """
    if transform is not DEFAULT_TRANSFORM and transform is not None:
        return transform
    return default_transform if default_transform is not DEFAULT_TRANSFORM else DEFAULT_TRANSFORM


def _unknown_keyword(cls: type, name: str, key: str, known: tuple[str, ...]) -> str:
    hint = difflib.get_close_matches(key, known, n=1)
    aliases = {"sd": "sigma", "tau": "sigma (or tau where the family has it)", "lam": "lam", "size": "shape"}
    suggestion = f"; did you mean {hint[0]!r}?" if hint else (f"; did you mean {aliases[key]!r}?" if key in aliases else "")
    return f"{cls.__name__} {name!r} got an unexpected keyword argument {key!r} (parameters: {', '.join(known)}){suggestion}"


def _describe(constraint: constraints.Constraint) -> str:
    words = {
        "positive": "positive",
        "nonnegative": "non-negative",
        "unit_interval": "in [0, 1]",
        "real": "a finite real number",
        "simplex": "a probability vector (non-negative, summing to 1)",
        "nonnegative_integer": "a non-negative integer",
        "positive_integer": "a positive integer",
        "boolean": "0 or 1",
        "positive_definite": "a symmetric positive-definite matrix",
    }
    return words.get(constraint.name, constraint.name.replace("_", " "))


def _show(value: Any) -> str:
    array = np.asarray(value)
    if array.size == 1:
        return repr(float(array.reshape(())))
    return np.array2string(array.ravel()[:5], precision=4) + (" ..." if array.size > 5 else "")
