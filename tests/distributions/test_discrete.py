"""Discrete families: logp against scipy.stats, draws against moments, validation, use in models."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import posteria as pa
from posteria.model.graph import evaluate
from posteria.distributions.discrete import (
    Bernoulli,
    BetaBinomial,
    Binomial,
    Categorical,
    DiscreteUniform,
    Geometric,
    NegativeBinomial,
    Poisson,
    ZeroInflatedBinomial,
    ZeroInflatedNegativeBinomial,
    ZeroInflatedPoisson,
)

jax.config.update("jax_enable_x64", True)

OFF_GRID = [-1.0, 0.5, 2.5]  # negative and non-integer values: outside every support here


def _zero_inflated(psi, frozen):
    """scipy has no zero-inflated families: the mixture by hand."""
    def logpmf(k):
        with np.errstate(divide="ignore"):
            return np.log((1 - psi) * (np.asarray(k) == 0) + psi * np.exp(frozen.logpmf(k)))

    return logpmf


# (posteria distribution, scipy logpmf, values on and next to the support)
CASES = {
    "bernoulli_p": (Bernoulli.dist(p=0.3), stats.bernoulli(0.3).logpmf, [0, 1, 2]),
    "bernoulli_edge0": (Bernoulli.dist(p=0.0), stats.bernoulli(0.0).logpmf, [0, 1]),
    "bernoulli_edge1": (Bernoulli.dist(p=1.0), stats.bernoulli(1.0).logpmf, [0, 1]),
    "binomial": (Binomial.dist(n=10, p=0.3), stats.binom(10, 0.3).logpmf, [0, 1, 3, 9, 10, 11]),
    "binomial_small_p": (Binomial.dist(n=7, p=1e-9), stats.binom(7, 1e-9).logpmf, [0, 1, 7]),
    "binomial_n0": (Binomial.dist(n=0, p=0.4), stats.binom(0, 0.4).logpmf, [0, 1]),
    "binomial_p1": (Binomial.dist(n=5, p=1.0), stats.binom(5, 1.0).logpmf, [0, 4, 5]),
    "poisson": (Poisson.dist(mu=3.5), stats.poisson(3.5).logpmf, [0, 1, 4, 30, 200]),
    "poisson_small": (Poisson.dist(mu=1e-3), stats.poisson(1e-3).logpmf, [0, 1, 5]),
    "poisson_zero_rate": (Poisson.dist(mu=0.0), stats.poisson(0.0).logpmf, [0, 1]),
    "negbin_mu_alpha": (NegativeBinomial.dist(mu=4.0, alpha=0.7), stats.nbinom(0.7, 0.7 / 4.7).logpmf, [0, 1, 5, 80]),
    "negbin_n_p": (NegativeBinomial.dist(n=3.0, p=0.2), stats.nbinom(3.0, 0.2).logpmf, [0, 2, 12, 100]),
    "negbin_poisson_limit": (NegativeBinomial.dist(mu=2.0, alpha=1e12), stats.poisson(2.0).logpmf, [0, 2, 9]),
    "geometric": (Geometric.dist(p=0.2), stats.geom(0.2).logpmf, [0, 1, 2, 40]),
    "geometric_p1": (Geometric.dist(p=1.0), stats.geom(1.0).logpmf, [1, 2]),
    "discrete_uniform": (DiscreteUniform.dist(lower=-2, upper=4), stats.randint(-2, 5).logpmf, [-3, -2, 0, 4, 5]),
    "betabinomial": (BetaBinomial.dist(alpha=0.6, beta=2.5, n=12), stats.betabinom(12, 0.6, 2.5).logpmf, [0, 1, 6, 12, 13]),
    "zip": (ZeroInflatedPoisson.dist(psi=0.7, mu=2.5), _zero_inflated(0.7, stats.poisson(2.5)), [0, 1, 6]),
    "zip_psi1": (ZeroInflatedPoisson.dist(psi=1.0, mu=2.5), stats.poisson(2.5).logpmf, [0, 3]),
    "zib": (ZeroInflatedBinomial.dist(psi=0.4, n=6, p=0.35), _zero_inflated(0.4, stats.binom(6, 0.35)), [0, 2, 6, 7]),
    "zinb": (
        ZeroInflatedNegativeBinomial.dist(psi=0.6, mu=3.0, alpha=2.0),
        _zero_inflated(0.6, stats.nbinom(2.0, 0.4)),
        [0, 1, 15],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logp_matches_scipy(case):
    dist, reference, values = CASES[case]
    values = np.asarray(values + OFF_GRID, dtype=float)
    expected = np.asarray([reference(v) if v == np.floor(v) else -np.inf for v in values])
    np.testing.assert_allclose(np.asarray(pa.logp(dist, values)), expected, rtol=1e-6, atol=1e-12)


def test_logp_accepts_integer_values_and_batches():
    mu = np.array([[0.5], [4.0]])
    value = np.array([0, 1, 3])
    logp = pa.logp(Poisson.dist(mu=mu), value)
    assert logp.shape == (2, 3)
    np.testing.assert_allclose(logp, stats.poisson(mu).logpmf(value), rtol=1e-10)


def test_categorical_against_hand_sum():
    p = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    dist = Categorical.dist(p=p)
    assert dist.shape == (2,)
    logp = np.asarray(pa.logp(dist, np.array([2, 0])))
    np.testing.assert_allclose(logp, np.log([0.3, 0.6]), rtol=1e-12)
    values = [-1, 0, 1, 2, 3, 1.5]
    expected = [[np.log(p[row, int(v)]) if v in (0, 1, 2) else -np.inf for row in range(2)] for v in values]
    logp = np.asarray(pa.logp(dist, np.array(values)[:, None]))  # (6, 1) against a batch of 2 rows
    np.testing.assert_allclose(logp, expected, rtol=1e-12)
    # total probability of the support is one
    np.testing.assert_allclose(np.exp(np.asarray(pa.logp(dist, np.arange(3)[:, None]))).sum(0), 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    "with_p, with_logit",
    [
        (lambda p: Bernoulli.dist(p=p), lambda lp: Bernoulli.dist(logit_p=lp)),
        (lambda p: Binomial.dist(n=8, p=p), lambda lp: Binomial.dist(n=8, logit_p=lp)),
        (lambda p: ZeroInflatedBinomial.dist(psi=0.5, n=8, p=p), lambda lp: ZeroInflatedBinomial.dist(psi=0.5, n=8, logit_p=lp)),
    ],
)
def test_logit_p_and_p_agree(with_p, with_logit):
    p = np.array([0.01, 0.3, 0.5, 0.97])
    values = np.array([[0], [1], [5]])
    np.testing.assert_allclose(pa.logp(with_p(p), values), pa.logp(with_logit(np.log(p / (1 - p))), values), rtol=1e-10)


def test_categorical_logit_p_and_p_agree():
    p = np.array([0.1, 0.7, 0.2])
    values = np.arange(3)
    np.testing.assert_allclose(pa.logp(Categorical.dist(p=p), values), pa.logp(Categorical.dist(logit_p=np.log(p) + 4.0), values), rtol=1e-12)


def test_large_logits_stay_finite():
    """log(1 - sigmoid(40)) rounds to -inf; the logit form gives -40."""
    np.testing.assert_allclose(pa.logp(Bernoulli.dist(logit_p=40.0), 0), -40.0, rtol=1e-12)
    np.testing.assert_allclose(pa.logp(Bernoulli.dist(logit_p=-800.0), 1), -800.0, rtol=1e-12)
    np.testing.assert_allclose(pa.logp(Binomial.dist(n=3, logit_p=50.0), 1), np.log(3) - 100.0, rtol=1e-12)


@pytest.mark.parametrize(
    "family, params, value",
    [
        (Poisson, {"mu": 2.0}, 0),
        (NegativeBinomial, {"mu": 2.0, "alpha": 0.5}, 3),
        (Binomial, {"n": 5.0, "logit_p": 0.3}, 5),
        (BetaBinomial, {"alpha": 2.0, "beta": 0.5, "n": 5.0}, 0),
        (ZeroInflatedPoisson, {"psi": 0.3, "mu": 2.0}, 0),
        (Geometric, {"p": 0.3}, 1),
    ],
)
def test_gradients_finite_inside_support(family, params, value):
    grads = jax.grad(lambda ps: family.logp(value, **ps))({k: jnp.asarray(v) for k, v in params.items()})
    assert all(np.isfinite(g) for g in jax.tree_util.tree_leaves(grads))


def _assert_moments(draws, mean, variance, num_mcse=4.0):
    """Sample mean and variance within ``num_mcse`` Monte Carlo standard errors of the truth."""
    draws = np.asarray(draws, dtype=float)
    n = draws.shape[0]
    centred = draws - draws.mean(0)
    sample_var = centred.var(0, ddof=1)
    mcse_mean = np.sqrt(variance / n)
    mcse_var = np.sqrt(np.maximum((centred**4).mean(0) - sample_var**2, 1e-300) / n)
    assert np.all(np.abs(draws.mean(0) - mean) <= num_mcse * mcse_mean + 1e-12), (draws.mean(0), mean, mcse_mean)
    assert np.all(np.abs(sample_var - variance) <= num_mcse * mcse_var + 1e-12), (sample_var, variance, mcse_var)


MOMENT_CASES = {
    "bernoulli": (Bernoulli.dist(p=np.array([0.1, 0.5, 0.9])), stats.bernoulli(np.array([0.1, 0.5, 0.9]))),
    "binomial": (Binomial.dist(n=np.array([3, 20]), p=0.3), stats.binom(np.array([3, 20]), 0.3)),
    "poisson": (Poisson.dist(mu=np.array([0.2, 4.0, 150.0])), stats.poisson(np.array([0.2, 4.0, 150.0]))),
    "negbin": (NegativeBinomial.dist(mu=np.array([1.0, 12.0]), alpha=0.8), stats.nbinom(0.8, 0.8 / np.array([1.8, 12.8]))),
    "geometric": (Geometric.dist(p=np.array([0.05, 0.6])), stats.geom(np.array([0.05, 0.6]))),
    "discrete_uniform": (DiscreteUniform.dist(lower=-3, upper=np.array([-3, 2, 10])), stats.randint(-3, np.array([-2, 3, 11]))),
    "betabinomial": (BetaBinomial.dist(alpha=0.5, beta=np.array([0.5, 4.0]), n=9), stats.betabinom(9, 0.5, np.array([0.5, 4.0]))),
}


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")  # scipy's kurtosis of a one-point randint
@pytest.mark.parametrize("case", sorted(MOMENT_CASES))
def test_draws_match_moments_and_moments_match_scipy(case):
    dist, frozen = MOMENT_CASES[case]
    bound = evaluate([dist], {})[0]
    np.testing.assert_allclose(bound.mean(), frozen.mean(), rtol=1e-10)
    np.testing.assert_allclose(bound.variance(), frozen.var(), rtol=1e-10)
    draws = pa.draw(dist, draws=20000, random_seed=11)
    assert draws.shape == (20000, *dist.shape) and np.issubdtype(draws.dtype, np.integer)
    _assert_moments(draws, frozen.mean(), frozen.var())


@pytest.mark.parametrize(
    "dist, mean, variance",
    [
        (Categorical.dist(p=np.array([0.2, 0.5, 0.3])), 1.1, 0.49),
        (ZeroInflatedPoisson.dist(psi=0.6, mu=3.0), 1.8, 0.6 * 3.0 * (1 + 0.4 * 3.0)),
        (ZeroInflatedBinomial.dist(psi=0.6, n=10, p=0.4), 2.4, 0.6 * 2.4 + 0.6 * 0.4 * 16.0),
        (ZeroInflatedNegativeBinomial.dist(psi=0.6, mu=3.0, alpha=2.0), 1.8, 0.6 * (3.0 + 4.5) + 0.6 * 0.4 * 9.0),
    ],
)
def test_draws_match_hand_moments(dist, mean, variance):
    bound = evaluate([dist], {})[0]
    np.testing.assert_allclose([bound.mean(), bound.variance()], [mean, variance], rtol=1e-10)
    _assert_moments(pa.draw(dist, draws=20000, random_seed=5), mean, variance)


def test_moment_check_can_fail():
    """The moment check rejects draws from a slightly wrong rate."""
    draws = pa.draw(Poisson.dist(mu=4.2), draws=20000, random_seed=11)
    with pytest.raises(AssertionError):
        _assert_moments(draws, 4.0, 4.0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Poisson("y", mu=-1.0), "mu of y must be non-negative, got -1.0"),
        (lambda: Bernoulli("y", p=1.5), "p of y must be in [0, 1], got 1.5"),
        (lambda: Bernoulli("y", logit_p=np.nan), "logit_p of y must not be NaN"),
        (lambda: Binomial("y", n=2.5, p=0.5), "n of y must be a non-negative integer, got 2.5"),
        (lambda: NegativeBinomial("y", n=2.0, p=0.0), "p of y must be in (0, 1], got 0.0"),
        (lambda: Geometric("y", p=0.0), "p of y must be in (0, 1]"),
        (lambda: DiscreteUniform("y", lower=3, upper=1), "upper of y must be >= lower"),
        (lambda: Categorical("y", p=[0.5, 0.6]), "p of y must be a probability vector"),
        (lambda: Categorical("y", p=0.5), "p of y needs a last axis of categories"),
        (lambda: ZeroInflatedPoisson("y", psi=1.2, mu=1.0), "psi of y must be in [0, 1], got 1.2"),
    ],
)
def test_bad_constant_parameters_raise_naming_the_variable(make, message):
    with pa.Model():
        with pytest.raises(ValueError) as err:
            make()
    assert message in str(err.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Bernoulli("y"),
        lambda: Bernoulli("y", p=0.5, logit_p=0.0),
        lambda: Binomial("y", 3, 0.5, 0.1),
        lambda: NegativeBinomial("y", mu=1.0, alpha=1.0, n=2.0, p=0.5),
        lambda: NegativeBinomial("y", n=2.0),
        lambda: Poisson("y", lam=1.0),
        lambda: Poisson("y", 1.0, mu=1.0),
    ],
)
def test_bad_arguments_raise_type_error(make):
    with pa.Model():
        with pytest.raises(TypeError, match="'y'"):
            make()


@pytest.mark.parametrize(
    "make, shown",
    [
        (lambda obs: Poisson("y", mu=2.0, observed=obs), [[1, 0, -1], [2, 2.5]]),
        (lambda obs: Bernoulli("y", p=0.5, observed=obs), [[0, 1, 2]]),
        (lambda obs: Binomial("y", n=10, p=0.5, observed=obs), [[3, 11]]),
        (lambda obs: Categorical("y", p=[0.2, 0.8], observed=obs), [[0, 1, 2]]),
        (lambda obs: DiscreteUniform("y", lower=1, upper=6, observed=obs), [[1, 6, 0]]),
        (lambda obs: Geometric("y", p=0.5, observed=obs), [[1, 0]]),
    ],
)
def test_observed_outside_support_raises_naming_the_variable(make, shown):
    for observed in shown:
        with pa.Model():
            with pytest.raises(ValueError, match="observed data of y lie outside the support"):
                make(np.array(observed))


def test_observed_discrete_in_model_gives_finite_gradient():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    with pa.Model() as model:
        intercept = pa.Normal("intercept", 0.0, 1.0)
        slope = pa.Normal("slope", 0.0, 1.0)
        rate = pa.HalfNormal("rate", sigma=5.0)
        Bernoulli("success", logit_p=intercept + slope * x, observed=(x > 0).astype(int))
        Binomial("hits", n=12, p=pa.math.sigmoid(intercept), observed=np.array([3, 5, 12, 0]))
        Poisson("counts", mu=rate, observed=rng.poisson(3.0, size=20))
        NegativeBinomial("overdispersed", mu=rate, alpha=2.0, observed=np.array([0, 7, 2]))
        Categorical("choice", logit_p=pa.math.stack([intercept, slope, 0.0]), observed=np.array([0, 2, 1, 1]))
    ld = model.compile_logp()
    assert [slot.value_name for slot in ld.slots] == ["intercept", "slope", "rate_log__"]
    assert model["counts"].shape == (20,) and model["choice"].shape == (4,)
    value, grad = ld.value_and_grad(ld.unconstrain(model.initial_point()))
    assert np.isfinite(value) and np.all(np.isfinite(grad))


def test_free_discrete_variable_cannot_be_sampled():
    with pa.Model() as model:
        Poisson("k", mu=3.0)
    with pytest.raises(ValueError, match=r"k \(Poisson\)"):
        model.compile_logp()
