"""Simulation-based calibration (Talts et al. 2018) of NUTS on a small hierarchical model.

For each replication: draw parameters from the prior, simulate data, sample
the posterior, and record the rank of the prior draw among thinned posterior
draws. If the sampler is right the ranks are uniform; a chi-square test over
bins, at a fixed seed, checks that. The model's data are ``pa.Data``, so
every replication reuses one compiled program.
"""

import numpy as np
import pytest
import scipy.stats as st

import posteria as pa

NUM_REPLICATIONS = 120
NUM_RANKED = 99  # thinned posterior draws per replication: ranks take 100 values
NUM_BINS = 10
J = 4


def hierarchical_model(y, noise: float = 1.0):
    with pa.Model() as model:
        y_data = pa.Data("y", y)
        mu = pa.Normal("mu", 0, 1)
        tau = pa.HalfNormal("tau", 1)
        z = pa.Normal("z", 0, 1, shape=J)
        pa.Normal("y_obs", mu + tau * z, noise, observed=y_data)
    return model


def sbc_ranks(seed: int, sample_kwargs: dict, model_noise: float = 1.0) -> dict[str, np.ndarray]:
    """Ranks from data simulated with noise 1; the fitted model assumes ``model_noise``."""
    rng = np.random.default_rng(seed)
    model = hierarchical_model(np.zeros(J), noise=model_noise)
    ranks = {"mu": [], "tau": []}
    for replication in range(NUM_REPLICATIONS):
        truth = {"mu": rng.normal(), "tau": abs(rng.normal())}
        z = rng.normal(size=J)
        y = truth["mu"] + truth["tau"] * z + rng.normal(size=J)
        pa.set_data({"y": y}, model=model)
        idata = pa.sample(
            draws=500, tune=500, chains=2, seed=seed + replication, model=model, progressbar=False,
            compute_convergence_checks=False, **sample_kwargs,
        )
        for name in ranks:
            draws = idata.posterior[name].values.reshape(-1)
            thinned = draws[np.linspace(0, draws.size - 1, NUM_RANKED).astype(int)]
            ranks[name].append(int((thinned < truth[name]).sum()))
    return {k: np.asarray(v) for k, v in ranks.items()}


def uniformity_pvalue(ranks: np.ndarray) -> float:
    counts = np.bincount(ranks * NUM_BINS // (NUM_RANKED + 1), minlength=NUM_BINS)
    return float(st.chisquare(counts).pvalue)


@pytest.mark.slow
def test_ranks_are_uniform():
    ranks = sbc_ranks(seed=11, sample_kwargs={"target_accept": 0.9})
    for name, r in ranks.items():
        assert uniformity_pvalue(r) > 0.001, f"{name} ranks not uniform: {np.bincount(r * NUM_BINS // 100)}"


@pytest.mark.slow
def test_a_wrong_posterior_fails_the_same_check():
    """The check has power: fitting with a misstated noise scale (0.3 instead of 1) is caught."""
    ranks = sbc_ranks(seed=11, sample_kwargs={"target_accept": 0.9}, model_noise=0.3)
    assert min(uniformity_pvalue(r) for r in ranks.values()) < 0.001
