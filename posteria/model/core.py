"""The model context: ``with pa.Model() as model: ...``.

A :class:`Model` collects the named quantities created inside its ``with``
block: free and observed random variables, data, deterministics and
potentials, along with the coordinates that name their axes.

Examples
--------
>>> import numpy as np
>>> import posteria as pa
>>> with pa.Model(coords={"city": ["a", "b", "c"]}) as model:
...     mu = pa.Normal("mu", 0.0, 1.0)
...     x = pa.Normal("x", mu=mu, sigma=1.0, dims="city")
...     y = pa.Normal("y", mu=x, sigma=0.5, observed=np.array([0.1, -0.3, 0.2]))
>>> [v.name for v in model.free_RVs], model.named_vars_to_dims["x"]
(['mu', 'x'], ('city',))
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Sequence

import numpy as np

from posteria.errors import ModelError
from posteria.model.graph import Node, Variable, ancestors, as_node
from posteria.model.variables import (
    DataVariable,
    DeterministicVariable,
    PotentialVariable,
    RandomVariable,
)

_context = threading.local()


def _stack() -> list["Model"]:
    if not hasattr(_context, "stack"):
        _context.stack = []
    return _context.stack


class Model:
    """A probabilistic model: the context in which random variables are defined.

    Parameters
    ----------
    coords : dict, optional
        Axis names mapped to their labels, for ``dims=`` on variables.
    name : str, optional
        A label for messages.
    """

    def __init__(self, coords: dict[str, Iterable] | None = None, name: str = ""):
        self.name = name
        self.coords: dict[str, tuple] = {}
        self.named_vars: dict[str, Node] = {}
        self.named_vars_to_dims: dict[str, tuple[str | None, ...]] = {}
        self.free_RVs: list[RandomVariable] = []
        self.observed_RVs: list[RandomVariable] = []
        self.deterministics: list[DeterministicVariable] = []
        self.potentials: list[PotentialVariable] = []
        self.data_vars: list[DataVariable] = []
        self._compiled: dict[Any, Any] = {}
        self.add_coords(coords or {})

    # -- context --------------------------------------------------------
    def __enter__(self) -> "Model":
        _stack().append(self)
        return self

    def __exit__(self, *exc) -> None:
        _stack().pop()

    @classmethod
    def get_context(cls, error_if_none: bool = True, what: str = "this") -> "Model | None":
        """The innermost model of the enclosing ``with`` block."""
        stack = _stack()
        if stack:
            return stack[-1]
        if error_if_none:
            raise TypeError(f"{what} needs a model: use it inside a `with pa.Model():` block or pass model=...")
        return None

    # -- coordinates -------------------------------------------------------
    def add_coord(self, name: str, values: Iterable | None = None, *, length: int | None = None) -> None:
        """Name an axis; ``values`` label it (``length`` alone gives 0..length-1)."""
        if values is None:
            if length is None:
                raise ValueError(f"coordinate {name!r} needs values or a length")
            values = range(int(length))
        values = tuple(np.asarray(list(values)).tolist())
        if name in self.coords and self.coords[name] != values:
            raise ModelError(f"coordinate {name!r} is already defined with {len(self.coords[name])} values")
        self.coords[name] = values

    def add_coords(self, coords: dict[str, Iterable]) -> None:
        """Add several coordinates at once."""
        for name, values in coords.items():
            self.add_coord(name, values)

    def shape_from_dims(self, name: str, dims: Sequence[str | None]) -> tuple[int, ...] | None:
        """The shape that ``dims`` give, or None when a dim has no coordinate yet."""
        if any(d is None or d not in self.coords for d in dims):
            return None
        return tuple(len(self.coords[d]) for d in dims)

    def register_dims(self, name: str, dims: str | Sequence[str | None] | None, shape: tuple[int, ...]) -> None:
        """Record a variable's dims, checking them against its shape and the coords."""
        if dims is None:
            return
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        if len(dims) != len(shape):
            raise ModelError(f"{name} has shape {shape} but {len(dims)} dims {dims}")
        for dim, length in zip(dims, shape):
            if dim is None:
                continue
            if dim not in self.coords:
                self.add_coord(dim, length=length)
            elif len(self.coords[dim]) != length:
                raise ModelError(
                    f"shape mismatch in {name}: dim {dim!r} has {len(self.coords[dim])} coords "
                    f"but the variable's axis has length {length}"
                )
        self.named_vars_to_dims[name] = dims

    # -- registration --------------------------------------------------
    def register(self, node: Node, dims=None) -> Node:
        """Add a named quantity to the model (called by the constructors)."""
        name = node.name
        if not isinstance(name, str) or not name:
            raise TypeError(f"a model variable needs a non-empty string name, got {name!r}")
        if name in self.named_vars:
            raise ModelError(f"variable name {name!r} is already used in this model")
        self.named_vars[name] = node
        if isinstance(node, RandomVariable):
            (self.observed_RVs if node.is_observed else self.free_RVs).append(node)
        elif isinstance(node, PotentialVariable):
            self.potentials.append(node)
        elif isinstance(node, DeterministicVariable):
            self.deterministics.append(node)
        elif isinstance(node, DataVariable):
            self.data_vars.append(node)
        self.register_dims(name, dims, getattr(node, "shape", ()))
        self._compiled.clear()
        return node

    def __getitem__(self, name: str) -> Node:
        try:
            return self.named_vars[name]
        except KeyError:
            raise KeyError(f"no variable named {name!r} in the model; it has {sorted(self.named_vars)}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.named_vars

    @property
    def basic_RVs(self) -> list[RandomVariable]:
        """Free and observed random variables, in definition order."""
        return sorted(self.free_RVs + self.observed_RVs, key=lambda v: v.order)

    @property
    def unobserved_RVs(self) -> list[Variable]:
        """Free random variables and deterministics (what the posterior holds)."""
        return list(self.free_RVs) + list(self.deterministics)

    def outputs(self) -> list[Node]:
        """Every named quantity whose value the model needs."""
        return list(self.basic_RVs) + list(self.deterministics) + list(self.potentials)

    def refresh_shapes(self) -> None:
        """Recompute every shape after data changed."""
        for node in ancestors(self.outputs()):
            node.refresh_shape()

    # -- evaluation (thin doors into posteria.logdensity) ------------------
    def compile_logp(self, jacobian: bool = True):
        """The compiled log density over the flat unconstrained vector.

        Returns a :class:`posteria.logdensity.LogDensity`; see there.
        """
        from posteria.logdensity import build_logdensity

        key = ("logdensity", jacobian)
        if key not in self._compiled:
            self._compiled[key] = build_logdensity(self, jacobian=jacobian)
        return self._compiled[key]

    def logp(self, point: dict[str, Any], jacobian: bool = False) -> float:
        """The model's log density at named values.

        ``point`` maps each free variable's name to its constrained value (or
        its transformed name, as in :meth:`initial_point`, to the
        unconstrained value). With ``jacobian=False`` this is the density of
        the model itself, the sum of every variable's log density and
        potential.
        """
        return float(self.compile_logp(jacobian=jacobian).logp_at_point(point))

    def point_logps(self, point: dict[str, Any] | None = None) -> dict[str, float]:
        """Each random variable's and potential's log density at ``point`` (default: the initial point)."""
        return self.compile_logp(jacobian=False).terms_at_point(point or self.initial_point())

    def initial_point(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Starting values of the free variables, keyed by their transformed names (as PyMC)."""
        from posteria.logdensity import initial_point

        return initial_point(self, seed=seed)

    def set_data(self, values: dict[str, Any], coords: dict[str, Iterable] | None = None) -> None:
        """Replace the values of ``pa.Data`` containers (see :func:`set_data`)."""
        for name, value in values.items():
            node = self.named_vars.get(name)
            if not isinstance(node, DataVariable):
                raise ModelError(f"{name!r} is not a pa.Data container of this model")
            value = np.asarray(value)
            if value.ndim != node.value.ndim:
                raise ModelError(f"new value for {name} has {value.ndim} dims, expected {node.value.ndim}")
            node.set_value(value)
        for dim, labels in (coords or {}).items():
            self.coords[dim] = tuple(np.asarray(list(labels)).tolist())
        for name, node in values.items():
            dims = self.named_vars_to_dims.get(name, ())
            for dim, length in zip(dims, self.named_vars[name].shape):
                if dim is not None and len(self.coords.get(dim, ())) != length:
                    self.coords[dim] = tuple(range(length))
        self.refresh_shapes()

    def __repr__(self) -> str:
        lines = [f"<Model {self.name}".rstrip() + ">"]
        for rv in self.basic_RVs:
            role = "observed" if rv.is_observed else "free"
            lines.append(f"  {rv.name} ~ {rv.family.__name__} ({role}, shape {rv.shape})")
        for det in self.deterministics:
            lines.append(f"  {det.name} = Deterministic (shape {det.shape})")
        for pot in self.potentials:
            lines.append(f"  {pot.name} = Potential")
        return "\n".join(lines)


def modelcontext(model: Model | None = None, what: str = "this") -> Model:
    """``model`` if given, else the innermost model of the ``with`` block."""
    return model if model is not None else Model.get_context(what=what)


def Data(name: str, value: Any, *, dims=None, model: Model | None = None, **kwargs: Any) -> DataVariable:
    """A data container whose value can be replaced with :func:`set_data`.

    The compiled log density takes data as arguments, so new values of the
    same shape need no recompilation.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> with pa.Model() as m:
    ...     x = pa.Data("x", np.arange(3.0))
    ...     pa.set_data({"x": np.ones(3)})
    >>> m["x"].get_value().tolist()
    [1.0, 1.0, 1.0]
    """
    unknown = set(kwargs) - {"mutable", "export_index_as_coords", "infer_dims_and_coords"}
    if unknown:
        raise TypeError(f"Data {name!r} got unexpected keyword argument(s): {sorted(unknown)}")
    model = modelcontext(model, what=f"pa.Data({name!r})")
    value = _to_array(value, f"data {name!r}")
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        raise ModelError(f"data {name!r} contains NaN or inf")
    return model.register(DataVariable(name, value), dims=dims)


def MutableData(name: str, value: Any, **kwargs: Any) -> DataVariable:
    """Alias of :func:`Data` (PyMC 5.0 name).

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     pa.MutableData("x", [1.0, 2.0]).shape
    (2,)
    """
    return Data(name, value, **kwargs)


ConstantData = MutableData


def set_data(new_data: dict[str, Any], model: Model | None = None, coords: dict | None = None) -> None:
    """Swap the values of ``pa.Data`` containers, e.g. new inputs for prediction.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> with pa.Model() as m:
    ...     x = pa.Data("x", np.zeros(2))
    >>> pa.set_data({"x": np.ones(5)}, model=m)
    >>> m["x"].shape
    (5,)
    """
    modelcontext(model, what="pa.set_data").set_data(new_data, coords=coords)


def Deterministic(name: str, var: Any, dims=None, model: Model | None = None) -> DeterministicVariable:
    """Record a derived quantity under ``name`` so the posterior holds its draws.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model() as m:
    ...     x = pa.Normal("x", 0.0, 1.0)
    ...     y = pa.Deterministic("y", 2.0 * x)
    >>> [d.name for d in m.deterministics]
    ['y']
    """
    model = modelcontext(model, what=f"pa.Deterministic({name!r})")
    return model.register(DeterministicVariable(name, as_node(var)), dims=dims)


def Potential(name: str, var: Any, dims=None, model: Model | None = None) -> PotentialVariable:
    """Add ``var`` (summed) to the model's log density, e.g. a soft constraint.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model() as m:
    ...     x = pa.Normal("x", 0.0, 1.0)
    ...     pa.Potential("keep_small", -(x ** 2))
    <PotentialVariable keep_small shape=()>
    """
    model = modelcontext(model, what=f"pa.Potential({name!r})")
    return model.register(PotentialVariable(name, as_node(var)), dims=dims)


def _to_array(value: Any, label: str) -> np.ndarray:
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    array = np.asarray(value)
    if array.dtype == object:
        raise TypeError(f"{label} must be numeric, got an array of Python objects")
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    return array
