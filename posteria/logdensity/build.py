"""From a model graph to a log density over one flat unconstrained vector.

:func:`build_logdensity` lays out the free variables in a flat vector
``theta`` (each in its unconstrained space, see
:mod:`posteria.logdensity.flatten`) and returns a :class:`LogDensity` whose
functions are pure JAX functions of ``(theta, data)``: data (observed
values, ``pa.Data`` containers and array constants) are arguments, so
``pa.set_data`` with arrays of the same shapes reuses the compiled code.

Examples
--------
>>> import numpy as np, posteria as pa
>>> with pa.Model() as model:
...     mu = pa.Normal("mu", 0.0, 1.0)
...     y = pa.Normal("y", mu, 1.0, observed=np.array([0.5, 1.5]))
>>> ld = model.compile_logp()
>>> value, grad = ld.value_and_grad(np.array([1.0]))
>>> round(float(value), 4), round(float(grad[0]), 4)
(-3.5068, -1.0)
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from posteria.errors import ModelError
from posteria.logdensity.flatten import Slot, layout, ravel, unravel
from posteria.logdensity.walk import data_nodes, evaluate_model, resolve_transform, transposed_operands


class LogDensity:
    """The log density of a model over its flat unconstrained vector.

    Attributes
    ----------
    slots : list of Slot
        Where each free variable lies in ``theta`` and how it is transformed.
    size : int
        Length of ``theta``.
    logdensity_fn : callable
        ``logdensity_fn(theta, data) -> scalar``, pure JAX (jit it yourself or
        use :meth:`value_and_grad`).
    programs : dict
        Compiled programs that samplers built on this density, by their own keys.
    """

    def __init__(self, model, jacobian: bool = True):
        self.model = model
        self.jacobian = jacobian
        self.data_map = data_nodes(model)
        self.transposed = transposed_operands(model, self.data_map)
        self.slots: list[Slot] = layout(model, self.data(), self.data_map)
        self.size = sum(slot.size for slot in self.slots)
        self.programs: dict = {}  # compiled programs built on this density (by pa.sample), dropped with it
        self._value_and_grad = jax.jit(jax.value_and_grad(self.logdensity_fn))

    # -- data ----------------------------------------------------------------
    def data(self, transposed: bool = False) -> dict[str, np.ndarray]:
        """The current data arguments (picks up ``pa.set_data``).

        ``transposed=True`` adds the copies that
        :func:`~posteria.logdensity.walk.transposed_operands` asks for, made
        anew at each call (the compiled samplers take them once per fit; a
        copy of diamonds' 5000 x 24 matrix costs 90 us, more than its gradient).
        """
        data = {key: node.value for key, node in self.data_map.items()}
        if transposed:
            data.update({key: np.ascontiguousarray(data[source].T) for key, source in self.transposed.items()})
        return data

    # -- the density ------------------------------------------------------------
    def logdensity_fn(self, theta: jax.Array, data: dict) -> jax.Array:
        """Log density at ``theta`` (with the transforms' log Jacobians if ``jacobian``)."""
        return self._terms(theta, data, with_jacobian=self.jacobian)[0]

    def value_and_grad(self, theta, data: dict | None = None) -> tuple[jax.Array, jax.Array]:
        """Compiled log density and its gradient at ``theta`` (current data by default)."""
        return self._value_and_grad(jnp.asarray(theta, dtype=float), self.data() if data is None else data)

    def __call__(self, theta) -> jax.Array:
        return self.logdensity_fn(jnp.asarray(theta), self.data())

    def _terms(self, theta, data, with_jacobian: bool):
        values = unravel(theta, self.slots)
        jacobians: list[jax.Array] = []

        def free_value(rv, bound):
            u = values[rv.name]
            transform = resolve_transform(rv, bound)
            if transform is None:
                return u
            x = transform.forward(u)
            if with_jacobian:
                jacobians.append(jnp.sum(transform.log_abs_det_jacobian(u, x)))
            return x

        model = self.model
        outputs = model.basic_RVs + model.potentials
        env = evaluate_model(model, outputs, data, free_value, self.data_map)
        terms = {rv.name: jnp.sum(env[rv.dist].logp(env[rv])) for rv in model.basic_RVs}
        terms.update({pot.name: jnp.sum(env[pot]) for pot in model.potentials})
        total = sum(terms.values()) + sum(jacobians)
        return jnp.asarray(total, dtype=theta.dtype), terms, env

    # -- maps between theta and named values ---------------------------------------
    def constrained_fn(self, theta: jax.Array, data: dict) -> dict[str, jax.Array]:
        """Named constrained values of the free variables and deterministics at ``theta``."""
        values = unravel(theta, self.slots)

        def free_value(rv, bound):
            transform = resolve_transform(rv, bound)
            u = values[rv.name]
            return u if transform is None else transform.forward(u)

        outputs = self.model.free_RVs + self.model.deterministics
        env = evaluate_model(self.model, outputs, data, free_value, self.data_map)
        return {node.name: env[node] for node in outputs}

    def unconstrain(self, point: dict[str, Any]) -> np.ndarray:
        """The flat vector for a point of named constrained (or transformed-name) values."""
        unconstrained: dict[str, jax.Array] = {}
        by_name = {slot.name: slot for slot in self.slots}

        def free_value(rv, bound):
            slot = by_name[rv.name]
            transform = resolve_transform(rv, bound)
            if slot.value_name in point:
                u = jnp.asarray(point[slot.value_name], dtype=float)
                unconstrained[rv.name] = u
                return u if transform is None else transform.forward(u)
            if rv.name not in point:
                raise KeyError(f"the point has no value for {rv.name!r} (nor {slot.value_name!r})")
            x = jnp.broadcast_to(jnp.asarray(point[rv.name], dtype=float), rv.shape)
            unconstrained[rv.name] = x if transform is None else transform.inverse(x)
            return x

        evaluate_model(self.model, self.model.free_RVs, self.data(), free_value, self.data_map)
        return ravel(unconstrained, self.slots)

    def logp_at_point(self, point: dict[str, Any]) -> jax.Array:
        """Log density at a point of named values (see :meth:`unconstrain`)."""
        return self._terms(jnp.asarray(self.unconstrain(point)), self.data(), with_jacobian=self.jacobian)[0]

    def terms_at_point(self, point: dict[str, Any]) -> dict[str, float]:
        """Each variable's and potential's summed log density at ``point``."""
        return self.terms_at(self.unconstrain(point))

    def terms_at(self, theta) -> dict[str, float]:
        """Each variable's and potential's summed log density at ``theta``."""
        terms = self._terms(jnp.asarray(theta, dtype=float), self.data(), with_jacobian=False)[1]
        return {name: float(value) for name, value in terms.items()}

    def pointwise_loglik_fn(self, theta: jax.Array, data: dict) -> dict[str, jax.Array]:
        """Elementwise log likelihood of each observed variable (for LOO / WAIC)."""
        env = self._terms(theta, data, with_jacobian=False)[2]
        return {rv.name: jnp.broadcast_to(env[rv.dist].logp(env[rv]), rv.shape[: len(rv.shape) - rv.family.event_ndim])
                for rv in self.model.observed_RVs}


def build_logdensity(model, jacobian: bool = True) -> LogDensity:
    """The :class:`LogDensity` of ``model`` (``model.compile_logp()`` caches it).

    Raises ``ModelError`` if a free variable is discrete (no sampler for it yet).
    """
    discrete = [rv for rv in model.free_RVs if rv.family.is_discrete]
    if discrete:
        names = ", ".join(f"{rv.name} ({rv.family.__name__})" for rv in discrete)
        raise ModelError(
            f"free discrete variable(s) {names}: posteria's samplers need continuous free variables. "
            "Observe them, or marginalise them out (e.g. a pa.Mixture instead of a Categorical indicator)."
        )
    return LogDensity(model, jacobian=jacobian)
