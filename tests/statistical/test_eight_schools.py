"""Divergences are errors: the centred eight schools model is refused, the non-centred one is not."""

import numpy as np
import pytest

import posteria as pa

Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def centred():
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 5)
        tau = pa.HalfCauchy("tau", 5)
        theta = pa.Normal("theta", mu, tau, shape=8)
        pa.Normal("y", theta, SIGMA, observed=Y)
    return model


def non_centred():
    with pa.Model() as model:
        mu = pa.Normal("mu", 0, 5)
        tau = pa.HalfCauchy("tau", 5)
        theta_raw = pa.Normal("theta_raw", 0, 1, shape=8)
        pa.Deterministic("theta", mu + tau * theta_raw)
        pa.Normal("y", mu + tau * theta_raw, SIGMA, observed=Y)
    return model


def test_centred_raises_with_advice():
    with pytest.raises(pa.SamplingError) as caught:
        pa.sample(1000, tune=1000, chains=4, seed=1, model=centred(), progressbar=False)
    message = str(caught.value)
    assert "diverged" in message
    assert "tau" in message
    assert "non-centred" in message and "target_accept" in message
    idata = caught.value.idata
    assert int(idata.sample_stats["diverging"].sum()) > 0
    assert idata.posterior["theta"].shape == (4, 1000, 8)


def test_centred_can_be_told_to_warn():
    with pytest.warns(pa.SamplingWarning, match="diverged"):
        idata = pa.sample(500, tune=500, chains=2, seed=1, model=centred(), progressbar=False, on_divergence="warn")
    assert idata.posterior["tau"].shape == (2, 500)


def test_non_centred_samples_cleanly():
    idata = pa.sample(1000, tune=1000, chains=4, seed=1, model=non_centred(), progressbar=False, target_accept=0.9)
    report = pa.check(idata)
    assert report.num_divergent == 0
    assert max(report.rhat.values()) < 1.01
