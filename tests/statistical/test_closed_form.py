"""NUTS against closed-form posteriors, within 4 Monte Carlo standard errors.

Means, variances and a correlation are compared with their exact values;
each tolerance is 4 MCSE computed by ArviZ from the draws themselves (the
MCSE of a variance is that of the mean of squared deviations, of a
correlation that of the mean of the product of standardised draws).
"""

import arviz as az
import numpy as np
import pytest

import posteria as pa

SEED = 20261121


def assert_mean_within(draws, truth, label, k=4.0):
    mcse = np.asarray(az.mcse(draws)).item()  # a 1-element array when numba is installed
    assert abs(draws.mean() - truth) < k * mcse, f"{label}: mean {draws.mean():.5g} vs {truth:.5g}, MCSE {mcse:.3g}"


def assert_variance_within(draws, truth, label):
    squared = (draws - draws.mean()) ** 2
    assert_mean_within(squared, truth, f"{label} variance")


def assert_healthy(idata):
    report = pa.check(idata)
    assert report.num_divergent == 0
    assert max(report.rhat.values()) < 1.01
    assert min(report.ess_bulk.values()) > 400 and min(report.ess_tail.values()) > 400


def test_normal_mean_known_variance():
    rng = np.random.default_rng(1)
    sigma, m0, s0 = 2.0, 1.0, 3.0
    y = rng.normal(0.7, sigma, size=20)
    with pa.Model():
        mu = pa.Normal("mu", m0, s0)
        pa.Normal("y", mu, sigma, observed=y)
        idata = pa.sample(1000, tune=1000, chains=4, seed=SEED, progressbar=False)
    precision = 1 / s0**2 + len(y) / sigma**2
    post_mean = (m0 / s0**2 + y.sum() / sigma**2) / precision
    draws = idata.posterior["mu"].values
    assert_mean_within(draws, post_mean, "mu")
    assert_variance_within(draws, 1 / precision, "mu")
    assert_healthy(idata)


def test_beta_binomial():
    a, b, n, k = 2.0, 3.0, 40, 29
    with pa.Model():
        p = pa.Beta("p", a, b)
        pa.Binomial("k", n=n, p=p, observed=k)
        idata = pa.sample(1000, tune=1000, chains=4, seed=SEED, progressbar=False)
    post_a, post_b = a + k, b + n - k
    mean = post_a / (post_a + post_b)
    var = post_a * post_b / ((post_a + post_b) ** 2 * (post_a + post_b + 1))
    draws = idata.posterior["p"].values
    assert_mean_within(draws, mean, "p")
    assert_variance_within(draws, var, "p")
    assert_healthy(idata)


@pytest.mark.parametrize("dense_mass", [False, True])
def test_gaussian_regression_means_variances_correlation(dense_mass):
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(50), rng.normal(2.0, 1.0, size=50)])  # correlated coefficients
    noise, prior_sd = 0.5, 5.0
    y = X @ np.array([1.0, -0.5]) + rng.normal(scale=noise, size=50)
    with pa.Model():
        beta = pa.Normal("beta", 0, prior_sd, shape=2)
        pa.Normal("y", pa.math.dot(X, beta), noise, observed=y)
        idata = pa.sample(1000, tune=1000, chains=4, seed=SEED, dense_mass=dense_mass, progressbar=False)
    cov = np.linalg.inv(X.T @ X / noise**2 + np.eye(2) / prior_sd**2)
    mean = cov @ (X.T @ y / noise**2)
    draws = idata.posterior["beta"].values
    for i in range(2):
        assert_mean_within(draws[..., i], mean[i], f"beta[{i}]")
        assert_variance_within(draws[..., i], cov[i, i], f"beta[{i}]")
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    assert corr < -0.8
    z = (draws - mean) / np.sqrt(np.diag(cov))
    assert_mean_within(z[..., 0] * z[..., 1], corr, "correlation")
    assert_healthy(idata)


def test_same_seed_same_draws_different_seed_different_draws():
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 1)
        s = pa.HalfNormal("s", 1)
        pa.Normal("y", mu, s, observed=np.array([0.3, -0.2, 1.1]))
    run = lambda seed: pa.sample(200, tune=200, chains=2, seed=seed, model=model, progressbar=False,  # noqa: E731
                                 on_divergence="ignore")  # reproducibility, not divergences, is tested here
    first, again, other = run(7), run(7), run(8)
    np.testing.assert_array_equal(first.posterior["mu"].values, again.posterior["mu"].values)
    np.testing.assert_array_equal(first.sample_stats["tree_depth"].values, again.sample_stats["tree_depth"].values)
    assert not np.allclose(first.posterior["mu"].values, other.posterior["mu"].values)
    # chains differ from each other too
    assert not np.allclose(first.posterior["mu"].values[0], first.posterior["mu"].values[1])


def test_seed_regression_recovers_coefficients_with_default_settings():
    """The design's linear regression (1000 x 10): defaults give R-hat < 1.01, ESS > 400, truth recovered."""
    rng = np.random.default_rng(2026)
    X = rng.normal(size=(1000, 10))
    true_beta = rng.normal(size=10)
    y = 1.5 + X @ true_beta + rng.normal(scale=0.7, size=1000)
    with pa.Model():
        alpha = pa.Normal("alpha", mu=0, sigma=10)
        beta = pa.Normal("beta", mu=0, sigma=10, shape=X.shape[1])
        sigma = pa.HalfNormal("sigma", sigma=1)
        mu = alpha + pa.math.dot(X, beta)
        pa.Normal("y_obs", mu=mu, sigma=sigma, observed=y)
        idata = pa.sample(seed=SEED, progressbar=False)
    assert_healthy(idata)
    post = idata.posterior
    for name, truth in [("alpha", 1.5), ("sigma", 0.7)]:
        z = abs(float(post[name].mean()) - truth) / float(post[name].std())
        assert z < 4, f"{name}: truth {truth} is {z:.1f} posterior sds from the mean"
    z = np.abs(post["beta"].mean(("chain", "draw")).values - true_beta) / post["beta"].std(("chain", "draw")).values
    assert z.max() < 4, z
