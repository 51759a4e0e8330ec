"""Starting points for inference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from posteria.logdensity.walk import evaluate_model, resolve_transform


def initial_point(model, seed: int | None = None, jitter: float = 0.0) -> dict[str, np.ndarray]:
    """Starting values of the free variables, keyed by their transformed names.

    Each variable starts at its ``initval`` if given, else at a central point
    of its distribution (mean, or median where the mean does not exist). With
    ``jitter > 0`` a uniform perturbation in (-jitter, jitter) is added in the
    unconstrained space (PyMC's ``jitter+adapt_diag``), using ``seed``.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model() as m:
    ...     s = pa.HalfNormal("s", sigma=1.0)
    >>> {k: round(float(v), 4) for k, v in m.initial_point().items()}
    {'s_log__': -0.2258}
    """
    ld = model.compile_logp()
    by_name = {slot.name: slot for slot in ld.slots}
    key = jax.random.key(0 if seed is None else seed)
    point: dict[str, np.ndarray] = {}

    def free_value(rv, bound):
        nonlocal key
        transform = resolve_transform(rv, bound)
        if rv.initval is not None:
            x = jnp.broadcast_to(jnp.asarray(rv.initval, dtype=float), rv.shape)
        else:
            x = jnp.broadcast_to(jnp.asarray(bound.support_point(), dtype=float), rv.shape)
        u = x if transform is None else transform.inverse(x)
        u = jnp.where(jnp.isfinite(u), u, 0.0)
        if jitter > 0 and rv.initval is None:
            key, sub = jax.random.split(key)
            u = u + jax.random.uniform(sub, jnp.shape(u), minval=-jitter, maxval=jitter)
        point[by_name[rv.name].value_name] = np.asarray(u)
        return x if transform is None else transform.forward(u)

    evaluate_model(model, model.free_RVs, ld.data(), free_value, ld.data_map)
    return point
