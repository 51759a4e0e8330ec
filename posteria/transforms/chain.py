"""Composition of transforms, ordered as PyMC's ``Chain``.

References
----------
PyMC, ``pymc.distributions.transforms.Chain`` (list order = the order in which
the transforms are applied to a constrained value on its way to the
unconstrained space).

Examples
--------
>>> import jax.numpy as jnp
>>> from posteria.transforms import Chain, log, ordered
>>> positive_ordered = Chain([log, ordered])
>>> positive_ordered.forward(jnp.array([0.0, 0.0])).round(6).tolist()
[1.0, 2.718282]
"""

from __future__ import annotations

from typing import Sequence

import jax.numpy as jnp

from posteria.transforms.bijectors import Transform


class Chain(Transform):
    """The composition ``t_1 o t_2 o ... o t_n`` of ``Chain([t_1, ..., t_n])``.

    ``inverse`` (constrained -> unconstrained) applies ``t_1.inverse`` first,
    then ``t_2.inverse``, ..., as PyMC's ``Chain`` applies its list;
    ``forward`` therefore applies ``t_n.forward`` first and ``t_1.forward``
    last. So ``Chain([log, ordered])`` makes positive increasing vectors:
    ``ordered`` builds an increasing vector from reals and ``log`` (whose
    forward is ``exp``) makes it positive. The log Jacobian is the sum of the
    members' log Jacobians at their own inputs, each summed over the event
    axes of the chain.

    Parameters
    ----------
    transform_list : sequence of Transform
        Members, constrained side first.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from posteria.transforms import Chain, Interval, ordered
    >>> t = Chain([Interval(0.0, 1.0), ordered])
    >>> t.event_dim
    1
    >>> y = t.forward(jnp.array([-1.0, 0.5, 0.5]))
    >>> bool(jnp.all(jnp.diff(y) > 0) & (y[0] > 0) & (y[-1] < 1))
    True
    >>> t.inverse(y).round(6).tolist()
    [-1.0, 0.5, 0.5]
    """

    def __init__(self, transform_list: Sequence[Transform]):
        self.transform_list = list(transform_list)
        if not self.transform_list:
            raise ValueError("Chain needs at least one transform")
        self.name = "chain(" + ", ".join(t.name for t in self.transform_list) + ")"
        # Event axes seen at each stage: a member consumes its own event axes and
        # passes any extra ones through.
        num_axes = 0
        for transform in self.transform_list:
            num_axes = transform.unconstrained_event_dim + max(0, num_axes - transform.event_dim)
        self.unconstrained_event_dim = num_axes
        for transform in reversed(self.transform_list):
            num_axes = transform.event_dim + max(0, num_axes - transform.unconstrained_event_dim)
        self.event_dim = num_axes

    def forward(self, x):
        for transform in reversed(self.transform_list):
            x = transform.forward(x)
        return x

    def inverse(self, y):
        for transform in self.transform_list:
            y = transform.inverse(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        num_batch_axes = jnp.ndim(y) - self.event_dim
        total = 0.0
        for transform in reversed(self.transform_list):
            out = transform.forward(x)
            term = transform.log_abs_det_jacobian(x, out)
            total = total + jnp.sum(term, axis=tuple(range(num_batch_axes, jnp.ndim(term))))
            x = out
        return total

    def unconstrained_shape(self, shape: tuple) -> tuple:
        for transform in self.transform_list:
            shape = transform.unconstrained_shape(shape)
        return tuple(shape)

    def constrained_shape(self, shape: tuple) -> tuple:
        for transform in reversed(self.transform_list):
            shape = transform.constrained_shape(shape)
        return tuple(shape)
