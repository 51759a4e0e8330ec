"""posteriordb: posteria's NUTS lands on Stan's reference posteriors.

For every parameter: the posterior mean within 4 combined Monte Carlo
standard errors of the reference mean (ours from ArviZ's mcse, the
reference's sd / sqrt(10,000)), or 1% of the reference sd when that is
larger; the posterior sd within 10% of the reference; zero divergences
(pa.sample raises pa.SamplingError on any, which fails the test).
"""

import arviz as az
import numpy as np
import pytest

import posteria as pa
from posteriordb_models import POSTERIORS, load, reference

REFERENCE_ESS = 10_000


def _flat_draws(idata, name):
    """Posterior draws of ``name`` (``beta[3]``-style too) as (chain, draw)."""
    if "[" in name:
        base, index = name[:-1].split("[")
        return idata.posterior[base].values[..., int(index)]
    return idata.posterior[name].values


@pytest.mark.slow
@pytest.mark.parametrize("posterior_name", sorted(POSTERIORS))
def test_matches_reference(posterior_name):
    data_name, build, options = POSTERIORS[posterior_name]
    model = build(load(data_name))
    idata = pa.sample(draws=1000, tune=1000, chains=4, seed=20261121, progressbar=False, model=model, **options)
    failures = []
    for name, ref in reference(posterior_name).items():
        draws = _flat_draws(idata, name)
        mean, sd = draws.mean(), draws.std()
        mcse = np.asarray(az.mcse(draws)).item()  # a 1-element array when numba is installed
        combined = np.hypot(mcse, ref["sd"] / np.sqrt(REFERENCE_ESS))
        tolerance = max(4 * combined, 0.01 * ref["sd"])
        if abs(mean - ref["mean"]) > tolerance:
            failures.append(f"{name}: mean {mean:.4g} vs reference {ref['mean']:.4g} (tolerance {tolerance:.3g})")
        if abs(sd / ref["sd"] - 1) > 0.10:
            failures.append(f"{name}: sd {sd:.4g} vs reference {ref['sd']:.4g} (more than 10% off)")
    assert not failures, "\n".join(failures)
