"""Walking a model's graph with values for its free variables.

The log density, the layout of ``theta``, the initial point and the
constrained values all evaluate the same graph; they differ only in how a
free variable gets its value (``free_value_fn``) and in which transform
takes it to its support (:func:`resolve_transform`).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from posteria.model.graph import Constant, Node, ancestors, evaluate
from posteria.model.variables import DEFAULT_TRANSFORM, DataVariable, RandomVariable
from posteria.transforms import transform_for


def data_nodes(model) -> dict[str, Node]:
    """The nodes whose values are passed as data: ``pa.Data``, observed values, array constants."""
    nodes: dict[str, Node] = {}
    for node in ancestors(model.outputs()):
        if isinstance(node, DataVariable):
            nodes[node.name] = node
        elif isinstance(node, Constant) and node.value.ndim > 0:
            nodes[f"_constant_{node.order}"] = node
    return nodes


def evaluate_model(model, outputs, data: dict, free_value_fn: Callable, data_map: dict[str, Node]) -> dict:
    """Evaluate ``outputs``; a free variable's value is ``free_value_fn(rv, bound_distribution)``.

    Traced with x64 disabled (``pa.sample(dtype="float32")``), float constants enter as float32.
    """
    env = {node: data[key] for key, node in data_map.items()}

    single_precision = not jax.config.jax_enable_x64

    def leaf(node, values):
        if isinstance(node, RandomVariable) and not node.is_observed:
            return free_value_fn(node, values[0])
        if single_precision and isinstance(node, Constant) and node.value.dtype == np.float64:
            return node.value.astype(np.float32)  # a fresh array: float64 ones may be cached by JAX as float64
        return None

    evaluate(outputs, env, leaf)
    return env


def resolve_transform(rv, bound) -> Any:
    """The variable's transform: the user's, none, or the registry's for its support."""
    if rv.transform is DEFAULT_TRANSFORM:
        return transform_for(bound.support)
    return rv.transform
