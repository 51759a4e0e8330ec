"""The expression graph that a model block builds.

Every model quantity is a :class:`Node`. Nodes are created in order, and a
node only ever refers to nodes created before it, so sorting by creation
order is a topological sort. Arithmetic on a :class:`Variable` does not
compute anything: it records an :class:`Apply` node whose shape is checked
at once with :func:`jax.eval_shape`, so a shape mismatch fails where the user
wrote it.

A graph is evaluated by :func:`evaluate`, given the values of its leaves
(random variables, data) in an ``env`` dict; random variables get their
value from a callback, which is how one graph serves the log density, the
prior predictive and the initial point.

Examples
--------
>>> import numpy as np
>>> x = Constant(np.array([1.0, 2.0]))
>>> y = (x * 2.0 + 1.0).sum()
>>> y.shape
()
>>> float(evaluate([y], {x: np.array([1.0, 2.0])})[0])
8.0
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from posteria.errors import ModelError

_creation_counter = itertools.count()


def _is_array_leaf(x: Any) -> bool:
    return isinstance(x, (np.ndarray, jax.Array)) and np.ndim(x) > 0


class Node:
    """A quantity in the model graph: inputs, a shape, and a rule to compute its value."""

    name: str | None = None

    def __init__(self, inputs: Sequence["Node"] = ()):
        self.inputs = tuple(inputs)
        self.order = next(_creation_counter)

    def compute(self, input_values: Sequence[Any]) -> Any:
        """The node's value from the values of its inputs (traceable by JAX)."""
        raise NotImplementedError

    def refresh_shape(self) -> None:
        """Recompute the shape after data were swapped (``pa.set_data``)."""

    __hash__ = object.__hash__

    def __eq__(self, other):
        return self is other


