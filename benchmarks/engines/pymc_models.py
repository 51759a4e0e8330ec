"""The suite in PyMC's model API, written once for PyMC (``import pymc as pm``) and posteria (``import posteria as pm``).

posteria runs PyMC model code unchanged, so the posteria, PyMC and nutpie
engines share these builders (each takes the module that provides the API
as its first argument) and read their InferenceData the same way (ArviZ's
stat names). This module imports neither library.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, Callable

import numpy as np

from benchmarks.data import MODELS
from benchmarks.engines import Fit


def _linear_regression(pm, d):
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0, 10)
        beta = pm.Normal("beta", 0, 10, shape=d["X"].shape[1])
        sigma = pm.HalfNormal("sigma", 1)
        pm.Normal("y", alpha + pm.math.dot(d["X"], beta), sigma, observed=d["y"])
    return model


def _logistic_regression(pm, d):
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0, 5)
        beta = pm.Normal("beta", 0, 5, shape=d["X"].shape[1])
        pm.Bernoulli("y", logit_p=alpha + pm.math.dot(d["X"], beta), observed=d["y"])
    return model


def _eight_schools(pm, d):
    with pm.Model() as model:
        mu = pm.Normal("mu", 0, 5)
        tau = pm.HalfCauchy("tau", 5)
        theta_trans = pm.Normal("theta_trans", 0, 1, shape=len(d["y"]))
        pm.Normal("y", mu + tau * theta_trans, d["sigma"], observed=d["y"])
    return model


def _hierarchical(pm, d):
    with pm.Model() as model:
        mu_a = pm.Normal("mu_a", 0, 10)
        sigma_a = pm.HalfNormal("sigma_a", 1)
        a_offset = pm.Normal("a_offset", 0, 1, shape=int(d["group"].max()) + 1)
        b = pm.Normal("b", 0, 10)
        sigma_y = pm.HalfNormal("sigma_y", 1)
        a = mu_a + sigma_a * a_offset
        pm.Normal("y", a[d["group"]] + b * d["x"], sigma_y, observed=d["y"])
    return model


def _stochastic_volatility(pm, d):
    with pm.Model() as model:
        h0 = pm.Normal("h0", 0, 10)
        sigma = pm.Exponential("sigma", 10)
        nu = pm.Exponential("nu", 0.1)
        z = pm.Normal("z", 0, 1, shape=len(d["returns"]))
        log_volatility = h0 + sigma * pm.math.cumsum(z)
        pm.StudentT("returns", nu=nu, mu=0, sigma=pm.math.exp(log_volatility), observed=d["returns"])
    return model


def _correlated_gaussian(pm, d):
    with pm.Model() as model:
        pm.MvNormal("x", mu=np.zeros(len(d["chol"])), chol=d["chol"])
    return model


def _diamonds(pm, d):
    with pm.Model() as model:
        b = pm.Normal("b", 0, 1, shape=d["Xc"].shape[1])
        intercept = pm.StudentT("Intercept", nu=3, mu=8, sigma=10)
        sigma = pm.HalfStudentT("sigma", nu=3, sigma=10)
        pm.Normal("Y", intercept + pm.math.dot(d["Xc"], b), sigma, observed=d["Y"])
    return model


_BUILDERS: dict[str, Callable[[ModuleType, dict], Any]] = {
    "linear_regression": _linear_regression,
    "logistic_regression": _logistic_regression,
    "eight_schools": _eight_schools,
    "hierarchical": _hierarchical,
    "stochastic_volatility": _stochastic_volatility,
    "correlated_gaussian": _correlated_gaussian,
    "diamonds": _diamonds,
}


def build_model(pm: ModuleType, model_name: str, data: dict[str, np.ndarray]) -> Any:
    """Build ``model_name`` on ``data`` with the PyMC-style API of module ``pm`` (``pymc`` or ``posteria``).

    Examples
    --------
    >>> import posteria
    >>> from benchmarks.data import model_data
    >>> model = build_model(posteria, "eight_schools", model_data("eight_schools"))
    >>> [rv.name for rv in model.free_RVs]
    ['mu', 'tau', 'theta_trans']
    """
    return _BUILDERS[model_name](pm, data)


def fit_from_idata(model_name: str, idata: Any, extra: dict[str, Any] | None = None) -> Fit:
    """The :class:`Fit` of an InferenceData with ArviZ's stat names (``n_steps``, ``diverging``).

    Examples
    --------
    >>> import arviz as az
    >>> idata = az.from_dict(posterior={"x": np.zeros((2, 5, 100))},
    ...                      sample_stats={"n_steps": np.ones((2, 5)), "diverging": np.zeros((2, 5), bool)})
    >>> fit = fit_from_idata("correlated_gaussian", idata)
    >>> fit.draws["x"].shape, int(fit.num_steps.sum()), fit.extra
    ((2, 5, 100), 10, {})
    """
    return Fit(
        draws={name: idata.posterior[name].values for name in MODELS[model_name].parameters},
        num_steps=idata.sample_stats["n_steps"].values,
        is_divergent=idata.sample_stats["diverging"].values,
        extra=extra or {},
    )
