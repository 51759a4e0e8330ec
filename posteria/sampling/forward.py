"""Forward sampling through the model graph: prior and posterior predictive.

One compiled function draws every random variable from its distribution
given its parents, in definition order; values given in ``fixed`` (posterior
draws) are used instead of drawing.

Examples
--------
>>> import numpy as np, posteria as pa
>>> with pa.Model() as model:
...     mu = pa.Normal("mu", 0.0, 1.0)
...     y = pa.Normal("y", mu, 1.0, observed=np.zeros(3))
...     prior = pa.sample_prior_predictive(100, random_seed=1)
>>> prior.prior["mu"].shape, prior.prior_predictive["y"].shape
((1, 100), (1, 100, 3))
"""

from __future__ import annotations

import zlib
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from posteria.errors import ModelError
from posteria.io import extend, to_inference_data
from posteria.logdensity import data_nodes
from posteria.model.core import Model, modelcontext
from posteria.model.graph import evaluate
from posteria.model.variables import RandomVariable
from posteria.sampling.seeds import resolve_seed


def variable_stream(name: str) -> int:
    """The number folded into the seed's key to draw variable ``name``.

    It depends on the name only, so a variable's draws under a seed do not
    change with what else the process (or the model) defined before it.

    >>> variable_stream("mu") == variable_stream("mu") != variable_stream("sigma")
    True
    """
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def _forward_fn(model: Model, outputs: Sequence, fixed_names: Sequence[str], data_map: dict):
    """``fn(key, fixed_values, data) -> values of outputs``: draws what is not fixed."""
    fixed_nodes = [model[name] for name in fixed_names]

    def fn(key, fixed_values, data):
        env = {node: data[k] for k, node in data_map.items()}
        env.update(dict(zip(fixed_nodes, fixed_values)))

        def leaf(node, values):
            if isinstance(node, RandomVariable):
                bound = values[0]
                try:
                    draw = bound.random(jax.random.fold_in(key, variable_stream(node.name)), node.shape)
                except NotImplementedError:
                    raise ModelError(
                        f"{node.name} ({node.family.__name__}) cannot be drawn forward; "
                        "give it a proper prior to sample the prior predictive"
                    ) from None
                return jnp.asarray(draw)
            return None

        return evaluate(outputs, env, leaf)

    return fn


def _run_forward(model, outputs, fixed: dict[str, np.ndarray], num_samples: int, seed: int) -> dict[str, np.ndarray]:
    data_map = data_nodes(model)
    data = {k: node.value for k, node in data_map.items()}
    names = list(fixed)
    cache_key = ("forward", tuple(o.name for o in outputs), tuple(names))  # the model clears it when it changes
    if cache_key not in model._compiled:
        fn = _forward_fn(model, outputs, names, data_map)
        model._compiled[cache_key] = jax.jit(jax.vmap(fn, in_axes=(0, 0, None)))
    keys = jax.random.split(jax.random.key(seed), num_samples)
    values = model._compiled[cache_key](keys, [jnp.asarray(fixed[n]) for n in names], data)
    return {node.name: np.asarray(v) for node, v in zip(outputs, values)}


def _dims(model: Model, names) -> dict[str, list[str]]:
    return {n: list(model.named_vars_to_dims[n]) for n in names if n in model.named_vars_to_dims}


def sample_prior_predictive(
    draws: int = 500,
    model: Model | None = None,
    var_names: Sequence[str] | None = None,
    random_seed: Any = None,
    *,
    seed: Any = None,
    samples: int | None = None,
    return_inferencedata: bool = True,
) -> Any:
    """Draw from the prior and the prior predictive: the check to run before fitting.

    Returns InferenceData with ``prior`` (free variables and deterministics),
    ``prior_predictive`` (observed variables) and ``observed_data`` groups,
    dims and coords carried through.

    Examples
    --------
    >>> import posteria as pa
    >>> with pa.Model():
    ...     s = pa.HalfNormal("s", 2.0)
    ...     idata = pa.sample_prior_predictive(draws=1000, random_seed=0)
    >>> round(float(idata.prior["s"].mean()), 1)
    1.6
    """
    model = modelcontext(model, what="pa.sample_prior_predictive")
    draws = samples if samples is not None else draws
    seed = resolve_seed(seed, random_seed)
    outputs = model.basic_RVs + model.deterministics
    values = _run_forward(model, outputs, {}, draws, seed)
    if var_names is not None:
        values = {k: v for k, v in values.items() if k in var_names}
    if not return_inferencedata:
        return values
    observed = {rv.name for rv in model.observed_RVs}
    add_chain = lambda group: {k: v[None] for k, v in group.items()}  # noqa: E731
    return to_inference_data(
        prior=add_chain({k: v for k, v in values.items() if k not in observed}),
        prior_predictive=add_chain({k: v for k, v in values.items() if k in observed}),
        observed_data=observed_values(model),
        dims=_dims(model, values),
        coords=model.coords,
    )


def sample_posterior_predictive(
    trace: Any,
    model: Model | None = None,
    var_names: Sequence[str] | None = None,
    random_seed: Any = None,
    *,
    seed: Any = None,
    extend_inferencedata: bool = True,
    predictions: bool = False,
    progressbar: bool = False,
) -> Any:
    """Draw the observed variables given each posterior draw.

    After ``pa.set_data`` swaps in new inputs, the draws follow the new
    inputs (predictions). With ``extend_inferencedata`` (default) the
    ``posterior_predictive`` group (``predictions`` if ``predictions=True``)
    is added to ``trace`` and returned.

    Examples
    --------
    >>> import numpy as np, posteria as pa
    >>> with pa.Model() as model:
    ...     mu = pa.Normal("mu", 0.0, 1.0)
    ...     y = pa.Normal("y", mu, 1.0, observed=np.zeros(3))
    >>> trace = pa.io.to_inference_data(posterior={"mu": np.zeros((2, 50))})
    >>> with model:
    ...     trace = pa.sample_posterior_predictive(trace, random_seed=1)
    >>> trace.posterior_predictive["y"].shape
    (2, 50, 3)
    """
    model = modelcontext(model, what="pa.sample_posterior_predictive")
    posterior = trace.posterior if hasattr(trace, "posterior") else trace
    free = [rv.name for rv in model.free_RVs]
    missing = [n for n in free if n not in posterior]
    if missing:
        raise ModelError(f"the posterior has no draws of {missing}")
    chains, draws = (int(posterior[free[0]].shape[0]), int(posterior[free[0]].shape[1])) if free else (1, 1)
    fixed = {n: np.asarray(posterior[n]).reshape(chains * draws, *model[n].shape) for n in free}
    targets = [rv for rv in model.observed_RVs if var_names is None or rv.name in var_names]
    targets += [model[n] for n in (var_names or []) if not isinstance(model[n], RandomVariable) or not model[n].is_observed]
    seed = resolve_seed(seed, random_seed)
    values = _run_forward(model, targets, fixed, chains * draws, seed)
    values = {k: v.reshape(chains, draws, *v.shape[1:]) for k, v in values.items()}
    if not extend_inferencedata or not hasattr(trace, "posterior"):
        return to_inference_data(posterior_predictive=values, dims=_dims(model, values), coords=model.coords)
    group = "predictions" if predictions else "posterior_predictive"
    return extend(trace, group, values, dims=_dims(model, values), coords=model.coords, in_place=True)


def observed_values(model: Model) -> dict[str, np.ndarray]:
    """Current values of the observed variables."""
    return {rv.name: np.asarray(evaluate([rv.observed], {})[0]) for rv in model.observed_RVs}
