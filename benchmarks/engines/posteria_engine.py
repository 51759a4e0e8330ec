"""The suite in posteria (``pa.sample``: its NUTS, chains on threads)."""

from __future__ import annotations

from typing import Any

import numpy as np

import posteria as pa
from benchmarks.data import MODELS
from benchmarks.engines import EngineUnavailable, Fit


def _linear_regression(d):
    with pa.Model() as model:
        alpha = pa.Normal("alpha", 0, 10)
        beta = pa.Normal("beta", 0, 10, shape=d["X"].shape[1])
        sigma = pa.HalfNormal("sigma", 1)
        pa.Normal("y", alpha + pa.math.dot(d["X"], beta), sigma, observed=d["y"])
    return model


def _logistic_regression(d):
    with pa.Model() as model:
        alpha = pa.Normal("alpha", 0, 5)
        beta = pa.Normal("beta", 0, 5, shape=d["X"].shape[1])
        pa.Bernoulli("y", logit_p=alpha + pa.math.dot(d["X"], beta), observed=d["y"])
    return model


def _eight_schools(d):
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 5)
        tau = pa.HalfCauchy("tau", 5)
        theta_trans = pa.Normal("theta_trans", 0, 1, shape=len(d["y"]))
        pa.Normal("y", mu + tau * theta_trans, d["sigma"], observed=d["y"])
    return model


def _hierarchical(d):
    with pa.Model() as model:
        mu_a = pa.Normal("mu_a", 0, 10)
        sigma_a = pa.HalfNormal("sigma_a", 1)
        a_offset = pa.Normal("a_offset", 0, 1, shape=int(d["group"].max()) + 1)
        b = pa.Normal("b", 0, 10)
        sigma_y = pa.HalfNormal("sigma_y", 1)
        a = mu_a + sigma_a * a_offset
        pa.Normal("y", a[d["group"]] + b * d["x"], sigma_y, observed=d["y"])
    return model


def _stochastic_volatility(d):
    with pa.Model() as model:
        h0 = pa.Normal("h0", 0, 10)
        sigma = pa.Exponential("sigma", 10)
        nu = pa.Exponential("nu", 0.1)
        z = pa.Normal("z", 0, 1, shape=len(d["returns"]))
        log_volatility = h0 + sigma * pa.math.cumsum(z)
        pa.StudentT("returns", nu=nu, mu=0, sigma=pa.math.exp(log_volatility), observed=d["returns"])
    return model


def _correlated_gaussian(d):
    with pa.Model() as model:
        pa.MvNormal("x", mu=np.zeros(len(d["chol"])), chol=d["chol"])
    return model


def _diamonds(d):
    with pa.Model() as model:
        b = pa.Normal("b", 0, 1, shape=d["Xc"].shape[1])
        intercept = pa.StudentT("Intercept", nu=3, mu=8, sigma=10)
        sigma = pa.HalfStudentT("sigma", nu=3, sigma=10)
        pa.Normal("Y", intercept + pa.math.dot(d["Xc"], b), sigma, observed=d["Y"])
    return model


BUILDERS = {
    "linear_regression": _linear_regression,
    "logistic_regression": _logistic_regression,
    "eight_schools": _eight_schools,
    "hierarchical": _hierarchical,
    "stochastic_volatility": _stochastic_volatility,
    "correlated_gaussian": _correlated_gaussian,
    "diamonds": _diamonds,
}
"""Model name -> ``builder(data) -> pa.Model``."""


class PosteriaFitter:
    """``fitter(seed) -> Fit`` for one model; keeps the model (and so its compiled program) between calls.

    Attributes
    ----------
    model
        The ``pa.Model`` (``None`` before the first call).
    idata
        The InferenceData of the latest call.
    """

    def __init__(self, model_name: str, data: dict, *, draws: int, tune: int, chains: int, target_accept: float,
                 adaptation: str = "stan", dense_mass: bool = False):
        self.model_name, self.data, self.adaptation = model_name, data, adaptation
        self.settings = {"draws": draws, "tune": tune, "chains": chains, "target_accept": target_accept,
                         "dense_mass": dense_mass}
        self.model: Any = None
        self.idata: Any = None

    def __call__(self, seed: int) -> Fit:
        if self.model is None:
            self.model = BUILDERS[self.model_name](self.data)
        try:
            idata = pa.sample(**self.settings, seed=seed, model=self.model, adaptation=self.adaptation,
                              progressbar=False, on_divergence="ignore", compute_convergence_checks=False)
        except ValueError as error:
            if "adaptation" in str(error):
                raise EngineUnavailable(f"pa.sample refuses adaptation={self.adaptation!r}: {error}") from error
            raise
        self.idata = idata
        names = MODELS[self.model_name].parameters
        return Fit(
            draws={name: idata.posterior[name].values for name in names},
            num_steps=idata.sample_stats["n_steps"].values,
            is_divergent=idata.sample_stats["diverging"].values,
            extra={"compile_time": float(idata.attrs["compile_time"]),
                   "sampling_time": float(idata.attrs["sampling_time"])},
        )


def make_fitter(model_name: str, data: dict, *, draws: int, tune: int, chains: int, target_accept: float,
                adaptation: str = "stan", dense_mass: bool = False) -> PosteriaFitter:
    """A fitter for ``model_name`` with ``pa.sample`` (diagonal mass matrix unless ``dense_mass``).

    Examples
    --------
    >>> from benchmarks.data import model_data
    >>> fitter = make_fitter("eight_schools", model_data("eight_schools"), draws=20, tune=20, chains=1,
    ...                      target_accept=0.95)
    >>> fit = fitter(1)
    >>> fit.draws["theta_trans"].shape, fit.num_steps.shape
    ((1, 20, 8), (1, 20))
    """
    return PosteriaFitter(model_name, data, draws=draws, tune=tune, chains=chains, target_accept=target_accept,
                          adaptation=adaptation, dense_mass=dense_mass)
