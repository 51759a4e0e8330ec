"""The suite in BlackJAX: hand-written log densities, ``window_adaptation`` + ``nuts``, chains in one ``jax.vmap``.

BlackJAX takes a log density over a pytree of unconstrained values, so each
model is written as plain JAX: positive parameters are sampled on the log
scale, with the log Jacobian added. Each chain runs its own window adaptation
(Stan's schedule) and then NUTS with the adapted step size and diagonal
inverse mass matrix; all chains run in lock-step under one ``jax.vmap``, in
one compiled program, started uniformly in (-2, 2) on the unconstrained scale.
"""

from __future__ import annotations

import math
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import stats

from benchmarks.data import MODELS, POSITIVE
from benchmarks.engines import Fit

_LOG2 = math.log(2.0)  # a Python float: a JAX array here would start JAX before x64 is enabled


def _linear_regression(p, d):
    return (stats.norm.logpdf(p["alpha"], 0, 10) + stats.norm.logpdf(p["beta"], 0, 10).sum()
            + _LOG2 + stats.norm.logpdf(p["sigma"], 0, 1)
            + stats.norm.logpdf(d["y"], p["alpha"] + d["X"] @ p["beta"], p["sigma"]).sum())


def _logistic_regression(p, d):
    logit = p["alpha"] + d["X"] @ p["beta"]
    return (stats.norm.logpdf(p["alpha"], 0, 5) + stats.norm.logpdf(p["beta"], 0, 5).sum()
            + jnp.sum(d["y"] * logit - jnp.logaddexp(0.0, logit)))


def _eight_schools(p, d):
    theta = p["mu"] + p["tau"] * p["theta_trans"]
    return (stats.norm.logpdf(p["mu"], 0, 5) + _LOG2 + stats.cauchy.logpdf(p["tau"], 0, 5)
            + stats.norm.logpdf(p["theta_trans"]).sum() + stats.norm.logpdf(d["y"], theta, d["sigma"]).sum())


def _hierarchical(p, d):
    a = p["mu_a"] + p["sigma_a"] * p["a_offset"]
    return (stats.norm.logpdf(p["mu_a"], 0, 10) + _LOG2 + stats.norm.logpdf(p["sigma_a"], 0, 1)
            + stats.norm.logpdf(p["a_offset"]).sum() + stats.norm.logpdf(p["b"], 0, 10)
            + _LOG2 + stats.norm.logpdf(p["sigma_y"], 0, 1)
            + stats.norm.logpdf(d["y"], a[d["group"]] + p["b"] * d["x"], p["sigma_y"]).sum())


def _stochastic_volatility(p, d):
    log_volatility = p["h0"] + p["sigma"] * jnp.cumsum(p["z"])
    return (stats.norm.logpdf(p["h0"], 0, 10) + stats.expon.logpdf(p["sigma"], scale=1 / 10)
            + stats.expon.logpdf(p["nu"], scale=1 / 0.1) + stats.norm.logpdf(p["z"]).sum()
            + stats.t.logpdf(d["returns"], p["nu"], 0, jnp.exp(log_volatility)).sum())


def _correlated_gaussian(p, d):
    chol = d["chol"]
    z = jax.scipy.linalg.solve_triangular(chol, p["x"], lower=True)
    return -0.5 * z @ z - jnp.log(jnp.diag(chol)).sum() - 0.5 * chol.shape[0] * jnp.log(2 * jnp.pi)


def _diamonds(p, d):
    return (stats.norm.logpdf(p["b"], 0, 1).sum() + stats.t.logpdf(p["Intercept"], 3, 8, 10)
            + _LOG2 + stats.t.logpdf(p["sigma"], 3, 0, 10)
            + stats.norm.logpdf(d["Y"], p["Intercept"] + d["Xc"] @ p["b"], p["sigma"]).sum())


LOGDENSITIES: dict[str, Callable] = {
    "linear_regression": _linear_regression,
    "logistic_regression": _logistic_regression,
    "eight_schools": _eight_schools,
    "hierarchical": _hierarchical,
    "stochastic_volatility": _stochastic_volatility,
    "correlated_gaussian": _correlated_gaussian,
    "diamonds": _diamonds,
}
"""Model name -> ``logdensity(constrained_values, data)``."""


def constrain(position: dict) -> dict:
    """Map unconstrained values to constrained ones (``exp`` for the names in ``POSITIVE``).

    Examples
    --------
    >>> out = constrain({"sigma": jnp.log(2.0), "mu": jnp.array(-1.0)})
    >>> round(float(out["sigma"]), 6), float(out["mu"])
    (2.0, -1.0)
    """
    return {name: jnp.exp(value) if name in POSITIVE else value for name, value in position.items()}


def logdensity(model_name: str, position: dict, data: dict) -> jax.Array:
    """Log density of ``model_name`` over unconstrained ``position``, log Jacobian included.

    Examples
    --------
    >>> d = {"y": jnp.array([0.0]), "sigma": jnp.array([1.0])}
    >>> p = {"mu": 0.0, "tau": 0.0, "theta_trans": jnp.zeros(1)}
    >>> round(float(logdensity("eight_schools", p, d)), 4)
    -6.4665
    """
    log_jacobian = sum(jnp.sum(value) for name, value in position.items() if name in POSITIVE)
    return LOGDENSITIES[model_name](constrain(position), data) + log_jacobian


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int,
                target_accept: float) -> Callable[[int], Fit]:
    """A fitter for ``model_name`` with BlackJAX (one compiled, vmapped program reused across calls).

    Examples
    --------
    >>> from benchmarks.data import model_data
    >>> fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=20, tune=20, chains=2,
    ...                      target_accept=0.95)
    >>> fit = fitter(1)
    >>> fit.draws["theta_trans"].shape, fit.num_steps.shape
    ((2, 20, 8), (2, 20))
    """
    import blackjax

    jax.config.update("jax_enable_x64", True)
    shapes = MODELS[model_name].parameters

    def run_chain(key, data):
        logdensity_fn = lambda position: logdensity(model_name, position, data)  # noqa: E731
        init_key, warmup_key, sample_key = jax.random.split(key, 3)
        init_keys = dict(zip(shapes, jax.random.split(init_key, len(shapes))))
        position = {name: jax.random.uniform(init_keys[name], shape, minval=-2.0, maxval=2.0)
                    for name, shape in shapes.items()}
        warmup = blackjax.window_adaptation(blackjax.nuts, logdensity_fn, target_acceptance_rate=target_accept)
        (state, parameters), _ = warmup.run(warmup_key, position, num_steps=tune)
        step = blackjax.nuts(logdensity_fn, **parameters).step

        def one_step(state, key):
            state, info = step(key, state)
            return state, (state.position, info.num_integration_steps, info.is_divergent)

        _, (positions, num_steps, is_divergent) = jax.lax.scan(one_step, state, jax.random.split(sample_key, draws))
        return constrain(positions), num_steps, is_divergent

    program = jax.jit(jax.vmap(run_chain, in_axes=(0, None)))
    device_data = {key: jnp.asarray(value) for key, value in data.items()}

    def fitter(seed: int) -> Fit:
        keys = jax.random.split(jax.random.key(seed), chains)
        values, num_steps, is_divergent = jax.block_until_ready(program(keys, device_data))
        return Fit(
            draws={name: np.asarray(value) for name, value in values.items()},
            num_steps=np.asarray(num_steps),
            is_divergent=np.asarray(is_divergent),
            extra={},
        )

    return fitter
