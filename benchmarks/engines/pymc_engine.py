"""The suite in PyMC, sampled with PyMC's own NUTS (``pm.sample``). nutpie reuses these models.

``pm.sample`` runs with its defaults except ``cores``: PyMC's default
assumes half the CPUs are hyper-threads (``cpu_count() // 2``), so it is
given one process per CPU, as the other engines use every CPU.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np
import pymc as pm

from benchmarks.data import MODELS
from benchmarks.engines import Fit


def _linear_regression(d):
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0, 10)
        beta = pm.Normal("beta", 0, 10, shape=d["X"].shape[1])
        sigma = pm.HalfNormal("sigma", 1)
        pm.Normal("y", alpha + pm.math.dot(d["X"], beta), sigma, observed=d["y"])
    return model


def _logistic_regression(d):
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0, 5)
        beta = pm.Normal("beta", 0, 5, shape=d["X"].shape[1])
        pm.Bernoulli("y", logit_p=alpha + pm.math.dot(d["X"], beta), observed=d["y"])
    return model


def _eight_schools(d):
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfCauchy("tau", 5)
        theta_trans = pm.Normal("theta_trans", 0, 1, shape=len(d["y"]))
        pm.Normal("y", mu + tau * theta_trans, d["sigma"], observed=d["y"])
    return model


def _hierarchical(d):
    with pm.Model() as model:
        mu_a = pm.Normal("mu_a", 0, 10)
        sigma_a = pm.HalfNormal("sigma_a", 1)
        a_offset = pm.Normal("a_offset", 0, 1, shape=int(d["group"].max()) + 1)
        b = pm.Normal("b", 0, 10)
        sigma_y = pm.HalfNormal("sigma_y", 1)
        a = mu_a + sigma_a * a_offset
        pm.Normal("y", a[d["group"]] + b * d["x"], sigma_y, observed=d["y"])
    return model


def _stochastic_volatility(d):
    with pm.Model() as model:
        h0 = pm.Normal("h0", 0, 10)
        sigma = pm.Exponential("sigma", 10)
        nu = pm.Exponential("nu", 0.1)
        z = pm.Normal("z", 0, 1, shape=len(d["returns"]))
        log_volatility = h0 + sigma * pm.math.cumsum(z)
        pm.StudentT("returns", nu=nu, mu=0, sigma=pm.math.exp(log_volatility), observed=d["returns"])
    return model


def _correlated_gaussian(d):
    with pm.Model() as model:
        pm.MvNormal("x", mu=np.zeros(len(d["chol"])), chol=d["chol"])
    return model


def _diamonds(d):
    with pm.Model() as model:
        b = pm.Normal("b", 0, 1, shape=d["Xc"].shape[1])
        intercept = pm.StudentT("Intercept", nu=3, mu=8, sigma=10)
        sigma = pm.HalfStudentT("sigma", nu=3, sigma=10)
        pm.Normal("Y", intercept + pm.math.dot(d["Xc"], b), sigma, observed=d["Y"])
    return model


BUILDERS: dict[str, Callable] = {
    "linear_regression": _linear_regression,
    "logistic_regression": _logistic_regression,
    "eight_schools": _eight_schools,
    "hierarchical": _hierarchical,
    "stochastic_volatility": _stochastic_volatility,
    "correlated_gaussian": _correlated_gaussian,
    "diamonds": _diamonds,
}
"""Model name -> ``builder(data) -> pm.Model``."""


def fit_from_idata(model_name: str, idata) -> Fit:
    """The :class:`Fit` of an InferenceData with PyMC's stat names (``n_steps``, ``diverging``).

    Examples
    --------
    >>> import arviz as az
    >>> idata = az.from_dict(posterior={"x": np.zeros((2, 5, 100))},
    ...                      sample_stats={"n_steps": np.ones((2, 5)), "diverging": np.zeros((2, 5), bool)})
    >>> fit = fit_from_idata("correlated_gaussian", idata)
    >>> fit.draws["x"].shape, int(fit.num_steps.sum())
    ((2, 5, 100), 10)
    """
    return Fit(
        draws={name: idata.posterior[name].values for name in MODELS[model_name].parameters},
        num_steps=idata.sample_stats["n_steps"].values,
        is_divergent=idata.sample_stats["diverging"].values,
        extra={},
    )


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int,
                target_accept: float) -> Callable[[int], Fit]:
    """A fitter for ``model_name`` with ``pm.sample`` (the same ``pm.Model`` across calls).

    Examples
    --------
    >>> from benchmarks.data import model_data
    >>> fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=20, tune=20, chains=1,
    ...                      target_accept=0.95)
    >>> fit = fitter(1)
    >>> fit.draws["theta_trans"].shape, fit.num_steps.shape
    ((1, 20, 8), (1, 20))
    """
    built: list = []

    def fitter(seed: int) -> Fit:
        if not built:
            built.append(BUILDERS[model_name](data))
        idata = pm.sample(draws, tune=tune, chains=chains, random_seed=seed, target_accept=target_accept,
                          cores=min(chains, os.cpu_count() or 1), model=built[0], progressbar=False,
                          compute_convergence_checks=False)
        return fit_from_idata(model_name, idata)

    return fitter
