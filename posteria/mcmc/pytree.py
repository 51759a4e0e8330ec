"""Choosing between two pytrees of the same structure under ``jit`` (no Python branch on a traced flag)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

__all__ = ["tree_select"]


def tree_select(predicate: Array | bool, on_true: Any, on_false: Any) -> Any:
    """``on_true`` where ``predicate`` holds, else ``on_false``, leaf by leaf (``jnp.where`` on each leaf).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> tree_select(jnp.array(True), (jnp.ones(2), 3.0), (jnp.zeros(2), 4.0))
    (Array([1., 1.], dtype=float64), Array(3., dtype=float64, weak_type=True))
    """
    return jax.tree_util.tree_map(lambda a, b: jnp.where(predicate, a, b), on_true, on_false)
