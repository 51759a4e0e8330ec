"""The suite in NumPyro (``MCMC(NUTS(model))``, float64, chains in parallel over XLA host devices).

NumPyro runs chains in parallel only on several XLA devices, which on a CPU
must be asked for before JAX starts its backend
(``numpyro.set_host_device_count``); nothing in the worker process creates a
JAX array before :func:`make_fitter` asks, so the request takes effect.
NumPyro's default is float32; the suite runs every engine in float64.
``MCMC.run`` with ``chain_method="parallel"`` traces and compiles again on
every call (it ``pmap``s a new partial function each time), so NumPyro's
second call includes compilation too.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

from benchmarks.data import MODELS
from benchmarks.engines import Fit


def _linear_regression(X, y):
    alpha = numpyro.sample("alpha", dist.Normal(0, 10))
    beta = numpyro.sample("beta", dist.Normal(0, 10).expand([X.shape[1]]))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1))
    numpyro.sample("y", dist.Normal(alpha + X @ beta, sigma), obs=y)


def _logistic_regression(X, y):
    alpha = numpyro.sample("alpha", dist.Normal(0, 5))
    beta = numpyro.sample("beta", dist.Normal(0, 5).expand([X.shape[1]]))
    numpyro.sample("y", dist.Bernoulli(logits=alpha + X @ beta), obs=y)


def _eight_schools(y, sigma):
    mu = numpyro.sample("mu", dist.Normal(0, 5))
    tau = numpyro.sample("tau", dist.HalfCauchy(5))
    theta_trans = numpyro.sample("theta_trans", dist.Normal(0, 1).expand([y.shape[0]]))
    numpyro.sample("y", dist.Normal(mu + tau * theta_trans, sigma), obs=y)


def _hierarchical(group, x, y, num_groups):
    mu_a = numpyro.sample("mu_a", dist.Normal(0, 10))
    sigma_a = numpyro.sample("sigma_a", dist.HalfNormal(1))
    a_offset = numpyro.sample("a_offset", dist.Normal(0, 1).expand([num_groups]))
    b = numpyro.sample("b", dist.Normal(0, 10))
    sigma_y = numpyro.sample("sigma_y", dist.HalfNormal(1))
    a = mu_a + sigma_a * a_offset
    numpyro.sample("y", dist.Normal(a[group] + b * x, sigma_y), obs=y)


def _stochastic_volatility(returns):
    h0 = numpyro.sample("h0", dist.Normal(0, 10))
    sigma = numpyro.sample("sigma", dist.Exponential(10))
    nu = numpyro.sample("nu", dist.Exponential(0.1))
    z = numpyro.sample("z", dist.Normal(0, 1).expand([returns.shape[0]]))
    log_volatility = h0 + sigma * jnp.cumsum(z)
    numpyro.sample("returns", dist.StudentT(nu, 0, jnp.exp(log_volatility)), obs=returns)


def _correlated_gaussian(chol):
    numpyro.sample("x", dist.MultivariateNormal(jnp.zeros(chol.shape[0]), scale_tril=chol))


def _diamonds(Xc, Y):
    b = numpyro.sample("b", dist.Normal(0, 1).expand([Xc.shape[1]]))
    intercept = numpyro.sample("Intercept", dist.StudentT(3, 8, 10))
    sigma = numpyro.sample("sigma", dist.FoldedDistribution(dist.StudentT(3, 0, 10)))  # HalfStudentT(3, 10)
    numpyro.sample("Y", dist.Normal(intercept + Xc @ b, sigma), obs=Y)


MODELS_FN: dict[str, Callable] = {
    "linear_regression": _linear_regression,
    "logistic_regression": _logistic_regression,
    "eight_schools": _eight_schools,
    "hierarchical": _hierarchical,
    "stochastic_volatility": _stochastic_volatility,
    "correlated_gaussian": _correlated_gaussian,
    "diamonds": _diamonds,
}
"""Model name -> NumPyro model function (keyword arguments: the data)."""


def _model_kwargs(model_name: str, data: dict) -> dict:
    kwargs = {key: jnp.asarray(value) for key, value in data.items()}
    if model_name == "hierarchical":
        kwargs["num_groups"] = int(data["group"].max()) + 1
    return kwargs


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int,
                target_accept: float) -> Callable[[int], Fit]:
    """A fitter for ``model_name`` with NumPyro's NUTS (one ``MCMC`` object reused across calls).

    Examples
    --------
    >>> from benchmarks.data import model_data
    >>> fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=20, tune=20, chains=1,
    ...                      target_accept=0.95)
    >>> fit = fitter(1)
    >>> fit.draws["theta_trans"].shape, fit.num_steps.shape
    ((1, 20, 8), (1, 20))
    """
    numpyro.set_host_device_count(chains)  # before JAX starts its backend (importing JAX does not)
    numpyro.enable_x64()
    kernel = NUTS(MODELS_FN[model_name], target_accept_prob=target_accept)
    mcmc = MCMC(kernel, num_warmup=tune, num_samples=draws, num_chains=chains,
                chain_method="parallel" if jax.local_device_count() >= chains else "sequential",
                progress_bar=False)
    kwargs = _model_kwargs(model_name, data)

    def fitter(seed: int) -> Fit:
        mcmc.run(jax.random.PRNGKey(seed), extra_fields=("num_steps", "diverging"), **kwargs)
        samples = mcmc.get_samples(group_by_chain=True)
        extra = mcmc.get_extra_fields(group_by_chain=True)
        return Fit(
            draws={name: np.asarray(samples[name]) for name in MODELS[model_name].parameters},
            num_steps=np.asarray(extra["num_steps"]),
            is_divergent=np.asarray(extra["diverging"]),
            extra={"chain_method": mcmc.chain_method},
        )

    return fitter
