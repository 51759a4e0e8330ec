"""The benchmark suite: each model's data (generated once, from fixed seeds) and settings.

Every engine fits the same data with the same model, priors and
parameterisation; the engines' model code lives in ``benchmarks/engines/``.
This module uses numpy only: a peer's worker process must not import JAX
settings (or posteria's compilation cache) it would not otherwise have.

The models (``parameters`` lists the constrained free parameters that every
engine reports, with their shapes):

- ``linear_regression``: N=1000, K=10; alpha ~ N(0, 10), beta ~ N(0, 10),
  sigma ~ HalfNormal(1), y ~ N(alpha + X beta, sigma).
- ``logistic_regression``: N=5000, K=20; alpha, beta ~ N(0, 5),
  y ~ Bernoulli(logit = alpha + X beta).
- ``eight_schools``: non-centred, posteriordb's data; mu ~ N(0, 5),
  tau ~ HalfCauchy(5), theta_trans ~ N(0, 1), y ~ N(mu + tau theta_trans, sigma).
- ``hierarchical``: radon-like varying intercepts, 85 groups, 919 rows;
  mu_a ~ N(0, 10), sigma_a ~ HalfNormal(1), a_offset ~ N(0, 1),
  b ~ N(0, 10), sigma_y ~ HalfNormal(1),
  y ~ N(mu_a + sigma_a a_offset[group] + b x, sigma_y).
- ``stochastic_volatility``: T=500 simulated returns; h0 ~ N(0, 10),
  sigma ~ Exponential(rate 10), nu ~ Exponential(rate 0.1), z ~ N(0, 1) (T),
  log-volatility h = h0 + sigma cumsum(z) (a non-centred Gaussian random
  walk), returns ~ StudentT(nu, 0, exp(h)).
- ``correlated_gaussian``: x ~ MvNormal(0, Sigma) in 100 dimensions,
  Sigma = Q diag(lambda) Q^T with a fixed random rotation Q and eigenvalues
  log-spaced over [10^-1.5, 10^1.5] (condition number 1000); every engine
  gets the same Cholesky factor.
- ``diamonds``: posteriordb's diamonds; Xc = X[:, 1:] minus its column
  means; b ~ N(0, 1) (24), Intercept ~ StudentT(3, 8, 10),
  sigma ~ HalfStudentT(3, 10), Y ~ N(Intercept + Xc b, sigma).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

SEED = 20260101
"""Root seed of every simulated data set (each model draws from its own child stream)."""


class ModelSpec(NamedTuple):
    """One benchmark model.

    Attributes
    ----------
    name
        Key used on the command line and in the results.
    parameters
        Constrained free parameters every engine reports, name -> shape.
    target_accept
        Target acceptance rate given to every engine for this model.
    make_data
        ``() -> dict`` of numpy arrays (deterministic).
    """

    name: str
    parameters: dict[str, tuple[int, ...]]
    target_accept: float
    make_data: Callable[[], dict[str, np.ndarray]]


def posteriordb_dir() -> Path:
    """``$POSTERIA_POSTERIORDB``, or ``shared/posteriordb`` beside (or inside) the repository.

    Examples
    --------
    >>> (posteriordb_dir() / "data" / "diamonds.json").is_file()
    True
    """
    if "POSTERIA_POSTERIORDB" in os.environ:
        return Path(os.environ["POSTERIA_POSTERIORDB"])
    root = Path(__file__).resolve().parents[1]
    for candidate in (root / "shared" / "posteriordb", root.parent / "shared" / "posteriordb"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"posteriordb not found beside {root}; set POSTERIA_POSTERIORDB")


def _posteriordb(name: str) -> dict[str, np.ndarray]:
    with open(posteriordb_dir() / "data" / f"{name}.json") as f:
        return {key: np.asarray(value) for key, value in json.load(f).items()}


def _rng(index: int) -> np.random.Generator:
    return np.random.default_rng([SEED, index])


def _linear_regression() -> dict[str, np.ndarray]:
    rng = _rng(1)
    X = rng.normal(size=(1000, 10))
    y = 1.5 + X @ rng.normal(size=10) + rng.normal(scale=0.7, size=1000)
    return {"X": X, "y": y}


def _logistic_regression() -> dict[str, np.ndarray]:
    rng = _rng(2)
    X = rng.normal(size=(5000, 20))
    logit = -0.5 + X @ rng.normal(scale=0.5, size=20)
    y = (rng.uniform(size=5000) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return {"X": X, "y": y}


def _eight_schools() -> dict[str, np.ndarray]:
    d = _posteriordb("eight_schools")
    return {"y": d["y"].astype(float), "sigma": d["sigma"].astype(float)}


def _hierarchical() -> dict[str, np.ndarray]:
    rng = _rng(4)
    num_groups, num_rows = 85, 919
    counts = 1 + rng.multinomial(num_rows - num_groups, rng.dirichlet(np.ones(num_groups)))
    group = np.repeat(np.arange(num_groups), counts)
    x = (rng.uniform(size=num_rows) < 0.8).astype(float)  # e.g. "measured on the ground floor"
    a = 1.5 + 0.3 * rng.normal(size=num_groups)
    y = a[group] - 0.7 * x + rng.normal(scale=0.75, size=num_rows)
    return {"group": group, "x": x, "y": y}


def _stochastic_volatility() -> dict[str, np.ndarray]:
    rng = _rng(5)
    log_volatility = -0.5 + np.cumsum(0.1 * rng.normal(size=500))
    return {"returns": np.exp(log_volatility) * rng.standard_t(10.0, size=500)}


def _correlated_gaussian() -> dict[str, np.ndarray]:
    rng = _rng(6)
    rotation, _ = np.linalg.qr(rng.normal(size=(100, 100)))
    cov = (rotation * np.logspace(-1.5, 1.5, 100)) @ rotation.T
    return {"chol": np.linalg.cholesky((cov + cov.T) / 2)}


def _diamonds() -> dict[str, np.ndarray]:
    d = _posteriordb("diamonds")
    X = d["X"][:, 1:].astype(float)
    return {"Xc": X - X.mean(axis=0), "Y": d["Y"].astype(float)}


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("linear_regression", {"alpha": (), "beta": (10,), "sigma": ()}, 0.8, _linear_regression),
        ModelSpec("logistic_regression", {"alpha": (), "beta": (20,)}, 0.8, _logistic_regression),
        ModelSpec("eight_schools", {"mu": (), "tau": (), "theta_trans": (8,)}, 0.95, _eight_schools),
        ModelSpec("hierarchical", {"mu_a": (), "sigma_a": (), "a_offset": (85,), "b": (), "sigma_y": ()}, 0.8,
                  _hierarchical),
        ModelSpec("stochastic_volatility", {"h0": (), "sigma": (), "nu": (), "z": (500,)}, 0.9,
                  _stochastic_volatility),
        ModelSpec("correlated_gaussian", {"x": (100,)}, 0.8, _correlated_gaussian),
        ModelSpec("diamonds", {"b": (24,), "Intercept": (), "sigma": ()}, 0.8, _diamonds),
    )
}
"""The suite, in the order it runs."""

POSITIVE = frozenset({"sigma", "tau", "sigma_a", "sigma_y", "nu"})
"""Parameter names constrained to (0, inf) in every model of the suite (log-transformed for sampling)."""


@functools.lru_cache(maxsize=None)
def _cached(name: str) -> dict[str, np.ndarray]:
    data = MODELS[name].make_data()
    for value in data.values():
        value.setflags(write=False)
    return data


def model_data(name: str) -> dict[str, np.ndarray]:
    """The data of model ``name`` (generated once per process, read-only arrays).

    Examples
    --------
    >>> d = model_data("linear_regression")
    >>> d["X"].shape, d["y"].shape
    ((1000, 10), (1000,))
    >>> bool(np.all(model_data("linear_regression")["y"] == d["y"]))
    True
    """
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; the suite has {', '.join(MODELS)}")
    return dict(_cached(name))