class Variable(Node):
    """A node with an array value: supports arithmetic, indexing and NumPy ufuncs."""

    __array_priority__ = 1000
    shape: tuple[int, ...]
    dtype: Any

    # -- shape helpers -------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=int))

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError(f"len() of a scalar model variable {self._label()}")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def _label(self) -> str:
        return repr(self.name) if self.name else f"expression of shape {self.shape}"

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<{kind} {self.name or ''} shape={self.shape}>".replace("  ", " ")

    def __bool__(self):
        raise TypeError(
            f"model variable {self._label()} has no value while the model is defined, so it "
            "cannot drive Python control flow (if/while/and/or); use pa.math.where or pa.op."
        )

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"model variable {self._label()} has no concrete value while the model is defined; "
            "use pa.math functions, NumPy ufuncs, or wrap a JAX function with pa.op."
        )

    # -- NumPy protocol: np.exp(x), np.sum(x), ndarray * x ----------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or not hasattr(jnp, ufunc.__name__):
            return NotImplemented
        return apply(getattr(jnp, ufunc.__name__), *inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        jnp_func = getattr(jnp, func.__name__, None)
        if jnp_func is None:
            return NotImplemented
        return apply(jnp_func, *args, **kwargs)

    # -- arithmetic ------------------------------------------------------
    def __add__(self, other): return apply(jnp.add, self, other)
    def __radd__(self, other): return apply(jnp.add, other, self)
    def __sub__(self, other): return apply(jnp.subtract, self, other)
    def __rsub__(self, other): return apply(jnp.subtract, other, self)
    def __mul__(self, other): return apply(jnp.multiply, self, other)
    def __rmul__(self, other): return apply(jnp.multiply, other, self)
    def __truediv__(self, other): return apply(jnp.true_divide, self, other)
    def __rtruediv__(self, other): return apply(jnp.true_divide, other, self)
    def __floordiv__(self, other): return apply(jnp.floor_divide, self, other)
    def __rfloordiv__(self, other): return apply(jnp.floor_divide, other, self)
    def __mod__(self, other): return apply(jnp.mod, self, other)
    def __rmod__(self, other): return apply(jnp.mod, other, self)
    def __pow__(self, other): return apply(jnp.power, self, other)
    def __rpow__(self, other): return apply(jnp.power, other, self)
    def __matmul__(self, other): return apply(jnp.matmul, self, other)
    def __rmatmul__(self, other): return apply(jnp.matmul, other, self)
    def __neg__(self): return apply(jnp.negative, self)
    def __pos__(self): return self
    def __abs__(self): return apply(jnp.abs, self)
    def __lt__(self, other): return apply(jnp.less, self, other)
    def __le__(self, other): return apply(jnp.less_equal, self, other)
    def __gt__(self, other): return apply(jnp.greater, self, other)
    def __ge__(self, other): return apply(jnp.greater_equal, self, other)
    def __and__(self, other): return apply(jnp.logical_and, self, other)
    def __rand__(self, other): return apply(jnp.logical_and, other, self)
    def __or__(self, other): return apply(jnp.logical_or, self, other)
    def __ror__(self, other): return apply(jnp.logical_or, other, self)
    def __invert__(self): return apply(jnp.logical_not, self)

    def __getitem__(self, index):
        return apply(_getitem, self, index)

    # -- methods as on arrays ----------------------------------------------
    @property
    def T(self) -> "Variable":
        return apply(jnp.transpose, self)

    def sum(self, axis=None, keepdims=False): return apply(jnp.sum, self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return apply(jnp.mean, self, axis=axis, keepdims=keepdims)
    def prod(self, axis=None, keepdims=False): return apply(jnp.prod, self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return apply(jnp.max, self, axis=axis, keepdims=keepdims)
    def min(self, axis=None, keepdims=False): return apply(jnp.min, self, axis=axis, keepdims=keepdims)
    def cumsum(self, axis=None): return apply(jnp.cumsum, self, axis=axis)
    def dot(self, other): return apply(jnp.dot, self, other)
    def reshape(self, *shape): return apply(jnp.reshape, self, shape[0] if len(shape) == 1 else shape)
    def flatten(self): return apply(jnp.ravel, self)
    def squeeze(self, axis=None): return apply(jnp.squeeze, self, axis=axis)
    def transpose(self, *axes): return apply(jnp.transpose, self, axes or None)
    def astype(self, dtype): return apply(lambda x: x.astype(dtype), self)
    def dimshuffle(self, *pattern):
        """PyTensor's axis pattern: ``x.dimshuffle(0, "x")`` adds an axis."""
        return apply(_dimshuffle, self, pattern)


def _getitem(x, index):
    return x[index]


def _dimshuffle(x, pattern):
    kept = [p for p in pattern if p != "x"]
    y = jnp.transpose(x, kept) if kept else x
    for position, p in enumerate(pattern):
        if p == "x":
            y = jnp.expand_dims(y, position)
    return y


class Constant(Variable):
    """A fixed array. Constants are passed to compiled functions as arguments."""

    def __init__(self, value, name: str | None = None):
        super().__init__(())
        self.value = np.asarray(value)
        self.name = name
        self.shape = self.value.shape
        self.dtype = self.value.dtype

    def compute(self, input_values):
        return self.value


class Apply(Variable):
    """The result of a JAX function applied to model quantities."""

    def __init__(self, fn: Callable, inputs: Sequence[Node], rebuild: Callable, label: str):
        super().__init__(inputs)
        self.fn = fn
        self.rebuild = rebuild
        self.label = label
        self._infer_shape()

    def compute(self, input_values):
        args, kwargs = self.rebuild(input_values)
        return self.fn(*args, **kwargs)

    def refresh_shape(self) -> None:
        self._infer_shape()

    def _infer_shape(self) -> None:
        specs = [jax.ShapeDtypeStruct(node.shape, node.dtype) for node in self.inputs]
        try:
            out = jax.eval_shape(lambda *values: self.compute(values), *specs)
        except (TypeError, ValueError, IndexError) as err:
            shapes = ", ".join(str(getattr(n, "shape", "?")) for n in self.inputs)
            raise ModelError(f"{self.label} cannot combine inputs of shapes {shapes}: {err}") from None
        if not isinstance(out, jax.ShapeDtypeStruct):
            raise ModelError(f"{self.label} must return one array, got {type(out).__name__}")
        self.shape = tuple(out.shape)
        self.dtype = out.dtype


def _split_arguments(args: tuple, kwargs: dict):
    """Separate model quantities (graph inputs) from static arguments.

    Nodes and array constants become inputs; Python scalars, strings, ``None``,
    shapes and axes stay static.
    """
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=lambda x: isinstance(x, Node))
    inputs: list[Node] = []
    slots: list[int] = []
    static = list(leaves)
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, Node):
            node = leaf
        elif _is_array_leaf(leaf):
            node = Constant(leaf)
        else:
            continue
        slots.append(i)
        inputs.append(node)

    def rebuild(values):
        filled = list(static)
        for slot, value in zip(slots, values):
            filled[slot] = value
        return jax.tree_util.tree_unflatten(treedef, filled)

    return inputs, rebuild


def apply(fn: Callable, *args, **kwargs) -> Any:
    """Apply a JAX function to model quantities, recording an :class:`Apply` node.

    Returns the plain result when no argument is a model quantity.

    Examples
    --------
    >>> import jax.numpy as jnp, numpy as np
    >>> x = Constant(np.ones((3, 2)))
    >>> apply(jnp.sum, x, axis=0).shape
    (2,)
    """
    leaves = jax.tree_util.tree_leaves((args, kwargs), is_leaf=lambda x: isinstance(x, Node))
    if not any(isinstance(leaf, Node) for leaf in leaves):
        return fn(*args, **kwargs)
    inputs, rebuild = _split_arguments(args, kwargs)
    if not all(isinstance(node, Variable) for node in inputs):
        raise ModelError(f"{getattr(fn, '__name__', 'operation')} takes arrays; an unnamed distribution "
                         "(.dist()) is not an array")
    label = getattr(fn, "__name__", "operation")
    return Apply(fn, inputs, rebuild, label)


def as_node(value: Any) -> Node:
    """A model quantity for ``value``: nodes pass through, arrays and numbers become constants."""
    if isinstance(value, Node):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Node) for v in value):
        return apply(jnp.stack, list(value))
    return Constant(np.asarray(value))


def ancestors(outputs: Iterable[Node]) -> list[Node]:
    """All nodes the outputs depend on (outputs included), in creation order."""
    seen: dict[int, Node] = {}
    stack = list(outputs)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(node.inputs)
    return sorted(seen.values(), key=lambda n: n.order)


def evaluate(outputs: Sequence[Node], env: dict, leaf_fn: Callable | None = None) -> list:
    """Values of ``outputs`` given the values in ``env`` (a dict keyed by node).

    Nodes missing from ``env`` are computed from their inputs. ``leaf_fn(node,
    input_values)`` is asked first for every node not in ``env``; it returns a
    value or ``None`` to fall back to ``node.compute``. ``env`` is filled in place.
    """
    for node in ancestors(outputs):
        if node in env:
            continue
        values = [env[i] for i in node.inputs]
        value = leaf_fn(node, values) if leaf_fn is not None else None
        env[node] = node.compute(values) if value is None else value
    return [env[o] for o in outputs]


def depends_on(node: Node, kind: type) -> bool:
    """Whether ``node`` has an ancestor (itself included) of class ``kind``."""
    return any(isinstance(n, kind) for n in ancestors([node]))
