"""``pa.sample`` and the predictive samplers: where models meet inference."""

from posteria.sampling.forward import sample_posterior_predictive, sample_prior_predictive
from posteria.sampling.mcmc import sample

__all__ = ["sample", "sample_posterior_predictive", "sample_prior_predictive"]
