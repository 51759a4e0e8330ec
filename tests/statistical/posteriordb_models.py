"""The twelve posteriordb posteriors of ../shared/posteriordb/SPEC.md, written with posteria's API.

Each builder takes the data dict and returns a model; :func:`load` reads a
data set and :func:`reference` a reference summary. The benchmarks reuse
these builders.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

import posteria as pa


def posteriordb_dir() -> Path:
    """``$POSTERIA_POSTERIORDB`` or ``shared/posteriordb`` beside (or inside) the repository."""
    if "POSTERIA_POSTERIORDB" in os.environ:
        return Path(os.environ["POSTERIA_POSTERIORDB"])
    root = Path(__file__).resolve().parents[2]
    for candidate in (root / "shared" / "posteriordb", root.parent / "shared" / "posteriordb"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"posteriordb not found beside {root}; set POSTERIA_POSTERIORDB")


def load(data_name: str) -> dict:
    with open(posteriordb_dir() / "data" / f"{data_name}.json") as f:
        return {k: np.asarray(v) for k, v in json.load(f).items()}


def reference(posterior_name: str) -> dict[str, dict[str, float]]:
    """Reference summaries keyed ``name`` (scalars) or ``name[i]`` (0-based, unlike the file's 1-based)."""
    with open(posteriordb_dir() / "reference" / f"{posterior_name}.json") as f:
        params = json.load(f)["params"]
    out = {}
    for key, summary in params.items():
        if "[" in key:
            base, index = key[:-1].split("[")
            key = f"{base}[{int(index) - 1}]"
        out[key] = summary
    return out


def eight_schools_noncentered(d):
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 5)
        tau = pa.HalfCauchy("tau", 5)
        theta_trans = pa.Normal("theta_trans", 0, 1, shape=int(d["J"]))
        theta = pa.Deterministic("theta", mu + tau * theta_trans)
        pa.Normal("y", theta, d["sigma"], observed=d["y"])
    return model


def kidscore_momiq(d):
    with pa.Model() as model:
        beta = pa.Flat("beta", shape=2)
        sigma = pa.HalfCauchy("sigma", 2.5)
        pa.Normal("kid_score", beta[0] + beta[1] * d["mom_iq"], sigma, observed=d["kid_score"])
    return model


def kidscore_interaction(d):
    hs, iq = d["mom_hs"].astype(float), d["mom_iq"]
    with pa.Model() as model:
        beta = pa.Flat("beta", shape=4)
        sigma = pa.HalfCauchy("sigma", 2.5)
        mu = beta[0] + beta[1] * hs + beta[2] * iq + beta[3] * hs * iq
        pa.Normal("kid_score", mu, sigma, observed=d["kid_score"])
    return model


def logearn_height(d):
    with pa.Model() as model:
        beta = pa.Flat("beta", shape=2)
        sigma = pa.HalfFlat("sigma")
        pa.Normal("log_earn", beta[0] + beta[1] * d["height"], sigma, observed=np.log(d["earn"]))
    return model


def logmesquite(d):
    X = np.column_stack([np.ones(len(d["weight"])), np.log(d["diam1"]), np.log(d["diam2"]),
                         np.log(d["canopy_height"]), np.log(d["total_height"]), np.log(d["density"]),
                         d["group"]])
    with pa.Model() as model:
        beta = pa.Flat("beta", shape=7)
        sigma = pa.HalfFlat("sigma")
        pa.Normal("log_weight", pa.math.dot(X, beta), sigma, observed=np.log(d["weight"]))
    return model


def arK(d):
    K, y = int(d["K"]), d["y"]
    T = len(y)
    lags = np.column_stack([y[K - 1 - k: T - 1 - k] for k in range(K)])  # y[t-1-k] for t = K..T-1
    with pa.Model() as model:
        alpha = pa.Normal("alpha", 0, 10)
        beta = pa.Normal("beta", 0, 10, shape=K)
        sigma = pa.HalfCauchy("sigma", 2.5)
        pa.Normal("y", alpha + pa.math.dot(lags, beta), sigma, observed=y[K:])
    return model


@pa.op
def _garch_scale(y, mu, alpha0, alpha1, beta1, sigma1):
    import jax

    def step(s_prev, y_prev):
        s = (alpha0 + alpha1 * (y_prev - mu) ** 2 + beta1 * s_prev**2) ** 0.5
        return s, s

    first = jax.numpy.full((1,), sigma1)
    return jax.numpy.concatenate([first, jax.lax.scan(step, first[0], y[:-1])[1]])


