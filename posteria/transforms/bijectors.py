"""Bijectors from the real line (or R^n) onto a support, with their log Jacobians.

Every transform maps an *unconstrained* value ``x`` to a *constrained* value
``y = forward(x)``. ``log_abs_det_jacobian(x, y)`` is ``log |det d forward / dx|``
summed over the event axes, so that a log density ``log p(y)`` on the support
becomes ``log p(forward(x)) + log_abs_det_jacobian(x, forward(x))`` over the
unconstrained space. All methods are pure ``jax.numpy``, jit-able, and accept
leading batch axes.

The parameterless transforms are module-level instances, named as in PyMC
(``log``, ``logodds``, ``ordered``); bounded ones are classes
(``Interval(lower, upper)``, ``LowerBound(lower)``, ``UpperBound(upper)``).

References
----------
Stan Development Team, *Stan Reference Manual*, chapter "Constraint
Transforms" (lower/upper bounds, logit interval, ordered vectors).

Examples
--------
>>> from posteria.transforms import log, Interval
>>> float(log.forward(0.0))
1.0
>>> round(float(Interval(0.0, 10.0).forward(0.0)), 6)
5.0
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


class Transform:
    """Base class of all bijectors (unconstrained -> constrained).

    Attributes
    ----------
    name : str
        Short name (shown in reprs and used by the model to name values).
    event_dim : int
        Trailing axes that one constrained value spans (0 elementwise,
        1 for vectors, 2 for matrices).
    unconstrained_event_dim : int
        Trailing axes that one unconstrained value spans (1 for a Cholesky
        factor, packed as a vector of its free entries).

    Examples
    --------
    >>> from posteria.transforms import Transform, identity
    >>> isinstance(identity, Transform)
    True
    >>> identity.unconstrained_shape((3, 2))
    (3, 2)
    """

    name: str = "transform"
    event_dim: int = 0
    unconstrained_event_dim: int = 0

    def forward(self, x):
        """Map an unconstrained value ``x`` to the support.

        Parameters
        ----------
        x : array_like
            Unconstrained value, shape ``batch + unconstrained event shape``.

        Returns
        -------
        jax.Array
            Constrained value, shape ``batch + constrained event shape``.
        """
        raise NotImplementedError

    def inverse(self, y):
        """Map a value ``y`` in the support to the unconstrained space.

        Parameters
        ----------
        y : array_like
            Constrained value, shape ``batch + constrained event shape``.

        Returns
        -------
        jax.Array
            Unconstrained value ``x`` with ``forward(x) == y``.
        """
        raise NotImplementedError

    def log_abs_det_jacobian(self, x, y):
        """``log |det d forward / dx|`` at ``x``, summed over the event axes.

        Parameters
        ----------
        x : array_like
            Unconstrained value.
        y : array_like
            ``forward(x)`` (transforms that can use it avoid recomputing it).

        Returns
        -------
        jax.Array
            Array of the batch shape (``y.shape[:y.ndim - event_dim]``).
        """
        raise NotImplementedError

    def unconstrained_shape(self, shape: tuple) -> tuple:
        """Shape of the unconstrained value for a constrained value of ``shape``.

        Parameters
        ----------
        shape : tuple of int
            Constrained shape.

        Returns
        -------
        tuple of int
        """
        return tuple(shape)

    def constrained_shape(self, shape: tuple) -> tuple:
        """Shape of the constrained value for an unconstrained value of ``shape``.

        Parameters
        ----------
        shape : tuple of int
            Unconstrained shape.

        Returns
        -------
        tuple of int
        """
        return tuple(shape)

    def __repr__(self) -> str:
        return self.name


def _event_axis_size(shape: tuple, transform: Transform) -> int:
    """The last axis of ``shape``; raises if there is none."""
    if len(shape) < 1:
        raise ValueError(f"transform {transform.name} needs a vector value, got shape {tuple(shape)}")
    return shape[-1]


class IdentityTransform(Transform):
    """The identity map (real values need no transform).

    Examples
    --------
    >>> from posteria.transforms import identity
    >>> float(identity.forward(-2.5)), float(identity.log_abs_det_jacobian(-2.5, -2.5))
    (-2.5, 0.0)
    """

    name = "identity"

    def forward(self, x):
        return jnp.asarray(x)

    def inverse(self, y):
        return jnp.asarray(y)

    def log_abs_det_jacobian(self, x, y):
        return jnp.zeros(jnp.shape(x), dtype=jnp.result_type(x, float))


class LogTransform(Transform):
    """Positive reals: ``y = exp(x)``, log Jacobian ``x``.

    Examples
    --------
    >>> from posteria.transforms import log
    >>> round(float(log.inverse(2.0)), 6)
    0.693147
    >>> float(log.log_abs_det_jacobian(1.5, log.forward(1.5)))
    1.5
    """

    name = "log"

    def forward(self, x):
        return jnp.exp(x)

    def inverse(self, y):
        return jnp.log(y)

    def log_abs_det_jacobian(self, x, y):
        return jnp.asarray(x, dtype=jnp.result_type(x, float))


class LowerBound(Transform):
    """Values above ``lower``: ``y = lower + exp(x)``.

    Parameters
    ----------
    lower : array_like
        Lower bound; broadcasts against the value (may be a traced array).

    Examples
    --------
    >>> from posteria.transforms import LowerBound
    >>> float(LowerBound(2.0).forward(0.0))
    3.0
    """

    name = "lower_bound"

    def __init__(self, lower):
        self.lower = lower

    def forward(self, x):
        return self.lower + jnp.exp(x)

    def inverse(self, y):
        return jnp.log(y - self.lower)

    def log_abs_det_jacobian(self, x, y):
        return jnp.broadcast_to(x, jnp.shape(y)).astype(jnp.result_type(x, float))


class UpperBound(Transform):
    """Values below ``upper``: ``y = upper - exp(x)``.

    Parameters
    ----------
    upper : array_like
        Upper bound; broadcasts against the value (may be a traced array).

    Examples
    --------
    >>> from posteria.transforms import UpperBound
    >>> float(UpperBound(2.0).forward(0.0))
    1.0
    """

    name = "upper_bound"

    def __init__(self, upper):
        self.upper = upper

    def forward(self, x):
        return self.upper - jnp.exp(x)

    def inverse(self, y):
        return jnp.log(self.upper - y)

    def log_abs_det_jacobian(self, x, y):
        return jnp.broadcast_to(x, jnp.shape(y)).astype(jnp.result_type(x, float))


class Interval(Transform):
    """Values in ``(lower, upper)``: scaled logistic ``y = lower + (upper - lower) sigmoid(x)``.

    The log Jacobian ``log(upper - lower) + log_sigmoid(x) + log_sigmoid(-x)``
    is finite for every finite ``x``.

    Parameters
    ----------
    lower, upper : array_like
        Finite bounds with ``lower < upper``; they broadcast against the value
        and may be traced arrays (the bounds of a ``Uniform`` evaluated inside
        a log density).

    Examples
    --------
    >>> from posteria.transforms import Interval
    >>> t = Interval(-1.0, 3.0)
    >>> float(t.forward(0.0)), round(float(t.inverse(2.0)), 6)
    (1.0, 1.098612)
    """

    name = "interval"

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper

    def forward(self, x):
        return self.lower + (self.upper - self.lower) * jax.nn.sigmoid(x)

    def inverse(self, y):
        return jnp.log(y - self.lower) - jnp.log(self.upper - y)

    def log_abs_det_jacobian(self, x, y):
        log_width = jnp.log(self.upper - self.lower)
        return log_width + jax.nn.log_sigmoid(x) + jax.nn.log_sigmoid(-x)


class LogOddsTransform(Interval):
    """The unit interval: ``y = sigmoid(x)`` (``Interval(0, 1)``), inverse the log odds.

    Examples
    --------
    >>> from posteria.transforms import logodds
    >>> float(logodds.forward(0.0)), float(logodds.inverse(0.5))
    (0.5, 0.0)
    """

    name = "logodds"

    def __init__(self):
        super().__init__(0.0, 1.0)


class OrderedTransform(Transform):
    """Strictly increasing vectors: ``y_0 = x_0``, ``y_k = y_{k-1} + exp(x_k)``.

    The log Jacobian is ``sum_{k >= 1} x_k`` (the Jacobian is triangular).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import ordered
    >>> ordered.forward(jnp.array([1.0, 0.0, 0.0])).tolist()
    [1.0, 2.0, 3.0]
    >>> ordered.inverse(jnp.array([1.0, 2.0, 3.0])).tolist()
    [1.0, 0.0, 0.0]
    """

    name = "ordered"
    event_dim = 1
    unconstrained_event_dim = 1

    def forward(self, x):
        x = jnp.asarray(x)
        increments = jnp.concatenate([x[..., :1], jnp.exp(x[..., 1:])], axis=-1)
        return jnp.cumsum(increments, axis=-1)

    def inverse(self, y):
        y = jnp.asarray(y)
        return jnp.concatenate([y[..., :1], jnp.log(jnp.diff(y, axis=-1))], axis=-1)

    def log_abs_det_jacobian(self, x, y):
        return jnp.sum(jnp.asarray(x)[..., 1:], axis=-1)

    def unconstrained_shape(self, shape: tuple) -> tuple:
        _event_axis_size(shape, self)
        return tuple(shape)

    def constrained_shape(self, shape: tuple) -> tuple:
        _event_axis_size(shape, self)
        return tuple(shape)


identity = IdentityTransform()
log = LogTransform()
logodds = LogOddsTransform()
ordered = OrderedTransform()
