"""The main job: a Bayesian linear regression, end to end.

Simulates X (1000 x 10) and y, defines the model as a PyMC user would,
checks the prior predictive, samples with NUTS (4 chains), prints ArviZ's
summary and posteria's diagnostics report, and compares the posterior means
with the true coefficients.

    python examples/linear_regression.py
"""

import arviz as az
import numpy as np

import posteria as pa


def main() -> None:
    rng = np.random.default_rng(2026)
    X = rng.normal(size=(1000, 10))
    true_alpha, true_beta, true_sigma = 1.5, rng.normal(size=10), 0.7
    y = true_alpha + X @ true_beta + rng.normal(scale=true_sigma, size=1000)

    with pa.Model(coords={"feature": [f"x{i}" for i in range(10)]}) as model:
        alpha = pa.Normal("alpha", mu=0, sigma=10)
        beta = pa.Normal("beta", mu=0, sigma=10, dims="feature")
        sigma = pa.HalfNormal("sigma", sigma=1)
        mu = alpha + pa.math.dot(X, beta)
        pa.Normal("y_obs", mu=mu, sigma=sigma, observed=y)

        prior = pa.sample_prior_predictive(500, random_seed=1)
        idata = pa.sample(1000, tune=1000, chains=4, seed=1)

    print(f"prior predictive sd of y: {float(prior.prior_predictive['y_obs'].std()):.1f} (data: {y.std():.1f})")
    print(az.summary(idata, var_names=["alpha", "beta", "sigma"]).to_string())
    print()
    print(pa.check(idata))
    estimated = idata.posterior["beta"].mean(("chain", "draw")).values
    print(f"\nlargest |posterior mean - true beta|: {np.abs(estimated - true_beta).max():.3f}")
    print(f"compile {idata.attrs['compile_time']:.1f} s, sampling {idata.attrs['sampling_time']:.2f} s")


if __name__ == "__main__":
    main()