def garch11(d):
    y = d["y"]
    with pa.Model() as model:
        mu = pa.Flat("mu")
        alpha0 = pa.HalfFlat("alpha0")
        alpha1 = pa.Uniform("alpha1", 0, 1)
        # Stan: real<lower=0, upper=1-alpha1> beta1 with a flat density; Uniform adds -log(1 - alpha1),
        # which the potential cancels.
        beta1 = pa.Uniform("beta1", 0, 1 - alpha1)
        pa.Potential("flat_beta1", pa.math.log(1 - alpha1))
        scale = _garch_scale(y, mu, alpha0, alpha1, beta1, float(d["sigma1"]))
        pa.Normal("y", mu, scale, observed=y)
    return model


def gp_pois_regr(d):
    x = d["x"].astype(float)
    sq_dist = (x[:, None] - x[None, :]) ** 2
    with pa.Model() as model:
        rho = pa.Gamma("rho", alpha=25, beta=4)
        alpha = pa.HalfNormal("alpha", 2)
        f_tilde = pa.Normal("f_tilde", 0, 1, shape=len(x))
        K = alpha**2 * pa.math.exp(-sq_dist / (2 * rho**2)) + 1e-10 * np.eye(len(x))
        f = pa.Deterministic("f", pa.math.dot(pa.math.cholesky(K), f_tilde))
        pa.Poisson("k", pa.math.exp(f), observed=d["k"])
    return model


def diamonds(d):
    X = d["X"][:, 1:].astype(float)
    Xc = X - X.mean(axis=0)
    with pa.Model() as model:
        b = pa.Normal("b", 0, 1, shape=Xc.shape[1])
        intercept = pa.StudentT("Intercept", nu=3, mu=8, sigma=10)
        sigma = pa.HalfStudentT("sigma", nu=3, sigma=10)
        pa.Normal("Y", intercept + pa.math.dot(Xc, b), sigma, observed=d["Y"])
    return model


def blr(d):
    with pa.Model() as model:
        beta = pa.Normal("beta", 0, 10, shape=int(d["D"]))
        sigma = pa.HalfNormal("sigma", 10)
        pa.Normal("y", pa.math.dot(d["X"], beta), sigma, observed=d["y"])
    return model


def low_dim_gauss_mix(d):
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 2, shape=2, transform=pa.transforms.ordered, initval=np.array([-1.0, 1.0]))
        sigma = pa.HalfNormal("sigma", 2, shape=2)
        theta = pa.Beta("theta", 5, 5)
        pa.NormalMixture("y", w=pa.math.stack([theta, 1 - theta]), mu=mu, sigma=sigma, observed=d["y"])
    return model


def nes(d):
    age = d["age_discrete"]
    X = np.column_stack([np.ones(len(age)), d["real_ideo"], d["race_adj"], age == 2, age == 3, age == 4,
                         d["educ1"], d["gender"], d["income"]]).astype(float)
    with pa.Model() as model:
        beta = pa.Flat("beta", shape=9)
        sigma = pa.HalfFlat("sigma")
        pa.Normal("partyid7", pa.math.dot(X, beta), sigma, observed=d["partyid7"])
    return model


#: posterior name -> (data name, builder, pa.sample options)
POSTERIORS = {
    "eight_schools-eight_schools_noncentered": ("eight_schools", eight_schools_noncentered, {"target_accept": 0.95}),
    "kidiq-kidscore_momiq": ("kidiq", kidscore_momiq, {}),
    "kidiq-kidscore_interaction": ("kidiq", kidscore_interaction, {}),
    "earnings-logearn_height": ("earnings", logearn_height, {}),
    "mesquite-logmesquite": ("mesquite", logmesquite, {}),
    "arK-arK": ("arK", arK, {}),
    "garch-garch11": ("garch", garch11, {"target_accept": 0.9}),
    "gp_pois_regr-gp_pois_regr": ("gp_pois_regr", gp_pois_regr, {"target_accept": 0.99}),  # a funnel: 0.95 passes 5 of 8 seeds
    "diamonds-diamonds": ("diamonds", diamonds, {"dense_mass": True}),
    "sblrc-blr": ("sblrc", blr, {}),
    "low_dim_gauss_mix-low_dim_gauss_mix": ("low_dim_gauss_mix", low_dim_gauss_mix, {}),
    "nes1972-nes": ("nes1972", nes, {}),
}
