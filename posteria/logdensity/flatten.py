"""The layout of free variables in the flat unconstrained vector ``theta``.

Each free variable takes a contiguous slice of ``theta``, in definition
order, holding its value in unconstrained space (a simplex of K entries
takes K - 1). PyMC names the unconstrained value ``<name>_<transform>__``
(``sigma_log__``); so does posteria.

Examples
--------
>>> import numpy as np
>>> slots = [Slot("a", "a", (), (), 0, 1, None), Slot("b", "b_log__", (2,), (2,), 1, 2, None)]
>>> {k: v.tolist() for k, v in unravel(np.arange(3.0), slots).items()}
{'a': 0.0, 'b': [1.0, 2.0]}
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from posteria.logdensity.walk import evaluate_model, resolve_transform
from posteria.model.variables import RandomVariable


class Slot(NamedTuple):
    """Where one free variable lives in ``theta``."""

    name: str
    value_name: str
    shape: tuple[int, ...]
    unconstrained_shape: tuple[int, ...]
    start: int
    size: int
    transform_name: str | None


def layout(model, data: dict, data_map: dict) -> list[Slot]:
    """The slots of the model's free variables, found by tracing the graph once abstractly."""
    found: list[tuple[RandomVariable, Any]] = []

    def free_value(rv, bound):
        found.append((rv, resolve_transform(rv, bound)))
        return jnp.zeros(rv.shape)

    jax.eval_shape(lambda d: [evaluate_model(model, model.free_RVs, d, free_value, data_map)][:0], data)
    slots, start = [], 0
    for rv, transform in found:
        if transform is None:
            ushape, value_name, tname = rv.shape, rv.name, None
        else:
            ushape = tuple(transform.unconstrained_shape(rv.shape))
            value_name, tname = f"{rv.name}_{transform.name}__", transform.name
        size = int(np.prod(ushape, dtype=int))
        slots.append(Slot(rv.name, value_name, rv.shape, ushape, start, size, tname))
        start += size
    return slots


def unravel(theta: jax.Array, slots: list[Slot]) -> dict[str, jax.Array]:
    """Split ``theta`` into each free variable's unconstrained array."""
    return {s.name: jnp.reshape(theta[s.start: s.start + s.size], s.unconstrained_shape) for s in slots}


def ravel(values: dict[str, Any], slots: list[Slot]) -> np.ndarray:
    """The flat vector from each free variable's unconstrained array."""
    if not slots:
        return np.zeros(0)
    return np.concatenate([np.asarray(values[s.name], dtype=float).reshape(-1) for s in slots])
