"""Named model quantities: random variables, unnamed distributions, data,
deterministics and potentials.

These are graph nodes (see :mod:`posteria.model.graph`); the user-facing
constructors (``pa.Data``, ``pa.Deterministic``, ``pa.Potential``) live in
:mod:`posteria.model.core`, the distribution constructors in
:mod:`posteria.distributions`.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from posteria.model.graph import Node, Variable

DEFAULT_TRANSFORM = object()  # sentinel: use the registry's transform for the support


class DistributionNode(Node):
    """An unnamed distribution (``pa.Normal.dist(0, 1)``): a family with parameter nodes.

    Its value is the family bound to evaluated parameters (``family.bind``),
    which has ``logp(value)``, ``random(key, shape)`` and ``support``.
    """

    def __init__(self, family: type, params: dict[str, Any], shape: tuple[int, ...], shape_fn: Callable):
        leaves, self._treedef = jax.tree_util.tree_flatten(params, is_leaf=lambda x: isinstance(x, Node))
        super().__init__(leaves)
        self.family = family
        self.params = params
        self.shape = tuple(shape)
        self._shape_fn = shape_fn  # recomputes the shape after data change

    def param_values(self, input_values) -> dict[str, Any]:
        """The parameter dict rebuilt from the inputs' values."""
        return jax.tree_util.tree_unflatten(self._treedef, list(input_values))

    def compute(self, input_values):
        return self.family.bind(self.param_values(input_values), self.shape)

    def refresh_shape(self) -> None:
        self.shape = tuple(self._shape_fn(after_data_change=True))

    def __repr__(self) -> str:
        return f"<{self.family.__name__}.dist shape={self.shape}>"


class RandomVariable(Variable):
    """A named random variable: free (sampled) or observed (in the likelihood)."""

    def __init__(
        self,
        name: str,
        dist: DistributionNode,
        observed: Variable | None = None,
        transform: Any = DEFAULT_TRANSFORM,
        initval: Any = None,
    ):
        super().__init__((dist,) if observed is None else (dist, observed))
        self.name = name
        self.dist = dist
        self.observed = observed
        self.transform = transform
        self.initval = initval
        self.shape = dist.shape
        self.dtype = np.dtype("int64") if dist.family.is_discrete else np.dtype("float64")

    @property
    def is_observed(self) -> bool:
        return self.observed is not None

    @property
    def family(self) -> type:
        return self.dist.family

    def compute(self, input_values):
        if self.observed is not None:
            return input_values[1]
        raise RuntimeError(f"random variable {self.name!r} has no value here")

    def refresh_shape(self) -> None:
        self.shape = self.dist.shape

    def __repr__(self) -> str:
        role = "observed" if self.is_observed else "free"
        return f"<{self.family.__name__} {self.name!r} ({role}) shape={self.shape}>"


class DataVariable(Variable):
    """Data that can be swapped later with ``pa.set_data`` (``pa.Data``)."""

    def __init__(self, name: str, value: np.ndarray):
        super().__init__(())
        self.name = name
        self.set_value(value)

    def set_value(self, value) -> None:
        self.value = np.asarray(value)
        self.shape = self.value.shape
        self.dtype = self.value.dtype

    def compute(self, input_values):
        return self.value

    def get_value(self) -> np.ndarray:
        """The current array (as PyTensor shared variables have)."""
        return self.value


class DeterministicVariable(Variable):
    """A named derived quantity, recorded in the posterior (``pa.Deterministic``)."""

    def __init__(self, name: str, expr: Variable):
        super().__init__((expr,))
        self.name = name
        self.shape = expr.shape
        self.dtype = expr.dtype

    def compute(self, input_values):
        return input_values[0]

    def refresh_shape(self) -> None:
        self.shape = self.inputs[0].shape


class PotentialVariable(DeterministicVariable):
    """A named term added to the model's log density (``pa.Potential``)."""
