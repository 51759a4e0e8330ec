"""Continuous univariate families: log densities against scipy, samplers, moments, parameters, models.

Statistical checks use fixed seeds and 20,000 draws; tolerances are 4 Monte
Carlo standard errors (binomial ones for quantiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from scipy.special import i0e, i1e, ive

import posteria as pa
from posteria.compiler import compile_lowered
from posteria.model.graph import evaluate

jax.config.update("jax_enable_x64", True)

NUM_DRAWS = 20_000
NUM_SE = 4.0


def family(name: str) -> type:
    """The family class ``pa.<name>``."""
    return getattr(pa, name)


# -- reference distributions scipy lacks ------------------------------------------
class _HalfStudentT(st.rv_continuous):
    def _logpdf(self, x, nu):
        return np.log(2.0) + st.t.logpdf(x, nu)

    def _pdf(self, x, nu):
        return np.exp(self._logpdf(x, nu))

    def _cdf(self, x, nu):
        return 2 * st.t.cdf(x, nu) - 1

    def _ppf(self, q, nu):
        return st.t.ppf((1 + q) / 2, nu)


class _Kumaraswamy(st.rv_continuous):
    def _logpdf(self, x, a, b):
        with np.errstate(divide="ignore"):  # infinite at the edges for some shapes
            return np.log(a * b) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-(x**a))

    def _pdf(self, x, a, b):
        return np.exp(self._logpdf(x, a, b))

    def _cdf(self, x, a, b):
        return 1 - (1 - x**a) ** b

    def _ppf(self, q, a, b):
        return (1 - (1 - q) ** (1 / b)) ** (1 / a)


half_student_t = _HalfStudentT(a=0.0, name="half_student_t")
kumaraswamy = _Kumaraswamy(a=0.0, b=1.0, name="kumaraswamy")


@dataclass(frozen=True)
class Case:
    family: str
    params: dict
    ref: Any  # frozen scipy distribution with the same density
    outside: tuple = ()  # values outside the support (log density -inf)
    edges: tuple = ()  # edges of the support (log density as scipy's, finite or infinite)
    moments: tuple = ("mean", "var")  # moments the sampler test checks (heavy tails: fewer)
    id: str = field(default="", compare=False)


INF = np.inf
CASES = [
    Case("Normal", {"mu": 1.0, "sigma": 2.0}, st.norm(1, 2)),
    Case("Normal", {"mu": -3.0, "tau": 4.0}, st.norm(-3, 0.5)),
    Case("HalfNormal", {"sigma": 2.0}, st.halfnorm(scale=2), (-0.1,), (0.0,)),
    Case("HalfNormal", {"tau": 0.25}, st.halfnorm(scale=2), (-1e-9,)),
    Case("Cauchy", {"alpha": 0.5, "beta": 2.0}, st.cauchy(0.5, 2), moments=()),
    Case("HalfCauchy", {"beta": 0.7}, st.halfcauchy(scale=0.7), (-1.0,), (0.0,), moments=()),
    Case("StudentT", {"nu": 1.5, "mu": 1.0, "sigma": 2.0}, st.t(1.5, 1, 2), moments=()),
    Case("StudentT", {"nu": 30.0, "mu": 0.0, "lam": 4.0}, st.t(30, 0, 0.5)),
    Case("StudentT", {"nu": 3.0}, st.t(3), moments=("mean",)),
    Case("HalfStudentT", {"nu": 3.0, "sigma": 2.0}, half_student_t(3, scale=2), (-0.5,), (0.0,), moments=("mean",)),
    Case("HalfStudentT", {"nu": 10.0, "lam": 0.25}, half_student_t(10, scale=2), (-0.5,)),
    Case("LogNormal", {"mu": 0.5, "sigma": 0.8}, st.lognorm(0.8, scale=np.exp(0.5)), (-1.0,), (0.0,)),
    Case("LogNormal", {"mu": -1.0, "tau": 4.0}, st.lognorm(0.5, scale=np.exp(-1.0)), (-1e-3,)),
    Case("Exponential", {"lam": 2.5}, st.expon(scale=0.4), (-0.1,), (0.0,)),
    Case("Exponential", {"scale": 3.0}, st.expon(scale=3), (-0.1,)),
    Case("Gamma", {"alpha": 0.5, "beta": 2.0}, st.gamma(0.5, scale=0.5), (-1.0,), (0.0,)),
    Case("Gamma", {"alpha": 4.0, "beta": 0.5}, st.gamma(4, scale=2), (-1.0,), (0.0,)),
    Case("Gamma", {"mu": 3.0, "sigma": 1.5}, st.gamma(4, scale=0.75), (-1.0,)),
    Case("InverseGamma", {"alpha": 5.0, "beta": 2.0}, st.invgamma(5, scale=2), (-1.0,), (0.0,)),
    Case("InverseGamma", {"alpha": 3.0}, st.invgamma(3), (-1.0,), moments=("mean",)),
    Case("InverseGamma", {"mu": 2.0, "sigma": 0.5}, st.invgamma(18, scale=34), (-1.0,)),
    Case("Beta", {"alpha": 0.5, "beta": 0.5}, st.beta(0.5, 0.5), (-0.1, 1.1), (0.0, 1.0)),
    Case("Beta", {"alpha": 2.0, "beta": 5.0}, st.beta(2, 5), (-0.1, 1.1), (0.0, 1.0)),
    Case("Beta", {"mu": 0.3, "sigma": 0.1}, st.beta(6, 14), (1.01,)),
    Case("Beta", {"mu": 0.3, "nu": 10.0}, st.beta(3, 7), (-1e-3,)),
    Case("Uniform", {"lower": -1.0, "upper": 3.0}, st.uniform(-1, 4), (-1.01, 3.01), (-1.0, 3.0)),
    Case("Laplace", {"mu": 1.0, "b": 0.5}, st.laplace(1, 0.5)),
    Case("Logistic", {"mu": -1.0, "s": 2.0}, st.logistic(-1, 2)),
    Case("Weibull", {"alpha": 1.5, "beta": 2.0}, st.weibull_min(1.5, scale=2), (-0.1,), (0.0,)),
    Case("Weibull", {"alpha": 0.7, "beta": 1.0}, st.weibull_min(0.7), (-0.1,), (0.0,)),
    Case("TruncatedNormal", {"mu": 0.5, "sigma": 2.0, "lower": -1.0, "upper": 2.0},
         st.truncnorm(-0.75, 0.75, 0.5, 2), (-1.01, 2.01), (-1.0, 2.0)),
    Case("TruncatedNormal", {"mu": 0.0, "sigma": 1.0, "lower": 0.0}, st.truncnorm(0, INF), (-0.01,), (0.0,)),
    Case("TruncatedNormal", {"mu": 1.0, "sigma": 1.0, "upper": 0.5, "lower": -INF},
         st.truncnorm(-INF, -0.5, 1, 1), (0.51,), (0.5,)),
    Case("TruncatedNormal", {"mu": 0.0, "sigma": 1.0, "lower": 5.0, "upper": 7.0}, st.truncnorm(5, 7),
         (4.99, 7.01), (5.0, 7.0)),
    Case("TruncatedNormal", {"mu": 1.0, "sigma": 0.5, "lower": 6.0}, st.truncnorm(10, INF, 1, 0.5), (5.9,), (6.0,)),
    Case("TruncatedNormal", {"mu": 0.0, "sigma": 1.0, "lower": -9.0, "upper": -8.0}, st.truncnorm(-9, -8),
         (-7.9,), (-9.0,)),
    Case("ChiSquared", {"nu": 3.0}, st.chi2(3), (-0.1,), (0.0,)),
    Case("ChiSquared", {"nu": 1.0}, st.chi2(1), (-0.1,), (0.0,)),
    Case("Pareto", {"alpha": 5.0, "m": 2.0}, st.pareto(5, scale=2), (1.99,), (2.0,)),
    Case("Pareto", {"alpha": 1.5, "m": 0.5}, st.pareto(1.5, scale=0.5), (0.0,), moments=()),
    Case("Gumbel", {"mu": 1.0, "beta": 2.0}, st.gumbel_r(1, 2)),
    Case("SkewNormal", {"mu": 1.0, "sigma": 2.0, "alpha": -3.0}, st.skewnorm(-3, 1, 2)),
    Case("SkewNormal", {"mu": 0.0, "tau": 4.0, "alpha": 5.0}, st.skewnorm(5, 0, 0.5)),
    Case("ExGaussian", {"mu": 1.0, "sigma": 0.5, "nu": 2.0}, st.exponnorm(4, 1, 0.5)),
    Case("ExGaussian", {"mu": 0.0, "sigma": 2.0, "nu": 0.1}, st.exponnorm(0.05, 0, 2)),
    Case("Wald", {"mu": 1.0, "lam": 2.0}, st.invgauss(0.5, scale=2), (-0.1,), (0.0,)),
    Case("Wald", {"mu": 2.0, "phi": 3.0, "alpha": 1.0}, st.invgauss(1 / 3, loc=1, scale=6), (0.9,), (1.0,)),
    Case("Wald", {"lam": 2.0, "phi": 4.0}, st.invgauss(0.25, scale=2), (-0.1,)),
    Case("Kumaraswamy", {"a": 2.0, "b": 3.0}, kumaraswamy(2, 3), (-0.1, 1.1), (0.0, 1.0)),
    Case("Kumaraswamy", {"a": 0.5, "b": 0.8}, kumaraswamy(0.5, 0.8), (-0.1, 1.1), (0.0, 1.0)),
    Case("AsymmetricLaplace", {"kappa": 2.0, "mu": 1.0, "b": 0.5}, st.laplace_asymmetric(2, loc=1, scale=2)),
    Case("AsymmetricLaplace", {"q": 0.2, "mu": 0.0, "b": 1.0}, st.laplace_asymmetric(0.5)),
]
CASES = [Case(c.family, c.params, c.ref, c.outside, c.edges, c.moments, id=f"{c.family}-{i}")
         for i, c in enumerate(CASES)]
IDS = [c.id for c in CASES]
PROBS = np.array([1e-6, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 1 - 1e-6])


def dist(case: Case, **kwargs):
    return family(case.family).dist(**case.params, **kwargs)


def bound(case: Case):
    """The family with evaluated (canonical) parameters."""
    return evaluate([dist(case)], {})[0]


# -- log densities -------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_logp_matches_scipy_on_a_grid_and_the_edges(case):
    values = np.concatenate([case.ref.ppf(PROBS), np.asarray(case.edges, dtype=float)])
    np.testing.assert_allclose(pa.logp(dist(case), values), case.ref.logpdf(values), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("case", [c for c in CASES if c.outside], ids=[c.id for c in CASES if c.outside])
def test_logp_is_minus_inf_outside_the_support(case):
    logp = np.asarray(pa.logp(dist(case), np.asarray(case.outside)))
    assert np.all(logp == -np.inf), logp


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_are_finite_inside_and_not_nan_outside(case):
    b = bound(case)
    params = {k: v for k, v in b.params.items() if v is not None}
    fixed = {k: v for k, v in b.params.items() if v is None}

    def total_logp(values, p):
        return jnp.sum(b.family.logp(values, **p, **fixed))

    inside = jnp.asarray(case.ref.ppf(np.array([0.05, 0.3, 0.7, 0.95])))
    d_value, d_params = jax.grad(total_logp, argnums=(0, 1))(inside, params)
    assert np.all(np.isfinite(d_value)), d_value
    assert all(np.all(np.isfinite(g)) for g in d_params.values()), d_params
    if case.outside:
        d_params = jax.grad(total_logp, argnums=1)(jnp.asarray(case.outside, dtype=float), params)
        assert not any(np.any(np.isnan(g)) for g in d_params.values()), d_params


# -- moments and samplers ----------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_mean_and_variance_match_scipy(case):
    b = bound(case)
    np.testing.assert_allclose(b.mean(), case.ref.mean(), rtol=1e-6)
    np.testing.assert_allclose(b.variance(), case.ref.var(), rtol=1e-6)


def check_draws(draws: np.ndarray, ref, moments=("mean", "var")) -> None:
    """Quantiles (binomial standard errors) and moments (Monte Carlo standard errors) of ``draws`` against ``ref``."""
    n = draws.size
    probs = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    below = np.mean(draws[:, None] <= ref.ppf(probs), axis=0)
    assert np.all(np.abs(below - probs) < NUM_SE * np.sqrt(probs * (1 - probs) / n)), (below, probs)
    if "mean" in moments:
        assert abs(draws.mean() - ref.mean()) < NUM_SE * draws.std() / np.sqrt(n), (draws.mean(), ref.mean())
    if "var" in moments:
        centred = draws - draws.mean()
        var = np.mean(centred**2)
        se = np.sqrt((np.mean(centred**4) - var**2) / n)
        assert abs(var - ref.var()) < NUM_SE * se, (var, ref.var(), se)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_draws_match_quantiles_and_moments(case):
    draws = pa.draw(dist(case), draws=NUM_DRAWS, random_seed=7)
    assert draws.shape == (NUM_DRAWS,)
    assert np.all(np.isfinite(case.ref.logpdf(draws))), "a draw lies outside the support"
    check_draws(draws, case.ref, case.moments)


@pytest.mark.parametrize("scale", [1.03, 0.97])
def test_the_draw_check_detects_a_wrong_sampler(scale):
    draws = pa.draw(family("Gamma").dist(alpha=4.0, beta=0.5), draws=NUM_DRAWS, random_seed=7) * scale
    with pytest.raises(AssertionError):
        check_draws(draws, st.gamma(4, scale=2))


def test_draws_broadcast_parameters_against_the_shape():
    gamma = family("Gamma").dist(alpha=np.array([0.5, 2.0, 8.0]), beta=1.0, shape=(2, 3))
    draws = pa.draw(gamma, draws=4000, random_seed=1)
    assert draws.shape == (4000, 2, 3)
    means = draws.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(means, [0.5, 2.0, 8.0], rtol=0.1)
    truncated = family("TruncatedNormal").dist(mu=0.0, sigma=1.0, lower=np.array([-1.0, 2.0]), upper=3.0)
    tn = pa.draw(truncated, draws=2000, random_seed=2)
    assert tn.shape == (2000, 2) and np.all(tn[:, 0] >= -1.0) and np.all(tn[:, 1] >= 2.0) and np.all(tn <= 3.0)


# -- von Mises (circular: checked with its own statistics) -----------------------------
@pytest.mark.parametrize("mu, kappa", [(0.5, 2.0), (-2.0, 0.3), (3.0, 40.0)])
def test_von_mises_logp_against_scipy_within_one_period(mu, kappa):
    values = np.linspace(max(-np.pi, mu - np.pi), min(np.pi, mu + np.pi), 9)
    logp = pa.logp(family("VonMises").dist(mu=mu, kappa=kappa), values)
    np.testing.assert_allclose(logp, st.vonmises(kappa, loc=mu).logpdf(values), rtol=1e-6, atol=1e-9)
    assert float(pa.logp(family("VonMises").dist(mu=mu, kappa=kappa), 3.2)) == -np.inf


@pytest.mark.parametrize("kappa", [1e-4, 0.5, 2.0, 50.0, 1e4])
def test_von_mises_draws(kappa):
    draws = pa.draw(family("VonMises").dist(mu=0.0, kappa=kappa), draws=NUM_DRAWS, random_seed=3)
    assert np.all(np.abs(draws) <= np.pi)
    check_draws(draws, st.vonmises(kappa), moments=("mean",))
    cosines = np.cos(draws)  # E cos = I1 / I0, E cos^2 = (1 + I2 / I0) / 2
    expected = i1e(kappa) / i0e(kappa)
    assert abs(cosines.mean() - expected) < NUM_SE * cosines.std() / np.sqrt(NUM_DRAWS)
    var = (1 + ive(2, kappa) / i0e(kappa)) / 2 - expected**2
    assert abs(cosines.var() - var) < NUM_SE * np.sqrt(2 * var**2 / NUM_DRAWS) + 1e-12


def test_von_mises_draws_wrap_around_the_circle():
    d = family("VonMises").dist(mu=3.0, kappa=4.0)
    draws = pa.draw(d, draws=NUM_DRAWS, random_seed=5)
    assert np.all(np.abs(draws) <= np.pi) and np.mean(draws < 0) > 0.1
    direction = np.arctan2(np.sin(draws).mean(), np.cos(draws).mean())
    assert abs(direction - 3.0) < 0.02
    b = evaluate([d], {})[0]
    np.testing.assert_allclose(b.variance(), 1 - i1e(4.0) / i0e(4.0))


# -- improper priors ------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, value, logp", [("Flat", -7.5, 0.0), ("HalfFlat", 7.5, 0.0), ("HalfFlat", -0.5, -np.inf)]
)
def test_improper_priors_have_constant_log_density_and_no_draws(name, value, logp):
    assert float(pa.logp(family(name).dist(), value)) == logp
    with pytest.raises(ValueError, match=f"{name} is an improper prior"):
        pa.draw(family(name).dist(), draws=3)


@pytest.mark.parametrize("name, start, value_name", [("Flat", 0.0, "x"), ("HalfFlat", 0.0, "x_log__")])
def test_improper_priors_in_a_model(name, start, value_name):
    with pa.Model() as model:
        family(name)("x", shape=2)
    point = model.initial_point()
    np.testing.assert_allclose(point[value_name], [start, start])
    assert np.isfinite(model.compile_logp().value_and_grad(model.compile_logp().unconstrain(point))[0])


# -- parameters -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("Normal", {"mu": 0.0, "sigma": 1.0, "tau": 1.0}, "sigma or tau"),
        ("Gamma", {"alpha": 1.0, "sigma": 1.0}, "alpha and beta or mu and sigma"),
        ("Gamma", {"alpha": 1.0}, "alpha and beta"),
        ("Beta", {"mu": 0.5}, "mu and sigma or mu and nu"),
        ("Exponential", {}, "lam or scale"),
        ("Exponential", {"lam": 1.0, "scale": 1.0}, "lam or scale"),
        ("Wald", {"mu": 1.0, "lam": 1.0, "phi": 1.0}, "mu and lam"),
        ("AsymmetricLaplace", {"kappa": 1.0, "q": 0.5, "mu": 0.0, "b": 1.0}, "kappa or q"),
        ("StudentT", {"mu": 0.0}, "missing parameter"),
        ("Cauchy", {"alpha": 0.0, "scale": 1.0}, "unexpected keyword argument 'scale'"),
    ],
)
def test_unknown_missing_or_conflicting_parameters_raise_type_error_naming_the_variable(name, kwargs, match):
    with pa.Model():
        with pytest.raises(TypeError, match=match) as info:
            family(name)("y", **kwargs)
    assert "'y'" in str(info.value)


def test_positional_parameters_follow_pymc_order_and_duplicates_raise():
    assert float(pa.logp(family("StudentT").dist(3.0, 1.0, 2.0), 1.0)) == pytest.approx(st.t(3, 1, 2).logpdf(1.0))
    assert float(pa.logp(family("Gamma").dist(2.0, 4.0), 1.0)) == pytest.approx(st.gamma(2, scale=0.25).logpdf(1.0))
    with pytest.raises(TypeError, match="twice"):
        family("Laplace").dist(0.0, 1.0, mu=1.0)
    with pytest.raises(TypeError, match="at most 2"):
        family("Laplace").dist(0.0, 1.0, 2.0)


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("Normal", {"mu": 0.0, "sigma": -1.0}, "sigma of y must be positive, got -1.0"),
        ("Normal", {"mu": 0.0, "tau": -2.0}, "tau of y must be positive, got -2.0"),
        ("StudentT", {"nu": 0.0}, "nu of y must be positive"),
        ("Gamma", {"mu": -1.0, "sigma": 1.0}, "mu of y must be positive"),
        ("Beta", {"mu": 0.5, "sigma": 0.6}, r"sigma of y must be below sqrt\(mu \* \(1 - mu\)\)"),
        ("Beta", {"mu": 1.5, "nu": 2.0}, "mu of y must be in"),
        ("Uniform", {"lower": 2.0, "upper": 1.0}, "lower of y must be below upper"),
        ("TruncatedNormal", {"lower": 2.0, "upper": 1.0}, "lower of y must be below upper"),
        ("Pareto", {"alpha": np.array([1.0, -2.0]), "m": 1.0}, "alpha of y must be positive, got -2.0"),
        ("Exponential", {"scale": 0.0}, "scale of y must be positive"),
        ("AsymmetricLaplace", {"q": 1.5, "mu": 0.0, "b": 1.0}, "q of y must be in"),
        ("VonMises", {"kappa": -1.0}, "kappa of y must be positive"),
    ],
)
def test_bad_constant_parameters_raise_naming_the_variable(name, kwargs, match):
    with pa.Model():
        with pytest.raises(ValueError, match=match):
            family(name)("y", **kwargs)


@pytest.mark.parametrize(
    "name, kwargs, data",
    [
        ("HalfCauchy", {"beta": 1.0}, [1.0, -0.5]),
        ("Gamma", {"alpha": 2.0, "beta": 1.0}, [-1.0]),
        ("Beta", {"alpha": 2.0, "beta": 2.0}, [0.5, 1.5]),
        ("Uniform", {"lower": 0.0, "upper": 2.0}, [1.0, 2.5]),
        ("TruncatedNormal", {"mu": 0.0, "sigma": 1.0, "lower": 0.0}, [-0.1]),
        ("Pareto", {"alpha": 2.0, "m": 1.0}, [0.5]),
        ("Wald", {"mu": 1.0, "lam": 1.0, "alpha": 1.0}, [0.5]),
    ],
)
def test_observed_data_outside_the_support_raise_naming_the_variable(name, kwargs, data):
    with pa.Model():
        with pytest.raises(ValueError, match="observed data of y lie outside the support"):
            family(name)("y", **kwargs, observed=np.array(data))


# -- inside a model ---------------------------------------------------------------------
VALUE_NAMES = {
    "Normal": "x", "HalfNormal": "x_log__", "Cauchy": "x", "HalfCauchy": "x_log__", "StudentT": "x",
    "HalfStudentT": "x_log__", "LogNormal": "x_log__", "Exponential": "x_log__", "Gamma": "x_log__",
    "InverseGamma": "x_log__", "Beta": "x_logodds__", "Uniform": "x_interval__", "Laplace": "x",
    "Logistic": "x", "Weibull": "x_log__", "TruncatedNormal": "x_interval__", "ChiSquared": "x_log__",
    "Pareto": "x_lower_bound__", "Gumbel": "x", "SkewNormal": "x", "ExGaussian": "x", "Wald": "x_lower_bound__",
    "Kumaraswamy": "x_logodds__", "AsymmetricLaplace": "x",
}
FIRST_CASES = list({c.family: c for c in reversed(CASES)}.values())


@pytest.mark.parametrize("case", FIRST_CASES, ids=[c.family for c in FIRST_CASES])
def test_free_variable_in_a_model(case):
    with pa.Model() as model:
        x = family(case.family)("x", **case.params, shape=(2,))
    assert x.shape == (2,)
    ld = model.compile_logp()
    assert [slot.value_name for slot in ld.slots] == [VALUE_NAMES[case.family]]
    point = model.initial_point()
    value, grad = ld.value_and_grad(ld.unconstrain(point))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    start = ld.constrained_fn(ld.unconstrain(point), ld.data())["x"]
    assert np.all(np.isfinite(case.ref.logpdf(np.asarray(start))))


@pytest.mark.parametrize(
    "name, lower, upper, value_name",
    [("TruncatedNormal", 0.0, None, "x_lower_bound__"), ("TruncatedNormal", None, 1.0, "x_upper_bound__"),
     ("TruncatedNormal", -np.inf, np.inf, "x")],
)
def test_truncated_normal_transform_follows_its_bounds(name, lower, upper, value_name):
    with pa.Model() as model:
        family(name)("x", mu=0.5, sigma=2.0, lower=lower, upper=upper)
    assert model.compile_logp().slots[0].value_name == value_name


def test_bounds_and_parameters_may_be_random_variables():
    with pa.Model() as model:
        lo = pa.Normal("lo", 0.0, 1.0)
        width = family("HalfCauchy")("width", beta=2.0)
        m = family("Gamma")("m", mu=2.0, sigma=1.0)
        family("Uniform")("u", lower=lo, upper=lo + width)
        family("TruncatedNormal")("t", mu=lo, tau=width, lower=lo - 1.0, upper=lo + width)
        family("Pareto")("p", alpha=3.0, m=m)
        family("Gamma")("g", mu=m, sigma=width)
        family("Uniform")("y", lower=lo, upper=lo + width, observed=np.array([0.1, 0.2]))
    ld = model.compile_logp()
    assert [s.value_name for s in ld.slots] == ["lo", "width_log__", "m_log__", "u_interval__", "t_interval__",
                                                 "p_lower_bound__", "g_log__"]
    value, grad = ld.value_and_grad(ld.unconstrain(model.initial_point()))
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    point = {"lo": 0.0, "width": 1.0, "m": 2.0, "u": 0.5, "t": 0.3, "p": 3.0, "g": 1.0}
    terms = ld.terms_at_point(point)
    assert terms["u"] == pytest.approx(0.0) and terms["y"] == pytest.approx(0.0)
    assert terms["t"] == pytest.approx(st.truncnorm(-1, 1, 0, 1).logpdf(0.3))
    assert ld.terms_at_point({**point, "lo": 0.15})["y"] == -np.inf  # data below the random lower bound


def _exponentials(fn, h) -> int:
    """Exponentials in the compiled value and gradient of ``fn`` at ``h`` (inside kernels included)."""
    lowered = jax.jit(jax.value_and_grad(fn)).lower(h)
    return compile_lowered(lowered, "fast_compile", dtype="float64").as_text().count(" exponential(")


REAL_LINE = np.linspace(-3.0, 3.0, 500)


@pytest.mark.parametrize(
    "ours, textbook, y",
    [
        (lambda y, sigma: pa.Normal.logp(y, 0.3, sigma),
         lambda y, sigma: -0.5 * ((y - 0.3) / sigma) ** 2 - jnp.log(sigma) - 0.5 * np.log(2 * np.pi), REAL_LINE),
        (lambda y, sigma: pa.StudentT.logp(y, 4.0, 0.3, sigma),
         lambda y, sigma: pa.StudentT.logp(y, 4.0, 0.3, 1.0) - jnp.log(sigma)
         - 2.5 * (jnp.log1p(((y - 0.3) / sigma) ** 2 / 4.0) - jnp.log1p((y - 0.3) ** 2 / 4.0)), REAL_LINE),
        (lambda y, sigma: pa.Cauchy.logp(y, 0.3, sigma),
         lambda y, sigma: -np.log(np.pi) - jnp.log(sigma) - jnp.log1p(((y - 0.3) / sigma) ** 2), REAL_LINE),
        (lambda y, sigma: pa.LogNormal.logp(y, 0.3, sigma),
         lambda y, sigma: -0.5 * ((jnp.log(y) - 0.3) / sigma) ** 2 - jnp.log(sigma) - 0.5 * np.log(2 * np.pi)
         - jnp.log(y), np.exp(REAL_LINE)),
    ],
    ids=["Normal", "StudentT", "Cauchy", "LogNormal"],
)
def test_a_scale_that_is_an_exponential_is_not_exponentiated_again(ours, textbook, y):
    # sigma = exp(h) (a log-volatility): XLA rewrites 1 / exp(h) and the
    # derivative's sigma**-2 into exponentials of their own; posteria's
    # densities keep them to the one exp(-h) and the chain rule's exp(h).
    h = jnp.linspace(-2.0, 2.0, 500)
    ours_fn = lambda h: jnp.sum(ours(y, jnp.exp(h)))  # noqa: E731
    textbook_fn = lambda h: jnp.sum(textbook(y, jnp.exp(h)))  # noqa: E731
    assert _exponentials(ours_fn, h) < _exponentials(textbook_fn, h)
    value, grad = jax.value_and_grad(ours_fn)(h)
    expected_value, expected_grad = jax.value_and_grad(textbook_fn)(h)
    assert float(value) == pytest.approx(float(expected_value), rel=1e-13)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-12)
